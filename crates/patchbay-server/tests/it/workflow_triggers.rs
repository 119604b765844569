//! Schedules, `integration_enabled`, `http` and `condition` steps, and the
//! `task.failed` event of a failed run.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use patchbay_api::{ExecutionStatus, WorkflowExecution};
use patchbay_sdk::UserClient;
use patchbay_sdk::admin::ExecutionQuery;
use patchbay_server::sandbox::SandboxConfig;
use patchbay_test_support::{
    EchoUpstream, FakeProvider, TestDb, TestProject, TestServer, WebhookReceiver, backend_tests,
    connect_another_crm,
};
use serde_json::json;

fn workflows(echo: &EchoUpstream) -> String {
    format!(
        r#"
  - id: every-second
    integration: crm
    defaultEnabled: false
    trigger: {{type: schedule, cron: "* * * * * *"}}
    steps:
      - {{id: me, type: request, method: GET, path: /me}}
  - id: welcome
    integration: crm
    defaultEnabled: false
    trigger: {{type: integration_enabled}}
    steps:
      - {{id: hello, type: function, code: "return 'welcome ' + credential.providerId;"}}
  - id: fetch
    integration: crm
    defaultEnabled: true
    trigger: {{type: request}}
    steps:
      - {{id: call, type: http, method: POST, url: "{}/echo/any", body: {{sent: "{{{{ trigger.body.value }}}}"}}}}
      - id: size
        type: condition
        if: "trigger.body.value | length > 3"
        then:
          - {{id: long, type: response, status: 200, body: {{echoed: "{{{{ steps.call.output.body.sent }}}}", long: true}}}}
        else:
          - {{id: short, type: response, status: 200, body: {{echoed: "{{{{ steps.call.output.body.sent }}}}", long: false}}}}
  - id: broken
    integration: crm
    defaultEnabled: true
    trigger: {{type: request}}
    steps:
      - {{id: missing, type: request, method: GET, path: /contacts/does-not-exist}}
"#,
        echo.base_url
    )
}

struct Setup {
    server: TestServer,
    _provider: FakeProvider,
    _echo: EchoUpstream,
    project: TestProject,
    ada: UserClient,
}

async fn setup(db: &TestDb) -> Setup {
    let server = TestServer::start(db).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let echo = EchoUpstream::start().await;
    let document = format!("{}{}", provider.config_document(), workflows(&echo));
    let project = TestProject::with_config(&server, &document).await;
    let ada = project.user("ada");
    Setup {
        server,
        _provider: provider,
        _echo: echo,
        project,
        ada,
    }
}

async fn runs_of(project: &TestProject, workflow: &str) -> Vec<WorkflowExecution> {
    project
        .admin
        .executions(&ExecutionQuery {
            workflow_id: Some(workflow.into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .data
}

async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Two workers and schedulers on one database, as two replicas run them:
/// each occurrence runs once, only for the account that enabled the
/// schedule.
async fn schedules_run_once_per_occurrence_and_enabled_account(db: TestDb) {
    let s = setup(&db).await;
    let replica = s.server.state.engine.spawn_worker();
    let a = connect_another_crm(&s.ada, "acct_ada").await;
    connect_another_crm(&s.ada, "acct_grace").await;
    s.ada
        .enable_workflow("every-second", Some(&a.to_string()))
        .await
        .unwrap();
    let runs = eventually("three scheduled runs", async || {
        let runs = runs_of(&s.project, "every-second").await;
        (runs.len() >= 3).then_some(runs)
    })
    .await;
    assert!(runs.iter().all(|run| run.credential_id == a), "{runs:?}");
    let occurrences: HashSet<String> = runs
        .iter()
        .map(|run| run.trigger["scheduledAt"].to_string())
        .collect();
    assert_eq!(occurrences.len(), runs.len(), "an occurrence ran twice");
    replica.shutdown(Duration::from_secs(5)).await;
}

async fn enabling_a_workflow_runs_it_once(db: TestDb) {
    let s = setup(&db).await;
    let a = connect_another_crm(&s.ada, "acct_ada").await;
    let selection = a.to_string();
    assert!(runs_of(&s.project, "welcome").await.is_empty());
    s.ada
        .enable_workflow("welcome", Some(&selection))
        .await
        .unwrap();
    // Enabling what is enabled changes nothing.
    s.ada
        .enable_workflow("welcome", Some(&selection))
        .await
        .unwrap();
    let run = eventually("the welcome run", async || {
        let runs = runs_of(&s.project, "welcome").await;
        runs.into_iter()
            .find(|r| r.status == ExecutionStatus::Succeeded)
    })
    .await;
    assert_eq!(run.credential_id, a);
    assert_eq!(run.trigger["type"], "integration_enabled");
    let run = s.project.admin.execution(run.id).await.unwrap();
    assert_eq!(
        run.steps.unwrap()[0].output,
        Some(json!("welcome acct_ada"))
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(runs_of(&s.project, "welcome").await.len(), 1);

    s.ada
        .disable_workflow("welcome", Some(&selection))
        .await
        .unwrap();
    s.ada
        .enable_workflow("welcome", Some(&selection))
        .await
        .unwrap();
    assert_eq!(runs_of(&s.project, "welcome").await.len(), 2);
}

async fn http_steps_conditions_and_failed_runs(db: TestDb) {
    let s = setup(&db).await;
    let receiver = WebhookReceiver::start().await;
    s.project
        .admin
        .create_webhook_endpoint(&receiver.url, &["task.failed"])
        .await
        .unwrap();
    let a = connect_another_crm(&s.ada, "acct_ada").await;
    for (value, long) in [("abcdef", true), ("ab", false)] {
        let reply = s
            .ada
            .trigger_workflow("fetch", &json!({"value": value}), None)
            .await
            .unwrap();
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        assert_eq!(reply.body, json!({"echoed": value, "long": long}));
    }

    // No response step: queued, and it fails on its own.
    let accepted = s
        .ada
        .trigger_workflow("broken", &json!({}), None)
        .await
        .unwrap();
    assert_eq!(accepted.status, 202);
    let execution_id = accepted.body["executionId"].as_str().unwrap().to_owned();
    eventually("the broken run to end", async || {
        let runs = runs_of(&s.project, "broken").await;
        runs.into_iter()
            .find(|r| r.status != ExecutionStatus::Queued && r.status != ExecutionStatus::Running)
    })
    .await;
    let run = s
        .project
        .admin
        .execution(execution_id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(run.status, ExecutionStatus::Failed);
    assert!(run.error.as_deref().unwrap().contains("404"), "{run:?}");
    assert_eq!(
        run.steps.unwrap()[0].output.as_ref().unwrap()["status"],
        404
    );

    // The failure reaches the developer's webhook endpoint as `task.failed`.
    let delivered = eventually("the task.failed webhook", async || {
        receiver
            .accepted()
            .into_iter()
            .map(|hook| hook.json())
            .find(|body| body["type"] == "task.failed")
    })
    .await;
    let data = &delivered["data"];
    assert_eq!(data["executionId"], execution_id);
    assert_eq!(data["workflowId"], "broken");
    assert_eq!(data["credentialId"], a.to_string());
    assert!(data["error"].as_str().unwrap().contains("404"), "{data}");
}

backend_tests!(
    schedules_run_once_per_occurrence_and_enabled_account,
    enabling_a_workflow_runs_it_once,
    http_steps_conditions_and_failed_runs,
);
