//! `patchbay keys rotate` against a running server.

use std::io::BufRead as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use patchbay_core::crypto::key_id_of;
use patchbay_store::{SealedColumn, Store as _};
use patchbay_store_sqlite::SqliteStore;
use patchbay_test_support::authorize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::binary::{MASTER_KEY, Running, json_of, patchbay, run};

/// Reads the demo link `serve --demo` prints and returns (project, token).
fn demo_link(server: &mut Running) -> (String, String) {
    let mut line = String::new();
    while server.stdout.read_line(&mut line).unwrap() > 0 {
        if let Some((_, fragment)) = line.trim().split_once("/demo#") {
            let value = |name: &str| {
                fragment
                    .split('&')
                    .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
                    .unwrap()
                    .to_owned()
            };
            return (value("project"), value("token"));
        }
        line.clear();
    }
    panic!("no demo link printed");
}

/// Every sealed value in the database, with the data key it uses.
async fn sealed_key_ids(store: &SqliteStore) -> Vec<(SealedColumn, Uuid)> {
    let mut out = Vec::new();
    for column in SealedColumn::ALL {
        for value in store
            .data_keys()
            .list_sealed(column, None, 10_000)
            .await
            .unwrap()
        {
            out.push((column, key_id_of(&value.ciphertext).unwrap()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotation_under_load_fails_no_request_and_leaves_no_old_ciphertext() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = patchbay(dir.path());
    command
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env("PATCHBAY_MASTER_KEY", MASTER_KEY)
        // Nobody reads the server's log pipe: request logs would fill it.
        .env("RUST_LOG", "warn");
    let mut server = Running::start(&mut command).unwrap();
    let (project, token) = demo_link(&mut server);
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap();
    let sdk = |path: &str| server.url(&format!("/projects/{project}/sdk{path}"));

    // Sealed values of every kind: an API key, OAuth tokens, a PKCE
    // verifier (the install session), the demo's client secret.
    let connected = client
        .post(sdk("/integrations/sandbox-keys/install"))
        .bearer_auth(&token)
        .json(&json!({"credentials": {"apiKey": "sbx_key_ada_3f9c2e71d4b8"}}))
        .send()
        .await
        .unwrap();
    assert_success(connected).await;
    let started = json_of(
        client
            .post(sdk("/integrations/sandbox/install"))
            .bearer_auth(&token)
            .json(&json!({})),
    )
    .await;
    let reply = authorize(started["authorizationUrl"].as_str().unwrap(), "acct_grace").await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    // A session left pending keeps its sealed PKCE verifier.
    let pending = json_of(
        client
            .post(sdk("/integrations/sandbox/install"))
            .bearer_auth(&token)
            .json(&json!({"allowMultipleCredentials": true})),
    )
    .await;
    let pending_url = pending["authorizationUrl"].as_str().unwrap().to_owned();

    let url = format!(
        "sqlite://{}",
        dir.path().join("patchbay-data/patchbay.db").display()
    );
    let store = SqliteStore::connect(&url).await.unwrap();
    let keys_before = store.data_keys().list_data_keys().await.unwrap();
    assert_eq!(keys_before.len(), 1);
    let old_key = keys_before[0].key.id;
    let before = sealed_key_ids(&store).await;
    for column in [
        SealedColumn::CredentialSecrets,
        SealedColumn::IntegrationClientSecret,
        SealedColumn::InstallSessionSecrets,
    ] {
        assert!(
            before.contains(&(column, old_key)),
            "{column:?}: {before:?}"
        );
    }

    // Requests that open sealed secrets, without pause, during the rotation.
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut load = Vec::new();
    for integration in ["sandbox-keys", "sandbox"] {
        let (stop, ok, failures) = (stop.clone(), ok.clone(), failures.clone());
        let (client, token) = (client.clone(), token.clone());
        let url = sdk(&format!("/proxy/{integration}/me"));
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let response = client.get(&url).bearer_auth(&token).send().await.unwrap();
                let status = response.status();
                if status.is_success() {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    let body = response.text().await.unwrap_or_default();
                    failures
                        .lock()
                        .unwrap()
                        .push(format!("{integration}: {status} {body}"));
                }
            }
        }));
    }

    let mut rotate = patchbay(dir.path());
    rotate
        .args(["keys", "rotate", "--json", "--settle-seconds", "3"])
        .env("PATCHBAY_MASTER_KEY", MASTER_KEY);
    let output = tokio::task::spawn_blocking(move || run(&mut rotate))
        .await
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        failures.lock().unwrap().is_empty(),
        "{:?}",
        failures.lock().unwrap()
    );
    assert!(ok.load(Ordering::Relaxed) > 20, "the load kept running");
    assert!(
        report["reencrypted"].as_u64().unwrap() >= before.len() as u64,
        "{report} for {before:?}"
    );
    assert_eq!(report["retired"], 1);
    let new_key: Uuid = report["newKey"].as_str().unwrap().parse().unwrap();
    assert_ne!(new_key, old_key);

    // Afterwards: every sealed value uses the new key, the old one is retired.
    let after = sealed_key_ids(&store).await;
    assert_eq!(after.len(), before.len());
    assert!(after.iter().all(|(_, key)| *key == new_key), "{after:?}");
    let keys = store.data_keys().list_data_keys().await.unwrap();
    let states: Vec<_> = keys
        .iter()
        .map(|k| (k.key.id, k.retired_at.is_some()))
        .collect();
    assert_eq!(states, [(old_key, true), (new_key, false)]);

    // The server seals new secrets with the new key, and still opens them.
    let connected = client
        .post(sdk("/integrations/sandbox-keys/install"))
        .bearer_auth(&token)
        .json(&json!({
            "allowMultipleCredentials": true,
            "credentials": {"apiKey": "sbx_key_grace_8a1d6f04c2e9"}
        }))
        .send()
        .await
        .unwrap();
    assert_success(connected).await;
    let after = sealed_key_ids(&store).await;
    assert_eq!(after.len(), before.len() + 1);
    assert!(after.iter().all(|(_, key)| *key == new_key), "{after:?}");
    let me = client
        .get(sdk("/proxy/sandbox/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    // The verifier sealed before the rotation still opens.
    let reply = authorize(&pending_url, "acct_ada").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

async fn assert_success(response: reqwest::Response) {
    let status = response.status();
    assert!(
        status.is_success(),
        "{status}: {}",
        response.text().await.unwrap()
    );
}
