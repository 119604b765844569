//! What the everyday operations cost as a deployment grows: the same
//! operations on one server and one database at 10k, 100k and 1M accounts
//! (credentials), each size's figures divided by the smallest size's.
//!
//! The server is a real one in this process. The data is loaded in bulk
//! through the store crates' bulk writers (sealed by the server's keyring, as
//! the connect flow seals them): accounts spread over 100k users and several
//! projects, one Task History run and one delivered event per account; 1% of
//! the accounts are due for a refresh. The operations go through the public
//! HTTP API with the Rust SDK, except the refresh sweep's query, which has no
//! HTTP face and is timed through the store.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use chrono::{DateTime, Utc};
use clap::{Parser, ValueEnum};
use futures_util::StreamExt as _;
use patchbay_api::InstallRequest;
use patchbay_bench::{format_latency, format_ratio, group_thousands, runtime, seal_api_key};
use patchbay_sdk::admin::ExecutionQuery;
use patchbay_store::{CredentialStatus, ExecutionStatus, NewCredential, NewEvent, NewExecution};
use patchbay_test_support::{
    BulkStore, EchoUpstream, TestDb, TestProject, TestServer, WebhookReceiver,
};
use serde_json::json;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(
    about = "Everyday operations at 10k, 100k and 1M accounts, as ratios to the smallest size"
)]
struct Args {
    /// The backends to run, one after the other.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Backend::Postgres, Backend::Sqlite])]
    backend: Vec<Backend>,
    /// Accounts at each measured size, ascending.
    #[arg(long, value_delimiter = ',', default_values_t = [10_000, 100_000, 1_000_000])]
    sizes: Vec<usize>,
    /// SQLite stops at the largest size not above this.
    #[arg(long, default_value_t = 100_000)]
    sqlite_max: usize,
    /// End users the accounts are spread over (fewer while there are fewer accounts).
    #[arg(long, default_value_t = 100_000)]
    users: usize,
    /// Projects the accounts are spread over; the first one is measured.
    #[arg(long, default_value_t = 4)]
    projects: usize,
    /// Timed repetitions of each operation per size; the table shows their median.
    #[arg(long, default_value_t = 25)]
    samples: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    Postgres,
    Sqlite,
}

/// Rows written per bulk statement.
const BATCH: usize = 5_000;

fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    ensure!(
        args.projects >= 1 && args.users >= args.projects && args.samples >= 1,
        "--projects, --users and --samples must be at least 1, with users ≥ projects"
    );
    ensure!(
        args.sizes.windows(2).all(|w| w[0] < w[1]) && !args.sizes.is_empty(),
        "--sizes must be ascending"
    );
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; run with --release (bench/run does).");
    }
    let server_runtime = runtime("server", 2)?;
    let mut report = String::new();
    for &backend in &args.backend {
        let sizes: Vec<usize> = match backend {
            Backend::Postgres => args.sizes.clone(),
            Backend::Sqlite => args
                .sizes
                .iter()
                .copied()
                .filter(|&s| s <= args.sqlite_max)
                .collect(),
        };
        let started = Instant::now();
        let rows = server_runtime.block_on(run(&args, backend, &sizes))?;
        report.push_str(&table(backend, &sizes, &rows, started.elapsed()));
        print!("{report}");
        report.clear();
    }
    Ok(ExitCode::SUCCESS)
}

/// The operations measured, in the table's order.
const OPERATIONS: [&str; 12] = [
    "GET /sdk/me, cache miss",
    "GET /sdk/me, cache hit",
    "API-key install",
    "proxied call",
    "workflow trigger",
    "refresh sweep query (1% due)",
    "Task History, first page",
    "Task History, deep cursor page",
    "Task History, filter by user",
    "webhook delivery (change → received)",
    "event stream resume",
    "apply a configuration change",
];

/// Median latency of every operation, per size.
type Rows = Vec<[Duration; OPERATIONS.len()]>;

async fn run(args: &Args, backend: Backend, sizes: &[usize]) -> anyhow::Result<Rows> {
    let db = match backend {
        Backend::Postgres => TestDb::postgres().await,
        Backend::Sqlite => TestDb::sqlite().await,
    };
    // The refresher would work off the due accounts in the background; the
    // sweep's query is timed on its own instead.
    let server = TestServer::without_refresher(&db).await;
    let fixture = Fixture::start(args, &db, &server).await?;
    let mut rows = Rows::new();
    let mut seeded = 0;
    for (round, &size) in sizes.iter().enumerate() {
        let loading = Instant::now();
        fixture.seed(args, seeded, size).await?;
        seeded = size;
        eprintln!(
            "{backend:?}: {} accounts loaded in {:.1} s; measuring",
            group_thousands(size as u64),
            loading.elapsed().as_secs_f64()
        );
        rows.push(fixture.measure(args, round, size).await?);
    }
    server.stop().await;
    drop(db);
    Ok(rows)
}

/// The configuration of every project: `echo` (API key, calls the echo
/// upstream), `keys` (API key, installed during the benchmark) and a
/// request-trigger workflow that answers at once. `{marker}` is what a
/// configuration change changes.
fn config_document(upstream: &EchoUpstream, marker: usize) -> String {
    format!(
        r#"
settings:
  allowedOrigins: ["http://localhost:3000"]
integrations:
{echo}  keys:
    name: Keys
    auth:
      type: api_key
      fields: [{{id: apiKey, title: API key, secret: true}}]
      inject: {{header: Authorization, value: "Bearer {{{{ credentials.apiKey }}}}"}}
    api:
      baseUrl: https://keys.example/api
workflows:
  - id: ping
    integration: echo
    description: Answers at once (revision {marker})
    defaultEnabled: true
    trigger: {{type: request}}
    steps:
      - {{id: reply, type: response, status: 200, body: {{ok: true}}}}
"#,
        echo = upstream.integration("echo"),
    )
}

struct Fixture<'a> {
    server: &'a TestServer,
    bulk: BulkStore,
    upstream: EchoUpstream,
    receiver: WebhookReceiver,
    projects: Vec<TestProject>,
    /// The `echo` integration of each project.
    echo: Vec<Uuid>,
    /// When the seeded history begins; run `n` started `n` ms later.
    epoch: DateTime<Utc>,
}

impl<'a> Fixture<'a> {
    async fn start(args: &Args, db: &TestDb, server: &'a TestServer) -> anyhow::Result<Self> {
        let upstream = EchoUpstream::start().await;
        let receiver = WebhookReceiver::start().await;
        let mut projects = Vec::with_capacity(args.projects);
        let mut echo = Vec::with_capacity(args.projects);
        for _ in 0..args.projects {
            let project = TestProject::with_config(server, &config_document(&upstream, 0)).await;
            project
                .admin
                .create_webhook_endpoint(&receiver.url, &[])
                .await
                .context("creating a webhook endpoint")?;
            let integrations = server
                .state
                .store()
                .projects()
                .list_integrations(project.id)
                .await?;
            echo.push(
                integrations
                    .iter()
                    .find(|i| i.type_name == "echo")
                    .context("the echo integration")?
                    .id,
            );
            projects.push(project);
        }
        let bulk = db.bulk_store().await;
        Ok(Self {
            server,
            bulk,
            upstream,
            receiver,
            projects,
            echo,
            epoch: Utc::now() - chrono::Duration::days(30),
        })
    }

    /// Account `n`: its project, user and id are functions of `n`, so every
    /// size can find the accounts of the sizes before it.
    fn account(&self, args: &Args, n: usize) -> (usize, String, Uuid) {
        let project = n % args.projects;
        let user = format!("user-{}", n % args.users);
        (project, user, Uuid::from_u128(0x5ca1e << 64 | n as u128))
    }

    /// Loads accounts `from..to`, with a run and a delivered event each.
    async fn seed(&self, args: &Args, from: usize, to: usize) -> anyhow::Result<()> {
        let due = Utc::now() - chrono::Duration::minutes(5);
        let later = Utc::now() + chrono::Duration::days(1);
        for start in (from..to).step_by(BATCH) {
            let end = (start + BATCH).min(to);
            let mut credentials = Vec::with_capacity(end - start);
            let mut executions = Vec::with_capacity(end - start);
            let mut events = Vec::with_capacity(end - start);
            for n in start..end {
                let (p, user_id, id) = self.account(args, n);
                let project_id = self.projects[p].id;
                let integration_id = self.echo[p];
                let key = format!("key-{n}");
                credentials.push(NewCredential {
                    id,
                    project_id,
                    integration_id,
                    user_id: user_id.clone(),
                    external_id: None,
                    provider_id: Some(format!("acct-{n}")),
                    provider_data: json!({"name": format!("Account {n}")}),
                    status: CredentialStatus::Valid,
                    secrets: Some(seal_api_key(self.server, project_id, id, &key)),
                    account_vars: json!({}),
                    valid_until: None,
                    next_refresh_at: Some(if n % 100 == 0 { due } else { later }),
                    workflow_settings: json!({}),
                });
                executions.push(NewExecution {
                    id: Uuid::new_v4(),
                    project_id,
                    workflow_id: "ping".to_owned(),
                    integration_id,
                    user_id: user_id.clone(),
                    credential_id: id,
                    configuration_id: None,
                    trigger: json!({"type": "request"}),
                    status: ExecutionStatus::Succeeded,
                    started_at: self.epoch + chrono::Duration::milliseconds(n as i64),
                });
                events.push(NewEvent {
                    id: Uuid::new_v4(),
                    project_id,
                    user_id,
                    integration_id: Some(integration_id),
                    credential_id: Some(id),
                    name: "credential.created".to_owned(),
                    payload: json!({"integrationId": integration_id, "integrationType": "echo", "credentialId": id}),
                });
            }
            self.bulk.credentials(&credentials).await?;
            self.bulk.executions(&executions).await?;
            self.bulk.events(&events).await?;
        }
        // As autovacuum would after a load this size.
        self.bulk.analyze().await?;
        Ok(())
    }

    /// Every operation, `--samples` times; the median of each.
    async fn measure(
        &self,
        args: &Args,
        round: usize,
        size: usize,
    ) -> anyhow::Result<[Duration; OPERATIONS.len()]> {
        let project = &self.projects[0];
        let users_now = size.min(args.users);
        // Users of the measured project that no earlier round asked for
        // (user `u` is in project `u % projects`).
        let fresh_user = |j: usize| {
            let u = (round * args.samples * 3 + j) * args.projects;
            format!("user-{}", u % users_now)
        };
        let steady = project.user(&fresh_user(args.samples * 2));
        let steady_me = steady.me().await.context("GET /sdk/me")?;
        ensure!(
            steady_me
                .integrations
                .get("echo")
                .is_some_and(|i| !i.all_credentials.is_empty()),
            "the measured user has no echo account"
        );
        let mut out = [Duration::ZERO; OPERATIONS.len()];

        let mut misses = Vec::with_capacity(args.samples);
        for j in 0..args.samples {
            let user = project.user(&fresh_user(j));
            let t = Instant::now();
            user.me().await.context("GET /sdk/me (miss)")?;
            misses.push(t.elapsed());
        }
        out[0] = median(misses);
        out[1] = timed(args.samples, || async { steady.me().await.map(drop) }).await?;
        let mut n = 0;
        out[2] = timed(args.samples, || {
            n += 1;
            let user = project.user(&format!("installer-{round}-{n}"));
            async move {
                let request = InstallRequest {
                    credentials: Some(serde_json::Map::from_iter([(
                        "apiKey".to_owned(),
                        json!("k"),
                    )])),
                    ..InstallRequest::default()
                };
                user.install_with_credentials("keys", &request)
                    .await
                    .map(drop)
            }
        })
        .await?;
        out[3] = timed(args.samples, || async {
            steady
                .proxy("echo", reqwest::Method::GET, "/x")
                .header("x-paragon-use-raw-response", "1")
                .send()
                .await
                .map(drop)
        })
        .await?;
        out[4] = timed(args.samples, || async {
            steady
                .trigger_workflow("ping", &json!({}), None)
                .await
                .map(drop)
        })
        .await?;
        let store = self.server.state.store();
        out[5] = timed(args.samples, || async {
            store
                .credentials()
                .due_refreshes(Utc::now(), 200)
                .await
                .map(drop)
        })
        .await?;
        out[6] = timed(args.samples, || async {
            project
                .admin
                .executions(&ExecutionQuery::default())
                .await
                .map(drop)
        })
        .await?;
        // A cursor from the middle of the history.
        let middle = self.epoch + chrono::Duration::milliseconds(size as i64 / 2);
        let deep = project
            .admin
            .executions(&ExecutionQuery {
                before_date: Some(middle.to_rfc3339()),
                ..ExecutionQuery::default()
            })
            .await?
            .next_cursor
            .context("a deep page has a next one")?;
        out[7] = timed(args.samples, || async {
            let query = ExecutionQuery {
                cursor: Some(deep.clone()),
                ..ExecutionQuery::default()
            };
            project.admin.executions(&query).await.map(drop)
        })
        .await?;
        let user_id = fresh_user(args.samples * 2);
        out[8] = timed(args.samples, || async {
            let query = ExecutionQuery {
                user_id: Some(user_id.clone()),
                ..ExecutionQuery::default()
            };
            project.admin.executions(&query).await.map(drop)
        })
        .await?;
        out[9] = self.webhook_delivery(args, round).await?;
        let first_seq = store
            .events()
            .list_user_events(project.id, &user_id, 0, 1)
            .await?
            .first()
            .context("the measured user has an event")?
            .seq;
        out[10] = timed(args.samples, || async {
            let mut events = steady.events(Some(first_seq - 1)).await?;
            match events.next().await {
                Some(event) => event.map(drop),
                None => Ok(()),
            }
        })
        .await?;
        let mut revision = round * args.samples;
        out[11] = timed(args.samples.min(10), || {
            revision += 1;
            let document = config_document(&self.upstream, revision);
            async move { project.admin.apply_config(&document, false).await.map(drop) }
        })
        .await?;
        Ok(out)
    }

    /// From a change (an API-key install) to its webhook at the receiver.
    async fn webhook_delivery(&self, args: &Args, round: usize) -> anyhow::Result<Duration> {
        let project = &self.projects[0];
        let mut samples = Vec::with_capacity(args.samples);
        for j in 0..args.samples {
            let user = project.user(&format!("hooked-{round}-{j}"));
            let request = InstallRequest {
                credentials: Some(serde_json::Map::from_iter([(
                    "apiKey".to_owned(),
                    json!("k"),
                )])),
                ..InstallRequest::default()
            };
            let t = Instant::now();
            let installed = user.install_with_credentials("keys", &request).await?;
            let id = installed.credential.id.to_string();
            // Polled every millisecond: the figure is a few milliseconds.
            while !self
                .receiver
                .received()
                .iter()
                .any(|w| w.body.contains(&id))
            {
                ensure!(
                    t.elapsed() < Duration::from_secs(30),
                    "no webhook within 30 s"
                );
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            samples.push(t.elapsed());
        }
        Ok(median(samples))
    }
}

/// Runs `op` `n` times after one untimed call; the median.
async fn timed<F, Fut, E>(n: usize, mut op: F) -> anyhow::Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    op().await?;
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        op().await?;
        samples.push(t.elapsed());
    }
    Ok(median(samples))
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn table(backend: Backend, sizes: &[usize], rows: &Rows, took: Duration) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{backend:?}: median latency per operation; ratio to {} accounts (loading and measuring took {:.0} s)\n",
        group_thousands(sizes[0] as u64),
        took.as_secs_f64()
    );
    let _ = write!(out, "{:<38}", "operation");
    for &size in sizes {
        let _ = write!(out, " {:>10}", group_thousands(size as u64));
    }
    for &size in &sizes[1..] {
        let _ = write!(out, " {:>9}", format!("×{}", short(size)));
    }
    out.push('\n');
    for (i, name) in OPERATIONS.iter().enumerate() {
        let _ = write!(out, "{name:<38}");
        for row in rows {
            let _ = write!(out, " {:>10}", format_latency(row[i]));
        }
        for row in &rows[1..] {
            let _ = write!(
                out,
                " {:>9}",
                format_ratio(row[i].as_secs_f64(), rows[0][i].as_secs_f64())
            );
        }
        out.push('\n');
    }
    out
}

/// `100k`, `1M`.
fn short(size: usize) -> String {
    if size >= 1_000_000 && size.is_multiple_of(1_000_000) {
        format!("{}M", size / 1_000_000)
    } else if size >= 1_000 && size.is_multiple_of(1_000) {
        format!("{}k", size / 1_000)
    } else {
        size.to_string()
    }
}
