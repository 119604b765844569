use chrono::Duration;
use patchbay_store::{
    CredentialStatus, NewCredential, RefreshClaim, RefreshFailure, RefreshedTokens, StoreError, now,
};
use patchbay_test_support::{TestDb, backend_tests};

use crate::fixtures::{credential, find_credential, insert_credential, integrations, project};

fn expiring(new: NewCredential, in_seconds: i64) -> NewCredential {
    NewCredential {
        valid_until: Some(now() + Duration::seconds(in_seconds)),
        next_refresh_at: Some(now() + Duration::seconds(in_seconds - 60)),
        ..new
    }
}

fn tokens(label: &str) -> RefreshedTokens {
    RefreshedTokens {
        secrets: label.as_bytes().to_vec(),
        valid_until: Some(now() + Duration::hours(1)),
        next_refresh_at: Some(now() + Duration::minutes(55)),
    }
}

async fn one_refresh_lease_at_a_time(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let crm = integrations(&store, p, &["crm"]).await[0];
    let c = insert_credential(&store, &expiring(credential(p, crm, "ada"), 30)).await;
    let lease = now() + Duration::seconds(30);

    let RefreshClaim::Claimed(claimed) = store
        .credentials()
        .claim_refresh(p, c.id, c.version, lease)
        .await
        .unwrap()
    else {
        panic!("the first claim wins")
    };
    assert_eq!(claimed.id, c.id);
    assert_eq!(
        store
            .credentials()
            .claim_refresh(p, c.id, c.version, lease)
            .await
            .unwrap(),
        RefreshClaim::Busy
    );
    assert!(
        store
            .credentials()
            .due_refreshes(now() + Duration::hours(1), 10)
            .await
            .unwrap()
            .is_empty(),
        "leased rows are not due"
    );

    let refreshed = store
        .credentials()
        .complete_refresh(p, c.id, c.version, &tokens("new"), &[])
        .await
        .unwrap();
    assert_eq!(refreshed.version, c.version + 1);
    assert_eq!(refreshed.secrets.as_deref(), Some(&b"new"[..]));
    assert_eq!(refreshed.status, CredentialStatus::Valid);
    assert!(refreshed.refreshed_at.is_some());
    // An older result never overwrites a newer one.
    let late = store
        .credentials()
        .complete_refresh(p, c.id, c.version, &tokens("old"), &[])
        .await;
    assert!(matches!(late, Err(StoreError::Conflict { .. })), "{late:?}");
    assert_eq!(
        find_credential(&store, p, c.id)
            .await
            .unwrap()
            .secrets
            .as_deref(),
        Some(&b"new"[..])
    );
    // A claim on the old version learns what happened.
    match store
        .credentials()
        .claim_refresh(p, c.id, c.version, lease)
        .await
        .unwrap()
    {
        RefreshClaim::Stale(current) => assert_eq!(current.version, refreshed.version),
        other => panic!("{other:?}"),
    }
    // The lease was released: the new version can be claimed.
    assert!(matches!(
        store
            .credentials()
            .claim_refresh(p, c.id, refreshed.version, lease)
            .await
            .unwrap(),
        RefreshClaim::Claimed(_)
    ));
    // An expired lease is free again.
    let other = insert_credential(&store, &expiring(credential(p, crm, "ada"), 30)).await;
    let past = now() - Duration::seconds(1);
    assert!(matches!(
        store
            .credentials()
            .claim_refresh(p, other.id, other.version, past)
            .await
            .unwrap(),
        RefreshClaim::Claimed(_)
    ));
    assert!(matches!(
        store
            .credentials()
            .claim_refresh(p, other.id, other.version, lease)
            .await
            .unwrap(),
        RefreshClaim::Claimed(_)
    ));
}

async fn failures_are_counted_and_definitive_ones_invalidate(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let crm = integrations(&store, p, &["crm"]).await[0];
    let c = insert_credential(&store, &expiring(credential(p, crm, "ada"), 30)).await;
    let retry_at = now() + Duration::seconds(5);
    let lease = now() + Duration::seconds(30);
    store
        .credentials()
        .claim_refresh(p, c.id, c.version, lease)
        .await
        .unwrap();
    let transient = RefreshFailure {
        definitive: false,
        retry_at: Some(retry_at),
    };
    let after = store
        .credentials()
        .record_refresh_failure(p, c.id, c.version, &transient, &[])
        .await
        .unwrap();
    assert_eq!(
        (after.status, after.refresh_failure_count),
        (CredentialStatus::Valid, 1)
    );
    assert_eq!(after.version, c.version, "a failure changes no token");
    // Released, and due again at retry_at.
    assert!(matches!(
        store
            .credentials()
            .claim_refresh(p, c.id, c.version, lease)
            .await
            .unwrap(),
        RefreshClaim::Claimed(_)
    ));
    let definitive = RefreshFailure {
        definitive: true,
        retry_at: None,
    };
    let invalid = store
        .credentials()
        .record_refresh_failure(p, c.id, c.version, &definitive, &[])
        .await
        .unwrap();
    assert_eq!(
        (invalid.status, invalid.refresh_failure_count),
        (CredentialStatus::Invalid, 2)
    );
    assert!(
        store
            .credentials()
            .due_refreshes(now() + Duration::days(1), 10)
            .await
            .unwrap()
            .is_empty(),
        "invalid ones are not retried"
    );
    let stale = store
        .credentials()
        .record_refresh_failure(p, c.id, c.version + 1, &transient, &[])
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict { .. })));
}

async fn due_refreshes_come_soonest_first(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let crm = integrations(&store, p, &["crm"]).await[0];
    let later = insert_credential(&store, &expiring(credential(p, crm, "ada"), 120)).await;
    let sooner = insert_credential(&store, &expiring(credential(p, crm, "ada"), 90)).await;
    insert_credential(&store, &expiring(credential(p, crm, "ada"), 3600)).await;
    insert_credential(&store, &credential(p, crm, "ada")).await;
    let due = store
        .credentials()
        .due_refreshes(now() + Duration::seconds(90), 10)
        .await
        .unwrap();
    assert_eq!(
        due.iter().map(|d| d.credential_id).collect::<Vec<_>>(),
        [sooner.id, later.id]
    );
    assert!(due.iter().all(|d| d.project_id == p));
    assert_eq!(
        store
            .credentials()
            .due_refreshes(now() + Duration::seconds(90), 1)
            .await
            .unwrap()
            .len(),
        1
    );
}

backend_tests!(
    one_refresh_lease_at_a_time,
    failures_are_counted_and_definitive_ones_invalidate,
    due_refreshes_come_soonest_first,
);
