//! The ActionKit-compatible API: the sandbox integration's typed actions listed as tools and
//! run as exactly the account selected, through the proxy's refresh rules, into Task History.

use patchbay_api::{ExecutionStatus, WorkflowExecution};
use patchbay_sdk::admin::ExecutionQuery;
use patchbay_server::sandbox::{FailureKind, FailureMode, FailureTarget, SandboxConfig};
use patchbay_test_support::{
    FakeProvider, TestDb, TestProject, TestServer, backend_tests, connect_another_crm,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

struct Setup {
    server: TestServer,
    provider: FakeProvider,
    project: TestProject,
}

async fn setup(db: &TestDb) -> Setup {
    let server = TestServer::start(db).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let project = TestProject::with_config(&server, &provider.config_document()).await;
    Setup {
        server,
        provider,
        project,
    }
}

impl Setup {
    fn url(&self, path: &str) -> String {
        self.server
            .url(&format!("/projects/{}/{path}", self.project.id))
    }

    async fn list(&self, token: &str, path: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn run(&self, token: &str, credential: Option<Uuid>, body: Value) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .post(self.url("tools"))
            .bearer_auth(token)
            .json(&body);
        if let Some(credential) = credential {
            request = request.header("X-Paragon-Credential", credential.to_string());
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn runs_of(&self, action: &str) -> Vec<WorkflowExecution> {
        self.project
            .admin
            .executions(&ExecutionQuery {
                workflow_id: Some(action.into()),
                ..Default::default()
            })
            .await
            .unwrap()
            .data
    }
}

fn names(tools: &Value) -> Vec<&str> {
    tools
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["function"]["name"].as_str().unwrap())
        .collect()
}

/// Tools are listed for the integrations the user has accounts of, with their schemas, under
/// both names of the route.
async fn tools_are_the_actions_of_connected_integrations(db: TestDb) {
    let s = setup(&db).await;
    let token = s.project.signer.mint("ada").unwrap();
    assert_eq!(s.list(&token, "tools").await, (200, json!({"tools": {}})));
    connect_another_crm(&s.project.user("ada"), "acct_ada").await;

    let (status, listed) = s.list(&token, "tools").await;
    assert_eq!(status, 200, "{listed}");
    let crm = &listed["tools"]["crm"];
    assert_eq!(
        names(crm),
        [
            "SANDBOX_GET_ACCOUNT",
            "SANDBOX_LIST_CONTACTS",
            "SANDBOX_GET_CONTACT",
            "SANDBOX_CREATE_CONTACT",
            "SANDBOX_UPDATE_CONTACT",
            "SANDBOX_DELETE_CONTACT"
        ]
    );
    let create = &crm[3];
    assert_eq!(create["type"], "function");
    assert_eq!(
        create["function"]["parameters"]["required"],
        json!(["name"])
    );
    assert_eq!(
        listed["tools"].as_object().unwrap().len(),
        1,
        "no tools of integrations without accounts"
    );

    let (status, legacy) = s.list(&token, "actions?format=json_schema").await;
    assert_eq!(status, 200);
    assert_eq!(legacy["actions"], listed["tools"]);
    let (status, error) = s.list(&token, "tools?format=paragon").await;
    assert_eq!(
        (status, error["code"].as_str()),
        (400, Some("invalid_parameter"))
    );
    let (status, error) = s.list("not-a-token", "tools").await;
    assert_eq!(status, 401, "{error}");
}

/// The same action run as each of two accounts of one integration reads each account's own
/// data; without a selection the default account acts; each run is in Task History.
async fn an_action_runs_as_exactly_the_selected_account(db: TestDb) {
    let s = setup(&db).await;
    let ada = s.project.user("ada");
    let first = connect_another_crm(&ada, "acct_ada").await;
    let second = connect_another_crm(&ada, "acct_grace").await;
    let token = s.project.signer.mint("ada").unwrap();
    let list = json!({"tool": "SANDBOX_LIST_CONTACTS"});

    let (status, as_first) = s.run(&token, Some(first), list.clone()).await;
    assert_eq!(status, 200, "{as_first}");
    let contact_names = |answer: &Value| -> Vec<String> {
        answer["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        contact_names(&as_first),
        ["Charles Babbage", "Mary Somerville"]
    );
    let (_, as_second) = s.run(&token, Some(second), list.clone()).await;
    assert_eq!(contact_names(&as_second), ["Howard Aiken", "Jean Sammet"]);
    let (_, by_default) = s.run(&token, None, list).await;
    assert_eq!(
        by_default, as_first,
        "the default account is the oldest valid one"
    );

    // The earlier name of the route and of the field.
    let created = reqwest::Client::new()
        .post(s.url("actions"))
        .bearer_auth(&token)
        .header("X-Paragon-Credential", second.to_string())
        .json(&json!({"action": "SANDBOX_CREATE_CONTACT", "parameters": {"name": "Alan Turing"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let contact: Value = created.json().await.unwrap();
    assert_eq!(contact["name"], "Alan Turing");
    let created_run = &s.runs_of("SANDBOX_CREATE_CONTACT").await[0];
    let step = &s
        .project
        .admin
        .execution(created_run.id)
        .await
        .unwrap()
        .steps
        .unwrap()[0];
    let sent = &step.input.as_ref().unwrap()["body"];
    assert_eq!(
        *sent,
        json!({"name": "Alan Turing"}),
        "an input not given is not sent"
    );
    let (_, grace) = s
        .run(
            &token,
            Some(second),
            json!({"tool": "SANDBOX_GET_CONTACT", "parameters": {"id": contact["id"]}}),
        )
        .await;
    assert_eq!(grace["name"], "Alan Turing");

    let runs = s.runs_of("SANDBOX_LIST_CONTACTS").await;
    let mut credentials: Vec<Uuid> = runs.iter().map(|run| run.credential_id).collect();
    credentials.sort();
    let mut expected = vec![first, second, first];
    expected.sort();
    assert_eq!(credentials, expected);
    assert!(
        runs.iter()
            .all(|run| run.status == ExecutionStatus::Succeeded)
    );
    assert_eq!(runs[0].trigger["type"], "action");
    assert_eq!(runs[0].trigger["action"], "SANDBOX_LIST_CONTACTS");
    let run = s.project.admin.execution(runs[0].id).await.unwrap();
    let step = &run.steps.unwrap()[0];
    assert_eq!(step.id, "request");
    assert_eq!(step.input.as_ref().unwrap()["target"], "/contacts");
}

/// Bad input is refused before anything is sent, naming the field; a provider's refusal is
/// `502 action_failed` with its answer, and a failed run in Task History.
async fn bad_input_and_refused_actions_are_clear_errors(db: TestDb) {
    let s = setup(&db).await;
    let account = connect_another_crm(&s.project.user("ada"), "acct_ada").await;
    let token = s.project.signer.mint("ada").unwrap();
    let before = s.provider.sandbox.stats().api_requests["acct_ada"];

    let cases = [
        (
            json!({"tool": "SANDBOX_CREATE_CONTACT", "parameters": {}}),
            422,
            "validation_failed",
            "name",
        ),
        (
            json!({"tool": "SANDBOX_CREATE_CONTACT", "parameters": {"name": 7}}),
            422,
            "validation_failed",
            "input/name",
        ),
        (
            json!({"tool": "SANDBOX_GET_CONTACT", "parameters": {"id": "../me"}}),
            422,
            "validation_failed",
            "input/id",
        ),
        (
            json!({"tool": "SANDBOX_LIST_CONTACTS", "parameters": {"extra": 1}}),
            422,
            "validation_failed",
            "extra",
        ),
        (
            json!({"tool": "SANDBOX_NOPE"}),
            404,
            "action_not_found",
            "SANDBOX_NOPE",
        ),
        (
            json!({"tool": "SANDBOX_GET_ACCOUNT", "action": "SANDBOX_GET_ACCOUNT"}),
            422,
            "validation_failed",
            "once",
        ),
        (json!({"parameters": {}}), 422, "validation_failed", "tool"),
    ];
    for (body, status, code, mentions) in cases {
        let (got, error) = s.run(&token, Some(account), body.clone()).await;
        assert_eq!(
            (got, error["code"].as_str()),
            (status, Some(code)),
            "{body} → {error}"
        );
        assert!(
            error["message"].as_str().unwrap().contains(mentions),
            "{body} → {error}"
        );
    }
    assert_eq!(
        s.provider.sandbox.stats().api_requests["acct_ada"],
        before,
        "a refused input never reaches the provider"
    );

    let missing = format!("ct_{}", Uuid::new_v4().simple());
    let (status, error) = s
        .run(
            &token,
            Some(account),
            json!({"tool": "SANDBOX_GET_CONTACT", "parameters": {"id": missing}}),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (502, Some("action_failed")),
        "{error}"
    );
    assert_eq!(error["meta"]["response"]["status"], 404);
    let execution: Uuid = error["meta"]["executionId"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let run = s.project.admin.execution(execution).await.unwrap();
    assert_eq!(
        (run.status, run.credential_id),
        (ExecutionStatus::Failed, account)
    );
    assert!(run.error.unwrap().contains("404"));

    // Another user's account, or one the token does not allow, is not found.
    let grace = connect_another_crm(&s.project.user("grace"), "acct_grace").await;
    let (status, error) = s
        .run(&token, Some(grace), json!({"tool": "SANDBOX_GET_ACCOUNT"}))
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (404, Some("credential_not_found"))
    );
    let second = connect_another_crm(&s.project.user("ada"), "acct_katherine").await;
    let mut permissions = Map::new();
    permissions.insert(format!("credential:{account}"), json!(true));
    let limited = s
        .project
        .signer
        .mint_with("ada", Map::new(), Some(permissions))
        .unwrap();
    let (status, _) = s
        .run(
            &limited,
            Some(second),
            json!({"tool": "SANDBOX_GET_ACCOUNT"}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, me) = s
        .run(
            &limited,
            Some(account),
            json!({"tool": "SANDBOX_GET_ACCOUNT"}),
        )
        .await;
    assert_eq!((status, me["id"].as_str()), (200, Some("acct_ada")));
}

/// An access token the provider no longer accepts is refreshed once and the call replayed, as
/// for the Proxy API.
async fn actions_refresh_a_refused_token_and_replay(db: TestDb) {
    let s = setup(&db).await;
    let account = connect_another_crm(&s.project.user("ada"), "acct_ada").await;
    let token = s.project.signer.mint("ada").unwrap();
    s.provider.sandbox.set_failure(FailureMode {
        kind: FailureKind::Unauthorized,
        target: FailureTarget::Api,
        times: Some(1),
        ..FailureMode::NONE
    });
    let refreshes = s.provider.sandbox.stats().refreshes_succeeded;
    let (status, me) = s
        .run(
            &token,
            Some(account),
            json!({"tool": "SANDBOX_GET_ACCOUNT"}),
        )
        .await;
    assert_eq!((status, me["id"].as_str()), (200, Some("acct_ada")), "{me}");
    assert_eq!(
        s.provider.sandbox.stats().refreshes_succeeded,
        refreshes + 1
    );
}

backend_tests!(
    tools_are_the_actions_of_connected_integrations,
    an_action_runs_as_exactly_the_selected_account,
    bad_input_and_refused_actions_are_clear_errors,
    actions_refresh_a_refused_token_and_replay,
);
