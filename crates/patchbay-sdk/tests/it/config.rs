//! `AdminClient::plan_config`: what an apply would change, from a real
//! server, with nothing changed.

use patchbay_sdk::api::{ConfigChanges, PlannedAccountDeletion};
use patchbay_test_support::{TEST_CONFIG, TestDb, TestProject, TestServer};

/// [`TEST_CONFIG`] with its settings and the CRM's name changed, the `chat`
/// integration replaced by a catalogue one, and the `notify` workflow gone.
fn edited_document() -> String {
    let (head, chat_onwards) = TEST_CONFIG.split_once("  chat:\n").unwrap();
    let (_, workflows) = chat_onwards.split_once("workflows:\n").unwrap();
    let (kept_workflows, _notify) = workflows.split_once("  - id: notify").unwrap();
    format!("{head}  billing:\n    provider: stripe\nworkflows:\n{kept_workflows}")
        .replace("http://localhost:3000", "https://app.example.com")
        .replace("name: Acme CRM", "name: Acme CRM (EU)")
}

fn changes(added: &[&str], changed: &[&str], removed: &[&str]) -> ConfigChanges {
    let owned = |names: &[&str]| names.iter().map(|name| (*name).to_owned()).collect();
    ConfigChanges {
        added: owned(added),
        changed: owned(changed),
        removed: owned(removed),
    }
}

#[tokio::test]
async fn a_plan_says_what_would_change_and_changes_nothing() {
    let db = TestDb::sqlite().await;
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let (_, account) = project.connect_api_key("ada", "chat", "key-ada").await;
    let before = project.admin.config().await.unwrap();
    let document = edited_document();

    // Without prune, removing `chat` and its account is refused, as the apply would be.
    let refused = project
        .admin
        .plan_config(&document, false)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("integration_in_use"), "{refused}");

    let plan = project.admin.plan_config(&document, true).await.unwrap();
    assert!(plan.settings_changed);
    assert_eq!(
        plan.integrations,
        changes(&["billing"], &["crm"], &["chat"])
    );
    assert_eq!(plan.workflows, changes(&[], &[], &["notify"]));
    assert_eq!(
        plan.deleted_accounts,
        [PlannedAccountDeletion {
            integration: "chat".to_owned(),
            credential_id: account.id,
            user_id: "ada".to_owned(),
        }]
    );

    // Nothing changed: the same document, the same account.
    assert_eq!(project.admin.config().await.unwrap(), before);
    let accounts = project
        .admin
        .credentials(&Default::default())
        .await
        .unwrap();
    assert_eq!(
        accounts
            .data
            .iter()
            .map(|credential| credential.id)
            .collect::<Vec<_>>(),
        [account.id]
    );

    // A broken document is refused with the paths of its errors.
    let broken = document.replace("provider: stripe", "provider: no-such-provider");
    let Err(patchbay_sdk::Error::Api { body }) = project.admin.plan_config(&broken, true).await
    else {
        panic!("a broken document is planned")
    };
    assert_eq!(
        (body.status, body.code.as_str()),
        (422, "validation_failed")
    );
    let errors = body.meta.unwrap()["errors"].clone();
    assert_eq!(
        errors[0]["path"], "integrations.billing.provider",
        "{errors}"
    );

    // The plan was right: applying the document does what it said.
    let applied = project.admin.apply_config(&document, true).await.unwrap();
    assert_eq!(applied.integrations, ["crm", "billing"]);
    assert_eq!(applied.workflows, ["sync-contacts"]);
    let after = project.admin.config().await.unwrap();
    assert_eq!(after.0["integrations"]["crm"]["name"], "Acme CRM (EU)");
}
