//! Workflow runs and the job queue: a job is claimed by one caller, comes
//! back when its lease lapses or it is released, and ends with its run.

use std::sync::Arc;

use chrono::Duration;
use patchbay_store::{
    ExecutionFilter, ExecutionOutcome, ExecutionStatus, NewEvent, NewExecution, NewJob, StepRecord,
    StepStatus, Store, now,
};
use patchbay_test_support::{TestDb, backend_tests};
use serde_json::json;
use uuid::Uuid;

use crate::fixtures;

fn execution(project_id: Uuid, integration_id: Uuid, credential_id: Uuid) -> NewExecution {
    NewExecution {
        id: Uuid::new_v4(),
        project_id,
        workflow_id: "sync".to_owned(),
        integration_id,
        user_id: "ada".to_owned(),
        credential_id,
        configuration_id: None,
        trigger: json!({"type": "app_event"}),
        status: ExecutionStatus::Queued,
        started_at: now(),
    }
}

fn job(project_id: Uuid, execution_id: Uuid, dedupe_key: Option<&str>) -> NewJob {
    NewJob {
        id: Uuid::new_v4(),
        project_id,
        kind: "workflow_run".to_owned(),
        payload: json!({"executionId": execution_id}),
        dedupe_key: dedupe_key.map(str::to_owned),
        run_at: now(),
        claimed: None,
    }
}

async fn setup(store: &Arc<dyn Store>) -> (Uuid, Uuid) {
    let project = fixtures::project(store).await;
    let integration = fixtures::integrations(store, project, &["crm"]).await[0];
    (project, integration)
}

async fn each_job_is_claimed_once_until_its_lease_lapses(db: TestDb) {
    let store = db.store();
    let (project, integration) = setup(&store).await;
    let run = execution(project, integration, Uuid::new_v4());
    assert!(
        store
            .workflows()
            .insert_execution(&run, Some(&job(project, run.id, Some("k1"))))
            .await
            .unwrap()
    );
    // The same key again writes nothing, not even the run.
    let twin = execution(project, integration, Uuid::new_v4());
    assert!(
        !store
            .workflows()
            .insert_execution(&twin, Some(&job(project, twin.id, Some("k1"))))
            .await
            .unwrap()
    );
    assert!(
        store
            .workflows()
            .get_execution(project, twin.id)
            .await
            .unwrap()
            .is_none()
    );

    let lease = now() + Duration::seconds(30);
    let claimed = store
        .workflows()
        .claim_jobs("workflow_run", "w1", 10, lease)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].attempts, 1);
    assert_eq!(claimed[0].payload["executionId"], run.id.to_string());
    assert!(
        store
            .workflows()
            .claim_jobs("workflow_run", "w2", 10, lease)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .workflows()
            .claim_jobs("other_kind", "w2", 10, lease)
            .await
            .unwrap()
            .is_empty()
    );

    // Released (graceful shutdown): claimable again, attempt not counted.
    assert_eq!(store.workflows().release_jobs("w1").await.unwrap(), 1);
    let again = store
        .workflows()
        .claim_jobs("workflow_run", "w2", 10, lease)
        .await
        .unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 1));

    // A lease that lapsed (a crashed claimant) is taken over.
    store
        .workflows()
        .extend_job_leases("w2", now() - Duration::seconds(1))
        .await
        .unwrap();
    let taken = store
        .workflows()
        .claim_jobs("workflow_run", "w3", 10, lease)
        .await
        .unwrap();
    assert_eq!((taken.len(), taken[0].attempts), (1, 2));
    // w2 no longer holds it.
    assert_eq!(
        store
            .workflows()
            .extend_job_leases("w2", lease)
            .await
            .unwrap(),
        0
    );

    // The run's end ends the job: it is never claimed again.
    store
        .workflows()
        .start_execution(project, run.id, now())
        .await
        .unwrap();
    let outcome = ExecutionOutcome {
        status: ExecutionStatus::Failed,
        error: Some("boom".to_owned()),
        ended_at: now(),
        duration_ms: 12,
        steps: vec![
            StepRecord {
                seq: 0,
                step_id: "create".to_owned(),
                status: StepStatus::Failed,
                input: Some(json!({"method": "POST"})),
                output: None,
                error: Some("boom".to_owned()),
                started_at: now(),
                duration_ms: Some(11),
            },
            StepRecord {
                seq: 1,
                step_id: "notify".to_owned(),
                status: StepStatus::Skipped,
                input: None,
                output: None,
                error: None,
                started_at: now(),
                duration_ms: None,
            },
        ],
    };
    let event = NewEvent {
        id: Uuid::new_v4(),
        project_id: project,
        user_id: "ada".to_owned(),
        integration_id: Some(integration),
        credential_id: Some(run.credential_id),
        name: "task.failed".to_owned(),
        payload: json!({"executionId": run.id}),
    };
    store
        .workflows()
        .finish_execution(project, run.id, &outcome, &[event], Some(taken[0].id))
        .await
        .unwrap();
    store
        .workflows()
        .extend_job_leases("w3", now() - Duration::seconds(1))
        .await
        .unwrap();
    assert!(
        store
            .workflows()
            .claim_jobs("workflow_run", "w4", 10, lease)
            .await
            .unwrap()
            .is_empty()
    );
    let (stored, steps) = store
        .workflows()
        .get_execution(project, run.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, ExecutionStatus::Failed);
    assert_eq!(stored.error.as_deref(), Some("boom"));
    assert_eq!(stored.duration_ms, Some(12));
    // The skipped step ran nothing: one task.
    assert_eq!(stored.task_count, 1);
    assert_eq!(steps, outcome.steps);
    let events = store
        .events()
        .list_user_events(project, "ada", 0, 10)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    // Purged once old enough: the run stays, its dedupe key is free again.
    assert_eq!(
        store
            .workflows()
            .purge_finished_jobs(now() - Duration::seconds(60))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .workflows()
            .purge_finished_jobs(now() + Duration::seconds(1))
            .await
            .unwrap(),
        1
    );
    assert!(
        store
            .workflows()
            .get_execution(project, run.id)
            .await
            .unwrap()
            .is_some()
    );
    let later = execution(project, integration, Uuid::new_v4());
    assert!(
        store
            .workflows()
            .insert_execution(&later, Some(&job(project, later.id, Some("k1"))))
            .await
            .unwrap()
    );
    // A final run cannot be finished or started again.
    assert!(
        store
            .workflows()
            .start_execution(project, run.id, now())
            .await
            .is_err()
    );
    assert!(
        store
            .workflows()
            .finish_execution(project, run.id, &outcome, &[], None)
            .await
            .is_err()
    );
}

async fn runs_are_listed_newest_first_with_filters_and_cursors(db: TestDb) {
    let store = db.store();
    let (project, integration) = setup(&store).await;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let start = now() - Duration::minutes(10);
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut run = execution(project, integration, if i % 2 == 0 { a } else { b });
        run.started_at = start + Duration::seconds(i);
        run.status = ExecutionStatus::Running;
        store
            .workflows()
            .insert_execution(&run, None)
            .await
            .unwrap();
        ids.push(run.id);
    }
    let page = |filter: ExecutionFilter| {
        let store = Arc::clone(&store);
        async move {
            store
                .workflows()
                .list_executions(project, &filter)
                .await
                .unwrap()
                .iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        }
    };
    let newest_first: Vec<Uuid> = ids.iter().rev().copied().collect();
    let all = ExecutionFilter {
        limit: 10,
        ..Default::default()
    };
    assert_eq!(page(all.clone()).await, newest_first);
    let first_two = page(ExecutionFilter {
        limit: 2,
        ..all.clone()
    })
    .await;
    assert_eq!(first_two, newest_first[..2]);
    let cursor = ExecutionFilter {
        cursor: Some((start + Duration::seconds(3), newest_first[1])),
        ..all.clone()
    };
    assert_eq!(page(cursor).await, newest_first[2..]);
    let only_b = ExecutionFilter {
        credential_id: Some(b),
        ..all.clone()
    };
    assert_eq!(page(only_b).await, [ids[3], ids[1]]);
    let window = ExecutionFilter {
        after: Some(start + Duration::seconds(1)),
        before: Some(start + Duration::seconds(3)),
        ..all.clone()
    };
    assert_eq!(page(window).await, [ids[2], ids[1]]);
    let failed = ExecutionFilter {
        status: Some(ExecutionStatus::Failed),
        ..all.clone()
    };
    assert!(page(failed).await.is_empty());
    // Oldest first, its cursor read the same way, and an offset after it.
    let oldest_first = ExecutionFilter {
        ascending: true,
        ..all.clone()
    };
    assert_eq!(page(oldest_first.clone()).await, ids);
    let after_second = ExecutionFilter {
        cursor: Some((start + Duration::seconds(1), ids[1])),
        ..oldest_first.clone()
    };
    assert_eq!(page(after_second.clone()).await, ids[2..]);
    let skipped = ExecutionFilter {
        offset: 1,
        limit: 2,
        ..after_second.clone()
    };
    assert_eq!(page(skipped).await, ids[3..5]);
    // The count ignores cursor, offset and limit, never the conditions.
    let count = |filter: ExecutionFilter| {
        let store = Arc::clone(&store);
        async move {
            store
                .workflows()
                .count_executions(project, &filter)
                .await
                .unwrap()
        }
    };
    assert_eq!(count(after_second).await, 5);
    assert_eq!(
        count(ExecutionFilter {
            credential_id: Some(b),
            limit: 1,
            ..all.clone()
        })
        .await,
        2
    );
    let other_project = fixtures::project(&store).await;
    assert_eq!(
        store
            .workflows()
            .count_executions(other_project, &all)
            .await
            .unwrap(),
        0
    );
    assert!(
        store
            .workflows()
            .list_executions(other_project, &all)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .workflows()
            .get_execution(other_project, ids[0])
            .await
            .unwrap()
            .is_none()
    );
}

/// Four claimants racing over 40 jobs: each job goes to exactly one.
async fn racing_claimants_split_the_queue(db: TestDb) {
    let store = db.store();
    let (project, integration) = setup(&store).await;
    for _ in 0..40 {
        let run = execution(project, integration, Uuid::new_v4());
        store
            .workflows()
            .insert_execution(&run, Some(&job(project, run.id, None)))
            .await
            .unwrap();
    }
    let claimants = (0..4).map(|n| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let worker = format!("w{n}");
            let mut mine = Vec::new();
            loop {
                let lease = now() + Duration::seconds(30);
                let claimed = store
                    .workflows()
                    .claim_jobs("workflow_run", &worker, 3, lease)
                    .await
                    .unwrap();
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed.into_iter().map(|job| job.id));
            }
        })
    });
    let mut all = Vec::new();
    for claimant in claimants {
        all.extend(claimant.await.unwrap());
    }
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!((total, all.len()), (40, 40));
}

async fn finished_runs_are_counted_by_the_hour_they_started_in(db: TestDb) {
    let store = db.store();
    let (project, integration) = setup(&store).await;
    let (other, other_integration) = setup(&store).await;
    let hour = |back: i64| {
        let now = now();
        let top = now
            - Duration::nanoseconds(i64::from(now.timestamp_subsec_nanos()))
            - Duration::seconds(now.timestamp() % 3600);
        top - Duration::hours(back)
    };
    let run = |project, integration, status, started_at| NewExecution {
        status,
        started_at,
        ..execution(project, integration, Uuid::new_v4())
    };
    let rows = [
        run(
            project,
            integration,
            ExecutionStatus::Succeeded,
            hour(2) + Duration::minutes(1),
        ),
        run(
            project,
            integration,
            ExecutionStatus::Succeeded,
            hour(2) + Duration::minutes(59),
        ),
        run(
            project,
            integration,
            ExecutionStatus::Failed,
            hour(2) + Duration::minutes(30),
        ),
        run(
            project,
            integration,
            ExecutionStatus::Succeeded,
            hour(0) + Duration::seconds(1),
        ),
        // Too old, unfinished, or another project's: not counted.
        run(project, integration, ExecutionStatus::Succeeded, hour(5)),
        run(project, integration, ExecutionStatus::Running, hour(1)),
        run(other, other_integration, ExecutionStatus::Failed, hour(1)),
    ];
    db.bulk_store().await.executions(&rows).await.unwrap();

    let mut counted = store
        .workflows()
        .count_finished_executions_by_hour(project, hour(3))
        .await
        .unwrap();
    counted.sort_by_key(|c| (c.hour, c.status.as_str()));
    let seen: Vec<_> = counted
        .iter()
        .map(|c| (c.hour, c.status, c.count))
        .collect();
    assert_eq!(
        seen,
        [
            (hour(2), ExecutionStatus::Failed, 1),
            (hour(2), ExecutionStatus::Succeeded, 2),
            (hour(0), ExecutionStatus::Succeeded, 1),
        ]
    );
}

backend_tests!(
    finished_runs_are_counted_by_the_hour_they_started_in,
    racing_claimants_split_the_queue,
    each_job_is_claimed_once_until_its_lease_lapses,
    runs_are_listed_newest_first_with_filters_and_cursors,
);
