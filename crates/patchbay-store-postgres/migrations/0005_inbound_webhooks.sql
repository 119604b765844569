-- Providers' webhooks: the secret each integration verifies them with, the
-- deliveries received with what each one started, and the lookup that routes a
-- delivery to the accounts it concerns (by their id at the provider, across
-- users).
-- Keep in step with the other backend's migrations: same numbers, same names.
ALTER TABLE integrations ADD COLUMN webhook_secret BYTEA;

CREATE TABLE inbound_deliveries (
    id             UUID PRIMARY KEY,
    project_id     UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    integration_id UUID NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    event_type     TEXT NOT NULL,
    event_id       TEXT,
    account_key    TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('routed', 'unmatched', 'unhandled')),
    credential_ids UUID[] NOT NULL,
    execution_ids  UUID[] NOT NULL,
    payload        JSONB NOT NULL,
    received_at    TIMESTAMPTZ NOT NULL
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
ALTER TABLE workflows
    DROP CONSTRAINT workflows_trigger_type_check,
    ADD CONSTRAINT workflows_trigger_type_check
        CHECK (trigger_type IN ('request', 'app_event', 'schedule', 'integration_enabled', 'integration'));
