//! What the benchmarks that run the real `patchbay serve` binary share.

use std::io::BufRead as _;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context as _, bail, ensure};
use patchbay_test_support::ADMIN_TOKEN;

/// `patchbay serve` as shipped (the binary beside the benchmark's own), on
/// SQLite in a temporary directory, listening on a free port; killed when
/// dropped.
#[derive(Debug)]
pub struct Serve {
    child: Child,
    pub base_url: String,
    // Removed after the child is gone.
    _dir: TempDir,
}

impl Serve {
    /// Starts it and waits until it listens. `rust_log` sets its `RUST_LOG`;
    /// `None` keeps the binary's default logging.
    pub fn start(rust_log: Option<&str>) -> anyhow::Result<Self> {
        let binary = std::env::current_exe()?.with_file_name("patchbay");
        ensure!(
            binary.exists(),
            "{} is missing: build it with `cargo build --release -p patchbay-cli` (bench/run does)",
            binary.display()
        );
        let dir = TempDir::new("patchbay-bench-serve")?;
        let mut command = Command::new(&binary);
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .arg("--database-url")
            .arg(format!(
                "sqlite://{}",
                dir.path().join("patchbay.db").display()
            ))
            .env("PATCHBAY_ADMIN_TOKEN", ADMIN_TOKEN)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(filter) = rust_log {
            command.env("RUST_LOG", filter);
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("the child's stdout")?;
        let base_url = listening_address(stdout)?;
        Ok(Self {
            child,
            base_url,
            _dir: dir,
        })
    }

    /// Its `/proc/<pid>` directory.
    pub fn proc_dir(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}", self.child.id()))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory under the system's temporary directory, removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> std::io::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&path)?;
        Ok(Self(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The address `patchbay serve` prints once it listens; the rest of its
/// output is drained so that it never blocks on a full pipe.
pub fn listening_address(stdout: std::process::ChildStdout) -> anyhow::Result<String> {
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        if let Some(url) = line?.strip_prefix("listening on ") {
            let url = url.trim().to_owned();
            std::thread::spawn(move || lines.for_each(drop));
            return Ok(url);
        }
    }
    bail!("patchbay serve exited before it listened")
}

/// A `kB` field of a process's `/proc/<pid>/status` (`VmRSS`, `VmHWM`).
pub fn status_kib(proc_dir: &Path, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(proc_dir.join("status")).ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}
