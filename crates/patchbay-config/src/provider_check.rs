//! The rules of a provider definition that its types cannot express: URLs, templates, names,
//! and fields that only make sense together.

use std::collections::{BTreeSet, HashSet};

use crate::action::check_actions;
use crate::errors::{Report, field, index};
use crate::http::check_headers;
use crate::inbound::check_webhooks;
use crate::names::{IDENTIFIER_RULE, SLUG_RULE, is_header_name, is_identifier, is_slug};
use crate::provider::{
    AccountConfig, ApiConfig, CATEGORIES, ClientCredentialsAuth, ConnectionField, CredentialField,
    JwtBearerAuth, OAuth2Auth, ProviderAuth, ProviderDefinition, TokenEndpoint,
};
use crate::request::{check_listing, check_request};
use crate::settings::check_pattern;
use crate::template::{Found, Variables, check_template, check_template_map, keep, names_under};
use crate::urls::{check_url, check_url_template};

/// Where a definition comes from, which decides who owns its identity fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A catalogue file: `id`, `name`, `categories` and `docsUrl` are its own.
    Catalogue,
    /// A document's inline integration: the integration gives the id and name.
    Inline,
}

/// Checks `definition`, whose fields are found under `path`.
pub(crate) fn check_provider(
    definition: &ProviderDefinition,
    path: &str,
    origin: Origin,
    report: &mut Report,
) {
    if origin == Origin::Catalogue {
        if !is_slug(&definition.id) {
            report.error(
                field(path, "id"),
                format!("`{}` {SLUG_RULE}", definition.id),
            );
        }
        if definition.name.trim().is_empty() {
            report.error(field(path, "name"), "must not be empty");
        }
        check_categories(&definition.categories, &field(path, "categories"), report);
        if let Some(docs_url) = &definition.docs_url {
            check_url(docs_url, &field(path, "docsUrl"), report);
        }
        if let Some(color) = &definition.brand_color
            && !is_brand_color(color)
        {
            report.error(
                field(path, "brandColor"),
                format!(
                    "`{color}` must be a colour as `#RRGGBB` in upper-case hex, such as `#00A1E0`"
                ),
            );
        }
        if let Some(paragon_type) = &definition.paragon_type
            && !is_paragon_type(paragon_type)
        {
            report.error(
                field(path, "paragonType"),
                format!(
                    "`{paragon_type}` must be an integration type as Paragon spells it: a \
                     lowercase letter, then letters, digits and dots (`googleCalendar`, \
                     `monday.com`)"
                ),
            );
        }
    }
    // Every template in the definition, so the names they use can be checked at the end.
    let mut found = Found::new();
    let auth_path = field(path, "auth");
    let credential_fields = match &definition.auth {
        ProviderAuth::OAuth2(oauth2) => {
            check_oauth2(oauth2, &auth_path, report, &mut found);
            HashSet::new()
        }
        ProviderAuth::ApiKey(api_key) => {
            let fields = check_credential_fields(&api_key.fields, &auth_path, report);
            let inject_path = field(&auth_path, "inject");
            let inject = &api_key.inject;
            match (&inject.header, &inject.query) {
                (Some(_), Some(_)) => {
                    report.error(&inject_path, "give either `header` or `query`, not both");
                }
                (None, None) => {
                    report.error(
                        &inject_path,
                        "needs `header` or `query`: where the key goes",
                    );
                }
                (Some(header), None) if !is_header_name(header) => {
                    report.error(
                        field(&inject_path, "header"),
                        "is not a valid HTTP header name",
                    );
                }
                (None, Some(query)) if query.trim().is_empty() => {
                    report.error(field(&inject_path, "query"), "must not be empty");
                }
                _ => {}
            }
            keep(
                check_template,
                &inject.value,
                &field(&inject_path, "value"),
                report,
                &mut found,
            );
            fields
        }
        ProviderAuth::Basic(basic) => {
            let fields = check_credential_fields(&basic.fields, &auth_path, report);
            keep(
                check_template,
                &basic.username,
                &field(&auth_path, "username"),
                report,
                &mut found,
            );
            keep(
                check_template,
                &basic.password,
                &field(&auth_path, "password"),
                report,
                &mut found,
            );
            fields
        }
        ProviderAuth::OAuth2ClientCredentials(auth) => {
            check_client_credentials(auth, &auth_path, report, &mut found)
        }
        ProviderAuth::JwtBearer(auth) => {
            check_token_endpoint(
                auth.token_endpoint(),
                &auth.scopes,
                &auth.scope_separator,
                &auth_path,
                report,
                &mut found,
            );
            JwtBearerAuth::TEMPLATE_CREDENTIALS
                .iter()
                .copied()
                .collect()
        }
    };
    let connection_fields = check_connection_fields(
        &definition.connection_fields,
        &field(path, "connectionFields"),
        report,
    );
    check_api(
        &definition.api,
        &definition.auth,
        &field(path, "api"),
        report,
        &mut found,
    );
    let mut vars = HashSet::new();
    if let Some(account) = &definition.account {
        vars = check_account(account, &field(path, "account"), report, &mut found);
    }
    if let Some(verify) = &definition.verify {
        let verify_path = field(path, "verify");
        if definition.auth.uses_access_tokens() {
            report.error(
                &verify_path,
                "only api_key and basic providers are verified; an account with an access token \
                 is identified with `account`",
            );
        } else {
            check_request(
                &verify.request,
                &field(&verify_path, "request"),
                report,
                &mut found,
            );
        }
    }
    if origin == Origin::Catalogue
        && matches!(definition.auth, ProviderAuth::OAuth2(_))
        && definition.account.is_none()
    {
        report.error(
            field(path, "account"),
            "missing field `account`: an oauth2 provider must say how to identify the account",
        );
    }
    let declared = Declared {
        connection: connection_fields,
        credentials: credential_fields,
        vars,
    };
    for (value_path, variables) in &found {
        declared.check(variables, value_path, report);
    }
    check_account_types(definition, &field(path, "accountTypes"), report);
    if let Some(webhooks) = &definition.webhooks {
        check_webhooks(webhooks, &field(path, "webhooks"), report);
    }
    check_actions(&definition.actions, &field(path, "actions"), report);
}

/// Each account type: a unique slug and a name, and the definition it makes checked as a
/// whole (after the definition's own errors, which it would only repeat).
fn check_account_types(definition: &ProviderDefinition, path: &str, report: &mut Report) {
    let errors_before = report.len();
    let mut seen = HashSet::new();
    for (i, account_type) in definition.account_types.iter().enumerate() {
        let at = index(path, i);
        if !is_slug(&account_type.id) {
            report.error(
                field(&at, "id"),
                format!("`{}` {SLUG_RULE}", account_type.id),
            );
        } else if !seen.insert(account_type.id.as_str()) {
            report.error(
                field(&at, "id"),
                format!("`{}` is listed twice", account_type.id),
            );
        }
        if account_type.name.trim().is_empty() {
            report.error(field(&at, "name"), "must not be empty");
        }
    }
    if report.len() != errors_before {
        return;
    }
    for (i, account_type) in definition.account_types.iter().enumerate() {
        let effective = definition.of_account_type(account_type);
        check_provider(&effective, &index(path, i), Origin::Inline, report);
    }
}

/// Each category must be one of [`CATEGORIES`], listed once.
fn check_categories(categories: &[String], path: &str, report: &mut Report) {
    let mut seen = HashSet::new();
    for (i, category) in categories.iter().enumerate() {
        if !CATEGORIES.iter().any(|known| known.id == category) {
            let known: Vec<&str> = CATEGORIES.iter().map(|known| known.id).collect();
            report.error(
                index(path, i),
                format!(
                    "`{category}` is not a catalogue category; use one of {}",
                    known.join(", ")
                ),
            );
        } else if !seen.insert(category.as_str()) {
            report.error(index(path, i), format!("`{category}` is listed twice"));
        }
    }
}

/// `#RRGGBB`, upper-case: one spelling per colour, so the catalogue reads uniformly.
fn is_brand_color(text: &str) -> bool {
    text.len() == 7
        && text.starts_with('#')
        && text[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, 'A'..='F'))
}

/// Paragon's integration types are camelCase words (`salesforce`, `microsoftTeams`), a few
/// with a domain's dot (`monday.com`).
fn is_paragon_type(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some('a'..='z'))
        && !text.ends_with('.')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '.')
}

/// The names a provider declares for its templates: `connection.<id>`, `credentials.<id>`,
/// `vars.<name>`.
struct Declared<'d> {
    connection: HashSet<&'d str>,
    credentials: HashSet<&'d str>,
    vars: HashSet<&'d str>,
}

impl Declared<'_> {
    fn check(&self, variables: &Variables, path: &str, report: &mut Report) {
        let roots = [
            (
                "connection",
                &self.connection,
                "connection field",
                "`connectionFields`",
            ),
            (
                "credentials",
                &self.credentials,
                "credential field",
                "`auth.fields`",
            ),
            ("vars", &self.vars, "var", "`account.vars`"),
        ];
        for (root, declared, what, where_) in roots {
            let used: BTreeSet<&str> = names_under(variables, root).collect();
            for name in used {
                if !declared.contains(name) {
                    report.error(
                        path,
                        format!("unknown {what} `{name}`: it is not declared in {where_}"),
                    );
                }
            }
        }
    }
}

fn check_oauth2(oauth2: &OAuth2Auth, path: &str, report: &mut Report, found: &mut Found) {
    keep(
        check_url_template,
        &oauth2.authorization_url,
        &field(path, "authorizationUrl"),
        report,
        found,
    );
    for (params, name) in [
        (&oauth2.authorization_params, "authorizationParams"),
        (&oauth2.add_account_params, "addAccountParams"),
    ] {
        check_template_map(params, &field(path, name), report, found);
    }
    check_token_endpoint(
        oauth2.token_endpoint(),
        &oauth2.scopes,
        &oauth2.scope_separator,
        path,
        report,
        found,
    );
}

/// `type: oauth2_client_credentials`: the token endpoint, and exactly two credential fields
/// (client id, then secret).
fn check_client_credentials<'d>(
    auth: &'d ClientCredentialsAuth,
    path: &str,
    report: &mut Report,
    found: &mut Found,
) -> HashSet<&'d str> {
    check_token_endpoint(
        auth.token_endpoint(),
        &auth.scopes,
        &auth.scope_separator,
        path,
        report,
        found,
    );
    let fields = check_credential_fields(&auth.fields, path, report);
    if auth.fields.len() != 2 {
        report.error(
            field(path, "fields"),
            "needs exactly two fields: the client id, then the client secret",
        );
    } else if !auth.fields[1].secret {
        report.error(
            index(&field(path, "fields"), 1),
            "the client secret must be `secret: true`",
        );
    }
    fields
}

/// The keys every grant's token request shares.
fn check_token_endpoint(
    endpoint: TokenEndpoint<'_>,
    scopes: &[String],
    scope_separator: &str,
    path: &str,
    report: &mut Report,
    found: &mut Found,
) {
    keep(
        check_url_template,
        endpoint.token_url,
        &field(path, "tokenUrl"),
        report,
        found,
    );
    check_scopes(scopes, &field(path, "scopes"), report);
    if scope_separator.is_empty() {
        report.error(field(path, "scopeSeparator"), "must not be empty");
    }
    check_template_map(
        endpoint.token_params,
        &field(path, "tokenParams"),
        report,
        found,
    );
    check_headers(
        endpoint.token_headers,
        &field(path, "tokenHeaders"),
        report,
        found,
    );
    if let Some(token_path) = endpoint.token_path
        && token_path.split('.').any(str::is_empty)
    {
        report.error(
            field(path, "tokenPath"),
            "must be a dotted path such as `authed_user.access_token`",
        );
    }
}

/// Scopes go into one space- (or separator-) joined parameter, so none may be blank or
/// contain whitespace.
pub(crate) fn check_scopes(scopes: &[String], path: &str, report: &mut Report) {
    for (i, scope) in scopes.iter().enumerate() {
        if scope.is_empty() || scope.chars().any(char::is_whitespace) {
            report.error(
                index(path, i),
                "a scope must not be empty or contain whitespace",
            );
        }
    }
}

/// Checks the fields an end user fills in; returns their ids.
fn check_credential_fields<'d>(
    fields: &'d [CredentialField],
    auth_path: &str,
    report: &mut Report,
) -> HashSet<&'d str> {
    let path = field(auth_path, "fields");
    if fields.is_empty() {
        report.error(&path, "needs at least one field: what the end user enters");
    }
    let mut ids = HashSet::new();
    for (i, credential_field) in fields.iter().enumerate() {
        let at = index(&path, i);
        if !is_identifier(&credential_field.id) {
            report.error(
                field(&at, "id"),
                format!("`{}` {IDENTIFIER_RULE}", credential_field.id),
            );
        } else if !ids.insert(credential_field.id.as_str()) {
            report.error(
                field(&at, "id"),
                format!("duplicate field id `{}`", credential_field.id),
            );
        }
        if credential_field.title.trim().is_empty() {
            report.error(field(&at, "title"), "must not be empty");
        }
    }
    ids
}

/// Checks the fields asked at connection time; returns their ids.
fn check_connection_fields<'d>(
    fields: &'d [ConnectionField],
    path: &str,
    report: &mut Report,
) -> HashSet<&'d str> {
    let mut ids = HashSet::new();
    for (i, connection_field) in fields.iter().enumerate() {
        let at = index(path, i);
        if !is_identifier(&connection_field.id) {
            report.error(
                field(&at, "id"),
                format!("`{}` {IDENTIFIER_RULE}", connection_field.id),
            );
        } else if !ids.insert(connection_field.id.as_str()) {
            report.error(
                field(&at, "id"),
                format!("duplicate field id `{}`", connection_field.id),
            );
        }
        if connection_field.title.trim().is_empty() {
            report.error(field(&at, "title"), "must not be empty");
        }
        if let Some(pattern) = &connection_field.pattern {
            check_pattern(pattern, &field(&at, "pattern"), report);
        }
    }
    ids
}

fn check_api(
    api: &ApiConfig,
    auth: &ProviderAuth,
    path: &str,
    report: &mut Report,
    found: &mut Found,
) {
    keep(
        check_url_template,
        &api.base_url,
        &field(path, "baseUrl"),
        report,
        found,
    );
    if let Some(format) = &api.auth_header_format {
        let at = field(path, "authHeaderFormat");
        if auth.uses_access_tokens() {
            keep(check_template, format, &at, report, found);
        } else {
            report.error(
                at,
                "only oauth2 providers have an access token to format; api_key providers use \
                 `auth.inject`, basic ones `auth.username` and `auth.password`",
            );
        }
    }
    check_headers(&api.headers, &field(path, "headers"), report, found);
}

/// Checks the account step; returns the names of the vars it captures.
fn check_account<'d>(
    account: &'d AccountConfig,
    path: &str,
    report: &mut Report,
    found: &mut Found,
) -> HashSet<&'d str> {
    if let Some(request) = &account.request {
        check_request(request, &field(path, "request"), report, found);
    }
    let id_path = field(path, "id");
    if account.id.trim().is_empty() {
        report.error(
            &id_path,
            "must not be empty: a template of the account's id",
        );
    } else {
        keep(check_template, &account.id, &id_path, report, found);
    }
    check_template_map(&account.data, &field(path, "data"), report, found);
    let vars_path = field(path, "vars");
    for name in account.vars.keys() {
        if !is_identifier(name) {
            report.error(
                field(&vars_path, name),
                format!("the name `{name}` {IDENTIFIER_RULE}"),
            );
        }
    }
    check_template_map(&account.vars, &vars_path, report, found);
    if let Some(choose) = &account.choose {
        let choose_path = field(path, "choose");
        if choose.title.trim().is_empty() {
            report.error(field(&choose_path, "title"), "must not be empty");
        }
        let listed = check_listing(
            &choose.items,
            &choose.value,
            &choose.label,
            &choose_path,
            report,
        );
        found.extend(listed.found(&choose_path));
    }
    account.vars.keys().map(String::as_str).collect()
}
