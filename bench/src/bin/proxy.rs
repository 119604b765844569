//! The Proxy API's added latency and throughput: `GET /sdk/proxy/echo/echo/x`
//! through `patchbay serve` as shipped, against the same request sent
//! straight to the upstream, through nginx configured to add the same static
//! `Authorization` header, and through a bare axum+reqwest pass-through, all
//! in the same run. Then the peak memory of a `patchbay serve` process while
//! 1 GiB streams through it.
//!
//! Patchbay runs as the real binary, twice: with its default logging (an
//! access-log line per request) and with `RUST_LOG=warn`. The upstream
//! (`EchoUpstream`) and the bare pass-through are in this process, each on
//! its own tokio runtime: the upstream stands for a remote service and must
//! not share the worker threads of a proxy under test. nginx, when
//! installed, is a child process with a generated configuration in a
//! temporary directory. The load comes from wrk, an external process, when
//! it is installed (`bench/run` installs it), else from this crate's own
//! closed-loop generator.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read as _, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use axum::response::IntoResponse as _;
use clap::{Parser, ValueEnum};
use patchbay_bench::serve::{Serve, TempDir, status_kib};
use patchbay_bench::wrk::{Wrk, WrkRun, WrkSample};
use patchbay_bench::{
    RunSettings, Sample, Summary, Target, Threads, Workers, exit_code, format_ratio, sample_header,
};
use patchbay_test_support::{EchoUpstream, TestProject};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

/// The account's API key, which Patchbay and nginx both send upstream as
/// `Authorization: Bearer <key>`.
const KEY: &str = "bench-echo-key-0123456789";
const USER_ID: &str = "bench-user";
const MIB: u64 = 1024 * 1024;

/// What a `patchbay` row must reach, as a fraction of nginx's requests per
/// second (measured with wrk, logging on).
const THROUGHPUT_TARGET: f64 = 0.6;
/// The most Patchbay may add over the upstream at p50, one client.
const ADDED_P50_TARGET_MICROS: f64 = 40.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Load {
    /// wrk, an external process with one thread (the builtin generator when
    /// wrk is not installed).
    Wrk,
    /// This crate's closed-loop generator, in the benchmark's process.
    Builtin,
}

#[derive(Debug, Parser)]
#[command(about = "Benchmark the Proxy API against the upstream directly and against nginx")]
struct Args {
    /// Concurrent clients, each on its own keep-alive connection; one
    /// measurement per value.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 32])]
    concurrency: Vec<usize>,
    /// Seconds measured per path and concurrency, in total (wrk measures
    /// whole seconds per round).
    #[arg(long, default_value_t = 6.0)]
    duration: f64,
    /// Seconds of unrecorded requests per path and concurrency, before
    /// measuring.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// The measurement alternates between the paths in this many rounds of
    /// `duration / rounds` each.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    rounds: u32,
    /// The load generator.
    #[arg(long, value_enum, default_value_t = Load::Wrk)]
    load: Load,
    /// MiB streamed through the proxy for the memory measurement (0 skips it).
    #[arg(long, default_value_t = 1024)]
    stream_mib: u64,
    /// nginx's `worker_processes` (a number or `auto`).
    #[arg(long, default_value = "auto")]
    nginx_workers: String,
    /// Leave nginx out even when it is installed.
    #[arg(long)]
    no_nginx: bool,
    #[command(flatten)]
    threads: Threads,
}

fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let RunSettings {
        duration,
        warmup,
        cpus,
        load,
    } = RunSettings::read(&args.concurrency, args.duration, args.warmup)?;
    let runtimes = args.threads.runtimes(cpus)?;
    let generator = match args.load {
        Load::Wrk => Wrk::find().map(Generator::Wrk).unwrap_or_else(|| {
            eprintln!(
                "note: wrk is not installed (apt-get install -y wrk); \
                 the builtin load generator stands in"
            );
            Generator::Builtin
        }),
        Load::Builtin => Generator::Builtin,
    };

    let upstream = runtimes.upstream.block_on(EchoUpstream::start());
    let fixture = runtimes.server.block_on(Fixture::start(upstream))?;
    let nginx = if args.no_nginx {
        Err("left out (--no-nginx)".to_owned())
    } else {
        Nginx::start(&fixture.upstream.base_url, &args.nginx_workers)
    };
    if let Err(why) = &nginx {
        eprintln!("note: the nginx baseline is skipped: {why}");
    }
    let result = runtimes.client.block_on(run(
        &args,
        &generator,
        &fixture,
        nginx.as_ref().ok(),
        duration,
        warmup,
    ));
    drop(nginx);
    drop(fixture);
    let measured = result?;

    print!(
        "{}",
        report(
            &args,
            &generator,
            cpus,
            load.as_deref(),
            duration,
            warmup,
            &measured
        )
    );
    let failures: u64 = measured
        .points
        .iter()
        .flat_map(|p| p.summaries.iter().map(|(_, s)| s.failures))
        .sum();
    Ok(exit_code(failures))
}

/// Who sends the measured requests.
enum Generator {
    Wrk(Wrk),
    Builtin,
}

/// The upstream, the bare pass-through, and `patchbay serve` with and
/// without its access log, each with a project whose user connected an
/// `echo` account (the default one, so requests need not name it).
struct Fixture {
    logged: ServeProcess,
    quiet: ServeProcess,
    bare: Bare,
    upstream: EchoUpstream,
}

impl Fixture {
    async fn start(upstream: EchoUpstream) -> anyhow::Result<Self> {
        Ok(Self {
            logged: ServeProcess::start(&upstream.base_url, None).await?,
            quiet: ServeProcess::start(&upstream.base_url, Some("warn")).await?,
            bare: Bare::start(&upstream.base_url).await?,
            upstream,
        })
    }
}

/// The floor of the stack Patchbay is built on: an axum server (on the
/// server's runtime) whose one handler forwards the request with a reqwest
/// client, as the Proxy API does, adding the static `Authorization` as nginx
/// does, and does nothing else: no middleware, no token, no account, no URL
/// policy, no header policy. What separates it from `patchbay` is Patchbay's
/// own work; what separates it from `nginx` is the stack's.
struct Bare {
    base_url: String,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct BareForward {
    upstream: Arc<str>,
    client: reqwest::Client,
}

impl Bare {
    async fn start(upstream: &str) -> anyhow::Result<Self> {
        let forward = BareForward {
            upstream: upstream.into(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
        };
        let router = axum::Router::new()
            .fallback(bare_forward)
            .with_state(forward);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self { base_url, task })
    }
}

impl Drop for Bare {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn bare_forward(
    axum::extract::State(forward): axum::extract::State<BareForward>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let Ok(body) = axum::body::to_bytes(body, 1 << 20).await else {
        return axum::http::StatusCode::BAD_REQUEST.into_response();
    };
    let sent = forward
        .client
        .request(parts.method, format!("{}{path}", forward.upstream))
        .header(AUTHORIZATION, format!("Bearer {KEY}"))
        .body(body)
        .send()
        .await;
    match sent {
        Ok(upstream) => {
            let (status, headers) = (upstream.status(), upstream.headers().clone());
            let mut response = axum::response::Response::new(axum::body::Body::from_stream(
                upstream.bytes_stream(),
            ));
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            response
        }
        Err(_) => axum::http::StatusCode::BAD_GATEWAY.into_response(),
    }
}

/// A project on the server at `base_url` whose user connected an `echo`
/// account (an API key sent as a bearer token to `upstream`), and that
/// user's token.
async fn connected_project(
    base_url: &str,
    upstream: &str,
) -> anyhow::Result<(TestProject, String)> {
    let config = format!(
        r#"
integrations:
  echo:
    name: Echo
    auth:
      type: api_key
      fields: [{{id: apiKey, title: Key, secret: true}}]
      inject: {{header: Authorization, value: "Bearer {{{{ credentials.apiKey }}}}"}}
    api:
      baseUrl: {upstream}
"#
    );
    let project = TestProject::at(base_url, &config).await;
    let (token, _) = project.connect_api_key(USER_ID, "echo", KEY).await;
    Ok((project, token))
}

/// nginx as a reverse proxy to the upstream that adds `Authorization`, stopped
/// (with its workers) when dropped.
struct Nginx {
    child: Child,
    addr: SocketAddr,
    dir: TempDir,
}

impl Nginx {
    fn start(upstream: &str, workers: &str) -> Result<Self, String> {
        let binary = [
            "/usr/sbin/nginx",
            "/usr/local/sbin/nginx",
            "/usr/local/nginx/sbin/nginx",
        ]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .ok_or("nginx is not installed (apt-get install -y --no-install-recommends nginx)")?;
        let upstream = upstream
            .strip_prefix("http://")
            .ok_or("the upstream is not plain http")?;
        let dir = TempDir::new("patchbay-bench-nginx")
            .map_err(|e| format!("temporary directory: {e}"))?;
        // A free port: bind port 0, note it, release it for nginx.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("finding a free port: {e}"))?
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let d = dir.path().display();
        let conf = format!(
            r#"worker_processes {workers};
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    keepalive_requests 1000000;
    upstream echo {{
        server {upstream};
        keepalive 128;
        keepalive_requests 1000000;
    }}
    server {{
        listen {addr};
        location / {{
            proxy_pass http://echo;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "Bearer {KEY}";
            proxy_buffering off;
            proxy_request_buffering off;
        }}
    }}
}}
"#
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).map_err(|e| format!("writing nginx.conf: {e}"))?;
        let child = Command::new(&binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&conf_path)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting {}: {e}", binary.display()))?;
        let mut nginx = Self { child, addr, dir };
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                return Ok(nginx);
            }
            if let Ok(Some(status)) = nginx.child.try_wait() {
                return Err(format!("nginx exited ({status}): {}", nginx.error_log()));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "nginx did not listen within 5 s: {}",
                    nginx.error_log()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log"))
            .unwrap_or_default()
            .trim()
            .to_owned()
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers, then itself. SIGKILL only
        // if it does not.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `patchbay serve` as shipped, with a connected `echo` account.
struct ServeProcess {
    serve: Serve,
    project_id: uuid::Uuid,
    token: String,
}

impl ServeProcess {
    /// `rust_log` as in [`Serve::start`]: `None` keeps the default logging.
    async fn start(upstream: &str, rust_log: Option<&'static str>) -> anyhow::Result<Self> {
        let serve = tokio::task::spawn_blocking(move || Serve::start(rust_log)).await??;
        let (project, token) = connected_project(&serve.base_url, upstream).await?;
        Ok(Self {
            serve,
            project_id: project.id,
            token,
        })
    }

    fn proxy_url(&self, path: &str) -> String {
        format!(
            "{}/projects/{}/sdk/proxy/echo/echo/{path}",
            self.serve.base_url, self.project_id
        )
    }

    /// A proxied `GET /echo/x`, its answer streamed back as it comes (as
    /// nginx and `bare` relay it) rather than read whole into Paragon's
    /// `{"output": …}`.
    fn target(&self) -> anyhow::Result<Target> {
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::try_from(format!("Bearer {}", self.token))?,
        );
        headers.insert("x-paragon-use-raw-response", HeaderValue::from_static("1"));
        Ok(Target {
            method: reqwest::Method::GET,
            url: self.proxy_url("x"),
            headers,
        })
    }
}

struct Measured {
    nginx: bool,
    /// Streamed through Patchbay, then straight to the upstream.
    streams: Vec<(&'static str, Streamed)>,
    points: Vec<Point>,
}

struct Point {
    concurrency: usize,
    summaries: Vec<(&'static str, Summary)>,
}

impl Point {
    fn get(&self, name: &str) -> Option<&Summary> {
        self.summaries
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| s)
    }
}

fn plain_get(url: String) -> Target {
    Target {
        method: reqwest::Method::GET,
        url,
        headers: HeaderMap::new(),
    }
}

async fn run(
    args: &Args,
    generator: &Generator,
    fixture: &Fixture,
    nginx: Option<&Nginx>,
    duration: Duration,
    warmup: Duration,
) -> anyhow::Result<Measured> {
    let mut targets = vec![(
        "direct",
        plain_get(format!("{}/echo/x", fixture.upstream.base_url)),
    )];
    if let Some(nginx) = nginx {
        targets.push(("nginx", plain_get(nginx.url("/echo/x"))));
    }
    targets.push((
        "bare",
        plain_get(format!("{}/echo/x", fixture.bare.base_url)),
    ));
    targets.push(("patchbay", fixture.logged.target()?));
    targets.push(("pb-warn", fixture.quiet.target()?));
    for (name, target) in &targets {
        check(fixture, name, target).await?;
    }

    let mut streams = Vec::new();
    if args.stream_mib > 0 {
        let bytes = args.stream_mib * MIB;
        eprintln!(
            "streaming {} MiB through a `patchbay serve` process, then directly",
            args.stream_mib
        );
        let proxied = fixture.quiet.proxy_url("big");
        let direct = format!("{}/echo/big", fixture.upstream.base_url);
        let token = fixture.quiet.token.clone();
        let watched = fixture.quiet.serve.proc_dir();
        let measured = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            Ok([
                ("patchbay", stream(&proxied, Some(&token), bytes, &watched)?),
                (
                    "direct",
                    stream(&direct, None, bytes, Path::new("/proc/self"))?,
                ),
            ])
        })
        .await??;
        streams.extend(measured);
    }

    let mut points = Vec::with_capacity(args.concurrency.len());
    let slice = duration / args.rounds;
    for &concurrency in &args.concurrency {
        eprintln!(
            "measuring with {concurrency} client(s): {warmup:?} warm-up, then {} rounds of {slice:?} per path",
            args.rounds
        );
        let summaries =
            measure(generator, &targets, concurrency, args.rounds, slice, warmup).await?;
        points.push(Point {
            concurrency,
            summaries,
        });
    }
    Ok(Measured {
        nginx: nginx.is_some(),
        streams,
        points,
    })
}

/// Rounds of runs per path, the paths alternating.
async fn measure(
    generator: &Generator,
    targets: &[(&'static str, Target)],
    concurrency: usize,
    rounds: u32,
    slice: Duration,
    warmup: Duration,
) -> anyhow::Result<Vec<(&'static str, Summary)>> {
    /// The generator with what it needs for this concurrency.
    enum Loader<'a> {
        Wrk(&'a Wrk),
        Builtin(Workers),
    }
    let loader = match generator {
        Generator::Wrk(wrk) => Loader::Wrk(wrk),
        Generator::Builtin => {
            Loader::Builtin(Workers::new(concurrency).context("building the HTTP clients")?)
        }
    };
    let run = async |target: &Target, duration: Duration| -> anyhow::Result<Run> {
        Ok(match &loader {
            Loader::Wrk(wrk) => {
                // wrk counts whole seconds.
                let seconds = duration.as_secs_f64().round().max(1.0) as u64;
                Run::Wrk(tokio::task::block_in_place(|| {
                    wrk.run(target, concurrency, seconds)
                })?)
            }
            Loader::Builtin(workers) => Run::Builtin(workers.run(target, duration).await),
        })
    };
    if !warmup.is_zero() {
        for (_, target) in targets {
            run(target, warmup).await?;
        }
    }
    let mut samples: Vec<_> = targets.iter().map(|_| Collected::default()).collect();
    for _ in 0..rounds {
        for ((_, target), sample) in targets.iter().zip(samples.iter_mut()) {
            sample.add(run(target, slice).await?);
        }
    }
    Ok(targets
        .iter()
        .zip(&samples)
        .map(|((name, _), sample)| (*name, sample.summary()))
        .collect())
}

/// One run of either generator.
enum Run {
    Wrk(WrkRun),
    Builtin(Sample),
}

/// A path's runs so far.
#[derive(Default)]
struct Collected {
    wrk: WrkSample,
    builtin: Sample,
}

impl Collected {
    fn add(&mut self, run: Run) {
        match run {
            Run::Wrk(run) => self.wrk.push(run),
            Run::Builtin(sample) => self.builtin.merge(sample),
        }
    }

    fn summary(&self) -> Summary {
        if self.wrk.is_empty() {
            Summary::from(&self.builtin)
        } else {
            self.wrk.summary()
        }
    }
}

/// One request per path, so the benchmark cannot quietly measure an error
/// page: `200` from the upstream, and through the proxies the key arrived.
async fn check(fixture: &Fixture, name: &str, target: &Target) -> anyhow::Result<()> {
    let response = target
        .send_once()
        .await
        .with_context(|| format!("{name}: GET {}", target.url))?;
    let status = response.status();
    let from_upstream = response
        .headers()
        .get("x-upstream")
        .is_some_and(|v| v == "echo");
    let body = response.bytes().await?;
    if status != reqwest::StatusCode::OK || !from_upstream {
        bail!(
            "{name}: GET {} answered {status} (from the upstream: {from_upstream}): {}",
            target.url,
            String::from_utf8_lossy(&body)
        );
    }
    let (uri, headers) = fixture
        .upstream
        .last_request()
        .context("the upstream saw no request")?;
    ensure!(uri == "/echo/x", "{name}: the upstream saw {uri}");
    if name != "direct" {
        // The key, and so not the user token the caller sent Patchbay.
        ensure!(
            headers
                .get(AUTHORIZATION)
                .is_some_and(|v| *v == format!("Bearer {KEY}")),
            "{name}: the upstream did not get the account's key as its Authorization"
        );
    }
    Ok(())
}

/// One streamed POST of `bytes` bytes and its echo.
struct Streamed {
    bytes: u64,
    elapsed: Duration,
    rss_before_kib: u64,
    peak_kib: u64,
    /// Whether the peak is the kernel's high-water mark (reset before the
    /// stream) rather than the highest of the samples taken every 5 ms.
    exact_peak: bool,
}

impl Streamed {
    fn added_mib(&self) -> f64 {
        self.peak_kib.saturating_sub(self.rss_before_kib) as f64 / 1024.0
    }
}

/// POSTs a generated body of `bytes` bytes (chunked, so nothing can buffer
/// it by its length) and reads and discards the echo at the same time, over a
/// plain blocking socket (a writer thread and a reader), while watching the
/// resident memory of the process whose `/proc` directory is `watched`.
fn stream(url: &str, auth: Option<&str>, bytes: u64, watched: &Path) -> anyhow::Result<Streamed> {
    const CHUNK: u64 = 64 * 1024;
    let rest = url.strip_prefix("http://").context("a plain http URL")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\
         Content-Type: application/octet-stream\r\nConnection: close\r\n"
    );
    if let Some(token) = auth {
        let _ = write!(head, "Authorization: Bearer {token}\r\n");
        // Streamed, not wrapped (a wrapped answer is read whole).
        head.push_str("X-Paragon-Use-Raw-Response: 1\r\n");
    }
    head.push_str("\r\n");

    // Resets VmHWM to the current RSS (Linux ≥ 4.0); without it, the
    // sampler's maximum stands in.
    let exact_peak = std::fs::write(watched.join("clear_refs"), "5").is_ok();
    let rss_before_kib = status_kib(watched, "VmRSS").context("reading the process status")?;
    let sampled = Arc::new(AtomicU64::new(rss_before_kib));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (sampled, done) = (Arc::clone(&sampled), Arc::clone(&done));
        let watched = watched.to_owned();
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Some(rss) = status_kib(&watched, "VmRSS") {
                    sampled.fetch_max(rss, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };

    let started = Instant::now();
    let socket = TcpStream::connect(host).with_context(|| format!("connecting to {host}"))?;
    socket.set_nodelay(true)?;
    let mut writer = socket.try_clone()?;
    let sender = std::thread::spawn(move || -> std::io::Result<()> {
        let chunk = patchbay_test_support::noise(CHUNK as usize);
        writer.write_all(head.as_bytes())?;
        let mut left = bytes;
        while left > 0 {
            let len = left.min(CHUNK);
            write!(writer, "{len:x}\r\n")?;
            writer.write_all(&chunk[..len as usize])?;
            writer.write_all(b"\r\n")?;
            left -= len;
        }
        writer.write_all(b"0\r\n\r\n")?;
        writer.flush()
    });
    let received = read_response(BufReader::with_capacity(64 * 1024, socket));
    let sent = sender
        .join()
        .map_err(|_| anyhow::anyhow!("the sender panicked"))?;
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let (status, echoed) = received.with_context(|| format!("POST {url}"))?;
    sent.with_context(|| format!("POST {url}: sending"))?;
    ensure!(status == 200, "POST {url} answered {status}");
    ensure!(
        echoed == bytes,
        "POST {url}: {echoed} bytes echoed of {bytes} sent"
    );
    let hwm = if exact_peak {
        status_kib(watched, "VmHWM")
    } else {
        None
    };
    let peak_kib = sampled.load(Ordering::Relaxed).max(hwm.unwrap_or_default());
    Ok(Streamed {
        bytes,
        elapsed,
        rss_before_kib,
        peak_kib,
        exact_peak: hwm.is_some(),
    })
}

/// The status and the body's length of an HTTP/1.1 response, its body read
/// and discarded (chunked, with a length, or up to the end of the connection).
fn read_response(mut reader: impl BufRead) -> std::io::Result<(u16, u64)> {
    let invalid =
        |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid("no status line"))?;
    let (mut chunked, mut length) = (false, None);
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(invalid("the headers ended early"));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            } else if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<u64>().ok();
            }
        }
    }
    let mut sink = std::io::sink();
    if !chunked {
        let read = match length {
            Some(length) => std::io::copy(&mut (&mut reader).take(length), &mut sink)?,
            None => std::io::copy(&mut reader, &mut sink)?,
        };
        return Ok((status, read));
    }
    let mut total = 0;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let size = line.trim_end().split(';').next().unwrap_or_default();
        let size = u64::from_str_radix(size.trim(), 16).map_err(|_| invalid("bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
                    return Ok((status, total));
                }
            }
        }
        let read = std::io::copy(&mut (&mut reader).take(size), &mut sink)?;
        if read != size {
            return Err(invalid("the body ended early"));
        }
        total += size;
        line.clear();
        reader.read_line(&mut line)?;
    }
}

/// A field of a process's `status` in `/proc`, in KiB.
fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

fn report(
    args: &Args,
    generator: &Generator,
    cpus: usize,
    load: Option<&str>,
    duration: Duration,
    warmup: Duration,
    m: &Measured,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nProxy API: GET /sdk/proxy/echo/echo/x vs the upstream directly{} — `patchbay serve` on sqlite, \
         API-key account sent as `Authorization: Bearer`; patchbay logs at its default level, pb-warn with RUST_LOG=warn",
        if m.nginx { " and vs nginx" } else { "" }
    );
    let _ = writeln!(
        out,
        "{cpus} CPUs{}; {duration:?} per path and concurrency ({} alternating rounds) after {warmup:?} warm-up; \
         load from {}; one keep-alive HTTP/1.1 connection per client{}\n",
        load.map(|l| format!(", load {l} before the run"))
            .unwrap_or_default(),
        args.rounds,
        match generator {
            Generator::Wrk(_) =>
                "wrk (one thread, its own process; percentiles are the median of the rounds')",
            Generator::Builtin => "the builtin closed-loop generator (in the benchmark's process)",
        },
        if m.nginx {
            format!("; nginx worker_processes {}", args.nginx_workers)
        } else {
            "; nginx skipped (not installed or --no-nginx)".to_owned()
        }
    );
    let _ = writeln!(out, "{}", sample_header("path"));
    for point in &m.points {
        for (name, summary) in &point.summaries {
            let _ = writeln!(out, "{}", summary.row(point.concurrency, name));
        }
        let Some(direct) = point.get("direct") else {
            continue;
        };
        let added =
            |s: &Summary, pick: fn(&Summary) -> Duration| micros(pick(s)) - micros(pick(direct));
        for name in ["patchbay", "pb-warn"] {
            let Some(patchbay) = point.get(name) else {
                continue;
            };
            let added_p50 = added(patchbay, |s| s.p50);
            let mut line = format!(
                "       {name} adds {added_p50:.0} µs at p50, {:.0} µs at p99 over direct",
                added(patchbay, |s| s.p99),
            );
            if point.concurrency == 1 {
                let _ = write!(
                    line,
                    " (target p50 ≤ {ADDED_P50_TARGET_MICROS:.0} µs: {})",
                    verdict(added_p50 <= ADDED_P50_TARGET_MICROS)
                );
            }
            if let Some(nginx) = point.get("nginx") {
                let ratio = patchbay.throughput / nginx.throughput.max(f64::MIN_POSITIVE);
                let _ = write!(
                    line,
                    "; throughput {name}/nginx {} (target ≥ {THROUGHPUT_TARGET}×: {})",
                    format_ratio(patchbay.throughput, nginx.throughput),
                    verdict(ratio >= THROUGHPUT_TARGET),
                );
            }
            let _ = writeln!(out, "{line}");
        }
        if let Some(bare) = point.get("bare") {
            let _ = writeln!(
                out,
                "       bare axum+reqwest pass-through adds {:.0} µs at p50; throughput bare/nginx {}",
                added(bare, |s| s.p50),
                point
                    .get("nginx")
                    .map_or("-".to_owned(), |nginx| format_ratio(
                        bare.throughput,
                        nginx.throughput
                    )),
            );
        }
        if let Some(nginx) = point.get("nginx") {
            let _ = writeln!(
                out,
                "       nginx adds {:.0} µs at p50, {:.0} µs at p99 over direct",
                added(nginx, |s| s.p50),
                added(nginx, |s| s.p99),
            );
        }
        let _ = writeln!(out);
    }
    if !m.streams.is_empty() {
        let _ = writeln!(
            out,
            "POST of a generated chunked body, echoed back and discarded; resident memory of the \
             `patchbay serve` process (patchbay), of this process (direct: client and upstream)"
        );
        for (name, s) in &m.streams {
            let mib_per_s = s.bytes as f64 / MIB as f64 / s.elapsed.as_secs_f64();
            let _ = writeln!(
                out,
                "       {name:<9} {} MiB in {:.2} s ({mib_per_s:.0} MiB/s each way): \
                 RSS {:.1} → {:.1} MiB, +{:.1} MiB{}",
                s.bytes / MIB,
                s.elapsed.as_secs_f64(),
                s.rss_before_kib as f64 / 1024.0,
                s.peak_kib as f64 / 1024.0,
                s.added_mib(),
                if s.exact_peak {
                    ""
                } else {
                    " (sampled every 5 ms)"
                },
            );
        }
        if let Some((_, s)) = m.streams.iter().find(|(n, _)| *n == "patchbay") {
            let peak_mib = s.peak_kib as f64 / 1024.0;
            let _ = writeln!(
                out,
                "       peak RSS of patchbay serve while streaming: {peak_mib:.1} MiB (target < 64 MB: {})",
                verdict(peak_mib * MIB as f64 / 1e6 < 64.0),
            );
        }
    }
    out
}
