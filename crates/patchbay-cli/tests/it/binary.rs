//! Runs the real `patchbay` binary.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub fn patchbay(cwd: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_patchbay"));
    command
        .current_dir(cwd)
        .env_remove("PATCHBAY_DATABASE_URL")
        .env_remove("PATCHBAY_LISTEN")
        .env_remove("PATCHBAY_PUBLIC_URL")
        .env_remove("PATCHBAY_DATA_DIR")
        .env_remove("PATCHBAY_CONFIG")
        .env_remove("PATCHBAY_ADMIN_TOKEN")
        .env_remove("PATCHBAY_MASTER_KEY")
        .env("RUST_LOG", "info");
    command
}

/// `patchbay serve` on a free port of 127.0.0.1, on `database_url`, with
/// [`MASTER_KEY`].
pub fn serve_command(cwd: &Path, database_url: &str) -> Command {
    let mut command = patchbay(cwd);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url"])
        .arg(database_url)
        .env("PATCHBAY_MASTER_KEY", MASTER_KEY);
    command
}

pub fn run(command: &mut Command) -> Output {
    command.output().unwrap()
}

/// A `patchbay serve` process, killed if the test ends without stopping it.
#[derive(Debug)]
pub struct Running {
    pub child: Child,
    pub base_url: String,
    /// The rest of standard output, after the "listening on" line.
    pub stdout: BufReader<ChildStdout>,
}

impl Running {
    /// Starts `serve` and waits for its "listening on" line.
    pub fn start(command: &mut Command) -> Result<Self, String> {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        match line.trim().strip_prefix("listening on ") {
            Some(url) => Ok(Self {
                base_url: url.to_owned(),
                child,
                stdout,
            }),
            None => {
                let mut stderr = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut stderr)
                    .unwrap();
                let status = child.wait().unwrap();
                Err(format!("{status}: {stderr}"))
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Stops the server with `SIGTERM`, checks that it exits cleanly, and
    /// returns what it logged.
    pub fn stop(mut self) -> String {
        self.signal("TERM");
        assert!(self.wait(Duration::from_secs(10)).success());
        let mut log = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut log)
            .unwrap();
        log
    }

    /// Waits for the process to exit by itself.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "patchbay did not exit within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The JSON body of the answer to `request`.
pub async fn json_of(request: reqwest::RequestBuilder) -> serde_json::Value {
    request.send().await.unwrap().json().await.unwrap()
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
