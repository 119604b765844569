//! The queries the hot paths send, with the parameters to plan them for, so
//! a test or a benchmark can ask a concrete store how it would run them
//! (`PgStore::explain`, `SqliteStore::explain`) on a loaded database. Not
//! part of [`Store`](crate::Store): only the store crates know SQL, and a
//! plan is theirs to print.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{CredentialFilter, ExecutionFilter};

/// One hot-path statement, named after the store method that sends it.
#[derive(Debug, Clone)]
pub enum HotQuery {
    /// `UserStore::get_user`: the stored user a token names.
    User { project_id: Uuid, user_id: String },
    /// `CredentialStore::get_credential`: an account by id.
    Credential { project_id: Uuid, id: Uuid },
    /// `CredentialStore::list_credentials` (a user's accounts, say).
    Credentials {
        project_id: Uuid,
        filter: CredentialFilter,
    },
    /// `CredentialStore::due_refreshes`: the refresh sweep.
    DueRefreshes { before: DateTime<Utc>, limit: i64 },
    /// `WorkflowStore::list_executions`: a page of Task History.
    Executions {
        project_id: Uuid,
        filter: ExecutionFilter,
    },
    /// `WorkflowStore::count_executions`: Paragon's `total`.
    ExecutionCount {
        project_id: Uuid,
        filter: ExecutionFilter,
    },
    /// `WorkflowStore::claim_jobs`: the due jobs a worker takes.
    DueJobs { kind: String, limit: i64 },
    /// `EventStore::list_user_events`: resuming an event stream.
    UserEvents {
        project_id: Uuid,
        user_id: String,
        after_seq: i64,
        limit: i64,
    },
    /// `EventStore::list_project_events`: resuming a project's event stream.
    ProjectEvents {
        project_id: Uuid,
        after_seq: i64,
        limit: i64,
    },
}
