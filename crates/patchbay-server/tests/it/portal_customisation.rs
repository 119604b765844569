//! How the Connect Portal presents each integration to each user: accent colours, the
//! overview rendered to sanitised HTML, and the workflows the user may see, in display order.

use patchbay_test_support::{TestDb, TestProject, TestServer, backend_tests};
use serde_json::{Map, Value, json};

const DOCUMENT: &str = r##"
settings:
  portal: {accentColor: "#3B5BDB"}
integrations:
  crm:
    provider: stripe
    portal:
      accentColor: "#0B7285"
      overview: |
        # Billing

        Keeps **invoices** in sync. [Docs](https://docs.example.com/billing "Read <b>me</b>").

        <script>alert('overview')</script>

        Click [here](javascript:alert(1)) or <img src=x onerror="alert(2)">.

        ![logo](data:image/png;base64,PHN2Zz4=)
      workflowOrder: [pro-report, everyone]
  pay:
    provider: stripe
workflows:
  - id: first
    integration: crm
    trigger: {type: request}
    steps: [{id: a, type: function, code: "return 1;"}]
  - id: everyone
    integration: crm
    portal: {help: Runs for every account}
    trigger: {type: request}
    steps: [{id: a, type: function, code: "return 1;"}]
  - id: pro-report
    integration: crm
    portal:
      help: A weekly report
      showWhen: [{meta: plan, in: [pro, team]}, {meta: region, equals: eu}]
    trigger: {type: request}
    steps: [{id: a, type: function, code: "return 1;"}]
  - id: internal
    integration: crm
    portal: {hidden: true}
    trigger: {type: request}
    steps: [{id: a, type: function, code: "return 1;"}]
  - id: no-beta
    integration: crm
    portal: {showWhen: [{meta: beta, exists: false}]}
    trigger: {type: request}
    steps: [{id: a, type: function, code: "return 1;"}]
"##;

/// `GET /sdk/integrations` as a user with `meta`, by integration type.
async fn integrations(
    server: &TestServer,
    project: &TestProject,
    user: &str,
    meta: Value,
) -> Map<String, Value> {
    let meta = meta.as_object().cloned().unwrap_or_default();
    let token = project.signer.mint_with(user, meta, None).unwrap();
    let response = reqwest::Client::new()
        .get(server.url(&format!("/projects/{}/sdk/integrations", project.id)))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let listed: Vec<Value> = response.json().await.unwrap();
    listed
        .into_iter()
        .map(|integration| {
            (
                integration["type"].as_str().unwrap().to_owned(),
                integration,
            )
        })
        .collect()
}

fn workflow_ids(integration: &Value) -> Vec<&str> {
    integration["portal"]["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|workflow| workflow["id"].as_str().unwrap())
        .collect()
}

/// Two users with different metadata see different workflows, in the integration's order,
/// without the hidden one; colours fall back from the integration to the project.
async fn each_user_sees_the_workflows_shown_to_them(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::with_config(&server, DOCUMENT).await;

    let pro = integrations(
        &server,
        &project,
        "ada",
        json!({"plan": "pro", "region": "eu"}),
    )
    .await;
    let crm = &pro["crm"];
    assert_eq!(
        workflow_ids(crm),
        ["pro-report", "everyone", "first", "no-beta"],
        "{crm}"
    );
    assert_eq!(
        crm["portal"]["workflows"][0],
        json!({"id": "pro-report", "help": "A weekly report"})
    );
    assert_eq!(
        crm["portal"]["workflows"][2],
        json!({"id": "first", "help": null})
    );
    assert_eq!(crm["portal"]["accentColor"], "#0B7285");
    assert_eq!(pro["pay"]["portal"]["accentColor"], "#3B5BDB");
    assert_eq!(pro["pay"]["portal"]["overviewHtml"], Value::Null);
    assert_eq!(pro["pay"]["portal"]["workflows"], json!([]));
    // The workflows' own listing is unchanged: every workflow of the integration.
    assert_eq!(crm["workflows"].as_array().unwrap().len(), 5);

    let free = integrations(
        &server,
        &project,
        "bob",
        json!({"plan": "free", "beta": true}),
    )
    .await;
    assert_eq!(workflow_ids(&free["crm"]), ["everyone", "first"]);
    let nothing = integrations(&server, &project, "cy", json!({})).await;
    assert_eq!(
        workflow_ids(&nothing["crm"]),
        ["everyone", "first", "no-beta"]
    );
    // The metadata stored for the user counts: a later token's claims are merged into it.
    let later = integrations(&server, &project, "ada", json!({"region": "eu"})).await;
    assert_eq!(
        workflow_ids(&later["crm"]),
        ["pro-report", "everyone", "first", "no-beta"]
    );
    let moved = integrations(&server, &project, "ada", json!({"region": "us"})).await;
    assert_eq!(
        workflow_ids(&moved["crm"]),
        ["everyone", "first", "no-beta"]
    );
}

/// The overview is Markdown rendered on the server, with no raw HTML and no URL but http(s)
/// and mailto.
async fn the_overview_arrives_as_sanitised_html(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::with_config(&server, DOCUMENT).await;
    let listed = integrations(&server, &project, "ada", json!({})).await;
    let html = listed["crm"]["portal"]["overviewHtml"].as_str().unwrap();
    assert!(html.contains("<h1>Billing</h1>"), "{html}");
    assert!(html.contains("<strong>invoices</strong>"), "{html}");
    assert!(
        html.contains(
            r#"<a href="https://docs.example.com/billing" title="Read &lt;b&gt;me&lt;/b&gt;">Docs</a>"#
        ),
        "{html}"
    );
    assert!(
        html.contains("&lt;script&gt;alert('overview')&lt;/script&gt;"),
        "{html}"
    );
    assert!(html.contains("Click here or &lt;img"), "{html}");
    for forbidden in [
        "<script",
        "javascript:",
        "<img src=\"x\"",
        "<img src=x",
        "data:",
        "<svg",
    ] {
        assert!(!html.contains(forbidden), "`{forbidden}` in {html}");
    }
    assert!(html.contains("<p>logo</p>"), "{html}");
}

backend_tests!(
    each_user_sees_the_workflows_shown_to_them,
    the_overview_arrives_as_sanitised_html,
);
