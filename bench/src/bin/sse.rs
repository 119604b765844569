//! How long a change takes to reach a subscriber of the event stream: from
//! sending `POST /sdk/integrations/keys/install` (or the uninstall) to
//! receiving its event on `GET /sdk/events/stream`, against the baseline of
//! the same request's own round trip, measured on the same requests.
//!
//! The server is a real one in this process on `127.0.0.1:0`, on its own
//! tokio runtime; the client and the subscriber run on another. The API-key
//! integration is verified against the sandbox provider on its own socket,
//! as a real install is.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use clap::{Parser, ValueEnum};
use futures_util::StreamExt as _;
use patchbay_api::{EventPayload, InstallRequest};
use patchbay_bench::{format_latency, format_ratio, runtime};
use patchbay_sdk::{Patchbay, UserClient, UserEvent, UserEventData};
use patchbay_server::sandbox::SandboxConfig;
use patchbay_test_support::{FakeProvider, TestDb, TestProject, TestServer};
use serde_json::json;
use tokio::sync::mpsc;
use uuid::Uuid;

const USER_ID: &str = "bench-user";
const API_KEY: &str = "sbx_key_ada_3f9c2e71d4b8";

#[derive(Debug, Parser)]
#[command(
    about = "Benchmark install-to-event latency on the SSE stream against the request's own round trip"
)]
struct Args {
    /// The store behind the server. `postgres` creates a fresh database on
    /// PATCHBAY_TEST_POSTGRES_URL (default: the local trust-auth server).
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    backend: Backend,
    /// Install + uninstall pairs measured, one at a time.
    #[arg(long, default_value_t = 200)]
    changes: usize,
    /// Subscribe through a second server on the same database, so every
    /// event crosses replicas through LISTEN/NOTIFY (PostgreSQL only).
    #[arg(long)]
    cross_replica: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

/// One change: its request's round trip and the time to its event, both
/// from sending the request.
struct Timing {
    round_trip: Duration,
    to_event: Duration,
}

fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    ensure!(args.changes >= 1, "--changes must be at least 1");
    ensure!(
        !args.cross_replica || matches!(args.backend, Backend::Postgres),
        "--cross-replica needs --backend postgres (SQLite has one server per file)"
    );
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; run with --release (bench/run does).");
    }
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let server_runtime = runtime("server", cpus)?;
    let client_runtime = runtime("client", cpus)?;

    let db = server_runtime.block_on(async {
        match args.backend {
            Backend::Sqlite => TestDb::sqlite().await,
            Backend::Postgres => TestDb::postgres().await,
        }
    });
    let (server, replica, provider) = server_runtime.block_on(async {
        let server = TestServer::start(&db).await;
        let replica = match args.cross_replica {
            true => Some(server.replica(&db).await),
            false => None,
        };
        let provider = FakeProvider::start(SandboxConfig::default()).await;
        (server, replica, provider)
    });
    let project = client_runtime.block_on(TestProject::with_config(
        &server,
        &provider.config_document(),
    ));
    let subscribe_at = replica.as_ref().unwrap_or(&server).base_url.clone();
    let measured = client_runtime.block_on(measure(&args, &project, &subscribe_at));
    server_runtime.block_on(async {
        if let Some(replica) = replica {
            replica.stop().await;
        }
        server.stop().await;
    });
    drop(provider);
    drop(db);
    let timings = measured?;

    let backend = match (args.backend, args.cross_replica) {
        (Backend::Sqlite, _) => "sqlite (in-process notices)",
        (Backend::Postgres, false) => "postgres (LISTEN/NOTIFY, same server)",
        (Backend::Postgres, true) => "postgres (LISTEN/NOTIFY, subscriber on a second server)",
    };
    println!(
        "change → SSE event vs the change's own request — {backend}, {} installs and {} uninstalls, one at a time",
        args.changes, args.changes
    );
    println!("{cpus} CPUs; times from sending the request\n");
    println!("                        p50        p90        p99        max");
    let round_trips: Vec<Duration> = timings.iter().map(|t| t.round_trip).collect();
    let to_events: Vec<Duration> = timings.iter().map(|t| t.to_event).collect();
    for (label, values) in [
        ("request round trip", &round_trips),
        ("request → event", &to_events),
    ] {
        let mut sorted = values.clone();
        sorted.sort_unstable();
        println!(
            "  {label:<20}{:>9}  {:>9}  {:>9}  {:>9}",
            format_latency(percentile(&sorted, 0.50)),
            format_latency(percentile(&sorted, 0.90)),
            format_latency(percentile(&sorted, 0.99)),
            format_latency(sorted[sorted.len() - 1]),
        );
    }
    let (mut rt, mut ev) = (round_trips, to_events);
    rt.sort_unstable();
    ev.sort_unstable();
    println!(
        "\n  event p50 / round trip p50: {}   event p99 / round trip p99: {}",
        format_ratio(
            percentile(&ev, 0.50).as_secs_f64(),
            percentile(&rt, 0.50).as_secs_f64()
        ),
        format_ratio(
            percentile(&ev, 0.99).as_secs_f64(),
            percentile(&rt, 0.99).as_secs_f64()
        ),
    );
    Ok(ExitCode::SUCCESS)
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn measure(
    args: &Args,
    project: &TestProject,
    subscribe_at: &str,
) -> anyhow::Result<Vec<Timing>> {
    let user = project.user(USER_ID);
    let subscriber = Patchbay::new(subscribe_at.to_owned())
        .user(project.id, project.signer.mint(USER_ID).context("minting")?);
    let (sender, mut arrivals) = mpsc::unbounded_channel::<(Instant, UserEvent)>();
    let mut events = Box::pin(subscriber.events(None).await.context("subscribing")?);
    let forwarder = tokio::spawn(async move {
        while let Some(Ok(event)) = events.next().await {
            if sender.send((Instant::now(), event)).is_err() {
                return;
            }
        }
    });
    let mut timings = Vec::with_capacity(args.changes * 2);
    // One unmeasured change warms up connections and caches.
    for measured in std::iter::once(false).chain(std::iter::repeat_n(true, args.changes)) {
        let (install, id) = change(&user, &mut arrivals, Change::Install).await?;
        let (uninstall, _) = change(&user, &mut arrivals, Change::Uninstall(id)).await?;
        if measured {
            timings.extend([install, uninstall]);
        }
    }
    forwarder.abort();
    Ok(timings)
}

enum Change {
    Install,
    Uninstall(Uuid),
}

/// Makes one change and waits for its event.
async fn change(
    user: &UserClient,
    arrivals: &mut mpsc::UnboundedReceiver<(Instant, UserEvent)>,
    change: Change,
) -> anyhow::Result<(Timing, Uuid)> {
    let sent = Instant::now();
    let (expected_name, id) = match change {
        Change::Install => {
            let request = InstallRequest {
                credentials: Some(
                    json!({"apiKey": API_KEY})
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                ),
                ..Default::default()
            };
            let installed = user
                .install_with_credentials("keys", &request)
                .await
                .context("installing")?;
            ("onIntegrationInstall", installed.credential.id)
        }
        Change::Uninstall(id) => {
            user.uninstall("keys", Some(&id.to_string()))
                .await
                .context("uninstalling")?;
            ("onIntegrationUninstall", id)
        }
    };
    let round_trip = sent.elapsed();
    let (arrived, event) = tokio::time::timeout(Duration::from_secs(10), arrivals.recv())
        .await
        .context("no event within 10 s")?
        .context("the stream ended")?;
    let about = match &event.data {
        UserEventData::Changed(EventPayload::Credential(change)) => Some(change.credential_id),
        _ => None,
    };
    if event.name != expected_name || about != Some(id) {
        bail!("expected {expected_name} for {id}, got {event:?}");
    }
    Ok((
        Timing {
            round_trip,
            to_event: arrived.duration_since(sent),
        },
        id,
    ))
}
