-- The whole data model of SPEC §1. Ids are UUIDs, timestamps TIMESTAMPTZ, JSON
-- JSONB, sealed secrets (see patchbay_core::crypto) BYTEA.
-- Keep in step with patchbay-store-sqlite/migrations: same numbers, same names.

CREATE TABLE projects (
    id              UUID PRIMARY KEY,
    name            TEXT NOT NULL,
    -- Project settings from the configuration document (allowedOrigins, requireExplicitCredential).
    settings        JSONB NOT NULL DEFAULT '{}',
    -- The applied configuration document, secrets replaced by references to sealed columns.
    config_document JSONB,
    config_version  BIGINT NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE secret_keys (
    id             UUID PRIMARY KEY,
    project_id     UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    key_hash       TEXT NOT NULL UNIQUE,
    display_prefix TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ
);
CREATE INDEX secret_keys_project ON secret_keys (project_id);

CREATE TABLE signing_keys (
    project_id     UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kid            TEXT NOT NULL,
    algorithm      TEXT NOT NULL CHECK (algorithm IN ('RS256', 'ES256', 'EdDSA')),
    public_key_pem TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ,
    PRIMARY KEY (project_id, kid)
);

-- Data keys of the encryption envelope, each sealed by the master key.
CREATE TABLE data_keys (
    id          UUID PRIMARY KEY,
    wrapped_key BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    retired_at  TIMESTAMPTZ
);

CREATE TABLE integrations (
    id            UUID PRIMARY KEY,
    project_id    UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    type          TEXT NOT NULL,
    -- Place in the configuration document, so listings follow the document.
    position      BIGINT NOT NULL DEFAULT 0,
    -- Resolved definition (provider + project overrides), without secrets.
    definition    JSONB NOT NULL,
    client_secret BYTEA,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (project_id, type)
);

CREATE TABLE connected_users (
    project_id UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    meta       JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_id, user_id)
);

CREATE TABLE credentials (
    id                    UUID PRIMARY KEY,
    project_id            UUID NOT NULL,
    integration_id        UUID NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    user_id               TEXT NOT NULL,
    external_id           TEXT,
    provider_id           TEXT,
    provider_data         JSONB NOT NULL DEFAULT '{}',
    status                TEXT NOT NULL CHECK (status IN ('PENDING', 'VALID', 'INVALID')),
    -- Sealed JSON: tokens, API key or basic-auth fields.
    secrets               BYTEA,
    -- Non-secret values captured when connecting (instance URL, cloud id) for API URL templates.
    account_vars          JSONB NOT NULL DEFAULT '{}',
    -- Bumped whenever `secrets` changes; a refresh only writes over the version it read.
    version               BIGINT NOT NULL DEFAULT 0,
    refresh_failure_count BIGINT NOT NULL DEFAULT 0,
    refreshed_at          TIMESTAMPTZ,
    valid_until           TIMESTAMPTZ,
    -- Expiry index of the background refresher, and its claim on the row.
    next_refresh_at       TIMESTAMPTZ,
    refresh_claimed_until TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (project_id, user_id) REFERENCES connected_users (project_id, user_id) ON DELETE CASCADE
);
CREATE INDEX credentials_owner ON credentials (project_id, user_id, integration_id, created_at);
CREATE UNIQUE INDEX credentials_external_id
    ON credentials (project_id, integration_id, user_id, external_id) WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX credentials_provider_id
    ON credentials (project_id, integration_id, user_id, provider_id) WHERE provider_id IS NOT NULL;
CREATE INDEX credentials_next_refresh ON credentials (next_refresh_at) WHERE next_refresh_at IS NOT NULL;

CREATE TABLE credential_configurations (
    id                UUID PRIMARY KEY,
    credential_id     UUID NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
    is_default        BOOLEAN NOT NULL DEFAULT TRUE,
    shared_settings   JSONB NOT NULL DEFAULT '{}',
    -- {"<workflowId>": {"enabled": bool, "settings": {...}}}
    workflow_settings JSONB NOT NULL DEFAULT '{}',
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX credential_configurations_default
    ON credential_configurations (credential_id) WHERE is_default;

CREATE TABLE install_sessions (
    id             UUID PRIMARY KEY,
    project_id     UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    integration_id UUID NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'complete', 'failed')),
    -- SHA-256 of the OAuth `state`; cleared when consumed so it is single use.
    state_hash     TEXT UNIQUE,
    -- Sealed PKCE verifier.
    secrets        BYTEA,
    -- allowMultipleCredentials, selectedCredentialId, externalId, redirectUrl, connection fields.
    options        JSONB NOT NULL DEFAULT '{}',
    credential_id  UUID,
    error          TEXT,
    expires_at     TIMESTAMPTZ NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    completed_at   TIMESTAMPTZ
);

CREATE TABLE workflows (
    project_id     UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    integration_id UUID NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    trigger_type   TEXT NOT NULL CHECK (trigger_type IN ('request', 'app_event', 'schedule', 'integration_enabled')),
    -- The app event name for `app_event` triggers, so events find their workflows by index.
    trigger_event  TEXT,
    definition     JSONB NOT NULL,
    position       BIGINT NOT NULL DEFAULT 0,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_id, id)
);
CREATE INDEX workflows_trigger ON workflows (project_id, trigger_type, trigger_event);

-- Task History. No foreign key to credentials: history outlives an uninstalled account.
CREATE TABLE workflow_executions (
    id             UUID PRIMARY KEY,
    project_id     UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    workflow_id    TEXT NOT NULL,
    integration_id UUID NOT NULL,
    user_id        TEXT NOT NULL,
    credential_id  UUID NOT NULL,
    trigger        JSONB NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED')),
    error          TEXT,
    started_at     TIMESTAMPTZ NOT NULL,
    ended_at       TIMESTAMPTZ,
    duration_ms    BIGINT
);
CREATE INDEX workflow_executions_page ON workflow_executions (project_id, started_at DESC, id DESC);
CREATE INDEX workflow_executions_credential ON workflow_executions (project_id, credential_id, started_at DESC);

CREATE TABLE execution_steps (
    execution_id UUID NOT NULL REFERENCES workflow_executions (id) ON DELETE CASCADE,
    seq          BIGINT NOT NULL,
    step_id      TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'SKIPPED')),
    input        JSONB,
    output       JSONB,
    error        TEXT,
    started_at   TIMESTAMPTZ NOT NULL,
    duration_ms  BIGINT,
    PRIMARY KEY (execution_id, seq)
);

-- Durable job queue: asynchronous workflow runs, webhook deliveries, refreshes.
CREATE TABLE jobs (
    id           UUID PRIMARY KEY,
    project_id   UUID REFERENCES projects (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    payload      JSONB NOT NULL,
    -- Makes enqueueing idempotent (one run per trigger occurrence and account).
    dedupe_key   TEXT UNIQUE,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts     BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL DEFAULT 5,
    run_at       TIMESTAMPTZ NOT NULL,
    locked_by    TEXT,
    locked_until TIMESTAMPTZ,
    last_error   TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ
);
CREATE INDEX jobs_ready ON jobs (status, run_at);

-- Changes to user objects, in one global order (`seq` is the SSE event id).
CREATE TABLE events (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             UUID NOT NULL UNIQUE,
    project_id     UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL,
    integration_id UUID,
    credential_id  UUID,
    name           TEXT NOT NULL,
    payload        JSONB NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX events_user ON events (project_id, user_id, seq);

CREATE TABLE webhook_endpoints (
    id          UUID PRIMARY KEY,
    project_id  UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    url         TEXT NOT NULL,
    secret      BYTEA NOT NULL,
    event_types JSONB NOT NULL DEFAULT '[]',
    disabled_at TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- The webhook outbox and its delivery log.
CREATE TABLE webhook_deliveries (
    id               UUID PRIMARY KEY,
    endpoint_id      UUID NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_seq        BIGINT NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    last_status_code BIGINT,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    delivered_at     TIMESTAMPTZ,
    UNIQUE (endpoint_id, event_seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
