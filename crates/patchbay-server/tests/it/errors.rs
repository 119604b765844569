use patchbay_test_support::{ADMIN_TOKEN, TestDb, TestServer, backend_tests};
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
    post_raw(&server, json, b"{\"name\": 42}".to_vec())
        .await
        .assert_error(422, "invalid_json");
    post_raw(&server, json, b"{\"name\": \"x\", \"extra\": 1}".to_vec())
        .await
        .assert_error(422, "invalid_json");
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
    call(Method::GET, &server.url("/api/v1/projects"), None, None)
        .await
        .assert_error(405, "method_not_allowed");
}

backend_tests!(
    malformed_bodies_get_json_errors,
    unknown_routes_and_methods_get_json_errors
);
