//! A project's events across its users, as its event stream reads them:
//! in order, after a resume point, and complete however many write at once.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use patchbay_store::Store;
use patchbay_test_support::{TestDb, backend_tests};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::fixtures::{credential, event, insert_credential_with, integrations, project};

/// Connects an account of `user` to `integration`, recording `credential.created`.
async fn connect(store: &Arc<dyn Store>, project_id: Uuid, integration: Uuid, user: &str) -> Uuid {
    let account = credential(project_id, integration, user);
    let created = event(project_id, user, account.id, "credential.created");
    insert_credential_with(store, &account, &[created]).await;
    account.id
}

async fn a_project_s_events_list_in_order_for_all_its_users_and_no_others(db: TestDb) {
    let store = db.store();
    let p = project(&store).await;
    let other = project(&store).await;
    let crm = integrations(&store, p, &["crm"]).await[0];
    let elsewhere = integrations(&store, other, &["crm"]).await[0];
    assert_eq!(store.events().last_project_event_seq(p).await.unwrap(), 0);

    let ada = connect(&store, p, crm, "ada").await;
    connect(&store, other, elsewhere, "ada").await;
    let grace = connect(&store, p, crm, "grace").await;
    let again = connect(&store, p, crm, "ada").await;

    let events = store.events().list_project_events(p, 0, 100).await.unwrap();
    let seen: Vec<_> = events
        .iter()
        .map(|e| (e.user_id.as_str(), e.credential_id))
        .collect();
    assert_eq!(
        seen,
        [
            ("ada", Some(ada)),
            ("grace", Some(grace)),
            ("ada", Some(again))
        ]
    );
    assert!(events.iter().all(|e| e.project_id == p));
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(
        store.events().last_project_event_seq(p).await.unwrap(),
        events[2].seq
    );
    // Resuming after an event returns only what came later, a page at a time.
    let after = store
        .events()
        .list_project_events(p, events[0].seq, 1)
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].id, events[1].id);
    assert!(
        store
            .events()
            .list_project_events(p, events[2].seq, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Writers of several users record events at once while a reader follows
/// the project as its stream does, each read resuming after the last event
/// it saw: an event committed after a later one would be skipped for good.
async fn a_reader_of_a_project_misses_no_event_written_concurrently(db: TestDb) {
    const WRITERS: usize = 8;
    const EACH: usize = 25;
    let store = db.store();
    let p = project(&store).await;
    let crm = integrations(&store, p, &["crm"]).await[0];
    let mut writers = JoinSet::new();
    for writer in 0..WRITERS {
        let store = Arc::clone(&store);
        writers.spawn(async move {
            let user = format!("user-{writer}");
            for _ in 0..EACH {
                connect(&store, p, crm, &user).await;
            }
        });
    }
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let writing = !writers.is_empty();
        while let Some(done) = writers.try_join_next() {
            done.unwrap();
        }
        let page = store
            .events()
            .list_project_events(p, after, 50)
            .await
            .unwrap();
        if page.is_empty() && !writing {
            break;
        }
        after = page.last().map_or(after, |last| last.seq);
        seen.extend(page.iter().map(|e| e.id));
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let written: HashSet<Uuid> = store
        .events()
        .list_project_events(p, 0, 1000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(written.len(), WRITERS * EACH);
    assert_eq!(seen.len(), written.len(), "each event read once");
    assert_eq!(seen.into_iter().collect::<HashSet<_>>(), written);
}

backend_tests!(
    a_project_s_events_list_in_order_for_all_its_users_and_no_others,
    a_reader_of_a_project_misses_no_event_written_concurrently,
);
