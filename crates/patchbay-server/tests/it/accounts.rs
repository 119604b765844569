use patchbay_api::{ConfigurationUpdate, UpdateCredentialRequest, WorkflowStateUpdate};
use patchbay_sdk::admin::CredentialQuery;
use patchbay_store::CredentialStatus;
use patchbay_test_support::{TestDb, TestProject, TestServer, backend_tests};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::fixtures::{api_error, connect, connect_valid};

fn object(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn shared(settings: Value) -> UpdateCredentialRequest {
    UpdateCredentialRequest {
        config: Some(ConfigurationUpdate {
            shared_settings: Some(object(settings)),
            workflow_settings: None,
        }),
        external_id: None,
    }
}

async fn settings_are_validated_and_kept_per_account(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let a = connect_valid(&server, &project, "ada", "crm", "T-A").await;
    let b = connect_valid(&server, &project, "ada", "crm", "T-B").await;
    let ada = project.user("ada");
    let b_id = b.id.to_string();

    for (settings, field) in [
        (
            json!({"pipeline": "Sales", "colour": "red"}),
            "sharedSettings.colour",
        ),
        (json!({"pipeline": 42}), "sharedSettings.pipeline"),
        (
            json!({"pipeline": "Sales", "limit": "ten"}),
            "sharedSettings.limit",
        ),
        (
            json!({"pipeline": "Sales", "region": "mars"}),
            "sharedSettings.region",
        ),
        (json!({"limit": 3}), "sharedSettings.pipeline"),
    ] {
        let err = ada
            .update_credential(&b_id, &shared(settings.clone()))
            .await
            .unwrap_err();
        let patchbay_sdk::Error::Api { body } = &err else {
            panic!("{err}")
        };
        assert_eq!(
            (body.status, body.code.as_str()),
            (422, "validation_failed"),
            "{settings}"
        );
        assert_eq!(
            body.meta.as_ref().unwrap()["field"],
            field,
            "{settings}: {body:?}"
        );
    }
    let updated = ada
        .update_credential(&b_id, &shared(json!({"pipeline": "Sales", "region": "eu"})))
        .await
        .unwrap();
    assert_eq!(
        updated.configurations[0].shared_settings,
        json!({"pipeline": "Sales", "region": "eu"})
    );
    // Settings merge key by key.
    let merged = ada
        .update_credential(&b_id, &shared(json!({"limit": 5})))
        .await
        .unwrap();
    assert_eq!(
        merged.configurations[0].shared_settings,
        json!({"pipeline": "Sales", "region": "eu", "limit": 5})
    );
    let untouched = ada.credential(&a.id.to_string()).await.unwrap();
    assert_eq!(untouched.configurations[0].shared_settings, json!({}));

    let workflow = UpdateCredentialRequest {
        config: Some(ConfigurationUpdate {
            shared_settings: None,
            workflow_settings: Some(
                [(
                    "sync-contacts".to_owned(),
                    WorkflowStateUpdate {
                        enabled: Some(true),
                        settings: Some(object(json!({"folder": "Leads"}))),
                    },
                )]
                .into(),
            ),
        }),
        external_id: Some(Some("work".to_owned())),
    };
    let updated = ada.update_credential(&b_id, &workflow).await.unwrap();
    assert_eq!(updated.external_id.as_deref(), Some("work"));
    let state = &updated.configurations[0].workflow_settings["sync-contacts"];
    assert!(state.enabled);
    assert_eq!(state.settings, json!({"folder": "Leads"}));
    let unknown = UpdateCredentialRequest {
        config: Some(ConfigurationUpdate {
            shared_settings: None,
            workflow_settings: Some([("nope".to_owned(), WorkflowStateUpdate::default())].into()),
        }),
        external_id: None,
    };
    assert_eq!(
        ada.update_credential(&b_id, &unknown)
            .await
            .unwrap_err()
            .code(),
        Some("workflow_not_found")
    );
    let taken = UpdateCredentialRequest {
        config: None,
        external_id: Some(Some("work".to_owned())),
    };
    assert_eq!(
        ada.update_credential(&a.id.to_string(), &taken)
            .await
            .unwrap_err()
            .code(),
        Some("external_id_taken")
    );
    // Selected by its new label, the account is the one that has the settings.
    let me = ada.me().await.unwrap();
    assert_eq!(me.integrations["crm"].credential_id, Some(a.id));
    assert_eq!(me.integrations["crm"].shared_settings, json!({}));
}

async fn workflows_are_toggled_for_the_selected_account_only(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let a = connect_valid(&server, &project, "ada", "crm", "T-A").await;
    let b = connect_valid(&server, &project, "ada", "crm", "T-B").await;
    let theirs = connect_valid(&server, &project, "grace", "crm", "G-1").await;
    let ada = project.user("ada");

    let enabled = ada
        .enable_workflow("sync-contacts", Some(&b.id.to_string()))
        .await
        .unwrap();
    assert_eq!(enabled.id, b.id);
    let states = |id: Uuid, me: &patchbay_api::UserObject| {
        let credential = me.integrations["crm"]
            .all_credentials
            .iter()
            .find(|c| c.id == id)
            .unwrap();
        (
            credential.configurations[0].workflow_settings["sync-contacts"].enabled,
            credential.configurations[0].workflow_settings["notify"].enabled,
        )
    };
    let me = ada.me().await.unwrap();
    assert_eq!(states(a.id, &me), (false, true));
    assert_eq!(states(b.id, &me), (true, true));

    // No selection: the default account.
    let disabled = ada.disable_workflow("notify", None).await.unwrap();
    assert_eq!(disabled.id, a.id);
    let me = ada.me().await.unwrap();
    assert_eq!(states(a.id, &me), (false, false));
    assert_eq!(states(b.id, &me), (true, true));

    // Another user's account answers exactly like one that does not exist.
    let foreign = ada
        .enable_workflow("notify", Some(&theirs.id.to_string()))
        .await
        .unwrap_err();
    let missing = ada
        .enable_workflow("notify", Some(&Uuid::new_v4().to_string()))
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Some("credential_not_found"));
    assert_eq!(format!("{foreign}"), format!("{missing}"));
    assert_eq!(
        ada.enable_workflow("nope", None).await.unwrap_err().code(),
        Some("workflow_not_found")
    );
    let nobody = project
        .user("nobody")
        .enable_workflow("notify", None)
        .await
        .unwrap_err();
    assert_eq!(nobody.code(), Some("integration_not_installed"));
    let grace = project
        .user("grace")
        .credential(&a.id.to_string())
        .await
        .unwrap_err();
    assert_eq!(grace.code(), Some("credential_not_found"));
}

async fn explicit_selection_can_be_required(db: TestDb) {
    let server = TestServer::start(&db).await;
    let config = patchbay_test_support::TEST_CONFIG.replace(
        "allowedOrigins: [\"http://localhost:3000\"]",
        "allowedOrigins: [\"http://localhost:3000\"]\n  requireExplicitCredential: true",
    );
    let project = TestProject::with_config(&server, &config).await;
    let a = connect_valid(&server, &project, "ada", "crm", "T-A").await;
    let ada = project.user("ada");
    assert_eq!(
        ada.enable_workflow("notify", None).await.unwrap().id,
        a.id,
        "one account needs no selection"
    );
    let b = connect_valid(&server, &project, "ada", "crm", "T-B").await;
    let err = ada.enable_workflow("notify", None).await.unwrap_err();
    let body = api_error(&err, 409, "credential_selection_required");
    assert_eq!(
        body.meta.as_ref().unwrap()["credentialIds"],
        json!([a.id, b.id])
    );
    assert_eq!(
        ada.enable_workflow("notify", Some("ext:nope"))
            .await
            .unwrap_err()
            .code(),
        Some("credential_not_found")
    );
}

async fn admins_list_and_delete_accounts(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let other = TestProject::create(&server).await;
    let a = connect_valid(&server, &project, "ada", "crm", "T-A").await;
    let b = connect(
        &server,
        &project,
        "ada",
        "crm",
        "T-B",
        CredentialStatus::Invalid,
    )
    .await;
    let c = connect_valid(&server, &project, "grace", "chat", "C-1").await;
    let ids = |list: patchbay_api::CredentialList| {
        list.data.into_iter().map(|c| c.id).collect::<Vec<_>>()
    };
    let query =
        |user: Option<&str>, integration: Option<&str>, status: Option<&str>| CredentialQuery {
            user_id: user.map(str::to_owned),
            integration: integration.map(str::to_owned),
            status: status.map(str::to_owned),
            ..CredentialQuery::default()
        };
    assert_eq!(
        ids(project
            .admin
            .credentials(&query(None, None, None))
            .await
            .unwrap()),
        [a.id, b.id, c.id]
    );
    assert_eq!(
        ids(project
            .admin
            .credentials(&query(Some("ada"), None, None))
            .await
            .unwrap()),
        [a.id, b.id]
    );
    assert_eq!(
        ids(project
            .admin
            .credentials(&query(None, Some("chat"), None))
            .await
            .unwrap()),
        [c.id]
    );
    assert_eq!(
        ids(project
            .admin
            .credentials(&query(None, None, Some("INVALID")))
            .await
            .unwrap()),
        [b.id]
    );
    assert_eq!(
        project
            .admin
            .credentials(&query(None, Some("nope"), None))
            .await
            .unwrap_err()
            .code(),
        Some("integration_not_found")
    );
    assert_eq!(
        project
            .admin
            .credentials(&query(None, None, Some("BROKEN")))
            .await
            .unwrap_err()
            .code(),
        Some("invalid_parameter")
    );
    assert!(
        ids(other
            .admin
            .credentials(&query(None, None, None))
            .await
            .unwrap())
        .is_empty()
    );

    let refused = async |admin: &patchbay_sdk::AdminClient| {
        let err = admin.delete_credential(a.id).await.unwrap_err();
        assert_eq!(err.code(), Some("credential_not_found"), "{err:?}");
    };
    refused(&other.admin).await;
    project.admin.delete_credential(a.id).await.unwrap();
    refused(&project.admin).await;
    let me = project.user("ada").me().await.unwrap();
    assert_eq!(
        me.integrations["crm"]
            .all_credentials
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        [b.id]
    );
}

async fn admins_page_through_the_project_s_accounts(db: TestDb) {
    let server = TestServer::start(&db).await;
    let project = TestProject::create(&server).await;
    let mut connected = Vec::new();
    for (n, (user, integration)) in [
        ("ada", "crm"),
        ("grace", "chat"),
        ("lin", "crm"),
        ("ada", "chat"),
        ("grace", "crm"),
        ("lin", "chat"),
        ("ada", "crm"),
    ]
    .into_iter()
    .enumerate()
    {
        let account = connect_valid(&server, &project, user, integration, &format!("P-{n}")).await;
        connected.push((account.id, integration));
    }
    let page = async |integration: Option<&str>, limit: u32, cursor: Option<String>| {
        project
            .admin
            .credentials(&CredentialQuery {
                integration: integration.map(str::to_owned),
                limit: Some(limit),
                cursor,
                ..CredentialQuery::default()
            })
            .await
            .unwrap()
    };
    let whole = page(None, 1000, None).await;
    assert_eq!(whole.next_cursor, None);
    let all: Vec<Uuid> = whole.data.iter().map(|c| c.id).collect();
    let mut expected: Vec<Uuid> = connected.iter().map(|(id, _)| *id).collect();
    expected.sort();
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(sorted, expected, "every account, once");

    // Pages of 3 give the same accounts in the same order: 3, 3, then 1.
    let mut paged = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor = None;
    loop {
        let next = page(None, 3, cursor).await;
        sizes.push(next.data.len());
        paged.extend(next.data.iter().map(|c| c.id));
        cursor = next.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(sizes, [3, 3, 1]);
    assert_eq!(paged, all);

    // With a filter, the pages hold only what it matches.
    let crm: Vec<Uuid> = all
        .iter()
        .copied()
        .filter(|id| connected.iter().any(|(c, i)| c == id && *i == "crm"))
        .collect();
    let first = page(Some("crm"), 2, None).await;
    let second = page(Some("crm"), 2, first.next_cursor.clone()).await;
    assert!(second.next_cursor.is_none());
    let ids: Vec<Uuid> = first
        .data
        .iter()
        .chain(&second.data)
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, crm);

    // A page size out of range or a cursor this API never gave is refused.
    let limit = |limit| CredentialQuery {
        limit: Some(limit),
        ..CredentialQuery::default()
    };
    let cursor = |cursor: &str| CredentialQuery {
        cursor: Some(cursor.to_owned()),
        ..CredentialQuery::default()
    };
    for refused in [
        limit(0),
        limit(1001),
        cursor("garbage"),
        cursor("12.not-a-uuid"),
        cursor("x.5a7c6b00-de30-4000-8000-000000000001"),
    ] {
        let err = project.admin.credentials(&refused).await.unwrap_err();
        api_error(&err, 400, "invalid_parameter");
    }
}

backend_tests!(
    settings_are_validated_and_kept_per_account,
    workflows_are_toggled_for_the_selected_account_only,
    explicit_selection_can_be_required,
    admins_list_and_delete_accounts,
    admins_page_through_the_project_s_accounts,
);
