use patchbay_api::ErrorCode;
use patchbay_test_support::{ADMIN_TOKEN, TestDb, TestProject, TestServer, backend_tests};
use reqwest::Method;

use crate::http::{call, reply};

async fn post_raw(
    server: &TestServer,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> crate::http::Reply {
    let mut request = reqwest::Client::new()
        .post(server.url("/api/v1/projects"))
        .bearer_auth(ADMIN_TOKEN)
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    reply(request.send().await.unwrap()).await
}

async fn malformed_bodies_get_json_errors(db: TestDb) {
    let server = TestServer::start(&db).await;
    let json = Some("application/json");
    post_raw(&server, json, b"{\"name\": ".to_vec())
        .await
        .assert_error(400, "invalid_json");
    // Well-formed JSON of the wrong shape breaks a rule of the endpoint.
    post_raw(&server, json, b"{\"name\": 42}".to_vec())
        .await
        .assert_error(422, "validation_failed");
    post_raw(&server, json, b"{\"name\": \"x\", \"extra\": 1}".to_vec())
        .await
        .assert_error(422, "validation_failed");
    post_raw(&server, json, vec![0xff, 0xfe, 0x00])
        .await
        .assert_error(400, "invalid_json");
    post_raw(&server, None, b"{\"name\": \"x\"}".to_vec())
        .await
        .assert_error(415, "unsupported_media_type");
    post_raw(&server, Some("text/plain"), b"{\"name\": \"x\"}".to_vec())
        .await
        .assert_error(415, "unsupported_media_type");
    let huge = format!("{{\"name\": \"{}\"}}", "a".repeat(3 * 1024 * 1024));
    post_raw(&server, json, huge.into_bytes())
        .await
        .assert_error(413, "payload_too_large");
    // Nothing was created by any of the above.
    assert_eq!(
        call(Method::GET, &server.url("/readyz"), None, None)
            .await
            .status,
        200
    );
}

async fn unknown_routes_and_methods_get_json_errors(db: TestDb) {
    let server = TestServer::start(&db).await;
    call(Method::GET, &server.url("/nope"), None, None)
        .await
        .assert_error(404, "route_not_found");
    call(
        Method::GET,
        &server.url("/api/v1/projects/x/y/z"),
        None,
        None,
    )
    .await
    .assert_error(404, "route_not_found");
    call(Method::DELETE, &server.url("/healthz"), None, None)
        .await
        .assert_error(405, "method_not_allowed");
    call(Method::PUT, &server.url("/api/v1/projects"), None, None)
        .await
        .assert_error(405, "method_not_allowed");
}

async fn bad_query_strings_and_oversized_bodies_get_json_errors(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let client = reqwest::Client::new();
    let config = format!("/api/v1/projects/{}/config?prune=maybe", project.id);
    let reply = crate::http::reply(
        client
            .put(server.url(&config))
            .bearer_auth(&project.secret_key)
            .body("integrations: {}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    reply.assert_error(400, "invalid_parameter");
    let list = format!(
        "/api/v1/projects/{}/task-history/workflow-executions?userId=a&userId=b",
        project.id
    );
    call(
        Method::GET,
        &server.url(&list),
        Some(&project.secret_key),
        None,
    )
    .await
    .assert_error(400, "invalid_parameter");

    // A trigger body over the 2 MiB limit, from an authenticated user.
    let token = project.signer.mint("ada").unwrap();
    let trigger = format!("/projects/{}/sdk/triggers/anything", project.id);
    let reply = crate::http::reply(
        client
            .post(server.url(&trigger))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(vec![b' '; 3 * 1024 * 1024])
            .send()
            .await
            .unwrap(),
    )
    .await;
    reply.assert_error(413, "payload_too_large");
}

/// Two `X-Paragon-Credential` headers are ambiguous wherever an account is
/// selected: the proxy, uninstalling, and request and app-event triggers.
async fn two_credential_headers_are_refused_everywhere(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let token = project.signer.mint("ada").unwrap();
    let pid = project.id;
    let client = reqwest::Client::new();
    for (method, path) in [
        (
            Method::GET,
            format!("/projects/{pid}/sdk/proxy/crm/contacts"),
        ),
        (
            Method::DELETE,
            format!("/projects/{pid}/sdk/integrations/crm"),
        ),
        (
            Method::POST,
            format!("/projects/{pid}/sdk/triggers/anything"),
        ),
        (Method::POST, format!("/projects/{pid}/sdk/events/trigger")),
    ] {
        let reply = crate::http::reply(
            client
                .request(method, server.url(&path))
                .bearer_auth(&token)
                .header("x-paragon-credential", "ext:one")
                .header("x-paragon-credential", "ext:two")
                .json(&serde_json::json!({ "name": "event", "payload": {} }))
                .send()
                .await
                .unwrap(),
        )
        .await;
        // The project has no integrations: only the header can make this a 400.
        assert_eq!(reply.status, 400, "{path}: {:?}", reply.body);
        reply.assert_error(400, "invalid_parameter");
    }
}

/// Two credentials in one request are ambiguous, even when both are valid:
/// acting as either would be a guess.
async fn two_authorization_headers_are_refused(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let client = reqwest::Client::new();
    let admin_path = server.url(&format!("/api/v1/projects/{}", project.id));
    let one_key = crate::http::reply(
        client
            .get(&admin_path)
            .bearer_auth(&project.secret_key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(one_key.status, 200, "{:?}", one_key.body);
    let reply = crate::http::reply(
        client
            .get(&admin_path)
            .header("authorization", format!("Bearer {}", project.secret_key))
            .header("authorization", format!("Bearer {}", project.secret_key))
            .send()
            .await
            .unwrap(),
    )
    .await;
    reply.assert_error(400, "invalid_parameter");

    let ada = project.signer.mint("ada").unwrap();
    let grace = project.signer.mint("grace").unwrap();
    let me = server.url(&format!("/projects/{}/sdk/me", project.id));
    let reply = crate::http::reply(
        client
            .get(&me)
            .header("authorization", format!("Bearer {ada}"))
            .header("authorization", format!("Bearer {grace}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    reply.assert_error(400, "invalid_parameter");

    let stream = server.url(&format!("/projects/{}/sdk/events/stream", project.id));
    for (query, header) in [
        (format!("?token={ada}"), Some(&grace)),
        (format!("?token={ada}&token={grace}"), None),
    ] {
        let mut request = client.get(format!("{stream}{query}"));
        if let Some(token) = header {
            request = request.bearer_auth(token);
        }
        let reply = crate::http::reply(request.send().await.unwrap()).await;
        reply.assert_error(400, "invalid_parameter");
    }
}

/// Every error code answers with one status, and docs/api.md's table of
/// codes says which: the two cannot drift apart.
#[test]
fn every_error_code_has_one_status_and_a_documented_row() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/api.md")).unwrap();
    let mut seen = std::collections::HashSet::new();
    for code in ErrorCode::ALL {
        let name = match code {
            ErrorCode::UnauthorizedToken(_) => "unauthorized_*",
            other => other.as_str(),
        };
        assert!(seen.insert(name), "{name} is listed twice");
        let row = format!("| `{name}` | {} |", code.status());
        assert!(
            docs.lines().any(|line| line.starts_with(&row)),
            "docs/api.md has no row `{row}`"
        );
        assert!((400..600).contains(&code.status()), "{name}");
    }
}

/// The two paged listings, Task History and a webhook endpoint's delivery
/// log, refuse a cursor they did not hand out alike.
async fn paged_listings_refuse_a_bad_cursor_alike(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let endpoint = project
        .admin
        .create_webhook_endpoint("https://hooks.example/x", &[])
        .await
        .unwrap()
        .endpoint;
    let base = server.url(&format!("/api/v1/projects/{}", project.id));
    let listings = [
        format!("{base}/task-history/workflow-executions"),
        format!("{base}/webhook-endpoints/{}/deliveries", endpoint.id),
    ];
    for listing in &listings {
        let first_page = call(Method::GET, listing, Some(&project.secret_key), None).await;
        assert_eq!(first_page.status, 200, "{listing}: {:?}", first_page.body);
        for cursor in ["garbage", "", "12.x", "1700000000000.not-a-uuid", "1e3"] {
            call(
                Method::GET,
                &format!("{listing}?cursor={cursor}"),
                Some(&project.secret_key),
                None,
            )
            .await
            .assert_error(400, "invalid_parameter");
        }
    }
}

backend_tests!(
    malformed_bodies_get_json_errors,
    unknown_routes_and_methods_get_json_errors,
    bad_query_strings_and_oversized_bodies_get_json_errors,
    two_credential_headers_are_refused_everywhere,
    two_authorization_headers_are_refused,
    paged_listings_refuse_a_bad_cursor_alike,
);
