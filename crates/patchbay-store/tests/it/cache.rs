//! `CachedStore`: what a replica reads after writes through itself, through
//! another replica, and behind every store's back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use patchbay_store::{ChangeNotice, CredentialFilter, Store};
use patchbay_test_support::{Backend, TestDb, backend_tests};
use sqlx::{Connection as _, Executor as _, PgConnection};
use tokio::sync::broadcast;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::fixtures::{
    add_signing_key, config, credential, event, find_project_with_active_keys, find_user,
    insert_credential, integration, integrations, list_credentials, project,
};

/// Longer than any test: a replica with it can only learn of a change from a
/// notice.
const FOREVER: Duration = Duration::from_secs(3600);

fn of_user(user_id: &str) -> CredentialFilter {
    CredentialFilter {
        user_id: Some(user_id.to_owned()),
        ..CredentialFilter::default()
    }
}

async fn active_kids(store: &Arc<dyn Store>, project_id: Uuid) -> Vec<String> {
    let (_, keys) = find_project_with_active_keys(store, project_id)
        .await
        .unwrap();
    keys.into_iter().map(|key| key.kid).collect()
}

async fn account_count(store: &Arc<dyn Store>, project_id: Uuid, user_id: &str) -> usize {
    list_credentials(store, project_id, &of_user(user_id))
        .await
        .len()
}

/// Polls `check` until it holds, for at most five seconds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check().await {
        assert!(Instant::now() < deadline, "{what} within 5 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_writer_reads_its_own_writes_at_once(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let [crm] = integrations(&store, p, &["crm"]).await[..] else {
        unreachable!()
    };
    // Fill every cached read first, so that stale entries would show.
    assert!(active_kids(&store, p).await.is_empty());
    assert!(find_user(&store, p, "ada").await.is_none());
    assert_eq!(account_count(&store, p, "ada").await, 0);

    add_signing_key(&store, p, "k1").await;
    assert_eq!(active_kids(&store, p).await, ["k1"]);
    store.users().upsert_user(p, "ada", None).await.unwrap();
    let ada = find_user(&store, p, "ada").await.unwrap();
    assert!(ada.meta.is_empty());
    let meta = serde_json::json!({"plan": "pro"});
    store
        .users()
        .upsert_user(p, "ada", meta.as_object())
        .await
        .unwrap();
    assert_eq!(
        find_user(&store, p, "ada").await.unwrap().meta.get("plan"),
        Some(&serde_json::json!("pro"))
    );

    let first = credential(p, crm, "ada");
    insert_credential(&store, &first).await;
    assert_eq!(account_count(&store, p, "ada").await, 1);
    // Accounts list oldest first, by a millisecond timestamp: the second must be younger.
    tokio::time::sleep(Duration::from_millis(2)).await;
    let second = credential(p, crm, "ada");
    insert_credential(&store, &second).await;
    let listed = list_credentials(
        &store,
        p,
        &CredentialFilter {
            integration_id: Some(crm),
            ..of_user("ada")
        },
    )
    .await;
    assert_eq!(
        listed.iter().map(|c| c.id).collect::<Vec<_>>(),
        [first.id, second.id]
    );
    store
        .credentials()
        .delete_credential(
            p,
            first.id,
            &[event(p, "ada", first.id, "credential.deleted")],
        )
        .await
        .unwrap();
    assert_eq!(account_count(&store, p, "ada").await, 1);
    store.projects().revoke_signing_key(p, "k1").await.unwrap();
    assert!(active_kids(&store, p).await.is_empty());
}

async fn an_integration_removed_takes_its_cached_accounts_with_it(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let crm = integration("crm");
    let chat = integration("chat");
    store
        .projects()
        .apply_config(p, &config(vec![crm.clone(), chat.clone()], vec![]), &[])
        .await
        .unwrap();
    insert_credential(&store, &credential(p, crm.id, "ada")).await;
    let chat_account = insert_credential(&store, &credential(p, chat.id, "ada")).await;
    assert_eq!(account_count(&store, p, "ada").await, 2);

    store
        .projects()
        .apply_config(
            p,
            &config(vec![crm.clone()], vec![]),
            &[event(p, "ada", chat_account.id, "credential.deleted")],
        )
        .await
        .unwrap();
    let left = list_credentials(&store, p, &of_user("ada")).await;
    assert_eq!(
        left.iter().map(|c| c.integration_id).collect::<Vec<_>>(),
        [crm.id]
    );
}

async fn another_replicas_writes_are_seen(db: TestDb) {
    let store = db.store();
    // On PostgreSQL the replica keeps entries for longer than the test runs,
    // so only the change notice can explain what it sees; SQLite has no
    // channel between processes, and entries expiring is how it catches up.
    let ttl = match db.backend() {
        Backend::Postgres => FOREVER,
        Backend::Sqlite => Duration::from_millis(300),
    };
    let replica = db.replica_store(ttl).await;
    let p = project(&store).await;
    let [crm] = integrations(&store, p, &["crm"]).await[..] else {
        unreachable!()
    };
    add_signing_key(&store, p, "k1").await;
    let account = credential(p, crm, "ada");
    insert_credential(&store, &account).await;
    assert_eq!(active_kids(&replica, p).await, ["k1"]);
    assert_eq!(account_count(&replica, p, "ada").await, 1);

    store.projects().revoke_signing_key(p, "k1").await.unwrap();
    store
        .credentials()
        .delete_credential(p, account.id, &[])
        .await
        .unwrap();
    eventually("the replica sees the revoked key", || async {
        active_kids(&replica, p).await.is_empty()
    })
    .await;
    eventually("the replica sees the deleted account", || async {
        account_count(&replica, p, "ada").await == 0
    })
    .await;
}

async fn a_replica_that_lost_its_listener_forgets_everything(db: TestDb) {
    if db.backend() != Backend::Postgres {
        return; // No listener to lose.
    }
    let replica = db.replica_store(FOREVER).await;
    let store = db.store();
    // Plain SQL, which announces nothing: what no notice will ever tell.
    let mut sql = PgConnection::connect(db.url()).await.unwrap();
    let listeners = "SELECT count(*) FROM pg_stat_activity \
                     WHERE datname = current_database() AND query LIKE 'LISTEN%'";
    let mut waited = 0;
    while sqlx::query_scalar::<_, i64>(listeners)
        .fetch_one(&mut sql)
        .await
        .unwrap()
        < 2
    {
        assert!(waited < 250, "both stores listen within 5 s");
        waited += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let p = project(&store).await;
    add_signing_key(&store, p, "k1").await;
    assert_eq!(active_kids(&replica, p).await, ["k1"]);

    sql.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .await
    .unwrap();
    sql.execute(
        format!("UPDATE signing_keys SET revoked_at = now() WHERE project_id = '{p}'").as_str(),
    )
    .await
    .unwrap();
    eventually("the reconnected replica reads the store again", || async {
        active_kids(&replica, p).await.is_empty()
    })
    .await;
}

/// Waits until `notices` carry a notice that `store` announces (again every
/// second), so the listener is known to be listening; drops what came before.
async fn listening(store: &Arc<dyn Store>, notices: &mut broadcast::Receiver<ChangeNotice>) {
    let marker = ChangeNotice::Project(Uuid::new_v4());
    for _ in 0..10 {
        store.announce_change(&marker).await.unwrap();
        let heard = tokio::time::timeout(Duration::from_secs(1), async {
            while notices.recv().await.unwrap() != marker {}
        });
        if heard.await.is_ok() {
            return;
        }
    }
    panic!("the replica's listener hears a notice within 10 s");
}

/// The notices heard from now until a marker `store` announces last: a
/// replica's listener hears notices in commit order.
async fn heard_until_marker(
    store: &Arc<dyn Store>,
    notices: &mut broadcast::Receiver<ChangeNotice>,
) -> Vec<ChangeNotice> {
    let marker = ChangeNotice::Project(Uuid::new_v4());
    store.announce_change(&marker).await.unwrap();
    let mut heard = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let notice = tokio::time::timeout_at(deadline.into(), notices.recv())
            .await
            .expect("the marker arrives within 10 s")
            .unwrap();
        if notice == marker {
            return heard;
        }
        heard.push(notice);
    }
}

/// Many account writes at once through one replica: the other hears one
/// notice per write, each naming its user, and deleting an account forgets
/// its user alone, not the whole project.
async fn concurrent_writes_send_one_notice_each_naming_their_user(db: TestDb) {
    if db.backend() != Backend::Postgres {
        return; // SQLite has no channel between replicas.
    }
    const WRITES: usize = 40;
    let writer = db.store();
    let replica = db.replica_store(FOREVER).await;
    let mut notices = replica.change_notices().unwrap();
    let p = project(&writer).await;
    let [crm] = integrations(&writer, p, &["crm"]).await[..] else {
        unreachable!()
    };
    listening(&writer, &mut notices).await;

    let users: Vec<String> = (0..WRITES).map(|n| format!("user-{n}")).collect();
    let mut writes = JoinSet::new();
    for user in &users {
        let (writer, account) = (Arc::clone(&writer), credential(p, crm, user));
        writes.spawn(async move { insert_credential(&writer, &account).await });
    }
    let mut accounts = writes.join_all().await;
    let mut heard = heard_until_marker(&writer, &mut notices).await;
    let mut expected: Vec<ChangeNotice> = users
        .iter()
        .map(|user| ChangeNotice::User {
            project_id: p,
            user_id: Some(user.clone()),
        })
        .collect();
    heard.sort_by_key(|notice| format!("{notice:?}"));
    expected.sort_by_key(|notice| format!("{notice:?}"));
    assert_eq!(heard, expected);

    // The replica caches two users; one's account changes where no notice
    // tells, so a replica that forgot that user would read the change.
    accounts.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    let (gone, kept) = (&accounts[0], &accounts[1]);
    assert_eq!(account_count(&replica, p, &gone.user_id).await, 1);
    assert_eq!(account_count(&replica, p, &kept.user_id).await, 1);
    // Plain SQL, which announces nothing (`TestDb::execute` would).
    let mut sql = PgConnection::connect(db.url()).await.unwrap();
    sql.execute(format!("DELETE FROM credentials WHERE id = '{}'", kept.id).as_str())
        .await
        .unwrap();

    let deleted_for = writer
        .credentials()
        .delete_credential(p, gone.id, &[])
        .await
        .unwrap();
    assert_eq!(deleted_for, gone.user_id);
    let heard = heard_until_marker(&writer, &mut notices).await;
    assert_eq!(
        heard,
        [ChangeNotice::User {
            project_id: p,
            user_id: Some(gone.user_id.clone()),
        }]
    );
    eventually("the replica forgets the deleted account", || async {
        account_count(&replica, p, &gone.user_id).await == 0
    })
    .await;
    assert_eq!(
        account_count(&replica, p, &kept.user_id).await,
        1,
        "deleting one user's account made the replica forget another user"
    );
}

backend_tests!(
    a_writer_reads_its_own_writes_at_once,
    an_integration_removed_takes_its_cached_accounts_with_it,
    another_replicas_writes_are_seen,
    a_replica_that_lost_its_listener_forgets_everything,
    concurrent_writes_send_one_notice_each_naming_their_user,
);
