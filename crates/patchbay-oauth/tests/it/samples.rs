//! Every catalogue provider's `account` step, run against a sample of what that provider
//! answers: `providers/samples/<id>.json`, written from the provider's documentation of its
//! token and identity responses. A local fake stands in for the provider's hosts: a URL
//! `https://<host>/<path>` of the definition becomes `<fake>/<host>/<path>`, so the sample can
//! say which real URL the step calls and the test can check that it did.
//!
//! A sample is a JSON object:
//!
//! - `connection`, `credentials`, `callback`: what the user entered and the OAuth callback
//!   carried, as templates read them (`connection.subdomain`, `credentials.apiKey`).
//! - `token`: the token response, whole. Required of an `oauth2` provider, whose code is
//!   exchanged for it first, so `token.*` is what the exchange really keeps, and of a
//!   `jwt_bearer` one, whose assertion (signed with a test key for the sample's
//!   `credentials.client_email`) is exchanged for it.
//! - `request` and `response`: the account request as `"GET https://api.example.com/me"` and
//!   the JSON body answered to it. Required exactly when the step makes a request.
//! - `providerId`, `name`: the account id and display name the step must produce.
//! - `vars`: what the step must capture, when it captures anything.

use std::fs;
use std::path::{Path, PathBuf};

use patchbay_config::{ProviderAuth, ProviderDefinition, catalogue};
use patchbay_oauth::{AccountAuth, ServiceAccountKey, TemplateContext, api_base_url};
use secrecy::ExposeSecret as _;
use serde_json::{Map, Value};

use crate::support::{FakeProvider, Reply, client, credentials, service_account_key_file};

const KEYS: &[&str] = &[
    "connection",
    "credentials",
    "callback",
    "token",
    "request",
    "response",
    "choice",
    "providerId",
    "name",
    "vars",
];

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../providers/samples")
}

#[tokio::test]
async fn every_account_step_identifies_the_account_of_its_sample() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for provider in catalogue().iter() {
        checked += 1;
        if provider.account.is_none() {
            // Every catalogue provider knows which account it connected.
            failures.push(format!("{}: no `account` step", provider.id));
        } else if let Err(failure) = check(provider).await {
            failures.push(format!("{}: {failure}", provider.id));
        }
    }
    assert!(checked > 0, "the catalogue is empty");
    assert!(
        failures.is_empty(),
        "account steps that do not identify their sample:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_sample_is_of_a_provider_with_an_account_step() {
    let mut strays = Vec::new();
    for entry in fs::read_dir(samples_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let provider = name
            .strip_suffix(".json")
            .and_then(|id| catalogue().get(id));
        if provider.is_none_or(|provider| provider.account.is_none()) {
            strays.push(name);
        }
    }
    assert!(
        strays.is_empty(),
        "samples of no provider with an account step: {strays:?}"
    );
}

/// Runs `provider`'s token exchange (for oauth2) and account step against its sample.
async fn check(provider: &ProviderDefinition) -> Result<(), String> {
    let path = samples_dir().join(format!("{}.json", provider.id));
    let text = fs::read_to_string(&path)
        .map_err(|_| format!("no sample at providers/samples/{}.json", provider.id))?;
    let sample: Map<String, Value> =
        serde_json::from_str(&text).map_err(|error| format!("sample: {error}"))?;
    if let Some(key) = sample.keys().find(|key| !KEYS.contains(&key.as_str())) {
        return Err(format!("sample: unknown key `{key}`"));
    }
    let object = |key: &str| match sample.get(key) {
        None => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(_) => Err(format!("sample: `{key}` must be an object")),
    };
    let text_of = |key: &str| {
        sample
            .get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("sample: `{key}` must be a string"))
    };

    // The value chosen, where the account lists several things (`account.choose`).
    let choice = match sample.get("choice") {
        None => None,
        Some(Value::String(choice)) => Some(choice.as_str()),
        Some(_) => return Err("sample: `choice` must be a string".into()),
    };
    let fake = FakeProvider::start().await;
    let mut definition = provider.clone();
    let mut ctx = TemplateContext {
        connection: object("connection")?,
        credentials: object("credentials")?,
        callback: object("callback")?,
        ..TemplateContext::default()
    };
    let access_token = match &mut definition.auth {
        ProviderAuth::OAuth2(oauth2) => {
            let token = sample
                .get("token")
                .ok_or("sample: an oauth2 provider's sample needs `token`")?;
            let url = ctx.render(&oauth2.token_url).map_err(|e| e.to_string())?;
            let local = local_url(&fake, &url)?;
            fake.reply(&local_path(&url)?, Reply::json(200, token.clone()));
            oauth2.token_url = local;
            let tokens = client()
                .exchange_code(
                    oauth2,
                    &credentials(),
                    "sample-code",
                    "https://patchbay.example/oauth/callback",
                    None,
                    &ctx,
                )
                .await
                .map_err(|error| format!("token exchange: {error}"))?;
            ctx.token = tokens.public_fields;
            Some(tokens.access_token.expose_secret().to_owned())
        }
        ProviderAuth::JwtBearer(auth) => {
            let token = sample
                .get("token")
                .ok_or("sample: a jwt_bearer provider's sample needs `token`")?;
            let url = ctx.render(&auth.token_url).map_err(|e| e.to_string())?;
            let local = local_url(&fake, &url)?;
            fake.reply(&local_path(&url)?, Reply::json(200, token.clone()));
            auth.token_url = local.clone();
            let given = |name: &str| ctx.credentials.get(name).and_then(Value::as_str);
            let email = given("client_email").ok_or("sample: needs `credentials.client_email`")?;
            let key_file =
                service_account_key_file(email, given("project_id").unwrap_or(""), &local);
            let key = ServiceAccountKey::parse(&key_file).map_err(|e| e.to_string())?;
            let subject = given("subject").map(str::to_owned);
            let tokens = client()
                .jwt_bearer(auth, &key, subject.as_deref(), &ctx)
                .await
                .map_err(|error| format!("JWT bearer grant: {error}"))?;
            // What an account connected with this key file reads as `credentials.*`.
            ctx.credentials = key.template_values(subject.as_deref());
            ctx.token = tokens.public_fields;
            Some(tokens.access_token.expose_secret().to_owned())
        }
        _ if sample.contains_key("token") => {
            return Err(
                "sample: only an oauth2 or jwt_bearer provider's sample has `token`".into(),
            );
        }
        _ => None,
    };
    let auth = match (&access_token, &provider.auth) {
        (Some(token), _) => AccountAuth::Bearer(token),
        (None, ProviderAuth::ApiKey(_)) => AccountAuth::ApiKey,
        (None, _) => AccountAuth::Basic,
    };

    let account = definition.account.as_mut().expect("filtered on account");
    let expected_request = match &mut account.request {
        Some(request) => {
            let expected = text_of("request")?.to_owned();
            let (method, url) = expected
                .split_once(' ')
                .ok_or("sample: `request` must be `METHOD https://...`")?;
            if method != request.method.as_str() {
                return Err(format!(
                    "the account request is a {}, the sample's a {method}",
                    request.method.as_str()
                ));
            }
            let body = sample
                .get("response")
                .ok_or("sample: a step with a request needs `response`")?;
            fake.reply(&local_path(url)?, Reply::json(200, body.clone()));
            if let Some(template) = &request.url {
                let rendered = ctx.render(template).map_err(|e| e.to_string())?;
                request.url = Some(local_url(&fake, &rendered)?);
            } else {
                let base = api_base_url(provider, &ctx).map_err(|e| e.to_string())?;
                definition.api.base_url = local_url(&fake, base.as_str())?;
            }
            Some(expected)
        }
        None if sample.contains_key("request") || sample.contains_key("response") => {
            return Err("sample: a step without a request reads no `request`/`response`".into());
        }
        None => None,
    };

    let identity = client()
        .identify_account(&definition, &auth, &ctx, choice)
        .await
        .map_err(|error| {
            let calls: Vec<String> = fake.requests().iter().map(real_url).collect();
            format!("account step failed: {error} (requests made: {calls:?})")
        });
    if let Some(expected) = expected_request {
        let last = fake.requests().pop().ok_or("no request was made")?;
        let made = format!("{} {}", last.method, real_url(&last));
        if made != expected {
            return Err(format!("requested `{made}`, the sample says `{expected}`"));
        }
    }
    let identity = identity?;
    let provider_id = text_of("providerId")?;
    if identity.provider_id != provider_id {
        return Err(format!(
            "providerId `{}`, the sample expects `{provider_id}`",
            identity.provider_id
        ));
    }
    let name = identity.provider_data.get("name").and_then(Value::as_str);
    if name != Some(text_of("name")?) {
        return Err(format!(
            "name {name:?}, the sample expects `{}`",
            text_of("name")?
        ));
    }
    let vars = object("vars")?;
    if identity.vars != vars {
        return Err(format!(
            "vars {:?}, the sample expects {vars:?}",
            identity.vars
        ));
    }
    Ok(())
}

/// `https://host/path?query` served by the fake: `<fake>/host/path?query`.
fn local_url(fake: &FakeProvider, url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| format!("`{url}` is not an https URL"))?;
    Ok(format!("{}/{rest}", fake.url))
}

/// The path at which the fake answers for `https://host/path?query`: `/host/path`.
fn local_path(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| format!("`{url}` is not an https URL"))?;
    Ok(format!("/{}", rest.split('?').next().unwrap_or(rest)))
}

/// The real URL a request to the fake stands for.
fn real_url(request: &crate::support::Recorded) -> String {
    let mut url = format!("https:/{}", request.path);
    if !request.query.is_empty() {
        url.push('?');
        url.push_str(
            &url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&request.query)
                .finish(),
        );
    }
    url
}
