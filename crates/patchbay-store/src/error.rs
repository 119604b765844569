use std::fmt;

/// What went wrong in the store, in terms callers can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row the operation targets does not exist (or is not visible to the
    /// caller's project).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule would be broken; `constraint` names it.
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
    /// A stored value could not be decoded (a timestamp out of range, JSON
    /// that no longer parses).
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
    /// A value the database cannot hold (PostgreSQL refuses a NUL character
    /// in text and JSON). Callers keep such values out; this says one got
    /// through, without the value.
    #[error("the store refused a value: {0}")]
    Refused(String),
    /// The database is unreachable, timed out, or failed in a way the caller
    /// cannot fix.
    #[error("storage backend failed: {0}")]
    Backend(BackendError),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// An opaque backend failure. Its message comes from the driver and never
/// contains bound parameter values.
#[derive(Debug)]
pub struct BackendError(pub Box<dyn std::error::Error + Send + Sync>);

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl StoreError {
    pub fn backend(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(BackendError(Box::new(err)))
    }
}

#[cfg(feature = "sqlx")]
impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Conflict {
                // PostgreSQL names the constraint; SQLite only says which columns.
                constraint: db
                    .constraint()
                    .map_or_else(|| db.message().to_owned(), str::to_owned),
            },
            // 22021: invalid byte sequence (a NUL in text); 22P05: an
            // unsupported Unicode escape (`\u0000` in JSON).
            sqlx::Error::Database(db)
                if matches!(db.code().as_deref(), Some("22021" | "22P05")) =>
            {
                Self::Refused(db.message().to_owned())
            }
            other => Self::backend(other),
        }
    }
}

/// `Ok` when an update or delete changed a row, `NotFound` when it matched none (the row is
/// gone, or not in the state the statement requires).
pub fn changed_a_row(rows_affected: u64) -> StoreResult<()> {
    if rows_affected == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
