use patchbay_api::CredentialStatus as WireStatus;
use patchbay_store::CredentialStatus;
use patchbay_test_support::{EchoUpstream, TestDb, TestProject, TestServer, backend_tests};
use serde_json::{Value, json};

use crate::fixtures::{access_token_of, connect, connect_valid};

async fn the_user_object_lists_every_account_with_the_default_on_top(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let invalid = connect(
        &server,
        &project,
        "ada",
        "crm",
        "T-old",
        CredentialStatus::Invalid,
    )
    .await;
    let first_valid = connect_valid(&server, &project, "ada", "crm", "T-1").await;
    let second_valid = connect_valid(&server, &project, "ada", "crm", "T-2").await;
    let chat = connect_valid(&server, &project, "ada", "chat", "C-1").await;
    connect_valid(&server, &project, "grace", "crm", "G-1").await;

    let me = project.user("ada").me().await.unwrap();
    assert!(me.authenticated);
    assert_eq!(me.user_id, "ada");
    assert_eq!(me.integrations.keys().collect::<Vec<_>>(), ["chat", "crm"]);

    let crm = &me.integrations["crm"];
    assert!(crm.enabled);
    let ids: Vec<_> = crm.all_credentials.iter().map(|c| c.id).collect();
    assert_eq!(
        ids,
        [invalid.id, first_valid.id, second_valid.id],
        "oldest first, only Ada's"
    );
    // The default account is the oldest VALID one, not the oldest.
    assert_eq!(crm.credential_id, Some(first_valid.id));
    assert_eq!(crm.credential_status, Some(WireStatus::Valid));
    assert_eq!(crm.provider_id.as_deref(), Some("T-1"));
    assert_eq!(crm.provider_data, Some(json!({"name": "Account T-1"})));
    assert_eq!(crm.all_credentials[0].status, WireStatus::Invalid);
    for credential in &crm.all_credentials {
        assert_eq!(credential.persona_id, "ada");
        assert_eq!(credential.project_id, project.id);
        assert_eq!(credential.configurations.len(), 1);
        let configuration = &credential.configurations[0];
        assert_eq!(configuration.connect_credential_id, credential.id);
        assert!(configuration.is_default);
        // Every workflow of the integration, at its default state.
        assert!(!configuration.workflow_settings["sync-contacts"].enabled);
        assert!(configuration.workflow_settings["notify"].enabled);
    }
    let configuration_ids: std::collections::HashSet<_> = crm
        .all_credentials
        .iter()
        .map(|c| c.configurations[0].id)
        .collect();
    assert_eq!(configuration_ids.len(), 3, "one configuration per account");
    assert_eq!(crm.all_configurations.len(), 3);
    assert!(crm.workflow_settings["notify"].enabled);
    assert_eq!(crm.configured_workflows, crm.workflow_settings);

    let chat_state = &me.integrations["chat"];
    assert_eq!(chat_state.all_credentials.len(), 1);
    assert_eq!(chat_state.credential_id, Some(chat.id));

    // A user with nothing connected sees every integration, disabled.
    let newcomer = project.user("newcomer").me().await.unwrap();
    assert_eq!(newcomer.integrations.len(), 2);
    assert!(
        newcomer
            .integrations
            .values()
            .all(|s| !s.enabled && s.all_credentials.is_empty())
    );
}

async fn the_user_object_has_the_exact_shape_and_no_secrets(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    connect_valid(&server, &project, "ada", "crm", "T-1").await;
    let token = project
        .signer
        .mint_with(
            "ada",
            json!({"Name": "Ada", "Email": "ada@example.com"})
                .as_object()
                .unwrap()
                .clone(),
            None,
        )
        .unwrap();
    let raw = reqwest::Client::new()
        .get(server.url(&format!("/projects/{}/sdk/me", project.id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for secret in [
        access_token_of("T-1").as_str(),
        "crm-client-secret-value",
        "accessToken",
        "secrets",
    ] {
        assert!(!raw.contains(secret), "{secret} leaked: {raw}");
    }
    let me: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(
        me["meta"],
        json!({"Name": "Ada", "Email": "ada@example.com"})
    );
    assert_eq!(me["resources"], json!([]));
    let keys = |value: &Value| {
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(
        keys(&me),
        [
            "authenticated",
            "integrations",
            "meta",
            "resources",
            "userId"
        ]
    );
    let crm = &me["integrations"]["crm"];
    assert_eq!(
        keys(crm),
        [
            "allConfigurations",
            "allCredentials",
            "configuredWorkflows",
            "credentialId",
            "credentialStatus",
            "enabled",
            "providerData",
            "providerId",
            "sharedSettings",
            "workflowSettings",
        ]
    );
    assert_eq!(
        keys(&crm["allCredentials"][0]),
        [
            "config",
            "configurations",
            "dateCreated",
            "dateDeleted",
            "dateRefreshed",
            "dateUpdated",
            "dateValidUntil",
            "externalId",
            "id",
            "integrationId",
            "isPreviewCredential",
            "personaId",
            "projectId",
            "providerData",
            "providerId",
            "refreshFailureCount",
            "status",
        ]
    );
    assert_eq!(
        keys(&crm["allCredentials"][0]["configurations"][0]),
        [
            "configuredWorkflows",
            "connectCredentialId",
            "credentialId",
            "dateCreated",
            "dateUpdated",
            "externalId",
            "id",
            "isDefault",
            "meta",
            "settings",
            "sharedSettings",
            "workflowSettings"
        ]
    );
    // Paragon's `config`: the same configuration, workflows as configuredWorkflows.
    let credential = &crm["allCredentials"][0];
    assert_eq!(
        keys(&credential["config"]),
        [
            "configuredWorkflows",
            "connectCredentialId",
            "dateCreated",
            "dateUpdated",
            "externalId",
            "id",
            "isDefault",
            "sharedSettings",
        ]
    );
    let configuration = &credential["configurations"][0];
    assert_eq!(credential["config"]["id"], configuration["id"]);
    assert_eq!(
        credential["config"]["configuredWorkflows"],
        configuration["workflowSettings"]
    );
    assert_eq!(credential["dateDeleted"], Value::Null);
    assert_eq!(crm["allCredentials"][0]["isPreviewCredential"], false);
    assert_eq!(crm["allCredentials"][0]["externalId"], Value::Null);
    let chat = &me["integrations"]["chat"];
    assert_eq!(chat["enabled"], false);
    assert_eq!(chat["allCredentials"], json!([]));
    assert!(chat.get("credentialId").is_none());

    // The admin view of the user is the same object.
    let admin_view = project.admin.user("ada").await.unwrap();
    assert_eq!(serde_json::to_value(admin_view).unwrap(), me);
    let missing = project.admin.user("nobody").await.unwrap_err();
    assert_eq!(missing.code(), Some("user_not_found"));
}

async fn metadata_merges(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let ada = project.user("ada");
    ada.set_metadata(json!({"Name": "Ada"}).as_object().unwrap().clone())
        .await
        .unwrap();
    let me = ada
        .set_metadata(json!({"plan": "pro"}).as_object().unwrap().clone())
        .await
        .unwrap();
    assert_eq!(
        Value::Object(me.meta),
        json!({"Name": "Ada", "plan": "pro"})
    );
    let again = project.user("ada").me().await.unwrap();
    assert_eq!(
        Value::Object(again.meta),
        json!({"Name": "Ada", "plan": "pro"})
    );
}

/// A proxy call is an end-user call like any other: the token's metadata
/// claims reach the stored user through it too.
async fn a_proxy_call_merges_the_tokens_metadata(db: TestDb) {
    let server = TestServer::start(&db).await;
    let upstream = EchoUpstream::start().await;
    let project = TestProject::with_config(&server, &upstream.config_document()).await;
    project.connect_api_key("ada", "echo", "echo-key").await;
    let token = project
        .signer
        .mint_with(
            "ada",
            json!({"Plan": "pro"}).as_object().unwrap().clone(),
            None,
        )
        .unwrap();
    let response = reqwest::Client::new()
        .get(server.url(&format!("/projects/{}/sdk/proxy/echo/echo/x", project.id)))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let ada = project.admin.user("ada").await.unwrap();
    assert_eq!(Value::Object(ada.meta), json!({"Plan": "pro"}));
}

/// Paragon's "Update user's Connect credential" sends the workflows as
/// `config.configuredWorkflows`; its "Get user's Connect credentials" reads
/// them back from `config`.
async fn paragons_credential_config_round_trips(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let credential = connect_valid(&server, &project, "ada", "crm", "T-1").await;
    let token = project.signer.mint("ada").unwrap();
    let http = reqwest::Client::new();
    let sdk = |path: &str| server.url(&format!("/projects/{}/sdk{path}", project.id));
    let response = http
        .patch(sdk(&format!("/credentials/{}", credential.id)))
        .bearer_auth(&token)
        .json(&json!({"config": {"configuredWorkflows": {
            "sync-contacts": {"enabled": true, "settings": {}}
        }}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let listed: Value = http
        .get(sdk("/credentials"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let config = &listed[0]["config"];
    assert_eq!(listed[0]["id"], credential.id.to_string());
    assert_eq!(
        config["configuredWorkflows"]["sync-contacts"]["enabled"],
        true
    );
    assert_eq!(
        config["configuredWorkflows"]["notify"]["enabled"], true,
        "untouched"
    );
    assert_eq!(config["connectCredentialId"], credential.id.to_string());
}

backend_tests!(
    paragons_credential_config_round_trips,
    a_proxy_call_merges_the_tokens_metadata,
    the_user_object_lists_every_account_with_the_default_on_top,
    the_user_object_has_the_exact_shape_and_no_secrets,
    metadata_merges,
);
