//! Replaying a finished run: a new run of the same workflow, as the same
//! account, with the trigger its Task History record kept, queued like any
//! run that nobody waits for.

use patchbay_store::{ExecutionRecord, Project};
use serde_json::{Value, json};
use uuid::Uuid;

use super::context::Workflows;
use super::executor::RunTarget;
use super::runs;
use crate::error::{EngineError, EngineResult};

/// Queues a new run replaying the project's run `execution_id`, and answers its id. The
/// run must have finished (succeeded or failed), its workflow and account must still exist,
/// and the account must still have the workflow enabled: a replay runs nothing the account
/// would not run now.
pub async fn replay(
    workflows: &Workflows,
    project: &Project,
    execution_id: &str,
) -> EngineResult<Uuid> {
    let id = Uuid::parse_str(execution_id).map_err(|_| EngineError::ExecutionNotFound)?;
    let (record, _) = workflows
        .store
        .workflows()
        .get_execution(project.id, id)
        .await?
        .ok_or(EngineError::ExecutionNotFound)?;
    if !record.status.is_final() {
        return Err(EngineError::ExecutionNotFinished {
            status: record.status.as_str(),
        });
    }
    let target = target(workflows, project, &record).await?;
    if !target
        .workflow
        .enabled_in(&target.configuration().workflow_settings)
    {
        return Err(EngineError::WorkflowNotEnabled {
            workflow_id: record.workflow_id,
            credential_id: record.credential_id,
        });
    }
    let trigger = replay_trigger(record.trigger, record.id);
    let queued = runs::enqueue(workflows, &target, trigger, None)
        .await?
        .ok_or(EngineError::Internal(
            "a run without a dedupe key was not queued",
        ))?;
    workflows.wake_worker();
    Ok(queued)
}

/// The workflow, account and user the run was for, as they are now. The workflow must still
/// belong to the account's integration: a document that moved it elsewhere made it another
/// workflow.
async fn target(
    workflows: &Workflows,
    project: &Project,
    record: &ExecutionRecord,
) -> EngineResult<RunTarget> {
    let runtime = workflows.runtimes.load(project).await?;
    let workflow = runtime
        .integration_workflow(record.integration_id, &record.workflow_id)
        .ok_or_else(|| EngineError::WorkflowNotFound(record.workflow_id.clone()))?;
    let integration = runtime
        .integration_by_id(record.integration_id)
        .ok_or_else(|| EngineError::WorkflowNotFound(record.workflow_id.clone()))?;
    let credential = workflows
        .store
        .credentials()
        .get_credential(project.id, record.credential_id)
        .await?
        .ok_or(EngineError::CredentialNotFound)?;
    // An account goes with its user (a foreign key): no user, no account to run as.
    let user = workflows
        .store
        .users()
        .get_user(project.id, &record.user_id)
        .await?
        .ok_or(EngineError::CredentialNotFound)?;
    let configuration_id = match record.configuration_id {
        Some(id) => {
            credential
                .configuration(id)
                .ok_or(EngineError::ConfigurationNotFound)?
                .id
        }
        None => credential.default_configuration().id,
    };
    Ok(RunTarget {
        integration: integration.clone(),
        workflow: workflow.clone(),
        credential,
        configuration_id,
        user,
    })
}

/// The old run's trigger, naming the run it replays (`replayOf`) so Task History shows
/// where the new run came from; every trigger is recorded as an object. A replay of a
/// replay names the run it was made from.
fn replay_trigger(mut trigger: Value, replayed: Uuid) -> Value {
    if let Some(fields) = trigger.as_object_mut() {
        fields.insert("replayOf".to_owned(), json!(replayed));
    }
    trigger
}
