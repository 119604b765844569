//! Settings whose options come from the account's own API (`dynamic_select`, `combo`,
//! `field_mapping`): each account lists its own, searched and paged, through the proxy's
//! refresh rules; unknown settings, other users' accounts and provider failures are clear errors.

use patchbay_server::sandbox::{
    FailureKind, FailureMode, FailureTarget, SandboxConfig, definition,
};
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

/// The fake provider's document, its `crm` integration with the sandbox's dynamic settings
/// beside its own, and a workflow with a dynamic input shown to users on the `pro` plan.
fn document(provider: &FakeProvider) -> String {
    let mut settings = vec![json!({"id": "pipeline", "type": "text", "title": "Pipeline"})];
    settings.extend(
        definition::user_settings()
            .as_array()
            .unwrap()
            .iter()
            .cloned(),
    );
    let own = "    userSettings:\n      - {id: pipeline, type: text, title: Pipeline}\n";
    let document = provider.config_document();
    assert!(document.contains(own));
    let document = document.replace(own, &format!("    userSettings: {}\n", json!(settings)));
    let input = json!({"id": "tagContact", "type": "dynamic_select", "title": "Contact to tag",
        "source": {"path": "/contacts", "items": "body", "value": "{{ item.id }}", "label": "{{ item.name }}"}});
    format!(
        "{document}  - id: tag
    integration: crm
    trigger: {{type: request}}
    inputs: [{input}]
    portal: {{showWhen: [{{meta: plan, equals: pro}}]}}
    steps:
      - {{id: reply, type: response, status: 200, body: {{ok: true}}}}
"
    )
}

async fn setup(db: &TestDb) -> Setup {
    let server = TestServer::start(db).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let project = TestProject::with_config(&server, &document(&provider)).await;
    Setup {
        server,
        provider,
        project,
    }
}

impl Setup {
    /// `GET …/field-options` as `token` for `credential` with `query`.
    async fn options(
        &self,
        token: &str,
        credential: impl ToString,
        query: &[(&str, &str)],
    ) -> (u16, Value) {
        let url = self.server.url(&format!(
            "/projects/{}/sdk/credentials/{}/field-options",
            self.project.id,
            credential.to_string()
        ));
        let response = reqwest::Client::new()
            .get(url)
            .query(query)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// Creates a contact in the sandbox `account` through its API key.
    async fn create_contact(&self, api_key: &str, name: &str) {
        let response = reqwest::Client::new()
            .post(format!("{}/api/contacts", self.provider.base_url))
            .header("X-Api-Key", api_key)
            .json(&json!({"name": name, "email": format!("{}@more.example", name.to_lowercase())}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
}

fn labels(page: &Value) -> Vec<&str> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no options in {page}"))
        .iter()
        .map(|option| option["label"].as_str().unwrap())
        .collect()
}

fn values(page: &Value) -> Vec<&str> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no options in {page}"))
        .iter()
        .map(|option| option["value"].as_str().unwrap())
        .collect()
}

fn ada_key() -> &'static str {
    patchbay_server::sandbox::SANDBOX_ACCOUNTS[0].api_key
}

/// Two accounts of one user list the options of their own external accounts: their own
/// contacts for a `dynamic_select`, their own fields for a `field_mapping`.
async fn each_account_lists_its_own_options(db: TestDb) {
    let s = setup(&db).await;
    let ada = s.project.user("ada");
    let first = connect_another_crm(&ada, "acct_ada").await;
    let second = connect_another_crm(&ada, "acct_grace").await;
    let token = s.project.signer.mint("ada").unwrap();

    let (status, as_ada) = s
        .options(&token, first, &[("setting", "notifyContact")])
        .await;
    assert_eq!(status, 200, "{as_ada}");
    assert_eq!(
        labels(&as_ada),
        [
            "Charles Babbage (charles@engines.example)",
            "Mary Somerville (mary@engines.example)"
        ]
    );
    assert!(values(&as_ada).iter().all(|id| id.starts_with("ct_")));
    assert_eq!(as_ada["nextCursor"], Value::Null);
    let (_, as_grace) = s
        .options(&token, second, &[("setting", "notifyContact")])
        .await;
    assert_eq!(
        labels(&as_grace),
        [
            "Howard Aiken (howard@harvard-mark.example)",
            "Jean Sammet (jean@cobol.example)"
        ]
    );

    // The field mapping's source lists the integration's fields: one is each account's own.
    let (status, ada_fields) = s
        .options(&token, first, &[("setting", "contactFields")])
        .await;
    assert_eq!(status, 200, "{ada_fields}");
    assert_eq!(values(&ada_fields), ["name", "email", "engine_serial"]);
    assert_eq!(labels(&ada_fields), ["Name", "Email", "Engine serial"]);
    let (_, grace_fields) = s
        .options(&token, second, &[("setting", "contactFields")])
        .await;
    assert_eq!(values(&grace_fields), ["name", "email", "compiler"]);

    // Each call went out as its own account, once.
    let requests = s.provider.sandbox.stats().api_requests;
    assert_eq!(requests["acct_ada"], requests["acct_grace"], "{requests:?}");
}

/// `search` and `cursor` reach the source's templates: the sandbox filters and pages, and the
/// next page's cursor comes back until the last page.
async fn search_and_cursor_page_the_options(db: TestDb) {
    let s = setup(&db).await;
    let account = connect_another_crm(&s.project.user("ada"), "acct_ada").await;
    let token = s.project.signer.mint("ada").unwrap();
    for i in 0..definition::CONTACTS_PAGE {
        s.create_contact(ada_key(), &format!("Extra{i:02}")).await;
    }
    // Twelve contacts: a first page of ten, a second of two.
    let (status, first) = s
        .options(&token, account, &[("setting", "notifyContact")])
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(labels(&first).len(), definition::CONTACTS_PAGE);
    assert_eq!(
        labels(&first)[0],
        "Charles Babbage (charles@engines.example)"
    );
    let cursor = first["nextCursor"].as_str().unwrap().to_owned();
    let (status, second) = s
        .options(
            &token,
            account,
            &[("setting", "notifyContact"), ("cursor", &cursor)],
        )
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(
        labels(&second),
        [
            "Extra08 (extra08@more.example)",
            "Extra09 (extra09@more.example)"
        ]
    );
    assert_eq!(second["nextCursor"], Value::Null);

    let (_, found) = s
        .options(
            &token,
            account,
            &[("setting", "notifyContact"), ("search", "MARY")],
        )
        .await;
    assert_eq!(labels(&found), ["Mary Somerville (mary@engines.example)"]);
    assert_eq!(found["nextCursor"], Value::Null);
    let (_, none) = s
        .options(
            &token,
            account,
            &[("setting", "notifyContact"), ("search", "nobody")],
        )
        .await;
    assert_eq!(none, json!({"data": [], "nextCursor": null}));
}

/// A combo lists its first field's options, and with `main` its second field's, whose source
/// reads `main`.
async fn a_combo_lists_dependent_options_for_its_main_value(db: TestDb) {
    let s = setup(&db).await;
    let account = connect_another_crm(&s.project.user("ada"), "acct_ada").await;
    let token = s.project.signer.mint("ada").unwrap();
    let (status, main) = s.options(&token, account, &[("setting", "segment")]).await;
    assert_eq!(status, 200, "{main}");
    assert_eq!(values(&main), ["name", "email", "engine_serial"]);
    let (status, emails) = s
        .options(
            &token,
            account,
            &[("setting", "segment"), ("main", "email")],
        )
        .await;
    assert_eq!(status, 200, "{emails}");
    assert_eq!(
        values(&emails),
        ["charles@engines.example", "mary@engines.example"]
    );
    let (_, names) = s
        .options(&token, account, &[("setting", "segment"), ("main", "name")])
        .await;
    assert_eq!(values(&names), ["Charles Babbage", "Mary Somerville"]);
    let (_, empty_main) = s
        .options(&token, account, &[("setting", "segment"), ("main", "")])
        .await;
    assert_eq!(empty_main, main, "an empty main asks for the first field");
    // A main value the provider does not know: its 404 is a provider failure.
    let (status, error) = s
        .options(
            &token,
            account,
            &[("setting", "segment"), ("main", "shoe size")],
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (502, Some("upstream_unreachable")),
        "{error}"
    );
    assert!(
        error["message"].as_str().unwrap().contains("404"),
        "{error}"
    );
}

/// A workflow's input is found with `workflow`, and only by users the workflow is shown to.
async fn workflow_inputs_list_options_for_users_they_are_shown_to(db: TestDb) {
    let s = setup(&db).await;
    let account = connect_another_crm(&s.project.user("ada"), "acct_ada").await;
    let free = s.project.signer.mint("ada").unwrap();
    let query = [("setting", "tagContact"), ("workflow", "tag")];
    let (status, error) = s.options(&free, account, &query).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (404, Some("workflow_not_found")),
        "{error}"
    );
    let mut meta = Map::new();
    meta.insert("plan".into(), json!("pro"));
    let pro = s.project.signer.mint_with("ada", meta, None).unwrap();
    let (status, page) = s.options(&pro, account, &query).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(labels(&page), ["Charles Babbage", "Mary Somerville"]);
    // The integration's settings are not the workflow's inputs, nor the reverse.
    let (status, error) = s
        .options(
            &pro,
            account,
            &[("setting", "notifyContact"), ("workflow", "tag")],
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (404, Some("setting_not_found")),
        "{error}"
    );
    let (status, error) = s.options(&pro, account, &[("setting", "tagContact")]).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (404, Some("setting_not_found"))
    );
    let (status, error) = s
        .options(
            &pro,
            account,
            &[("setting", "tagContact"), ("workflow", "nope")],
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (404, Some("workflow_not_found"))
    );
}

/// Unknown settings, settings without a source, missing parameters and accounts that are not
/// the caller's are refused before the provider is asked.
async fn bad_requests_are_refused_before_the_provider_is_asked(db: TestDb) {
    let s = setup(&db).await;
    let account = connect_another_crm(&s.project.user("ada"), "acct_ada").await;
    let others = connect_another_crm(&s.project.user("bob"), "acct_grace").await;
    let token = s.project.signer.mint("ada").unwrap();
    let before = s.provider.sandbox.stats().api_requests;

    let (status, error) = s.options(&token, account, &[("setting", "nope")]).await;
    assert_eq!(
        (status, error["code"].as_str(), error["status"].as_u64()),
        (404, Some("setting_not_found"), Some(404)),
        "{error}"
    );
    assert!(
        error["message"].as_str().unwrap().contains("nope"),
        "{error}"
    );
    let (status, error) = s.options(&token, account, &[("setting", "pipeline")]).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (400, Some("invalid_parameter")),
        "{error}"
    );
    assert!(
        error["message"].as_str().unwrap().contains("text"),
        "{error}"
    );
    let (status, error) = s.options(&token, account, &[]).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (400, Some("invalid_parameter")),
        "{error}"
    );
    for credential in [
        others.to_string(),
        Uuid::new_v4().to_string(),
        "not-a-uuid".into(),
    ] {
        let (status, error) = s
            .options(&token, &credential, &[("setting", "notifyContact")])
            .await;
        assert_eq!(
            (status, error["code"].as_str()),
            (404, Some("credential_not_found")),
            "{credential}: {error}"
        );
    }
    let (status, _) = s
        .options("not-a-token", account, &[("setting", "notifyContact")])
        .await;
    assert_eq!(status, 401);
    assert_eq!(s.provider.sandbox.stats().api_requests, before);
}

/// A provider that fails answers as the Proxy API would; a refused token is refreshed once and
/// the request replayed.
async fn provider_failures_answer_as_the_proxy_does(db: TestDb) {
    let s = setup(&db).await;
    let account = connect_another_crm(&s.project.user("ada"), "acct_ada").await;
    let token = s.project.signer.mint("ada").unwrap();
    let query = [("setting", "notifyContact")];

    s.provider.sandbox.set_failure(FailureMode {
        kind: FailureKind::Error500,
        target: FailureTarget::Api,
        ..FailureMode::NONE
    });
    let (status, error) = s.options(&token, account, &query).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (502, Some("upstream_unreachable")),
        "{error}"
    );
    assert!(
        error["message"].as_str().unwrap().contains("500"),
        "{error}"
    );

    s.provider.sandbox.set_failure(FailureMode {
        kind: FailureKind::Unauthorized,
        target: FailureTarget::Api,
        times: Some(1),
        ..FailureMode::NONE
    });
    let refreshes = s.provider.sandbox.stats().refreshes_succeeded;
    let (status, page) = s.options(&token, account, &query).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(labels(&page).len(), 2);
    assert_eq!(
        s.provider.sandbox.stats().refreshes_succeeded,
        refreshes + 1
    );

    // The provider's refresh refused for good: the account must be reconnected.
    s.provider.sandbox.set_failure(FailureMode {
        kind: FailureKind::Unauthorized,
        target: FailureTarget::Api,
        ..FailureMode::NONE
    });
    s.provider
        .sandbox
        .revoke_client(patchbay_server::sandbox::DEFAULT_CLIENT_ID);
    let (status, error) = s.options(&token, account, &query).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (409, Some("credential_invalid")),
        "{error}"
    );
}

backend_tests!(
    each_account_lists_its_own_options,
    search_and_cursor_page_the_options,
    a_combo_lists_dependent_options_for_its_main_value,
    workflow_inputs_list_options_for_users_they_are_shown_to,
    bad_requests_are_refused_before_the_provider_is_asked,
    provider_failures_answer_as_the_proxy_does,
);
