//! wrk, the external load generator: its own process, one thread, one
//! keep-alive connection per client, as a deployment's clients are outside
//! the server. The closed-loop generator in this crate shares the
//! benchmark's process and is slower than the servers it measures; wrk
//! saturates them with less CPU, so the ratios it gives are the ones a
//! deployment sees.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};

use crate::{Summary, Target};

/// The installed `wrk` binary.
#[derive(Debug)]
pub struct Wrk {
    binary: PathBuf,
}

/// One wrk run: its latency percentiles and how many requests completed.
#[derive(Debug, Clone, Copy)]
pub struct WrkRun {
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub requests: u64,
    pub elapsed: Duration,
    /// Responses that were not 2xx or 3xx, and socket errors.
    pub failures: u64,
}

impl Wrk {
    /// `wrk` on the `PATH` or where Debian installs it.
    pub fn find() -> Option<Self> {
        std::env::var_os("PATH")
            .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .chain([PathBuf::from("/usr/bin")])
            .map(|dir| dir.join("wrk"))
            .find(|candidate| candidate.is_file())
            .map(|binary| Self { binary })
    }

    /// Loads `target` from one thread over `connections` connections for
    /// `seconds` (wrk counts whole seconds).
    pub fn run(&self, target: &Target, connections: usize, seconds: u64) -> anyhow::Result<WrkRun> {
        ensure!(
            target.method == reqwest::Method::GET,
            "wrk sends GET requests only"
        );
        let mut command = Command::new(&self.binary);
        command
            .args(["--threads", "1", "--latency", "--timeout", "10s"])
            .arg(format!("--connections={connections}"))
            .arg(format!("--duration={}s", seconds.max(1)));
        for (name, value) in &target.headers {
            let value = value.to_str().context("a header wrk can send")?;
            command.arg("--header").arg(format!("{name}: {value}"));
        }
        let output = command
            .arg(&target.url)
            .output()
            .with_context(|| format!("running {}", self.binary.display()))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        ensure!(
            output.status.success(),
            "wrk failed ({}): {stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        parse(&stdout).with_context(|| format!("reading wrk's report:\n{stdout}"))
    }
}

/// Reads wrk's `--latency` report.
fn parse(report: &str) -> anyhow::Result<WrkRun> {
    let mut percentiles = [None; 3];
    let (mut requests, mut elapsed, mut failures) = (None, None, 0);
    for line in report.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some(label @ ("50%" | "90%" | "99%")), Some(value)) => {
                let slot = match label {
                    "50%" => 0,
                    "90%" => 1,
                    _ => 2,
                };
                percentiles[slot] = Some(duration(value)?);
            }
            (Some(count), Some("requests")) => {
                // `123456 requests in 2.00s, 17.78MB read`
                requests = Some(count.parse::<u64>()?);
                let took = line
                    .split(" in ")
                    .nth(1)
                    .and_then(|rest| rest.split(',').next())
                    .context("the run's duration")?;
                elapsed = Some(duration(took.trim())?);
            }
            (Some("Non-2xx"), _) => {
                failures += last_number(line)?;
            }
            (Some("Socket"), Some("errors:")) => {
                // `Socket errors: connect 0, read 0, write 0, timeout 0`
                for part in line.trim_start_matches("Socket errors:").split(',') {
                    failures += last_number(part)?;
                }
            }
            _ => {}
        }
    }
    let [Some(p50), Some(p90), Some(p99)] = percentiles else {
        bail!("no latency distribution");
    };
    Ok(WrkRun {
        p50,
        p90,
        p99,
        requests: requests.context("no request count")?,
        elapsed: elapsed.context("no duration")?,
        failures,
    })
}

fn last_number(text: &str) -> anyhow::Result<u64> {
    let word = text.split_whitespace().last().context("a count")?;
    Ok(word.parse()?)
}

/// wrk's durations: `85.00us`, `1.41ms`, `2.00s`, `1.00m`.
fn duration(text: &str) -> anyhow::Result<Duration> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .with_context(|| format!("a unit in {text:?}"))?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse()?;
    let seconds = match unit {
        "us" => number / 1e6,
        "ms" => number / 1e3,
        "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => bail!("unknown unit in {text:?}"),
    };
    Ok(Duration::from_secs_f64(seconds))
}

/// Several runs of one path, alternated with the other paths' runs.
#[derive(Debug, Default)]
pub struct WrkSample {
    runs: Vec<WrkRun>,
}

impl WrkSample {
    pub fn push(&mut self, run: WrkRun) {
        self.runs.push(run);
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Each percentile as the median of the runs' own (wrk reports no
    /// latencies to merge): robust to one round disturbed by other work;
    /// the throughput over all the runs.
    pub fn summary(&self) -> Summary {
        let median = |pick: fn(&WrkRun) -> Duration| {
            let mut values: Vec<_> = self.runs.iter().map(pick).collect();
            values.sort_unstable();
            values.get(values.len() / 2).copied().unwrap_or_default()
        };
        let seconds: f64 = self.runs.iter().map(|r| r.elapsed.as_secs_f64()).sum();
        let requests: u64 = self.runs.iter().map(|r| r.requests).sum();
        Summary {
            p50: median(|r| r.p50),
            p90: median(|r| r.p90),
            p99: median(|r| r.p99),
            throughput: if seconds == 0.0 {
                0.0
            } else {
                requests as f64 / seconds
            },
            failures: self.runs.iter().map(|r| r.failures).sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_latency_report() {
        let report = "Running 2s test @ http://127.0.0.1:1/x
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.50ms  300.00us   9.00ms   90.00%
    Req/Sec    21.00k     1.00k   22.00k    80.00%
  Latency Distribution
     50%  850.00us
     75%    1.70ms
     90%    2.02ms
     99%    1.10s
  42000 requests in 2.00s, 6.01MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec:  21000.00
Transfer/sec:      3.01MB
";
        let run = parse(report).unwrap();
        assert_eq!(run.p50, Duration::from_micros(850));
        assert_eq!(run.p90, Duration::from_micros(2020));
        assert_eq!(run.p99, Duration::from_millis(1100));
        assert_eq!(run.requests, 42_000);
        assert_eq!(run.elapsed, Duration::from_secs(2));
        assert_eq!(run.failures, 8);
    }

    #[test]
    fn a_report_without_percentiles_is_an_error() {
        assert!(parse("42000 requests in 2.00s, 6.01MB read").is_err());
    }
}
