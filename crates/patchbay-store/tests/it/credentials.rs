use patchbay_store::{
    ConfigurationChanges, CredentialChanges, CredentialFilter, CredentialStatus, NewConfiguration,
    StoreError,
};
use patchbay_test_support::{TestDb, backend_tests};
use serde_json::{Map, json};
use uuid::Uuid;

use crate::fixtures::{
    credential, find_credential, find_user, insert_credential, integrations, list_credentials,
    project,
};

async fn users_are_created_on_first_use_and_meta_merges(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    assert!(find_user(&store, p, "ada").await.is_none());
    let created = store.users().upsert_user(p, "ada", None).await.unwrap();
    assert_eq!(created.meta, Map::new());
    let first = json!({"Name": "Ada", "Email": "ada@example.com"});
    store
        .users()
        .upsert_user(p, "ada", first.as_object())
        .await
        .unwrap();
    let merged = store
        .users()
        .upsert_user(
            p,
            "ada",
            json!({"Email": "ada@lovelace.dev", "plan": {"seats": 3}}).as_object(),
        )
        .await
        .unwrap();
    assert_eq!(
        serde_json::Value::Object(merged.meta.clone()),
        json!({"Name": "Ada", "Email": "ada@lovelace.dev", "plan": {"seats": 3}})
    );
    assert_eq!(find_user(&store, p, "ada").await.unwrap().meta, merged.meta);
    let other = project(&store).await;
    assert!(find_user(&store, other, "ada").await.is_none());
}

async fn credentials_list_oldest_first_and_filter(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let ids = integrations(&store, p, &["crm", "chat"]).await;
    let (crm, chat) = (ids[0], ids[1]);
    let mut created = Vec::new();
    for (integration, user, status) in [
        (crm, "u1", CredentialStatus::Valid),
        (crm, "u1", CredentialStatus::Invalid),
        (chat, "u1", CredentialStatus::Valid),
        (crm, "u2", CredentialStatus::Valid),
        (crm, "u1", CredentialStatus::Valid),
    ] {
        let new = patchbay_store::NewCredential {
            status,
            ..credential(p, integration, user)
        };
        created.push(insert_credential(&store, &new).await);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let ids_of = |list: Vec<patchbay_store::CredentialRecord>| {
        list.into_iter().map(|c| c.id).collect::<Vec<_>>()
    };
    let u1_crm = CredentialFilter {
        user_id: Some("u1".into()),
        integration_id: Some(crm),
        ..Default::default()
    };
    assert_eq!(
        ids_of(list_credentials(&store, p, &u1_crm).await),
        [created[0].id, created[1].id, created[4].id]
    );
    let valid = CredentialFilter {
        status: Some(CredentialStatus::Valid),
        ..Default::default()
    };
    assert_eq!(
        ids_of(list_credentials(&store, p, &valid).await),
        [created[0].id, created[2].id, created[3].id, created[4].id]
    );
    assert_eq!(
        list_credentials(&store, p, &CredentialFilter::default())
            .await
            .len(),
        5
    );
    // Pages: at most `limit`, strictly after the position given, with the
    // filter's conditions still applied.
    let after = |c: &patchbay_store::CredentialRecord| Some((c.created_at, c.id));
    let page = CredentialFilter {
        limit: Some(2),
        after: after(&created[0]),
        ..Default::default()
    };
    assert_eq!(
        ids_of(list_credentials(&store, p, &page).await),
        [created[1].id, created[2].id]
    );
    let last_page = CredentialFilter {
        after: after(&created[3]),
        ..page.clone()
    };
    assert_eq!(
        ids_of(list_credentials(&store, p, &last_page).await),
        [created[4].id]
    );
    let valid_crm_after_first = CredentialFilter {
        integration_id: Some(crm),
        status: Some(CredentialStatus::Valid),
        after: after(&created[0]),
        limit: Some(10),
        ..Default::default()
    };
    assert_eq!(
        ids_of(list_credentials(&store, p, &valid_crm_after_first).await),
        [created[3].id, created[4].id]
    );
    let u1_after = CredentialFilter {
        user_id: Some("u1".into()),
        after: after(&created[1]),
        ..Default::default()
    };
    assert_eq!(
        ids_of(list_credentials(&store, p, &u1_after).await),
        [created[2].id, created[4].id]
    );

    let other = project(&store).await;
    assert!(
        list_credentials(&store, other, &CredentialFilter::default())
            .await
            .is_empty()
    );

    let read = find_credential(&store, p, created[1].id).await.unwrap();
    assert_eq!(read, created[1]);
    assert_eq!(read.status, CredentialStatus::Invalid);
    assert_eq!(read.secrets.as_deref(), Some(&b"sealed-tokens"[..]));
    assert_eq!(read.default_configuration().shared_settings, json!({}));
    assert!(
        find_credential(&store, other, created[1].id)
            .await
            .is_none()
    );
}

async fn external_and_provider_ids_are_unique_per_user_and_integration(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let ids = integrations(&store, p, &["crm", "chat"]).await;
    let labelled =
        |integration, user: &str, ext: &str, provider: &str| patchbay_store::NewCredential {
            external_id: Some(ext.to_owned()),
            provider_id: Some(provider.to_owned()),
            ..credential(p, integration, user)
        };
    insert_credential(&store, &labelled(ids[0], "u1", "work", "T1")).await;
    for clash in [
        labelled(ids[0], "u1", "work", "T2"),
        labelled(ids[0], "u1", "home", "T1"),
    ] {
        let err = store
            .credentials()
            .insert_credential(&clash, &[])
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        assert!(
            find_credential(&store, p, clash.id).await.is_none(),
            "no partial write"
        );
    }
    // Another user, or another integration, may reuse both.
    insert_credential(&store, &labelled(ids[0], "u2", "work", "T1")).await;
    insert_credential(&store, &labelled(ids[1], "u1", "work", "T1")).await;
}

async fn configuration_updates_touch_one_credential(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let crm = integrations(&store, p, &["crm"]).await[0];
    let a = insert_credential(&store, &credential(p, crm, "u1")).await;
    let b = store
        .credentials()
        .insert_credential(
            &patchbay_store::NewCredential {
                external_id: Some("b".into()),
                ..credential(p, crm, "u1")
            },
            &[],
        )
        .await
        .unwrap();

    let changes = CredentialChanges {
        external_id: None,
        configuration: Some((
            a.default_configuration().id,
            ConfigurationChanges {
                shared_settings: Some(json!({"pipeline": "Sales"})),
                workflow_settings: Some(json!({"sync": {"enabled": true, "settings": {}}})),
                ..Default::default()
            },
        )),
        account_vars: Some(json!({"webhookSubscription": "wh_1"})),
    };
    let updated = store
        .credentials()
        .update_credential(p, a.id, &changes, &[])
        .await
        .unwrap();
    assert_eq!(
        updated.default_configuration().shared_settings,
        json!({"pipeline": "Sales"})
    );
    assert_eq!(
        updated.default_configuration().workflow_settings["sync"]["enabled"],
        true
    );
    assert_eq!(
        updated.default_configuration().id,
        a.default_configuration().id
    );
    assert_eq!(updated.account_vars, json!({"webhookSubscription": "wh_1"}));
    let untouched = find_credential(&store, p, b.id).await.unwrap();
    assert_eq!(untouched.default_configuration().shared_settings, json!({}));

    // Only the label changes; the settings stay.
    let relabelled = store
        .credentials()
        .update_credential(
            p,
            a.id,
            &CredentialChanges {
                external_id: Some(Some("a".into())),
                ..Default::default()
            },
            &[],
        )
        .await
        .unwrap();
    assert_eq!(relabelled.external_id.as_deref(), Some("a"));
    assert_eq!(
        relabelled.account_vars,
        json!({"webhookSubscription": "wh_1"})
    );
    assert_eq!(
        relabelled.default_configuration().shared_settings,
        json!({"pipeline": "Sales"})
    );
    let taken = CredentialChanges {
        external_id: Some(Some("b".into())),
        ..Default::default()
    };
    assert!(matches!(
        store
            .credentials()
            .update_credential(p, a.id, &taken, &[])
            .await,
        Err(StoreError::Conflict { .. })
    ));
    let cleared = store
        .credentials()
        .update_credential(
            p,
            a.id,
            &CredentialChanges {
                external_id: Some(None),
                ..Default::default()
            },
            &[],
        )
        .await
        .unwrap();
    assert_eq!(cleared.external_id, None);

    let other = project(&store).await;
    assert!(matches!(
        store
            .credentials()
            .update_credential(other, a.id, &changes, &[])
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .credentials()
            .delete_credential(other, a.id, &[])
            .await,
        Err(StoreError::NotFound)
    ));
    store
        .credentials()
        .delete_credential(p, a.id, &[])
        .await
        .unwrap();
    assert!(find_credential(&store, p, a.id).await.is_none());
    assert!(matches!(
        store.credentials().delete_credential(p, a.id, &[]).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .credentials()
            .delete_credential(p, Uuid::new_v4(), &[])
            .await,
        Err(StoreError::NotFound)
    ));
}

async fn an_account_holds_several_configurations_its_default_first(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let crm = integrations(&store, p, &["crm"]).await[0];
    let account = insert_credential(&store, &credential(p, crm, "u1")).await;
    let neighbour = insert_credential(&store, &credential(p, crm, "u1")).await;
    let default_id = account.default_configuration().id;
    let add = |label: &str| NewConfiguration {
        id: Uuid::new_v4(),
        credential_id: account.id,
        external_id: Some(label.to_owned()),
        meta: json!({"label": label}),
    };
    let team = add("team");
    let with_team = store
        .credentials()
        .insert_configuration(p, &team, &[])
        .await
        .unwrap();
    // Oldest first: the next one is made a little later.
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let later = add("later");
    store
        .credentials()
        .insert_configuration(p, &later, &[])
        .await
        .unwrap();
    let read = find_credential(&store, p, account.id).await.unwrap();
    let ids: Vec<Uuid> = read.configurations.iter().map(|c| c.id).collect();
    assert_eq!(ids, [default_id, team.id, later.id]);
    assert!(read.configurations[0].is_default);
    assert_eq!(read.configurations[1].external_id.as_deref(), Some("team"));
    assert_eq!(read.configurations[1].meta, json!({"label": "team"}));
    assert_eq!(with_team.configurations.len(), 2);
    // Listing reads them too, and leaves other accounts alone.
    let listed = list_credentials(&store, p, &CredentialFilter::default()).await;
    assert_eq!(listed[0].configurations.len(), 3);
    assert_eq!(listed[1].id, neighbour.id);
    assert_eq!(listed[1].configurations.len(), 1);

    // A label is unique within the account, and a failed insert leaves nothing.
    let clash = add("team");
    assert!(matches!(
        store
            .credentials()
            .insert_configuration(p, &clash, &[])
            .await,
        Err(StoreError::Conflict { .. })
    ));
    let elsewhere = NewConfiguration {
        credential_id: neighbour.id,
        ..add("team")
    };
    store
        .credentials()
        .insert_configuration(p, &elsewhere, &[])
        .await
        .unwrap();
    // Not in another project, nor on an account that does not exist.
    let other = project(&store).await;
    assert!(matches!(
        store
            .credentials()
            .insert_configuration(other, &add("x"), &[])
            .await,
        Err(StoreError::NotFound)
    ));

    // Changes reach one configuration; sealed settings are kept as given.
    let changes = CredentialChanges {
        configuration: Some((
            team.id,
            ConfigurationChanges {
                external_id: Some(None),
                meta: Some(json!({})),
                shared_settings: Some(json!({"pipeline": "Team"})),
                sealed_settings: Some(Some(b"sealed-password".to_vec())),
                ..Default::default()
            },
        )),
        ..Default::default()
    };
    let changed = store
        .credentials()
        .update_credential(p, account.id, &changes, &[])
        .await
        .unwrap();
    let team_now = changed.configuration(team.id).unwrap();
    assert_eq!(team_now.external_id, None);
    assert_eq!(team_now.shared_settings, json!({"pipeline": "Team"}));
    assert_eq!(
        team_now.sealed_settings.as_deref(),
        Some(&b"sealed-password"[..])
    );
    assert_eq!(changed.default_configuration().shared_settings, json!({}));
    // A configuration of another account is not found through this one.
    let foreign = CredentialChanges {
        configuration: Some((elsewhere.id, ConfigurationChanges::default())),
        ..Default::default()
    };
    assert!(matches!(
        store
            .credentials()
            .update_credential(p, account.id, &foreign, &[])
            .await,
        Err(StoreError::NotFound)
    ));

    // The default cannot be deleted; the others can; the account takes them all with it.
    assert!(matches!(
        store
            .credentials()
            .delete_configuration(p, account.id, default_id, &[])
            .await,
        Err(StoreError::NotFound)
    ));
    let after = store
        .credentials()
        .delete_configuration(p, account.id, team.id, &[])
        .await
        .unwrap();
    let ids: Vec<Uuid> = after.configurations.iter().map(|c| c.id).collect();
    assert_eq!(ids, [default_id, later.id]);
    store
        .credentials()
        .delete_credential(p, account.id, &[])
        .await
        .unwrap();
    assert!(matches!(
        store
            .credentials()
            .delete_configuration(p, account.id, later.id, &[])
            .await,
        Err(StoreError::NotFound)
    ));
}

backend_tests!(
    an_account_holds_several_configurations_its_default_first,
    users_are_created_on_first_use_and_meta_merges,
    credentials_list_oldest_first_and_filter,
    external_and_provider_ids_are_unique_per_user_and_integration,
    configuration_updates_touch_one_credential,
);
