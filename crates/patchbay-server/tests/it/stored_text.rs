//! What Patchbay stores of text it did not write: a NUL character (U+0000),
//! which PostgreSQL cannot hold, is refused in what clients send and
//! replaced in what providers send, identically on both backends; other
//! control characters are kept as they are; JSON numbers read back as they
//! were written; and Task History keeps none of
//! an account's secrets, by name or by value.

use patchbay_api::{ExecutionStatus, InstallRequest, WorkflowExecution};
use patchbay_sdk::{SigningAlgorithm, TokenSigner};
use patchbay_server::sandbox::SandboxConfig;
use patchbay_test_support::{
    ADMIN_TOKEN, FakeProvider, TestDb, TestProject, TestServer, backend_tests, connect_crm,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::http::{call, reply};
use crate::proxy_httpbin::Httpbin;

const LIST_CONTACTS: &str = r#"
  - id: contacts
    integration: crm
    defaultEnabled: true
    trigger: {type: request}
    steps:
      - {id: list, type: request, method: GET, path: /contacts}
      - {id: reply, type: response, status: 200, body: "{{ steps.list.output.body }}"}
"#;

async fn nul_in_what_clients_send_is_refused(db: TestDb) {
    let server = TestServer::start(&db).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let document = format!("{}{LIST_CONTACTS}", provider.config_document());
    let project = TestProject::with_config(&server, &document).await;
    let token = project.signer.mint("ada").unwrap();
    let pid = project.id;
    let sdk = |path: &str| server.url(&format!("/projects/{pid}/sdk{path}"));
    let admin = |path: &str| server.url(&format!("/api/v1/projects/{pid}{path}"));
    let nul = "a\u{0}b";

    // JSON bodies, naming the field.
    for (method, url, body, field) in [
        (
            Method::PATCH,
            sdk("/me"),
            json!({"meta": {"name": nul}}),
            "meta.name",
        ),
        (
            Method::POST,
            sdk("/integrations/crm/install"),
            json!({"externalId": nul}),
            "externalId",
        ),
        (
            Method::POST,
            sdk("/events/trigger"),
            json!({"name": nul, "payload": {}}),
            "name",
        ),
        (
            Method::POST,
            sdk("/triggers/contacts"),
            json!({"list": ["ok", nul]}),
            "body.list[1]",
        ),
    ] {
        let reply = call(method, &url, Some(&token), Some(body)).await;
        reply.assert_error(422, "validation_failed");
        assert_eq!(reply.body["meta"]["field"], field, "{url}");
    }
    let webhook = call(
        Method::POST,
        &admin("/webhook-endpoints"),
        Some(&project.secret_key),
        Some(json!({"url": format!("https://example.com/{nul}")})),
    )
    .await;
    webhook.assert_error(422, "validation_failed");
    let created = call(
        Method::POST,
        &server.url("/api/v1/projects"),
        Some(ADMIN_TOKEN),
        Some(json!({"name": nul})),
    )
    .await;
    created.assert_error(422, "validation_failed");

    // A configuration document, whose JSON spells the NUL as an escape.
    let document = reqwest::Client::new()
        .put(admin("/config"))
        .bearer_auth(&project.secret_key)
        .header("content-type", "application/json")
        .body(r#"{"settings": {"allowedOrigins": []}, "integrations": {}, "workflows": [], "x": "\u0000"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(reply(document).await.status.as_u16() / 100, 4);
    let document = reqwest::Client::new()
        .put(admin("/config"))
        .bearer_auth(&project.secret_key)
        .body("settings:\n  redactFields: [\"a\\0b\"]\nintegrations: {}\nworkflows: []\n")
        .send()
        .await
        .unwrap();
    reply(document).await.assert_error(422, "validation_failed");

    // Admin filters and path parameters.
    call(
        Method::GET,
        &admin("/task-history/workflow-executions?userId=a%00b"),
        Some(&project.secret_key),
        None,
    )
    .await
    .assert_error(400, "invalid_parameter");
    call(
        Method::GET,
        &admin("/users/a%00b"),
        Some(&project.secret_key),
        None,
    )
    .await
    .assert_error(400, "invalid_parameter");

    // Token claims.
    let signer = TokenSigner::new(pid, &project.private_key_pem, SigningAlgorithm::Es256)
        .unwrap()
        .with_kid(project.kid.clone());
    let bad_subject = signer.mint(nul).unwrap();
    call(Method::GET, &sdk("/me"), Some(&bad_subject), None)
        .await
        .assert_error(401, "unauthorized_malformed_token");
    let meta = json!({"Name": nul}).as_object().unwrap().clone();
    let bad_meta = signer.mint_with("grace", meta, None).unwrap();
    call(Method::GET, &sdk("/me"), Some(&bad_meta), None)
        .await
        .assert_error(401, "unauthorized_malformed_token");

    // Nothing above was stored: ada has no metadata and no account.
    let me = call(Method::GET, &sdk("/me"), Some(&token), None).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["meta"], json!({}));
    assert_eq!(me.body["integrations"]["crm"]["allCredentials"], json!([]));
}

async fn other_control_characters_are_kept_as_they_are(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let token = project.signer.mint("ada").unwrap();
    let me = server.url(&format!("/projects/{}/sdk/me", project.id));
    let text = "\u{1}\u{8}\t\n\r\u{1b}[0m\u{1f}\u{7f}\u{85}\u{2028}\u{fffe}";
    let meta = json!({"meta": {"note": text, "key\u{1}": 1}});
    let patched = call(Method::PATCH, &me, Some(&token), Some(meta)).await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    let read = call(Method::GET, &me, Some(&token), None).await;
    assert_eq!(read.body["meta"]["note"], text);
    assert_eq!(read.body["meta"]["key\u{1}"], 1);
}

/// The largest number a client can send is one PostgreSQL prints back as
/// 309 digits; the user object must still read, not answer 503 from then on.
async fn numbers_at_the_edge_of_json_read_back(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let token = project.signer.mint("ada").unwrap();
    let me = server.url(&format!("/projects/{}/sdk/me", project.id));
    let meta = json!({"meta": {"largest": f64::MAX, "tiny": 5e-324, "negative": f64::MIN}});
    let patched = call(Method::PATCH, &me, Some(&token), Some(meta.clone())).await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    let read = call(Method::GET, &me, Some(&token), None).await;
    assert_eq!(read.status, 200, "{:?}", read.body);
    assert_eq!(read.body["meta"], meta["meta"]);
}

/// A provider's answer with a NUL in it (a CRM record someone typed it
/// into) is the run's to use; Task History keeps it with U+FFFD, and the
/// run ends.
async fn nul_from_a_provider_is_replaced_and_the_run_ends(db: TestDb) {
    let server = TestServer::start(&db).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let document = format!("{}{LIST_CONTACTS}", provider.config_document());
    let project = TestProject::with_config(&server, &document).await;
    let ada = project.user("ada");
    connect_crm(&ada, &InstallRequest::default(), "acct_ada").await;
    let token = project.signer.mint("ada").unwrap();
    let created = reqwest::Client::new()
        .post(server.url(&format!("/projects/{}/sdk/proxy/crm/contacts", project.id)))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(r#"{"name": "Zero\u0000Cool"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16() / 100, 2);

    let answer = ada
        .trigger_workflow("contacts", &json!({}), None)
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    // The caller gets the provider's data as it was.
    assert!(answer.body.to_string().contains("Zero\\u0000Cool"));

    let run = last_run(&project).await;
    assert_eq!(run.status, ExecutionStatus::Succeeded, "{run:?}");
    let output = serde_json::to_string(&run.steps.unwrap()[0].output).unwrap();
    assert!(output.contains("Zero\u{FFFD}Cool"), "{output}");
    assert!(!output.contains("\\u0000"), "{output}");
}

/// A provider that echoes what it was sent puts the account's API key in
/// the answer; Task History must not keep it, nor the names the project
/// says are secret.
async fn task_history_keeps_no_secret_by_name_or_value(db: TestDb) {
    let server = TestServer::start(&db).await;
    let httpbin = Httpbin::start().await;
    // The key goes in a header of the project's own: httpbin echoes it as
    // an ordinary one, and only its value gives it away.
    let document = httpbin.config_document().replace(
        r#"inject: {header: Authorization, value: "Bearer {{ credentials.apiKey }}"}"#,
        r#"inject: {header: X-Tenant, value: "{{ credentials.apiKey }}"}"#,
    ) + r#"
settings:
  redactFields: [X-Internal-Ref]
workflows:
  - id: echo
    integration: bin
    defaultEnabled: true
    trigger: {type: request}
    steps:
      - {id: call, type: request, method: POST, path: /anything, headers: {X-Internal-Ref: ref-4477}, body: {note: "{{ trigger.body.note }}"}}
      - {id: reply, type: response, status: 200, body: {ok: true}}
"#;
    assert!(document.contains("X-Tenant"));
    let project = TestProject::with_config(&server, &document).await;
    let key = "tenant-key-9f8e7d6c";
    let (token, _) = project.connect_api_key("ada", "bin", key).await;
    let ada = project.user_with_token(token);
    // The caller may even send the key in the trigger: it is redacted too.
    let answer = ada
        .trigger_workflow("echo", &json!({"note": format!("mine is {key}")}), None)
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let run = last_run(&project).await;
    let stored = serde_json::to_string(&run).unwrap();
    let output: &Value = run.steps.as_ref().unwrap()[0].output.as_ref().unwrap();
    // httpbin did see both: the key as X-Tenant, the reference as a header.
    assert_eq!(output["body"]["headers"]["X-Tenant"], "[REDACTED]");
    assert_eq!(output["body"]["headers"]["X-Internal-Ref"], "[REDACTED]");
    assert!(!stored.contains(key), "{stored}");
    assert!(!stored.contains("ref-4477"), "{stored}");
    assert!(stored.contains("mine is [REDACTED]"), "{stored}");
}

/// The project's newest run, once it has ended (an inline run's end is
/// recorded just after its response is sent).
async fn last_run(project: &TestProject) -> WorkflowExecution {
    let page = project.admin.executions(&Default::default()).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let run = project.admin.execution(page.data[0].id).await.unwrap();
        if matches!(
            run.status,
            ExecutionStatus::Succeeded | ExecutionStatus::Failed
        ) {
            return run;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run did not end: {run:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

backend_tests!(
    nul_in_what_clients_send_is_refused,
    other_control_characters_are_kept_as_they_are,
    numbers_at_the_edge_of_json_read_back,
    nul_from_a_provider_is_replaced_and_the_run_ends,
    task_history_keeps_no_secret_by_name_or_value,
);
