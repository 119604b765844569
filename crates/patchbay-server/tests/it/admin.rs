use patchbay_api::{MAX_ACTIVE_SECRET_KEYS, MAX_ACTIVE_SIGNING_KEYS};
use patchbay_core::user_token::{self, SigningAlgorithm};
use patchbay_test_support::{ADMIN_TOKEN, TestDb, TestServer, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::http::call;

/// Creates a project over HTTP; returns (project id, secret key).
async fn create_project(server: &TestServer, name: &str) -> (String, String) {
    let created = call(
        Method::POST,
        &server.url("/api/v1/projects"),
        Some(ADMIN_TOKEN),
        Some(json!({"name": name})),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["projectId"].as_str().unwrap().to_owned();
    let key = created.body["secretKey"].as_str().unwrap().to_owned();
    (id, key)
}

async fn projects_are_created_with_the_admin_token_only(db: TestDb) {
    let server = TestServer::start(&db).await;
    let url = server.url("/api/v1/projects");
    let body = Some(json!({"name": "Acme"}));
    call(Method::POST, &url, None, body.clone())
        .await
        .assert_error(401, "unauthorized_missing_token");
    call(Method::POST, &url, Some("not-the-token"), body.clone())
        .await
        .assert_error(401, "unauthorized_admin_token");
    let empty = call(
        Method::POST,
        &url,
        Some(ADMIN_TOKEN),
        Some(json!({"name": "  "})),
    )
    .await;
    empty.assert_error(422, "validation_failed");
    assert_eq!(empty.body["meta"]["field"], "name");

    let (id, key) = create_project(&server, "Acme").await;
    assert!(key.starts_with("pb_sk_"));
    let project = call(
        Method::GET,
        &server.url(&format!("/api/v1/projects/{id}")),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(project.status, 200);
    assert_eq!(project.body["id"], id.as_str());
    assert_eq!(project.body["name"], "Acme");
}

async fn secret_keys_authenticate_only_their_own_project(db: TestDb) {
    let server = TestServer::start(&db).await;
    let (a, key_a) = create_project(&server, "A").await;
    let (b, _) = create_project(&server, "B").await;
    let project_url = |id: &str| server.url(&format!("/api/v1/projects/{id}"));

    call(Method::GET, &project_url(&a), None, None)
        .await
        .assert_error(401, "unauthorized_missing_token");
    for wrong in [
        "pb_sk_doesnotexist",
        "eyJhbGciOiJSUzI1NiJ9.e30.sig",
        "Basic",
    ] {
        call(Method::GET, &project_url(&a), Some(wrong), None)
            .await
            .assert_error(401, "unauthorized_secret_key");
    }

    // A's key on B, on a project that does not exist and on a malformed id:
    // one and the same answer, so the key learns nothing about B.
    let on_b = call(Method::GET, &project_url(&b), Some(&key_a), None).await;
    on_b.assert_error(404, "project_not_found");
    let missing = call(
        Method::GET,
        &project_url(&uuid::Uuid::new_v4().to_string()),
        Some(&key_a),
        None,
    )
    .await;
    let malformed = call(Method::GET, &project_url("not-a-uuid"), Some(&key_a), None).await;
    assert_eq!(on_b.body, missing.body);
    assert_eq!(on_b.body, malformed.body);
    let keys_of_b = call(
        Method::GET,
        &server.url(&format!("/api/v1/projects/{b}/secret-keys")),
        Some(&key_a),
        None,
    )
    .await;
    assert_eq!(keys_of_b.body, on_b.body);
}

async fn secret_keys_rotate(db: TestDb) {
    let server = TestServer::start(&db).await;
    let (id, first) = create_project(&server, "Rotating").await;
    let (other, other_key) = create_project(&server, "Other").await;
    let keys_url = server.url(&format!("/api/v1/projects/{id}/secret-keys"));

    // Listings are oldest first; keys made in the same millisecond tie.
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let second = call(Method::POST, &keys_url, Some(&first), None).await;
    assert_eq!(second.status, 201);
    let second_key = second.body["secretKey"].as_str().unwrap().to_owned();
    let second_id = second.body["id"].as_str().unwrap().to_owned();

    let listed = call(Method::GET, &keys_url, Some(&second_key), None).await;
    let data = listed.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert!(
        !listed.body.to_string().contains(&first[10..]),
        "listings never show a key"
    );
    assert!(first.starts_with(data[0]["prefix"].as_str().unwrap()));
    let first_id = data[0]["id"].as_str().unwrap().to_owned();

    // Another project's key id is not found here.
    let other_keys = call(
        Method::GET,
        &server.url(&format!("/api/v1/projects/{other}/secret-keys")),
        Some(&other_key),
        None,
    )
    .await;
    let other_id = other_keys.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        Method::DELETE,
        &format!("{keys_url}/{other_id}"),
        Some(&first),
        None,
    )
    .await
    .assert_error(404, "secret_key_not_found");
    call(
        Method::DELETE,
        &format!("{keys_url}/nope"),
        Some(&first),
        None,
    )
    .await
    .assert_error(404, "secret_key_not_found");

    let revoked = call(
        Method::DELETE,
        &format!("{keys_url}/{first_id}"),
        Some(&second_key),
        None,
    )
    .await;
    assert_eq!(revoked.status, 204);
    call(Method::GET, &keys_url, Some(&first), None)
        .await
        .assert_error(401, "unauthorized_secret_key");
    call(
        Method::DELETE,
        &format!("{keys_url}/{second_id}"),
        Some(&second_key),
        None,
    )
    .await
    .assert_error(409, "last_secret_key");
    assert_eq!(
        call(Method::GET, &keys_url, Some(&second_key), None)
            .await
            .status,
        200
    );
    let after = call(Method::GET, &keys_url, Some(&second_key), None).await;
    assert!(after.body["data"][0]["dateRevoked"].is_string());
    assert_eq!(after.body["data"][1]["dateRevoked"], Value::Null);
}

/// A project has at most 20 active secret keys and 20 active signing keys;
/// one more is a `409 key_limit_reached` until a key is revoked.
async fn active_keys_are_limited(db: TestDb) {
    let server = TestServer::start(&db).await;
    let (id, first) = create_project(&server, "Limited").await;
    let keys_url = server.url(&format!("/api/v1/projects/{id}/secret-keys"));
    for _ in 1..MAX_ACTIVE_SECRET_KEYS {
        let added = call(Method::POST, &keys_url, Some(&first), None).await;
        assert_eq!(added.status, 201, "{:?}", added.body);
    }
    let refused = call(Method::POST, &keys_url, Some(&first), None).await;
    refused.assert_error(409, "key_limit_reached");
    assert_eq!(refused.body["meta"]["limit"], MAX_ACTIVE_SECRET_KEYS);
    let listed = call(Method::GET, &keys_url, Some(&first), None).await;
    let keys = listed.body["data"].as_array().unwrap();
    assert_eq!(keys.len(), MAX_ACTIVE_SECRET_KEYS);
    let last = keys.last().unwrap()["id"].as_str().unwrap();
    let revoked = call(
        Method::DELETE,
        &format!("{keys_url}/{last}"),
        Some(&first),
        None,
    )
    .await;
    assert_eq!(revoked.status, 204);
    let added = call(Method::POST, &keys_url, Some(&first), None).await;
    assert_eq!(added.status, 201, "a revoked key frees its place");

    let signing_url = server.url(&format!("/api/v1/projects/{id}/signing-keys"));
    let add_signing_key = |kid: String| {
        let pair = user_token::generate_key_pair(SigningAlgorithm::Es256).unwrap();
        let body = json!({"publicKeyPem": pair.public_key_pem, "kid": kid});
        call(Method::POST, &signing_url, Some(&first), Some(body))
    };
    for n in 0..MAX_ACTIVE_SIGNING_KEYS {
        let added = add_signing_key(format!("k{n}")).await;
        assert_eq!(added.status, 201, "{:?}", added.body);
    }
    let refused = add_signing_key("one-too-many".to_owned()).await;
    refused.assert_error(409, "key_limit_reached");
    assert_eq!(refused.body["meta"]["limit"], MAX_ACTIVE_SIGNING_KEYS);
    let revoked = call(
        Method::DELETE,
        &format!("{signing_url}/k0"),
        Some(&first),
        None,
    )
    .await;
    assert_eq!(revoked.status, 204);
    let added = add_signing_key("after-revoking".to_owned()).await;
    assert_eq!(added.status, 201, "{:?}", added.body);
}

backend_tests!(
    projects_are_created_with_the_admin_token_only,
    secret_keys_authenticate_only_their_own_project,
    secret_keys_rotate,
    active_keys_are_limited,
);
