//! The end-user API (`/projects/{projectId}/sdk/...`), as one user.

use patchbay_api::{
    AppEventAccepted, AppEventRequest, CreateConfigurationRequest, Credential,
    CredentialConfiguration, InstallCompleted, InstallRequest, InstallSessionView, InstallStarted,
    IntegrationMetadata, UpdateConfigurationRequest, UpdateCredentialRequest, UpdateUserRequest,
    UserObject,
};
use reqwest::Method;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::Error;
use crate::admin::encode_segment;
use crate::events::UserEvent;
use crate::http::{CONFIGURATION_HEADER, CREDENTIAL_HEADER, Http};
use crate::proxy::ProxyRequest;

/// The end-user API as one user, authenticated by a user token. Cheap to
/// clone; clones share one connection pool.
#[derive(Clone)]
pub struct UserClient {
    http: Http,
    project_id: Uuid,
    token: String,
    /// Sent as `X-Paragon-Configuration-Id` with every request.
    configuration: Option<String>,
}

// By hand: the token lets anyone act as this user until it expires.
impl std::fmt::Debug for UserClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserClient")
            .field("http", &self.http)
            .field("project_id", &self.project_id)
            .field("token", &"[REDACTED]")
            .field("configuration", &self.configuration)
            .finish()
    }
}

impl UserClient {
    pub(crate) fn new(http: Http, project_id: Uuid, token: String) -> Self {
        Self {
            http,
            project_id,
            token,
            configuration: None,
        }
    }

    /// This user acting in one configuration of an account (its id, or `ext:` and its
    /// label): settings, workflow switches, triggers, app events and proxied calls made
    /// through the returned client use it.
    pub fn in_configuration(&self, configuration: &str) -> Self {
        Self {
            configuration: Some(configuration.to_owned()),
            ..self.clone()
        }
    }

    /// A request as this user; `selection` picks the account (a credential
    /// id, `ext:<externalId>` or a plain externalId).
    fn request(
        &self,
        method: Method,
        path: &str,
        selection: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let path = format!("/projects/{}/sdk{path}", self.project_id);
        let mut request = self.http.request(method, &path, Some(&self.token));
        if let Some(value) = selection {
            request = request.header(CREDENTIAL_HEADER, value);
        }
        if let Some(configuration) = &self.configuration {
            request = request.header(CONFIGURATION_HEADER, configuration);
        }
        request
    }

    /// A call to `integration`'s own API through the Proxy API, as the
    /// selected account ([`ProxyRequest::selected_credential`]) or the
    /// default one. `path` (with its query) goes below the integration's API
    /// base URL as given; a full URL on the API's own domain is accepted in
    /// its place. Request and response bodies stream.
    pub fn proxy(&self, integration: &str, method: Method, path: &str) -> ProxyRequest {
        let path_below = path.strip_prefix('/').unwrap_or(path);
        let url = format!("/proxy/{}/{path_below}", encode_segment(integration));
        ProxyRequest::new(
            self.request(method.clone(), &url, None),
            method,
            integration,
            path,
        )
    }

    pub async fn me(&self) -> Result<UserObject, Error> {
        self.http.send(self.request(Method::GET, "/me", None)).await
    }

    /// Merges `meta` into the user's metadata.
    pub async fn set_metadata(&self, meta: Map<String, Value>) -> Result<UserObject, Error> {
        let body = UpdateUserRequest { meta };
        self.http
            .send(self.request(Method::PATCH, "/me", None).json(&body))
            .await
    }

    pub async fn integrations(&self) -> Result<Vec<IntegrationMetadata>, Error> {
        self.http
            .send(self.request(Method::GET, "/integrations", None))
            .await
    }

    /// The user's accounts, of one integration or all.
    pub async fn credentials(&self, integration: Option<&str>) -> Result<Vec<Credential>, Error> {
        let mut request = self.request(Method::GET, "/credentials", None);
        if let Some(integration) = integration {
            request = request.query(&[("integration", integration)]);
        }
        self.http.send(request).await
    }

    pub async fn credential(&self, id: &str) -> Result<Credential, Error> {
        let path = format!("/credentials/{}", encode_segment(id));
        self.http.send(self.request(Method::GET, &path, None)).await
    }

    pub async fn update_credential(
        &self,
        id: &str,
        update: &UpdateCredentialRequest,
    ) -> Result<Credential, Error> {
        let path = format!("/credentials/{}", encode_segment(id));
        self.http
            .send(self.request(Method::PATCH, &path, None).json(update))
            .await
    }

    /// An account's configurations, the default first.
    pub async fn configurations(
        &self,
        credential_id: &str,
    ) -> Result<Vec<CredentialConfiguration>, Error> {
        let path = format!(
            "/credentials/{}/configurations",
            encode_segment(credential_id)
        );
        self.http.send(self.request(Method::GET, &path, None)).await
    }

    /// Adds a configuration to an account (Paragon's `createConfiguration`).
    pub async fn create_configuration(
        &self,
        credential_id: &str,
        request: &CreateConfigurationRequest,
    ) -> Result<CredentialConfiguration, Error> {
        let path = format!(
            "/credentials/{}/configurations",
            encode_segment(credential_id)
        );
        self.http
            .send(self.request(Method::POST, &path, None).json(request))
            .await
    }

    /// Changes a configuration (its id, or `ext:` and its label).
    pub async fn update_configuration(
        &self,
        credential_id: &str,
        configuration: &str,
        update: &UpdateConfigurationRequest,
    ) -> Result<CredentialConfiguration, Error> {
        let path = configuration_path(credential_id, configuration);
        self.http
            .send(self.request(Method::PATCH, &path, None).json(update))
            .await
    }

    /// Destroys a configuration other than the account's default.
    pub async fn destroy_configuration(
        &self,
        credential_id: &str,
        configuration: &str,
    ) -> Result<(), Error> {
        let path = configuration_path(credential_id, configuration);
        self.http
            .send_empty(self.request(Method::DELETE, &path, None))
            .await
    }

    pub async fn enable_workflow(
        &self,
        workflow_id: &str,
        selection: Option<&str>,
    ) -> Result<Credential, Error> {
        self.switch_workflow(Method::POST, workflow_id, selection)
            .await
    }

    pub async fn disable_workflow(
        &self,
        workflow_id: &str,
        selection: Option<&str>,
    ) -> Result<Credential, Error> {
        self.switch_workflow(Method::DELETE, workflow_id, selection)
            .await
    }

    /// `POST` enables, `DELETE` disables: one route, two verbs.
    async fn switch_workflow(
        &self,
        method: Method,
        workflow_id: &str,
        selection: Option<&str>,
    ) -> Result<Credential, Error> {
        let path = format!("/workflows/{}", encode_segment(workflow_id));
        self.http.send(self.request(method, &path, selection)).await
    }

    /// Starts connecting an OAuth account: open `authorizationUrl` in the
    /// user's browser, then poll [`UserClient::install_session`].
    pub async fn start_install(
        &self,
        integration: &str,
        request: &InstallRequest,
    ) -> Result<InstallStarted, Error> {
        let path = format!("/integrations/{}/install", encode_segment(integration));
        self.http
            .send(self.request(Method::POST, &path, None).json(request))
            .await
    }

    /// Connects an API-key or basic-auth account with `request.credentials`.
    pub async fn install_with_credentials(
        &self,
        integration: &str,
        request: &InstallRequest,
    ) -> Result<InstallCompleted, Error> {
        let path = format!("/integrations/{}/install", encode_segment(integration));
        self.http
            .send(self.request(Method::POST, &path, None).json(request))
            .await
    }

    pub async fn install_session(&self, id: Uuid) -> Result<InstallSessionView, Error> {
        self.http
            .send(self.request(Method::GET, &format!("/install-sessions/{id}"), None))
            .await
    }

    /// Disconnects the selected account (required when there are several).
    pub async fn uninstall(&self, integration: &str, selection: Option<&str>) -> Result<(), Error> {
        let path = format!("/integrations/{}", encode_segment(integration));
        self.http
            .send_empty(self.request(Method::DELETE, &path, selection))
            .await
    }

    /// This user's events as they happen, after event `after` when given
    /// (the `id` of the last event seen), else from now on. The stream ends
    /// when the server shuts down.
    pub async fn events(
        &self,
        after: Option<i64>,
    ) -> Result<impl futures_util::Stream<Item = Result<UserEvent, Error>> + use<>, Error> {
        let request = self.request(Method::GET, "/events/stream", None);
        crate::events::open(&self.http, request, after).await
    }
    /// Runs a request-trigger workflow as the selected (or default) account.
    /// A workflow with a `response` step answers with it; one without
    /// answers `202 {executionId}` while the run goes on.
    pub async fn trigger_workflow(
        &self,
        workflow_id: &str,
        body: &Value,
        selection: Option<&str>,
    ) -> Result<WorkflowResponse, Error> {
        let path = format!("/triggers/{}", encode_segment(workflow_id));
        let (status, bytes) = self
            .http
            .send_raw(self.request(Method::POST, &path, selection).json(body))
            .await?;
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok(WorkflowResponse { status, body })
    }

    /// Fires an app event: every workflow listening to `name` runs once per
    /// enabled account of this user (only the selected one, if given).
    pub async fn app_event(
        &self,
        name: &str,
        payload: Value,
        selection: Option<&str>,
    ) -> Result<AppEventAccepted, Error> {
        let body = AppEventRequest {
            name: name.to_owned(),
            payload,
        };
        self.http
            .send(
                self.request(Method::POST, "/events/trigger", selection)
                    .json(&body),
            )
            .await
    }
}

fn configuration_path(credential_id: &str, configuration: &str) -> String {
    format!(
        "/credentials/{}/configurations/{}",
        encode_segment(credential_id),
        encode_segment(configuration)
    )
}

/// What a request-trigger workflow answered: its `response` step's status
/// and body (JSON when it parses, else text), or `202 {executionId}`.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowResponse {
    pub status: u16,
    pub body: Value,
}
