//! Key rotation support: standby, active and retired data keys, and the
//! compare-and-swap scan over sealed columns.

use std::sync::Arc;

use patchbay_core::crypto::MasterKey;
use patchbay_store::{NewInstallSession, SealedColumn, SecretUpdate, Store, StoreError, now};
use patchbay_test_support::{TestDb, backend_tests};
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::{
    config, credential, find_credential, insert_credential, integration, project,
};

fn retired(listed: &[patchbay_store::DataKeyRecord]) -> Vec<(Uuid, bool)> {
    listed
        .iter()
        .map(|k| (k.key.id, k.retired_at.is_some()))
        .collect()
}

async fn standby_keys_are_activated_and_the_others_retired(db: TestDb) {
    let store = db.store();
    let master = MasterKey::generate();
    let first = master.generate_data_key();
    let second = master.generate_data_key();
    store.data_keys().insert_data_key(&first).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let standby = store
        .data_keys()
        .insert_standby_data_key(&second)
        .await
        .unwrap();
    assert_eq!(standby.key, second);
    assert!(standby.retired_at.is_some(), "a standby key never seals");
    assert_eq!(
        retired(&store.data_keys().list_data_keys().await.unwrap()),
        [(first.id, false), (second.id, true)]
    );

    store
        .data_keys()
        .activate_data_key(second.id)
        .await
        .unwrap();
    assert_eq!(
        retired(&store.data_keys().list_data_keys().await.unwrap()),
        [(first.id, false), (second.id, false)]
    );
    assert_eq!(retire_all_but(&store, second.id).await, 1);
    let listed = store.data_keys().list_data_keys().await.unwrap();
    assert_eq!(retired(&listed), [(first.id, true), (second.id, false)]);
    assert_eq!(retire_all_but(&store, second.id).await, 0);
    assert_eq!(
        store.data_keys().list_data_keys().await.unwrap()[0].retired_at,
        listed[0].retired_at,
        "retiring again keeps the first retirement time"
    );

    let err = store
        .data_keys()
        .activate_data_key(Uuid::new_v4())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert!(matches!(
        store
            .data_keys()
            .insert_standby_data_key(&first)
            .await
            .unwrap_err(),
        StoreError::Conflict { .. }
    ));
}

async fn all_sealed(
    store: &Arc<dyn Store>,
    column: SealedColumn,
    page: i64,
) -> Vec<(Uuid, Vec<u8>)> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let values = store
            .data_keys()
            .list_sealed(column, after, page)
            .await
            .unwrap();
        assert!(values.len() as i64 <= page);
        let Some(last) = values.last() else { break };
        after = Some(last.record_id);
        out.extend(values.into_iter().map(|v| (v.record_id, v.ciphertext)));
    }
    out
}

async fn sealed_columns_are_listed_in_pages(db: TestDb) {
    let store = db.store();
    let project_id = project(&store).await;
    let other_project = project(&store).await;
    let mut writes: Vec<_> = ["a", "b", "c"].iter().map(|t| integration(t)).collect();
    let mut without = integration("no-secret");
    without.client_secret = SecretUpdate::Clear;
    writes.push(without);
    store
        .projects()
        .apply_config(project_id, &config(writes.clone(), vec![]), &[])
        .await
        .unwrap();
    let other = integration("elsewhere");
    store
        .projects()
        .apply_config(other_project, &config(vec![other.clone()], vec![]), &[])
        .await
        .unwrap();

    let mut expected: Vec<_> = writes[..3]
        .iter()
        .chain([&other])
        .map(|w| (w.id, format!("sealed-{}", w.type_name).into_bytes()))
        .collect();
    expected.sort();
    for page in [1, 2, 100] {
        let mut listed = all_sealed(&store, SealedColumn::IntegrationClientSecret, page).await;
        let ids: Vec<_> = listed.iter().map(|(id, _)| *id).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len(), "no row listed twice");
        listed.sort();
        assert_eq!(listed, expected, "page size {page}");
    }
    let first = store
        .data_keys()
        .list_sealed(SealedColumn::IntegrationClientSecret, None, 100)
        .await
        .unwrap();
    let projects: Vec<_> = first.iter().map(|v| (v.record_id, v.project_id)).collect();
    assert!(projects.contains(&(other.id, other_project)));
    assert!(projects.contains(&(writes[0].id, project_id)));

    let cred = credential(project_id, writes[0].id, "ada");
    insert_credential(&store, &cred).await;
    let session = NewInstallSession {
        id: Uuid::new_v4(),
        project_id,
        integration_id: writes[1].id,
        user_id: "ada".to_owned(),
        state_hash: "state-hash".to_owned(),
        secrets: Some(b"sealed-verifier".to_vec()),
        options: json!({}),
        expires_at: now() + chrono::Duration::minutes(10),
    };
    store
        .install_sessions()
        .create_install_session(&session)
        .await
        .unwrap();
    assert_eq!(
        all_sealed(&store, SealedColumn::CredentialSecrets, 10).await,
        [(cred.id, b"sealed-tokens".to_vec())]
    );
    assert_eq!(
        all_sealed(&store, SealedColumn::InstallSessionSecrets, 10).await,
        [(session.id, b"sealed-verifier".to_vec())]
    );
    assert!(
        all_sealed(&store, SealedColumn::WebhookEndpointSecret, 10)
            .await
            .is_empty()
    );
}

/// Retires every data key but `kept`; how many it retired.
async fn retire_all_but(store: &Arc<dyn Store>, kept: Uuid) -> u64 {
    store
        .data_keys()
        .retire_data_keys_except(kept)
        .await
        .unwrap()
}

/// Replaces `from` by `to` in `column` of row `id`; whether it was there to replace.
async fn swap(
    store: &Arc<dyn Store>,
    column: SealedColumn,
    id: Uuid,
    from: &[u8],
    to: &[u8],
) -> bool {
    store
        .data_keys()
        .swap_sealed(column, id, from, to)
        .await
        .unwrap()
}

async fn sealed_values_are_swapped_only_from_the_value_read(db: TestDb) {
    let store = db.store();
    let project_id = project(&store).await;
    let writes = vec![integration("crm")];
    store
        .projects()
        .apply_config(project_id, &config(writes.clone(), vec![]), &[])
        .await
        .unwrap();
    let cred = credential(project_id, writes[0].id, "ada");
    let before = insert_credential(&store, &cred).await;
    let column = SealedColumn::CredentialSecrets;

    assert!(
        !swap(&store, column, cred.id, b"not-the-value", b"rotated").await,
        "a stale value is refused"
    );
    assert!(!swap(&store, column, Uuid::new_v4(), b"sealed-tokens", b"rotated").await);
    let unchanged = find_credential(&store, project_id, cred.id).await.unwrap();
    assert_eq!(unchanged.secrets.as_deref(), Some(&b"sealed-tokens"[..]));

    assert!(swap(&store, column, cred.id, b"sealed-tokens", b"rotated").await);
    let after = find_credential(&store, project_id, cred.id).await.unwrap();
    assert_eq!(after.secrets.as_deref(), Some(&b"rotated"[..]));
    assert_eq!(
        after.version, before.version,
        "a rotation is not a new version"
    );
    assert!(
        !swap(&store, column, cred.id, b"sealed-tokens", b"again").await,
        "the old value is gone"
    );

    // Another column of the same backend, and the other integration's row
    // stays as it was.
    let secret_column = SealedColumn::IntegrationClientSecret;
    assert!(
        swap(
            &store,
            secret_column,
            writes[0].id,
            b"sealed-crm",
            b"rotated-crm"
        )
        .await
    );
    let integrations = store
        .projects()
        .list_integrations(project_id)
        .await
        .unwrap();
    assert_eq!(
        integrations[0].client_secret.as_deref(),
        Some(&b"rotated-crm"[..])
    );
}

backend_tests!(
    standby_keys_are_activated_and_the_others_retired,
    sealed_columns_are_listed_in_pages,
    sealed_values_are_swapped_only_from_the_value_read,
);
