//! `GET /projects/{projectId}/sdk/me` for a user with many accounts, against
//! `GET /healthz` on the same server as the baseline (the HTTP and tokio floor).
//!
//! The server is a real one in this process on `127.0.0.1:0`, on its own tokio
//! runtime (as `patchbay serve` runs it); the load generator runs on another.
//! The project is set up through the public API with the Rust SDK; the
//! accounts are written straight into the store, sealed by the server's
//! keyring, as the connect flow stores them.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use clap::{Parser, ValueEnum};
use patchbay_api::UserObject;
use patchbay_bench::{
    RunSettings, Sample, Target, Workers, exit_code, format_ratio, group_thousands, runtime,
    sample_header, sample_row, seal_api_key,
};
use patchbay_store::{CredentialStatus, NewCredential};
use patchbay_test_support::{TestDb, TestProject, TestServer};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::json;
use uuid::Uuid;

/// The user whose object is measured.
const USER_ID: &str = "bench-user";
/// Part of every stored secret, so the check can prove none is returned.
const SECRET_MARKER: &str = "bench-secret-";

#[derive(Debug, Parser)]
#[command(about = "Benchmark GET /sdk/me against GET /healthz on one in-process server")]
struct Args {
    /// The store behind the server. `postgres` creates a fresh database on
    /// PATCHBAY_TEST_POSTGRES_URL (default: the local trust-auth server).
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    backend: Backend,
    /// Concurrent clients, each on its own keep-alive connection; one
    /// measurement per value.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 16])]
    concurrency: Vec<usize>,
    /// Seconds measured per endpoint and concurrency, in total.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Seconds of unrecorded requests per concurrency, before measuring.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// The measurement alternates between the endpoints in this many rounds
    /// of `duration / rounds` each.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    rounds: u32,
    /// Integrations in the project, all connected by the user.
    #[arg(long, default_value_t = 20)]
    integrations: usize,
    /// The user's accounts per integration.
    #[arg(long, default_value_t = 5)]
    accounts: usize,
    /// Other users with one account each, so the user's rows are not the
    /// whole table.
    #[arg(long, default_value_t = 100)]
    other_users: usize,
    /// Worker threads of the server's runtime [default: one per CPU].
    #[arg(long)]
    server_threads: Option<usize>,
    /// Worker threads of the load generator's runtime [default: one per CPU].
    #[arg(long)]
    client_threads: Option<usize>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    ensure!(
        args.integrations >= 1 && args.accounts >= 1,
        "--integrations and --accounts must be at least 1"
    );
    let RunSettings {
        duration,
        warmup,
        cpus,
        load,
    } = RunSettings::read(&args.concurrency, args.duration, args.warmup)?;
    let server_runtime = runtime("server", args.server_threads.unwrap_or(cpus))?;
    let client_runtime = runtime("client", args.client_threads.unwrap_or(cpus))?;

    let fixture = server_runtime.block_on(Fixture::start(&args))?;
    let measured = client_runtime.block_on(measure(&args, &fixture, duration, warmup));
    server_runtime.block_on(fixture.server.stop());
    drop(fixture.db);
    let measured = measured?;

    let setting = Setting {
        cpus,
        load,
        duration,
        warmup,
    };
    print!("{}", report(&args, &setting, &measured));
    let failures: u64 = measured
        .points
        .iter()
        .map(|p| p.healthz.failures() + p.me.failures())
        .sum();
    Ok(exit_code(failures))
}

/// The server, the project and the user's accounts.
struct Fixture {
    // Dropped after the server: the database outlives it.
    server: TestServer,
    db: TestDb,
    project: TestProject,
    /// The user's oldest account of each integration, by integration id: the
    /// default account the user object must name.
    first_accounts: HashMap<Uuid, Uuid>,
}

impl Fixture {
    async fn start(args: &Args) -> anyhow::Result<Self> {
        let db = match args.backend {
            Backend::Sqlite => TestDb::sqlite().await,
            Backend::Postgres => TestDb::postgres().await,
        };
        let server = TestServer::start(&db).await;
        let project = TestProject::with_config(&server, &config_document(args.integrations)).await;
        let integrations = server
            .state
            .store()
            .projects()
            .list_integrations(project.id)
            .await
            .context("listing the integrations")?;
        ensure!(
            integrations.len() == args.integrations,
            "the project has {} integrations, expected {}",
            integrations.len(),
            args.integrations
        );
        let mut first_accounts = HashMap::with_capacity(integrations.len());
        for integration in &integrations {
            for n in 0..args.accounts {
                let id = insert_account(&server, project.id, integration.id, USER_ID).await?;
                if n == 0 {
                    first_accounts.insert(integration.id, id);
                }
                // Creation order decides the default account and the order
                // of `allCredentials`; timestamps have millisecond precision.
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        for n in 0..args.other_users {
            let integration = &integrations[n % integrations.len()];
            insert_account(&server, project.id, integration.id, &format!("other-{n}")).await?;
        }
        Ok(Self {
            server,
            db,
            project,
            first_accounts,
        })
    }

    fn user_token(&self) -> anyhow::Result<String> {
        self.project
            .signer
            .mint(USER_ID)
            .context("minting the user token")
    }
}

async fn insert_account(
    server: &TestServer,
    project_id: Uuid,
    integration_id: Uuid,
    user_id: &str,
) -> anyhow::Result<Uuid> {
    let id = Uuid::new_v4();
    let sealed = seal_api_key(server, project_id, id, &format!("{SECRET_MARKER}{id}"));
    let short = &id.simple().to_string()[..8];
    let credential = NewCredential {
        id,
        project_id,
        integration_id,
        user_id: user_id.to_owned(),
        external_id: None,
        provider_id: Some(format!("acct-{short}")),
        provider_data: json!({"name": format!("Account {short}"), "email": format!("{short}@example.com")}),
        status: CredentialStatus::Valid,
        secrets: Some(sealed),
        account_vars: json!({}),
        valid_until: None,
        next_refresh_at: None,
        workflow_settings: json!({}),
    };
    server
        .state
        .store()
        .credentials()
        .insert_credential(&credential, &[])
        .await
        .context("inserting a credential")?;
    Ok(id)
}

/// `int01`..`intNN`: inline API-key integrations with two user settings each,
/// one Request-trigger workflow each and an App Event workflow on every
/// other one.
fn config_document(integrations: usize) -> String {
    let mut doc =
        String::from("settings:\n  allowedOrigins: [\"http://localhost:3000\"]\nintegrations:\n");
    let types: Vec<String> = (1..=integrations).map(|i| format!("int{i:02}")).collect();
    for (i, ty) in types.iter().enumerate() {
        let _ = write!(
            doc,
            r#"  {ty}:
    name: Integration {n}
    auth:
      type: api_key
      fields: [{{id: apiKey, title: API key, secret: true}}]
      inject: {{header: Authorization, value: "Bearer {{{{ credentials.apiKey }}}}"}}
    api:
      baseUrl: https://{ty}.example/api
    userSettings:
      - {{id: channel, type: text, title: Channel}}
      - {{id: limit, type: number, title: Limit}}
"#,
            n = i + 1
        );
    }
    doc.push_str("workflows:\n");
    for (i, ty) in types.iter().enumerate() {
        let _ = write!(
            doc,
            r#"  - id: {ty}-notify
    integration: {ty}
    defaultEnabled: true
    trigger: {{type: request}}
    steps:
      - {{id: reply, type: response, status: 200, body: {{ok: true}}}}
"#
        );
        if i % 2 == 0 {
            let _ = write!(
                doc,
                r#"  - id: {ty}-sync
    integration: {ty}
    description: Copy new contacts
    defaultEnabled: false
    trigger: {{type: app_event, event: Contact Created}}
    inputs:
      - {{id: folder, type: text, title: Folder}}
    steps:
      - {{id: create, type: request, method: POST, path: /contacts, body: {{name: "{{{{ trigger.body.name }}}}"}}}}
"#
            );
        }
    }
    doc
}

/// Every concurrency level, and the size of the checked response.
struct Measured {
    response_bytes: usize,
    workflows: usize,
    points: Vec<Point>,
}

struct Point {
    concurrency: usize,
    healthz: Sample,
    me: Sample,
}

async fn measure(
    args: &Args,
    fixture: &Fixture,
    duration: Duration,
    warmup: Duration,
) -> anyhow::Result<Measured> {
    let mut auth = HeaderMap::new();
    auth.insert(
        AUTHORIZATION,
        HeaderValue::try_from(format!("Bearer {}", fixture.user_token()?))?,
    );
    let healthz = Target {
        method: reqwest::Method::GET,
        url: fixture.server.url("/healthz"),
        headers: HeaderMap::new(),
    };
    let me = Target {
        method: reqwest::Method::GET,
        url: fixture
            .server
            .url(&format!("/projects/{}/sdk/me", fixture.project.id)),
        headers: auth,
    };
    let (response_bytes, workflows) = check_user_object(args, fixture, &me).await?;

    let mut points = Vec::with_capacity(args.concurrency.len());
    let slice = duration / args.rounds;
    for &concurrency in &args.concurrency {
        eprintln!(
            "measuring with {concurrency} client(s): {:?} warm-up, then {} rounds of {:?} per endpoint",
            warmup, args.rounds, slice
        );
        let workers = Workers::new(concurrency).context("building the HTTP clients")?;
        // The warm-up opens the connections that the measured runs reuse.
        if !warmup.is_zero() {
            workers.run(&healthz, warmup / 2).await;
            workers.run(&me, warmup / 2).await;
        }
        // Alternating short runs, so that whatever else the machine does
        // slows the baseline and the endpoint alike.
        let mut point = Point {
            concurrency,
            healthz: Sample::default(),
            me: Sample::default(),
        };
        for _ in 0..args.rounds {
            point.healthz.merge(workers.run(&healthz, slice).await);
            point.me.merge(workers.run(&me, slice).await);
        }
        points.push(point);
    }
    Ok(Measured {
        response_bytes,
        workflows,
        points,
    })
}

/// One request, checked in full, so the benchmark cannot quietly measure an
/// error page: every integration, every account, the default account, and no
/// secret. Returns the body's size and the number of workflows it shows.
async fn check_user_object(
    args: &Args,
    fixture: &Fixture,
    me: &Target,
) -> anyhow::Result<(usize, usize)> {
    let response = me.send_once().await.context("GET /sdk/me")?;
    let status = response.status();
    let body = response.bytes().await.context("reading /sdk/me")?;
    if status != reqwest::StatusCode::OK {
        bail!(
            "GET /sdk/me answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    ensure!(
        !String::from_utf8_lossy(&body).contains(SECRET_MARKER),
        "the user object contains a stored secret"
    );
    let user: UserObject = serde_json::from_slice(&body).context("decoding the user object")?;
    ensure!(user.authenticated && user.user_id == USER_ID, "wrong user");
    ensure!(
        user.integrations.len() == args.integrations,
        "the user object has {} integrations, expected {}",
        user.integrations.len(),
        args.integrations
    );
    let mut workflows = 0;
    for (type_name, state) in &user.integrations {
        ensure!(
            state.enabled && state.all_credentials.len() == args.accounts,
            "{type_name}: enabled={} with {} accounts, expected {}",
            state.enabled,
            state.all_credentials.len(),
            args.accounts
        );
        let oldest = fixture
            .first_accounts
            .get(&state.all_credentials[0].integration_id);
        ensure!(
            state.credential_id.as_ref() == oldest,
            "{type_name}: the default account is not the oldest"
        );
        ensure!(
            state
                .all_credentials
                .iter()
                .all(|c| c.persona_id == USER_ID && c.configurations.len() == 1),
            "{type_name}: an account of another user, or without its configuration"
        );
        workflows += state.workflow_settings.len();
    }
    Ok((body.len(), workflows))
}

/// What the table says about how it was measured: other work on the machine
/// slows both endpoints, but not equally, so the load average is printed too.
struct Setting {
    cpus: usize,
    load: Option<String>,
    duration: Duration,
    warmup: Duration,
}

fn report(args: &Args, setting: &Setting, m: &Measured) -> String {
    let Setting {
        cpus,
        load,
        duration,
        warmup,
    } = setting;
    let backend = match args.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nGET /sdk/me vs GET /healthz — {backend}, {} integrations × {} accounts \
         ({} workflows, {} other users), response {} bytes",
        args.integrations,
        args.accounts,
        m.workflows,
        args.other_users,
        group_thousands(m.response_bytes as u64),
    );
    let _ = writeln!(
        out,
        "{cpus} CPUs{}; {:?} per endpoint and concurrency ({} alternating rounds) after {:?} warm-up; \
         one keep-alive HTTP/1.1 connection per client\n",
        load.as_ref()
            .map(|l| format!(", load {l} before the run"))
            .unwrap_or_default(),
        duration,
        args.rounds,
        warmup
    );
    let _ = writeln!(out, "{}", sample_header("endpoint"));
    for point in &m.points {
        for (name, sample) in [("healthz", &point.healthz), ("sdk/me", &point.me)] {
            let _ = writeln!(out, "{}", sample_row(point.concurrency, name, sample));
        }
        let ratio = |q: f64| {
            format_ratio(
                point.me.percentile(q).as_secs_f64(),
                point.healthz.percentile(q).as_secs_f64(),
            )
        };
        let added = point.me.percentile(0.50).as_secs_f64() * 1e6
            - point.healthz.percentile(0.50).as_secs_f64() * 1e6;
        let _ = writeln!(
            out,
            "{:>5}  {:<10} {:>9} {:>9} {:>9} {:>10}   me/healthz; /sdk/me adds {added:.0} µs at p50\n",
            "",
            "ratio",
            ratio(0.50),
            ratio(0.90),
            ratio(0.99),
            format_ratio(point.me.throughput(), point.healthz.throughput()),
        );
    }
    out
}
