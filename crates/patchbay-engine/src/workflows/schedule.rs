//! Schedules: each `schedule` workflow runs at every occurrence of its cron
//! expression, once per account that has it enabled. Every replica looks;
//! a run's job carries the key `schedule:<workflow>:<account>:<occurrence>`,
//! which the store accepts once, so replicas never double a run.
//!
//! Occurrences are looked for from the moment the server started: those
//! that fell while no server was running are skipped, not caught up.

use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Year};
use patchbay_config::Trigger;
use patchbay_store::{CredentialFilter, CredentialRecord, CredentialStatus, WorkflowRecord, now};
use serde_json::json;
use uuid::Uuid;

use super::context::Workflows;
use super::executor::RunTarget;
use super::runs;
use crate::runtime::{Integration, Workflow};

/// How often schedules are looked at: the finest cron field is a second.
const TICK: Duration = Duration::from_secs(1);
/// Occurrences of one workflow queued per tick at most (a six-field
/// expression firing every second after a long pause).
const MAX_OCCURRENCES: usize = 10;
/// An integration's accounts are read this many at a time, so a schedule
/// over a million accounts never holds them all in memory.
const ACCOUNTS_PER_READ: i64 = 500;

pub async fn run(workflows: Workflows) {
    let mut since = now();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let until = now();
        match workflows
            .store
            .workflows()
            .list_workflows_with_trigger("schedule")
            .await
        {
            Ok(scheduled) => {
                let mut queued = 0;
                for record in scheduled {
                    queued += queue_due(&workflows, &record, since, until).await;
                }
                if queued > 0 {
                    workflows.wake_worker();
                }
            }
            Err(err) => tracing::warn!(error = %err, "schedules could not be read"),
        }
        since = until;
    }
}

/// Queues the runs of one workflow due in `(since, until]`; returns how many.
async fn queue_due(
    workflows: &Workflows,
    record: &WorkflowRecord,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> usize {
    let Ok(Some(project)) = workflows
        .store
        .projects()
        .get_project(record.project_id)
        .await
    else {
        return 0;
    };
    let Ok(runtime) = workflows.runtimes.load(&project).await else {
        return 0;
    };
    let Some(workflow) = runtime.workflow(&record.id) else {
        return 0;
    };
    let Trigger::Schedule(schedule) = &workflow.config.trigger else {
        return 0;
    };
    let occurrences = occurrences(&schedule.cron, schedule.timezone.as_deref(), since, until);
    if occurrences.is_empty() {
        return 0;
    }
    let Some(integration) = runtime.integration_by_id(workflow.integration_id) else {
        return 0;
    };
    let mut filter = CredentialFilter {
        integration_id: Some(integration.id),
        status: Some(CredentialStatus::Valid),
        limit: Some(ACCOUNTS_PER_READ),
        ..Default::default()
    };
    let mut queued = 0;
    loop {
        let accounts = match workflows
            .store
            .credentials()
            .list_credentials(project.id, &filter)
            .await
        {
            Ok(accounts) => accounts,
            Err(err) => {
                tracing::warn!(error = %err, "a schedule's accounts could not be read");
                break;
            }
        };
        let Some(last) = accounts.last() else {
            break;
        };
        filter.after = Some((last.created_at, last.id));
        let full = accounts.len() as i64 == ACCOUNTS_PER_READ;
        for account in accounts {
            queued +=
                queue_for_account(workflows, integration, workflow, account, &occurrences).await;
        }
        if !full {
            break;
        }
    }
    queued
}

/// Queues one account's runs at `occurrences`, one per configuration that has the workflow
/// enabled, as its user; returns how many.
async fn queue_for_account(
    workflows: &Workflows,
    integration: &Integration,
    workflow: &Workflow,
    account: CredentialRecord,
    occurrences: &[DateTime<Utc>],
) -> usize {
    let configurations: Vec<Uuid> = workflow
        .enabled_configurations(&account)
        .map(|c| c.id)
        .collect();
    if configurations.is_empty() {
        return 0;
    }
    let project_id = account.project_id;
    let Ok(Some(user)) = workflows
        .store
        .users()
        .get_user(project_id, &account.user_id)
        .await
    else {
        return 0;
    };
    if !workflow
        .config
        .shown_to(&serde_json::Value::Object(user.meta.clone()))
    {
        return 0;
    }
    let mut target = RunTarget {
        integration: integration.clone(),
        workflow: workflow.clone(),
        credential: account,
        configuration_id: configurations[0],
        user,
    };
    let mut queued = 0;
    for configuration_id in configurations {
        target.configuration_id = configuration_id;
        for at in occurrences {
            let key = format!(
                "schedule:{}:{}:{}:{}:{}",
                project_id,
                target.workflow.config.id,
                target.credential.id,
                configuration_id,
                at.timestamp()
            );
            let trigger = json!({ "type": "schedule", "scheduledAt": at });
            match runs::enqueue(workflows, &target, trigger, Some(key)).await {
                Ok(Some(_)) => queued += 1,
                Ok(None) => {} // another replica queued it
                Err(err) => tracing::warn!(error = %err, "a scheduled run could not be queued"),
            }
        }
    }
    queued
}

/// The expression's occurrences in `(since, until]`, in its time zone.
fn occurrences(
    cron: &str,
    timezone: Option<&str>,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let parser = CronParser::builder().year(Year::Disallowed).build();
    let Ok(cron) = parser.parse(cron) else {
        return Vec::new();
    };
    let zone: chrono_tz::Tz = timezone
        .and_then(|tz| tz.parse().ok())
        .unwrap_or(chrono_tz::UTC);
    cron.iter_after(since.with_timezone(&zone))
        .take_while(|at| at.with_timezone(&Utc) <= until)
        .take(MAX_OCCURRENCES)
        .map(|at| at.with_timezone(&Utc))
        .collect()
}
