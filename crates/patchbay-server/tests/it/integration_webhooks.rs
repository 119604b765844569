//! Providers' webhooks, sent by a real HTTP client to `POST /webhooks/{projectId}/{integration}`:
//! verified with the integration's secret, stored, deduplicated by event id, and routed to
//! the workflows of exactly the accounts they concern.

use std::time::{Duration, Instant};

use patchbay_api::{ExecutionStatus, InboundDeliveryStatus, WorkflowExecution};
use patchbay_sdk::UserClient;
use patchbay_sdk::admin::{ExecutionQuery, InboundQuery};
use patchbay_server::sandbox::{
    DEFAULT_WEBHOOK_SECRET, SIGNATURE_HEADER, SandboxConfig, definition, sign,
};
use patchbay_test_support::{
    FakeProvider, TestDb, TestProject, TestServer, backend_tests, connect_another_crm,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// A workflow per event of the sandbox: the first reads the new contact through the API as
/// the run's account (another account's contact would be a 404 and fail the run).
const WORKFLOWS: &str = r#"
  - id: on-contact
    integration: crm
    defaultEnabled: true
    trigger: {type: integration, event: contact.created}
    steps:
      - {id: contact, type: request, method: GET, path: "/contacts/{{ trigger.payload.data.id }}"}
      - {id: who, type: function, code: "return credential.providerId + ' ' + steps.contact.output.body.name;"}
  - id: on-update
    integration: crm
    defaultEnabled: false
    trigger: {type: integration, event: contact.updated}
    steps:
      - {id: who, type: function, code: "return credential.providerId;"}
"#;

struct Setup {
    server: TestServer,
    provider: FakeProvider,
    project: TestProject,
    ada: UserClient,
    bob: UserClient,
}

async fn setup(db: &TestDb) -> Setup {
    let server = TestServer::start(db).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let document = format!("{}{WORKFLOWS}", provider.config_document());
    let project = TestProject::with_config(&server, &document).await;
    let ada = project.user("ada");
    let bob = project.user("bob");
    Setup {
        server,
        provider,
        project,
        ada,
        bob,
    }
}

impl Setup {
    fn url(&self, integration: &str) -> String {
        self.server
            .url(&format!("/webhooks/{}/{integration}", self.project.id))
    }

    /// Sends `body` to the `crm` webhook URL signed with `secret` at `time`.
    async fn send_signed(&self, body: &Value, secret: &str, time: i64) -> (u16, String) {
        let text = body.to_string();
        let response = reqwest::Client::new()
            .post(self.url("crm"))
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, sign(secret, time, &text))
            .body(text)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn send(&self, body: &Value) -> Value {
        let (status, text) = self
            .send_signed(body, DEFAULT_WEBHOOK_SECRET, chrono::Utc::now().timestamp())
            .await;
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).unwrap()
    }

    async fn runs(&self, workflow: &str) -> Vec<WorkflowExecution> {
        self.project
            .admin
            .executions(&ExecutionQuery {
                workflow_id: Some(workflow.into()),
                ..Default::default()
            })
            .await
            .unwrap()
            .data
    }

    /// Waits until `count` runs of `workflow` have ended; then, a moment later, checks that
    /// no other run appeared.
    async fn finished_runs(&self, workflow: &str, count: usize) -> Vec<WorkflowExecution> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let runs = self.runs(workflow).await;
            if runs.len() >= count && runs.iter().all(|run| run.date_ended.is_some()) {
                break;
            }
            assert!(Instant::now() < deadline, "{workflow}: {runs:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let runs = self.runs(workflow).await;
        assert_eq!(runs.len(), count, "{workflow}: {runs:?}");
        runs
    }

    /// `/contacts` of the sandbox's API through the proxy, as `user`'s account `credential`.
    fn contacts(
        &self,
        method: reqwest::Method,
        user: &str,
        credential: Uuid,
    ) -> reqwest::RequestBuilder {
        let token = self.project.signer.mint(user).unwrap();
        reqwest::Client::new()
            .request(
                method,
                self.server.url(&format!(
                    "/projects/{}/sdk/proxy/crm/contacts",
                    self.project.id
                )),
            )
            .bearer_auth(token)
            .header("X-Paragon-Credential", credential.to_string())
    }

    /// Creates a contact through the proxy as `credential`, an account of Ada's.
    async fn create_contact(&self, credential: Uuid, name: &str) {
        let created = self
            .contacts(reqwest::Method::POST, "ada", credential)
            .json(&json!({ "name": name }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
    }

    async fn deliveries(&self) -> Vec<patchbay_api::InboundDelivery> {
        self.inbound(InboundQuery::default()).await.unwrap().data
    }

    async fn inbound(
        &self,
        query: InboundQuery,
    ) -> Result<patchbay_api::InboundDeliveryPage, patchbay_sdk::Error> {
        self.project.admin.inbound_deliveries(&query).await
    }
}

fn event(id: &str, event_type: &str, account: &str, contact: &str) -> Value {
    json!({
        "id": id,
        "type": event_type,
        "account": account,
        "created": 0,
        "data": {"id": contact, "name": "Seeded"},
    })
}

/// The first seeded contact of `credential`'s account, read through the proxy as `user`.
async fn first_contact(s: &Setup, user: &str, credential: Uuid) -> Value {
    let response = s
        .contacts(reqwest::Method::GET, user, credential)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    answer["output"][0].clone()
}

/// Ada has two accounts of `crm` (Ada's and Grace's at the sandbox), Bob has Grace's too: a
/// delivery about Ada's account runs for Ada's credential alone; one about Grace's runs once
/// for each credential that holds it, each as itself.
async fn deliveries_run_the_workflows_of_exactly_the_accounts_they_concern(db: TestDb) {
    let s = setup(&db).await;
    let ada_ada = connect_another_crm(&s.ada, "acct_ada").await;
    let ada_grace = connect_another_crm(&s.ada, "acct_grace").await;
    let bob_grace = connect_another_crm(&s.bob, "acct_grace").await;
    let contact = first_contact(&s, "ada", ada_ada).await;

    let receipt = s
        .send(&event(
            "evt_1",
            "contact.created",
            "acct_ada",
            contact["id"].as_str().unwrap(),
        ))
        .await;
    assert_eq!(receipt["status"], "received");
    let runs = s.finished_runs("on-contact", 1).await;
    assert_eq!(runs[0].credential_id, ada_ada);
    assert_eq!(runs[0].user_id, "ada");
    assert_eq!(
        runs[0].status,
        ExecutionStatus::Succeeded,
        "{:?}",
        runs[0].error
    );
    assert_eq!(runs[0].trigger["type"], "integration");
    assert_eq!(runs[0].trigger["event"], "contact.created");
    assert_eq!(runs[0].trigger["eventId"], "evt_1");
    assert_eq!(runs[0].trigger["deliveryId"], receipt["id"]);
    let run = s.project.admin.execution(runs[0].id).await.unwrap();
    let who = run
        .steps
        .unwrap()
        .into_iter()
        .find(|step| step.id == "who")
        .unwrap();
    assert_eq!(
        who.output,
        Some(json!(format!(
            "acct_ada {}",
            contact["name"].as_str().unwrap()
        )))
    );

    let grace_contact = first_contact(&s, "bob", bob_grace).await;
    s.send(&event(
        "evt_2",
        "contact.created",
        "acct_grace",
        grace_contact["id"].as_str().unwrap(),
    ))
    .await;
    let runs = s.finished_runs("on-contact", 3).await;
    let mut grace_runs: Vec<(Uuid, &str)> = runs
        .iter()
        .filter(|run| run.trigger["eventId"] == "evt_2")
        .map(|run| (run.credential_id, run.user_id.as_str()))
        .collect();
    grace_runs.sort();
    let mut expected = vec![(ada_grace, "ada"), (bob_grace, "bob")];
    expected.sort();
    assert_eq!(grace_runs, expected);
    assert!(
        runs.iter()
            .all(|run| run.status == ExecutionStatus::Succeeded),
        "{runs:?}"
    );

    let deliveries = s.deliveries().await;
    assert_eq!(deliveries.len(), 2);
    assert_eq!(
        deliveries[0].event_id.as_deref(),
        Some("evt_2"),
        "newest first"
    );
    assert_eq!(deliveries[0].status, InboundDeliveryStatus::Routed);
    assert_eq!(deliveries[0].account_key, "acct_grace");
    assert_eq!(deliveries[0].integration, "crm");
    let mut concerned = deliveries[0].credential_ids.clone();
    concerned.sort();
    let mut both = vec![ada_grace, bob_grace];
    both.sort();
    assert_eq!(concerned, both);
    assert_eq!(deliveries[0].execution_ids.len(), 2);
    assert_eq!(deliveries[0].payload["data"]["id"], grace_contact["id"]);
}

/// A forged, altered, unsigned or stale delivery is refused with 401 and leaves nothing; the
/// same event sent twice runs once.
async fn forged_stale_and_repeated_deliveries_start_nothing(db: TestDb) {
    let s = setup(&db).await;
    let credential = connect_another_crm(&s.ada, "acct_ada").await;
    let contact = first_contact(&s, "ada", credential).await;
    let body = event(
        "evt_9",
        "contact.created",
        "acct_ada",
        contact["id"].as_str().unwrap(),
    );
    let now = chrono::Utc::now().timestamp();

    let refused = |(status, text): (u16, String)| {
        assert_eq!(status, 401, "{text}");
        let error: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(error["code"], "invalid_signature", "{error}");
        error["message"].as_str().unwrap().to_owned()
    };
    refused(s.send_signed(&body, "not-the-secret", now).await);
    let message = refused(
        s.send_signed(&body, DEFAULT_WEBHOOK_SECRET, now - 600)
            .await,
    );
    assert!(message.contains("300 s"), "{message}");
    // Signed for one body, sent with another.
    let signature = sign(DEFAULT_WEBHOOK_SECRET, now, &body.to_string());
    let mut altered = body.clone();
    altered["account"] = json!("acct_grace");
    let sent = reqwest::Client::new()
        .post(s.url("crm"))
        .header(SIGNATURE_HEADER, signature)
        .body(altered.to_string())
        .send()
        .await
        .unwrap();
    refused((sent.status().as_u16(), sent.text().await.unwrap()));
    let unsigned = reqwest::Client::new()
        .post(s.url("crm"))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let message = refused((unsigned.status().as_u16(), unsigned.text().await.unwrap()));
    assert!(message.contains("missing"), "{message}");
    assert!(
        s.deliveries().await.is_empty(),
        "a refused delivery was stored"
    );

    let first = s.send(&body).await;
    assert_eq!(first["status"], "received");
    let again = s.send(&body).await;
    assert_eq!(again, json!({"status": "duplicate", "id": null}));
    let runs = s.finished_runs("on-contact", 1).await;
    assert_eq!(runs[0].credential_id, credential);
    assert_eq!(s.deliveries().await.len(), 1);
}

/// A delivery about no connected account is kept, `unmatched`; one whose accounts run no
/// workflow for its event is kept, `unhandled`; filters and pages read them back.
async fn deliveries_that_start_nothing_are_kept_and_listed(db: TestDb) {
    let s = setup(&db).await;
    let credential = connect_another_crm(&s.ada, "acct_ada").await;
    s.send(&event("evt_k", "contact.created", "acct_katherine", "ct_1"))
        .await;
    // `on-update` is not enabled by default.
    s.send(&event("evt_u", "contact.updated", "acct_ada", "ct_1"))
        .await;
    s.send(&event("evt_x", "contact.merged", "acct_ada", "ct_1"))
        .await;

    let deliveries = s.deliveries().await;
    let status_of = |id: &str| {
        let found = deliveries
            .iter()
            .find(|d| d.event_id.as_deref() == Some(id))
            .unwrap();
        (
            found.status,
            found.credential_ids.clone(),
            found.execution_ids.len(),
        )
    };
    assert_eq!(
        status_of("evt_k"),
        (InboundDeliveryStatus::Unmatched, vec![], 0)
    );
    assert_eq!(
        status_of("evt_u"),
        (InboundDeliveryStatus::Unhandled, vec![credential], 0)
    );
    assert_eq!(
        status_of("evt_x"),
        (InboundDeliveryStatus::Unhandled, vec![credential], 0)
    );

    // Enabled for the account, the same kind of event now runs.
    s.ada
        .enable_workflow("on-update", Some(&credential.to_string()))
        .await
        .unwrap();
    s.send(&event("evt_u2", "contact.updated", "acct_ada", "ct_1"))
        .await;
    let runs = s.finished_runs("on-update", 1).await;
    assert_eq!(runs[0].credential_id, credential);

    let unmatched = s
        .inbound(InboundQuery {
            status: Some("unmatched".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(unmatched.data.len(), 1);
    assert_eq!(unmatched.data[0].account_key, "acct_katherine");
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = s
            .inbound(InboundQuery {
                limit: Some(3),
                cursor: cursor.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        seen.extend(page.data.into_iter().map(|d| d.event_id.unwrap()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["evt_u2", "evt_x", "evt_u", "evt_k"]);
    let bad = s
        .inbound(InboundQuery {
            status: Some("lost".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some("invalid_parameter"), "{bad:?}");
}

/// The URL handshake is answered only when signed; integrations without webhooks, unknown
/// integrations and projects, and bodies that are not text are refused with their codes.
async fn handshakes_and_what_cannot_take_deliveries(db: TestDb) {
    let s = setup(&db).await;
    let handshake = json!({"type": "url_verification", "challenge": "c-123"});
    let (status, text) = s
        .send_signed(
            &handshake,
            DEFAULT_WEBHOOK_SECRET,
            chrono::Utc::now().timestamp(),
        )
        .await;
    assert_eq!((status, text.as_str()), (200, "c-123"));
    let (status, _) = s
        .send_signed(&handshake, "wrong", chrono::Utc::now().timestamp())
        .await;
    assert_eq!(status, 401);
    assert!(
        s.deliveries().await.is_empty(),
        "a handshake is not a delivery"
    );

    let client = reqwest::Client::new();
    let code = |url: String, body: &'static [u8]| {
        let client = client.clone();
        async move {
            let response = client.post(url).body(body).send().await.unwrap();
            let status = response.status().as_u16();
            let error: Value = response.json().await.unwrap();
            (status, error["code"].as_str().unwrap().to_owned())
        }
    };
    assert_eq!(
        code(s.url("keys"), b"{}").await,
        (404, "webhooks_not_configured".to_owned())
    );
    assert_eq!(
        code(s.url("nope"), b"{}").await,
        (404, "integration_not_found".to_owned())
    );
    let unknown_project = s.server.url(&format!("/webhooks/{}/crm", Uuid::new_v4()));
    assert_eq!(
        code(unknown_project, b"{}").await,
        (404, "project_not_found".to_owned())
    );
    let malformed = s.server.url("/webhooks/not-a-uuid/crm");
    assert_eq!(
        code(malformed, b"{}").await,
        (404, "project_not_found".to_owned())
    );
    assert_eq!(
        code(s.url("crm"), b"\xff\xfe").await,
        (400, "invalid_delivery".to_owned())
    );
    let huge = client
        .post(s.url("crm"))
        .body(vec![b'x'; 3 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
    let error: Value = huge.json().await.unwrap();
    assert_eq!(error["code"], "payload_too_large");
}

/// The sandbox itself, pointed at the webhook URL: it shakes hands, then a contact created
/// through the proxy as one account comes back as a signed delivery that runs the workflow
/// as that account.
async fn the_sandbox_webhooks_route_back_to_the_account_that_made_the_change(db: TestDb) {
    let s = setup(&db).await;
    connect_another_crm(&s.ada, "acct_ada").await;
    let grace = connect_another_crm(&s.ada, "acct_grace").await;
    s.provider.sandbox.send_webhooks_to(Some(s.url("crm")));
    s.create_contact(grace, "Alan Turing").await;
    let runs = s.finished_runs("on-contact", 1).await;
    assert_eq!(runs[0].credential_id, grace);
    assert_eq!(
        runs[0].status,
        ExecutionStatus::Succeeded,
        "{:?}",
        runs[0].error
    );
    assert_eq!(runs[0].trigger["payload"]["data"]["name"], "Alan Turing");
    let run = s.project.admin.execution(runs[0].id).await.unwrap();
    let who = run
        .steps
        .unwrap()
        .into_iter()
        .find(|step| step.id == "who")
        .unwrap();
    assert_eq!(who.output, Some(json!("acct_grace Alan Turing")));
    let stats = s.provider.sandbox.stats();
    assert_eq!((stats.webhooks_delivered, stats.webhooks_failed), (1, 0));
}

/// With a provider whose accounts each register their webhook: connecting registers it at the
/// integration's URL, its deliveries run the workflow as that account, and disconnecting
/// removes it.
async fn accounts_register_their_webhook_and_remove_it_when_they_leave(db: TestDb) {
    let server = TestServer::start(&db).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let document = format!("{}{WORKFLOWS}", provider.config_document()).replace(
        &definition::webhooks().to_string(),
        &definition::webhooks_per_account().to_string(),
    );
    let project = TestProject::with_config(&server, &document).await;
    let s = Setup {
        server,
        provider,
        ada: project.user("ada"),
        bob: project.user("bob"),
        project,
    };
    let registered = async || -> Vec<Value> {
        let listed: Value = reqwest::Client::new()
            .get(format!("{}/api/webhooks", s.provider.base_url))
            .header("X-Api-Key", GRACE_KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        listed.as_array().unwrap().clone()
    };
    assert!(registered().await.is_empty());
    let grace = connect_another_crm(&s.ada, "acct_grace").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while registered().await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the account never registered its webhook"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let subscriptions = registered().await;
    assert_eq!(subscriptions.len(), 1);
    assert_eq!(subscriptions[0]["url"], s.url("crm"));

    s.create_contact(grace, "Grace's new contact").await;
    let runs = s.finished_runs("on-contact", 1).await;
    assert_eq!(runs[0].credential_id, grace);
    assert_eq!(
        runs[0].status,
        ExecutionStatus::Succeeded,
        "{:?}",
        runs[0].error
    );

    s.ada
        .uninstall("crm", Some(&grace.to_string()))
        .await
        .unwrap();
    assert!(
        registered().await.is_empty(),
        "disconnecting removes the webhook"
    );
}

/// Grace's sandbox API key, for reading her account as the sandbox sees it.
const GRACE_KEY: &str = "sbx_key_grace_8a1d6f04c2e9";

backend_tests!(
    accounts_register_their_webhook_and_remove_it_when_they_leave,
    deliveries_run_the_workflows_of_exactly_the_accounts_they_concern,
    forged_stale_and_repeated_deliveries_start_nothing,
    deliveries_that_start_nothing_are_kept_and_listed,
    handshakes_and_what_cannot_take_deliveries,
    the_sandbox_webhooks_route_back_to_the_account_that_made_the_change,
);
