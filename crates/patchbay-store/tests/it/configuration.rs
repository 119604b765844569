use patchbay_store::{SecretUpdate, StoreError};
use patchbay_test_support::{TestDb, backend_tests};
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::{config, credential, integration, project, signing_key, workflow};

async fn signing_keys_are_per_project_and_revocable(db: TestDb) {
    let store = db.store();
    let (a, b) = (project(&store).await, project(&store).await);
    let first = store
        .insert_signing_key(&signing_key(a, "k1"))
        .await
        .unwrap();
    assert_eq!(
        (first.kid.as_str(), first.algorithm.as_str()),
        ("k1", "ES256")
    );
    store
        .insert_signing_key(&signing_key(a, "k2"))
        .await
        .unwrap();
    let err = store
        .insert_signing_key(&signing_key(a, "k1"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    // The same kid in another project is another key.
    store
        .insert_signing_key(&signing_key(b, "k1"))
        .await
        .unwrap();

    let kids = |keys: Vec<patchbay_store::SigningKeyRecord>| {
        keys.into_iter()
            .map(|k| (k.kid, k.revoked_at.is_some()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kids(store.list_signing_keys(a).await.unwrap()),
        [("k1".into(), false), ("k2".into(), false)]
    );
    store.revoke_signing_key(a, "k1").await.unwrap();
    assert_eq!(
        kids(store.list_signing_keys(a).await.unwrap()),
        [("k1".into(), true), ("k2".into(), false)]
    );
    assert!(matches!(
        store.revoke_signing_key(a, "k1").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.revoke_signing_key(a, "nope").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        kids(store.list_signing_keys(b).await.unwrap()),
        [("k1".into(), false)]
    );

    // What authentication reads: the project and its active keys only.
    let (project_a, active) = store
        .get_project_with_active_keys(a)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(project_a, store.get_project(a).await.unwrap().unwrap());
    assert_eq!(kids(active.clone()), [("k2".into(), false)]);
    assert_eq!(active[0], store.list_signing_keys(a).await.unwrap()[1]);
    store.revoke_signing_key(a, "k2").await.unwrap();
    let (_, none) = store
        .get_project_with_active_keys(a)
        .await
        .unwrap()
        .unwrap();
    assert!(
        none.is_empty(),
        "a project without active keys is still found"
    );
    assert_eq!(
        store
            .get_project_with_active_keys(Uuid::new_v4())
            .await
            .unwrap(),
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
        .apply_config(
            p,
            &config(
                vec![slack.clone(), acme.clone(), zoom.clone()],
                vec![workflow("w2", &acme), workflow("w1", &slack)],
            ),
        )
        .await
        .unwrap();
    assert_eq!(applied.config_version, 1);
    assert_eq!(
        applied.settings,
        json!({"requireExplicitCredential": false})
    );
    let listed = store.list_integrations(p).await.unwrap();
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
    let workflows = store.list_workflows(p).await.unwrap();
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
        store.get_config_document(p).await.unwrap().unwrap()["integrations"],
        json!(["slack", "acme", "zoom"])
    );

    // Accounts on a kept integration survive; accounts on a removed one go with it.
    let account = store
        .insert_credential(&credential(p, acme.id, "u1"), &[])
        .await
        .unwrap();
    let zoom_account = store
        .insert_credential(&credential(p, zoom.id, "u1"), &[])
        .await
        .unwrap();

    let slack_kept = patchbay_store::IntegrationWrite {
        client_secret: SecretUpdate::Keep,
        definition: json!({"v": 2}),
        ..slack.clone()
    };
    let acme_cleared = patchbay_store::IntegrationWrite {
        client_secret: SecretUpdate::Clear,
        ..acme.clone()
    };
    let applied = store
        .apply_config(p, &config(vec![acme_cleared, slack_kept], vec![]))
        .await
        .unwrap();
    assert_eq!(applied.config_version, 2);
    let listed = store.list_integrations(p).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|i| i.type_name.as_str())
            .collect::<Vec<_>>(),
        ["acme", "slack"]
    );
    assert_eq!(listed[0].client_secret, None);
    assert_eq!(
        listed[1].client_secret.as_deref(),
        Some(&b"sealed-slack"[..])
    );
    assert_eq!(listed[1].definition, json!({"v": 2}));
    assert!(store.list_workflows(p).await.unwrap().is_empty());
    assert!(store.get_credential(p, account.id).await.unwrap().is_some());
    assert!(
        store
            .get_credential(p, zoom_account.id)
            .await
            .unwrap()
            .is_none(),
        "removed integration takes its accounts"
    );
}

async fn a_broken_configuration_changes_nothing(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let slack = integration("slack");
    store
        .apply_config(p, &config(vec![slack.clone()], vec![workflow("w", &slack)]))
        .await
        .unwrap();

    // A workflow pointing at an integration that is not in the document
    // fails on its foreign key, after the integrations were already written.
    let orphan = workflow("orphan", &integration("ghost"));
    let err = store
        .apply_config(p, &config(vec![integration("acme")], vec![orphan]))
        .await
        .unwrap_err();
    assert!(!matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(
        store.get_project(p).await.unwrap().unwrap().config_version,
        1
    );
    let listed = store.list_integrations(p).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|i| i.type_name.as_str())
            .collect::<Vec<_>>(),
        ["slack"]
    );
    assert_eq!(store.list_workflows(p).await.unwrap().len(), 1);

    let err = store
        .apply_config(Uuid::new_v4(), &config(vec![], vec![]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

backend_tests!(
    signing_keys_are_per_project_and_revocable,
    a_configuration_replaces_the_previous_one,
    a_broken_configuration_changes_nothing,
);
