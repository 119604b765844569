use chrono::Duration;
use patchbay_store::{
    AccountReplacement, ConfigurationChanges, CredentialChanges, CredentialStatus, InstallStatus,
    NewInstallSession, StoreError, now,
};
use patchbay_test_support::{TestDb, backend_tests};
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::{credential, event, insert_credential, integrations, project};

async fn events_are_recorded_with_the_change_they_describe(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let crm = integrations(&store, p, &["crm"]).await[0];
    let new = credential(p, crm, "ada");
    let created = event(p, "ada", new.id, "credential.created");
    let inserted = store
        .credentials()
        .insert_credential(&new, std::slice::from_ref(&created))
        .await
        .unwrap();

    // A change that fails records nothing.
    let mut other = credential(p, crm, "grace");
    other.external_id = Some("x".into());
    store
        .credentials()
        .insert_credential(&other, &[event(p, "grace", other.id, "credential.created")])
        .await
        .unwrap();
    let mut taken = credential(p, crm, "grace");
    taken.external_id = Some("x".into());
    let lost = event(p, "grace", taken.id, "credential.created");
    assert!(matches!(
        store
            .credentials()
            .insert_credential(&taken, std::slice::from_ref(&lost))
            .await,
        Err(StoreError::Conflict { .. })
    ));

    let toggled = event(p, "ada", new.id, "workflow.state_changed");
    let changes = CredentialChanges {
        configuration: Some((
            inserted.default_configuration().id,
            ConfigurationChanges {
                workflow_settings: Some(json!({"w": {"enabled": true}})),
                ..Default::default()
            },
        )),
        ..Default::default()
    };
    store
        .credentials()
        .update_credential(p, new.id, &changes, std::slice::from_ref(&toggled))
        .await
        .unwrap();
    let deleted = event(p, "ada", new.id, "credential.deleted");
    store
        .credentials()
        .delete_credential(p, new.id, std::slice::from_ref(&deleted))
        .await
        .unwrap();
    assert!(matches!(
        store
            .credentials()
            .delete_credential(p, new.id, &[event(p, "ada", new.id, "x")])
            .await,
        Err(StoreError::NotFound)
    ));

    let ada = store
        .events()
        .list_user_events(p, "ada", 0, 100)
        .await
        .unwrap();
    let names: Vec<_> = ada.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "credential.created",
            "workflow.state_changed",
            "credential.deleted"
        ]
    );
    assert!(ada.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(ada[0].id, created.id);
    assert_eq!(ada[0].payload, created.payload);
    let grace = store
        .events()
        .list_user_events(p, "grace", 0, 100)
        .await
        .unwrap();
    assert_eq!(grace.len(), 1, "the failed insert recorded nothing");
    assert!(grace.iter().all(|e| e.id != lost.id));
    // Resuming after an event id returns only what came later.
    let after = store
        .events()
        .list_user_events(p, "ada", ada[0].seq, 100)
        .await
        .unwrap();
    assert_eq!(
        after.iter().map(|e| e.id).collect::<Vec<_>>(),
        [toggled.id, deleted.id]
    );
    assert_eq!(
        store
            .events()
            .list_user_events(p, "ada", 0, 1)
            .await
            .unwrap()
            .len(),
        1
    );
    let other_project = project(&store).await;
    assert!(
        store
            .events()
            .list_user_events(other_project, "ada", 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn replacing_an_account_keeps_id_and_configuration(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let crm = integrations(&store, p, &["crm"]).await[0];
    let mut new = credential(p, crm, "ada");
    new.provider_id = Some("T-B".into());
    new.status = CredentialStatus::Invalid;
    let original = insert_credential(&store, &new).await;
    let settings = CredentialChanges {
        configuration: Some((
            original.default_configuration().id,
            ConfigurationChanges {
                shared_settings: Some(json!({"pipeline": "Sales"})),
                ..Default::default()
            },
        )),
        ..Default::default()
    };
    store
        .credentials()
        .update_credential(p, original.id, &settings, &[])
        .await
        .unwrap();

    let replacement = AccountReplacement {
        provider_id: Some("T-C".into()),
        provider_data: json!({"name": "C"}),
        secrets: Some(b"sealed-new".to_vec()),
        account_vars: json!({"instance": "c"}),
        valid_until: Some(now() + Duration::hours(1)),
        next_refresh_at: Some(now() + Duration::minutes(55)),
    };
    let replaced = store
        .credentials()
        .replace_credential_account(
            p,
            original.id,
            &replacement,
            &[event(p, "ada", original.id, "credential.replaced")],
        )
        .await
        .unwrap();
    assert_eq!(replaced.id, original.id);
    assert_eq!(replaced.provider_id.as_deref(), Some("T-C"));
    assert_eq!(replaced.status, CredentialStatus::Valid);
    assert_eq!(replaced.secrets.as_deref(), Some(&b"sealed-new"[..]));
    assert_eq!(replaced.account_vars, json!({"instance": "c"}));
    assert_eq!(replaced.version, original.version + 1);
    assert_eq!(
        replaced.default_configuration().id,
        original.default_configuration().id
    );
    assert_eq!(
        replaced.default_configuration().shared_settings,
        json!({"pipeline": "Sales"})
    );
    assert_eq!(replaced.valid_until, replacement.valid_until);
    assert_eq!(
        store
            .events()
            .list_user_events(p, "ada", 0, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    let missing = store
        .credentials()
        .replace_credential_account(p, Uuid::new_v4(), &replacement, &[])
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)));
}

fn session(project_id: Uuid, integration_id: Uuid, state_hash: &str) -> NewInstallSession {
    NewInstallSession {
        id: Uuid::new_v4(),
        project_id,
        integration_id,
        user_id: "ada".into(),
        state_hash: state_hash.into(),
        secrets: Some(b"sealed-verifier".to_vec()),
        options: json!({"allowMultipleCredentials": true}),
        expires_at: now() + Duration::minutes(10),
    }
}

async fn an_oauth_state_is_single_use(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let crm = integrations(&store, p, &["crm"]).await[0];
    let first = session(p, crm, "hash-1");
    store
        .install_sessions()
        .create_install_session(&first)
        .await
        .unwrap();
    let read = store
        .install_sessions()
        .get_install_session(p, first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (read.status, read.options.clone()),
        (InstallStatus::Pending, first.options.clone())
    );
    assert!(
        store
            .install_sessions()
            .get_install_session(project(&store).await, first.id)
            .await
            .unwrap()
            .is_none()
    );

    let consumed = store
        .install_sessions()
        .consume_install_state("hash-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(consumed.id, first.id);
    assert_eq!(consumed.secrets.as_deref(), Some(&b"sealed-verifier"[..]));
    assert!(
        store
            .install_sessions()
            .consume_install_state("hash-1")
            .await
            .unwrap()
            .is_none(),
        "single use"
    );
    assert!(
        store
            .install_sessions()
            .consume_install_state("unknown")
            .await
            .unwrap()
            .is_none()
    );

    let credential_id = Uuid::new_v4();
    store
        .install_sessions()
        .finish_install_session(first.id, InstallStatus::Complete, Some(credential_id), None)
        .await
        .unwrap();
    let done = store
        .install_sessions()
        .get_install_session(p, first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (done.status, done.credential_id),
        (InstallStatus::Complete, Some(credential_id))
    );
    assert!(done.secrets.is_none(), "the verifier is dropped once done");
    assert!(done.completed_at.is_some());
    let again = store
        .install_sessions()
        .finish_install_session(first.id, InstallStatus::Failed, None, Some("late"))
        .await;
    assert!(
        matches!(again, Err(StoreError::NotFound)),
        "a finished session stays finished"
    );

    // A failed session cannot be consumed any more.
    let second = session(p, crm, "hash-2");
    store
        .install_sessions()
        .create_install_session(&second)
        .await
        .unwrap();
    store
        .install_sessions()
        .finish_install_session(
            second.id,
            InstallStatus::Failed,
            None,
            Some("access_denied"),
        )
        .await
        .unwrap();
    assert!(
        store
            .install_sessions()
            .consume_install_state("hash-2")
            .await
            .unwrap()
            .is_none()
    );
    let failed = store
        .install_sessions()
        .get_install_session(p, second.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failed.error.as_deref(), Some("access_denied"));
}

/// Two callbacks racing with the same state: exactly one wins.
async fn racing_callbacks_consume_a_state_once(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let crm = integrations(&store, p, &["crm"]).await[0];
    store
        .install_sessions()
        .create_install_session(&session(p, crm, "raced"))
        .await
        .unwrap();
    let attempts = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .install_sessions()
                .consume_install_state("raced")
                .await
                .unwrap()
                .is_some()
        })
    });
    let mut winners = 0;
    for attempt in attempts {
        winners += usize::from(attempt.await.unwrap());
    }
    assert_eq!(winners, 1);
}

backend_tests!(
    events_are_recorded_with_the_change_they_describe,
    replacing_an_account_keeps_id_and_configuration,
    an_oauth_state_is_single_use,
    racing_callbacks_consume_a_state_once,
);
