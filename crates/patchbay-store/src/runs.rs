//! Workflow runs (Task History) and the durable job queue that carries the
//! asynchronous ones (docs/api.md).

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Where a run stands. `Queued` runs wait in the job queue; the others are
/// the statuses Task History shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecutionStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl ExecutionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "QUEUED",
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "QUEUED" => Some(Self::Queued),
            "RUNNING" => Some(Self::Running),
            "SUCCEEDED" => Some(Self::Succeeded),
            "FAILED" => Some(Self::Failed),
            _ => None,
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepStatus {
    Running,
    Succeeded,
    Failed,
    Skipped,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Skipped => "SKIPPED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "RUNNING" => Some(Self::Running),
            "SUCCEEDED" => Some(Self::Succeeded),
            "FAILED" => Some(Self::Failed),
            "SKIPPED" => Some(Self::Skipped),
            _ => None,
        }
    }
}

/// A run about to be recorded, for exactly one credential.
#[derive(Debug, Clone)]
pub struct NewExecution {
    pub id: Uuid,
    pub project_id: Uuid,
    pub workflow_id: String,
    pub integration_id: Uuid,
    pub user_id: String,
    pub credential_id: Uuid,
    /// The account's configuration it ran with.
    pub configuration_id: Option<Uuid>,
    /// What started it (type, body, query, headers or event payload), with
    /// secrets already redacted.
    pub trigger: serde_json::Value,
    /// `Queued` (a job carries it) or `Running` (it runs in the request).
    pub status: ExecutionStatus,
    pub started_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionRecord {
    pub id: Uuid,
    pub project_id: Uuid,
    pub workflow_id: String,
    pub integration_id: Uuid,
    pub user_id: String,
    pub credential_id: Uuid,
    /// The account's configuration it ran with (`None` for runs recorded before configurations
    /// were).
    pub configuration_id: Option<Uuid>,
    pub trigger: serde_json::Value,
    pub status: ExecutionStatus,
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    /// Steps that ran (every step record but the skipped ones; each
    /// iteration of a `foreach` counts its own): Paragon's `taskCount`.
    pub task_count: i64,
}

/// How many of a project's runs that started in one hour (UTC) ended in one final status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecutionsInHour {
    pub hour: DateTime<Utc>,
    pub status: ExecutionStatus,
    pub count: i64,
}

impl ExecutionsInHour {
    /// Reads a row's status, refusing one that is not final.
    pub fn new(hour: DateTime<Utc>, status: &str, count: i64) -> crate::StoreResult<Self> {
        match ExecutionStatus::parse(status) {
            Some(status) if status.is_final() => Ok(Self {
                hour,
                status,
                count,
            }),
            _ => Err(crate::StoreError::Corrupt(format!(
                "final run status {status:?}"
            ))),
        }
    }
}

/// One executed step; `seq` orders the steps of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    pub seq: i64,
    pub step_id: String,
    pub status: StepStatus,
    pub input: Option<serde_json::Value>,
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub duration_ms: Option<i64>,
}

/// How a run ended, written at once with its steps.
#[derive(Debug, Clone)]
pub struct ExecutionOutcome {
    /// `Succeeded` or `Failed`.
    pub status: ExecutionStatus,
    pub error: Option<String>,
    pub ended_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub steps: Vec<StepRecord>,
}

/// Which runs of a project to list, newest first unless `ascending`.
#[derive(Debug, Clone, Default)]
pub struct ExecutionFilter {
    pub user_id: Option<String>,
    pub credential_id: Option<Uuid>,
    pub workflow_id: Option<String>,
    pub integration_id: Option<Uuid>,
    pub status: Option<ExecutionStatus>,
    /// Started at or after.
    pub after: Option<DateTime<Utc>>,
    /// Started before.
    pub before: Option<DateTime<Utc>>,
    /// Only runs strictly after this one in the listing order
    /// (`started_at` descending, then id descending; both ascending when
    /// `ascending`).
    pub cursor: Option<(DateTime<Utc>, Uuid)>,
    /// Oldest first.
    pub ascending: bool,
    /// Runs skipped before the first one listed (after the cursor, if any).
    pub offset: i64,
    pub limit: i64,
}

/// A job for the durable queue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: Uuid,
    pub project_id: Uuid,
    pub kind: String,
    pub payload: serde_json::Value,
    /// At most one job ever holds a given key: enqueueing the same
    /// occurrence twice (two replicas, a retried call) is a no-op.
    pub dedupe_key: Option<String>,
    pub run_at: DateTime<Utc>,
    /// Inserted already claimed (a run that starts in the request that
    /// created it): `(worker, lease_until)`. If that worker dies, the lease
    /// lapses and the job is claimable like any other.
    pub claimed: Option<(String, DateTime<Utc>)>,
}

/// A job claimed by one worker until `locked_until`.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub id: Uuid,
    pub project_id: Uuid,
    pub kind: String,
    pub payload: serde_json::Value,
    /// Claims so far, this one included.
    pub attempts: i64,
}
