//! Every hot-path statement reads a loaded database through an index: after
//! a bulk load and fresh statistics, the plans the store's own statements
//! get (`EXPLAIN` on PostgreSQL, `EXPLAIN QUERY PLAN` on SQLite, through
//! `BulkStore::explain`) scan no table, and a Task History page never sorts
//! the runs it matched: its order comes from the index of its filter, so a
//! page costs the rows it returns however long the history (issue 23).

use std::sync::Arc;

use chrono::{Duration, Utc};
use patchbay_store::{
    CredentialFilter, ExecutionFilter, ExecutionStatus, HotQuery, NewExecution, NewJob, Store,
};
use patchbay_test_support::{Backend, TestDb, backend_tests};
use uuid::Uuid;

use crate::fixtures::{credential, event, integrations, project};

const ACCOUNTS: i64 = 20_000;
const USERS: i64 = 2_000;
const WORKFLOWS: i64 = 20;
/// Jobs waiting in the queue, none due yet.
const JOBS: i64 = 300;

/// The tables loaded here, which grow with accounts, users and history.
const LOADED: [&str; 7] = [
    "connected_users",
    "credentials",
    "credential_configurations",
    "workflow_executions",
    "events",
    "webhook_deliveries",
    "jobs",
];

/// A loaded table read whole: PostgreSQL's `Seq Scan` (which rightly reads
/// a table left empty here, such as `execution_steps`, whole), SQLite's
/// `SCAN` of any table (with or without an index, a walk of all of it;
/// SQLite plans without table sizes, so any table counts).
fn scans(backend: Backend, line: &str) -> bool {
    match backend {
        Backend::Postgres => LOADED
            .iter()
            .any(|table| line.contains(&format!("Seq Scan on {table} "))),
        Backend::Sqlite => line.trim_start().starts_with("SCAN "),
    }
}

/// An index searched by `column`, as opposed to one walked while a
/// condition on `column` filters what it reads.
fn searches(backend: Backend, line: &str, column: &str) -> bool {
    let searched = match backend {
        Backend::Postgres => line.contains("Index Cond:"),
        Backend::Sqlite => line.trim_start().starts_with("SEARCH "),
    };
    searched && line.contains(column)
}

/// Rows put in order after they were read, rather than read in order.
fn sorts(backend: Backend, line: &str) -> bool {
    match backend {
        Backend::Postgres => line
            .trim_start()
            .trim_start_matches("->  ")
            .contains("Sort"),
        Backend::Sqlite => line.contains("TEMP B-TREE"),
    }
}

async fn hot_path_statements_use_indexes_on_a_loaded_database(db: TestDb) {
    let store: Arc<dyn Store> = db.store();
    let p = project(&store).await;
    // Where most events are recorded: a project's stream must find its own
    // by index, not walk everyone's.
    let crowd = project(&store).await;
    let [crm, mail] = integrations(&store, p, &["crm", "mail"]).await[..] else {
        unreachable!()
    };
    let bulk = db.bulk_store().await;
    let epoch = Utc::now() - Duration::days(1);
    let mut some_account = Uuid::nil();
    for batch in 0..4 {
        let (mut credentials, mut executions, mut events) = (Vec::new(), Vec::new(), Vec::new());
        for n in batch * ACCOUNTS / 4..(batch + 1) * ACCOUNTS / 4 {
            let user = format!("user-{}", n % USERS);
            // One account in twenty is of the rarer integration.
            let integration = if n % 20 == 0 { mail } else { crm };
            let mut new = credential(p, integration, &user);
            new.next_refresh_at = Some(epoch + Duration::days(2));
            some_account = new.id;
            executions.push(NewExecution {
                id: Uuid::new_v4(),
                project_id: p,
                workflow_id: format!("flow-{}", n % WORKFLOWS),
                integration_id: integration,
                user_id: user.clone(),
                credential_id: new.id,
                configuration_id: None,
                trigger: serde_json::json!({"type": "request"}),
                // One run in a hundred failed: a rare status to filter by.
                status: if n % 100 == 0 {
                    ExecutionStatus::Failed
                } else {
                    ExecutionStatus::Succeeded
                },
                started_at: epoch + Duration::milliseconds(n),
            });
            // One event in a hundred is this project's, user-7's among them.
            let owner = if n % 100 == 7 { p } else { crowd };
            events.push(event(owner, &user, new.id, "credential.created"));
            credentials.push(new);
        }
        bulk.credentials(&credentials).await.unwrap();
        bulk.executions(&executions).await.unwrap();
        bulk.events(&events).await.unwrap();
    }
    for n in 0..JOBS {
        let run = NewExecution {
            id: Uuid::new_v4(),
            project_id: p,
            workflow_id: "flow-0".to_owned(),
            integration_id: crm,
            user_id: "user-0".to_owned(),
            credential_id: some_account,
            configuration_id: None,
            trigger: serde_json::json!({"type": "schedule"}),
            status: ExecutionStatus::Queued,
            started_at: Utc::now(),
        };
        let job = NewJob {
            id: Uuid::new_v4(),
            project_id: p,
            kind: "workflow_run".to_owned(),
            payload: serde_json::json!({"executionId": run.id}),
            dedupe_key: Some(format!("job-{n}")),
            run_at: Utc::now() + Duration::hours(1),
            claimed: None,
        };
        let queued = store.workflows().insert_execution(&run, Some(&job)).await;
        assert!(queued.unwrap());
    }
    bulk.analyze().await.unwrap();

    let user = "user-7".to_owned();
    let page = ExecutionFilter {
        limit: 101,
        ..ExecutionFilter::default()
    };
    let middle = epoch + Duration::milliseconds(ACCOUNTS / 2);
    // Each page with the column its index must be searched by.
    let pages = [
        ("first page", "project_id", page.clone()),
        (
            "oldest first",
            "project_id",
            ExecutionFilter {
                ascending: true,
                ..page.clone()
            },
        ),
        (
            "cursor page",
            "started_at",
            ExecutionFilter {
                cursor: Some((middle, Uuid::max())),
                ..page.clone()
            },
        ),
        (
            "by user",
            "user_id",
            ExecutionFilter {
                user_id: Some(user.clone()),
                ..page.clone()
            },
        ),
        (
            "by user, cursor page",
            "started_at",
            ExecutionFilter {
                user_id: Some(user.clone()),
                cursor: Some((middle, Uuid::max())),
                ..page.clone()
            },
        ),
        (
            "by credential",
            "credential_id",
            ExecutionFilter {
                credential_id: Some(some_account),
                ..page.clone()
            },
        ),
        (
            "by workflow",
            "workflow_id",
            ExecutionFilter {
                workflow_id: Some("flow-3".to_owned()),
                ..page.clone()
            },
        ),
        (
            "by integration",
            "integration_id",
            ExecutionFilter {
                integration_id: Some(mail),
                ..page.clone()
            },
        ),
        (
            "by status",
            "status",
            ExecutionFilter {
                status: Some(ExecutionStatus::Failed),
                ..page.clone()
            },
        ),
        (
            "started before",
            "started_at",
            ExecutionFilter {
                before: Some(middle),
                ..page.clone()
            },
        ),
    ];
    let mut statements: Vec<(String, HotQuery, Option<&str>)> = pages
        .into_iter()
        .map(|(name, searched_by, filter)| {
            let query = HotQuery::Executions {
                project_id: p,
                filter,
            };
            (format!("Task History, {name}"), query, Some(searched_by))
        })
        .collect();
    // Pages of accounts, oldest first: the admin listing, and a schedule
    // reading an integration's valid accounts.
    let after = Some((Utc::now() - Duration::days(2), Uuid::max()));
    let account_pages = [
        ("first page", "project_id", CredentialFilter::default()),
        (
            "cursor page",
            "created_at",
            CredentialFilter {
                after,
                ..CredentialFilter::default()
            },
        ),
        (
            "an integration's valid ones, cursor page",
            "integration_id",
            CredentialFilter {
                integration_id: Some(mail),
                status: Some(patchbay_store::CredentialStatus::Valid),
                after,
                ..CredentialFilter::default()
            },
        ),
    ];
    statements.extend(
        account_pages
            .into_iter()
            .map(|(name, searched_by, filter)| {
                let filter = CredentialFilter {
                    limit: Some(101),
                    ..filter
                };
                let query = HotQuery::Credentials {
                    project_id: p,
                    filter,
                };
                (format!("accounts, {name}"), query, Some(searched_by))
            }),
    );
    // Statements that are not pages: an index, whatever the order.
    let others = [
        (
            "a user",
            HotQuery::User {
                project_id: p,
                user_id: user.clone(),
            },
        ),
        (
            "an account by id",
            HotQuery::Credential {
                project_id: p,
                id: some_account,
            },
        ),
        (
            "a user's accounts",
            HotQuery::Credentials {
                project_id: p,
                filter: CredentialFilter {
                    user_id: Some(user.clone()),
                    ..CredentialFilter::default()
                },
            },
        ),
        (
            "Task History total, by user",
            HotQuery::ExecutionCount {
                project_id: p,
                filter: ExecutionFilter {
                    user_id: Some(user.clone()),
                    ..ExecutionFilter::default()
                },
            },
        ),
        (
            "refresh sweep",
            HotQuery::DueRefreshes {
                before: Utc::now(),
                limit: 200,
            },
        ),
        (
            "due jobs",
            HotQuery::DueJobs {
                kind: "workflow_run".to_owned(),
                limit: 16,
            },
        ),
        (
            "events after an id",
            HotQuery::UserEvents {
                project_id: p,
                user_id: user.clone(),
                after_seq: 0,
                limit: 100,
            },
        ),
    ];
    // A project's events after an id: read in order from an index, never sorted.
    statements.push((
        "a project's events after an id".to_owned(),
        HotQuery::ProjectEvents {
            project_id: p,
            after_seq: 0,
            limit: 100,
        },
        Some("project_id"),
    ));
    statements.extend(
        others
            .into_iter()
            .map(|(name, query)| (name.to_owned(), query, None)),
    );

    let backend = db.backend();
    for (name, query, searched_by) in &statements {
        let plan = bulk.explain(query).await.unwrap();
        assert!(!plan.is_empty(), "{name}: no plan");
        let text = plan.join("\n");
        assert!(
            !plan.iter().any(|line| scans(backend, line)),
            "{name} scans a table on a loaded database:\n{text}"
        );
        if let Some(column) = searched_by {
            assert!(
                !plan.iter().any(|line| sorts(backend, line)),
                "{name} sorts the runs it matched instead of reading them in order:\n{text}"
            );
            assert!(
                plan.iter().any(|line| searches(backend, line, column)),
                "{name} reads an index without searching it by {column}, filtering what \
                 it reads:\n{text}"
            );
        }
    }
}

backend_tests!(hot_path_statements_use_indexes_on_a_loaded_database);
