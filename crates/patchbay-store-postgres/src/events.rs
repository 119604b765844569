//! The event log of user-object changes.

use patchbay_store::{EventRecord, NewEvent, RefuseNul, StoreResult, now};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgPool, Postgres};
use uuid::Uuid;

use crate::event_row::EventRow;
use crate::{notices, webhooks};

/// Appends `events` inside the caller's transaction, queues their webhook
/// deliveries, and has PostgreSQL notify every replica when it commits.
///
/// `seq` comes from a sequence, so two transactions can commit their events
/// in the opposite order of their `seq`. A reader that resumes "after seq N"
/// would then skip the late one forever. Writers of a project's events
/// therefore take a transaction lock on that project before they draw a
/// `seq`: within a project, commit order is `seq` order, which is what
/// streams (one user's, or the whole project's) and webhook ordering (one
/// account) rely on. Only writes that record events wait on it, and each
/// holds it from its events to its commit.
pub(crate) async fn insert(conn: &mut PgConnection, events: &[NewEvent]) -> StoreResult<()> {
    events.refuse_nul()?;
    let mut projects: Vec<Uuid> = events.iter().map(|event| event.project_id).collect();
    projects.sort_unstable();
    projects.dedup();
    for project_id in &projects {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("events:{project_id}"))
            .execute(&mut *conn)
            .await?;
    }
    let at = now();
    for event in events {
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO events (id, project_id, user_id, integration_id, credential_id, name, payload, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING seq",
        )
        .bind(event.id)
        .bind(event.project_id)
        .bind(&event.user_id)
        .bind(event.integration_id)
        .bind(event.credential_id)
        .bind(&event.name)
        .bind(Json(&event.payload))
        .bind(at)
        .fetch_one(&mut *conn)
        .await?;
        webhooks::queue_deliveries(conn, event, seq, at).await?;
    }
    let mut users: Vec<(Uuid, &str)> = events
        .iter()
        .map(|event| (event.project_id, event.user_id.as_str()))
        .collect();
    users.sort_unstable();
    users.dedup();
    for (project_id, user_id) in users {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(notices::EVENTS)
            .bind(notices::payload(project_id, user_id))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub(crate) async fn list_for_user(
    pool: &PgPool,
    project_id: Uuid,
    user_id: &str,
    after_seq: i64,
    limit: i64,
) -> StoreResult<Vec<EventRecord>> {
    let rows = list_for_user_query(LIST_FOR_USER, project_id, user_id, after_seq, limit)
        .try_map(|row: PgRow| EventRow::from_row(&row))
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(EventRecord::from).collect())
}

/// The statement of [`list_for_user`], also explained by `plans.rs`.
pub(crate) const LIST_FOR_USER: &str =
    "SELECT seq, id, project_id, user_id, integration_id, credential_id, name, payload, created_at
     FROM events WHERE project_id = $1 AND user_id = $2 AND seq > $3
     ORDER BY seq LIMIT $4";

pub(crate) fn list_for_user_query<'q>(
    sql: &'q str,
    project_id: Uuid,
    user_id: &str,
    after_seq: i64,
    limit: i64,
) -> Query<'q, Postgres, PgArguments> {
    sqlx::query(sql)
        .bind(project_id)
        .bind(user_id.to_owned())
        .bind(after_seq)
        .bind(limit)
}

pub(crate) async fn list_for_project(
    pool: &PgPool,
    project_id: Uuid,
    after_seq: i64,
    limit: i64,
) -> StoreResult<Vec<EventRecord>> {
    let rows = list_for_project_query(LIST_FOR_PROJECT, project_id, after_seq, limit)
        .try_map(|row: PgRow| EventRow::from_row(&row))
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(EventRecord::from).collect())
}

/// The statement of [`list_for_project`], also explained by `plans.rs`.
pub(crate) const LIST_FOR_PROJECT: &str =
    "SELECT seq, id, project_id, user_id, integration_id, credential_id, name, payload, created_at
     FROM events WHERE project_id = $1 AND seq > $2
     ORDER BY seq LIMIT $3";

pub(crate) fn list_for_project_query(
    sql: &str,
    project_id: Uuid,
    after_seq: i64,
    limit: i64,
) -> Query<'_, Postgres, PgArguments> {
    sqlx::query(sql)
        .bind(project_id)
        .bind(after_seq)
        .bind(limit)
}

pub(crate) async fn last_seq_of_project(pool: &PgPool, project_id: Uuid) -> StoreResult<i64> {
    let seq: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM events WHERE project_id = $1")
        .bind(project_id)
        .fetch_one(pool)
        .await?;
    Ok(seq.unwrap_or(0))
}

pub(crate) async fn last_seq_of_user(
    pool: &PgPool,
    project_id: Uuid,
    user_id: &str,
) -> StoreResult<i64> {
    let seq: Option<i64> =
        sqlx::query_scalar("SELECT MAX(seq) FROM events WHERE project_id = $1 AND user_id = $2")
            .bind(project_id)
            .bind(user_id)
            .fetch_one(pool)
            .await?;
    Ok(seq.unwrap_or(0))
}
