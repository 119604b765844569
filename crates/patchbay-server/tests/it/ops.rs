use patchbay_test_support::{TestDb, TestServer, backend_tests};
use reqwest::Method;

use crate::http::call;

async fn health_and_readiness(db: TestDb) {
    let server = TestServer::start(&db).await;
    let health = call(Method::GET, &server.url("/healthz"), None, None).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["status"], "ok");
    let ready = call(Method::GET, &server.url("/readyz"), None, None).await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["backend"], db.backend().as_str());
    assert!(ready.headers.contains_key("x-request-id"));
}

async fn metrics_count_requests_by_route_template(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = uuid::Uuid::new_v4();
    for _ in 0..3 {
        call(
            Method::GET,
            &server.url(&format!("/api/v1/projects/{project}")),
            None,
            None,
        )
        .await;
    }
    let text = server.metrics().await;
    assert!(
        text.contains(
            r#"patchbay_http_requests_total{method="GET",route="/api/v1/projects/{projectId}",status="401"} 3"#
        ),
        "{text}"
    );
    assert!(
        text.contains("patchbay_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        !text.contains(&project.to_string()),
        "raw ids must not become labels"
    );
}

async fn openapi_describes_every_route(db: TestDb) {
    let server = TestServer::start(&db).await;
    let doc = call(Method::GET, &server.url("/openapi.json"), None, None).await;
    assert_eq!(doc.status, 200);
    let paths = doc.body["paths"].as_object().unwrap();
    for (path, method) in [
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
        ("/api/v1/projects", "post"),
        ("/api/v1/projects/{projectId}", "get"),
        ("/api/v1/projects/{projectId}/secret-keys", "get"),
        ("/api/v1/projects/{projectId}/secret-keys", "post"),
        ("/api/v1/projects/{projectId}/secret-keys/{keyId}", "delete"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing"
        );
    }
    assert!(doc.body["components"]["schemas"]["ErrorBody"].is_object());
}

backend_tests!(
    health_and_readiness,
    metrics_count_requests_by_route_template,
    openapi_describes_every_route,
);
