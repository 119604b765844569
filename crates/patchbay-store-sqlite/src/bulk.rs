//! Loading many rows at once, for benchmarks and imports that start from a
//! large dataset: one transaction per batch instead of one per row (SQLite
//! runs each statement in-process, so batching the transaction is what
//! counts). The rows are what the ordinary writes would store; secrets
//! arrive sealed, as every write takes them.

use patchbay_store::{NewCredential, NewEvent, NewExecution, RefuseNul, StoreResult, now};
use sqlx::SqlitePool;

use crate::time::to_millis;
use crate::{credentials, events, runs};

/// Stores `credentials`, their users (created if new) and their default
/// configurations, in one transaction. Announces nothing: caches of
/// running servers learn of these accounts when their entries expire.
pub(crate) async fn insert_credentials(
    writer: &SqlitePool,
    credentials: &[NewCredential],
) -> StoreResult<()> {
    let mut tx = writer.begin().await?;
    for credential in credentials {
        credential.refuse_nul()?;
        credentials::upsert_user(&mut tx, credential.project_id, &credential.user_id, None).await?;
        credentials::insert(&mut tx, credential).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Stores finished runs in Task History, each ended when it started.
pub(crate) async fn insert_executions(
    writer: &SqlitePool,
    executions: &[NewExecution],
) -> StoreResult<()> {
    let mut tx = writer.begin().await?;
    for execution in executions {
        runs::insert_run(&mut tx, execution, true).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Stores past events, each already delivered to every endpoint of its
/// project: history for streams to resume in and for delivery logs, not
/// work for the webhook sender. They are queued as any event is, then
/// marked delivered before anyone can see them.
pub(crate) async fn insert_delivered_events(
    writer: &SqlitePool,
    new_events: &[NewEvent],
) -> StoreResult<()> {
    let mut tx = writer.begin().await?;
    let first_seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM events")
        .fetch_one(&mut *tx)
        .await?;
    events::insert(&mut tx, new_events).await?;
    sqlx::query(
        "UPDATE webhook_deliveries
         SET status = 'delivered', attempts = 1, last_status_code = 200, delivered_at = $1
         WHERE event_seq >= $2",
    )
    .bind(to_millis(now()))
    .bind(first_seq)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Refreshes the planner's statistics of every table.
pub(crate) async fn analyze(writer: &SqlitePool) -> StoreResult<()> {
    sqlx::query("ANALYZE").execute(writer).await?;
    Ok(())
}
