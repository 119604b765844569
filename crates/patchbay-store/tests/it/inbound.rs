//! Providers' webhook deliveries: written with their runs in one transaction, recognised by
//! event id per integration, listed newest first in pages, purged by age.

use chrono::Duration;
use patchbay_store::{
    ExecutionFilter, ExecutionStatus, InboundDelivery, InboundFilter, InboundStatus, NewExecution,
    NewJob, StoreError, now,
};
use patchbay_test_support::{TestDb, backend_tests};
use serde_json::json;
use uuid::Uuid;

use crate::fixtures;

fn delivery(project_id: Uuid, integration_id: Uuid, event_id: Option<&str>) -> InboundDelivery {
    InboundDelivery {
        id: Uuid::new_v4(),
        project_id,
        integration_id,
        event_type: "contact.created".to_owned(),
        event_id: event_id.map(str::to_owned),
        account_key: "acct_ada".to_owned(),
        status: InboundStatus::Routed,
        credential_ids: vec![Uuid::new_v4()],
        execution_ids: Vec::new(),
        payload: json!({"data": {"id": "ct_1", "tags": ["a", 1, null]}}),
        received_at: now(),
    }
}

fn run(project_id: Uuid, integration_id: Uuid) -> (NewExecution, NewJob) {
    let execution = NewExecution {
        id: Uuid::new_v4(),
        project_id,
        workflow_id: "on-contact".to_owned(),
        integration_id,
        user_id: "ada".to_owned(),
        credential_id: Uuid::new_v4(),
        configuration_id: None,
        trigger: json!({"type": "integration"}),
        status: ExecutionStatus::Queued,
        started_at: now(),
    };
    let job = NewJob {
        id: Uuid::new_v4(),
        project_id,
        kind: "workflow_run".to_owned(),
        payload: json!({"executionId": execution.id}),
        dedupe_key: None,
        run_at: now(),
        claimed: None,
    };
    (execution, job)
}

async fn a_delivery_is_stored_with_its_runs_and_its_event_id_once(db: TestDb) {
    let store = db.store();
    let project = fixtures::project(&store).await;
    let integrations = fixtures::integrations(&store, project, &["crm", "chat"]).await;
    let (crm, chat) = (integrations[0], integrations[1]);
    let runs = [run(project, crm), run(project, crm)];
    let mut first = delivery(project, crm, Some("evt_1"));
    first.execution_ids = runs.iter().map(|(execution, _)| execution.id).collect();
    let workflows = store.workflows();
    assert!(
        workflows
            .record_inbound_delivery(&first, &runs)
            .await
            .unwrap()
    );

    // The same event id again, with runs of its own: nothing of it is written.
    let again = delivery(project, crm, Some("evt_1"));
    let more = [run(project, crm)];
    assert!(
        !workflows
            .record_inbound_delivery(&again, &more)
            .await
            .unwrap()
    );
    // Another integration may use the same event id; deliveries without one are never alike.
    assert!(
        workflows
            .record_inbound_delivery(&delivery(project, chat, Some("evt_1")), &[])
            .await
            .unwrap()
    );
    for _ in 0..2 {
        assert!(
            workflows
                .record_inbound_delivery(&delivery(project, crm, None), &[])
                .await
                .unwrap()
        );
    }

    let queued = workflows
        .list_executions(
            project,
            &ExecutionFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut queued_ids: Vec<Uuid> = queued.iter().map(|run| run.id).collect();
    queued_ids.sort();
    let mut expected = first.execution_ids.clone();
    expected.sort();
    assert_eq!(queued_ids, expected, "only the first delivery's runs");
    assert_eq!(
        workflows.count_pending_jobs("workflow_run").await.unwrap(),
        2
    );

    let listed = workflows
        .list_inbound_deliveries(
            project,
            &InboundFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), 4);
    let stored = listed.iter().find(|d| d.id == first.id).unwrap();
    assert_eq!(*stored, first, "read back as written");
}

async fn deliveries_page_newest_first_and_filter(db: TestDb) {
    let store = db.store();
    let project = fixtures::project(&store).await;
    let integrations = fixtures::integrations(&store, project, &["crm", "chat"]).await;
    let workflows = store.workflows();
    let mut written = Vec::new();
    for i in 0..5 {
        let mut d = delivery(project, integrations[i % 2], Some(&format!("evt_{i}")));
        d.received_at = now() - Duration::seconds(10 - i as i64);
        d.status = if i == 3 {
            InboundStatus::Unmatched
        } else {
            InboundStatus::Routed
        };
        workflows.record_inbound_delivery(&d, &[]).await.unwrap();
        written.push(d);
    }
    let mut seen = Vec::new();
    let mut filter = InboundFilter {
        limit: 2,
        ..Default::default()
    };
    loop {
        let page = workflows
            .list_inbound_deliveries(project, &filter)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        filter.before = Some((last.received_at, last.id));
        seen.extend(page.iter().map(|d| d.event_id.clone().unwrap()));
    }
    assert_eq!(seen, ["evt_4", "evt_3", "evt_2", "evt_1", "evt_0"]);

    let chat_only = InboundFilter {
        integration_id: Some(integrations[1]),
        limit: 10,
        ..Default::default()
    };
    let chat: Vec<_> = workflows
        .list_inbound_deliveries(project, &chat_only)
        .await
        .unwrap();
    assert_eq!(
        chat.iter()
            .map(|d| d.event_id.clone().unwrap())
            .collect::<Vec<_>>(),
        ["evt_3", "evt_1"]
    );
    let unmatched = InboundFilter {
        status: Some(InboundStatus::Unmatched),
        limit: 10,
        ..Default::default()
    };
    let found = workflows
        .list_inbound_deliveries(project, &unmatched)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, written[3].id);

    // Another project sees none of them.
    let other = fixtures::project(&store).await;
    let none = InboundFilter {
        limit: 10,
        ..Default::default()
    };
    assert!(
        workflows
            .list_inbound_deliveries(other, &none)
            .await
            .unwrap()
            .is_empty()
    );

    assert_eq!(
        workflows
            .purge_inbound_deliveries(written[2].received_at)
            .await
            .unwrap(),
        2
    );
    let left = workflows
        .list_inbound_deliveries(project, &none)
        .await
        .unwrap();
    assert_eq!(left.len(), 3);
    // A purged event id is a new event again.
    assert!(
        workflows
            .record_inbound_delivery(&delivery(project, integrations[0], Some("evt_0")), &[])
            .await
            .unwrap()
    );
}

async fn a_nul_in_a_payload_is_refused_alike(db: TestDb) {
    let store = db.store();
    let project = fixtures::project(&store).await;
    let integration = fixtures::integrations(&store, project, &["crm"]).await[0];
    let mut bad = delivery(project, integration, Some("evt_nul"));
    bad.payload = json!({"text": "a\u{0}b"});
    let refused = store.workflows().record_inbound_delivery(&bad, &[]).await;
    assert!(
        matches!(refused, Err(StoreError::Refused(_))),
        "{refused:?}"
    );
    let none = InboundFilter {
        limit: 10,
        ..Default::default()
    };
    assert!(
        store
            .workflows()
            .list_inbound_deliveries(project, &none)
            .await
            .unwrap()
            .is_empty()
    );
}

backend_tests!(
    a_delivery_is_stored_with_its_runs_and_its_event_id_once,
    deliveries_page_newest_first_and_filter,
    a_nul_in_a_payload_is_refused_alike,
);
