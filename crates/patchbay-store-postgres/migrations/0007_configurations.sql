-- Several configurations per account: each has its own label (`externalId`), metadata, settings
-- and workflow enablements; password settings are sealed apart from the rest. The project id
-- lets key rotation find and re-seal them like every other sealed column. Task History records
-- which configuration a run used.
-- Keep in step with the other backend's migrations: same numbers, same names.
ALTER TABLE credential_configurations ADD COLUMN project_id UUID REFERENCES projects (id) ON DELETE CASCADE;
UPDATE credential_configurations cc SET project_id = c.project_id
FROM credentials c WHERE c.id = cc.credential_id;
ALTER TABLE credential_configurations ALTER COLUMN project_id SET NOT NULL;
ALTER TABLE credential_configurations ADD COLUMN external_id TEXT;
ALTER TABLE credential_configurations ADD COLUMN meta JSONB NOT NULL DEFAULT '{}';
-- The values of `password` settings: {"shared": {id: value}, "workflows": {workflowId: {id: value}}}.
ALTER TABLE credential_configurations ADD COLUMN sealed_settings BYTEA;
CREATE UNIQUE INDEX credential_configurations_external_id
    ON credential_configurations (credential_id, external_id) WHERE external_id IS NOT NULL;

ALTER TABLE workflow_executions ADD COLUMN configuration_id UUID;
