//! The background refresher: renews access tokens before they expire, so
//! requests rarely wait for a refresh, and checks API keys and passwords
//! periodically with the provider's verification request. Every replica runs one; the store's
//! refresh lease makes them share the work instead of repeating it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use patchbay_store::{Store, now};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::runtime::{ProjectRuntime, Runtimes};
use crate::tokens::Tokens;

/// Credentials looked at per sweep.
const BATCH: i64 = 200;
/// Refreshes in flight at once, per replica.
const CONCURRENCY: usize = 8;

/// Starts the refresher; abort the handle to stop it. A refresh cut short
/// leaves only a lease that expires: the version check keeps the row right.
pub fn spawn(refresher: Refresher, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let permits = Arc::new(Semaphore::new(CONCURRENCY));
        loop {
            tick.tick().await;
            refresher.sweep(&permits).await;
        }
    })
}

/// What renewing in the background needs.
#[derive(Debug, Clone)]
pub struct Refresher {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) tokens: Tokens,
    pub(crate) runtimes: Arc<Runtimes>,
}

impl Refresher {
    async fn sweep(&self, permits: &Arc<Semaphore>) {
        let due = match self.store.credentials().due_refreshes(now(), BATCH).await {
            Ok(due) => due,
            Err(err) => {
                tracing::warn!(error = %err, "refresher could not list due credentials");
                return;
            }
        };
        let mut runtimes: HashMap<Uuid, Arc<ProjectRuntime>> = HashMap::new();
        let mut running = JoinSet::new();
        for entry in due {
            let runtime = match runtimes.get(&entry.project_id) {
                Some(runtime) => Arc::clone(runtime),
                None => match self.runtimes.load_by_id(entry.project_id).await {
                    Some(runtime) => {
                        Arc::clone(runtimes.entry(entry.project_id).or_insert(runtime))
                    }
                    None => continue,
                },
            };
            let Ok(permit) = Arc::clone(permits).acquire_owned().await else {
                return;
            };
            let refresher = self.clone();
            running.spawn(async move {
                let _permit = permit;
                refresher
                    .renew(&runtime, entry.project_id, entry.credential_id)
                    .await;
            });
        }
        while running.join_next().await.is_some() {}
    }

    async fn renew(&self, runtime: &ProjectRuntime, project_id: Uuid, credential_id: Uuid) {
        let Ok(Some(credential)) = self
            .store
            .credentials()
            .get_credential(project_id, credential_id)
            .await
        else {
            return;
        };
        let Some(integration) = runtime.integration_by_id(credential.integration_id) else {
            return;
        };
        if !integration
            .provider_of(&credential.account_vars)
            .auth
            .uses_access_tokens()
        {
            if let Err(err) = self.tokens.reverify(integration, credential).await {
                tracing::debug!(credential = %credential_id, error = %err, "background verification did not complete");
            }
            return;
        }
        // Forced: the expiry index says it is due, whatever the clock skew.
        match self
            .tokens
            .access_token(integration, credential, true)
            .await
        {
            Ok(renewed) => {
                tracing::debug!(credential = %credential_id, valid_until = ?renewed.credential.valid_until, "renewed")
            }
            Err(err) => {
                tracing::debug!(credential = %credential_id, error = %err, "background refresh did not renew")
            }
        }
    }
}
