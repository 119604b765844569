//! Paragon's names: camelCase and `custom.<slug>` integration types, UUID workflow ids,
//! catalogue providers found by their Paragon type, and every route that names an
//! integration answering to its type and to its integration id alike.

use patchbay_sdk::admin::{CredentialQuery, ExecutionQuery};
use patchbay_test_support::{EchoUpstream, TestDb, TestProject, TestServer, backend_tests};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::api_error;

const WORKFLOW_ID: &str = "3f6c1a52-8a0d-4d8e-9d55-0c7e2b1f4a10";

/// `custom.billing`, an API-key integration calling `upstream`; `googleCalendar`, the catalogue
/// provider found by its Paragon type with no `provider` line; a UUID workflow id.
fn document(upstream: &EchoUpstream) -> String {
    format!(
        r#"
integrations:
  custom.billing:
    name: Billing
    auth:
      type: api_key
      fields: [{{id: apiKey, title: Key, secret: true}}]
      inject: {{header: X-Api-Key, value: "{{{{ credentials.apiKey }}}}"}}
    api:
      baseUrl: {}
  googleCalendar:
    clientId: calendar-client
    clientSecret: calendar-secret
workflows:
  - id: {WORKFLOW_ID}
    integration: custom.billing
    defaultEnabled: true
    trigger: {{type: request}}
    steps:
      - {{id: reply, type: response, status: 200, body: {{key: "{{{{ trigger.body.n }}}}"}}}}
"#,
        upstream.base_url
    )
}

async fn paragon_names_work_on_every_route_by_type_and_by_id(db: TestDb) {
    let server = TestServer::start(&db).await;
    let upstream = EchoUpstream::start().await;
    let project = TestProject::with_config(&server, &document(&upstream)).await;

    let config = project.admin.config().await.unwrap();
    assert_eq!(
        config.0["integrations"]["googleCalendar"]["provider"], "google-calendar",
        "the Paragon type resolved to the catalogue provider"
    );
    let (token, first) = project
        .connect_api_key("ada", "custom.billing", "KEY-1")
        .await;
    let ada = project.user_with_token(token);
    let metadata = ada.integrations().await.unwrap();
    let id_of = |type_name: &str| {
        metadata
            .iter()
            .find(|integration| integration.type_name == type_name)
            .unwrap()
            .id
    };
    let (billing, calendar) = (id_of("custom.billing"), id_of("googleCalendar"));
    let billing_id = billing.to_string();
    let calendar_meta = metadata
        .iter()
        .find(|integration| integration.id == calendar)
        .unwrap();
    assert_eq!(calendar_meta.name, "Google Calendar");

    // Installing by integration id connects to the same integration.
    let second = ada
        .install_with_credentials(
            &billing_id,
            &patchbay_api::InstallRequest {
                credentials: json!({"apiKey": "KEY-2"}).as_object().cloned(),
                allow_multiple_credentials: true,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .credential;
    assert_eq!(second.integration_id, billing);
    let me = ada.me().await.unwrap();
    assert_eq!(me.integrations["custom.billing"].all_credentials.len(), 2);

    // The proxy, by type and by id, each as the account selected.
    for (integration, account, key) in [
        ("custom.billing", first.id, "KEY-1"),
        (billing_id.as_str(), second.id, "KEY-2"),
    ] {
        let response = ada
            .proxy(integration, Method::GET, "/echo/invoices")
            .selected_credential(account.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{integration}");
        let (path, headers) = upstream.last_request().unwrap();
        assert_eq!(path, "/echo/invoices", "{integration}");
        assert_eq!(headers["x-api-key"], key, "{integration}");
    }

    // The user's and the admin's account lists filter by either name.
    for integration in ["custom.billing", billing_id.as_str()] {
        assert_eq!(ada.credentials(Some(integration)).await.unwrap().len(), 2);
        let query = CredentialQuery {
            integration: Some(integration.to_owned()),
            ..Default::default()
        };
        assert_eq!(
            project.admin.credentials(&query).await.unwrap().data.len(),
            2
        );
    }
    assert!(
        ada.credentials(Some("googleCalendar"))
            .await
            .unwrap()
            .is_empty()
    );

    // A workflow with a UUID id runs, and Task History finds it by either name.
    let selection = second.id.to_string();
    let answer = ada
        .trigger_workflow(WORKFLOW_ID, &json!({"n": "x"}), Some(&selection))
        .await
        .unwrap();
    assert_eq!((answer.status, answer.body), (200, json!({"key": "x"})));
    for integration in ["custom.billing", billing_id.as_str()] {
        let query = ExecutionQuery {
            integration: Some(integration.to_owned()),
            workflow_id: Some(WORKFLOW_ID.to_owned()),
            ..Default::default()
        };
        let page = project.admin.executions(&query).await.unwrap();
        assert_eq!(page.data.len(), 1, "{integration}");
        assert_eq!(page.data[0].credential_id, second.id);
    }

    // Uninstalling by id removes the account selected, by type the one left.
    ada.uninstall(&billing_id, Some(&selection)).await.unwrap();
    ada.uninstall("custom.billing", None).await.unwrap();
    assert!(ada.credentials(None).await.unwrap().is_empty());
}

async fn an_integration_id_of_nothing_or_of_another_project_is_not_found(db: TestDb) {
    let server = TestServer::start(&db).await;
    let upstream = EchoUpstream::start().await;
    let ours = TestProject::with_config(&server, &document(&upstream)).await;
    let theirs = TestProject::with_config(&server, &document(&upstream)).await;
    let (token, _) = ours.connect_api_key("ada", "custom.billing", "KEY-1").await;
    let ada = ours.user_with_token(token);
    let (their_token, _) = theirs
        .connect_api_key("bob", "custom.billing", "KEY-9")
        .await;
    let their_billing = theirs
        .user_with_token(their_token)
        .integrations()
        .await
        .unwrap()
        .into_iter()
        .find(|integration| integration.type_name == "custom.billing")
        .unwrap()
        .id;
    let calls_before = upstream.requests_received();

    for integration in [Uuid::new_v4(), their_billing].map(|id| id.to_string()) {
        let err = ada
            .proxy(&integration, Method::GET, "/echo/invoices")
            .send()
            .await
            .unwrap_err();
        api_error(&err, 404, "integration_not_found");
        let err = ada.credentials(Some(&integration)).await.unwrap_err();
        api_error(&err, 404, "integration_not_found");
        let err = ada.uninstall(&integration, None).await.unwrap_err();
        api_error(&err, 404, "integration_not_found");
        let err = ada
            .install_with_credentials(&integration, &Default::default())
            .await
            .unwrap_err();
        api_error(&err, 404, "integration_not_found");
    }
    // Type names are exact: no case folding, no prefix matching.
    for integration in ["custom.Billing", "custom", "googlecalendar"] {
        let err = ada.credentials(Some(integration)).await.unwrap_err();
        api_error(&err, 404, "integration_not_found");
    }
    assert_eq!(upstream.requests_received(), calls_before);
    assert_eq!(ada.credentials(None).await.unwrap().len(), 1);
}

backend_tests!(
    paragon_names_work_on_every_route_by_type_and_by_id,
    an_integration_id_of_nothing_or_of_another_project_is_not_found,
);
