-- The project's accounts in pages, oldest first: a walk of an index from the
-- page's cursor, instead of reading and sorting every account of the project
-- per page. One for the admin listing without a filter, one for an
-- integration's accounts (the admin listing by integration, and a schedule's
-- runs), which would otherwise walk the project's accounts filtering by
-- integration.
-- Keep in step with the other backend's migrations: same numbers, same names.
CREATE INDEX credentials_project_created ON credentials (project_id, created_at, id);
CREATE INDEX credentials_project_integration
    ON credentials (project_id, integration_id, created_at, id);
