//! The admin API of one project (`/api/v1/projects/{projectId}/...`).

use patchbay_api::{
    AddSigningKeyRequest, AuditLog, ConfigApplied, ConfigDocument, ConfigPlan, ConfigVersionList,
    CreateWebhookEndpointRequest, CreatedSecretKey, CreatedWebhookEndpoint, Credential,
    CredentialList, ExecutionPage, InboundDeliveryPage, Overview, ProjectView, SecretKeyList,
    SigningKeyList, SigningKeyView, TriggerAccepted, UpdateWebhookEndpointRequest, UserList,
    UserObject, WebhookDelivery, WebhookDeliveryPage, WebhookEndpoint, WebhookEndpointList,
    WebhookSecret, WorkflowExecution,
};
use reqwest::Method;
use uuid::Uuid;

use crate::Error;
use crate::events::ProjectEvent;
use crate::http::Http;

/// Filters and paging of [`AdminClient::credentials`].
#[derive(Debug, Clone, Default)]
pub struct CredentialQuery {
    pub user_id: Option<String>,
    pub integration: Option<String>,
    pub status: Option<String>,
    /// Accounts per page, 1 to 1000; 100 when absent.
    pub limit: Option<u32>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
}

/// Filters and paging of [`AdminClient::inbound_deliveries`].
#[derive(Debug, Clone, Default)]
pub struct InboundQuery {
    pub integration: Option<String>,
    /// `routed`, `unmatched` or `unhandled`.
    pub status: Option<String>,
    /// Deliveries per page, 1 to 500; 50 when absent.
    pub limit: Option<u32>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
}

/// Filters of [`AdminClient::executions`]; dates are RFC 3339.
#[derive(Debug, Clone, Default)]
pub struct ExecutionQuery {
    pub user_id: Option<String>,
    pub credential_id: Option<String>,
    pub workflow_id: Option<String>,
    pub integration: Option<String>,
    pub status: Option<String>,
    pub after_date: Option<String>,
    pub before_date: Option<String>,
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// The admin API of one project, authenticated by one of its secret keys.
/// Cheap to clone; clones share one connection pool.
#[derive(Clone)]
pub struct AdminClient {
    http: Http,
    project_id: Uuid,
    secret_key: String,
}

// By hand: the secret key administers the whole project.
impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient")
            .field("http", &self.http)
            .field("project_id", &self.project_id)
            .field("secret_key", &"[REDACTED]")
            .finish()
    }
}

impl AdminClient {
    pub(crate) fn new(http: Http, project_id: Uuid, secret_key: String) -> Self {
        Self {
            http,
            project_id,
            secret_key,
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let path = format!("/api/v1/projects/{}{path}", self.project_id);
        self.http.request(method, &path, Some(&self.secret_key))
    }

    pub async fn project(&self) -> Result<ProjectView, Error> {
        self.http.send(self.request(Method::GET, "")).await
    }

    /// Accounts per integration and status; the last day's runs, proxied calls, errors and
    /// failed refreshes, hour by hour.
    pub async fn overview(&self) -> Result<Overview, Error> {
        self.http.send(self.request(Method::GET, "/overview")).await
    }

    /// A page of the project's users by id (with their account counts); `search` finds part
    /// of an id, name or email.
    pub async fn users(
        &self,
        search: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<UserList, Error> {
        let params: Vec<(&str, &str)> = [("search", search), ("cursor", cursor)]
            .into_iter()
            .filter_map(|(name, value)| Some((name, value?)))
            .collect();
        self.http
            .send(self.request(Method::GET, "/users").query(&params))
            .await
    }

    /// Changes made through the admin API, newest first.
    pub async fn audit_log(&self, cursor: Option<&str>) -> Result<AuditLog, Error> {
        let params: Vec<(&str, &str)> = cursor.map(|c| ("cursor", c)).into_iter().collect();
        self.http
            .send(self.request(Method::GET, "/audit-log").query(&params))
            .await
    }

    /// The configuration documents applied to the project, newest first.
    pub async fn config_versions(&self) -> Result<ConfigVersionList, Error> {
        self.http
            .send(self.request(Method::GET, "/config/versions"))
            .await
    }

    pub async fn secret_keys(&self) -> Result<SecretKeyList, Error> {
        self.http
            .send(self.request(Method::GET, "/secret-keys"))
            .await
    }

    pub async fn create_secret_key(&self) -> Result<CreatedSecretKey, Error> {
        self.http
            .send(self.request(Method::POST, "/secret-keys"))
            .await
    }

    pub async fn revoke_secret_key(&self, key_id: Uuid) -> Result<(), Error> {
        self.http
            .send_empty(self.request(Method::DELETE, &format!("/secret-keys/{key_id}")))
            .await
    }

    /// Registers a public key (SPKI PEM) that verifies user tokens.
    pub async fn add_signing_key(
        &self,
        public_key_pem: &str,
        kid: Option<&str>,
    ) -> Result<SigningKeyView, Error> {
        let body = AddSigningKeyRequest {
            public_key_pem: public_key_pem.to_owned(),
            kid: kid.map(str::to_owned),
        };
        self.http
            .send(self.request(Method::POST, "/signing-keys").json(&body))
            .await
    }

    pub async fn signing_keys(&self) -> Result<SigningKeyList, Error> {
        self.http
            .send(self.request(Method::GET, "/signing-keys"))
            .await
    }

    pub async fn revoke_signing_key(&self, kid: &str) -> Result<(), Error> {
        let path = format!("/signing-keys/{}", encode_segment(kid));
        self.http
            .send_empty(self.request(Method::DELETE, &path))
            .await
    }

    /// Replaces the project's configuration with a YAML or JSON document.
    /// `prune` allows removing integrations that still have accounts.
    pub async fn apply_config(&self, document: &str, prune: bool) -> Result<ConfigApplied, Error> {
        self.http
            .send(self.put_config(document, prune, false))
            .await
    }

    /// What [`apply_config`](Self::apply_config) would change, with nothing
    /// changed (`PUT /config?dryRun=true`): the document is checked against
    /// the project as the apply would check it, so a refusal (`422`, or
    /// `409 integration_in_use` without `prune`) is the same error.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let db = patchbay_test_support::TestDb::sqlite().await;
    /// # let server = patchbay_test_support::TestServer::start(&db).await;
    /// # let patchbay = patchbay_sdk::Patchbay::new(&server.base_url);
    /// # let project = patchbay
    /// #     .create_project(patchbay_test_support::ADMIN_TOKEN, "My SaaS")
    /// #     .await?;
    /// # let admin = patchbay.admin(project.project_id, project.secret_key);
    /// let document = "integrations:\n  billing:\n    provider: stripe\n";
    /// let plan = admin.plan_config(document, false).await?;
    /// assert_eq!(plan.integrations.added, ["billing"]);
    /// assert!(plan.deleted_accounts.is_empty());
    ///
    /// // Nothing changed yet; applying does it.
    /// assert_eq!(admin.config().await?, patchbay_sdk::api::ConfigDocument::empty());
    /// admin.apply_config(document, false).await?;
    /// # Ok(()) }
    /// ```
    pub async fn plan_config(&self, document: &str, prune: bool) -> Result<ConfigPlan, Error> {
        self.http.send(self.put_config(document, prune, true)).await
    }

    fn put_config(&self, document: &str, prune: bool, dry_run: bool) -> reqwest::RequestBuilder {
        self.request(Method::PUT, "/config")
            .query(&[("prune", prune), ("dryRun", dry_run)])
            .header("content-type", "application/yaml")
            .body(document.to_owned())
    }

    /// The configuration document in force, every client secret masked
    /// (`********`, which [`apply_config`](Self::apply_config) reads as "keep
    /// the stored secret").
    pub async fn config(&self) -> Result<ConfigDocument, Error> {
        self.http.send(self.request(Method::GET, "/config")).await
    }

    /// A user's object, as the user sees it.
    pub async fn user(&self, user_id: &str) -> Result<UserObject, Error> {
        let path = format!("/users/{}", encode_segment(user_id));
        self.http.send(self.request(Method::GET, &path)).await
    }

    /// One page of the project's accounts, oldest first; pass its
    /// `next_cursor` as `cursor` for the next.
    pub async fn credentials(&self, query: &CredentialQuery) -> Result<CredentialList, Error> {
        let limit = query.limit.map(|limit| limit.to_string());
        let mut params = Vec::new();
        for (name, value) in [
            ("userId", &query.user_id),
            ("integration", &query.integration),
            ("status", &query.status),
            ("limit", &limit),
            ("cursor", &query.cursor),
        ] {
            if let Some(value) = value {
                params.push((name, value.as_str()));
            }
        }
        self.http
            .send(self.request(Method::GET, "/credentials").query(&params))
            .await
    }

    pub async fn delete_credential(&self, credential_id: Uuid) -> Result<(), Error> {
        let path = format!("/credentials/{credential_id}");
        self.http
            .send_empty(self.request(Method::DELETE, &path))
            .await
    }

    /// Checks an account with its provider now (an OAuth token refreshed, an API key
    /// verified); the answer carries the status the check left it in.
    pub async fn check_credential(&self, credential_id: Uuid) -> Result<Credential, Error> {
        let path = format!("/credentials/{credential_id}/check");
        self.http.send(self.request(Method::POST, &path)).await
    }

    /// Enables (`true`) or disables one of an account's workflows.
    pub async fn set_credential_workflow_enabled(
        &self,
        credential_id: Uuid,
        workflow_id: &str,
        enabled: bool,
    ) -> Result<Credential, Error> {
        let action = if enabled { "enable" } else { "disable" };
        let workflow = encode_segment(workflow_id);
        let path = format!("/credentials/{credential_id}/workflows/{workflow}/{action}");
        self.http.send(self.request(Method::POST, &path)).await
    }

    /// Registers a webhook endpoint; the answer holds its secret, once.
    pub async fn create_webhook_endpoint(
        &self,
        url: &str,
        event_types: &[&str],
    ) -> Result<CreatedWebhookEndpoint, Error> {
        let body = CreateWebhookEndpointRequest {
            url: url.to_owned(),
            event_types: event_types.iter().map(|name| (*name).to_owned()).collect(),
        };
        self.http
            .send(self.request(Method::POST, "/webhook-endpoints").json(&body))
            .await
    }

    pub async fn webhook_endpoints(&self) -> Result<WebhookEndpointList, Error> {
        self.http
            .send(self.request(Method::GET, "/webhook-endpoints"))
            .await
    }

    /// Disables (`true`) or enables an endpoint.
    pub async fn set_webhook_endpoint_disabled(
        &self,
        endpoint_id: Uuid,
        disabled: bool,
    ) -> Result<WebhookEndpoint, Error> {
        let path = format!("/webhook-endpoints/{endpoint_id}");
        let body = UpdateWebhookEndpointRequest { disabled };
        self.http
            .send(self.request(Method::PATCH, &path).json(&body))
            .await
    }

    /// Gives an endpoint a new signing secret, in this answer only; the one it replaces
    /// signs nothing from now on.
    pub async fn rotate_webhook_secret(&self, endpoint_id: Uuid) -> Result<WebhookSecret, Error> {
        let path = format!("/webhook-endpoints/{endpoint_id}/rotate-secret");
        self.http.send(self.request(Method::POST, &path)).await
    }

    pub async fn delete_webhook_endpoint(&self, endpoint_id: Uuid) -> Result<(), Error> {
        let path = format!("/webhook-endpoints/{endpoint_id}");
        self.http
            .send_empty(self.request(Method::DELETE, &path))
            .await
    }

    /// One page of an endpoint's delivery log, newest first; pass the
    /// previous page's `next_cursor` for the next.
    pub async fn webhook_deliveries(
        &self,
        endpoint_id: Uuid,
        status: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<WebhookDeliveryPage, Error> {
        let path = format!("/webhook-endpoints/{endpoint_id}/deliveries");
        let params: Vec<(&str, &str)> = [("status", status), ("cursor", cursor)]
            .into_iter()
            .filter_map(|(name, value)| Some((name, value?)))
            .collect();
        self.http
            .send(self.request(Method::GET, &path).query(&params))
            .await
    }

    /// Queues a delivery again, now.
    pub async fn replay_webhook_delivery(
        &self,
        delivery_id: Uuid,
    ) -> Result<WebhookDelivery, Error> {
        let path = format!("/webhook-deliveries/{delivery_id}/replay");
        self.http.send(self.request(Method::POST, &path)).await
    }

    /// A page of what providers sent to the project's integrations, newest first.
    pub async fn inbound_deliveries(
        &self,
        query: &InboundQuery,
    ) -> Result<InboundDeliveryPage, Error> {
        let limit = query.limit.map(|limit| limit.to_string());
        let params: Vec<(&str, &str)> = [
            ("integration", &query.integration),
            ("status", &query.status),
            ("limit", &limit),
            ("cursor", &query.cursor),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value.as_deref()?)))
        .collect();
        self.http
            .send(
                self.request(Method::GET, "/inbound-deliveries")
                    .query(&params),
            )
            .await
    }

    /// A page of Task History, newest first.
    pub async fn executions(&self, query: &ExecutionQuery) -> Result<ExecutionPage, Error> {
        let params: Vec<(&str, &str)> = [
            ("userId", &query.user_id),
            ("credentialId", &query.credential_id),
            ("workflowId", &query.workflow_id),
            ("integration", &query.integration),
            ("status", &query.status),
            ("afterDate", &query.after_date),
            ("beforeDate", &query.before_date),
            ("cursor", &query.cursor),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value.as_deref()?)))
        .collect();
        let request = self
            .request(Method::GET, "/task-history/workflow-executions")
            .query(&params);
        self.http.send(request).await
    }

    /// One run of Task History, with its steps.
    pub async fn execution(&self, execution_id: Uuid) -> Result<WorkflowExecution, Error> {
        let path = format!("/task-history/workflow-executions/{execution_id}");
        self.http.send(self.request(Method::GET, &path)).await
    }

    /// Queues a new run of a finished run's workflow, as the same account and with the same
    /// trigger; the answer names the new run.
    pub async fn replay_execution(&self, execution_id: Uuid) -> Result<TriggerAccepted, Error> {
        let path = format!("/task-history/workflow-executions/{execution_id}/replay");
        self.http.send(self.request(Method::POST, &path)).await
    }

    /// Every event of the project, of every user, as they happen: after event `after` when
    /// given (the `id` of the last event seen), else from now on. The stream ends when the
    /// server shuts down, or after a last `streamEnded` once the secret key is revoked.
    pub async fn events(
        &self,
        after: Option<i64>,
    ) -> Result<impl futures_util::Stream<Item = Result<ProjectEvent, Error>> + use<>, Error> {
        let request = self.request(Method::GET, "/events/stream");
        crate::events::open(&self.http, request, after).await
    }
}

/// Percent-encodes one path segment (user ids and kids are free text).
pub(crate) fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
