//! What Patchbay's benchmarks share: a closed-loop HTTP load generator with
//! one keep-alive connection per worker, and latency summaries.
//!
//! Absolute timings depend on the machine, so every benchmark measures a
//! baseline on the same server in the same run and reports ratios against it.
//! Nothing here ever decides pass or fail on a timing.

pub mod serve;
pub mod wrk;

use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

// The allocator `patchbay serve` runs with (see its `main.rs`), so the
// servers measured here allocate as the real one does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// An API-key account's secrets, `{"apiKey": key}`, sealed by `server`'s
/// keyring for credential `id` exactly as the connect flow seals them.
pub fn seal_api_key(
    server: &patchbay_test_support::TestServer,
    project_id: uuid::Uuid,
    id: uuid::Uuid,
    key: &str,
) -> Vec<u8> {
    let secrets = serde_json::json!({"apiKey": key}).to_string();
    server.state.engine.keyring().encrypt(
        patchbay_core::crypto::Aad {
            project_id,
            record_id: &id.to_string(),
            field: "secrets",
        },
        secrets.as_bytes(),
    )
}

/// One endpoint to hammer, with fixed headers and no body.
#[derive(Debug, Clone)]
pub struct Target {
    pub method: reqwest::Method,
    pub url: String,
    pub headers: HeaderMap,
}

impl Target {
    /// One request to this target on a client of its own, to check what it
    /// answers before it is measured.
    pub async fn send_once(&self) -> reqwest::Result<reqwest::Response> {
        reqwest::Client::builder()
            .no_proxy()
            .build()?
            .request(self.method.clone(), &self.url)
            .headers(self.headers.clone())
            .send()
            .await
    }
}

/// `concurrency` workers, each with its own client and so its own
/// connection, kept alive from one run to the next: the warm-up opens the
/// connections and the measured run reuses them.
#[derive(Debug)]
pub struct Workers {
    clients: Vec<reqwest::Client>,
}

impl Workers {
    pub fn new(concurrency: usize) -> reqwest::Result<Self> {
        let clients = (0..concurrency)
            .map(|_| {
                reqwest::Client::builder()
                    // A worker sends one request at a time, so one idle
                    // connection is all its pool ever holds.
                    .pool_max_idle_per_host(1)
                    .pool_idle_timeout(None)
                    .tcp_nodelay(true)
                    // An `HTTP_PROXY` in the environment must not sit between
                    // the benchmark and a server on loopback.
                    .no_proxy()
                    .build()
            })
            .collect::<reqwest::Result<_>>()?;
        Ok(Self { clients })
    }

    pub fn concurrency(&self) -> usize {
        self.clients.len()
    }

    /// Every worker sends requests back to back until `duration` has passed
    /// since the start; each request's latency is the time from sending to
    /// having read the whole body.
    pub async fn run(&self, target: &Target, duration: Duration) -> Sample {
        let started = Instant::now();
        let deadline = started + duration;
        let tasks: Vec<_> = self
            .clients
            .iter()
            .map(|client| tokio::spawn(worker(client.clone(), target.clone(), deadline)))
            .collect();
        let mut sample = Sample::default();
        let mut finished = started;
        for task in tasks {
            match task.await {
                Ok(part) => {
                    finished = finished.max(part.finished);
                    sample.latencies_ns.extend(part.latencies_ns);
                    sample.non_200 += part.non_200;
                    sample.transport_errors += part.transport_errors;
                    sample.body_bytes += part.body_bytes;
                }
                // A panicking worker is a broken benchmark, not a slow server.
                Err(err) => std::panic::resume_unwind(err.into_panic()),
            }
        }
        sample.elapsed = finished - started;
        sample.latencies_ns.sort_unstable();
        sample
    }
}

struct WorkerResult {
    latencies_ns: Vec<u64>,
    non_200: u64,
    transport_errors: u64,
    body_bytes: u64,
    finished: Instant,
}

async fn worker(client: reqwest::Client, target: Target, deadline: Instant) -> WorkerResult {
    let mut result = WorkerResult {
        latencies_ns: Vec::with_capacity(64 * 1024),
        non_200: 0,
        transport_errors: 0,
        body_bytes: 0,
        finished: Instant::now(),
    };
    loop {
        let sent = Instant::now();
        if sent >= deadline {
            break;
        }
        let response = client
            .request(target.method.clone(), &target.url)
            .headers(target.headers.clone())
            .send()
            .await;
        let ok = match response {
            Ok(response) => {
                let status = response.status();
                match response.bytes().await {
                    Ok(body) => {
                        result.body_bytes += body.len() as u64;
                        if status != reqwest::StatusCode::OK {
                            result.non_200 += 1;
                        }
                        true
                    }
                    Err(_) => false,
                }
            }
            Err(_) => false,
        };
        let done = Instant::now();
        if ok {
            let nanos = u64::try_from((done - sent).as_nanos()).unwrap_or(u64::MAX);
            result.latencies_ns.push(nanos);
        } else {
            result.transport_errors += 1;
        }
        result.finished = done;
    }
    result
}

/// What one run measured.
#[derive(Debug, Default)]
pub struct Sample {
    /// Latencies of every completed request, sorted.
    latencies_ns: Vec<u64>,
    /// Completed requests whose status was not `200`.
    pub non_200: u64,
    /// Requests that got no complete response at all.
    pub transport_errors: u64,
    pub body_bytes: u64,
    /// From the start to the last response.
    pub elapsed: Duration,
}

impl Sample {
    /// Adds another run's requests to this one, as if both were one run
    /// lasting as long as the two together.
    pub fn merge(&mut self, other: Sample) {
        self.latencies_ns.extend(other.latencies_ns);
        self.latencies_ns.sort_unstable();
        self.non_200 += other.non_200;
        self.transport_errors += other.transport_errors;
        self.body_bytes += other.body_bytes;
        self.elapsed += other.elapsed;
    }

    /// Completed requests (of any status).
    pub fn requests(&self) -> u64 {
        self.latencies_ns.len() as u64
    }

    /// Everything that was not a complete `200`.
    pub fn failures(&self) -> u64 {
        self.non_200 + self.transport_errors
    }

    /// The latency below which a fraction `q` of the requests fall
    /// (nearest rank); zero when nothing completed.
    pub fn percentile(&self, q: f64) -> Duration {
        let n = self.latencies_ns.len();
        if n == 0 {
            return Duration::ZERO;
        }
        // Nearest rank: the smallest value with at least q·n values at or below it.
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        Duration::from_nanos(self.latencies_ns[rank - 1])
    }

    /// Completed requests per second of wall-clock time.
    pub fn throughput(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds == 0.0 {
            0.0
        } else {
            let requests = self.requests() as f64;
            requests / seconds
        }
    }

    /// The average body size of the completed requests, in bytes.
    pub fn mean_body_bytes(&self) -> u64 {
        self.body_bytes.checked_div(self.requests()).unwrap_or(0)
    }
}

/// `87 µs`, `1.24 ms`, `12.5 ms`: three significant digits, unit to fit.
pub fn format_latency(latency: Duration) -> String {
    let micros = latency.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.0} µs")
    } else if micros < 10_000.0 {
        format!("{:.2} ms", micros / 1000.0)
    } else {
        format!("{:.1} ms", micros / 1000.0)
    }
}

/// `12,345`: a rate rounded to a whole number, with thousands separators.
pub fn format_rate(rate: f64) -> String {
    let whole = rate.round() as u64;
    group_thousands(whole)
}

pub fn group_thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// `a / b` as `12.3×`, or `-` when `b` is zero.
pub fn format_ratio(a: f64, b: f64) -> String {
    if b == 0.0 {
        "-".to_owned()
    } else {
        let ratio = a / b;
        if ratio < 0.1 {
            format!("{ratio:.3}×")
        } else if ratio < 10.0 {
            format!("{ratio:.2}×")
        } else {
            format!("{ratio:.1}×")
        }
    }
}

/// The head of a latency table whose rows are [`sample_row`]; `what` names
/// what a row measured (`path`, `endpoint`).
pub fn sample_header(what: &str) -> String {
    format!(
        "{:>5}  {:<10} {:>9} {:>9} {:>9} {:>10} {:>8}",
        "conc", what, "p50", "p90", "p99", "req/s", "non-200"
    )
}

/// One row of a latency table: `sample`'s p50, p90, p99, throughput and
/// failures at `concurrency` clients.
pub fn sample_row(concurrency: usize, name: &str, sample: &Sample) -> String {
    Summary::from(sample).row(concurrency, name)
}

/// What a latency table shows of one path, whichever load generator
/// measured it.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    /// Requests per second.
    pub throughput: f64,
    pub failures: u64,
}

impl From<&Sample> for Summary {
    fn from(sample: &Sample) -> Self {
        Self {
            p50: sample.percentile(0.50),
            p90: sample.percentile(0.90),
            p99: sample.percentile(0.99),
            throughput: sample.throughput(),
            failures: sample.failures(),
        }
    }
}

impl Summary {
    /// Its row under [`sample_header`].
    pub fn row(&self, concurrency: usize, name: &str) -> String {
        format!(
            "{:>5}  {:<10} {:>9} {:>9} {:>9} {:>10} {:>8}",
            concurrency,
            name,
            format_latency(self.p50),
            format_latency(self.p90),
            format_latency(self.p99),
            format_rate(self.throughput),
            self.failures,
        )
    }
}

/// What every closed-loop benchmark checks and reads before it starts.
#[derive(Debug)]
pub struct RunSettings {
    pub duration: Duration,
    pub warmup: Duration,
    pub cpus: usize,
    /// The one-minute load average before this process adds to it (Linux only).
    pub load: Option<String>,
}

impl RunSettings {
    /// Checks `--concurrency`, `--duration` and `--warmup`, and warns when
    /// this is a debug build.
    pub fn read(concurrency: &[usize], duration: f64, warmup: f64) -> anyhow::Result<Self> {
        anyhow::ensure!(
            concurrency.iter().all(|&c| c >= 1),
            "--concurrency values must be at least 1"
        );
        let settings = Self {
            duration: seconds(duration, "--duration")?,
            warmup: seconds(warmup, "--warmup")?,
            cpus: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            load: std::fs::read_to_string("/proc/loadavg")
                .ok()
                .and_then(|l| l.split_whitespace().next().map(str::to_owned)),
        };
        if cfg!(debug_assertions) {
            eprintln!("warning: this is a debug build; run with --release (bench/run does).");
        }
        Ok(settings)
    }
}

/// A duration flag given in seconds; only `--warmup` may be zero.
pub fn seconds(value: f64, flag: &str) -> anyhow::Result<Duration> {
    use anyhow::Context as _;
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero() || flag == "--warmup")
        .with_context(|| format!("{flag} must be a positive number of seconds"))
}

/// A named tokio runtime, so the server and the load generator do not share
/// worker threads.
pub fn runtime(name: &str, threads: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context as _;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name(name)
        .enable_all()
        .build()
        .with_context(|| format!("building the {name} runtime"))
}

/// Worker threads of the runtimes of a benchmark with an upstream.
#[derive(Debug, clap::Args)]
pub struct Threads {
    /// Worker threads of the server's runtime [default: one per CPU].
    #[arg(long)]
    pub server_threads: Option<usize>,
    /// Worker threads of the upstream's runtime [default: one per CPU].
    #[arg(long)]
    pub upstream_threads: Option<usize>,
    /// Worker threads of the load generator's runtime [default: one per CPU].
    #[arg(long)]
    pub client_threads: Option<usize>,
}

/// The server, the upstream and the load generator, each on its own
/// runtime: the upstream stands for a remote service, so it must not share
/// the worker threads of the server under test (nor of a baseline proxy
/// such as nginx, which shares none).
#[derive(Debug)]
pub struct Runtimes {
    pub server: tokio::runtime::Runtime,
    pub upstream: tokio::runtime::Runtime,
    pub client: tokio::runtime::Runtime,
}

impl Threads {
    pub fn runtimes(&self, cpus: usize) -> anyhow::Result<Runtimes> {
        Ok(Runtimes {
            server: runtime("server", self.server_threads.unwrap_or(cpus))?,
            upstream: runtime("upstream", self.upstream_threads.unwrap_or(cpus))?,
            client: runtime("client", self.client_threads.unwrap_or(cpus))?,
        })
    }
}

/// The exit code of a benchmark: failure when any request failed, whatever
/// the timings (they never decide it).
pub fn exit_code(failures: u64) -> std::process::ExitCode {
    if failures > 0 {
        eprintln!("error: {failures} request(s) did not complete with 200; see the table.");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
