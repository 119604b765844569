//! Several ways in to one integration (`accountTypes`), and a choice the user makes once
//! authorized (`account.choose`), against the sandbox provider on its own socket.

use patchbay_api::{InstallRequest, InstallStatus};
use patchbay_sdk::UserClient;
use patchbay_server::sandbox::SandboxConfig;
use patchbay_test_support::{
    CallbackReply, FakeProvider, TestDb, TestServer, authorize, backend_tests, install_fields,
};
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::{ProviderSetup, api_error};

/// `keys` connects with an API key by default, or through OAuth as its `oauth` account
/// type; `picked` asks which of the account's contacts to connect.
const DOCUMENT: &str = r#"
integrations:
  keys:
    name: Sandbox
    # The OAuth way in needs the project's client, as any oauth2 integration does.
    clientId: patchbay-sandbox
    clientSecret: sandbox-secret
    auth: &api_key
      type: api_key
      fields: [{id: apiKey, title: API key, secret: true}]
      inject: {header: X-Api-Key, value: "{{ credentials.apiKey }}"}
    api: {baseUrl: "{PROVIDER}/api"}
    account:
      request: {method: GET, path: /me}
      id: "{{ response.body.id }}"
      data: {name: "{{ response.body.name }}"}
    verify: {request: {method: GET, path: /me}}
    accountTypes:
      - {id: key, name: API key}
      - id: oauth
        name: Sign in
        description: Sign in to the sandbox instead of pasting a key.
        auth: &oauth
          type: oauth2
          authorizationUrl: "{PROVIDER}/oauth/authorize"
          tokenUrl: "{PROVIDER}/oauth/token"
          scopes: [contacts, offline_access]
          pkce: true
          clientAuth: client_secret_basic
          refreshes: true
  picked:
    name: One contact
    clientId: patchbay-sandbox
    clientSecret: sandbox-secret
    auth: *oauth
    api: {baseUrl: "{PROVIDER}/api/contacts/{{ vars.contactId }}"}
    account:
      request: {method: GET, url: "{PROVIDER}/api/contacts"}
      choose: &contact
        title: Contact
        items: response.body
        value: "{{ item.id }}"
        label: "{{ item.name }}"
      id: "{{ choice.id }}"
      data: {name: "{{ choice.name }}"}
      vars: {contactId: "{{ choice.id }}"}
  keyed:
    name: One contact, by key
    auth: *api_key
    api: {baseUrl: "{PROVIDER}/api"}
    account:
      request: {method: GET, path: /contacts}
      choose: *contact
      id: "{{ choice.id }}"
      data: {name: "{{ choice.name }}"}
"#;

async fn setup(db: &TestDb) -> ProviderSetup {
    let server = TestServer::start(db).await;
    let provider = FakeProvider::start(SandboxConfig::default()).await;
    let document = DOCUMENT.replace("{PROVIDER}", &provider.base_url);
    ProviderSetup::new(server, provider, &document).await
}

async fn an_integration_offers_several_ways_in(db: TestDb) {
    let setup = setup(&db).await;
    let (project, provider) = (&setup.project, &setup.provider);
    let ada = project.user("ada");

    let metadata = ada.integrations().await.unwrap();
    let keys = metadata.iter().find(|i| i.type_name == "keys").unwrap();
    assert_eq!(keys.auth_type, "api_key", "the default type's");
    let types: Vec<_> = (keys.account_types.iter())
        .map(|t| {
            (
                t.id.as_str(),
                t.auth_type.as_str(),
                t.account_description.as_str(),
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            ("key", "api_key", "API key"),
            (
                "oauth",
                "oauth2",
                "Sign in to the sandbox instead of pasting a key."
            ),
        ]
    );

    // The default way in: the API key.
    let key = "sbx_key_ada_3f9c2e71d4b8";
    let by_key = ada
        .install_with_credentials("keys", &install_fields(json!({"apiKey": key})))
        .await
        .unwrap();
    assert_eq!(by_key.credential.account_type.as_deref(), Some("key"));

    // The other: OAuth, starting at the sandbox's authorization page.
    let request = InstallRequest {
        allow_multiple_credentials: true,
        account_type: Some("oauth".into()),
        ..Default::default()
    };
    let started = ada.start_install("keys", &request).await.unwrap();
    assert!(
        (started.authorization_url).starts_with(&format!("{}/oauth/authorize?", provider.base_url)),
        "{}",
        started.authorization_url
    );
    let reply = authorize(&started.authorization_url, "acct_grace").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let by_oauth = completed(&ada, started.install_session_id).await;

    let accounts = ada.credentials(Some("keys")).await.unwrap();
    let oauth = accounts.iter().find(|c| c.id == by_oauth).unwrap();
    assert_eq!(oauth.account_type.as_deref(), Some("oauth"));
    assert_eq!(oauth.provider_id.as_deref(), Some("acct_grace"));

    // Reconnecting keeps the account's way in: OAuth again, without naming it.
    let reconnect = InstallRequest {
        selected_credential_id: Some(by_oauth.to_string()),
        ..Default::default()
    };
    let again = ada.start_install("keys", &reconnect).await.unwrap();
    assert!(again.authorization_url.contains("/oauth/authorize?"));

    // Each account calls the API its own way: a bearer token, or the key.
    for (id, account) in [(by_oauth, "acct_grace"), (by_key.credential.id, "acct_ada")] {
        let me = ada
            .proxy("keys", reqwest::Method::GET, "/me")
            .selected_credential(id.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);
        assert_eq!(me.json::<serde_json::Value>().await.unwrap()["id"], account);
    }
}

async fn an_account_type_must_be_one_of_the_integrations(db: TestDb) {
    let setup = setup(&db).await;
    let project = &setup.project;
    let ada = project.user("ada");
    for (integration, asked, message) in [
        (
            "keys",
            "sandbox",
            "\"sandbox\" is not an account type of \"keys\"; it has key, oauth.",
        ),
        (
            "picked",
            "oauth",
            "\"picked\" has one way in and no account types; leave out accountType (\"oauth\").",
        ),
    ] {
        let request = InstallRequest {
            account_type: Some(asked.into()),
            ..Default::default()
        };
        let err = ada.start_install(integration, &request).await.unwrap_err();
        let body = api_error(&err, 422, "validation_failed");
        assert_eq!(body.message, message);
        assert_eq!(body.meta.as_ref().unwrap()["field"], "accountType");
    }
    assert!(ada.credentials(None).await.unwrap().is_empty());
}

/// The account install session `id` connected, once it is complete.
async fn completed(user: &UserClient, id: Uuid) -> Uuid {
    let session = user.install_session(id).await.unwrap();
    assert_eq!(
        session.status,
        InstallStatus::Complete,
        "{:?}",
        session.error
    );
    session.credential_id.unwrap()
}

/// Ada's install of `picked`, past the sandbox's consent, at the callback's choice page.
struct Choosing {
    ada: UserClient,
    session_id: Uuid,
    /// The page's single-use state.
    state: String,
    /// The values offered, with their labels.
    options: Vec<(String, String)>,
}

async fn until_the_choice(setup: &ProviderSetup) -> Choosing {
    let ada = setup.project.user("ada");
    let started = ada
        .start_install("picked", &InstallRequest::default())
        .await
        .unwrap();
    let page = authorize(&started.authorization_url, "acct_ada").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Choose a Contact"), "{}", page.body);
    let (state, options) = choice_form(&page);
    Choosing {
        ada,
        session_id: started.install_session_id,
        state,
        options,
    }
}

/// The `state` of the choice page, and the values it offers with their labels.
fn choice_form(page: &CallbackReply) -> (String, Vec<(String, String)>) {
    let attribute = |tag: &str, name: &str| {
        let start = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        tag[start..][..tag[start..].find('"').unwrap()].to_owned()
    };
    let state = page
        .body
        .split("<input")
        .find(|tag| tag.contains("name=\"state\""))
        .map(|tag| attribute(tag, "value"))
        .expect("a state field");
    let options = page
        .body
        .split("<input")
        .filter(|tag| tag.contains("name=\"choice\""))
        .map(|tag| {
            let label = &tag[tag.find("<label").unwrap()..];
            let label = &label[label.find('>').unwrap() + 1..label.find("</label>").unwrap()];
            (attribute(tag, "value"), label.to_owned())
        })
        .collect();
    (state, options)
}

async fn choose(server_url: &str, state: &str, choice: &str) -> CallbackReply {
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{server_url}/oauth/choose"))
        .form(&[("state", state), ("choice", choice)])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    CallbackReply {
        status,
        location: None,
        body: response.text().await.unwrap(),
    }
}

async fn the_user_chooses_what_to_connect_once_authorized(db: TestDb) {
    let setup = setup(&db).await;
    let server = &setup.server;
    let Choosing {
        ada,
        session_id,
        state,
        options,
    } = until_the_choice(&setup).await;
    assert_eq!(
        options.len(),
        2,
        "the sandbox seeds two contacts: {options:?}"
    );
    // Still connecting while the user chooses.
    let pending = ada.install_session(session_id).await.unwrap();
    assert_eq!(pending.status, InstallStatus::Pending);

    let (value, label) = &options[1];
    let done = choose(&server.url(""), &state, value).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("patchbay:install"), "{}", done.body);
    let again = choose(&server.url(""), &state, value).await;
    assert_eq!(again.status, 400, "a state serves once");

    completed(&ada, session_id).await;
    let accounts = ada.credentials(Some("picked")).await.unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].provider_id.as_deref(), Some(value.as_str()));
    assert_eq!(accounts[0].provider_data["name"], label.as_str());

    // The choice lives on in the account's templates: the base URL is the chosen contact.
    let contact = ada
        .proxy("picked", reqwest::Method::GET, "")
        .send()
        .await
        .unwrap();
    assert_eq!(contact.status(), 200);
    assert_eq!(
        contact.json::<serde_json::Value>().await.unwrap()["id"],
        value.as_str()
    );
}

async fn a_choice_not_listed_fails_the_install(db: TestDb) {
    let setup = setup(&db).await;
    let Choosing {
        ada,
        session_id,
        state,
        ..
    } = until_the_choice(&setup).await;
    let refused = choose(&setup.server.url(""), &state, "ct_someone_elses").await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let session = ada.install_session(session_id).await.unwrap();
    assert_eq!(session.status, InstallStatus::Failed);
    assert!(
        session
            .error
            .as_deref()
            .unwrap()
            .contains("`ct_someone_elses` is not a Contact"),
        "{:?}",
        session.error
    );
    assert!(ada.credentials(None).await.unwrap().is_empty());
}

async fn a_key_install_names_its_choice(db: TestDb) {
    let setup = setup(&db).await;
    let ada = setup.project.user("ada");
    let key = json!({"apiKey": "sbx_key_ada_3f9c2e71d4b8"});
    let err = ada
        .install_with_credentials("keyed", &install_fields(key.clone()))
        .await
        .unwrap_err();
    let body = api_error(&err, 422, "account_choice_required");
    assert_eq!(body.message, "Choose a Contact of this account.");
    let meta = body.meta.as_ref().unwrap();
    assert_eq!(meta["field"], "choice");
    let options = meta["options"].as_array().unwrap();
    assert_eq!(options.len(), 2, "{meta}");
    assert!(
        ada.credentials(None).await.unwrap().is_empty(),
        "nothing stored"
    );

    let chosen = options[1]["value"].as_str().unwrap();
    let request = InstallRequest {
        choice: Some(chosen.to_owned()),
        ..install_fields(key)
    };
    let installed = ada
        .install_with_credentials("keyed", &request)
        .await
        .unwrap();
    assert_eq!(installed.credential.provider_id.as_deref(), Some(chosen));
    assert_eq!(
        installed.credential.provider_data["name"],
        options[1]["label"]
    );
}

backend_tests!(
    a_key_install_names_its_choice,
    an_integration_offers_several_ways_in,
    an_account_type_must_be_one_of_the_integrations,
    the_user_chooses_what_to_connect_once_authorized,
    a_choice_not_listed_fails_the_install,
);
