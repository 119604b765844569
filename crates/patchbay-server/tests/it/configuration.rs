use patchbay_core::crypto::Aad;
use patchbay_store::CredentialStatus;
use patchbay_test_support::{TEST_CONFIG, TestDb, TestProject, TestServer, backend_tests};
use serde_json::Value;

use crate::fixtures::{connect, integration_id};

async fn stored_client_secret(
    server: &TestServer,
    project: &TestProject,
    type_name: &str,
) -> String {
    let id = integration_id(server, project, type_name).await;
    let integrations = server
        .state
        .store
        .list_integrations(project.id)
        .await
        .unwrap();
    let sealed = integrations
        .iter()
        .find(|i| i.id == id)
        .unwrap()
        .client_secret
        .clone()
        .unwrap();
    assert!(
        !sealed.windows(6).any(|w| w == b"client"),
        "sealed, not plain"
    );
    let aad = Aad {
        project_id: project.id,
        record_id: &id.to_string(),
        field: "client_secret",
    };
    String::from_utf8(server.state.keyring.decrypt(aad, &sealed).unwrap().to_vec()).unwrap()
}

async fn the_document_reads_back_masked_and_reapplies(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let document = project.admin.config().await.unwrap();
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

async fn a_broken_document_changes_nothing_and_names_the_path(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let before = project.admin.config().await.unwrap();
    let cases = [
        (TEST_CONFIG.replace("tokenUrl: https://acme.example/oauth/token", "tokenUrl: not a url"), "integrations.crm.auth.tokenUrl"),
        (TEST_CONFIG.replace("integration: crm\n    description", "integration: nope\n    description"), "workflows[0].integration"),
        (TEST_CONFIG.replace("id: notify", "id: sync-contacts"), "workflows[1].id"),
        (TEST_CONFIG.replace("{type: app_event, event: Contact Created}", "{type: schedule, cron: \"61 * * * *\"}"), "workflows[0].trigger.cron"),
        (TEST_CONFIG.replace("\"{{ trigger.body.name }}\"", "\"{{ steps.later.output }}\""), "workflows[0].steps[0].body.name"),
        (TEST_CONFIG.replace("    name: Acme CRM\n", ""), "integrations.crm.name"),
        (TEST_CONFIG.replace("defaultEnabled: false", "defaultEnabled: maybe"), "workflows[0].defaultEnabled"),
        (TEST_CONFIG.replace("  chat:\n", "  Chat!:\n"), "integrations.Chat!"),
        (TEST_CONFIG.replace("status: 200", "status: 700"), "workflows[1].steps[0].status"),
        (TEST_CONFIG.replace("    api:\n      baseUrl: https://chat.example/api\n", "    api:\n      baseUrl: https://chat.example/api\n    surprise: true\n"), "integrations.chat.surprise"),
        ("settings: [1, 2".to_owned(), ""),
        ("integrations:\n  slack:\n    provider: not-a-provider\n    clientId: a\n    clientSecret: b\n".to_owned(), "integrations.slack.provider"),
    ];
    for (document, path) in &cases {
        let err = project
            .admin
            .apply_config(document, false)
            .await
            .unwrap_err();
        let patchbay_sdk::Error::Api { body } = &err else {
            panic!("{err}")
        };
        assert_eq!(
            (body.status, body.code.as_str()),
            (422, "validation_failed"),
            "{path}"
        );
        let paths: Vec<&str> = body.meta.as_ref().unwrap()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap())
            .collect();
        assert!(
            paths.contains(path),
            "expected an error at {path:?}, got {paths:?}"
        );
    }
    assert_eq!(
        project.admin.config().await.unwrap(),
        before,
        "the previous configuration stays"
    );
    let project_view = server
        .state
        .store
        .get_project(project.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(project_view.config_version, 1);
}

async fn removing_an_integration_with_accounts_takes_prune(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let account = connect(
        &server,
        &project,
        "ada",
        "chat",
        "C-1",
        CredentialStatus::Valid,
    )
    .await;
    let start = TEST_CONFIG.find("  chat:").unwrap();
    let end = TEST_CONFIG.find("workflows:").unwrap();
    let without_chat = format!("{}{}", &TEST_CONFIG[..start], &TEST_CONFIG[end..]);

    let err = project
        .admin
        .apply_config(&without_chat, false)
        .await
        .unwrap_err();
    let patchbay_sdk::Error::Api { body } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        (body.status, body.code.as_str()),
        (409, "integration_in_use")
    );
    assert_eq!(
        body.meta.as_ref().unwrap()["errors"][0]["path"],
        "integrations.chat"
    );
    assert!(
        server
            .state
            .store
            .get_credential(project.id, account.id)
            .await
            .unwrap()
            .is_some()
    );

    let applied = project
        .admin
        .apply_config(&without_chat, true)
        .await
        .unwrap();
    assert_eq!(applied.integrations, ["crm"]);
    assert!(
        server
            .state
            .store
            .get_credential(project.id, account.id)
            .await
            .unwrap()
            .is_none()
    );
    let me = project.user("ada").me().await.unwrap();
    assert_eq!(me.integrations.keys().collect::<Vec<_>>(), ["crm"]);
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

backend_tests!(
    the_document_reads_back_masked_and_reapplies,
    a_broken_document_changes_nothing_and_names_the_path,
    removing_an_integration_with_accounts_takes_prune,
    integrations_describe_themselves_to_end_users,
);
