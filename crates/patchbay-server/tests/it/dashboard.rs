//! The dashboard's session as a browser holds it: signing in sets an HttpOnly, SameSite cookie
//! the admin API accepts in place of a secret key; every change must also carry the session's
//! CSRF token; another project's session, a signed-out session and a revoked key's session are
//! refused. And what the dashboard reads: users, the overview, the audit log, configuration
//! versions.

use patchbay_sdk::api::InstallRequest;
use patchbay_test_support::{
    ADMIN_TOKEN, TEST_CONFIG, TestDb, TestProject, TestServer, backend_tests, install_fields,
};
use reqwest::Method;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};

use crate::http::{Reply, call, reply};

/// A browser's view of one dashboard session: its cookie and CSRF token.
struct Session {
    cookie: String,
    csrf: String,
    body: Value,
    set_cookie: String,
}

async fn sign_in(server: &TestServer, key: &str) -> Result<Session, Reply> {
    let response = reqwest::Client::new()
        .post(server.url("/dashboard/session"))
        .json(&json!({"key": key}))
        .send()
        .await
        .unwrap();
    let set_cookie = response
        .headers()
        .get(SET_COOKIE)
        .map(|value| value.to_str().unwrap().to_owned());
    let answer = reply(response).await;
    if answer.status != 201 {
        assert!(set_cookie.is_none(), "a refused sign-in sets no cookie");
        return Err(answer);
    }
    let set_cookie = set_cookie.expect("a session cookie");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    Ok(Session {
        cookie,
        csrf: answer.body["csrfToken"].as_str().unwrap().to_owned(),
        body: answer.body,
        set_cookie,
    })
}

/// A read with the session's cookie.
async fn read(session: &Session, url: &str) -> Reply {
    with_session(session, Method::GET, url, None, None).await
}

/// A request with the session's cookie, and its CSRF token when `csrf` says so.
async fn with_session(
    session: &Session,
    method: Method,
    url: &str,
    csrf: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut request = reqwest::Client::new()
        .request(method, url)
        .header(COOKIE, &session.cookie);
    if let Some(token) = csrf {
        request = request.header("X-CSRF-Token", token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    reply(request.send().await.unwrap()).await
}

fn project_url(server: &TestServer, project: &TestProject, rest: &str) -> String {
    server.url(&format!("/api/v1/projects/{}{rest}", project.id))
}

async fn signing_in_sets_an_http_only_same_site_cookie(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;

    for wrong in ["pb_sk_doesnotexist", "not-the-admin-token", ""] {
        sign_in(&server, wrong)
            .await
            .err()
            .expect("refused")
            .assert_error(401, "unauthorized_secret_key");
    }
    let session = sign_in(&server, &project.secret_key).await.unwrap();
    assert!(
        session.cookie.starts_with("patchbay_session="),
        "{}",
        session.set_cookie
    );
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"] {
        assert!(
            session.set_cookie.contains(attribute),
            "{attribute}: {}",
            session.set_cookie
        );
    }
    // Served over http here: a Secure cookie would never come back.
    assert!(
        !session.set_cookie.contains("Secure"),
        "{}",
        session.set_cookie
    );
    assert_eq!(session.body["scope"], "project");
    assert_eq!(session.body["projectId"], project.id.to_string());
    // The cookie is a random token, not the key.
    assert!(!session.set_cookie.contains(&project.secret_key));

    let current = read(&session, &server.url("/dashboard/session")).await;
    assert_eq!(current.status, 200, "{:?}", current.body);
    assert_eq!(current.body["csrfToken"], session.csrf.as_str());
    call(Method::GET, &server.url("/dashboard/session"), None, None)
        .await
        .assert_error(401, "unauthorized_session");
}

async fn over_https_the_cookie_is_secure_and_host_only(db: TestDb) {
    let server = TestServer::configured(&db, |config| {
        config.public_url = "https://patchbay.example".to_owned();
    })
    .await;
    let project = TestProject::create(&server).await;
    let session = sign_in(&server, &project.secret_key).await.unwrap();
    assert!(
        session.cookie.starts_with("__Host-patchbay_session="),
        "{}",
        session.set_cookie
    );
    assert!(
        session.set_cookie.contains("; Secure"),
        "{}",
        session.set_cookie
    );
    assert!(
        !session.set_cookie.contains("Domain"),
        "{}",
        session.set_cookie
    );
    // The plain name is not read where the secure one is expected.
    let plain = Session {
        cookie: session.cookie.replacen("__Host-", "", 1),
        ..session
    };
    read(&plain, &project_url(&server, &project, "/overview"))
        .await
        .assert_error(401, "unauthorized_missing_token");
}

async fn every_change_needs_the_session_and_its_csrf_token(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let other = TestProject::create(&server).await;
    let session = sign_in(&server, &project.secret_key).await.unwrap();
    let config = project_url(&server, &project, "/config");
    let version = || async {
        let versions = read(
            &session,
            &project_url(&server, &project, "/config/versions"),
        )
        .await;
        versions.body["data"].as_array().unwrap().len()
    };
    assert_eq!(version().await, 1);

    // Reads need the cookie only.
    let overview = read(&session, &project_url(&server, &project, "/overview")).await;
    assert_eq!(overview.status, 200, "{:?}", overview.body);

    // A change without the token, or with another one, is refused and changes nothing.
    let change = |csrf: Option<String>| {
        let session = &session;
        let config = config.clone();
        async move {
            let request = reqwest::Client::new()
                .put(&config)
                .header(COOKIE, &session.cookie)
                .header("Content-Type", "application/yaml")
                .body(TEST_CONFIG);
            let request = match csrf {
                Some(token) => request.header("X-CSRF-Token", token),
                None => request,
            };
            reply(request.send().await.unwrap()).await
        }
    };
    change(None).await.assert_error(403, "csrf_token_invalid");
    change(Some("forged".into()))
        .await
        .assert_error(403, "csrf_token_invalid");
    let other_session = sign_in(&server, &other.secret_key).await.unwrap();
    change(Some(other_session.csrf.clone()))
        .await
        .assert_error(403, "csrf_token_invalid");
    assert_eq!(version().await, 1, "a refused change applied nothing");
    let applied = change(Some(session.csrf.clone())).await;
    assert_eq!(applied.status, 200, "{:?}", applied.body);
    assert_eq!(version().await, 2);

    // Another project's session reaches nothing of this one, to read or to change.
    read(&other_session, &project_url(&server, &project, "/overview"))
        .await
        .assert_error(404, "project_not_found");
    with_session(
        &other_session,
        Method::DELETE,
        &project_url(&server, &project, &format!("/signing-keys/{}", project.kid)),
        Some(&other_session.csrf),
        None,
    )
    .await
    .assert_error(404, "project_not_found");
    assert!(
        project.admin.signing_keys().await.unwrap().data[0]
            .date_revoked
            .is_none()
    );

    // Without any session or key: the usual answer.
    call(
        Method::DELETE,
        &project_url(&server, &project, &format!("/signing-keys/{}", project.kid)),
        None,
        None,
    )
    .await
    .assert_error(401, "unauthorized_missing_token");
    // Signing out is a change too.
    with_session(
        &session,
        Method::DELETE,
        &server.url("/dashboard/session"),
        None,
        None,
    )
    .await
    .assert_error(403, "csrf_token_invalid");
}

/// Every change route of a project's admin API, as the OpenAPI document lists them, with
/// its path parameters filled in (with ids that exist nowhere: refusals come first).
async fn change_routes(server: &TestServer, project: &TestProject) -> Vec<(Method, String)> {
    let document = call(Method::GET, &server.url("/openapi.json"), None, None)
        .await
        .body;
    let mut routes = Vec::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/projects/{projectId}") {
            continue;
        }
        for method in operations.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().unwrap();
            if matches!(method, Method::GET | Method::HEAD) {
                continue;
            }
            let mut concrete = path.replace("{projectId}", &project.id.to_string());
            while let Some(start) = concrete.find('{') {
                let end = concrete[start..].find('}').unwrap() + start;
                concrete.replace_range(start..=end, "00000000-0000-4000-8000-000000000000");
            }
            routes.push((method, server.url(&concrete)));
        }
    }
    routes
}

async fn every_admin_change_route_refuses_without_csrf_or_with_another_projects_session(
    db: TestDb,
) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let other = TestProject::create(&server).await;
    let session = sign_in(&server, &project.secret_key).await.unwrap();
    let other_session = sign_in(&server, &other.secret_key).await.unwrap();
    let routes = change_routes(&server, &project).await;
    assert!(routes.len() >= 15, "{routes:?}");
    for (method, url) in &routes {
        let without_csrf = with_session(&session, method.clone(), url, None, Some(json!({}))).await;
        assert_eq!(
            without_csrf.body["code"], "csrf_token_invalid",
            "{method} {url}"
        );
        let elsewhere = with_session(
            &other_session,
            method.clone(),
            url,
            Some(&other_session.csrf),
            Some(json!({})),
        )
        .await;
        assert_eq!(
            elsewhere.body["code"], "project_not_found",
            "{method} {url}"
        );
        let anonymous = call(method.clone(), url, None, Some(json!({}))).await;
        assert_eq!(
            anonymous.status, 401,
            "{method} {url}: {:?}",
            anonymous.body
        );
    }
    // Nothing of all that changed the project: its configuration is still the first one.
    let versions = read(
        &session,
        &project_url(&server, &project, "/config/versions"),
    )
    .await;
    assert_eq!(versions.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(project.admin.signing_keys().await.unwrap().data.len(), 1);
}

async fn signing_out_or_revoking_the_key_ends_the_session(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let overview = project_url(&server, &project, "/overview");

    let session = sign_in(&server, &project.secret_key).await.unwrap();
    let out = with_session(
        &session,
        Method::DELETE,
        &server.url("/dashboard/session"),
        Some(&session.csrf),
        None,
    )
    .await;
    assert_eq!(out.status, 204, "{:?}", out.body);
    let cleared = out.headers.get(SET_COOKIE).unwrap().to_str().unwrap();
    assert!(
        cleared.starts_with("patchbay_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    // The cookie a browser (or a thief) kept is dead on the server.
    read(&session, &overview)
        .await
        .assert_error(401, "unauthorized_session");

    // A session lives no longer than the key it was opened with.
    let second_key = project.admin.create_secret_key().await.unwrap();
    let session = sign_in(&server, &project.secret_key).await.unwrap();
    let first_key_id = project.admin.secret_keys().await.unwrap().data[0].id;
    let revoked = call(
        Method::DELETE,
        &project_url(&server, &project, &format!("/secret-keys/{first_key_id}")),
        Some(&second_key.secret_key),
        None,
    )
    .await;
    assert_eq!(revoked.status, 204, "{:?}", revoked.body);
    read(&session, &overview)
        .await
        .assert_error(401, "unauthorized_session");
}

async fn the_admin_token_session_reaches_every_project(db: TestDb) {
    let server = TestServer::start(&db).await;
    let first = TestProject::create(&server).await;
    let second = TestProject::create(&server).await;
    let admin = sign_in(&server, ADMIN_TOKEN).await.unwrap();
    assert_eq!(admin.body["scope"], "instance");
    assert_eq!(admin.body["projectId"], Value::Null);

    let projects = read(&admin, &server.url("/api/v1/projects")).await;
    assert_eq!(projects.status, 200, "{:?}", projects.body);
    let ids: Vec<&str> = projects.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [first.id.to_string(), second.id.to_string()]);
    for project in [&first, &second] {
        let overview = read(&admin, &project_url(&server, project, "/overview")).await;
        assert_eq!(overview.status, 200, "{:?}", overview.body);
    }

    // A project's session may not list or create projects.
    let project_session = sign_in(&server, &first.secret_key).await.unwrap();
    read(&project_session, &server.url("/api/v1/projects"))
        .await
        .assert_error(401, "unauthorized_admin_token");
    with_session(
        &project_session,
        Method::POST,
        &server.url("/api/v1/projects"),
        Some(&project_session.csrf),
        Some(json!({"name": "Sneaky"})),
    )
    .await
    .assert_error(401, "unauthorized_admin_token");
    // Nor may the admin session create one without its CSRF token.
    with_session(
        &admin,
        Method::POST,
        &server.url("/api/v1/projects"),
        None,
        Some(json!({"name": "X"})),
    )
    .await
    .assert_error(403, "csrf_token_invalid");
    let created = with_session(
        &admin,
        Method::POST,
        &server.url("/api/v1/projects"),
        Some(&admin.csrf),
        Some(json!({"name": "Made here"})),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
}

async fn changes_are_recorded_in_the_audit_log(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let session = sign_in(&server, &project.secret_key).await.unwrap();
    let key_id = project.admin.secret_keys().await.unwrap().data[0].id;

    // A change with the key, a dry run, one from the dashboard, one refused, and a read.
    project
        .admin
        .apply_config(TEST_CONFIG, false)
        .await
        .unwrap();
    // A dry run changes nothing, so it is not recorded.
    project.admin.plan_config(TEST_CONFIG, false).await.unwrap();
    let revoke = project_url(&server, &project, &format!("/signing-keys/{}", project.kid));
    assert_eq!(
        with_session(&session, Method::DELETE, &revoke, Some(&session.csrf), None)
            .await
            .status,
        204
    );
    with_session(&session, Method::DELETE, &revoke, Some(&session.csrf), None)
        .await
        .assert_error(404, "signing_key_not_found");
    project.admin.project().await.unwrap();

    let log = read(
        &session,
        &project_url(&server, &project, "/audit-log?limit=2"),
    )
    .await;
    assert_eq!(log.status, 200, "{:?}", log.body);
    let entries = log.body["data"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[0]["actor"],
        format!("dashboard (secret key {key_id})")
    );
    assert_eq!(
        entries[0]["action"],
        format!(
            "DELETE /api/v1/projects/{}/signing-keys/{}",
            project.id, project.kid
        )
    );
    assert_eq!(entries[0]["status"], 204);
    assert_eq!(entries[1]["actor"], format!("secret key {key_id}"));
    assert_eq!(
        entries[1]["action"],
        format!("PUT /api/v1/projects/{}/config", project.id)
    );
    // The next page holds what came before: the project's setup by the test fixture.
    let cursor = log.body["nextCursor"].as_str().expect("another page");
    let earlier = call(
        Method::GET,
        &project_url(&server, &project, &format!("/audit-log?cursor={cursor}")),
        Some(&project.secret_key),
        None,
    )
    .await;
    let earlier: Vec<&str> = earlier.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        earlier,
        [
            format!("PUT /api/v1/projects/{}/config", project.id),
            format!("POST /api/v1/projects/{}/signing-keys", project.id),
        ]
    );
}

async fn users_are_listed_searched_and_paged(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let meta = |name: &str, email: &str| {
        json!({"Name": name, "email": email})
            .as_object()
            .unwrap()
            .clone()
    };
    for (id, name, email) in [
        ("u-ada", "Ada Lovelace", "ada@example.com"),
        ("u-grace", "Grace Hopper", "grace@navy.example"),
        ("u-alan", "Alan Turing", "alan@example.com"),
    ] {
        project
            .user(id)
            .set_metadata(meta(name, email))
            .await
            .unwrap();
    }
    for key in ["key-1", "key-2"] {
        let request = InstallRequest {
            allow_multiple_credentials: true,
            ..install_fields(json!({"apiKey": key}))
        };
        project
            .user("u-grace")
            .install_with_credentials("chat", &request)
            .await
            .unwrap();
    }
    let list = |query: &str| {
        let url = project_url(&server, &project, &format!("/users{query}"));
        let key = project.secret_key.clone();
        async move { call(Method::GET, &url, Some(&key), None).await }
    };
    let ids = |reply: &Reply| -> Vec<String> {
        reply.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect()
    };

    let all = list("").await;
    assert_eq!(ids(&all), ["u-ada", "u-alan", "u-grace"]);
    let grace = &all.body["data"][2];
    assert_eq!(grace["accounts"], 2);
    assert_eq!(grace["invalidAccounts"], 0);
    assert_eq!(grace["meta"]["Name"], "Grace Hopper");

    assert_eq!(ids(&list("?search=HOPPER").await), ["u-grace"]);
    assert_eq!(ids(&list("?search=example.com").await), ["u-ada", "u-alan"]);
    assert_eq!(ids(&list("?search=u-al").await), ["u-alan"]);
    // LIKE's wildcards are searched for as themselves.
    assert!(ids(&list("?search=%25").await).is_empty());
    assert!(ids(&list("?search=u_a").await).is_empty());

    let first = list("?limit=2").await;
    assert_eq!(ids(&first), ["u-ada", "u-alan"]);
    let cursor = first.body["nextCursor"].as_str().unwrap();
    let second = list(&format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&second), ["u-grace"]);
    assert_eq!(second.body["nextCursor"], Value::Null);

    list("?limit=0")
        .await
        .assert_error(400, "invalid_parameter");
    list("?cursor=%%%")
        .await
        .assert_error(400, "invalid_parameter");
}

async fn configuration_versions_are_kept(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let changed = TEST_CONFIG.replacen("http://localhost:3000", "http://localhost:4000", 1);
    assert_ne!(changed, TEST_CONFIG);
    project.admin.apply_config(&changed, false).await.unwrap();
    let get = |rest: &str| {
        let url = project_url(&server, &project, rest);
        let key = project.secret_key.clone();
        async move { call(Method::GET, &url, Some(&key), None).await }
    };

    let versions = get("/config/versions").await;
    let listed: Vec<i64> = versions.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, [2, 1]);
    let current = get("/config").await.body;
    assert_eq!(versions.body["data"][0]["document"], current);
    let first = get("/config/versions/1").await;
    assert_eq!(first.status, 200);
    assert_ne!(first.body["document"], current);
    assert_eq!(
        first.body["document"]["settings"]["allowedOrigins"],
        json!(["http://localhost:3000"])
    );

    get("/config/versions/3")
        .await
        .assert_error(404, "config_version_not_found");
    get("/config/versions/one")
        .await
        .assert_error(404, "config_version_not_found");
}

async fn the_page_may_not_be_framed_and_runs_only_its_own_script(db: TestDb) {
    let server = TestServer::start(&db).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let bare = client.get(server.url("/dashboard")).send().await.unwrap();
    assert_eq!(bare.status(), 308);
    assert_eq!(bare.headers()["location"], "/dashboard/");
    for (path, content_type) in [
        ("/dashboard/", "text/html; charset=utf-8"),
        ("/dashboard/dashboard.js", "text/javascript; charset=utf-8"),
        ("/dashboard/dashboard.css", "text/css; charset=utf-8"),
        ("/dashboard/users.js", "text/javascript; charset=utf-8"),
    ] {
        let file = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(file.status(), 200, "{path}");
        let headers = file.headers();
        assert_eq!(headers["content-type"], content_type, "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        for directive in [
            "frame-ancestors 'none'",
            "script-src 'self'",
            "default-src 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
    }
    for missing in ["/dashboard/nope.js", "/dashboard/..%2Fportal%2Fportal.js"] {
        let answer = call(Method::GET, &server.url(missing), None, None).await;
        answer.assert_error(404, "route_not_found");
    }
}

backend_tests!(
    the_page_may_not_be_framed_and_runs_only_its_own_script,
    signing_in_sets_an_http_only_same_site_cookie,
    over_https_the_cookie_is_secure_and_host_only,
    every_change_needs_the_session_and_its_csrf_token,
    every_admin_change_route_refuses_without_csrf_or_with_another_projects_session,
    signing_out_or_revoking_the_key_ends_the_session,
    the_admin_token_session_reaches_every_project,
    changes_are_recorded_in_the_audit_log,
    users_are_listed_searched_and_paged,
    configuration_versions_are_kept,
);
