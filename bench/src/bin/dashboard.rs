//! The dashboard's reads on a project with 100,000 accounts, as the dashboard sends them
//! (with its session cookie), against `GET /healthz` on the same server as the baseline.
//!
//! The server is a real one in this process on its own tokio runtime; the load generator
//! runs on another. The accounts are loaded with the store crates' bulk writers, sealed by
//! the server's keyring as the connect flow seals them, spread over users two by two, one
//! in ten INVALID.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::{Parser, ValueEnum};
use patchbay_bench::{
    RunSettings, Sample, Target, Workers, exit_code, format_latency, format_ratio, group_thousands,
    runtime, seal_api_key,
};
use patchbay_store::{CredentialStatus, NewCredential};
use patchbay_test_support::{BulkStore, TestDb, TestProject, TestServer};
use reqwest::header::{COOKIE, HeaderMap, HeaderValue};
use serde_json::json;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(about = "The dashboard's reads on a project with many accounts, against GET /healthz")]
struct Args {
    /// The backends to run, one after the other.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Backend::Sqlite, Backend::Postgres])]
    backend: Vec<Backend>,
    /// Accounts in the measured project.
    #[arg(long, default_value_t = 100_000)]
    accounts: usize,
    /// Seconds measured per endpoint, in total, split over the rounds.
    #[arg(long, default_value_t = 3.0)]
    duration: f64,
    /// The measurement alternates between the endpoints in this many rounds.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    rounds: u32,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

/// Accounts per user: the users page lists half as many users as there are accounts.
const ACCOUNTS_PER_USER: usize = 2;
const BATCH: usize = 5_000;

fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    ensure!(args.accounts >= 1_000, "--accounts must be at least 1000");
    let settings = RunSettings::read(&[1], args.duration, 0.5)?;
    let server_runtime = runtime("server", settings.cpus)?;
    let client_runtime = runtime("client", settings.cpus)?;
    println!(
        "Dashboard reads (session cookie) vs GET /healthz — {} accounts over {} users in one project, 10% INVALID",
        group_thousands(args.accounts as u64),
        group_thousands((args.accounts / ACCOUNTS_PER_USER) as u64),
    );
    println!(
        "{} CPUs, load {} before the run; {:.1}s per endpoint in {} alternating rounds, one client\n",
        settings.cpus,
        settings.load.as_deref().unwrap_or("?"),
        settings.duration.as_secs_f64(),
        args.rounds,
    );
    let mut failures = 0;
    for backend in &args.backend {
        let fixture = server_runtime.block_on(Fixture::start(&args, *backend))?;
        let measured = client_runtime.block_on(measure(&args, &fixture, settings.duration));
        server_runtime.block_on(fixture.server.stop());
        drop(fixture.db);
        let measured = measured?;
        failures += measured.iter().map(|(_, s)| s.failures()).sum::<u64>();
        print!("{}", report(*backend, &measured));
    }
    Ok(exit_code(failures))
}

struct Fixture {
    // Dropped after the server: the database outlives it.
    server: TestServer,
    db: TestDb,
    project: TestProject,
    /// The dashboard session's cookie.
    cookie: String,
}

impl Fixture {
    async fn start(args: &Args, backend: Backend) -> anyhow::Result<Self> {
        let db = match backend {
            Backend::Sqlite => TestDb::sqlite().await,
            Backend::Postgres => TestDb::postgres().await,
        };
        let server = TestServer::start(&db).await;
        let project = TestProject::with_config(&server, CONFIG).await;
        let integrations = server
            .state
            .store()
            .projects()
            .list_integrations(project.id)
            .await?;
        let integration_ids: Vec<Uuid> = integrations.iter().map(|i| i.id).collect();
        seed(
            &server,
            &db.bulk_store().await,
            project.id,
            &integration_ids,
            args.accounts,
        )
        .await?;
        let cookie = sign_in(&server, &project.secret_key).await?;
        Ok(Self {
            server,
            db,
            project,
            cookie,
        })
    }

    fn target(&self, path: &str) -> anyhow::Result<Target> {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(&self.cookie)?);
        Ok(Target {
            method: reqwest::Method::GET,
            url: self.server.url(path),
            headers,
        })
    }
}

const CONFIG: &str = r#"
integrations:
  keys:
    name: Keys
    auth:
      type: api_key
      fields: [{id: apiKey, title: API key, secret: true}]
      inject: {header: Authorization, value: "Bearer {{ credentials.apiKey }}"}
    api:
      baseUrl: https://keys.example/api
  more:
    name: More keys
    auth:
      type: api_key
      fields: [{id: apiKey, title: API key, secret: true}]
      inject: {header: Authorization, value: "Bearer {{ credentials.apiKey }}"}
    api:
      baseUrl: https://more.example/api
"#;

/// User `u` of account `n`; ids sort as numbers do, so the middle of the listing is known.
fn user_of(n: usize) -> String {
    format!("user-{:07}", n / ACCOUNTS_PER_USER)
}

async fn seed(
    server: &TestServer,
    bulk: &BulkStore,
    project_id: Uuid,
    integrations: &[Uuid],
    accounts: usize,
) -> anyhow::Result<()> {
    for start in (0..accounts).step_by(BATCH) {
        let rows: Vec<NewCredential> = (start..(start + BATCH).min(accounts))
            .map(|n| {
                let id = Uuid::from_u128(0xda5b << 64 | n as u128);
                NewCredential {
                    id,
                    project_id,
                    integration_id: integrations[n % integrations.len()],
                    user_id: user_of(n),
                    external_id: None,
                    provider_id: Some(format!("acct-{n}")),
                    provider_data: json!({"name": format!("Account {n}")}),
                    status: if n % 10 == 0 {
                        CredentialStatus::Invalid
                    } else {
                        CredentialStatus::Valid
                    },
                    secrets: Some(seal_api_key(server, project_id, id, &format!("key-{n}"))),
                    account_vars: json!({}),
                    valid_until: None,
                    next_refresh_at: None,
                    workflow_settings: json!({}),
                }
            })
            .collect();
        bulk.credentials(&rows).await.context("loading accounts")?;
    }
    // As autovacuum would after a load this size.
    bulk.analyze().await?;
    Ok(())
}

async fn sign_in(server: &TestServer, secret_key: &str) -> anyhow::Result<String> {
    let response = reqwest::Client::new()
        .post(server.url("/dashboard/session"))
        .json(&json!({"key": secret_key}))
        .send()
        .await?;
    ensure!(
        response.status() == 201,
        "sign-in answered {}",
        response.status()
    );
    let cookie = response
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .context("a session cookie")?
        .to_str()?;
    Ok(cookie.split(';').next().unwrap_or_default().to_owned())
}

/// What is measured, as the dashboard's views ask for it.
fn endpoints(args: &Args, project: Uuid) -> Vec<(&'static str, String)> {
    let p = format!("/api/v1/projects/{project}");
    let middle = user_of(args.accounts / 2);
    // The listing's cursor: the last user id of a page, base64url.
    let cursor = URL_SAFE_NO_PAD.encode(&middle);
    vec![
        ("GET /healthz (baseline)", "/healthz".to_owned()),
        ("users page, first", format!("{p}/users?limit=50")),
        (
            "users page, middle (cursor)",
            format!("{p}/users?limit=50&cursor={cursor}"),
        ),
        (
            "users search (id fragment)",
            format!("{p}/users?limit=50&search={}", &middle[..11]),
        ),
        ("user page", format!("{p}/users/{middle}")),
        ("overview", format!("{p}/overview")),
        (
            "INVALID accounts, first page",
            format!("{p}/credentials?status=INVALID&limit=50"),
        ),
    ]
}

async fn measure(
    args: &Args,
    fixture: &Fixture,
    duration: Duration,
) -> anyhow::Result<Vec<(&'static str, Sample)>> {
    let endpoints = endpoints(args, fixture.project.id);
    let mut targets = Vec::with_capacity(endpoints.len());
    for (name, path) in &endpoints {
        let target = fixture.target(path)?;
        // Each answer is checked once: a benchmark of an error page would be worse than none.
        let response = target.send_once().await?;
        let status = response.status();
        let body: serde_json::Value = response.json().await?;
        ensure!(status == 200, "{name} answered {status}: {body}");
        if name.starts_with("users page") || name.starts_with("users search") {
            let listed = body["data"].as_array().map_or(0, Vec::len);
            ensure!(listed > 0, "{name} listed no user: {body}");
        }
        targets.push((*name, target));
    }
    let workers = Workers::new(1)?;
    let slice = duration / args.rounds;
    let mut samples: Vec<(&'static str, Sample)> = targets
        .iter()
        .map(|(name, _)| (*name, Sample::default()))
        .collect();
    for _ in 0..args.rounds {
        for ((_, target), (_, sample)) in targets.iter().zip(samples.iter_mut()) {
            sample.merge(workers.run(target, slice).await);
        }
    }
    Ok(samples)
}

fn report(backend: Backend, measured: &[(&'static str, Sample)]) -> String {
    let baseline = measured[0].1.percentile(0.5);
    let mut out = format!("{backend:?}\n");
    let _ = writeln!(
        out,
        "{:<32} {:>9} {:>9} {:>11} {:>9} {:>8}",
        "read", "p50", "p99", "p50 − base", "× base", "non-200"
    );
    for (name, sample) in measured {
        let p50 = sample.percentile(0.5);
        let _ = writeln!(
            out,
            "{name:<32} {:>9} {:>9} {:>11} {:>9} {:>8}",
            format_latency(p50),
            format_latency(sample.percentile(0.99)),
            format_latency(p50.saturating_sub(baseline)),
            format_ratio(p50.as_secs_f64(), baseline.as_secs_f64()),
            sample.failures(),
        );
    }
    out.push('\n');
    out
}
