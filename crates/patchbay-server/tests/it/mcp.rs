//! The MCP server's rules on both backends, in the protocol's own JSON-RPC over HTTP (the
//! official SDK drives it too, in sdk/js/browser-test/mcp.test.js): what a token limited to
//! some accounts sees, who a call acts as, and what it leaves in Task History.

use patchbay_api::ExecutionStatus;
use patchbay_sdk::admin::ExecutionQuery;
use patchbay_server::sandbox::SandboxConfig;
use patchbay_test_support::{
    FakeProvider, TestDb, TestProject, TestServer, backend_tests, connect_another_crm,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

struct Agent {
    url: String,
    token: String,
}

impl Agent {
    async fn send(&self, method: &str, params: Value) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn tools(&self) -> Vec<String> {
        let (status, answer) = self.send("tools/list", json!({})).await;
        assert_eq!(status, 200, "{answer}");
        answer["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|tool| tool["name"].as_str().unwrap().to_owned())
            .collect()
    }

    /// A tool call's result: `(is_error, text, structured content)`.
    async fn call(&self, name: &str, arguments: Value) -> (bool, String, Value) {
        let (status, answer) = self
            .send("tools/call", json!({"name": name, "arguments": arguments}))
            .await;
        assert_eq!(status, 200, "{answer}");
        let result = &answer["result"];
        let text = result["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        (
            result["isError"].as_bool().unwrap(),
            text,
            result["structuredContent"].clone(),
        )
    }
}

struct Setup {
    _server: TestServer,
    _provider: FakeProvider,
    project: TestProject,
    url: String,
}

async fn setup(db: &TestDb) -> Setup {
    let server = TestServer::start(db).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let project = TestProject::with_config(&server, &provider.config_document()).await;
    let url = server.url(&format!("/projects/{}/mcp", project.id));
    Setup {
        _server: server,
        _provider: provider,
        project,
        url,
    }
}

impl Setup {
    fn agent(&self, permissions: Option<Map<String, Value>>) -> Agent {
        Agent {
            url: self.url.clone(),
            token: self
                .project
                .signer
                .mint_with("ada", Map::new(), permissions)
                .unwrap(),
        }
    }
}

fn account_ids(structured: &Value) -> Vec<Uuid> {
    structured["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|account| account["credentialId"].as_str().unwrap().parse().unwrap())
        .collect()
}

/// One account: calls act as it without naming it. Two: the call must name one, and each
/// named account acts as itself, recorded in Task History with its credential id.
async fn calls_act_as_the_only_account_or_the_one_named(db: TestDb) {
    let s = setup(&db).await;
    let agent = s.agent(None);
    assert_eq!(
        agent.tools().await,
        ["list_accounts"],
        "no account, no action"
    );
    let ada = connect_another_crm(&s.project.user("ada"), "acct_ada").await;
    assert!(
        agent
            .tools()
            .await
            .contains(&"SANDBOX_GET_ACCOUNT".to_owned())
    );

    let (is_error, _, me) = agent.call("SANDBOX_GET_ACCOUNT", json!({})).await;
    assert!(!is_error);
    assert_eq!(me["id"], "acct_ada");

    let grace = connect_another_crm(&s.project.user("ada"), "acct_grace").await;
    let (is_error, text, _) = agent.call("SANDBOX_GET_ACCOUNT", json!({})).await;
    assert!(is_error);
    assert!(
        text.contains(&format!("\"Ada Lovelace\" (credentialId {ada})")),
        "{text}"
    );
    assert!(
        text.contains(&format!("\"Grace Hopper\" (credentialId {grace})")),
        "{text}"
    );
    let (_, _, me) = agent
        .call(
            "SANDBOX_GET_ACCOUNT",
            json!({"credentialId": grace.to_string()}),
        )
        .await;
    assert_eq!(me["id"], "acct_grace");

    let runs = s
        .project
        .admin
        .executions(&ExecutionQuery {
            workflow_id: Some("SANDBOX_GET_ACCOUNT".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .data;
    let recorded: Vec<(Uuid, ExecutionStatus)> = runs
        .iter()
        .map(|run| (run.credential_id, run.status))
        .collect();
    assert_eq!(
        recorded,
        [
            (grace, ExecutionStatus::Succeeded),
            (ada, ExecutionStatus::Succeeded)
        ],
        "one run per call that acted, newest first; the refused call ran nothing"
    );
}

/// A token limited to one account sees only it: in list_accounts, and as the account a call
/// may act as.
async fn a_token_limited_to_one_account_sees_only_it(db: TestDb) {
    let s = setup(&db).await;
    let ada = connect_another_crm(&s.project.user("ada"), "acct_ada").await;
    let grace = connect_another_crm(&s.project.user("ada"), "acct_grace").await;
    let mut permissions = Map::new();
    permissions.insert(format!("credential:{grace}"), json!(true));
    let limited = s.agent(Some(permissions));

    let (_, _, listed) = limited.call("list_accounts", json!({})).await;
    assert_eq!(account_ids(&listed), [grace]);
    let (_, _, listed) = s.agent(None).call("list_accounts", json!({})).await;
    assert_eq!(account_ids(&listed), [ada, grace]);

    // With one visible account, a call needs no credentialId, and acts as that one.
    let (is_error, _, me) = limited.call("SANDBOX_GET_ACCOUNT", json!({})).await;
    assert!(!is_error);
    assert_eq!(me["id"], "acct_grace");
    let (is_error, text, _) = limited
        .call(
            "SANDBOX_GET_ACCOUNT",
            json!({"credentialId": ada.to_string()}),
        )
        .await;
    assert!(is_error);
    assert!(
        text.contains("No Sandbox CRM account with credentialId"),
        "{text}"
    );
    assert!(
        text.contains("Grace Hopper") && !text.contains("Ada Lovelace"),
        "{text}"
    );
}

/// Unknown tools and methods are protocol errors; arguments that do not fit are tool errors
/// the model can read; no token is the API's own 401.
async fn bad_calls_are_answered_in_the_protocol(db: TestDb) {
    let s = setup(&db).await;
    let agent = s.agent(None);
    connect_another_crm(&s.project.user("ada"), "acct_ada").await;
    let (status, answer) = agent
        .send("tools/call", json!({"name": "NOPE", "arguments": {}}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["error"]["code"], -32602, "{answer}");
    let (is_error, text, _) = agent
        .call("SANDBOX_CREATE_CONTACT", json!({"name": ""}))
        .await;
    assert!(is_error);
    assert!(text.contains("input/name"), "{text}");
    let (is_error, text, _) = agent
        .call("SANDBOX_GET_ACCOUNT", json!({"credentialId": 7}))
        .await;
    assert!(is_error);
    assert!(text.contains("credentialId must be a string"), "{text}");

    let anonymous = Agent {
        url: s.url.clone(),
        token: "not-a-token".to_owned(),
    };
    let (status, error) = anonymous.send("tools/list", json!({})).await;
    assert_eq!(status, 401);
    assert!(error["code"].is_string(), "the API's JSON error: {error}");
}

/// What the protocol's transport refuses comes back as the API's JSON errors, with their codes.
async fn refused_requests_are_the_apis_json_errors(db: TestDb) {
    let s = setup(&db).await;
    let token = s.agent(None).token;
    let client = reqwest::Client::new();
    let both = "application/json, text/event-stream";
    let cases = [
        (
            reqwest::Method::POST,
            "application/json",
            both,
            "{nope",
            400,
            "invalid_json",
        ),
        (
            reqwest::Method::POST,
            "text/plain",
            both,
            "{}",
            415,
            "unsupported_media_type",
        ),
        (
            reqwest::Method::POST,
            "application/json",
            "text/html",
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
            406,
            "not_acceptable",
        ),
        (
            reqwest::Method::GET,
            "application/json",
            both,
            "",
            405,
            "method_not_allowed",
        ),
        (
            reqwest::Method::DELETE,
            "application/json",
            both,
            "",
            405,
            "method_not_allowed",
        ),
    ];
    for (method, content_type, accept, body, status, code) in cases {
        let response = client
            .request(method.clone(), &s.url)
            .bearer_auth(&token)
            .header("content-type", content_type)
            .header("accept", accept)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            status,
            "{method} {content_type} {accept}"
        );
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["code"], code, "{error}");
        assert_eq!(error["status"], status);
    }
}

backend_tests!(
    refused_requests_are_the_apis_json_errors,
    calls_act_as_the_only_account_or_the_one_named,
    a_token_limited_to_one_account_sees_only_it,
    bad_calls_are_answered_in_the_protocol,
);
