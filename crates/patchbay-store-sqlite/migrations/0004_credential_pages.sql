-- The project's accounts in pages, oldest first (the admin listing without a
-- user or integration filter): a walk of this index from the page's cursor,
-- instead of reading and sorting every account of the project per page.
-- Keep in step with the other backend's migrations: same numbers, same names.
CREATE INDEX credentials_project_created ON credentials (project_id, created_at, id);
