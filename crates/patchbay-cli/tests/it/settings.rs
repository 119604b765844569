//! `patchbay --version`, `serve --help`, and where every `serve` setting
//! comes from: flags, then environment, then the `--config` file, then
//! defaults, as `serve --print-config` reports them.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::binary::{MASTER_KEY, Running, patchbay, run};

/// `patchbay` with no `PATCHBAY_*` variable of the test's own environment,
/// so only what a test sets counts.
fn clean(cwd: &Path) -> Command {
    let mut command = patchbay(cwd);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PATCHBAY_") {
            command.env_remove(name);
        }
    }
    command
}

fn stdout_of(command: &mut Command) -> String {
    let output = run(command);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// What `command` (a `serve` command line) prints with `--print-config`, as
/// `key → value` (TOML values as written), and its comment lines.
fn print_config(command: &mut Command) -> (BTreeMap<String, String>, String) {
    let text = stdout_of(command.arg("--print-config"));
    let mut settings = BTreeMap::new();
    let mut comments = String::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix('#') {
            comments.push_str(comment);
            comments.push('\n');
        } else {
            let (key, value) = line.split_once(" = ").unwrap();
            settings.insert(key.to_owned(), value.to_owned());
        }
    }
    (settings, comments)
}

/// The commit `build.rs` should have found for this checkout.
fn expected_commit() -> String {
    if let Some(commit) = option_env!("PATCHBAY_BUILD_COMMIT").filter(|c| !c.trim().is_empty()) {
        return commit.trim().to_owned();
    }
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let git = |args: &[&str]| {
        let output = Command::new("git")
            .args(args)
            .current_dir(manifest_dir)
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    let workspace = manifest_dir.join("../..").canonicalize().unwrap();
    match git(&["rev-parse", "--show-toplevel"]) {
        Some(top) if Path::new(&top).canonicalize().ok() == Some(workspace) => {
            git(&["rev-parse", "--short=12", "HEAD"]).unwrap()
        }
        _ => "unknown".to_owned(),
    }
}

#[test]
fn version_names_the_release_and_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let version = stdout_of(clean(dir.path()).arg("--version"));
    assert_eq!(
        version.trim(),
        format!(
            "patchbay {} (commit {})",
            env!("CARGO_PKG_VERSION"),
            expected_commit()
        )
    );
}

#[test]
fn serve_help_lists_the_secrets_environment() {
    let dir = tempfile::tempdir().unwrap();
    let help = stdout_of(clean(dir.path()).args(["serve", "--help"]));
    for name in ["PATCHBAY_MASTER_KEY", "PATCHBAY_ADMIN_TOKEN"] {
        let line = help
            .lines()
            .find(|line| line.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("{name} is not listed:\n{help}"));
        assert!(
            line.len() > name.len() + 10,
            "{name} is not explained: {line}"
        );
    }
    assert!(help.contains("--print-config"), "{help}");
}

/// A file that sets every setting to something other than its default.
const EVERY_SETTING: &str = r#"
database_url = "sqlite://./elsewhere/patchbay.db"
listen = "127.0.0.1:7003"
public_url = "https://patchbay.example/"
data_dir = "./data"
master_key_file = "./keys/master.key"
log_format = "json"
demo = true
sandbox_token_ttl = 60
refresh_interval = 7
credential_check_interval = 600
provider_timeout = 12
job_lease = 45
worker_concurrency = 4
allow_private_network = true
shutdown_grace = 20
webhook_max_retry_delay = 120
webhook_retry_window = 3600
header_read_timeout = 4
body_idle_timeout = 9
max_connections = 500
max_streams_per_user = 3
"#;

#[test]
fn the_configuration_file_sets_every_serve_setting() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("patchbay.toml");
    std::fs::write(&file, EVERY_SETTING).unwrap();
    let config = file.to_str().unwrap();

    let (settings, _) = print_config(clean(dir.path()).args(["serve", "--config", config]));
    let mut expected: BTreeMap<String, String> = EVERY_SETTING
        .lines()
        .filter_map(|line| line.split_once(" = "))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
    // The one value normalized on the way in.
    expected.insert("public_url".into(), "\"https://patchbay.example\"".into());
    assert_eq!(settings, expected);

    // What --print-config prints is a configuration file of those settings.
    let printed =
        stdout_of(clean(dir.path()).args(["serve", "--config", config, "--print-config"]));
    let copy = dir.path().join("printed.toml");
    std::fs::write(&copy, printed).unwrap();
    let copy = copy.to_str().unwrap();
    let (again, _) = print_config(clean(dir.path()).args(["serve", "--config", copy]));
    assert_eq!(again, expected);

    // Without a file, the defaults.
    let (defaults, comments) = print_config(clean(dir.path()).arg("serve"));
    assert_eq!(defaults["listen"], "\"127.0.0.1:8080\"");
    assert_eq!(
        defaults["master_key_file"],
        "\"./patchbay-data/master.key\""
    );
    assert_eq!(defaults["worker_concurrency"], "16");
    assert_eq!(defaults["allow_private_network"], "false");
    assert!(!defaults.contains_key("public_url"));
    assert!(comments.contains("public_url is unset"), "{comments}");
}

#[test]
fn flags_beat_the_environment_which_beats_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("patchbay.toml");
    std::fs::write(&file, EVERY_SETTING).unwrap();
    let config = file.to_str().unwrap();
    let serve = || {
        let mut command = clean(dir.path());
        command.args(["serve", "--config", config]);
        command
    };

    let (from_env, _) = print_config(
        serve()
            .env("PATCHBAY_LISTEN", "127.0.0.1:7002")
            .env("PATCHBAY_ALLOW_PRIVATE_NETWORK", "false")
            .env("PATCHBAY_WORKER_CONCURRENCY", "2")
            .env("PATCHBAY_LOG_FORMAT", "text"),
    );
    assert_eq!(from_env["listen"], "\"127.0.0.1:7002\"");
    assert_eq!(from_env["allow_private_network"], "false");
    assert_eq!(from_env["worker_concurrency"], "2");
    assert_eq!(from_env["log_format"], "\"text\"");
    assert_eq!(from_env["job_lease"], "45", "the file still sets the rest");

    let (from_flags, _) = print_config(
        serve()
            .env("PATCHBAY_LISTEN", "127.0.0.1:7002")
            .env("PATCHBAY_ALLOW_PRIVATE_NETWORK", "true")
            .args([
                "--listen",
                "127.0.0.1:7001",
                "--allow-private-network=false",
                "--demo=false",
                "--log-format",
                "text",
            ]),
    );
    assert_eq!(from_flags["listen"], "\"127.0.0.1:7001\"");
    assert_eq!(from_flags["allow_private_network"], "false");
    assert_eq!(from_flags["demo"], "false");
    assert_eq!(from_flags["log_format"], "\"text\"");

    // A bare boolean flag still means yes.
    let (bare, _) =
        print_config(clean(dir.path()).args(["serve", "--allow-private-network", "--demo"]));
    assert_eq!(
        (
            bare["allow_private_network"].as_str(),
            bare["demo"].as_str()
        ),
        ("true", "true")
    );
}

#[test]
fn printed_settings_carry_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let (settings, comments) = print_config(
        clean(dir.path())
            .arg("serve")
            .env("PATCHBAY_MASTER_KEY", MASTER_KEY)
            .env("PATCHBAY_ADMIN_TOKEN", "admin-token-value")
            .env(
                "PATCHBAY_DATABASE_URL",
                "postgres://patchbay:db-password@db.internal:5432/patchbay?sslmode=require",
            ),
    );
    let everything = format!("{settings:?}{comments}");
    for secret in [MASTER_KEY, "admin-token-value", "db-password"] {
        assert!(
            !everything.contains(secret),
            "{secret} printed: {everything}"
        );
    }
    assert_eq!(
        settings["database_url"],
        "\"postgres://patchbay:********@db.internal:5432/patchbay?sslmode=require\""
    );
    assert!(
        comments.contains("PATCHBAY_MASTER_KEY is set")
            && comments.contains("PATCHBAY_ADMIN_TOKEN is set"),
        "{comments}"
    );
}

/// The file's `log_format` is in force from the first log line, although
/// the file is read after the command line.
#[tokio::test]
async fn the_file_chooses_the_log_format() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("patchbay.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\nlog_format = \"json\"\n").unwrap();
    let mut server = Running::start(
        clean(dir.path())
            .args(["serve", "--config", file.to_str().unwrap()])
            .env("PATCHBAY_MASTER_KEY", MASTER_KEY),
    )
    .unwrap();
    // A request first, so there is a request line to read back in the log.
    let ready = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    server.signal("TERM");
    assert!(server.wait(Duration::from_secs(10)).success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut server.child.stderr.take().unwrap(), &mut stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines.len() >= 3, "{stderr}");
    for line in lines {
        let parsed: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|err| panic!("not a JSON log line ({err}): {line}"));
        assert!(parsed["level"].is_string(), "{line}");
    }
}
