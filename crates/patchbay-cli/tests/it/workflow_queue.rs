//! Queued workflow runs survive a SIGKILL and are shared by replicas: each
//! run completes once.

use std::time::{Duration, Instant};

use patchbay_api::{ExecutionStatus, InstallRequest};
use patchbay_sdk::admin::ExecutionQuery;
use patchbay_sdk::{AdminClient, Patchbay, UserClient};
use patchbay_server::sandbox::SandboxConfig;
use patchbay_test_support::{ADMIN_TOKEN, FakeProvider, TestDb, TestProject, connect_crm};
use serde_json::json;

use crate::binary::{Running, json_of, serve_command};

const RUNS: usize = 50;

/// `answer-then-work` answers at once, then works for 1.5 s. Each `tally` run
/// waits a little (so the queue is still full when the server is killed),
/// then creates one contact named after its event.
const WORKFLOW: &str = r#"
  - id: answer-then-work
    integration: crm
    defaultEnabled: true
    trigger: {type: request}
    steps:
      - {id: reply, type: response, status: 200, body: {accepted: true}}
      - {id: work, type: function, timeoutMs: 10000, code: "const end = Date.now() + 1500; while (Date.now() < end) {} return 'done';"}
  - id: slow
    integration: crm
    defaultEnabled: true
    trigger: {type: app_event, event: Slow}
    steps:
      - {id: work, type: function, timeoutMs: 10000, code: "const end = Date.now() + 5000; while (Date.now() < end) {} return 'done';"}
  - id: tally
    integration: crm
    defaultEnabled: true
    trigger: {type: app_event, event: Tick}
    steps:
      - {id: pause, type: function, code: "const end = Date.now() + 40; while (Date.now() < end) {} return null;"}
      - {id: create, type: request, method: POST, path: /contacts, body: {name: "run-{{ trigger.payload.n }}"}}
"#;

fn serve(db: &TestDb, dir: &std::path::Path) -> Running {
    serve_with(db, dir, &["--job-lease", "2"])
}

fn serve_with(db: &TestDb, dir: &std::path::Path, extra: &[&str]) -> Running {
    let mut command = serve_command(dir, db.url());
    command
        .args(["--refresh-interval", "3600"])
        .args(["--worker-concurrency", "2"])
        .args(extra)
        .env("PATCHBAY_ADMIN_TOKEN", ADMIN_TOKEN);
    Running::start(&mut command).unwrap()
}

async fn connected(project: &TestProject) -> UserClient {
    let ada = project.user("ada");
    connect_crm(&ada, &InstallRequest::default(), "acct_ada").await;
    ada
}

async fn fire(ada: &UserClient) {
    for n in 0..RUNS {
        let accepted = ada
            .app_event("Tick", json!({ "n": n }), None)
            .await
            .unwrap();
        assert_eq!(accepted.execution_ids.len(), 1);
    }
}

/// The runs of `tally` in Task History (every page), by status.
async fn runs(admin: &AdminClient) -> Vec<ExecutionStatus> {
    let mut statuses = Vec::new();
    let mut cursor = None;
    loop {
        let page = admin
            .executions(&ExecutionQuery {
                workflow_id: Some("tally".into()),
                cursor: cursor.take(),
                ..Default::default()
            })
            .await
            .unwrap();
        statuses.extend(page.data.iter().map(|run| run.status));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return statuses,
        }
    }
}

async fn wait_until(admin: &AdminClient, done: impl Fn(&[ExecutionStatus]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let statuses = runs(admin).await;
        if done(&statuses) {
            return;
        }
        assert!(Instant::now() < deadline, "runs stuck: {statuses:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn succeeded(statuses: &[ExecutionStatus]) -> usize {
    statuses
        .iter()
        .filter(|s| **s == ExecutionStatus::Succeeded)
        .count()
}

/// The contacts the runs created at the provider, by name.
async fn created(server: &Running, project: &TestProject) -> Vec<String> {
    let token = project.signer.mint("ada").unwrap();
    let contacts = json_of(
        reqwest::Client::new()
            .get(server.url(&format!("/projects/{}/sdk/proxy/crm/contacts", project.id)))
            .bearer_auth(token),
    )
    .await;
    // Paragon's wrapper: the provider's list is in `output`.
    let mut names: Vec<String> = contacts["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .filter(|name| name.starts_with("run-"))
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

fn expected_names() -> Vec<String> {
    let mut names: Vec<String> = (0..RUNS).map(|n| format!("run-{n}")).collect();
    names.sort();
    names
}

/// The admin API of `project` on `server`.
fn admin(server: &Running, project: &TestProject) -> AdminClient {
    Patchbay::new(server.base_url.clone()).admin(project.id, project.secret_key.clone())
}

/// 50 queued runs, a SIGKILL while they drain, a restart: every run ends
/// `SUCCEEDED` once, and the provider holds exactly one contact per run.
#[tokio::test]
async fn sigkill_with_queued_runs_loses_and_repeats_nothing() {
    let db = TestDb::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let mut server = serve(&db, dir.path());
    let document = format!("{}{WORKFLOW}", provider.config_document());
    let project = TestProject::at(&server.base_url, &document).await;
    let ada = connected(&project).await;
    fire(&ada).await;
    wait_until(&admin(&server, &project), |statuses| {
        succeeded(statuses) >= 3
    })
    .await;
    server.signal("KILL");
    server.wait(Duration::from_secs(5));

    let server = serve(&db, dir.path());
    let admin = admin(&server, &project);
    wait_until(&admin, |statuses| succeeded(statuses) == RUNS).await;
    assert_eq!(runs(&admin).await.len(), RUNS, "one record per run");
    assert_eq!(created(&server, &project).await, expected_names());
}

/// Two replicas on one PostgreSQL database drain one queue: every run
/// executes exactly once (one call each at the provider).
#[tokio::test]
async fn two_replicas_run_each_queued_run_once() {
    let db = TestDb::postgres().await;
    let dir = tempfile::tempdir().unwrap();
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let one = serve(&db, dir.path());
    let two = serve(&db, dir.path());
    let document = format!("{}{WORKFLOW}", provider.config_document());
    let project = TestProject::at(&one.base_url, &document).await;
    let ada = connected(&project).await;
    let calls = || {
        provider
            .sandbox
            .stats()
            .api_requests
            .get("acct_ada")
            .copied()
            .unwrap_or(0)
    };
    let before = calls();
    fire(&ada).await;
    wait_until(&admin(&two, &project), |statuses| {
        succeeded(statuses) == RUNS
    })
    .await;
    assert_eq!(calls() - before, RUNS as u64, "one provider call per run");
    assert_eq!(created(&one, &project).await, expected_names());
}

/// A request-trigger run killed after it answered, during the steps after
/// its `response`: another server finishes it once the lease lapses.
#[tokio::test]
async fn a_run_cut_off_after_its_response_is_finished_after_restart() {
    let db = TestDb::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let mut server = serve(&db, dir.path());
    let document = format!("{}{WORKFLOW}", provider.config_document());
    let project = TestProject::at(&server.base_url, &document).await;
    let ada = connected(&project).await;
    let reply = ada
        .trigger_workflow("answer-then-work", &json!({}), None)
        .await
        .unwrap();
    assert_eq!(reply.body, json!({"accepted": true}));
    server.signal("KILL");
    server.wait(Duration::from_secs(5));

    let server = serve(&db, dir.path());
    let admin = admin(&server, &project);
    let query = ExecutionQuery {
        workflow_id: Some("answer-then-work".into()),
        ..Default::default()
    };
    let page = admin.executions(&query).await.unwrap();
    assert_eq!(page.data.len(), 1);
    assert_eq!(page.data[0].status, ExecutionStatus::Running);
    let deadline = Instant::now() + Duration::from_secs(15);
    let run = loop {
        let run = admin.execution(page.data[0].id).await.unwrap();
        if run.status != ExecutionStatus::Running {
            break run;
        }
        assert!(Instant::now() < deadline, "the run never finished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(run.status, ExecutionStatus::Succeeded, "{run:?}");
    let steps = run.steps.unwrap();
    assert_eq!(steps.last().unwrap().output, Some(json!("done")));
}

/// SIGTERM while runs are in flight: the server waits `--shutdown-grace`,
/// hands back what it still holds, and exits; the next start runs those at
/// once rather than after the (long) lease.
#[tokio::test]
async fn graceful_shutdown_hands_unfinished_runs_back() {
    let db = TestDb::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let flags = ["--job-lease", "120", "--shutdown-grace", "1"];
    let mut server = serve_with(&db, dir.path(), &flags);
    let document = format!("{}{WORKFLOW}", provider.config_document());
    let project = TestProject::at(&server.base_url, &document).await;
    let ada = connected(&project).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let accepted = ada.app_event("Slow", json!({}), None).await.unwrap();
        ids.extend(accepted.execution_ids);
    }
    let admin_one = admin(&server, &project);
    let deadline = Instant::now() + Duration::from_secs(5);
    while admin_one.execution(ids[1]).await.unwrap().status != ExecutionStatus::Running {
        assert!(Instant::now() < deadline, "the runs never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stopping = Instant::now();
    server.signal("TERM");
    assert!(server.wait(Duration::from_secs(10)).success());
    assert!(
        stopping.elapsed() < Duration::from_secs(3),
        "waited past the grace"
    );

    let server = serve_with(&db, dir.path(), &flags);
    let admin = admin(&server, &project);
    let deadline = Instant::now() + Duration::from_secs(20);
    for id in ids {
        loop {
            let run = admin.execution(id).await.unwrap();
            if run.status == ExecutionStatus::Succeeded {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "run {id} was not run again: {run:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
