//! Hourly usage: every replica's counts add up per integration and hour, an integration
//! deleted meanwhile takes its counts with it, and old hours are purged.

use chrono::{DateTime, Duration, DurationRound as _, Utc};
use patchbay_store::{UsageHour, now};
use patchbay_test_support::{TestDb, backend_tests};
use uuid::Uuid;

use crate::fixtures;

fn usage(project_id: Uuid, integration_id: Uuid, hour: DateTime<Utc>, calls: i64) -> UsageHour {
    UsageHour {
        project_id,
        integration_id,
        hour,
        proxy_calls: calls,
        proxy_errors: 1,
        refresh_failures: 2,
    }
}

async fn usage_adds_up_per_integration_and_hour(db: TestDb) {
    let store = db.store();
    let project = fixtures::project(&store).await;
    let integrations = fixtures::integrations(&store, project, &["crm", "chat"]).await;
    let (crm, chat) = (integrations[0], integrations[1]);
    let hour = now().duration_trunc(Duration::hours(1)).unwrap();
    let earlier = hour - Duration::hours(30);
    let dashboard = store.dashboard();

    // Two replicas flush the same hour; a third row is another integration, a fourth an old hour.
    dashboard
        .add_usage(&[usage(project, crm, hour, 3), usage(project, chat, hour, 1)])
        .await
        .unwrap();
    dashboard
        .add_usage(&[
            usage(project, crm, hour, 4),
            usage(project, crm, earlier, 9),
        ])
        .await
        .unwrap();
    // A row of an integration that no longer exists is dropped, and the rest still lands.
    dashboard
        .add_usage(&[
            usage(project, Uuid::new_v4(), hour, 5),
            usage(project, chat, hour, 1),
        ])
        .await
        .unwrap();

    let listed = dashboard
        .list_usage(project, hour - Duration::hours(1))
        .await
        .unwrap();
    let mut figures: Vec<(Uuid, i64, i64, i64)> = listed
        .iter()
        .map(|row| {
            (
                row.integration_id,
                row.proxy_calls,
                row.proxy_errors,
                row.refresh_failures,
            )
        })
        .collect();
    figures.sort();
    let mut expected = vec![(crm, 7, 2, 4), (chat, 2, 2, 4)];
    expected.sort();
    assert_eq!(figures, expected);
    assert!(
        listed
            .iter()
            .all(|row| row.hour == hour && row.project_id == project)
    );

    assert_eq!(
        dashboard
            .purge_usage(hour - Duration::hours(1))
            .await
            .unwrap(),
        1
    );
    assert!(dashboard.list_usage(project, earlier).await.unwrap().len() == 2);
}

backend_tests!(usage_adds_up_per_integration_and_hour);
