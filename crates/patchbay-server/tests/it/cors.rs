//! Browsers on a project's allowed origins may call its end-user API (the
//! JavaScript SDK on the developer's own site); nobody else gets CORS
//! headers, and the admin API never does.

use patchbay_test_support::{TestDb, TestProject, TestServer, backend_tests};
use reqwest::Method;

/// `TEST_CONFIG`'s one allowed origin.
const ALLOWED: &str = "http://localhost:3000";

async fn send(method: Method, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = reqwest::Client::new().request(method, url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

async fn allowed_origins_may_call_the_end_user_api(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let me = server.url(&format!("/projects/{}/sdk/me", project.id));

    let preflight = send(
        Method::OPTIONS,
        &me,
        &[
            ("origin", ALLOWED),
            ("access-control-request-method", "GET"),
            (
                "access-control-request-headers",
                "authorization,x-paragon-credential",
            ),
        ],
    )
    .await;
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        header(&preflight, "access-control-allow-origin").as_deref(),
        Some(ALLOWED)
    );
    assert_eq!(
        header(&preflight, "access-control-allow-methods").as_deref(),
        Some("GET")
    );
    assert_eq!(
        header(&preflight, "access-control-allow-headers").as_deref(),
        Some("authorization,x-paragon-credential")
    );
    assert_eq!(header(&preflight, "access-control-allow-credentials"), None);

    let token = format!("Bearer {}", project.signer.mint("ada").unwrap());
    let answer = send(
        Method::GET,
        &me,
        &[("origin", ALLOWED), ("authorization", &token)],
    )
    .await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        header(&answer, "access-control-allow-origin").as_deref(),
        Some(ALLOWED)
    );
    assert_eq!(header(&answer, "vary").as_deref(), Some("origin"));

    // ActionKit's routes and the MCP server are the end-user API too.
    for path in ["tools", "actions", "mcp"] {
        let url = server.url(&format!("/projects/{}/{path}", project.id));
        let preflight = send(
            Method::OPTIONS,
            &url,
            &[
                ("origin", ALLOWED),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "authorization,content-type",
                ),
            ],
        )
        .await;
        assert_eq!(preflight.status(), 204, "{path}");
        assert_eq!(
            header(&preflight, "access-control-allow-origin").as_deref(),
            Some(ALLOWED),
            "{path}"
        );
    }
    let tools = send(
        Method::GET,
        &server.url(&format!("/projects/{}/tools", project.id)),
        &[("origin", ALLOWED), ("authorization", &token)],
    )
    .await;
    assert_eq!(tools.status(), 200);
    assert_eq!(
        header(&tools, "access-control-allow-origin").as_deref(),
        Some(ALLOWED)
    );
}

async fn other_origins_and_the_admin_api_get_no_cors_headers(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let me = server.url(&format!("/projects/{}/sdk/me", project.id));

    let foreign = send(
        Method::OPTIONS,
        &me,
        &[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "GET"),
        ],
    )
    .await;
    assert_eq!(header(&foreign, "access-control-allow-origin"), None);
    assert_eq!(header(&foreign, "access-control-allow-methods"), None);

    let token = format!("Bearer {}", project.signer.mint("ada").unwrap());
    let answer = send(
        Method::GET,
        &me,
        &[
            ("origin", "https://evil.example"),
            ("authorization", &token),
        ],
    )
    .await;
    assert_eq!(header(&answer, "access-control-allow-origin"), None);

    let other_project = server.url(&format!("/projects/{}/sdk/me", uuid::Uuid::new_v4()));
    let unknown = send(Method::GET, &other_project, &[("origin", ALLOWED)]).await;
    assert_eq!(header(&unknown, "access-control-allow-origin"), None);

    let admin = send(
        Method::GET,
        &server.url(&format!("/api/v1/projects/{}/config", project.id)),
        &[
            ("origin", ALLOWED),
            ("authorization", &format!("Bearer {}", project.secret_key)),
        ],
    )
    .await;
    assert_eq!(admin.status(), 200);
    assert_eq!(header(&admin, "access-control-allow-origin"), None);
}

backend_tests!(
    allowed_origins_may_call_the_end_user_api,
    other_origins_and_the_admin_api_get_no_cors_headers,
);
