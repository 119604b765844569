//! Prometheus metrics, in a registry owned by one engine (not a
//! process-global), so several servers in one process stay independent; and the hourly usage
//! the dashboard charts (`usage.rs`), counted at the same places.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use uuid::Uuid;

use crate::runtime::Integration;
use crate::usage::Usage;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route template (`/api/v1/projects/{projectId}`), never the raw
    /// path, so ids do not explode the label space.
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProxyLabels {
    integration: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefreshLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    status: &'static str,
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
    refreshes: Family<RefreshLabels, Counter>,
    proxy: Family<ProxyLabels, Histogram>,
    webhook_deliveries: Family<DeliveryLabels, Counter>,
    workflow_runs: Family<RunLabels, Counter>,
    queue_depth: Gauge,
    usage: Arc<Usage>,
}

fn latency_histogram() -> Histogram {
    // 100 µs .. ~3.3 s
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("patchbay");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        let durations =
            Family::<RouteLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> _);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            durations.clone(),
        );
        let refreshes = Family::<RefreshLabels, Counter>::default();
        registry.register(
            "token_refreshes",
            "Token refreshes by outcome",
            refreshes.clone(),
        );
        let proxy =
            Family::<ProxyLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> _);
        registry.register(
            "proxy_request_duration_seconds",
            "Proxy API latency by integration and upstream status",
            proxy.clone(),
        );
        let webhook_deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts by outcome",
            webhook_deliveries.clone(),
        );
        let workflow_runs = Family::<RunLabels, Counter>::default();
        registry.register(
            "workflow_runs",
            "Workflow runs ended, by status",
            workflow_runs.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "workflow_queue_depth",
            "Workflow runs queued or running, across all servers (read at each scrape)",
            queue_depth.clone(),
        );
        Self {
            registry,
            requests,
            durations,
            refreshes,
            proxy,
            webhook_deliveries,
            workflow_runs,
            queue_depth,
            usage: Arc::default(),
        }
    }

    /// Counts a token refresh: `succeeded`, `invalid` or `transient_failure`.
    pub fn count_refresh(&self, outcome: &'static str) {
        self.refreshes
            .get_or_create(&RefreshLabels { outcome })
            .inc();
    }

    /// Counts a webhook delivery attempt: `delivered`, `retry` or `dead`.
    pub fn count_webhook_delivery(&self, outcome: &'static str) {
        self.webhook_deliveries
            .get_or_create(&DeliveryLabels { outcome })
            .inc();
    }

    /// Counts a run that ended: `SUCCEEDED` or `FAILED`.
    pub fn count_workflow_run(&self, status: &'static str) {
        self.workflow_runs
            .get_or_create(&RunLabels { status })
            .inc();
    }

    pub fn set_queue_depth(&self, depth: i64) {
        self.queue_depth.set(depth);
    }

    /// Records one Proxy API call: the integration, the status returned, and
    /// the time to the upstream's response headers; and counts it in the project's usage.
    pub fn observe_proxy(
        &self,
        project_id: Uuid,
        integration: &Integration,
        status: u16,
        elapsed: Duration,
    ) {
        let labels = ProxyLabels {
            integration: integration.config.type_name.clone(),
            status,
        };
        self.proxy
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        self.usage
            .count_proxy_call(project_id, integration.id, status >= 400);
    }

    /// A refresh (or new grant) that failed, `definitive` when the account needs reconnecting;
    /// also counted in the project's usage.
    pub fn count_refresh_failure(&self, project_id: Uuid, integration_id: Uuid, definitive: bool) {
        self.count_refresh(if definitive {
            "invalid"
        } else {
            "transient_failure"
        });
        self.usage.count_refresh_failure(project_id, integration_id);
    }

    /// The hourly usage the dashboard charts, counted here and flushed to the store.
    pub fn usage(&self) -> &Arc<Usage> {
        &self.usage
    }

    /// Records one HTTP request by its route template (never the raw path,
    /// so ids do not explode the label space), method and status.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.durations
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
