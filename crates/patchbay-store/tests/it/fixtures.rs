//! Building blocks the contract tests share.

use std::sync::Arc;

use patchbay_core::secret_key::NewSecretKey;
use patchbay_store::{
    ConfigWrite, ConnectedUser, CredentialFilter, CredentialRecord, CredentialStatus,
    IntegrationWrite, NewCredential, NewEvent, NewProject, NewSecretKeyRecord, NewSigningKey,
    Project, SecretUpdate, SigningKeyRecord, Store, WorkflowWrite,
};
use serde_json::json;
use uuid::Uuid;

/// A limit on active keys that no test reaches but the one about limits.
pub const UNLIMITED: usize = usize::MAX;

pub async fn project(store: &Arc<dyn Store>) -> Uuid {
    let project = NewProject {
        id: Uuid::new_v4(),
        name: "Fixture".to_owned(),
    };
    let key = NewSecretKey::generate();
    let record = NewSecretKeyRecord {
        id: Uuid::new_v4(),
        project_id: project.id,
        hash: key.hash(),
        display_prefix: key.display_prefix(),
    };
    store
        .projects()
        .create_project(&project, &record)
        .await
        .unwrap();
    project.id
}

pub fn integration(type_name: &str) -> IntegrationWrite {
    IntegrationWrite {
        id: Uuid::new_v4(),
        type_name: type_name.to_owned(),
        definition: json!({"name": type_name}),
        client_secret: SecretUpdate::Set(format!("sealed-{type_name}").into_bytes()),
        webhook_secret: SecretUpdate::Set(format!("sealed-webhook-{type_name}").into_bytes()),
    }
}

pub fn workflow(id: &str, integration: &IntegrationWrite) -> WorkflowWrite {
    WorkflowWrite {
        id: id.to_owned(),
        integration_id: integration.id,
        trigger_type: "app_event".to_owned(),
        trigger_event: Some("Contact Created".to_owned()),
        definition: json!({"id": id}),
    }
}

pub fn config(integrations: Vec<IntegrationWrite>, workflows: Vec<WorkflowWrite>) -> ConfigWrite {
    ConfigWrite {
        settings: json!({"requireExplicitCredential": false}),
        document: json!({"integrations": integrations.iter().map(|i| i.type_name.clone()).collect::<Vec<_>>()}),
        integrations,
        workflows,
    }
}

/// Applies one integration per type and returns their ids in order.
pub async fn integrations(store: &Arc<dyn Store>, project_id: Uuid, types: &[&str]) -> Vec<Uuid> {
    let writes: Vec<_> = types.iter().map(|t| integration(t)).collect();
    let ids = writes.iter().map(|w| w.id).collect();
    store
        .projects()
        .apply_config(project_id, &config(writes, vec![]), &[])
        .await
        .unwrap();
    ids
}

pub fn credential(project_id: Uuid, integration_id: Uuid, user_id: &str) -> NewCredential {
    NewCredential {
        id: Uuid::new_v4(),
        project_id,
        integration_id,
        user_id: user_id.to_owned(),
        external_id: None,
        provider_id: None,
        provider_data: json!({"name": "Account"}),
        status: CredentialStatus::Valid,
        secrets: Some(b"sealed-tokens".to_vec()),
        account_vars: json!({}),
        valid_until: None,
        next_refresh_at: None,
        workflow_settings: json!({}),
    }
}

/// The user `user_id` of the project, if there is one.
pub async fn find_user(
    store: &Arc<dyn Store>,
    project_id: Uuid,
    user_id: &str,
) -> Option<ConnectedUser> {
    store.users().get_user(project_id, user_id).await.unwrap()
}

/// Stores `new` with no events.
pub async fn insert_credential(store: &Arc<dyn Store>, new: &NewCredential) -> CredentialRecord {
    insert_credential_with(store, new, &[]).await
}

/// Stores `new` together with `events`.
pub async fn insert_credential_with(
    store: &Arc<dyn Store>,
    new: &NewCredential,
    events: &[NewEvent],
) -> CredentialRecord {
    store
        .credentials()
        .insert_credential(new, events)
        .await
        .unwrap()
}

/// The project's credentials that `filter` selects.
pub async fn list_credentials(
    store: &Arc<dyn Store>,
    project_id: Uuid,
    filter: &CredentialFilter,
) -> Vec<CredentialRecord> {
    store
        .credentials()
        .list_credentials(project_id, filter)
        .await
        .unwrap()
}

/// The credential `id` of the project as stored, if it is.
pub async fn find_credential(
    store: &Arc<dyn Store>,
    project_id: Uuid,
    id: Uuid,
) -> Option<CredentialRecord> {
    store
        .credentials()
        .get_credential(project_id, id)
        .await
        .unwrap()
}

pub fn event(project_id: Uuid, user_id: &str, credential_id: Uuid, name: &str) -> NewEvent {
    NewEvent {
        id: Uuid::new_v4(),
        project_id,
        user_id: user_id.to_owned(),
        integration_id: None,
        credential_id: Some(credential_id),
        name: name.to_owned(),
        payload: json!({"credentialId": credential_id}),
    }
}

pub fn signing_key(project_id: Uuid, kid: &str) -> NewSigningKey {
    NewSigningKey {
        project_id,
        kid: kid.to_owned(),
        algorithm: "ES256".to_owned(),
        public_key_pem: format!("-----BEGIN PUBLIC KEY-----\n{kid}\n-----END PUBLIC KEY-----\n"),
    }
}

/// Adds signing key `kid` to the project, with no limit on active keys.
pub async fn add_signing_key(
    store: &Arc<dyn Store>,
    project_id: Uuid,
    kid: &str,
) -> SigningKeyRecord {
    store
        .projects()
        .insert_signing_key(&signing_key(project_id, kid), UNLIMITED)
        .await
        .unwrap()
}

/// The project and its active signing keys, as authentication reads them.
pub async fn find_project_with_active_keys(
    store: &Arc<dyn Store>,
    project_id: Uuid,
) -> Option<(Project, Vec<SigningKeyRecord>)> {
    store
        .projects()
        .get_project_with_active_keys(project_id)
        .await
        .unwrap()
}
