//! Accounts created directly in the store, as the connect flow will create
//! them, with their tokens sealed by the server's keyring; what the store
//! holds; and the API errors tests expect.

use patchbay_api::ErrorBody;
use patchbay_core::crypto::Aad;
use patchbay_store::{
    CredentialRecord, CredentialStatus, EventRecord, IntegrationRecord, NewCredential,
};
use patchbay_test_support::{FakeProvider, TestProject, TestServer};
use serde_json::json;
use uuid::Uuid;

/// A token string that must never appear in any response.
pub fn access_token_of(provider_id: &str) -> String {
    format!("secret-access-token-{provider_id}")
}

/// The project's integration `type_name` as stored.
pub async fn stored_integration(
    server: &TestServer,
    project: &TestProject,
    type_name: &str,
) -> IntegrationRecord {
    server
        .state
        .store()
        .projects()
        .list_integrations(project.id)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.type_name == type_name)
        .unwrap()
}

pub async fn integration_id(server: &TestServer, project: &TestProject, type_name: &str) -> Uuid {
    stored_integration(server, project, type_name).await.id
}

/// The project's account `id` as stored, if it is.
pub async fn stored_credential(
    server: &TestServer,
    project: &TestProject,
    id: Uuid,
) -> Option<CredentialRecord> {
    server
        .state
        .store()
        .credentials()
        .get_credential(project.id, id)
        .await
        .unwrap()
}

/// The body of an API error answer, checked to carry `status` and `code`.
pub fn api_error<'a>(err: &'a patchbay_sdk::Error, status: u16, code: &str) -> &'a ErrorBody {
    let patchbay_sdk::Error::Api { body } = err else {
        panic!("{err}")
    };
    assert_eq!((body.status, body.code.as_str()), (status, code));
    body
}

/// Connects a valid account of `type_name` for `user_id`.
pub async fn connect_valid(
    server: &TestServer,
    project: &TestProject,
    user_id: &str,
    type_name: &str,
    provider_id: &str,
) -> CredentialRecord {
    let valid = CredentialStatus::Valid;
    connect(server, project, user_id, type_name, provider_id, valid).await
}

/// Connects an account of `type_name` for `user_id`.
pub async fn connect(
    server: &TestServer,
    project: &TestProject,
    user_id: &str,
    type_name: &str,
    provider_id: &str,
    status: CredentialStatus,
) -> CredentialRecord {
    let id = Uuid::new_v4();
    let tokens = json!({"accessToken": access_token_of(provider_id)}).to_string();
    let sealed = server.state.engine.keyring().encrypt(
        Aad {
            project_id: project.id,
            record_id: &id.to_string(),
            field: "secrets",
        },
        tokens.as_bytes(),
    );
    let credential = NewCredential {
        id,
        project_id: project.id,
        integration_id: integration_id(server, project, type_name).await,
        user_id: user_id.to_owned(),
        external_id: None,
        provider_id: Some(provider_id.to_owned()),
        provider_data: json!({"name": format!("Account {provider_id}")}),
        status,
        secrets: Some(sealed),
        account_vars: json!({}),
        valid_until: None,
        next_refresh_at: None,
        workflow_settings: json!({}),
    };
    let created = server
        .state
        .store()
        .credentials()
        .insert_credential(&credential, &[])
        .await
        .unwrap();
    // Creation order decides the default account; keep timestamps distinct.
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    created
}

/// Ada's `credential.status_changed` event to `INVALID` for `id`, which the
/// store must hold.
pub async fn invalidation_recorded(server: &TestServer, project_id: Uuid, id: Uuid) -> EventRecord {
    let events = server
        .state
        .store()
        .events()
        .list_user_events(project_id, "ada", 0, 100)
        .await
        .unwrap();
    let changed = events
        .into_iter()
        .find(|e| e.name == "credential.status_changed")
        .expect("a status event");
    assert_eq!(changed.payload["status"], "INVALID");
    assert_eq!(changed.credential_id, Some(id));
    changed
}

/// A project configured with `document` (usually for the fake provider),
/// and Ada's user token.
pub struct ProviderSetup {
    pub server: TestServer,
    pub provider: FakeProvider,
    pub project: TestProject,
    pub token: String,
}

impl ProviderSetup {
    pub async fn new(server: TestServer, provider: FakeProvider, document: &str) -> Self {
        let project = TestProject::with_config(&server, document).await;
        let token = project.signer.mint("ada").unwrap();
        Self {
            server,
            provider,
            project,
            token,
        }
    }
}
