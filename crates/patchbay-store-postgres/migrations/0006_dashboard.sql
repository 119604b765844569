-- The dashboard: its sign-in sessions (by the hash of their token), what was
-- changed through the admin API and by whom, every configuration document
-- applied, so an earlier one can be read and applied again, the index a
-- project's event stream reads by, and hourly usage per integration.
-- Keep in step with the other backend's migrations: same numbers, same names.
CREATE TABLE dashboard_sessions (
    token_hash    TEXT PRIMARY KEY,
    -- Both NULL for the instance admin token; both set for a project's secret key,
    -- and the session goes with the key.
    project_id    UUID REFERENCES projects (id) ON DELETE CASCADE,
    secret_key_id UUID REFERENCES secret_keys (id) ON DELETE CASCADE,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    CHECK ((project_id IS NULL) = (secret_key_id IS NULL))
);
CREATE INDEX dashboard_sessions_expires ON dashboard_sessions (expires_at);

CREATE TABLE audit_log (
    id         UUID PRIMARY KEY,
    project_id UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    status     SMALLINT NOT NULL,
    at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_log_page ON audit_log (project_id, at DESC, id DESC);

CREATE TABLE config_versions (
    project_id UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    version    BIGINT NOT NULL,
    document   JSONB NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_id, version)
);

-- Every user's events of a project, in order: what a project's event stream reads.
CREATE INDEX events_project ON events (project_id, seq);

-- Hourly usage per integration, for the dashboard's charts: every replica adds the counts it
-- kept in memory every few seconds.
CREATE TABLE usage_hourly (
    project_id       UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    integration_id   UUID NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    hour             TIMESTAMPTZ NOT NULL,
    proxy_calls      BIGINT NOT NULL,
    proxy_errors     BIGINT NOT NULL,
    refresh_failures BIGINT NOT NULL,
    PRIMARY KEY (project_id, hour, integration_id)
);
CREATE INDEX usage_hourly_hour ON usage_hourly (hour);

-- The overview counts a project's accounts per integration and status from this index alone.
CREATE INDEX credentials_status_counts ON credentials (project_id, integration_id, status);
