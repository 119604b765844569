//! What one operation costs must not grow with the tables: a store that
//! started on an empty database and kept its connections while the
//! database grew still reads only the rows it needs.
//!
//! PostgreSQL plans a prepared statement once for all parameter values (a
//! generic plan) after a few executions and keeps that plan for as long as
//! the connection lives, until the table's statistics change. Planned while
//! `credentials` was nearly empty, the lookup of one account by project and
//! id could walk the project's whole `(project_id, user_id, …)` index and
//! filter on the id: harmless at ten rows, a scan of the whole project at a
//! hundred thousand (issue 23: seeding slowed from 250 to 40 writes a second
//! between 10,000 and 75,000 accounts). SQLite plans without knowing table
//! sizes, so this is a PostgreSQL test; its plans are checked in `plans.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use patchbay_store::{CredentialChanges, Store};
use patchbay_test_support::{Backend, TestDb, backend_tests};
use sqlx::{Connection as _, Executor as _, PgConnection};

use crate::fixtures::{credential, find_credential, insert_credential, integrations, project};

/// Rows added behind the store's back once its statements are prepared.
const GROWTH: i64 = 20_000;
/// Operations measured after the growth.
const OPERATIONS: i64 = 60;

/// Scans of `credentials` and the rows they read, from PostgreSQL's
/// cumulative statistics, so the test counts work instead of timing it.
#[derive(Debug, Clone, Copy)]
struct Reads {
    scans: i64,
    rows: i64,
}

async fn credential_reads(sql: &mut PgConnection) -> Reads {
    // Statistics are read as a snapshot per transaction; start a new one.
    sql.execute("SELECT pg_stat_clear_snapshot()")
        .await
        .unwrap();
    let (scans, rows): (i64, i64) = sqlx::query_as(
        "SELECT (coalesce(seq_scan, 0) + coalesce(idx_scan, 0))::bigint,
                (coalesce(seq_tup_read, 0)
                 + (SELECT coalesce(sum(idx_tup_read), 0) FROM pg_stat_user_indexes i
                    WHERE i.relid = t.relid))::bigint
         FROM pg_stat_user_tables t WHERE relname = 'credentials'",
    )
    .fetch_one(&mut *sql)
    .await
    .unwrap();
    Reads { scans, rows }
}

/// Waits until PostgreSQL's statistics count at least `scans` scans of
/// `credentials` (each server process publishes its counts within about a
/// second of going idle).
async fn reads_with_at_least(sql: &mut PgConnection, scans: i64) -> Reads {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let reads = credential_reads(sql).await;
        if reads.scans >= scans {
            return reads;
        }
        assert!(
            Instant::now() < deadline,
            "statistics count {} scans of credentials within 15 s, expected {scans}",
            reads.scans
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn account_operations_read_a_few_rows_however_large_the_table(db: TestDb) {
    if db.backend() != Backend::Postgres {
        return; // SQLite has no plans kept per connection; see the module.
    }
    let store: Arc<dyn Store> = db.store();
    let p = project(&store).await;
    let [crm] = integrations(&store, p, &["crm"]).await[..] else {
        unreachable!()
    };
    // The store's connections prepare and run their statements while the
    // table is small, more often than PostgreSQL needs to settle on a plan.
    let mut ids = Vec::new();
    for n in 0..10 {
        let id = insert_credential(&store, &credential(p, crm, &format!("early-{n}")))
            .await
            .id;
        ids.push(id);
        for _ in 0..10 {
            assert!(find_credential(&store, p, id).await.is_some());
        }
    }

    // The project grows behind the store's back, its connections kept.
    let mut sql = PgConnection::connect(db.url()).await.unwrap();
    sql.execute(
        format!(
            "INSERT INTO connected_users (project_id, user_id, created_at, updated_at)
               SELECT '{p}', 'grown-' || n, now(), now() FROM generate_series(1, {GROWTH}) n;
             INSERT INTO credentials (id, project_id, integration_id, user_id, status,
                                      created_at, updated_at)
               SELECT gen_random_uuid(), '{p}', '{crm}', 'grown-' || n, 'VALID', now(), now()
               FROM generate_series(1, {GROWTH}) n;
             INSERT INTO credential_configurations (id, project_id, credential_id, created_at,
                                                    updated_at)
               SELECT gen_random_uuid(), project_id, id, now(), now() FROM credentials
               WHERE user_id LIKE 'grown-%';"
        )
        .as_str(),
    )
    .await
    .unwrap();
    sql.close().await.unwrap();
    let mut sql = PgConnection::connect(db.url()).await.unwrap();
    // The growth checked a key of `credentials` per configuration row.
    let before = reads_with_at_least(&mut sql, GROWTH).await;

    for n in 0..OPERATIONS {
        let id = ids[n as usize % ids.len()];
        assert!(find_credential(&store, p, id).await.is_some());
        let changes = CredentialChanges {
            external_id: Some(Some(format!("ext-{n}"))),
            ..CredentialChanges::default()
        };
        store
            .credentials()
            .update_credential(p, id, &changes, &[])
            .await
            .unwrap();
        insert_credential(&store, &credential(p, crm, &format!("late-{n}"))).await;
    }
    // Each operation scans `credentials` at least once.
    let after = reads_with_at_least(&mut sql, before.scans + 3 * OPERATIONS).await;
    let rows_per_operation = (after.rows - before.rows) / (3 * OPERATIONS);
    assert!(
        rows_per_operation < 10,
        "an account operation read {rows_per_operation} rows of credentials on average, \
         with {GROWTH} accounts in the project: it scans instead of using the primary key"
    );
}

backend_tests!(account_operations_read_a_few_rows_however_large_the_table);
