-- Providers' webhooks: the secret each integration verifies them with, the
-- deliveries received with what each one started, and the lookup that routes a
-- delivery to the accounts it concerns (by their id at the provider, across
-- users).
-- Keep in step with the other backend's migrations: same numbers, same names.
ALTER TABLE integrations ADD COLUMN webhook_secret BLOB;

CREATE TABLE inbound_deliveries (
    id             TEXT PRIMARY KEY,
    project_id     TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    event_type     TEXT NOT NULL,
    event_id       TEXT,
    account_key    TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('routed', 'unmatched', 'unhandled')),
    credential_ids TEXT NOT NULL,
    execution_ids  TEXT NOT NULL,
    payload        TEXT NOT NULL,
    received_at    INTEGER NOT NULL
);
-- A provider sending an event again is recognised by its id.
CREATE UNIQUE INDEX inbound_deliveries_event
    ON inbound_deliveries (integration_id, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX inbound_deliveries_page
    ON inbound_deliveries (project_id, received_at DESC, id DESC);
CREATE INDEX inbound_deliveries_received ON inbound_deliveries (received_at);

CREATE INDEX credentials_integration_provider_id
    ON credentials (project_id, integration_id, provider_id) WHERE provider_id IS NOT NULL;

-- Workflows may run on an integration's webhooks (`integration` triggers).
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt.
CREATE TABLE workflows_new (
    project_id     TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    trigger_type   TEXT NOT NULL CHECK (trigger_type IN ('request', 'app_event', 'schedule', 'integration_enabled', 'integration')),
    -- The app event's name, or the provider's event type, so events find their workflows by index.
    trigger_event  TEXT,
    definition     TEXT NOT NULL,
    position       INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (project_id, id)
);
INSERT INTO workflows_new SELECT project_id, id, integration_id, trigger_type, trigger_event,
    definition, position, created_at, updated_at FROM workflows;
DROP TABLE workflows;
ALTER TABLE workflows_new RENAME TO workflows;
CREATE INDEX workflows_trigger ON workflows (project_id, trigger_type, trigger_event);
