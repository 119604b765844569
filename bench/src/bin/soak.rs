//! Soak: a `patchbay serve` process holding many event streams and slow
//! clients at once, and what that does to an ordinary request and to the
//! server's memory.
//!
//! The real binary (built beside this benchmark) runs with its default
//! logging and connection limits. `--streams` event streams are opened with
//! user tokens, spread over users so that none passes the per-user cap, and
//! `--slow` clients drip a request head or a body a byte at a time (the server
//! cuts them off by its deadlines; each reconnects at once). Both are held for
//! `--hold` seconds. `GET /sdk/me` is measured by one closed-loop client before
//! and during the soak, and the server's `VmRSS` is sampled every second.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use clap::Parser;
use patchbay_bench::serve::{Serve, status_kib};
use patchbay_bench::{Sample, Target, Workers, format_latency, format_ratio, seconds};
use patchbay_test_support::{TEST_CONFIG, TestProject};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

#[derive(Debug, Parser)]
#[command(about = "Event streams and slow clients held open against `patchbay serve`")]
struct Args {
    /// Event streams held open.
    #[arg(long, default_value_t = 1000)]
    streams: usize,
    /// Streams per user (the server's default cap is 16).
    #[arg(long, default_value_t = 10)]
    streams_per_user: usize,
    /// Slow clients held open.
    #[arg(long, default_value_t = 1000)]
    slow: usize,
    /// How long the soak lasts, in seconds.
    #[arg(long, default_value_t = 60.0)]
    hold: f64,
    /// How long `GET /sdk/me` is measured before the soak, in seconds.
    #[arg(long, default_value_t = 10.0)]
    baseline: f64,
}

fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let hold = seconds(args.hold, "--hold")?;
    let baseline = seconds(args.baseline, "--baseline")?;
    let needed = (args.streams + args.slow) as u64 + 256;
    let limit = open_file_limit().context("reading /proc/self/limits")?;
    ensure!(
        limit >= needed,
        "this process may open {limit} files but the soak needs about {needed}: \
         raise it with `ulimit -n` (bench/run raises it to the hard limit)"
    );
    let runtime = patchbay_bench::runtime("client", std::thread::available_parallelism()?.get())?;
    runtime.block_on(run(&args, hold, baseline))
}

async fn run(args: &Args, hold: Duration, baseline: Duration) -> anyhow::Result<ExitCode> {
    let serve = Serve::start(None)?;
    let project = TestProject::at(&serve.base_url, TEST_CONFIG).await;
    let me = Target {
        method: reqwest::Method::GET,
        url: format!("{}/projects/{}/sdk/me", serve.base_url, project.id),
        headers: bearer(&project.signer.mint("bench-me")?)?,
    };
    let workers = Workers::new(1)?;
    workers.run(&me, Duration::from_secs(1)).await;
    let rss_start = status_kib(&serve.proc_dir(), "VmRSS").context("the server's RSS")?;
    let before = workers.run(&me, baseline).await;

    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let addr = serve.base_url.trim_start_matches("http://").to_owned();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..args.streams {
        let user = format!("soak-user-{}", i / args.streams_per_user.max(1));
        let request = format!(
            "GET /projects/{}/sdk/events/stream HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nAccept: text/event-stream\r\n\r\n",
            project.id,
            project.signer.mint(&user)?
        );
        tasks.spawn(hold_stream(
            addr.clone(),
            request,
            stop.clone(),
            counts.clone(),
        ));
    }
    for i in 0..args.slow {
        let token = project.signer.mint(&format!("soak-slow-{i}"))?;
        let request = slow_request(i, &addr, project.id, &token);
        tasks.spawn(drip(addr.clone(), request, stop.clone(), counts.clone()));
    }

    let started = Instant::now();
    let mut rss = vec![(0u64, rss_start)];
    let sampler = {
        let proc_dir = serve.proc_dir();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if let Some(kib) = status_kib(&proc_dir, "VmRSS") {
                    samples.push((started.elapsed().as_secs(), kib));
                }
            }
            samples
        })
    };
    // Let the streams and slow clients connect before measuring.
    tokio::time::sleep(Duration::from_secs(5).min(hold / 4)).await;
    let during = workers
        .run(&me, hold.saturating_sub(started.elapsed()))
        .await;
    stop.store(true, Ordering::Relaxed);
    rss.extend(sampler.await?);
    while tasks.join_next().await.is_some() {}
    let rss_end = status_kib(&serve.proc_dir(), "VmRSS").context("the server's RSS")?;

    report(args, &before, &during, &rss, rss_start, rss_end, &counts);
    Ok(patchbay_bench::exit_code(
        before.failures() + during.failures() + counts.streams_failed.load(Ordering::Relaxed),
    ))
}

fn bearer(token: &str) -> anyhow::Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}"))?,
    );
    Ok(headers)
}

#[derive(Debug, Default)]
struct Counts {
    streams_open: AtomicU64,
    streams_failed: AtomicU64,
    stream_bytes: AtomicU64,
    slow_connections: AtomicU64,
    slow_cut_off: AtomicU64,
}

/// Opens an event stream and reads it until the soak ends; a stream that
/// does not answer `200` with `text/event-stream`, or ends early, failed.
async fn hold_stream(addr: String, request: String, stop: Arc<AtomicBool>, counts: Arc<Counts>) {
    let opened = async {
        let mut socket = TcpStream::connect(&addr).await?;
        socket.write_all(request.as_bytes()).await?;
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await?;
            anyhow::ensure!(n > 0, "closed before the response head");
            head.extend_from_slice(&buf[..n]);
        }
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        anyhow::ensure!(
            head.starts_with("http/1.1 200") && head.contains("text/event-stream"),
            "{}",
            head.lines().next().unwrap_or_default()
        );
        anyhow::Ok(socket)
    };
    let Ok(mut socket) = opened.await else {
        counts.streams_failed.fetch_add(1, Ordering::Relaxed);
        return;
    };
    counts.streams_open.fetch_add(1, Ordering::Relaxed);
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        match tokio::time::timeout(Duration::from_millis(500), socket.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => {
                counts.streams_failed.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(Ok(n)) => {
                counts.stream_bytes.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(_) => {}
        }
    }
}

/// Half the slow clients drip a request head, the other half the JSON body
/// of an authenticated install request after its whole head (so that the
/// server reads the body rather than answering from the head alone).
fn slow_request(i: usize, addr: &str, project_id: uuid::Uuid, token: &str) -> (Vec<u8>, usize) {
    if i.is_multiple_of(2) {
        let head = format!(
            "GET /projects/{project_id}/sdk/me HTTP/1.1\r\nHost: {addr}\r\nX-Padding: {}\r\n\r\n",
            "x".repeat(4096)
        );
        (head.into_bytes(), 0)
    } else {
        let head = format!(
            "POST /projects/{project_id}/sdk/integrations/keys/install HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        );
        let whole_head = head.len();
        let mut bytes = head.into_bytes();
        bytes.extend(std::iter::repeat_n(b' ', 100_000));
        (bytes, whole_head)
    }
}

/// Sends `request` a byte every 500 ms (after its first `sent_at_once`
/// bytes) until the soak ends, reconnecting whenever the server hangs up.
async fn drip(
    addr: String,
    (request, sent_at_once): (Vec<u8>, usize),
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut socket) = TcpStream::connect(&addr).await else {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        counts.slow_connections.fetch_add(1, Ordering::Relaxed);
        if socket.write_all(&request[..sent_at_once]).await.is_err() {
            counts.slow_cut_off.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        for byte in &request[sent_at_once..] {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            if socket.write_all(std::slice::from_ref(byte)).await.is_err() {
                counts.slow_cut_off.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
}

fn report(
    args: &Args,
    before: &Sample,
    during: &Sample,
    rss: &[(u64, u64)],
    rss_start: u64,
    rss_end: u64,
    counts: &Counts,
) {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "soak — {} event streams ({} per user) and {} slow clients held {:.0} s against `patchbay serve` (default logging and limits)",
        args.streams, args.streams_per_user, args.slow, args.hold
    );
    println!(
        "load {} before the run; GET /sdk/me from one keep-alive client, {:.0} s before and during",
        load.split_whitespace().next().unwrap_or("?"),
        args.baseline
    );
    println!();
    println!("            p50       p90       p99      req/s  failed");
    for (name, sample) in [("before", before), ("during", during)] {
        println!(
            "  {name}  {:>9} {:>9} {:>9} {:>10.0} {:>7}",
            format_latency(sample.percentile(0.5)),
            format_latency(sample.percentile(0.9)),
            format_latency(sample.percentile(0.99)),
            sample.throughput(),
            sample.failures()
        );
    }
    println!(
        "  ratio   {:>9} {:>9} {:>9} {:>10}   during/before",
        format_ratio(
            during.percentile(0.5).as_secs_f64(),
            before.percentile(0.5).as_secs_f64()
        ),
        format_ratio(
            during.percentile(0.9).as_secs_f64(),
            before.percentile(0.9).as_secs_f64()
        ),
        format_ratio(
            during.percentile(0.99).as_secs_f64(),
            before.percentile(0.99).as_secs_f64()
        ),
        format_ratio(during.throughput(), before.throughput()),
    );
    println!();
    println!(
        "  streams: {} opened, {} failed or ended early, {} bytes received",
        counts.streams_open.load(Ordering::Relaxed),
        counts.streams_failed.load(Ordering::Relaxed),
        counts.stream_bytes.load(Ordering::Relaxed)
    );
    println!(
        "  slow clients: {} connections, {} cut off by the server",
        counts.slow_connections.load(Ordering::Relaxed),
        counts.slow_cut_off.load(Ordering::Relaxed)
    );
    let peak = rss.iter().map(|(_, kib)| *kib).max().unwrap_or(rss_end);
    println!(
        "  RSS of patchbay serve: {:.1} MiB at the start, {:.1} MiB peak, {:.1} MiB at the end (end/start {})",
        mib(rss_start),
        mib(peak),
        mib(rss_end),
        format_ratio(rss_end as f64, rss_start as f64)
    );
    let series: Vec<String> = rss
        .iter()
        .step_by(10)
        .map(|(at, kib)| format!("{at}s {:.1}", mib(*kib)))
        .collect();
    println!("  RSS every 10 s (MiB): {}", series.join(", "));
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The soft limit on open files of this process (inherited by the server).
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}
