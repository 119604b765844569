use patchbay_test_support::{TestDb, backend_tests};

/// The two backends must evolve in lockstep: same migration numbers, same
/// names, in the same order. A migration added to one only fails here.
#[test]
fn both_backends_have_the_same_migrations() {
    let list = |migrator: &sqlx::migrate::Migrator| {
        migrator
            .iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect::<Vec<_>>()
    };
    let sqlite = list(&patchbay_store_sqlite::MIGRATOR);
    let postgres = list(&patchbay_store_postgres::MIGRATOR);
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
}

async fn a_fresh_database_is_not_ready_until_migrated(db: TestDb) {
    let bare = db.unmigrated_store().await;
    let before = bare.readiness().await.unwrap();
    assert!(!before.is_ready());
    assert_eq!(
        before.pending_migrations,
        patchbay_store_sqlite::MIGRATOR.iter().count()
    );
    bare.migrate().await.unwrap();
    assert!(bare.readiness().await.unwrap().is_ready());
    // Running migrations again is a no-op.
    bare.migrate().await.unwrap();
    assert!(db.store().readiness().await.unwrap().is_ready());
}

backend_tests!(a_fresh_database_is_not_ready_until_migrated);
