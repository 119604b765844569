//! The JavaScript SDK and the Connect Portal as served to browsers. Their
//! behaviour is tested in node and in headless Chromium (`sdk/js`); these
//! tests pin what the server promises about the files themselves.

use patchbay_test_support::{TestDb, TestServer, backend_tests};
use reqwest::Method;

use crate::http::{Reply, call};

const SDK_SOURCE: &str = include_str!("../../../../sdk/js/paragon.js");

async fn get(server: &TestServer, path: &str) -> (Reply, String) {
    let reply = call(Method::GET, &server.url(path), None, None).await;
    assert_eq!(reply.status, 200, "{path}");
    let text = reply.body.as_str().unwrap_or_default().to_owned();
    (reply, text)
}

fn header<'a>(reply: &'a Reply, name: &str) -> &'a str {
    reply
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

async fn the_sdk_is_served_as_a_module_and_as_a_classic_script(db: TestDb) {
    let server = TestServer::start(&db).await;

    let (module, text) = get(&server, "/sdk.js").await;
    assert_eq!(
        text, SDK_SOURCE,
        "the module is the SDK file, byte for byte"
    );
    assert!(header(&module, "content-type").starts_with("text/javascript"));
    // Module scripts are fetched with CORS: any site may embed the SDK.
    assert_eq!(header(&module, "access-control-allow-origin"), "*");

    let (classic, text) = get(&server, "/sdk.global.js").await;
    assert!(header(&classic, "content-type").starts_with("text/javascript"));
    assert!(text.contains("window.paragon = paragon;"));
    assert!(text.contains("function createParagon("));
    for module_only in ["import.meta", "\nexport ", "export default"] {
        assert!(
            !text.contains(module_only),
            "{module_only} in the classic script"
        );
    }

    let (types, text) = get(&server, "/sdk.d.ts").await;
    assert!(header(&types, "content-type").starts_with("application/typescript"));
    assert!(text.contains("export declare const paragon: Paragon;"));
}

/// The modules `script` imports from its own directory (`from './dom.js'`).
fn local_imports(script: &str) -> Vec<String> {
    script
        .split("from './")
        .skip(1)
        .filter_map(|rest| rest.split_once('\'').map(|(name, _)| name.to_owned()))
        .collect()
}

async fn the_portal_is_self_contained(db: TestDb) {
    let server = TestServer::start(&db).await;
    let (page, html) = get(&server, "/portal/").await;
    assert!(header(&page, "content-type").starts_with("text/html"));
    let policy = header(&page, "content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
    ] {
        assert!(policy.contains(directive), "{policy}");
    }
    assert!(
        html.contains(r#"<script type="module" src="portal.js">"#)
            && html.contains(r#"href="portal.css""#)
    );

    let (styles, css) = get(&server, "/portal/portal.css").await;
    assert!(header(&styles, "content-type").starts_with("text/css"));
    assert_eq!(header(&styles, "content-security-policy"), policy);
    let mut files = vec![("portal.css".to_owned(), css)];
    // The entry point and every module it imports, however deep, each under the page's policy.
    let mut pending = vec!["portal.js".to_owned()];
    let mut sdk_imported = false;
    while let Some(name) = pending.pop() {
        if files.iter().any(|(seen, _)| *seen == name) {
            continue;
        }
        let (module, script) = get(&server, &format!("/portal/{name}")).await;
        assert!(
            header(&module, "content-type").starts_with("text/javascript"),
            "{name}"
        );
        assert_eq!(header(&module, "content-security-policy"), policy, "{name}");
        sdk_imported |= script.contains("from '../sdk.js'");
        pending.extend(local_imports(&script));
        files.push((name, script));
    }
    assert!(sdk_imported, "the portal drives the SDK the server serves");
    assert!(
        files.len() > 3,
        "{:?}",
        files.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    // Nothing is loaded from another site: no absolute URL anywhere.
    files.push(("page".to_owned(), html));
    for (name, text) in &files {
        assert!(
            !text.contains("http://") && !text.contains("https://"),
            "the portal's {name} refers to another site"
        );
    }
    for missing in [
        "/portal/nope.js",
        "/portal/index.html",
        "/portal/..%2Fdashboard%2Fdashboard.js",
    ] {
        let answer = call(Method::GET, &server.url(missing), None, None).await;
        answer.assert_error(404, "route_not_found");
    }
}

backend_tests!(
    the_sdk_is_served_as_a_module_and_as_a_classic_script,
    the_portal_is_self_contained,
);
