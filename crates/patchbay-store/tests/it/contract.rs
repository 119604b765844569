use patchbay_core::crypto::MasterKey;
use patchbay_core::secret_key::{NewSecretKey, SecretKeyHash};
use patchbay_store::{ACTIVE_KEY_LIMIT, NewProject, NewSecretKeyRecord, StoreError, StoreResult};
use patchbay_test_support::{TestDb, backend_tests};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::fixtures::{UNLIMITED, signing_key};

fn new_project(name: &str) -> (NewProject, NewSecretKey, NewSecretKeyRecord) {
    let project = NewProject {
        id: Uuid::new_v4(),
        name: name.to_owned(),
    };
    let key = NewSecretKey::generate();
    let record = key_record(project.id, &key);
    (project, key, record)
}

fn key_record(project_id: Uuid, key: &NewSecretKey) -> NewSecretKeyRecord {
    NewSecretKeyRecord {
        id: Uuid::new_v4(),
        project_id,
        hash: key.hash(),
        display_prefix: key.display_prefix(),
    }
}

async fn a_project_is_created_with_its_first_key(db: TestDb) {
    let store = db.store();
    let (project, key, record) = new_project("Acme");
    let created = store
        .projects()
        .create_project(&project, &record)
        .await
        .unwrap();
    assert_eq!(created.id, project.id);
    assert_eq!(created.name, "Acme");
    assert_eq!(created.settings, serde_json::json!({}));
    assert_eq!(
        store.projects().get_project(project.id).await.unwrap(),
        Some(created)
    );

    let found = store
        .secret_keys()
        .find_active_secret_key(&key.hash())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.project_id, project.id);
    assert_eq!(found.display_prefix, key.display_prefix());
    assert!(found.revoked_at.is_none());
    assert_eq!(
        store
            .secret_keys()
            .list_secret_keys(project.id)
            .await
            .unwrap(),
        vec![found]
    );
    assert_eq!(
        store.projects().get_project(Uuid::new_v4()).await.unwrap(),
        None
    );
}

async fn creating_a_project_is_atomic(db: TestDb) {
    let store = db.store();
    let (first, _, first_key) = new_project("First");
    store
        .projects()
        .create_project(&first, &first_key)
        .await
        .unwrap();

    // A second project whose key collides with the first one's must leave no
    // project row behind.
    let second = NewProject {
        id: Uuid::new_v4(),
        name: "Second".to_owned(),
    };
    let colliding = NewSecretKeyRecord {
        id: Uuid::new_v4(),
        project_id: second.id,
        ..first_key
    };
    let err = store
        .projects()
        .create_project(&second, &colliding)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(store.projects().get_project(second.id).await.unwrap(), None);
}

async fn secret_keys_rotate_and_revoke_per_project(db: TestDb) {
    let store = db.store();
    let (project, first, first_record) = new_project("Rotating");
    store
        .projects()
        .create_project(&project, &first_record)
        .await
        .unwrap();
    let (other, other_key, other_record) = new_project("Other");
    store
        .projects()
        .create_project(&other, &other_record)
        .await
        .unwrap();

    // Listings are oldest first; keys made in the same millisecond tie.
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let second = NewSecretKey::generate();
    let second_record = store
        .secret_keys()
        .insert_secret_key(&key_record(project.id, &second), UNLIMITED)
        .await
        .unwrap();
    let keys = store
        .secret_keys()
        .list_secret_keys(project.id)
        .await
        .unwrap();
    assert_eq!(
        keys.iter().map(|k| k.id).collect::<Vec<_>>(),
        [first_record.id, second_record.id]
    );

    // Another project's key cannot be revoked through this project.
    let err = store
        .secret_keys()
        .revoke_secret_key(project.id, other_record.id)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert!(
        store
            .secret_keys()
            .find_active_secret_key(&other_key.hash())
            .await
            .unwrap()
            .is_some()
    );

    store
        .secret_keys()
        .revoke_secret_key(project.id, first_record.id)
        .await
        .unwrap();
    assert!(
        store
            .secret_keys()
            .find_active_secret_key(&first.hash())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .secret_keys()
            .find_active_secret_key(&second.hash())
            .await
            .unwrap()
            .is_some()
    );
    let err = store
        .secret_keys()
        .revoke_secret_key(project.id, first_record.id)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let listed = store
        .secret_keys()
        .list_secret_keys(project.id)
        .await
        .unwrap();
    assert!(listed[0].revoked_at.is_some());
    assert!(listed[1].revoked_at.is_none());
    assert!(
        store
            .secret_keys()
            .find_active_secret_key(&SecretKeyHash::of("pb_sk_unknown"))
            .await
            .unwrap()
            .is_none()
    );
}

async fn data_keys_are_kept_in_creation_order(db: TestDb) {
    let store = db.store();
    assert!(store.data_keys().list_data_keys().await.unwrap().is_empty());
    let master = MasterKey::generate();
    let first = master.generate_data_key();
    let second = master.generate_data_key();
    store.data_keys().insert_data_key(&first).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    store.data_keys().insert_data_key(&second).await.unwrap();
    let listed = store.data_keys().list_data_keys().await.unwrap();
    assert_eq!(
        listed.iter().map(|k| k.key.clone()).collect::<Vec<_>>(),
        [first.clone(), second]
    );
    assert!(listed.iter().all(|k| k.retired_at.is_none()));
    let err = store.data_keys().insert_data_key(&first).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
}

fn is_limit<T: std::fmt::Debug>(outcome: &StoreResult<T>) -> bool {
    matches!(outcome, Err(StoreError::Conflict { constraint }) if constraint == ACTIVE_KEY_LIMIT)
}

/// How many of `outcomes` succeeded; every other one must be the limit.
fn admitted<T: std::fmt::Debug>(outcomes: &[StoreResult<T>]) -> usize {
    for outcome in outcomes {
        assert!(outcome.is_ok() || is_limit(outcome), "{outcome:?}");
    }
    outcomes.iter().filter(|outcome| outcome.is_ok()).count()
}

async fn active_keys_are_capped_even_when_added_at_once(db: TestDb) {
    const LIMIT: usize = 3;
    let store = db.store();
    let (project, _, first) = new_project("Capped");
    store
        .projects()
        .create_project(&project, &first)
        .await
        .unwrap();
    let (other, _, other_first) = new_project("Other");
    store
        .projects()
        .create_project(&other, &other_first)
        .await
        .unwrap();

    // Eight at once where two fit: exactly two get in, whatever the race.
    let mut racing = JoinSet::new();
    for _ in 0..8 {
        let (store, record) = (
            store.clone(),
            key_record(project.id, &NewSecretKey::generate()),
        );
        racing.spawn(async move { store.secret_keys().insert_secret_key(&record, LIMIT).await });
    }
    let outcomes = racing.join_all().await;
    assert_eq!(admitted(&outcomes), 2);
    let keys = store
        .secret_keys()
        .list_secret_keys(project.id)
        .await
        .unwrap();
    assert_eq!(keys.len(), LIMIT);
    // Another project's keys are not counted; a revoked key frees its place.
    store
        .secret_keys()
        .insert_secret_key(&key_record(other.id, &NewSecretKey::generate()), LIMIT)
        .await
        .unwrap();
    store
        .secret_keys()
        .revoke_secret_key(project.id, keys[0].id)
        .await
        .unwrap();
    store
        .secret_keys()
        .insert_secret_key(&key_record(project.id, &NewSecretKey::generate()), LIMIT)
        .await
        .unwrap();
    assert!(is_limit(
        &store
            .secret_keys()
            .insert_secret_key(&key_record(project.id, &NewSecretKey::generate()), LIMIT)
            .await
    ));

    let mut racing = JoinSet::new();
    for n in 0..8 {
        let (store, key) = (store.clone(), signing_key(project.id, &format!("k{n}")));
        racing.spawn(async move { store.projects().insert_signing_key(&key, LIMIT).await });
    }
    let outcomes = racing.join_all().await;
    assert_eq!(admitted(&outcomes), LIMIT);
    let active = |keys: Vec<patchbay_store::SigningKeyRecord>| {
        keys.iter().filter(|key| key.revoked_at.is_none()).count()
    };
    assert_eq!(
        active(
            store
                .projects()
                .list_signing_keys(project.id)
                .await
                .unwrap()
        ),
        LIMIT
    );
    let kept = store
        .projects()
        .list_signing_keys(project.id)
        .await
        .unwrap()[0]
        .kid
        .clone();
    store
        .projects()
        .revoke_signing_key(project.id, &kept)
        .await
        .unwrap();
    store
        .projects()
        .insert_signing_key(&signing_key(project.id, "after-revoking"), LIMIT)
        .await
        .unwrap();
    assert!(is_limit(
        &store
            .projects()
            .insert_signing_key(&signing_key(project.id, "one-too-many"), LIMIT)
            .await
    ));
    // A taken kid is still a taken kid, not the limit, while there is room.
    let err = store
        .projects()
        .insert_signing_key(&signing_key(project.id, "after-revoking"), UNLIMITED)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { constraint } if constraint != ACTIVE_KEY_LIMIT),
        "{err:?}"
    );
}

backend_tests!(
    a_project_is_created_with_its_first_key,
    creating_a_project_is_atomic,
    secret_keys_rotate_and_revoke_per_project,
    data_keys_are_kept_in_creation_order,
    active_keys_are_capped_even_when_added_at_once,
);
