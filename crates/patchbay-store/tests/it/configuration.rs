use std::time::Duration;

use patchbay_store::{NewWebhookEndpoint, REMOVED_ACCOUNTS_CHANGED, SecretUpdate, StoreError, now};
use patchbay_test_support::{TestDb, backend_tests};
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::{
    UNLIMITED, add_signing_key, config, credential, event, find_credential,
    find_project_with_active_keys, insert_credential, integration, project, signing_key, workflow,
};

async fn signing_keys_are_per_project_and_revocable(db: TestDb) {
    let store = db.store();
    let (a, b) = (project(&store).await, project(&store).await);
    let first = add_signing_key(&store, a, "k1").await;
    assert_eq!(
        (first.kid.as_str(), first.algorithm.as_str()),
        ("k1", "ES256")
    );
    add_signing_key(&store, a, "k2").await;
    let err = store
        .projects()
        .insert_signing_key(&signing_key(a, "k1"), UNLIMITED)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    // The same kid in another project is another key.
    add_signing_key(&store, b, "k1").await;

    let kids = |keys: Vec<patchbay_store::SigningKeyRecord>| {
        keys.into_iter()
            .map(|k| (k.kid, k.revoked_at.is_some()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kids(store.projects().list_signing_keys(a).await.unwrap()),
        [("k1".into(), false), ("k2".into(), false)]
    );
    store.projects().revoke_signing_key(a, "k1").await.unwrap();
    assert_eq!(
        kids(store.projects().list_signing_keys(a).await.unwrap()),
        [("k1".into(), true), ("k2".into(), false)]
    );
    assert!(matches!(
        store.projects().revoke_signing_key(a, "k1").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.projects().revoke_signing_key(a, "nope").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        kids(store.projects().list_signing_keys(b).await.unwrap()),
        [("k1".into(), false)]
    );

    // What authentication reads: the project and its active keys only.
    let (project_a, active) = find_project_with_active_keys(&store, a).await.unwrap();
    assert_eq!(
        project_a,
        store.projects().get_project(a).await.unwrap().unwrap()
    );
    assert_eq!(kids(active.clone()), [("k2".into(), false)]);
    assert_eq!(
        active[0],
        store.projects().list_signing_keys(a).await.unwrap()[1]
    );
    store.projects().revoke_signing_key(a, "k2").await.unwrap();
    let (_, none) = find_project_with_active_keys(&store, a).await.unwrap();
    assert!(
        none.is_empty(),
        "a project without active keys is still found"
    );
    assert_eq!(
        find_project_with_active_keys(&store, Uuid::new_v4()).await,
        None
    );
}

async fn a_configuration_replaces_the_previous_one(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let (slack, acme, zoom) = (
        integration("slack"),
        integration("acme"),
        integration("zoom"),
    );
    let applied = store
        .projects()
        .apply_config(
            p,
            &config(
                vec![slack.clone(), acme.clone(), zoom.clone()],
                vec![workflow("w2", &acme), workflow("w1", &slack)],
            ),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(applied.config_version, 1);
    assert_eq!(
        applied.settings,
        json!({"requireExplicitCredential": false})
    );
    let listed = store.projects().list_integrations(p).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|i| i.type_name.as_str())
            .collect::<Vec<_>>(),
        ["slack", "acme", "zoom"]
    );
    assert_eq!(listed[0].id, slack.id);
    assert_eq!(
        listed[0].client_secret.as_deref(),
        Some(&b"sealed-slack"[..])
    );
    let workflows = store.workflows().list_workflows(p).await.unwrap();
    assert_eq!(
        workflows.iter().map(|w| w.id.as_str()).collect::<Vec<_>>(),
        ["w2", "w1"]
    );
    assert_eq!(workflows[0].integration_id, acme.id);
    assert_eq!(
        workflows[0].trigger_event.as_deref(),
        Some("Contact Created")
    );
    assert_eq!(
        store
            .projects()
            .get_config_document(p)
            .await
            .unwrap()
            .unwrap()["integrations"],
        json!(["slack", "acme", "zoom"])
    );

    // Accounts on a kept integration survive; accounts on a removed one go with it.
    let account = insert_credential(&store, &credential(p, acme.id, "u1")).await;
    let zoom_account = insert_credential(&store, &credential(p, zoom.id, "u1")).await;

    // Each secret is kept, cleared or replaced on its own.
    let slack_kept = patchbay_store::IntegrationWrite {
        client_secret: SecretUpdate::Keep,
        webhook_secret: SecretUpdate::Clear,
        definition: json!({"v": 2}),
        ..slack.clone()
    };
    let acme_cleared = patchbay_store::IntegrationWrite {
        client_secret: SecretUpdate::Clear,
        webhook_secret: SecretUpdate::Keep,
        ..acme.clone()
    };
    let applied = store
        .projects()
        .apply_config(
            p,
            &config(vec![acme_cleared, slack_kept], vec![]),
            &[event(p, "u1", zoom_account.id, "credential.deleted")],
        )
        .await
        .unwrap();
    assert_eq!(applied.config_version, 2);
    let listed = store.projects().list_integrations(p).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|i| i.type_name.as_str())
            .collect::<Vec<_>>(),
        ["acme", "slack"]
    );
    assert_eq!(listed[0].client_secret, None);
    assert_eq!(
        listed[0].webhook_secret.as_deref(),
        Some(&b"sealed-webhook-acme"[..])
    );
    assert_eq!(
        listed[1].client_secret.as_deref(),
        Some(&b"sealed-slack"[..])
    );
    assert_eq!(listed[1].webhook_secret, None);
    assert_eq!(listed[1].definition, json!({"v": 2}));
    assert!(
        store
            .workflows()
            .list_workflows(p)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(find_credential(&store, p, account.id).await.is_some());
    assert!(
        find_credential(&store, p, zoom_account.id).await.is_none(),
        "removed integration takes its accounts"
    );
}

async fn a_broken_configuration_changes_nothing(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let slack = integration("slack");
    store
        .projects()
        .apply_config(
            p,
            &config(vec![slack.clone()], vec![workflow("w", &slack)]),
            &[],
        )
        .await
        .unwrap();

    // A workflow pointing at an integration that is not in the document
    // fails on its foreign key, after the integrations were already written.
    let orphan = workflow("orphan", &integration("ghost"));
    let err = store
        .projects()
        .apply_config(p, &config(vec![integration("acme")], vec![orphan]), &[])
        .await
        .unwrap_err();
    assert!(!matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(
        store
            .projects()
            .get_project(p)
            .await
            .unwrap()
            .unwrap()
            .config_version,
        1
    );
    let listed = store.projects().list_integrations(p).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|i| i.type_name.as_str())
            .collect::<Vec<_>>(),
        ["slack"]
    );
    assert_eq!(store.workflows().list_workflows(p).await.unwrap().len(), 1);

    let err = store
        .projects()
        .apply_config(Uuid::new_v4(), &config(vec![], vec![]), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

async fn removing_an_integration_records_the_deletion_of_its_accounts(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let (crm, chat) = (integration("crm"), integration("chat"));
    store
        .projects()
        .apply_config(p, &config(vec![crm.clone(), chat.clone()], vec![]), &[])
        .await
        .unwrap();
    let endpoint = NewWebhookEndpoint {
        id: Uuid::new_v4(),
        project_id: p,
        url: "https://hooks.example/patchbay".to_owned(),
        event_types: vec![],
        secret: b"sealed-secret".to_vec(),
    };
    store
        .events()
        .create_webhook_endpoint(&endpoint)
        .await
        .unwrap();
    let kept = insert_credential(&store, &credential(p, crm.id, "ada")).await;
    let ada = insert_credential(&store, &credential(p, chat.id, "ada")).await;
    let grace = insert_credential(&store, &credential(p, chat.id, "grace")).await;
    let deleted = |user: &str, id: Uuid| event(p, user, id, "credential.deleted");
    let only_crm = config(vec![crm.clone()], vec![]);

    // Events that miss a removed account, or name one that stays, are not
    // those of this removal: nothing changes.
    for events in [
        vec![],
        vec![deleted("ada", ada.id)],
        vec![
            deleted("ada", ada.id),
            deleted("grace", grace.id),
            deleted("ada", kept.id),
        ],
    ] {
        let err = store
            .projects()
            .apply_config(p, &only_crm, &events)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict { constraint } if constraint == REMOVED_ACCOUNTS_CHANGED),
            "{err:?}"
        );
    }
    assert_eq!(
        store
            .projects()
            .get_project(p)
            .await
            .unwrap()
            .unwrap()
            .config_version,
        1
    );
    assert!(find_credential(&store, p, ada.id).await.is_some());
    assert_eq!(
        store.events().last_user_event_seq(p, "ada").await.unwrap(),
        0
    );

    let mut notices = store.events().event_notices();
    // PostgreSQL listens on its own connection; give it a moment to start.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events = [deleted("ada", ada.id), deleted("grace", grace.id)];
    store
        .projects()
        .apply_config(p, &only_crm, &events)
        .await
        .unwrap();
    assert!(find_credential(&store, p, ada.id).await.is_none());
    assert!(find_credential(&store, p, grace.id).await.is_none());
    assert!(find_credential(&store, p, kept.id).await.is_some());
    for (user, recorded) in [("ada", &events[0]), ("grace", &events[1])] {
        let stored = store
            .events()
            .list_user_events(p, user, 0, 10)
            .await
            .unwrap();
        assert_eq!(
            stored
                .iter()
                .map(|e| (e.id, e.name.as_str(), e.credential_id, &e.payload))
                .collect::<Vec<_>>(),
            [(
                recorded.id,
                "credential.deleted",
                recorded.credential_id,
                &recorded.payload
            )]
        );
    }
    let notice = tokio::time::timeout(Duration::from_secs(5), notices.recv())
        .await
        .expect("a notice within 5 s")
        .unwrap();
    assert!(
        notice.concerns(p, "ada") || notice.concerns(p, "grace"),
        "{notice:?}"
    );
    let mut queued: Vec<Uuid> = store
        .events()
        .claim_webhook_deliveries(now(), now() + chrono::Duration::seconds(30), 100)
        .await
        .unwrap()
        .iter()
        .map(|claimed| claimed.event.id)
        .collect();
    queued.sort_unstable();
    let mut expected = vec![events[0].id, events[1].id];
    expected.sort_unstable();
    assert_eq!(queued, expected, "one delivery per deletion");
}

backend_tests!(
    signing_keys_are_per_project_and_revocable,
    a_configuration_replaces_the_previous_one,
    a_broken_configuration_changes_nothing,
    removing_an_integration_records_the_deletion_of_its_accounts,
);
