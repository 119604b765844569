//! A request-trigger workflow (one `request` step, one `function` step, a
//! `response`) against the same upstream call made directly, through the
//! Proxy API, and through a workflow without the function (`no-js`), in the
//! same run: what running a workflow adds, at p50 and p99, and its throughput
//! with many concurrent callers.
//!
//! The server, the upstream (`EchoUpstream`) and the load generator are in
//! this process, each on its own runtime.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Parser;
use patchbay_bench::{
    RunSettings, Sample, Target, Threads, Workers, exit_code, sample_header, sample_row,
};
use patchbay_test_support::{EchoUpstream, TestDb, TestProject, TestServer};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::json;

const KEY: &str = "bench-echo-key-0123456789";
const USER_ID: &str = "bench-user";

#[derive(Debug, Parser)]
#[command(about = "Benchmark a request-trigger workflow against the bare upstream call")]
struct Args {
    /// Concurrent clients, each on its own keep-alive connection; one
    /// measurement per value.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 200])]
    concurrency: Vec<usize>,
    /// Seconds measured per path and concurrency, in total.
    #[arg(long, default_value_t = 3.0)]
    duration: f64,
    /// Seconds of unrecorded requests per concurrency, before measuring.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    #[command(flatten)]
    threads: Threads,
}

fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let RunSettings {
        duration,
        warmup,
        cpus,
        ..
    } = RunSettings::read(&args.concurrency, args.duration, args.warmup)?;
    let runtimes = args.threads.runtimes(cpus)?;
    let upstream = runtimes.upstream.block_on(EchoUpstream::start());
    let fixture = runtimes.server.block_on(Fixture::start(upstream))?;
    let result = runtimes
        .client
        .block_on(measure(&args, &fixture, duration, warmup));
    let Fixture {
        server,
        db,
        upstream,
        ..
    } = fixture;
    runtimes.server.block_on(server.stop());
    drop(upstream);
    drop(db);
    let points = result?;
    print!("{}", report(cpus, duration, warmup, &points));
    let failures: u64 = points
        .iter()
        .flat_map(|(_, samples)| samples.iter().map(|(_, s)| s.failures()))
        .sum();
    Ok(exit_code(failures))
}

struct Fixture {
    server: TestServer,
    db: TestDb,
    upstream: EchoUpstream,
    project: TestProject,
    token: String,
}

impl Fixture {
    async fn start(upstream: EchoUpstream) -> anyhow::Result<Self> {
        let db = TestDb::sqlite().await;
        let server = TestServer::start(&db).await;
        let document = format!(
            "{}\nworkflows:\n{}",
            upstream.config_document(),
            r#"  - id: bench
    integration: echo
    defaultEnabled: true
    trigger: {type: request}
    steps:
      - {id: call, type: request, method: GET, path: /echo/x}
      - {id: shape, type: function, code: "return { status: steps.call.output.status, user: user.id };"}
      - {id: reply, type: response, status: 200, body: "{{ steps.shape.output }}"}
  - id: bench-no-js
    integration: echo
    defaultEnabled: true
    trigger: {type: request}
    steps:
      - {id: call, type: request, method: GET, path: /echo/x}
      - {id: reply, type: response, status: 200, body: {status: "{{ steps.call.output.status }}", user: "{{ user.id }}"}}
"#
        );
        let project = TestProject::with_config(&server, &document).await;
        let (token, _) = project.connect_api_key(USER_ID, "echo", KEY).await;
        Ok(Self {
            server,
            db,
            upstream,
            project,
            token,
        })
    }

    fn targets(&self) -> anyhow::Result<Vec<(&'static str, Target)>> {
        let mut auth = HeaderMap::new();
        auth.insert(
            AUTHORIZATION,
            HeaderValue::try_from(format!("Bearer {}", self.token))?,
        );
        let mut raw = auth.clone();
        raw.insert("x-paragon-use-raw-response", HeaderValue::from_static("1"));
        Ok(vec![
            (
                "direct",
                Target {
                    method: Method::GET,
                    url: format!("{}/echo/x", self.upstream.base_url),
                    headers: HeaderMap::new(),
                },
            ),
            (
                "proxy",
                Target {
                    method: Method::GET,
                    url: self.server.url(&format!(
                        "/projects/{}/sdk/proxy/echo/echo/x",
                        self.project.id
                    )),
                    headers: raw,
                },
            ),
            (
                "no-js",
                Target {
                    method: Method::POST,
                    url: self.server.url(&format!(
                        "/projects/{}/sdk/triggers/bench-no-js",
                        self.project.id
                    )),
                    headers: auth.clone(),
                },
            ),
            (
                "workflow",
                Target {
                    method: Method::POST,
                    url: self
                        .server
                        .url(&format!("/projects/{}/sdk/triggers/bench", self.project.id)),
                    headers: auth,
                },
            ),
        ])
    }
}

type Point = (usize, Vec<(&'static str, Sample)>);

async fn measure(
    args: &Args,
    fixture: &Fixture,
    duration: Duration,
    warmup: Duration,
) -> anyhow::Result<Vec<Point>> {
    let targets = fixture.targets()?;
    // The workflow must answer with its response step, not an error page.
    let (_, workflow) = &targets[3];
    let answer: serde_json::Value = workflow.send_once().await?.json().await?;
    if answer != json!({"status": 200, "user": USER_ID}) {
        bail!("the workflow answered {answer}");
    }
    let mut points = Vec::new();
    for &concurrency in &args.concurrency {
        eprintln!("measuring with {concurrency} client(s)");
        let workers = Workers::new(concurrency).context("building the HTTP clients")?;
        let mut samples = Vec::new();
        for (name, target) in &targets {
            if !warmup.is_zero() {
                workers.run(target, warmup).await;
            }
            samples.push((*name, workers.run(target, duration).await));
        }
        points.push((concurrency, samples));
    }
    Ok(points)
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn report(cpus: usize, duration: Duration, warmup: Duration, points: &[Point]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nWorkflow: POST /sdk/triggers/bench (request + function + response) vs the upstream call \
         directly and through the Proxy API — sqlite, API-key account"
    );
    let _ = writeln!(
        out,
        "{cpus} CPUs; {duration:?} per path and concurrency after {warmup:?} warm-up; one \
         keep-alive HTTP/1.1 connection per client\n"
    );
    let _ = writeln!(out, "{}", sample_header("path"));
    for (concurrency, samples) in points {
        for (name, sample) in samples {
            let _ = writeln!(out, "{}", sample_row(*concurrency, name, sample));
        }
        let find = |wanted: &str| samples.iter().find(|(n, _)| *n == wanted).map(|(_, s)| s);
        if let (Some(direct), Some(workflow)) = (find("direct"), find("workflow")) {
            let added = |q: f64| micros(workflow.percentile(q)) - micros(direct.percentile(q));
            let _ = writeln!(
                out,
                "       the workflow adds {:.0} µs at p50, {:.0} µs at p99 over direct (target p50 < 3 ms: {})",
                added(0.50),
                added(0.99),
                if added(0.50) < 3000.0 {
                    "met"
                } else {
                    "missed"
                },
            );
        }
    }
    out
}
