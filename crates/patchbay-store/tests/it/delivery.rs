//! Event notices and the webhook outbox.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use patchbay_store::{
    DeliveryFilter, DeliveryOutcome, DeliveryStatus, NewWebhookEndpoint, SealedColumn, Store,
    StoreError, WebhookEndpointRecord, now,
};
use patchbay_test_support::{TestDb, backend_tests};
use uuid::Uuid;

use crate::fixtures::{
    credential, event, insert_credential, insert_credential_with, integrations, project,
};

async fn endpoint(store: &Arc<dyn Store>, project_id: Uuid, events: &[&str]) -> Uuid {
    let endpoint = NewWebhookEndpoint {
        id: Uuid::new_v4(),
        project_id,
        url: "https://hooks.example/patchbay".to_owned(),
        event_types: events.iter().map(|name| (*name).to_owned()).collect(),
        secret: b"sealed-secret".to_vec(),
    };
    store
        .events()
        .create_webhook_endpoint(&endpoint)
        .await
        .unwrap()
        .id
}

/// Records `names` for a new credential of `user` and returns its id.
async fn record(store: &Arc<dyn Store>, project_id: Uuid, user: &str, names: &[&str]) -> Uuid {
    let crm = match store
        .projects()
        .list_integrations(project_id)
        .await
        .unwrap()
        .first()
    {
        Some(integration) => integration.id,
        None => integrations(store, project_id, &["crm"]).await[0],
    };
    let account = credential(project_id, crm, user);
    let events: Vec<_> = names
        .iter()
        .map(|name| event(project_id, user, account.id, name))
        .collect();
    insert_credential_with(store, &account, &events).await.id
}

async fn claim_all(store: &Arc<dyn Store>) -> Vec<patchbay_store::ClaimedDelivery> {
    store
        .events()
        .claim_webhook_deliveries(now(), now() + Duration::seconds(30), 100)
        .await
        .unwrap()
}

async fn endpoints_are_created_listed_disabled_and_deleted(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let other = project(&store).await;
    let id = endpoint(&store, p, &["credential.created"]).await;
    let listed = store.events().list_webhook_endpoints(p).await.unwrap();
    assert_eq!(listed.iter().map(|e| e.id).collect::<Vec<_>>(), [id]);
    assert_eq!(listed[0].event_types, ["credential.created"]);
    assert!(listed[0].disabled_at.is_none());
    assert!(
        store
            .events()
            .list_webhook_endpoints(other)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .events()
            .get_webhook_endpoint(other, id)
            .await
            .unwrap(),
        None
    );

    let disabled = store
        .events()
        .set_webhook_endpoint_disabled(p, id, true)
        .await
        .unwrap();
    assert!(disabled.disabled_at.is_some());
    let enabled = store
        .events()
        .set_webhook_endpoint_disabled(p, id, false)
        .await
        .unwrap();
    assert_eq!(enabled.disabled_at, None);
    assert!(matches!(
        store
            .events()
            .set_webhook_endpoint_disabled(other, id, true)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.events().delete_webhook_endpoint(other, id).await,
        Err(StoreError::NotFound)
    ));
    store.events().delete_webhook_endpoint(p, id).await.unwrap();
    assert_eq!(
        store.events().get_webhook_endpoint(p, id).await.unwrap(),
        None::<WebhookEndpointRecord>
    );
}

async fn an_endpoint_s_secret_is_replaced_where_deliveries_and_key_rotation_read_it(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let other = project(&store).await;
    let id = endpoint(&store, p, &[]).await;
    let before = store
        .events()
        .get_webhook_endpoint(p, id)
        .await
        .unwrap()
        .unwrap();
    let rotated = store
        .events()
        .set_webhook_endpoint_secret(p, id, b"new-sealed-secret")
        .await
        .unwrap();
    assert_eq!((rotated.id, &rotated.url), (id, &before.url));
    assert!(rotated.updated_at >= before.updated_at);
    for (project_id, endpoint_id) in [(other, id), (p, Uuid::new_v4())] {
        assert!(matches!(
            store
                .events()
                .set_webhook_endpoint_secret(project_id, endpoint_id, b"stolen")
                .await,
            Err(StoreError::NotFound)
        ));
    }
    record(&store, p, "ada", &["credential.created"]).await;
    let claimed = claim_all(&store).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].secret.ciphertext, b"new-sealed-secret");
    assert_eq!(
        (claimed[0].secret.project_id, claimed[0].secret.record_id),
        (p, id)
    );
    let sealed = store
        .data_keys()
        .list_sealed(SealedColumn::WebhookEndpointSecret, None, 100)
        .await
        .unwrap();
    let ours: Vec<_> = sealed
        .iter()
        .filter(|value| value.record_id == id)
        .collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].ciphertext, b"new-sealed-secret");
}

async fn events_queue_deliveries_for_the_endpoints_that_want_them(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let every = endpoint(&store, p, &[]).await;
    let deletions = endpoint(&store, p, &["credential.deleted"]).await;
    let off = endpoint(&store, p, &[]).await;
    store
        .events()
        .set_webhook_endpoint_disabled(p, off, true)
        .await
        .unwrap();
    let elsewhere = project(&store).await;
    endpoint(&store, elsewhere, &[]).await;

    let account = record(&store, p, "ada", &["credential.created"]).await;
    let claimed = claim_all(&store).await;
    assert_eq!(claimed.len(), 1, "only the endpoint taking every event");
    let delivery = &claimed[0];
    assert_eq!(delivery.delivery.endpoint_id, every);
    assert_eq!(delivery.delivery.event_name, "credential.created");
    assert_eq!(delivery.event.credential_id, Some(account));
    assert_eq!(delivery.secret.ciphertext, b"sealed-secret");
    assert_eq!(delivery.secret.record_id, every);
    assert_eq!(delivery.secret.project_id, p);
    assert_eq!(delivery.url, "https://hooks.example/patchbay");
    for id in [deletions, off] {
        let log = store
            .events()
            .list_webhook_deliveries(
                p,
                id,
                &DeliveryFilter {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(log.is_empty());
    }
}

async fn an_account_s_deliveries_are_attempted_in_order_and_leased(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let hook = endpoint(&store, p, &[]).await;
    record(
        &store,
        p,
        "ada",
        &["credential.created", "credential.status_changed"],
    )
    .await;
    record(&store, p, "grace", &["credential.created"]).await;

    // The first event of each account is due; ada's second waits for her first.
    let first = claim_all(&store).await;
    let users: Vec<_> = first.iter().map(|c| c.event.user_id.as_str()).collect();
    assert_eq!(users, ["ada", "grace"]);
    assert!(
        first
            .iter()
            .all(|c| c.delivery.event_name == "credential.created")
    );
    // Leased: nobody else gets them meanwhile.
    assert!(claim_all(&store).await.is_empty());

    let ada = &first[0].delivery;
    let retry_at = now() + Duration::milliseconds(200);
    let outcome = DeliveryOutcome::Retry {
        status_code: Some(503),
        error: "HTTP 503".to_owned(),
        next_attempt_at: retry_at,
    };
    store
        .events()
        .record_delivery_attempt(ada.id, &outcome)
        .await
        .unwrap();
    assert!(
        claim_all(&store).await.is_empty(),
        "not due before its retry time"
    );
    tokio::time::sleep(StdDuration::from_millis(250)).await;
    let again = claim_all(&store).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].delivery.id, ada.id);
    assert_eq!(again[0].delivery.attempts, 1);
    assert_eq!(again[0].delivery.last_status_code, Some(503));

    let delivered = DeliveryOutcome::Delivered { status_code: 204 };
    store
        .events()
        .record_delivery_attempt(ada.id, &delivered)
        .await
        .unwrap();
    let next = claim_all(&store).await;
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].delivery.event_name, "credential.status_changed");

    let log = store
        .events()
        .list_webhook_deliveries(
            p,
            hook,
            &DeliveryFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(log.len(), 3);
    assert!(
        log.windows(2).all(|w| w[0].event_seq > w[1].event_seq),
        "newest first"
    );
    let done = log.iter().find(|d| d.id == ada.id).unwrap();
    assert_eq!(done.status, DeliveryStatus::Delivered);
    assert_eq!(done.attempts, 2);
    assert!(done.delivered_at.is_some());
    let page = DeliveryFilter {
        before_seq: Some(log[0].event_seq),
        limit: 1,
        status: None,
    };
    let second_page = store
        .events()
        .list_webhook_deliveries(p, hook, &page)
        .await
        .unwrap();
    assert_eq!(
        second_page.iter().map(|d| d.id).collect::<Vec<_>>(),
        [log[1].id]
    );
    let pending = DeliveryFilter {
        status: Some(DeliveryStatus::Pending),
        limit: 10,
        before_seq: None,
    };
    assert_eq!(
        store
            .events()
            .list_webhook_deliveries(p, hook, &pending)
            .await
            .unwrap()
            .len(),
        2
    );
}

async fn dead_deliveries_stop_blocking_and_can_be_replayed(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let other = project(&store).await;
    endpoint(&store, p, &[]).await;
    record(
        &store,
        p,
        "ada",
        &["credential.created", "credential.deleted"],
    )
    .await;
    let first = claim_all(&store).await.remove(0).delivery;
    let dead = DeliveryOutcome::Dead {
        status_code: None,
        error: "connection refused".to_owned(),
    };
    store
        .events()
        .record_delivery_attempt(first.id, &dead)
        .await
        .unwrap();
    let next = claim_all(&store).await;
    assert_eq!(next[0].delivery.event_name, "credential.deleted");
    store
        .events()
        .record_delivery_attempt(
            next[0].delivery.id,
            &DeliveryOutcome::Delivered { status_code: 200 },
        )
        .await
        .unwrap();

    assert!(matches!(
        store
            .events()
            .replay_webhook_delivery(other, first.id)
            .await,
        Err(StoreError::NotFound)
    ));
    let replayed = store
        .events()
        .replay_webhook_delivery(p, first.id)
        .await
        .unwrap();
    assert_eq!(replayed.status, DeliveryStatus::Pending);
    assert_eq!(replayed.attempts, 1, "the log is kept");
    let again = claim_all(&store).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].delivery.id, first.id);
    assert_eq!(
        again[0].delivery.last_error.as_deref(),
        Some("connection refused")
    );
}

async fn committed_events_are_announced_and_rolled_back_ones_are_not(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let mut notices = store.events().event_notices();
    // PostgreSQL listens on its own connection; give it a moment to start.
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    record(&store, p, "ada", &[]).await;
    let crm = store.projects().list_integrations(p).await.unwrap()[0].id;
    let taken = {
        let mut account = credential(p, crm, "ada");
        account.external_id = Some("dup".to_owned());
        insert_credential(&store, &account).await;
        account
    };
    let mut duplicate = credential(p, crm, "grace");
    duplicate.user_id = taken.user_id.clone();
    duplicate.external_id = taken.external_id.clone();
    let lost = event(p, "ada", duplicate.id, "credential.created");
    assert!(
        store
            .credentials()
            .insert_credential(&duplicate, &[lost])
            .await
            .is_err()
    );

    record(&store, p, "grace", &["credential.created"]).await;
    let notice = tokio::time::timeout(StdDuration::from_secs(5), notices.recv())
        .await
        .expect("a notice within 5 s")
        .unwrap();
    assert!(notice.concerns(p, "grace"), "{notice:?}");
    assert!(!notice.concerns(p, "ada"));
    assert!(!notice.concerns(Uuid::new_v4(), "grace"));
}

backend_tests!(
    endpoints_are_created_listed_disabled_and_deleted,
    an_endpoint_s_secret_is_replaced_where_deliveries_and_key_rotation_read_it,
    events_queue_deliveries_for_the_endpoints_that_want_them,
    an_account_s_deliveries_are_attempted_in_order_and_leased,
    dead_deliveries_stop_blocking_and_can_be_replayed,
    committed_events_are_announced_and_rolled_back_ones_are_not,
);
