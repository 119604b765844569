//! A production server's `http` steps never reach this machine or its
//! network; `--allow-private-network` lifts that for local development.

use patchbay_api::InstallRequest;
use patchbay_server::sandbox::SandboxConfig;
use patchbay_test_support::{ADMIN_TOKEN, FakeProvider, TestDb, TestProject, connect_crm};
use serde_json::json;

use crate::binary::{Running, serve_command};

fn serve(db: &TestDb, dir: &std::path::Path, extra: &[&str]) -> Running {
    let mut command = serve_command(dir, db.url());
    command.args(extra).env("PATCHBAY_ADMIN_TOKEN", ADMIN_TOKEN);
    Running::start(&mut command).unwrap()
}

#[tokio::test]
async fn http_steps_refuse_private_addresses_unless_allowed() {
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let workflow = format!(
        r#"
  - id: peek
    integration: crm
    defaultEnabled: true
    trigger: {{type: request}}
    steps:
      - {{id: call, type: http, method: GET, url: "{}/api/me"}}
      - {{id: reply, type: response, status: 200, body: {{reached: true}}}}
"#,
        provider.base_url
    );
    let document = format!("{}{workflow}", provider.config_document());
    for (flags, refused) in [(&[][..], true), (&["--allow-private-network"][..], false)] {
        let db = TestDb::sqlite().await;
        let dir = tempfile::tempdir().unwrap();
        let server = serve(&db, dir.path(), flags);
        let project = TestProject::at(&server.base_url, &document).await;
        let ada = project.user("ada");
        connect_crm(&ada, &InstallRequest::default(), "acct_ada").await;
        // Both fail: refused before a byte goes out, or reached and turned
        // away by the sandbox, which wants a token the http step does not send.
        let result = ada.trigger_workflow("peek", &json!({}), None).await;
        let Err(patchbay_sdk::Error::Api { body }) = result else {
            panic!("expected the run to fail, got {result:?}");
        };
        assert_eq!(body.code, "workflow_failed");
        let expected = if refused {
            "not a public address"
        } else {
            "answered 401"
        };
        assert!(body.message.contains(expected), "{}", body.message);
    }
}
