//! Workflows (docs/api.md): each run acts as exactly one account and is recorded
//! in Task History with it.

use std::time::{Duration, Instant};

use patchbay_api::{ExecutionStatus, StepStatus, WorkflowExecution};
use patchbay_sdk::admin::ExecutionQuery;
use patchbay_sdk::{Error, UserClient};
use patchbay_server::sandbox::SandboxConfig;
use patchbay_test_support::{
    FakeProvider, TestDb, TestProject, TestServer, backend_tests, connect_another_crm,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// Workflows appended to the fake provider's document (its `workflows:` list
/// comes last).
const WORKFLOWS: &str = r#"
  - id: whoami
    integration: crm
    defaultEnabled: true
    trigger: {type: request}
    steps:
      - {id: me, type: request, method: GET, path: /me}
      - id: greet
        type: function
        code: "return { greeting: 'hello ' + steps.me.output.body.name, asked: trigger.body.who };"
      - id: reply
        type: response
        status: 201
        headers: {x-run: "{{ credential.id }}"}
        body: {account: "{{ steps.me.output.body.id }}", greeting: "{{ steps.greet.output.greeting }}", asked: "{{ steps.greet.output.asked }}"}
  - id: background
    integration: crm
    defaultEnabled: true
    trigger: {type: request}
    steps:
      - {id: create, type: request, method: POST, path: /contacts, body: {name: "{{ trigger.body.name }}"}}
  - id: spin
    integration: crm
    defaultEnabled: true
    trigger: {type: request}
    steps:
      - {id: loop, type: function, code: "while (true) {}"}
      - {id: reply, type: response, status: 200, body: {unreachable: true}}
  - id: hog
    integration: crm
    defaultEnabled: true
    trigger: {type: request}
    steps:
      - {id: grow, type: function, code: "const a = []; while (true) { a.push(new Array(1024 * 1024).fill(7)); }"}
      - {id: reply, type: response, status: 200, body: {unreachable: true}}
  - id: ping
    integration: crm
    defaultEnabled: true
    trigger: {type: app_event, event: Ping}
    steps:
      - {id: pong, type: function, code: "return trigger.payload.n;"}
  - id: gigabyte
    integration: crm
    defaultEnabled: true
    trigger: {type: request}
    steps:
      - {id: grab, type: function, code: "const buffer = new ArrayBuffer(1024 * 1024 * 1024); return buffer.byteLength;"}
      - {id: reply, type: response, status: 200, body: {unreachable: true}}
  - id: on-contact
    integration: crm
    defaultEnabled: false
    trigger: {type: app_event, event: Contact Created}
    steps:
      - {id: create, type: request, method: POST, path: /contacts, body: {name: "{{ trigger.payload.name }}"}}
      - id: each
        type: foreach
        items: "trigger.payload.tags"
        concurrency: 2
        steps:
          - {id: shout, type: function, code: "return item.toUpperCase();"}
"#;

struct Setup {
    server: TestServer,
    provider: FakeProvider,
    project: TestProject,
    ada: UserClient,
}

async fn setup(db: &TestDb) -> Setup {
    let server = TestServer::start(db).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let document = format!("{}{WORKFLOWS}", provider.config_document());
    let project = TestProject::with_config(&server, &document).await;
    let ada = project.user("ada");
    Setup {
        server,
        provider,
        project,
        ada,
    }
}

/// Authenticated API calls the fake provider has served for an account.
pub(crate) fn calls(provider: &FakeProvider, account: &str) -> u64 {
    provider
        .sandbox
        .stats()
        .api_requests
        .get(account)
        .copied()
        .unwrap_or(0)
}

fn api_code(result: Result<impl std::fmt::Debug, Error>) -> (u16, String) {
    match result {
        Err(Error::Api { body }) => (body.status, body.code),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Waits until the run has ended.
pub(crate) async fn finished(project: &TestProject, id: Uuid) -> WorkflowExecution {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let run = project.admin.execution(id).await.unwrap();
        if matches!(
            run.status,
            ExecutionStatus::Succeeded | ExecutionStatus::Failed
        ) {
            return run;
        }
        assert!(Instant::now() < deadline, "run {id} never ended: {run:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn each_account_runs_as_itself(db: TestDb) {
    let s = setup(&db).await;
    let a = connect_another_crm(&s.ada, "acct_ada").await;
    let b = connect_another_crm(&s.ada, "acct_grace").await;
    let body = json!({"who": "tester"});
    let (before_a, before_b) = (
        calls(&s.provider, "acct_ada"),
        calls(&s.provider, "acct_grace"),
    );

    let for_a = s
        .ada
        .trigger_workflow("whoami", &body, Some(&a.to_string()))
        .await
        .unwrap();
    assert_eq!(for_a.status, 201, "{:?}", for_a.body);
    assert_eq!(
        for_a.body,
        json!({"account": "acct_ada", "greeting": "hello Ada Lovelace", "asked": "tester"})
    );
    let for_b = s
        .ada
        .trigger_workflow("whoami", &body, Some(&b.to_string()))
        .await
        .unwrap();
    assert_eq!(for_b.body["account"], "acct_grace");
    assert_eq!(calls(&s.provider, "acct_ada"), before_a + 1);
    assert_eq!(calls(&s.provider, "acct_grace"), before_b + 1);

    // Task History: one run per account, every step with its status and time.
    let page = s
        .project
        .admin
        .executions(&ExecutionQuery {
            workflow_id: Some("whoami".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.data.len(), 2);
    assert_eq!(page.next_cursor, None);
    let mut credentials: Vec<Uuid> = page.data.iter().map(|r| r.credential_id).collect();
    credentials.sort();
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(credentials, expected);
    for listed in &page.data {
        let run = finished(&s.project, listed.id).await;
        assert_eq!(run.status, ExecutionStatus::Succeeded, "{run:?}");
        assert_eq!(run.user_id, "ada");
        assert!(run.run_duration.is_some());
        let steps = run.steps.unwrap();
        let ids: Vec<&str> = steps.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["me", "greet", "reply"]);
        for step in &steps {
            assert_eq!(step.status, StepStatus::Succeeded, "{step:?}");
            assert!(step.duration_ms.is_some_and(|ms| ms >= 0));
        }
        let text = serde_json::to_string(&steps).unwrap();
        assert!(
            !text.to_lowercase().contains("bearer"),
            "no token in history: {text}"
        );
    }
    let only_b = s
        .project
        .admin
        .executions(&ExecutionQuery {
            credential_id: Some(b.to_string()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(only_b.data.len(), 1);
    assert_eq!(only_b.data[0].credential_id, b);
}

async fn disabled_unknown_and_background_runs(db: TestDb) {
    let s = setup(&db).await;
    let a = connect_another_crm(&s.ada, "acct_ada").await;
    let selection = a.to_string();
    s.ada
        .disable_workflow("whoami", Some(&selection))
        .await
        .unwrap();
    assert_eq!(
        api_code(
            s.ada
                .trigger_workflow("whoami", &json!({}), Some(&selection))
                .await
        ),
        (400, "workflow_not_enabled".into())
    );
    assert_eq!(
        api_code(s.ada.trigger_workflow("nope", &json!({}), None).await),
        (404, "workflow_not_found".into())
    );
    assert_eq!(
        api_code(s.ada.trigger_workflow("on-contact", &json!({}), None).await),
        (400, "workflow_trigger_mismatch".into())
    );

    // No response step: 202 at once, and the run finishes on its own.
    let accepted = s
        .ada
        .trigger_workflow("background", &json!({"name": "Queued Person"}), None)
        .await
        .unwrap();
    assert_eq!(accepted.status, 202);
    let id: Uuid = serde_json::from_value(accepted.body["executionId"].clone()).unwrap();
    let run = finished(&s.project, id).await;
    assert_eq!(run.status, ExecutionStatus::Succeeded, "{run:?}");
    assert_eq!(run.credential_id, a);
    let output = &run.steps.unwrap()[0].output;
    assert_eq!(output.as_ref().unwrap()["body"]["name"], "Queued Person");

    let metrics = s.server.metrics().await;
    assert!(
        metrics.contains("patchbay_workflow_runs_total{status=\"SUCCEEDED\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("patchbay_workflow_queue_depth 0"),
        "{metrics}"
    );
}

async fn runaway_functions_fail_within_their_limits(db: TestDb) {
    let s = setup(&db).await;
    connect_another_crm(&s.ada, "acct_ada").await;
    for (workflow, expected) in [
        ("spin", "longer than its limit"),
        ("hog", "memory limit"),
        ("gigabyte", "memory limit"),
    ] {
        let started = Instant::now();
        let (status, code) = api_code(s.ada.trigger_workflow(workflow, &json!({}), None).await);
        assert_eq!(
            (status, code.as_str()),
            (502, "workflow_failed"),
            "{workflow}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{workflow} took {:?}",
            started.elapsed()
        );
        let page = s
            .project
            .admin
            .executions(&ExecutionQuery {
                workflow_id: Some(workflow.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let run = finished(&s.project, page.data[0].id).await;
        assert_eq!(run.status, ExecutionStatus::Failed);
        let error = run.error.unwrap();
        assert!(error.contains(expected), "{workflow}: {error}");
        assert_eq!(run.steps.unwrap()[0].status, StepStatus::Failed);
    }
    // The server still serves.
    assert!(s.ada.me().await.is_ok());
}

async fn app_events_run_once_per_enabled_account(db: TestDb) {
    let s = setup(&db).await;
    let a = connect_another_crm(&s.ada, "acct_ada").await;
    connect_another_crm(&s.ada, "acct_grace").await;
    let c = connect_another_crm(&s.ada, "acct_katherine").await;
    for enabled in [a, c] {
        s.ada
            .enable_workflow("on-contact", Some(&enabled.to_string()))
            .await
            .unwrap();
    }
    let (before_a, before_b, before_c) = (
        calls(&s.provider, "acct_ada"),
        calls(&s.provider, "acct_grace"),
        calls(&s.provider, "acct_katherine"),
    );
    let payload = json!({"name": "Evented", "tags": ["x", "y", "z"]});
    let accepted = s
        .ada
        .app_event("Contact Created", payload.clone(), None)
        .await
        .unwrap();
    assert_eq!(accepted.execution_ids.len(), 2);
    let mut ran_for = Vec::new();
    for id in accepted.execution_ids {
        let run = finished(&s.project, id).await;
        assert_eq!(run.status, ExecutionStatus::Succeeded, "{run:?}");
        let steps = run.steps.unwrap();
        let shouted: Vec<&Value> = steps
            .iter()
            .filter(|s| s.id.ends_with(".shout"))
            .filter_map(|s| s.output.as_ref())
            .collect();
        assert_eq!(shouted.len(), 3);
        ran_for.push(run.credential_id);
    }
    ran_for.sort();
    let mut expected = vec![a, c];
    expected.sort();
    assert_eq!(ran_for, expected);
    assert_eq!(calls(&s.provider, "acct_ada"), before_a + 1);
    assert_eq!(
        calls(&s.provider, "acct_grace"),
        before_b,
        "disabled: no run"
    );
    assert_eq!(calls(&s.provider, "acct_katherine"), before_c + 1);

    // Only the selected account, when one is named.
    let accepted = s
        .ada
        .app_event("Contact Created", payload, Some(&c.to_string()))
        .await
        .unwrap();
    assert_eq!(accepted.execution_ids.len(), 1);
    assert_eq!(
        finished(&s.project, accepted.execution_ids[0])
            .await
            .credential_id,
        c
    );
}

async fn task_history_pages_and_bad_filters(db: TestDb) {
    let s = setup(&db).await;
    connect_another_crm(&s.ada, "acct_ada").await;
    let mut ids = Vec::new();
    for n in 0..101 {
        let accepted = s
            .ada
            .app_event("Ping", json!({"n": n}), None)
            .await
            .unwrap();
        ids.extend(accepted.execution_ids);
    }
    assert_eq!(ids.len(), 101);
    let query = ExecutionQuery {
        workflow_id: Some("ping".into()),
        ..Default::default()
    };
    let first = s.project.admin.executions(&query).await.unwrap();
    assert_eq!(first.data.len(), 100);
    let cursor = first.next_cursor.clone().expect("a second page");
    let second = s
        .project
        .admin
        .executions(&ExecutionQuery {
            cursor: Some(cursor),
            ..query.clone()
        })
        .await
        .unwrap();
    assert_eq!(second.data.len(), 1);
    assert_eq!(second.next_cursor, None);
    let mut listed: Vec<Uuid> = first
        .data
        .iter()
        .chain(&second.data)
        .map(|r| r.id)
        .collect();
    listed.sort();
    ids.sort();
    assert_eq!(listed, ids, "every run exactly once across the pages");

    for bad in [
        ExecutionQuery {
            status: Some("DONE".into()),
            ..Default::default()
        },
        ExecutionQuery {
            cursor: Some("garbage".into()),
            ..Default::default()
        },
        ExecutionQuery {
            credential_id: Some("not-a-uuid".into()),
            ..Default::default()
        },
        ExecutionQuery {
            after_date: Some("yesterday".into()),
            ..Default::default()
        },
    ] {
        assert_eq!(
            api_code(s.project.admin.executions(&bad).await),
            (400, "invalid_parameter".into()),
            "{bad:?}"
        );
    }
    let unknown_integration = ExecutionQuery {
        integration: Some("nope".into()),
        ..Default::default()
    };
    assert_eq!(
        api_code(s.project.admin.executions(&unknown_integration).await),
        (404, "integration_not_found".into())
    );
    assert_eq!(
        api_code(s.project.admin.execution(Uuid::new_v4()).await),
        (404, "execution_not_found".into())
    );
    // Another project sees none of these runs.
    let other = TestProject::with_config(&s.server, &s.provider.config_document()).await;
    assert_eq!(
        api_code(other.admin.execution(ids[0]).await),
        (404, "execution_not_found".into())
    );
    assert!(
        other
            .admin
            .executions(&query)
            .await
            .unwrap()
            .data
            .is_empty()
    );
}

/// Paragon's SDK sends app events to `/v2/projects/{id}/sdk/events/trigger`:
/// the same operation, and `X-Paragon-Credential` picks the one account.
async fn app_events_on_paragons_v2_path_honour_the_selection(db: TestDb) {
    let s = setup(&db).await;
    let a = connect_another_crm(&s.ada, "acct_ada").await;
    let c = connect_another_crm(&s.ada, "acct_katherine").await;
    for enabled in [a, c] {
        s.ada
            .enable_workflow("on-contact", Some(&enabled.to_string()))
            .await
            .unwrap();
    }
    let url = s
        .server
        .url(&format!("/v2/projects/{}/sdk/events/trigger", s.project.id));
    let token = s.project.signer.mint("ada").unwrap();
    let send = |selection: Option<String>| {
        let mut request = reqwest::Client::new()
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({"name": "Contact Created", "payload": {"name": "V2", "tags": []}}));
        if let Some(selection) = selection {
            request = request.header("X-Paragon-Credential", selection);
        }
        request.send()
    };
    let response = send(Some(c.to_string())).await.unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let ids = body["executionIds"].as_array().unwrap();
    assert_eq!(ids.len(), 1, "{body}");
    let id: Uuid = ids[0].as_str().unwrap().parse().unwrap();
    assert_eq!(finished(&s.project, id).await.credential_id, c);

    let all: Value = send(None).await.unwrap().json().await.unwrap();
    assert_eq!(all["executionIds"].as_array().unwrap().len(), 2, "{all}");

    let unknown = send(Some(Uuid::new_v4().to_string())).await.unwrap();
    assert_eq!(unknown.status(), 404);
    let error: Value = unknown.json().await.unwrap();
    assert_eq!(error["code"], "credential_not_found");
}

/// Paragon's Task History API, called as its documentation writes it: the
/// project secret key, `{workflowExecutions, nextLink, total}`, pages of 100,
/// dates without a zone, Paragon's statuses, `sortBy` and `offset`.
async fn task_history_on_paragons_wire(db: TestDb) {
    let s = setup(&db).await;
    let credential = connect_another_crm(&s.ada, "acct_ada").await;
    let before_runs = chrono::Utc::now() - chrono::Duration::seconds(2);
    let mut ids = Vec::new();
    for n in 0..101 {
        let accepted = s
            .ada
            .app_event("Ping", json!({"n": n}), None)
            .await
            .unwrap();
        ids.extend(accepted.execution_ids);
    }
    let after_runs = chrono::Utc::now() + chrono::Duration::seconds(2);
    let base = s.server.url(&format!(
        "/projects/{}/task-history/workflow-executions",
        s.project.id
    ));
    let http = reqwest::Client::new();
    let get = |url: String, key: Option<&str>| {
        let mut request = http.get(url);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let key = Some(s.project.secret_key.as_str());
    // As Paragon writes dates: ISO 8601 without a zone, read as UTC.
    let no_zone = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%dT%H:%M:%S").to_string();
    let window = format!(
        "integration=crm&workflowId=ping&afterDate={}&beforeDate={}",
        no_zone(before_runs),
        no_zone(after_runs)
    );
    // Every run succeeds soon; SUCCEEDED filters on Paragon's status names.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, page) = get(format!("{base}?{window}&status=SUCCEEDED"), key).await;
        assert_eq!(status, 200, "{page}");
        if page["total"] == 101 {
            break;
        }
        assert!(Instant::now() < deadline, "runs still unfinished: {page}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, first) = get(format!("{base}?{window}&status=SUCCEEDED"), key).await;
    let runs = first["workflowExecutions"].as_array().unwrap();
    assert_eq!(runs.len(), 100);
    let run = &runs[0];
    for field in [
        "id",
        "userId",
        "workflowId",
        "status",
        "taskCount",
        "runDuration",
        "dateStarted",
        "dateEnded",
        "credentialId",
    ] {
        assert!(!run[field].is_null(), "{field} missing from {run}");
    }
    assert_eq!(run["userId"], "ada");
    assert_eq!(run["workflowId"], "ping");
    assert_eq!(run["status"], "SUCCEEDED");
    assert_eq!(run["taskCount"], 1, "ping has one step");
    assert_eq!(run["credentialId"], credential.to_string());
    let next = first["nextLink"].as_str().expect("a second page");
    assert!(
        next.starts_with(&base) && next.contains("afterDate=") && next.contains("status=SUCCEEDED"),
        "the next page keeps the filters: {next}"
    );
    let (status, second) = get(next.to_owned(), key).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["workflowExecutions"].as_array().unwrap().len(), 1);
    assert_eq!(second["nextLink"], Value::Null);
    assert_eq!(second["total"], 101);
    let listed = |page: &Value| -> Vec<String> {
        page["workflowExecutions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|run| run["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut all: Vec<String> = listed(&first).into_iter().chain(listed(&second)).collect();
    all.sort();
    let mut expected: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    expected.sort();
    assert_eq!(all, expected, "every run exactly once across the pages");

    // Newest first by default; sortBy=ASC reverses, offset skips.
    let (_, oldest) = get(format!("{base}?{window}&sortBy=ASC&offset=99"), key).await;
    let newest = listed(&first);
    assert_eq!(oldest["workflowExecutions"].as_array().unwrap().len(), 2);
    assert_eq!(listed(&oldest)[1], newest[0], "the newest run comes last");
    // A window after the runs (no zone, so UTC) holds none of them; a date
    // alone is midnight UTC.
    let (_, later) = get(
        format!("{base}?workflowId=ping&afterDate={}", no_zone(after_runs)),
        key,
    )
    .await;
    assert_eq!(
        (later["total"].clone(), later["nextLink"].clone()),
        (json!(0), Value::Null)
    );
    let (_, today) = get(
        format!(
            "{base}?workflowId=ping&afterDate={}&credentialId={credential}&userId=ada",
            before_runs.format("%Y-%m-%d")
        ),
        key,
    )
    .await;
    assert_eq!(today["total"], 101);
    // The /api/v1 form takes the same dates.
    let v1 = s
        .project
        .admin
        .executions(&ExecutionQuery {
            workflow_id: Some("ping".into()),
            after_date: Some(no_zone(after_runs)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(v1.data.is_empty());

    for bad in [
        "afterDate=yesterday",
        "beforeDate=2023-02-30T00:00:00",
        "status=DONE",
        "sortBy=UP",
        "offset=-1",
        "cursor=garbage",
        "credentialId=not-a-uuid",
    ] {
        let (status, error) = get(format!("{base}?{bad}"), key).await;
        assert_eq!(
            (status, error["code"].clone()),
            (400, json!("invalid_parameter")),
            "{bad}: {error}"
        );
    }
    let (status, error) = get(format!("{base}?integration={}", Uuid::new_v4()), key).await;
    assert_eq!(
        (status, error["code"].clone()),
        (404, json!("integration_not_found"))
    );
    let (status, error) = get(base.clone(), None).await;
    assert_eq!(
        (status, error["code"].clone()),
        (401, json!("unauthorized_missing_token"))
    );
    // Another project's key sees nothing of this one, not even that it exists.
    let other = TestProject::with_config(&s.server, &s.provider.config_document()).await;
    let (status, error) = get(base.clone(), Some(other.secret_key.as_str())).await;
    assert_eq!(
        (status, error["code"].clone()),
        (404, json!("project_not_found"))
    );
}

backend_tests!(
    task_history_pages_and_bad_filters,
    task_history_on_paragons_wire,
    each_account_runs_as_itself,
    disabled_unknown_and_background_runs,
    runaway_functions_fail_within_their_limits,
    app_events_run_once_per_enabled_account,
    app_events_on_paragons_v2_path_honour_the_selection,
);
