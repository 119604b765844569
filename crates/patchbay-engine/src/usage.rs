//! Hourly usage per integration (proxied calls, those that failed, failed token refreshes),
//! what the dashboard's charts show. Counted in memory where it happens, which costs a
//! proxied call one uncontended lock, and added to the store every few seconds by
//! [`spawn_flusher`], so the store takes one small write per integration and hour rather than
//! one per call. Every replica adds its own counts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use patchbay_store::{Store, StoreResult, UsageHour};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How often counts kept in memory are added to the store.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(10);

/// A project's integration in one hour (its start, in seconds since the epoch).
type Key = (Uuid, Uuid, i64);

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    proxy_calls: i64,
    proxy_errors: i64,
    refresh_failures: i64,
}

impl Counts {
    fn absorb(&mut self, other: Counts) {
        self.proxy_calls += other.proxy_calls;
        self.proxy_errors += other.proxy_errors;
        self.refresh_failures += other.refresh_failures;
    }
}

#[derive(Debug, Default)]
pub struct Usage {
    counts: Mutex<HashMap<Key, Counts>>,
}

fn current_hour() -> i64 {
    Utc::now().timestamp().div_euclid(3600) * 3600
}

impl Usage {
    /// One call through the Proxy API; `failed` when it was answered with an error.
    pub fn count_proxy_call(&self, project_id: Uuid, integration_id: Uuid, failed: bool) {
        self.add(project_id, integration_id, |counts| {
            counts.proxy_calls += 1;
            counts.proxy_errors += i64::from(failed);
        });
    }

    /// One token refresh (or new grant) that failed.
    pub fn count_refresh_failure(&self, project_id: Uuid, integration_id: Uuid) {
        self.add(project_id, integration_id, |counts| {
            counts.refresh_failures += 1;
        });
    }

    fn add(&self, project_id: Uuid, integration_id: Uuid, count: impl FnOnce(&mut Counts)) {
        let key = (project_id, integration_id, current_hour());
        count(self.lock().entry(key).or_default());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Counts>> {
        // Counting cannot leave the map half-updated, so a poisoned lock is still sound.
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds what was counted since the last flush to the store. Counts the store did not take
    /// are kept for the next flush.
    pub async fn flush(&self, store: &dyn Store) -> StoreResult<()> {
        let taken = std::mem::take(&mut *self.lock());
        if taken.is_empty() {
            return Ok(());
        }
        let rows: Vec<UsageHour> = taken
            .iter()
            .map(|(&(project_id, integration_id, hour), counts)| UsageHour {
                project_id,
                integration_id,
                hour: DateTime::from_timestamp(hour, 0).unwrap_or_default(),
                proxy_calls: counts.proxy_calls,
                proxy_errors: counts.proxy_errors,
                refresh_failures: counts.refresh_failures,
            })
            .collect();
        let outcome = store.dashboard().add_usage(&rows).await;
        if outcome.is_err() {
            let mut counts = self.lock();
            for (key, kept) in taken {
                counts.entry(key).or_default().absorb(kept);
            }
        }
        outcome
    }
}

/// Flushes `usage` every [`FLUSH_INTERVAL`], and once more when `shutdown` is cancelled.
pub fn spawn_flusher(
    usage: Arc<Usage>,
    store: Arc<dyn Store>,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(FLUSH_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let stopping = tokio::select! {
                _ = ticks.tick() => false,
                () = shutdown.cancelled() => true,
            };
            if let Err(err) = usage.flush(store.as_ref()).await {
                tracing::warn!(%err, "could not store usage counts; keeping them for the next try");
            }
            if stopping {
                return;
            }
        }
    })
}
