use patchbay_core::crypto::MasterKey;
use patchbay_core::secret_key::{NewSecretKey, SecretKeyHash};
use patchbay_store::{
    ACTIVE_KEY_LIMIT, AccountReplacement, CredentialChanges, ExecutionOutcome, ExecutionStatus,
    NewEvent, NewExecution, NewInstallSession, NewProject, NewSecretKeyRecord, NewWebhookEndpoint,
    StepRecord, StepStatus, Store, StoreError, StoreResult, now,
};
use patchbay_test_support::{TestDb, backend_tests};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::fixtures::{self, UNLIMITED, signing_key};

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

/// Every control character but NUL, which both backends store as given.
fn control_characters() -> String {
    ('\u{1}'..='\u{1f}').collect()
}

fn is_refused<T: std::fmt::Debug>(result: StoreResult<T>) -> bool {
    matches!(result, Err(StoreError::Refused(_)))
}

/// Each string field of each record the store writes, with `text` in it.
struct Written {
    user_id: String,
    external_id: String,
    provider_data: Value,
    event_name: String,
    event_payload: Value,
    step_output: Value,
    step_error: String,
    webhook_url: String,
    project_name: String,
}

impl Written {
    fn with(text: &str) -> Self {
        Self {
            user_id: format!("user{text}"),
            external_id: format!("ext{text}"),
            provider_data: json!({"name": format!("Account{text}"), format!("key{text}"): [text]}),
            event_name: format!("credential.created{text}"),
            event_payload: json!({"note": text}),
            step_output: json!({"body": {"text": text}}),
            step_error: format!("failed{text}"),
            webhook_url: format!("https://hooks.example/{text}"),
            project_name: format!("Project{text}"),
        }
    }
}

fn event(project_id: Uuid, user_id: &str, credential_id: Uuid, written: &Written) -> NewEvent {
    NewEvent {
        name: written.event_name.clone(),
        payload: written.event_payload.clone(),
        ..fixtures::event(project_id, user_id, credential_id, "unused")
    }
}

fn execution(
    project_id: Uuid,
    integration_id: Uuid,
    credential_id: Uuid,
    user_id: &str,
) -> NewExecution {
    NewExecution {
        id: Uuid::new_v4(),
        project_id,
        workflow_id: "sync".to_owned(),
        integration_id,
        user_id: user_id.to_owned(),
        credential_id,
        configuration_id: None,
        trigger: json!({"type": "app_event"}),
        status: ExecutionStatus::Queued,
        started_at: now(),
    }
}

fn outcome(written: &Written) -> ExecutionOutcome {
    ExecutionOutcome {
        status: ExecutionStatus::Failed,
        error: Some(written.step_error.clone()),
        ended_at: now(),
        duration_ms: 1,
        steps: vec![StepRecord {
            seq: 0,
            step_id: "fetch".to_owned(),
            status: StepStatus::Failed,
            input: None,
            output: Some(written.step_output.clone()),
            error: Some(written.step_error.clone()),
            started_at: now(),
            duration_ms: Some(1),
        }],
    }
}

fn webhook_endpoint(project_id: Uuid, written: &Written) -> NewWebhookEndpoint {
    NewWebhookEndpoint {
        id: Uuid::new_v4(),
        project_id,
        url: written.webhook_url.clone(),
        event_types: vec![written.event_name.clone()],
        secret: b"sealed-secret".to_vec(),
    }
}

/// The same integration on both backends, where the records written refer to.
async fn project_with_integration(store: &Arc<dyn Store>) -> (Uuid, Uuid) {
    let project_id = fixtures::project(store).await;
    let integration_id = fixtures::integrations(store, project_id, &["crm"]).await[0];
    (project_id, integration_id)
}

async fn nul_is_refused_in_every_stored_string_on_both_backends(db: TestDb) {
    let store = db.store();
    let (project_id, integration_id) = project_with_integration(&store).await;
    let with_nul = Written::with("a\u{0}b");
    let clean = Written::with("plain");

    let (project, _, key) = new_project(&with_nul.project_name);
    assert!(is_refused(
        store.projects().create_project(&project, &key).await
    ));
    assert_eq!(
        store.projects().get_project(project.id).await.unwrap(),
        None
    );

    assert!(is_refused(
        store
            .users()
            .upsert_user(project_id, &with_nul.user_id, None)
            .await
    ));
    let meta = json!({"plan": "a\u{0}b"});
    assert!(is_refused(
        store
            .users()
            .upsert_user(project_id, &clean.user_id, meta.as_object())
            .await
    ));
    assert_eq!(
        store
            .users()
            .get_user(project_id, &clean.user_id)
            .await
            .unwrap(),
        None
    );

    let mut credential = fixtures::credential(project_id, integration_id, &clean.user_id);
    for refused in [
        fixtures::credential(project_id, integration_id, &with_nul.user_id),
        {
            let mut c = credential.clone();
            c.external_id = Some(with_nul.external_id.clone());
            c
        },
        {
            let mut c = credential.clone();
            c.provider_data = with_nul.provider_data.clone();
            c
        },
    ] {
        assert!(is_refused(
            store.credentials().insert_credential(&refused, &[]).await
        ));
        assert_eq!(
            store
                .credentials()
                .get_credential(project_id, refused.id)
                .await
                .unwrap(),
            None
        );
    }
    // An event with a NUL undoes the change it was recorded with.
    let refused_event = event(project_id, &clean.user_id, credential.id, &with_nul);
    assert!(is_refused(
        store
            .credentials()
            .insert_credential(&credential, &[refused_event])
            .await
    ));
    assert_eq!(
        store
            .credentials()
            .get_credential(project_id, credential.id)
            .await
            .unwrap(),
        None
    );
    credential.id = Uuid::new_v4();
    store
        .credentials()
        .insert_credential(&credential, &[])
        .await
        .unwrap();

    let refused_run = execution(project_id, integration_id, credential.id, &with_nul.user_id);
    assert!(is_refused(
        store.workflows().insert_execution(&refused_run, None).await
    ));
    let run = execution(project_id, integration_id, credential.id, &clean.user_id);
    assert!(
        store
            .workflows()
            .insert_execution(&run, None)
            .await
            .unwrap()
    );
    assert!(is_refused(
        store
            .workflows()
            .finish_execution(project_id, run.id, &outcome(&with_nul), &[], None)
            .await
    ));
    let (stored, steps) = store
        .workflows()
        .get_execution(project_id, run.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, ExecutionStatus::Queued);
    assert!(steps.is_empty());

    let endpoint = webhook_endpoint(project_id, &with_nul);
    assert!(is_refused(
        store.events().create_webhook_endpoint(&endpoint).await
    ));
    assert_eq!(
        store
            .events()
            .get_webhook_endpoint(project_id, endpoint.id)
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .events()
            .list_user_events(project_id, &clean.user_id, 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Changes to records that exist: each refused before anything is written.
async fn nul_is_refused_in_every_change_on_both_backends(db: TestDb) {
    let store = db.store();
    let (project_id, integration_id) = project_with_integration(&store).await;
    let with_nul = Written::with("a\u{0}b");
    let credential = fixtures::credential(project_id, integration_id, "ada");
    let inserted = fixtures::insert_credential(&store, &credential).await;

    let changes = CredentialChanges {
        external_id: Some(Some(with_nul.external_id.clone())),
        ..CredentialChanges::default()
    };
    assert!(is_refused(
        store
            .credentials()
            .update_credential(project_id, credential.id, &changes, &[])
            .await
    ));
    let replacement = AccountReplacement {
        provider_id: Some("account-2".to_owned()),
        provider_data: with_nul.provider_data.clone(),
        secrets: None,
        account_vars: json!({}),
        valid_until: None,
        next_refresh_at: None,
    };
    assert!(is_refused(
        store
            .credentials()
            .replace_credential_account(project_id, credential.id, &replacement, &[])
            .await
    ));
    let unchanged = fixtures::find_credential(&store, project_id, credential.id).await;
    assert_eq!(unchanged, Some(inserted));

    let session = NewInstallSession {
        id: Uuid::new_v4(),
        project_id,
        integration_id,
        user_id: "ada".to_owned(),
        state_hash: "state-hash".to_owned(),
        secrets: None,
        options: json!({"redirectUrl": with_nul.webhook_url}),
        expires_at: now(),
    };
    assert!(is_refused(
        store
            .install_sessions()
            .create_install_session(&session)
            .await
    ));
    assert!(
        store
            .install_sessions()
            .get_install_session(project_id, session.id)
            .await
            .unwrap()
            .is_none()
    );

    let before = store.projects().get_project(project_id).await.unwrap();
    let mut config = fixtures::config(vec![fixtures::integration("crm")], vec![]);
    config.document = json!({"note": with_nul.project_name});
    assert!(is_refused(
        store
            .projects()
            .apply_config(project_id, &config, &[])
            .await
    ));
    assert_eq!(
        store.projects().get_project(project_id).await.unwrap(),
        before
    );
}

async fn other_control_characters_are_stored_faithfully_on_both_backends(db: TestDb) {
    let store = db.store();
    let (project_id, integration_id) = project_with_integration(&store).await;
    let written = Written::with(&control_characters());

    let (project, _, key) = new_project(&written.project_name);
    let created = store
        .projects()
        .create_project(&project, &key)
        .await
        .unwrap();
    assert_eq!(created.name, written.project_name);

    let meta = json!({"plan": control_characters()});
    let user = store
        .users()
        .upsert_user(project_id, &written.user_id, meta.as_object())
        .await
        .unwrap();
    assert_eq!(user.user_id, written.user_id);
    assert_eq!(Value::Object(user.meta), meta);

    let mut credential = fixtures::credential(project_id, integration_id, &written.user_id);
    credential.external_id = Some(written.external_id.clone());
    credential.provider_data = written.provider_data.clone();
    let recorded = event(project_id, &written.user_id, credential.id, &written);
    store
        .credentials()
        .insert_credential(&credential, std::slice::from_ref(&recorded))
        .await
        .unwrap();
    let stored = store
        .credentials()
        .get_credential(project_id, credential.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.user_id, written.user_id);
    assert_eq!(
        stored.external_id.as_deref(),
        Some(written.external_id.as_str())
    );
    assert_eq!(stored.provider_data, written.provider_data);
    let events = store
        .events()
        .list_user_events(project_id, &written.user_id, 0, 100)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].name, written.event_name);
    assert_eq!(events[0].payload, written.event_payload);

    let run = execution(project_id, integration_id, credential.id, &written.user_id);
    assert!(
        store
            .workflows()
            .insert_execution(&run, None)
            .await
            .unwrap()
    );
    store
        .workflows()
        .finish_execution(project_id, run.id, &outcome(&written), &[], None)
        .await
        .unwrap();
    let (stored_run, steps) = store
        .workflows()
        .get_execution(project_id, run.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored_run.user_id, written.user_id);
    assert_eq!(
        stored_run.error.as_deref(),
        Some(written.step_error.as_str())
    );
    assert_eq!(steps[0].output.as_ref(), Some(&written.step_output));
    assert_eq!(steps[0].error.as_deref(), Some(written.step_error.as_str()));

    let endpoint = store
        .events()
        .create_webhook_endpoint(&webhook_endpoint(project_id, &written))
        .await
        .unwrap();
    assert_eq!(endpoint.url, written.webhook_url);
    assert_eq!(
        endpoint.event_types,
        std::slice::from_ref(&written.event_name)
    );
}

/// JSON numbers at the edges of what a client can send. PostgreSQL's `jsonb`
/// keeps them as exact decimals and prints them in full (f64::MAX as 309
/// digits); each must read back as the number that was written.
fn edge_numbers() -> Value {
    json!({
        "largest": f64::MAX,
        "most_negative": f64::MIN,
        "smallest_normal": f64::MIN_POSITIVE,
        "smallest_subnormal": 5e-324,
        "big": 1.5e300,
        "fraction": 0.1,
        "u64_max": u64::MAX,
        "i64_min": i64::MIN,
    })
}

async fn edge_numbers_read_back_as_written_on_both_backends(db: TestDb) {
    let store = db.store();
    let (project_id, integration_id) = project_with_integration(&store).await;
    let numbers = edge_numbers();

    let meta = json!({"numbers": numbers});
    store
        .users()
        .upsert_user(project_id, "numbers", meta.as_object())
        .await
        .unwrap();
    let user = store
        .users()
        .get_user(project_id, "numbers")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(Value::Object(user.meta), meta);

    let mut credential = fixtures::credential(project_id, integration_id, "numbers");
    credential.provider_data = numbers.clone();
    fixtures::insert_credential(&store, &credential).await;
    let stored = fixtures::find_credential(&store, project_id, credential.id)
        .await
        .unwrap();
    assert_eq!(stored.provider_data, numbers);
}

backend_tests!(
    a_project_is_created_with_its_first_key,
    creating_a_project_is_atomic,
    secret_keys_rotate_and_revoke_per_project,
    data_keys_are_kept_in_creation_order,
    active_keys_are_capped_even_when_added_at_once,
    nul_is_refused_in_every_stored_string_on_both_backends,
    nul_is_refused_in_every_change_on_both_backends,
    other_control_characters_are_stored_faithfully_on_both_backends,
    edge_numbers_read_back_as_written_on_both_backends,
);
