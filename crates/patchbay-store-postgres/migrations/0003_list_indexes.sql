-- Every list is paged on an index that matches its filter and its order, so a
-- page costs the rows it returns whatever the size of the table (issue 23).
-- Keep in step with the other backend's migrations: same numbers, same names.

-- Task History: one index per filter, each ending in the page order
-- (started_at, id), so a filtered first page and a cursor page are a walk of
-- the matching runs, newest (or oldest) first, never a sort. Without them a
-- filter by user walked the project's whole history looking for that user's runs.
DROP INDEX workflow_executions_credential;
CREATE INDEX workflow_executions_credential
    ON workflow_executions (project_id, credential_id, started_at DESC, id DESC);
CREATE INDEX workflow_executions_user
    ON workflow_executions (project_id, user_id, started_at DESC, id DESC);
CREATE INDEX workflow_executions_workflow
    ON workflow_executions (project_id, workflow_id, started_at DESC, id DESC);
CREATE INDEX workflow_executions_integration
    ON workflow_executions (project_id, integration_id, started_at DESC, id DESC);
CREATE INDEX workflow_executions_status
    ON workflow_executions (project_id, status, started_at DESC, id DESC);

-- An integration's accounts (scheduled runs, removing an integration, and the
-- cascade of that removal), in the order listings use.
CREATE INDEX credentials_integration ON credentials (integration_id, created_at, id);

-- Deleting an account cascades to its configurations by `credential_id`; the
-- partial unique index (`WHERE is_default`) cannot serve that lookup, which
-- then read the whole table on every delete.
CREATE INDEX credential_configurations_credential ON credential_configurations (credential_id);

-- An endpoint's delivery log filtered by status (the dead ones, say) without
-- walking every delivery of the endpoint.
CREATE INDEX webhook_deliveries_log_status
    ON webhook_deliveries (endpoint_id, status, event_seq DESC);
