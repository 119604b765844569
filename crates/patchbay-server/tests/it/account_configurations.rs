//! Several configurations of one account: created, listed, changed and destroyed by its user,
//! each with its own settings, workflow states and metadata, selected per call with
//! `X-Paragon-Configuration-Id`, and limited by the token's permissions.

use std::time::Duration;

use futures_util::StreamExt as _;
use patchbay_api::{
    ConfigurationUpdate, CreateConfigurationRequest, CredentialConfiguration, EventType,
    ExecutionStatus, UpdateConfigurationRequest, UpdateCredentialRequest, WorkflowStateUpdate,
};
use patchbay_sdk::admin::ExecutionQuery;
use patchbay_sdk::{Error, ProjectEventData, UserClient};
use patchbay_test_support::{TestDb, TestProject, TestServer, backend_tests};
use serde_json::{Map, Value, json};

use crate::fixtures::connect_valid;
use crate::secrets_at_rest::{contains, database_bytes};

const CONFIG: &str = r#"
integrations:
  crm:
    name: Acme CRM
    auth:
      type: api_key
      fields: [{id: apiKey, title: API key, secret: true}]
      inject: {header: Authorization, value: "Bearer {{ credentials.apiKey }}"}
    api:
      baseUrl: https://api.acme.example
    userSettings:
      - {id: pipeline, type: text, title: Pipeline}
      - {id: apiPassword, type: password, title: Password of the old API}
workflows:
  - id: echo
    integration: crm
    defaultEnabled: true
    trigger: {type: request}
    inputs:
      - {id: folder, type: text, title: Folder}
    steps:
      - id: reply
        type: response
        status: 200
        body:
          configuration: "{{ configuration.id }}"
          label: "{{ configuration.externalId }}"
          team: "{{ configuration.meta.team }}"
          pipeline: "{{ settings.pipeline }}"
          password: "{{ settings.apiPassword }}"
          folder: "{{ settings.folder }}"
  - id: on-contact
    integration: crm
    defaultEnabled: false
    trigger: {type: app_event, event: Contact Created}
    steps:
      - {id: note, type: function, code: "return settings.pipeline;"}
"#;

const PASSWORD: &str = "old-api-password-5f3c9e1a";

fn object(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn api_code(result: Result<impl std::fmt::Debug, Error>) -> (u16, String) {
    match result.unwrap_err() {
        Error::Api { body } => (body.status, body.code),
        other => panic!("expected an API error, got {other:?}"),
    }
}

async fn setup(db: &TestDb) -> (TestServer, TestProject) {
    let server = TestServer::start(db).await;
    let project = TestProject::with_config(&server, CONFIG).await;
    (server, project)
}

async fn create(
    user: &UserClient,
    credential: &str,
    label: Option<&str>,
    meta: Value,
) -> CredentialConfiguration {
    let request = CreateConfigurationRequest {
        external_id: label.map(str::to_owned),
        meta: Some(object(meta)),
    };
    user.create_configuration(credential, &request)
        .await
        .unwrap()
}

async fn configurations_are_created_listed_changed_and_destroyed(db: TestDb) {
    let (server, project) = setup(&db).await;
    let account = connect_valid(&server, &project, "ada", "crm", "A-1").await;
    let id = account.id.to_string();
    let ada = project.user("ada");

    let team = create(&ada, &id, Some("Team A"), json!({"team": "sales"})).await;
    assert!(!team.is_default);
    assert_eq!(team.credential_id, account.id);
    assert_eq!(team.connect_credential_id, account.id);
    assert_eq!(team.external_id.as_deref(), Some("Team A"));
    assert_eq!(team.meta, json!({"team": "sales"}));
    assert_eq!(team.settings, json!({}));
    // Every workflow at its default, as in a new account.
    assert!(team.configured_workflows["echo"].enabled);
    assert!(!team.workflow_settings["on-contact"].enabled);

    let listed = ada.configurations(&id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed[0].is_default, "the default comes first");
    assert_eq!(listed[1], team);
    let me = ada.me().await.unwrap();
    let crm = &me.integrations["crm"];
    assert_eq!(crm.all_configurations.len(), 2);
    assert_eq!(crm.all_credentials[0].configurations, listed);

    // By label: metadata merges key by key, a null removes one; settings are its own.
    let update = UpdateConfigurationRequest {
        meta: Some(object(json!({"region": "eu", "team": null}))),
        shared_settings: Some(object(json!({"pipeline": "Enterprise"}))),
        ..Default::default()
    };
    let changed = ada
        .update_configuration(&id, "ext:Team A", &update)
        .await
        .unwrap();
    assert_eq!(changed.meta, json!({"region": "eu"}));
    assert_eq!(changed.shared_settings, json!({"pipeline": "Enterprise"}));
    let default = &ada.configurations(&id).await.unwrap()[0];
    assert_eq!(
        default.shared_settings,
        json!({}),
        "the default is untouched"
    );

    let relabelled = UpdateConfigurationRequest {
        external_id: Some(Some("Team B".to_owned())),
        ..Default::default()
    };
    let changed = ada
        .update_configuration(&id, &team.id.to_string(), &relabelled)
        .await
        .unwrap();
    assert_eq!(changed.external_id.as_deref(), Some("Team B"));

    ada.destroy_configuration(&id, "ext:Team B").await.unwrap();
    let listed = ada.configurations(&id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].is_default);
}

async fn what_cannot_be_done_to_configurations_is_refused_clearly(db: TestDb) {
    let (server, project) = setup(&db).await;
    let account = connect_valid(&server, &project, "ada", "crm", "A-1").await;
    let other_account = connect_valid(&server, &project, "ada", "crm", "A-2").await;
    let grace_account = connect_valid(&server, &project, "grace", "crm", "G-1").await;
    let id = account.id.to_string();
    let ada = project.user("ada");
    let team = create(&ada, &id, Some("Team A"), json!({})).await;
    let default_id = ada.configurations(&id).await.unwrap()[0].id.to_string();

    assert_eq!(
        api_code(ada.destroy_configuration(&id, &default_id).await),
        (409, "default_configuration".to_owned())
    );
    assert_eq!(ada.configurations(&id).await.unwrap().len(), 2);

    let duplicate = CreateConfigurationRequest {
        external_id: Some("Team A".to_owned()),
        meta: None,
    };
    assert_eq!(
        api_code(ada.create_configuration(&id, &duplicate).await),
        (409, "configuration_external_id_taken".to_owned())
    );
    // The same label on another account is another configuration.
    ada.create_configuration(&other_account.id.to_string(), &duplicate)
        .await
        .unwrap();

    let missing = uuid::Uuid::new_v4().to_string();
    for reference in [missing.as_str(), "ext:nobody", "not-an-id"] {
        assert_eq!(
            api_code(ada.destroy_configuration(&id, reference).await),
            (404, "configuration_not_found".to_owned()),
            "{reference}"
        );
    }
    // A configuration of another account, named under this one, is not this one's.
    let team_id = team.id.to_string();
    assert_eq!(
        api_code(
            ada.destroy_configuration(&other_account.id.to_string(), &team_id)
                .await
        ),
        (404, "configuration_not_found".to_owned())
    );
    // Another user's account reads like no account.
    assert_eq!(
        api_code(ada.configurations(&grace_account.id.to_string()).await),
        (404, "credential_not_found".to_owned())
    );
    let grace = project.user("grace");
    assert_eq!(
        api_code(
            grace
                .create_configuration(&id, &CreateConfigurationRequest::default())
                .await
        ),
        (404, "credential_not_found".to_owned())
    );
    // Settings their schema refuses name the field, and change nothing.
    let wrong = UpdateConfigurationRequest {
        shared_settings: Some(object(json!({"pipeline": 3}))),
        ..Default::default()
    };
    match ada.update_configuration(&id, &team_id, &wrong).await {
        Err(Error::Api { body }) => {
            assert_eq!(body.code, "validation_failed");
            assert_eq!(body.meta.unwrap()["field"], "sharedSettings.pipeline");
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    // Unknown fields and a second header are refused.
    let raw = reqwest::Client::new();
    let token = project.signer.mint("ada").unwrap();
    let url = server.url(&format!(
        "/projects/{}/sdk/credentials/{id}/configurations",
        project.id
    ));
    let answer = raw
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"externalId": "x", "colour": "red"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 422);
    let answer = raw
        .post(server.url(&format!("/projects/{}/sdk/triggers/echo", project.id)))
        .bearer_auth(&token)
        .header("X-Paragon-Credential", &id)
        .header("X-Paragon-Configuration-Id", &team_id)
        .header("X-Paragon-Configuration-Id", &default_id)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["code"], "invalid_parameter");
}

async fn each_configuration_keeps_its_own_settings_and_workflows(db: TestDb) {
    let (server, project) = setup(&db).await;
    let account = connect_valid(&server, &project, "ada", "crm", "A-1").await;
    let id = account.id.to_string();
    let ada = project.user("ada");
    let team = create(&ada, &id, Some("Team A"), json!({"team": "sales"})).await;
    let team_id = team.id.to_string();

    // The account's own update, in one configuration.
    let settings = UpdateCredentialRequest {
        config: Some(ConfigurationUpdate {
            shared_settings: Some(object(json!({"pipeline": "Team pipeline"}))),
            workflow_settings: Some(
                [(
                    "echo".to_owned(),
                    WorkflowStateUpdate {
                        enabled: None,
                        settings: Some(object(json!({"folder": "Team folder"}))),
                    },
                )]
                .into(),
            ),
        }),
        external_id: None,
    };
    let in_team = ada.in_configuration("ext:Team A");
    in_team.update_credential(&id, &settings).await.unwrap();
    let default_settings = UpdateCredentialRequest {
        config: Some(ConfigurationUpdate {
            shared_settings: Some(object(json!({"pipeline": "Default pipeline"}))),
            workflow_settings: None,
        }),
        external_id: None,
    };
    ada.update_credential(&id, &default_settings).await.unwrap();

    // A run reads the configuration it is started in; the account's default otherwise.
    let answer = in_team
        .trigger_workflow("echo", &json!({}), None)
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["configuration"], json!(team_id));
    assert_eq!(answer.body["label"], "Team A");
    assert_eq!(answer.body["team"], "sales");
    assert_eq!(answer.body["pipeline"], "Team pipeline");
    assert_eq!(answer.body["folder"], "Team folder");
    let answer = ada
        .trigger_workflow("echo", &json!({}), None)
        .await
        .unwrap();
    assert_eq!(answer.body["pipeline"], "Default pipeline");
    assert_eq!(
        answer.body["folder"],
        Value::Null,
        "no folder in the default"
    );
    // The configuration's UUID alone selects its account too.
    let by_id = ada.in_configuration(&team_id);
    let answer = by_id
        .trigger_workflow("echo", &json!({}), None)
        .await
        .unwrap();
    assert_eq!(answer.body["pipeline"], "Team pipeline");

    // Task History records the configuration of each run.
    let runs = project
        .admin
        .executions(&ExecutionQuery::default())
        .await
        .unwrap()
        .data;
    assert_eq!(runs.len(), 3);
    let in_configurations: Vec<_> = runs.iter().map(|run| run.configuration_id).collect();
    assert_eq!(
        in_configurations
            .iter()
            .filter(|c| **c == Some(team.id))
            .count(),
        2
    );

    // A workflow switched on in one configuration runs there only.
    let credential = in_team.enable_workflow("on-contact", None).await.unwrap();
    let states: Vec<bool> = credential
        .configurations
        .iter()
        .map(|c| c.workflow_settings["on-contact"].enabled)
        .collect();
    assert_eq!(states, [false, true]);
    let started = ada
        .app_event("Contact Created", json!({}), None)
        .await
        .unwrap();
    assert_eq!(started.execution_ids.len(), 1);
    ada.enable_workflow("on-contact", None).await.unwrap();
    let started = ada
        .app_event("Contact Created", json!({}), None)
        .await
        .unwrap();
    assert_eq!(
        started.execution_ids.len(),
        2,
        "once per enabled configuration"
    );
    let started = in_team
        .app_event("Contact Created", json!({}), None)
        .await
        .unwrap();
    assert_eq!(started.execution_ids.len(), 1, "only the one selected");

    // An unknown configuration, and one of another account, select nothing.
    let nowhere = ada.in_configuration("ext:Team Z");
    assert_eq!(
        api_code(nowhere.trigger_workflow("echo", &json!({}), None).await),
        (404, "configuration_not_found".to_owned())
    );
}

async fn password_settings_are_sealed_and_never_shown(db: TestDb) {
    let (server, project) = setup(&db).await;
    let account = connect_valid(&server, &project, "ada", "crm", "A-1").await;
    let id = account.id.to_string();
    let ada = project.user("ada");
    let set = |password: Value| UpdateCredentialRequest {
        config: Some(ConfigurationUpdate {
            shared_settings: Some(object(json!({"apiPassword": password, "pipeline": "P"}))),
            workflow_settings: None,
        }),
        external_id: None,
    };

    let credential = ada
        .update_credential(&id, &set(json!(PASSWORD)))
        .await
        .unwrap();
    let shown = &credential.configurations[0].shared_settings;
    assert_eq!(shown["apiPassword"], "********");
    let me = serde_json::to_string(&ada.me().await.unwrap()).unwrap();
    assert!(!me.contains(PASSWORD));
    assert!(
        !contains(&database_bytes(&db), PASSWORD),
        "stored in the clear"
    );

    // Runs see it; Task History does not keep it.
    let answer = ada
        .trigger_workflow("echo", &json!({}), None)
        .await
        .unwrap();
    assert_eq!(answer.body["password"], PASSWORD);
    let run = project
        .admin
        .executions(&ExecutionQuery::default())
        .await
        .unwrap()
        .data
        .remove(0);
    // The call is answered at the `response` step; the run ends just after.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let finished = loop {
        let history = project.admin.execution(run.id).await.unwrap();
        if history.status != ExecutionStatus::Running {
            break history;
        }
        assert!(std::time::Instant::now() < deadline, "the run never ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(finished.status, ExecutionStatus::Succeeded);
    let history = serde_json::to_string(&finished).unwrap();
    assert!(history.contains("reply"), "{history}");
    assert!(!history.contains(PASSWORD), "{history}");

    // Sent back as read, it stays; null clears it.
    ada.update_credential(&id, &set(json!("********")))
        .await
        .unwrap();
    let answer = ada
        .trigger_workflow("echo", &json!({}), None)
        .await
        .unwrap();
    assert_eq!(answer.body["password"], PASSWORD);
    let credential = ada.update_credential(&id, &set(Value::Null)).await.unwrap();
    assert!(
        credential.configurations[0]
            .shared_settings
            .get("apiPassword")
            .is_none()
    );
    let answer = ada
        .trigger_workflow("echo", &json!({}), None)
        .await
        .unwrap();
    assert_eq!(answer.body["password"], Value::Null);
}

async fn a_token_limited_to_configurations_sees_only_those(db: TestDb) {
    let (server, project) = setup(&db).await;
    let account = connect_valid(&server, &project, "ada", "crm", "A-1").await;
    let other = connect_valid(&server, &project, "ada", "crm", "A-2").await;
    let id = account.id.to_string();
    let ada = project.user("ada");
    let team = create(&ada, &id, Some("Team A"), json!({})).await;
    let default_id = ada.configurations(&id).await.unwrap()[0].id;

    for scope in [
        format!("configuration:{}", team.id),
        "configuration:ext:Team A".to_owned(),
    ] {
        let token = project
            .signer
            .mint_with(
                "ada",
                Map::new(),
                Some(object(json!({ scope.clone(): true }))),
            )
            .unwrap();
        let limited = project.user_with_token(token);
        let me = limited.me().await.unwrap();
        let crm = &me.integrations["crm"];
        let ids: Vec<_> = crm.all_credentials.iter().map(|c| c.id).collect();
        assert_eq!(ids, [account.id], "{scope}: the other account is hidden");
        let configurations: Vec<_> = crm.all_configurations.iter().map(|c| c.id).collect();
        assert_eq!(configurations, [team.id], "{scope}");
        assert_eq!(
            limited.configurations(&id).await.unwrap().len(),
            1,
            "{scope}"
        );
        // It acts in its configuration without naming it, and cannot reach the other.
        let answer = limited
            .trigger_workflow("echo", &json!({}), None)
            .await
            .unwrap();
        assert_eq!(answer.body["configuration"], json!(team.id.to_string()));
        let default = limited.in_configuration(&default_id.to_string());
        assert_eq!(
            api_code(default.trigger_workflow("echo", &json!({}), None).await),
            (404, "configuration_not_found".to_owned()),
            "{scope}"
        );
        assert_eq!(
            api_code(limited.configurations(&other.id.to_string()).await),
            (404, "credential_not_found".to_owned()),
            "{scope}"
        );
        assert_eq!(
            api_code(
                limited
                    .destroy_configuration(&id, &default_id.to_string())
                    .await
            ),
            (404, "configuration_not_found".to_owned()),
            "{scope}"
        );
    }
    // The account's own permission covers every configuration of it.
    let token = project
        .signer
        .mint_with(
            "ada",
            Map::new(),
            Some(object(json!({ format!("credential:{id}"): true }))),
        )
        .unwrap();
    let whole = project.user_with_token(token);
    assert_eq!(whole.configurations(&id).await.unwrap().len(), 2);
}

/// The recorded events of the project from its start, until `count` have come.
async fn project_events(project: &TestProject, count: usize) -> Vec<(EventType, Value)> {
    let mut events = Box::pin(project.admin.events(Some(0)).await.unwrap());
    let mut seen = Vec::new();
    while seen.len() < count {
        let event = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("an event in time")
            .expect("the stream is open")
            .unwrap();
        if let ProjectEventData::Recorded(webhook) = event.data {
            let payload = serde_json::to_value(&webhook.data.payload).unwrap();
            seen.push((webhook.event_type, payload));
        }
    }
    seen
}

async fn configuration_changes_are_recorded_as_events(db: TestDb) {
    let (server, project) = setup(&db).await;
    let account = connect_valid(&server, &project, "ada", "crm", "A-1").await;
    let id = account.id.to_string();
    let ada = project.user("ada");
    let team = create(&ada, &id, Some("Team A"), json!({"team": "sales"})).await;
    let in_team = ada.in_configuration("ext:Team A");
    let settings = UpdateCredentialRequest {
        config: Some(ConfigurationUpdate {
            shared_settings: Some(object(json!({"apiPassword": PASSWORD}))),
            workflow_settings: None,
        }),
        external_id: None,
    };
    in_team.update_credential(&id, &settings).await.unwrap();
    in_team.enable_workflow("on-contact", None).await.unwrap();
    let relabel = UpdateConfigurationRequest {
        meta: Some(object(json!({"team": "support"}))),
        ..Default::default()
    };
    ada.update_configuration(&id, "ext:Team A", &relabel)
        .await
        .unwrap();
    ada.destroy_configuration(&id, "ext:Team A").await.unwrap();

    let events = project_events(&project, 5).await;
    let team_id = json!(team.id);
    let kinds: Vec<EventType> = events.iter().map(|(kind, _)| *kind).collect();
    assert_eq!(
        kinds,
        [
            EventType::ConfigurationCreated,
            EventType::CredentialSettingsChanged,
            EventType::WorkflowStateChanged,
            EventType::ConfigurationUpdated,
            EventType::ConfigurationDeleted,
        ]
    );
    for (kind, payload) in &events {
        assert_eq!(payload["credentialId"], json!(account.id), "{kind:?}");
        assert_eq!(payload["configurationId"], team_id, "{kind:?}");
    }
    assert_eq!(events[0].1["configurationExternalId"], "Team A");
    assert_eq!(events[0].1["meta"], json!({"team": "sales"}));
    assert_eq!(events[1].1["sharedSettings"]["apiPassword"], "********");
    assert_eq!(events[2].1["workflowStateChange"]["enabled"], true);
    assert_eq!(events[3].1["meta"], json!({"team": "support"}));
    let all = serde_json::to_string(&events.iter().map(|(_, p)| p).collect::<Vec<_>>()).unwrap();
    assert!(!all.contains(PASSWORD));
}

backend_tests!(
    configuration_changes_are_recorded_as_events,
    configurations_are_created_listed_changed_and_destroyed,
    what_cannot_be_done_to_configurations_is_refused_clearly,
    each_configuration_keeps_its_own_settings_and_workflows,
    password_settings_are_sealed_and_never_shown,
    a_token_limited_to_configurations_sees_only_those,
);
