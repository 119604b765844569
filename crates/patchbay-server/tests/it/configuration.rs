use patchbay_api::ErrorBody;
use patchbay_core::crypto::Aad;
use std::time::Duration;

use futures_util::StreamExt as _;
use patchbay_sdk::UserEventData;
use patchbay_server::sandbox::SandboxConfig;
use patchbay_test_support::{
    FakeProvider, TEST_CONFIG, TestDb, TestProject, TestServer, WebhookReceiver, backend_tests,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::fixtures::{
    api_error, connect_valid, integration_id, stored_credential, stored_integration,
};

async fn stored_client_secret(
    server: &TestServer,
    project: &TestProject,
    type_name: &str,
) -> String {
    let integration = stored_integration(server, project, type_name).await;
    let (id, sealed) = (integration.id, integration.client_secret.unwrap());
    assert!(
        !sealed.windows(6).any(|w| w == b"client"),
        "sealed, not plain"
    );
    let aad = Aad {
        project_id: project.id,
        record_id: &id.to_string(),
        field: "client_secret",
    };
    String::from_utf8(
        server
            .state
            .engine
            .keyring()
            .decrypt(aad, &sealed)
            .unwrap()
            .to_vec(),
    )
    .unwrap()
}

async fn the_document_reads_back_masked_and_reapplies(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let document = project.admin.config().await.unwrap().0;
    let text = document.to_string();
    assert!(!text.contains("crm-client-secret-value"), "{text}");
    assert!(text.contains("********"), "{text}");
    assert_eq!(document["integrations"]["crm"]["name"], "Acme CRM");
    assert_eq!(
        stored_client_secret(&server, &project, "crm").await,
        "crm-client-secret-value"
    );
    let crm_id = integration_id(&server, &project, "crm").await;

    // What GET returns can be applied again; the masked secret is kept.
    let applied = project.admin.apply_config(&text, false).await.unwrap();
    assert_eq!(applied.version, 2);
    assert_eq!(applied.workflows, ["sync-contacts", "notify"]);
    assert_eq!(
        stored_client_secret(&server, &project, "crm").await,
        "crm-client-secret-value"
    );
    assert_eq!(
        integration_id(&server, &project, "crm").await,
        crm_id,
        "ids survive re-applying"
    );
    let rotated = TEST_CONFIG.replace("crm-client-secret-value", "rotated-secret");
    project.admin.apply_config(&rotated, false).await.unwrap();
    assert_eq!(
        stored_client_secret(&server, &project, "crm").await,
        "rotated-secret"
    );
}

/// The broken-document corpus of patchbay-config's tests: each document has one error, at
/// `path`, whose message contains `message`.
const BROKEN_DOCUMENTS: &str = include_str!("../../../patchbay-config/tests/broken/documents.yaml");

#[derive(Debug, Deserialize)]
struct BrokenDocument {
    name: String,
    document: String,
    path: String,
    message: String,
}

async fn a_broken_document_changes_nothing_and_names_the_path(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let before = project.admin.config().await.unwrap().0;
    let cases: Vec<BrokenDocument> = serde_norway::from_str(BROKEN_DOCUMENTS).unwrap();
    assert!(cases.len() >= 100, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(failure) = refused_without_change(&project, case, &before).await {
            failures.push(format!("{}: {failure}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} documents:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    let project_view = server
        .state
        .store()
        .projects()
        .get_project(project.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(project_view.config_version, 1);
}

/// Applies `case` and says what went wrong, if anything: it must be refused with `422` naming
/// its error, and the configuration read back afterwards must still be `before`.
async fn refused_without_change(
    project: &TestProject,
    case: &BrokenDocument,
    before: &Value,
) -> Result<(), String> {
    let body = match project.admin.apply_config(&case.document, false).await {
        Ok(applied) => return Err(format!("applied as version {}", applied.version)),
        Err(patchbay_sdk::Error::Api { body }) => body,
        Err(err) => return Err(err.to_string()),
    };
    if (body.status, body.code.as_str()) != (422, "validation_failed") {
        return Err(format!("{} {}: {}", body.status, body.code, body.message));
    }
    if !names_the_error(&body, case) {
        return Err(format!(
            "expected `{}: …{}…` in {:?}",
            case.path, case.message, body.meta
        ));
    }
    if &project.admin.config().await.unwrap().0 != before {
        return Err("the configuration in force changed".to_owned());
    }
    Ok(())
}

/// Whether one of the errors in `meta.errors` is the case's: its path, and its message fragment.
fn names_the_error(body: &ErrorBody, case: &BrokenDocument) -> bool {
    let errors = body
        .meta
        .as_ref()
        .and_then(|meta| meta["errors"].as_array());
    errors.is_some_and(|errors| {
        errors.iter().any(|error| {
            error["path"] == case.path.as_str()
                && error["message"]
                    .as_str()
                    .is_some_and(|message| message.contains(case.message.as_str()))
        })
    })
}

async fn removing_an_integration_with_accounts_takes_prune(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let account = connect_valid(&server, &project, "ada", "chat", "C-1").await;
    let start = TEST_CONFIG.find("  chat:").unwrap();
    let end = TEST_CONFIG.find("workflows:").unwrap();
    let without_chat = format!("{}{}", &TEST_CONFIG[..start], &TEST_CONFIG[end..]);

    let err = project
        .admin
        .apply_config(&without_chat, false)
        .await
        .unwrap_err();
    let body = api_error(&err, 409, "integration_in_use");
    assert_eq!(
        body.meta.as_ref().unwrap()["errors"][0]["path"],
        "integrations.chat"
    );
    assert!(
        stored_credential(&server, &project, account.id)
            .await
            .is_some()
    );

    let applied = project
        .admin
        .apply_config(&without_chat, true)
        .await
        .unwrap();
    assert_eq!(applied.integrations, ["crm"]);
    assert!(
        stored_credential(&server, &project, account.id)
            .await
            .is_none()
    );
    let me = project.user("ada").me().await.unwrap();
    assert_eq!(me.integrations.keys().collect::<Vec<_>>(), ["crm"]);
}

/// Accounts pruned with their integration are deleted like any other:
/// `credential.deleted`, with an uninstall's payload, reaches the store, the
/// user's event stream and the webhooks.
async fn pruned_accounts_are_announced_as_deleted(db: TestDb) {
    let server = TestServer::start(&db).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let document = provider.config_document();
    let project = TestProject::with_config(&server, &document).await;
    let receiver = WebhookReceiver::start().await;
    project
        .admin
        .create_webhook_endpoint(&receiver.url, &["credential.deleted"])
        .await
        .unwrap();
    let (token, account) = project
        .connect_api_key("ada", "keys", "sbx_key_ada_3f9c2e71d4b8")
        .await;
    let mut stream = Box::pin(project.user_with_token(token).events(None).await.unwrap());

    let start = document.find("  keys:").unwrap();
    let end = document.find("workflows:").unwrap();
    let without_keys = format!("{}{}", &document[..start], &document[end..]);
    project
        .admin
        .apply_config(&without_keys, true)
        .await
        .unwrap();

    let payload = json!({
        "integrationId": account.integration_id,
        "integrationType": "keys",
        "credentialId": account.id,
    });
    let stored = server
        .state
        .store()
        .events()
        .list_user_events(project.id, "ada", 0, 100)
        .await
        .unwrap();
    let last = stored.last().unwrap();
    assert_eq!(
        (last.name.as_str(), &last.payload),
        ("credential.deleted", &payload)
    );

    let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an event within 10 s")
        .expect("the stream is open")
        .unwrap();
    assert_eq!(
        (event.name.as_str(), event.id, event.data),
        (
            "onIntegrationUninstall",
            last.seq,
            UserEventData::Changed(serde_json::from_value(payload.clone()).unwrap())
        )
    );

    receiver
        .wait_until(|got| got.iter().any(|r| r.accepted))
        .await;
    let webhook = receiver.accepted()[0].json();
    assert_eq!(webhook["type"], "credential.deleted");
    let mut expected = payload;
    expected["userId"] = json!("ada");
    expected["eventId"] = json!(last.id);
    assert_eq!(webhook["data"], expected);
}

async fn integrations_describe_themselves_to_end_users(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let integrations = project.user("ada").integrations().await.unwrap();
    let crm = &integrations[0];
    assert_eq!(
        (
            crm.type_name.as_str(),
            crm.name.as_str(),
            crm.auth_type.as_str()
        ),
        ("crm", "Acme CRM", "oauth2")
    );
    assert_eq!(
        crm.user_settings
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["pipeline", "limit", "region"]
    );
    assert_eq!(
        crm.workflows
            .iter()
            .map(|w| (w.id.as_str(), w.default_enabled))
            .collect::<Vec<_>>(),
        [("sync-contacts", false), ("notify", true)]
    );
    assert_eq!(crm.workflows[0].inputs[0]["id"], "folder");
    let chat = &integrations[1];
    assert_eq!(chat.auth_type, "api_key");
    assert_eq!(chat.credential_fields[0]["id"], "apiKey");
    let text = serde_json::to_string(&integrations).unwrap();
    assert!(
        !text.contains("crm-client-secret-value") && !text.contains("crm-client-id"),
        "{text}"
    );
    let _: Value = serde_json::from_str(&text).unwrap();
}

/// `getIntegrationMetadata`'s `brandColor` comes from the provider catalogue;
/// `icon` from the integration's configuration.
async fn integration_metadata_carries_brand_colour_and_icon(db: TestDb) {
    let server = TestServer::start(&db).await;
    let document = r#"
integrations:
  payments:
    provider: stripe
    icon: https://cdn.example/stripe.svg
  inline:
    name: Inline
    auth: {type: api_key, fields: [{id: key, title: Key}], inject: {header: X-Key, value: "{{ credentials.key }}"}}
    api: {baseUrl: https://inline.example}
"#;
    let project = TestProject::with_config(&server, document).await;
    let integrations = project.user("ada").integrations().await.unwrap();
    let by_type = |name: &str| {
        integrations
            .iter()
            .find(|i| i.type_name == name)
            .unwrap()
            .clone()
    };
    let payments = by_type("payments");
    assert_eq!(payments.brand_color.as_deref(), Some("#635BFF"));
    assert_eq!(
        payments.icon.as_deref(),
        Some("https://cdn.example/stripe.svg")
    );
    let inline = by_type("inline");
    assert_eq!((inline.brand_color, inline.icon), (None, None));
    let text = serde_json::to_value(&integrations).unwrap();
    assert!(
        text.to_string().contains("\"brandColor\":\"#635BFF\""),
        "{text}"
    );
}

backend_tests!(
    the_document_reads_back_masked_and_reapplies,
    a_broken_document_changes_nothing_and_names_the_path,
    removing_an_integration_with_accounts_takes_prune,
    pruned_accounts_are_announced_as_deleted,
    integrations_describe_themselves_to_end_users,
    integration_metadata_carries_brand_colour_and_icon,
);
