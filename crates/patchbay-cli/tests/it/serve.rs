use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use patchbay_test_support::{TestDb, backend_tests};
use serde_json::Value;

use crate::binary::{MASTER_KEY, Running, patchbay, run, serve_command};

fn serve(db: &TestDb, cwd: &std::path::Path) -> std::process::Command {
    let mut command = serve_command(cwd, db.url());
    command.env("PATCHBAY_ADMIN_TOKEN", "admin-secret");
    command
}

async fn get_json(url: &str, bearer: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn serves_and_is_ready_then_stops_cleanly(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Running::start(&mut serve(&db, dir.path())).unwrap();
    let (status, body) = get_json(&server.url("/readyz"), None).await;
    assert_eq!(status, 200);
    assert_eq!(body["backend"], db.backend().as_str());
    server.signal("TERM");
    assert!(server.wait(Duration::from_secs(10)).success());
}

async fn a_project_created_on_the_command_line_works_over_http(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let output = run(patchbay(dir.path()).args([
        "project",
        "create",
        "--name",
        "Acme",
        "--json",
        "--database-url",
        db.url(),
    ]));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let created: Value = serde_json::from_slice(&output.stdout).unwrap();
    let (id, key) = (
        created["projectId"].as_str().unwrap(),
        created["secretKey"].as_str().unwrap(),
    );

    let server = Running::start(&mut serve(&db, dir.path())).unwrap();
    let (status, project) =
        get_json(&server.url(&format!("/api/v1/projects/{id}")), Some(key)).await;
    assert_eq!(status, 200);
    assert_eq!(project["name"], "Acme");

    let human = run(patchbay(dir.path()).args([
        "project",
        "create",
        "--name",
        "Two",
        "--database-url",
        db.url(),
    ]));
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(
        text.contains("project id: ") && text.contains("secret key: pb_sk_"),
        "{text}"
    );
}

async fn a_wrong_master_key_stops_the_server_at_start_up(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Running::start(&mut serve(&db, dir.path())).unwrap();
    first.signal("TERM");
    first.wait(Duration::from_secs(10));

    let other_key = "HyAdHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=";
    let err =
        Running::start(serve(&db, dir.path()).env("PATCHBAY_MASTER_KEY", other_key)).unwrap_err();
    assert!(err.contains("does not match"), "{err}");
    assert!(err.contains("PATCHBAY_MASTER_KEY"), "{err}");
    assert!(
        !err.contains(other_key) && !err.contains(MASTER_KEY),
        "no key material in errors"
    );

    let err =
        Running::start(serve(&db, dir.path()).env("PATCHBAY_MASTER_KEY", "too-short")).unwrap_err();
    assert!(err.contains("must be 32 bytes"), "{err}");
}

backend_tests!(
    serves_and_is_ready_then_stops_cleanly,
    a_project_created_on_the_command_line_works_over_http,
    a_wrong_master_key_stops_the_server_at_start_up,
);

/// SIGTERM while a request is in flight: that request completes, new
/// connections are refused, and the process exits 0.
#[tokio::test]
async fn sigterm_finishes_requests_in_flight() {
    let db = TestDb::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let mut server = Running::start(&mut serve(&db, dir.path())).unwrap();
    let address = server.base_url.trim_start_matches("http://").to_owned();

    // Headers and half the body: the request is in flight, its handler is
    // waiting for the rest.
    let body = br#"{"name": "Created during shutdown"}"#;
    let mut stream = TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "POST /api/v1/projects HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer admin-secret\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(200));

    server.signal("TERM");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        TcpStream::connect(&address).is_err(),
        "new connections must be refused"
    );
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "must wait for the request in flight"
    );

    stream.write_all(&body[10..]).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(response.contains("pb_sk_"), "{response}");
    assert!(server.wait(Duration::from_secs(10)).success());
}

/// With no configuration at all, `serve` keeps everything under
/// `./patchbay-data`, generating a private master key file with a warning.
#[tokio::test]
async fn zero_configuration_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = patchbay(dir.path());
    command.args(["serve", "--listen", "127.0.0.1:0"]);
    let mut server = Running::start(&mut command).unwrap();
    let (status, body) = get_json(&server.url("/readyz"), None).await;
    assert_eq!((status, body["backend"].as_str()), (200, Some("sqlite")));
    let data = dir.path().join("patchbay-data");
    assert!(data.join("patchbay.db").is_file());
    let key_file = data.join("master.key");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    server.signal("INT");
    assert!(server.wait(Duration::from_secs(10)).success());
    let mut stderr = String::new();
    server
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        stderr.contains("generated a new master key file"),
        "{stderr}"
    );
    assert!(
        stderr.contains("request_id="),
        "request logs carry the request id: {stderr}"
    );

    // The second start reuses the key file rather than replacing it.
    let key = std::fs::read_to_string(&key_file).unwrap();
    let mut again =
        Running::start(patchbay(dir.path()).args(["serve", "--listen", "127.0.0.1:0"])).unwrap();
    assert_eq!(get_json(&again.url("/readyz"), None).await.0, 200);
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), key);
    again.signal("TERM");
    assert!(again.wait(Duration::from_secs(10)).success());
}

#[test]
fn configuration_file_flags_and_bad_urls() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("patchbay.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\ndata_dir = \"elsewhere\"\n",
    )
    .unwrap();
    let mut server =
        Running::start(patchbay(dir.path()).args(["serve", "--config", config.to_str().unwrap()]))
            .unwrap();
    assert!(dir.path().join("elsewhere/patchbay.db").is_file());
    assert!(dir.path().join("elsewhere/master.key").is_file());
    server.signal("TERM");
    server.wait(Duration::from_secs(10));

    std::fs::write(&config, "listen = \"127.0.0.1:0\"\nlisten_port = 3\n").unwrap();
    let err =
        Running::start(patchbay(dir.path()).args(["serve", "--config", config.to_str().unwrap()]))
            .unwrap_err();
    assert!(err.contains("listen_port"), "{err}");

    let err = Running::start(patchbay(dir.path()).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        "mysql://localhost/db",
    ]))
    .unwrap_err();
    assert!(err.contains("unsupported database URL"), "{err}");

    let err = Running::start(patchbay(dir.path()).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--public-url",
        "ftp://x",
    ]))
    .unwrap_err();
    assert!(err.contains("--public-url"), "{err}");
}

/// The permission bits of `path`, in octal.
fn mode(path: &std::path::Path) -> String {
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path).unwrap().permissions());
    format!("{:o}", mode & 0o777)
}

/// The data directory and the database files are their owner's alone when
/// `serve` creates them; ones it finds open to others get a warning.
#[tokio::test]
async fn the_data_directory_and_database_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("patchbay-data");
    let serve = || {
        let mut command = patchbay(dir.path());
        command.args(["serve", "--listen", "127.0.0.1:0"]);
        command
    };
    let server = Running::start(&mut serve()).unwrap();
    assert_eq!(get_json(&server.url("/readyz"), None).await.0, 200);
    // In WAL mode the -wal and -shm files exist while the database is open.
    assert_eq!(mode(&data), "700");
    for file in ["patchbay.db", "patchbay.db-wal", "patchbay.db-shm"] {
        assert_eq!(mode(&data.join(file)), "600", "{file}");
    }
    let log = server.stop();
    assert!(!log.contains("open to other users"), "{log}");

    // What an earlier version, or a careless copy, left open.
    let open = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
    };
    open(&data, 0o755);
    open(&data.join("patchbay.db"), 0o644);
    let server = Running::start(&mut serve()).unwrap();
    assert_eq!(get_json(&server.url("/readyz"), None).await.0, 200);
    let log = server.stop();
    // Paths as the default database URL names them, relative to the cwd.
    for (path, mode) in [
        ("./patchbay-data", 755),
        ("./patchbay-data/patchbay.db", 644),
    ] {
        let field = format!("path={path} mode={mode}");
        let warning = log
            .lines()
            .find(|line| line.contains(&field))
            .unwrap_or_else(|| panic!("a warning about {path}: {log}"));
        assert!(
            warning.contains("WARN") && warning.contains("open to other users"),
            "{warning}"
        );
    }
    assert_eq!(
        mode(&data),
        "755",
        "existing modes are the operator's to change"
    );
}
