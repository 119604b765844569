//! Connecting accounts end to end: a real server, the sandbox standing in
//! for the provider on its own socket, the browser's part played by HTTP.

use patchbay_api::{InstallRequest, InstallStatus};
use patchbay_sdk::UserClient;
use patchbay_server::sandbox::SandboxConfig;
use patchbay_test_support::{
    FakeProvider, TestDb, TestProject, TestServer, authorize, backend_tests,
};
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::api_error;

/// Keeps the server and the provider running as long as it lives.
struct Setup {
    server: TestServer,
    _provider: FakeProvider,
    project: TestProject,
}

async fn setup(db: &TestDb) -> Setup {
    let server = TestServer::start(db).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let project = TestProject::with_config(&server, &provider.config_document()).await;
    Setup {
        server,
        _provider: provider,
        project,
    }
}

fn allow_multiple() -> InstallRequest {
    InstallRequest {
        allow_multiple_credentials: true,
        ..Default::default()
    }
}

/// Connects `account` at the sandbox through the whole OAuth flow; returns
/// the install session's final state.
async fn connect(
    user: &UserClient,
    request: &InstallRequest,
    account: &str,
) -> patchbay_api::InstallSessionView {
    let started = user.start_install("crm", request).await.unwrap();
    let pending = user
        .install_session(started.install_session_id)
        .await
        .unwrap();
    assert_eq!(pending.status, InstallStatus::Pending);
    let reply = authorize(&started.authorization_url, account).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply.body.contains("patchbay:install"),
        "the page reports to its opener"
    );
    user.install_session(started.install_session_id)
        .await
        .unwrap()
}

async fn credential_ids(user: &UserClient) -> Vec<Uuid> {
    user.credentials(Some("crm"))
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect()
}

async fn several_accounts_of_one_integration(db: TestDb) {
    let setup = setup(&db).await;
    let project = &setup.project;
    let ada = project.user("ada");

    let first = connect(&ada, &InstallRequest::default(), "acct_ada").await;
    assert_eq!(first.status, InstallStatus::Complete, "{:?}", first.error);
    let a = first.credential_id.unwrap();
    let me = ada.me().await.unwrap();
    assert_eq!(
        me.integrations["crm"].provider_id.as_deref(),
        Some("acct_ada")
    );
    assert_eq!(
        me.integrations["crm"].provider_data,
        Some(json!({"name": "Ada Lovelace", "email": "ada@sandbox.example"}))
    );

    // Rule 1: a second account needs allowMultipleCredentials.
    let err = ada
        .start_install("crm", &InstallRequest::default())
        .await
        .unwrap_err();
    let body = api_error(&err, 409, "integration_already_installed");
    assert_eq!(body.message, "Integration \"crm\" is already installed.");

    let second = connect(&ada, &allow_multiple(), "acct_grace").await;
    let b = second.credential_id.unwrap();
    assert_ne!(a, b);
    assert_eq!(credential_ids(&ada).await, [a, b]);

    // Rule 4: the same external account again updates it, no duplicate.
    let again = connect(&ada, &allow_multiple(), "acct_ada").await;
    assert_eq!(again.credential_id, Some(a));
    assert_eq!(credential_ids(&ada).await, [a, b]);

    // Rule 2: replace B by C; id, settings and enabled workflows stay.
    let settings = patchbay_api::UpdateCredentialRequest {
        config: Some(patchbay_api::ConfigurationUpdate {
            shared_settings: Some(json!({"pipeline": "Sales"}).as_object().unwrap().clone()),
            workflow_settings: None,
        }),
        external_id: None,
    };
    ada.update_credential(&b.to_string(), &settings)
        .await
        .unwrap();
    ada.enable_workflow("sync", Some(&b.to_string()))
        .await
        .unwrap();
    let replace = InstallRequest {
        selected_credential_id: Some(b.to_string()),
        ..Default::default()
    };
    let replaced = connect(&ada, &replace, "acct_katherine").await;
    assert_eq!(replaced.credential_id, Some(b));
    let c = ada.credential(&b.to_string()).await.unwrap();
    assert_eq!(c.provider_id.as_deref(), Some("acct_katherine"));
    assert_eq!(
        c.configurations[0].shared_settings,
        json!({"pipeline": "Sales"})
    );
    assert!(c.configurations[0].workflow_settings["sync"].enabled);
    assert_eq!(credential_ids(&ada).await, [a, b]);

    // Uninstall never guesses.
    let err = ada.uninstall("crm", None).await.unwrap_err();
    api_error(&err, 409, "credential_selection_required");
    assert_eq!(credential_ids(&ada).await, [a, b]);
    ada.uninstall("crm", Some(&b.to_string())).await.unwrap();
    assert_eq!(credential_ids(&ada).await, [a]);
    let me = ada.me().await.unwrap();
    assert_eq!(me.integrations["crm"].credential_id, Some(a));
    // One account left: no selection needed any more.
    ada.uninstall("crm", None).await.unwrap();
    assert!(credential_ids(&ada).await.is_empty());
    assert_eq!(
        ada.uninstall("crm", None).await.unwrap_err().code(),
        Some("integration_not_installed")
    );
}

async fn labels_and_their_rules(db: TestDb) {
    let setup = setup(&db).await;
    let project = &setup.project;
    let ada = project.user("ada");
    let work = InstallRequest {
        external_id: Some("work".into()),
        ..Default::default()
    };
    let a = connect(&ada, &work, "acct_ada")
        .await
        .credential_id
        .unwrap();
    assert_eq!(
        ada.credential("ext:work").await.unwrap_err().code(),
        Some("credential_not_found"),
        "GET takes ids only"
    );
    let labelled = ada.credentials(Some("crm")).await.unwrap();
    assert_eq!(labelled[0].external_id.as_deref(), Some("work"));
    let taken = InstallRequest {
        external_id: Some("work".into()),
        allow_multiple_credentials: true,
        ..Default::default()
    };
    assert_eq!(
        ada.start_install("crm", &taken).await.unwrap_err().code(),
        Some("external_id_taken")
    );
    let both = InstallRequest {
        external_id: Some("home".into()),
        selected_credential_id: Some(a.to_string()),
        ..Default::default()
    };
    assert_eq!(
        ada.start_install("crm", &both).await.unwrap_err().code(),
        Some("validation_failed")
    );
    // Selecting by label replaces that account.
    let by_label = InstallRequest {
        selected_credential_id: Some("ext:work".into()),
        ..Default::default()
    };
    assert_eq!(
        connect(&ada, &by_label, "acct_grace").await.credential_id,
        Some(a)
    );
    let someone_elses = InstallRequest {
        selected_credential_id: Some(Uuid::new_v4().to_string()),
        ..Default::default()
    };
    assert_eq!(
        ada.start_install("crm", &someone_elses)
            .await
            .unwrap_err()
            .code(),
        Some("credential_not_found")
    );
    let grace = project.user("grace");
    let foreign = InstallRequest {
        selected_credential_id: Some(a.to_string()),
        ..Default::default()
    };
    assert_eq!(
        grace
            .start_install("crm", &foreign)
            .await
            .unwrap_err()
            .code(),
        Some("credential_not_found")
    );
    assert_eq!(
        ada.start_install("nope", &InstallRequest::default())
            .await
            .unwrap_err()
            .code(),
        Some("integration_not_found")
    );
}

async fn api_keys_are_verified_before_anything_is_stored(db: TestDb) {
    let setup = setup(&db).await;
    let (project, server) = (&setup.project, &setup.server);
    let ada = project.user("ada");
    let with_key = |key: &str| InstallRequest {
        credentials: Some(json!({"apiKey": key}).as_object().unwrap().clone()),
        ..Default::default()
    };
    let err = ada
        .install_with_credentials("keys", &with_key("sbx_key_wrong"))
        .await
        .unwrap_err();
    let body = api_error(&err, 422, "credentials_rejected");
    assert!(!body.message.contains("sbx_key_wrong"));
    assert!(
        ada.credentials(Some("keys")).await.unwrap().is_empty(),
        "nothing stored"
    );
    let none = server
        .state
        .store()
        .credentials()
        .list_credentials(project.id, &Default::default())
        .await
        .unwrap();
    assert!(none.is_empty());

    let missing = InstallRequest {
        credentials: Some(Default::default()),
        ..Default::default()
    };
    assert_eq!(
        ada.install_with_credentials("keys", &missing)
            .await
            .unwrap_err()
            .code(),
        Some("validation_failed")
    );

    let completed = ada
        .install_with_credentials("keys", &with_key("sbx_key_ada_3f9c2e71d4b8"))
        .await
        .unwrap();
    assert_eq!(
        completed.credential.provider_id.as_deref(),
        Some("acct_ada")
    );
    assert!(!completed.deduplicated);
    let text = serde_json::to_string(&completed).unwrap();
    assert!(!text.contains("sbx_key_ada"), "the key is never returned");
    let again = InstallRequest {
        allow_multiple_credentials: true,
        ..with_key("sbx_key_ada_3f9c2e71d4b8")
    };
    let deduplicated = ada.install_with_credentials("keys", &again).await.unwrap();
    assert!(deduplicated.deduplicated);
    assert_eq!(deduplicated.credential.id, completed.credential.id);
}

/// The `prompt` an install's authorization URL carries, if any.
async fn prompt_of(user: &UserClient, request: &InstallRequest) -> Option<String> {
    let started = user.start_install("crm", request).await.unwrap();
    url::Url::parse(&started.authorization_url)
        .unwrap()
        .query_pairs()
        .find(|(name, _)| name == "prompt")
        .map(|(_, value)| value.into_owned())
}

/// `addAccountParams` (the test provider's `prompt: select_account`) go to
/// the provider only once the user has an account of the integration:
/// adding another and reconnecting one, never the first connection.
async fn add_account_params_only_once_the_user_has_an_account(db: TestDb) {
    let setup = setup(&db).await;
    let ada = setup.project.user("ada");
    assert_eq!(prompt_of(&ada, &InstallRequest::default()).await, None);
    let first = connect(&ada, &InstallRequest::default(), "acct_ada").await;
    let account = first.credential_id.unwrap();

    let select_account = Some("select_account".to_owned());
    assert_eq!(prompt_of(&ada, &allow_multiple()).await, select_account);
    let reconnect = InstallRequest {
        selected_credential_id: Some(account.to_string()),
        ..Default::default()
    };
    assert_eq!(prompt_of(&ada, &reconnect).await, select_account);
    // Another user's first account is a first connection again.
    let grace = setup.project.user("grace");
    assert_eq!(prompt_of(&grace, &InstallRequest::default()).await, None);
}

backend_tests!(
    several_accounts_of_one_integration,
    add_account_params_only_once_the_user_has_an_account,
    labels_and_their_rules,
    api_keys_are_verified_before_anything_is_stored,
);
