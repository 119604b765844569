//! Loading many rows at once, for benchmarks and imports that start from a
//! large dataset: one statement per table and batch (`UNNEST` of arrays)
//! instead of one transaction per row. The rows are what the ordinary
//! writes would store; secrets arrive sealed, as every write takes them.

use patchbay_store::{NewCredential, NewEvent, NewExecution, RefuseNul, StoreResult, now};
use sqlx::PgPool;
use uuid::Uuid;

/// Stores `credentials`, their users (created if new) and their default
/// configurations, in one transaction. Announces nothing: caches of
/// running servers learn of these accounts when their entries expire.
pub(crate) async fn insert_credentials(
    pool: &PgPool,
    credentials: &[NewCredential],
) -> StoreResult<()> {
    for credential in credentials {
        credential.refuse_nul()?;
    }
    let at = now();
    let ids: Vec<Uuid> = column(credentials, |c| c.id);
    let projects: Vec<Uuid> = column(credentials, |c| c.project_id);
    let users: Vec<String> = column(credentials, |c| c.user_id.clone());
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO connected_users (project_id, user_id, created_at, updated_at)
         SELECT DISTINCT p, u, $3::timestamptz, $3::timestamptz FROM UNNEST($1::uuid[], $2::text[]) AS t(p, u)
         ON CONFLICT (project_id, user_id) DO NOTHING",
    )
    .bind(&projects)
    .bind(&users)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO credentials (id, project_id, integration_id, user_id, external_id, provider_id,
                                  provider_data, status, secrets, account_vars, valid_until,
                                  next_refresh_at, refreshed_at, created_at, updated_at)
         SELECT id, project_id, integration_id, user_id, external_id, provider_id, provider_data,
                status, secrets, account_vars, valid_until, next_refresh_at, $13, $13, $13
         FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[],
                     $7::jsonb[], $8::text[], $9::bytea[], $10::jsonb[], $11::timestamptz[],
                     $12::timestamptz[])
           AS t(id, project_id, integration_id, user_id, external_id, provider_id, provider_data,
                status, secrets, account_vars, valid_until, next_refresh_at)",
    )
    .bind(&ids)
    .bind(&projects)
    .bind(column(credentials, |c| c.integration_id))
    .bind(&users)
    .bind(column(credentials, |c| c.external_id.clone()))
    .bind(column(credentials, |c| c.provider_id.clone()))
    .bind(
        column(credentials, |c| c.provider_data.clone()),
    )
    .bind(
        column(credentials, |c| c.status.as_str()),
    )
    .bind(
        column(credentials, |c| c.secrets.clone()),
    )
    .bind(
        column(credentials, |c| c.account_vars.clone()),
    )
    .bind(column(credentials, |c| c.valid_until))
    .bind(column(credentials, |c| c.next_refresh_at))
    .bind(at)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO credential_configurations (id, project_id, credential_id, is_default,
                                                workflow_settings, created_at, updated_at)
         SELECT gen_random_uuid(), project_id, credential_id, TRUE, workflow_settings, $3, $3
         FROM UNNEST($1::uuid[], $2::jsonb[], $4::uuid[])
           AS t(credential_id, workflow_settings, project_id)",
    )
    .bind(&ids)
    .bind(column(credentials, |c| c.workflow_settings.clone()))
    .bind(at)
    .bind(&projects)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One field of every row, for an `UNNEST` array parameter.
fn column<'a, T, U>(rows: &'a [T], field: impl FnMut(&'a T) -> U) -> Vec<U> {
    rows.iter().map(field).collect()
}

/// Stores finished runs in Task History, each ended when it started.
pub(crate) async fn insert_executions(
    pool: &PgPool,
    executions: &[NewExecution],
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO workflow_executions (id, project_id, workflow_id, integration_id, user_id,
                                          credential_id, trigger, status, started_at, ended_at,
                                          duration_ms)
         SELECT id, project_id, workflow_id, integration_id, user_id, credential_id, trigger,
                status, started_at, started_at, 0
         FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::uuid[],
                     $7::jsonb[], $8::text[], $9::timestamptz[])
           AS t(id, project_id, workflow_id, integration_id, user_id, credential_id, trigger,
                status, started_at)",
    )
    .bind(column(executions, |e| e.id))
    .bind(column(executions, |e| e.project_id))
    .bind(column(executions, |e| e.workflow_id.clone()))
    .bind(column(executions, |e| e.integration_id))
    .bind(column(executions, |e| e.user_id.clone()))
    .bind(column(executions, |e| e.credential_id))
    .bind(column(executions, |e| e.trigger.clone()))
    .bind(column(executions, |e| e.status.as_str()))
    .bind(column(executions, |e| e.started_at))
    .execute(pool)
    .await?;
    Ok(())
}

/// Stores past events, each already delivered to every endpoint of its
/// project: history for streams to resume in and for delivery logs, not
/// work for the webhook sender.
pub(crate) async fn insert_delivered_events(pool: &PgPool, events: &[NewEvent]) -> StoreResult<()> {
    events.refuse_nul()?;
    sqlx::query(
        "WITH added AS (
           INSERT INTO events (id, project_id, user_id, integration_id, credential_id, name,
                               payload, created_at)
           SELECT id, project_id, user_id, integration_id, credential_id, name, payload, $9
           FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::uuid[], $6::text[],
                       $7::jsonb[])
             AS t(id, project_id, user_id, integration_id, credential_id, name, payload)
           RETURNING seq, project_id, id
         )
         INSERT INTO webhook_deliveries (id, endpoint_id, event_seq, status, attempts,
                                         next_attempt_at, last_status_code, created_at,
                                         delivered_at, ordering_key, queued_at)
         SELECT gen_random_uuid(), w.id, added.seq, 'delivered', 1, $9, 200, $9, $9, k.key, $9
         FROM added
         JOIN UNNEST($1::uuid[], $8::text[]) AS k(id, key) ON k.id = added.id
         JOIN webhook_endpoints w ON w.project_id = added.project_id",
    )
    .bind(column(events, |e| e.id))
    .bind(column(events, |e| e.project_id))
    .bind(column(events, |e| e.user_id.clone()))
    .bind(column(events, |e| e.integration_id))
    .bind(column(events, |e| e.credential_id))
    .bind(column(events, |e| e.name.clone()))
    .bind(column(events, |e| e.payload.clone()))
    .bind(column(events, NewEvent::delivery_ordering_key))
    .bind(now())
    .execute(pool)
    .await?;
    Ok(())
}

/// Refreshes the planner's statistics of every table and marks the loaded
/// pages all-visible, as autovacuum would after a load this size (it
/// vacuums tables that received many inserts): without the visibility map
/// an index-only scan, Task History's `total` for one, reads the heap too.
pub(crate) async fn analyze(pool: &PgPool) -> StoreResult<()> {
    sqlx::query("VACUUM (ANALYZE)").execute(pool).await?;
    Ok(())
}
