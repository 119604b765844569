-- The whole data model of SPEC §1. Ids are UUID text, timestamps are Unix
-- milliseconds (INTEGER, so ordering and range scans are numeric), JSON is TEXT,
-- sealed secrets (see patchbay_core::crypto) are BLOB.
-- Keep in step with patchbay-store-postgres/migrations: same numbers, same names.

CREATE TABLE projects (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    -- Project settings from the configuration document (allowedOrigins, requireExplicitCredential).
    settings        TEXT NOT NULL DEFAULT '{}',
    -- The applied configuration document, secrets replaced by references to sealed columns.
    config_document TEXT,
    config_version  INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE secret_keys (
    id             TEXT PRIMARY KEY,
    project_id     TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    key_hash       TEXT NOT NULL UNIQUE,
    display_prefix TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    revoked_at     INTEGER
);
CREATE INDEX secret_keys_project ON secret_keys (project_id);

CREATE TABLE signing_keys (
    project_id     TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kid            TEXT NOT NULL,
    algorithm      TEXT NOT NULL CHECK (algorithm IN ('RS256', 'ES256', 'EdDSA')),
    public_key_pem TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    revoked_at     INTEGER,
    PRIMARY KEY (project_id, kid)
);

-- Data keys of the encryption envelope, each sealed by the master key.
CREATE TABLE data_keys (
    id          TEXT PRIMARY KEY,
    wrapped_key BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER
);

CREATE TABLE integrations (
    id            TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    type          TEXT NOT NULL,
    -- Place in the configuration document, so listings follow the document.
    position      INTEGER NOT NULL DEFAULT 0,
    -- Resolved definition (provider + project overrides), without secrets.
    definition    TEXT NOT NULL,
    client_secret BLOB,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (project_id, type)
);

CREATE TABLE connected_users (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    meta       TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, user_id)
);

CREATE TABLE credentials (
    id                    TEXT PRIMARY KEY,
    project_id            TEXT NOT NULL,
    integration_id        TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    user_id               TEXT NOT NULL,
    external_id           TEXT,
    provider_id           TEXT,
    provider_data         TEXT NOT NULL DEFAULT '{}',
    status                TEXT NOT NULL CHECK (status IN ('PENDING', 'VALID', 'INVALID')),
    -- Sealed JSON: tokens, API key or basic-auth fields.
    secrets               BLOB,
    -- Non-secret values captured when connecting (instance URL, cloud id) for API URL templates.
    account_vars          TEXT NOT NULL DEFAULT '{}',
    -- Bumped whenever `secrets` changes; a refresh only writes over the version it read.
    version               INTEGER NOT NULL DEFAULT 0,
    refresh_failure_count INTEGER NOT NULL DEFAULT 0,
    refreshed_at          INTEGER,
    valid_until           INTEGER,
    -- Expiry index of the background refresher, and its claim on the row.
    next_refresh_at       INTEGER,
    refresh_claimed_until INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    FOREIGN KEY (project_id, user_id) REFERENCES connected_users (project_id, user_id) ON DELETE CASCADE
);
CREATE INDEX credentials_owner ON credentials (project_id, user_id, integration_id, created_at);
CREATE UNIQUE INDEX credentials_external_id
    ON credentials (project_id, integration_id, user_id, external_id) WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX credentials_provider_id
    ON credentials (project_id, integration_id, user_id, provider_id) WHERE provider_id IS NOT NULL;
CREATE INDEX credentials_next_refresh ON credentials (next_refresh_at) WHERE next_refresh_at IS NOT NULL;

CREATE TABLE credential_configurations (
    id                TEXT PRIMARY KEY,
    credential_id     TEXT NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
    is_default        INTEGER NOT NULL DEFAULT 1 CHECK (is_default IN (0, 1)),
    shared_settings   TEXT NOT NULL DEFAULT '{}',
    -- {"<workflowId>": {"enabled": bool, "settings": {...}}}
    workflow_settings TEXT NOT NULL DEFAULT '{}',
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX credential_configurations_default
    ON credential_configurations (credential_id) WHERE is_default = 1;

CREATE TABLE install_sessions (
    id             TEXT PRIMARY KEY,
    project_id     TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'complete', 'failed')),
    -- SHA-256 of the OAuth `state`; cleared when consumed so it is single use.
    state_hash     TEXT UNIQUE,
    -- Sealed PKCE verifier.
    secrets        BLOB,
    -- allowMultipleCredentials, selectedCredentialId, externalId, redirectUrl, connection fields.
    options        TEXT NOT NULL DEFAULT '{}',
    credential_id  TEXT,
    error          TEXT,
    expires_at     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    completed_at   INTEGER
);

CREATE TABLE workflows (
    project_id     TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    trigger_type   TEXT NOT NULL CHECK (trigger_type IN ('request', 'app_event', 'schedule', 'integration_enabled')),
    -- The app event name for `app_event` triggers, so events find their workflows by index.
    trigger_event  TEXT,
    definition     TEXT NOT NULL,
    position       INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (project_id, id)
);
CREATE INDEX workflows_trigger ON workflows (project_id, trigger_type, trigger_event);

-- Task History. No foreign key to credentials: history outlives an uninstalled account.
CREATE TABLE workflow_executions (
    id             TEXT PRIMARY KEY,
    project_id     TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    workflow_id    TEXT NOT NULL,
    integration_id TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    credential_id  TEXT NOT NULL,
    trigger        TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED')),
    error          TEXT,
    started_at     INTEGER NOT NULL,
    ended_at       INTEGER,
    duration_ms    INTEGER
);
CREATE INDEX workflow_executions_page ON workflow_executions (project_id, started_at DESC, id DESC);
CREATE INDEX workflow_executions_credential ON workflow_executions (project_id, credential_id, started_at DESC);

CREATE TABLE execution_steps (
    execution_id TEXT NOT NULL REFERENCES workflow_executions (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    step_id      TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'SKIPPED')),
    input        TEXT,
    output       TEXT,
    error        TEXT,
    started_at   INTEGER NOT NULL,
    duration_ms  INTEGER,
    PRIMARY KEY (execution_id, seq)
);

-- Durable job queue: asynchronous workflow runs, webhook deliveries, refreshes.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    project_id   TEXT REFERENCES projects (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    -- Makes enqueueing idempotent (one run per trigger occurrence and account).
    dedupe_key   TEXT UNIQUE,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 5,
    run_at       INTEGER NOT NULL,
    locked_by    TEXT,
    locked_until INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    finished_at  INTEGER
);
CREATE INDEX jobs_ready ON jobs (status, run_at);

-- Changes to user objects, in one global order (`seq` is the SSE event id).
CREATE TABLE events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    project_id     TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL,
    integration_id TEXT,
    credential_id  TEXT,
    name           TEXT NOT NULL,
    payload        TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX events_user ON events (project_id, user_id, seq);

CREATE TABLE webhook_endpoints (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    url         TEXT NOT NULL,
    secret      BLOB NOT NULL,
    event_types TEXT NOT NULL DEFAULT '[]',
    disabled_at INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- The webhook outbox and its delivery log.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_seq        INTEGER NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    delivered_at     INTEGER,
    UNIQUE (endpoint_id, event_seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
