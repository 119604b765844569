//! The HTML of the consent page and of the authorize endpoint's error page.
//!
//! Self-contained on purpose: the sandbox must work offline, so there is no
//! external stylesheet, font, script or image, and the form posts to a
//! relative URL so the page works wherever the sandbox is mounted. Every
//! value that came with the request is escaped.

use std::fmt::Write as _;

use url::Url;

use super::state::SANDBOX_ACCOUNTS;

/// A validated authorization request, as the consent page shows it and the
/// decision re-checks it.
#[derive(Debug)]
pub(super) struct AuthorizeRequest {
    pub client_id: String,
    /// As sent; the token request must repeat exactly this string.
    pub redirect_uri: String,
    pub redirect: Url,
    pub state: String,
    pub scopes: Vec<String>,
    pub code_challenge: Option<String>,
}

/// The one stylesheet, inline; the content security policy allows exactly
/// this text by its hash.
pub(super) const STYLE: &str = r#"
:root { color-scheme: light dark; --accent: #3b4fd8; --border: #c5c8d4; --muted: #5a5f70; --bg: #f6f7fb; --card: #ffffff; --text: #1c1f2a; }
@media (prefers-color-scheme: dark) { :root { --accent: #9aa8ff; --border: #454a5c; --muted: #b2b6c4; --bg: #15171e; --card: #1f222c; --text: #eceef4; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--text); }
main { max-width: 32rem; margin: 3rem auto; padding: 2rem; background: var(--card); border: 1px solid var(--border); border-radius: 12px; }
h1 { font-size: 1.5rem; margin: 0 0 .5rem; }
h2 { font-size: 1rem; margin: 1.5rem 0 .5rem; }
.badge { display: inline-block; font-size: .75rem; font-weight: 600; letter-spacing: .04em; text-transform: uppercase; color: var(--muted); border: 1px solid var(--border); border-radius: 999px; padding: .1rem .6rem; margin-bottom: 1rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
ul.scopes { margin: 0; padding-left: 1.25rem; }
fieldset { border: 0; margin: 1.5rem 0 0; padding: 0; }
legend { font-weight: 600; margin-bottom: .5rem; padding: 0; }
.account { display: flex; align-items: center; gap: .75rem; padding: .75rem 1rem; margin-bottom: .5rem; border: 1px solid var(--border); border-radius: 8px; cursor: pointer; }
.account:hover { border-color: var(--accent); }
.account:has(input:checked) { border-color: var(--accent); box-shadow: inset 0 0 0 1px var(--accent); }
.account input { width: 1.1rem; height: 1.1rem; margin: 0; accent-color: var(--accent); }
.account .who { display: flex; flex-direction: column; }
.account .email { color: var(--muted); font-size: .9rem; }
.muted { color: var(--muted); font-size: .9rem; }
.actions { display: flex; gap: .75rem; margin-top: 1.5rem; }
button { font: inherit; font-weight: 600; padding: .6rem 1.4rem; border-radius: 8px; border: 1px solid var(--border); background: transparent; color: var(--text); cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: var(--card); }
button:hover { filter: brightness(1.08); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.account:has(input:focus-visible) { outline: 3px solid var(--accent); outline-offset: 2px; }
.account input:focus-visible { outline: none; }
"#;

/// The consent page for a validated request: who asks, for what, as which
/// account; "Allow" and "Deny" post the request back with the decision.
pub(super) fn consent(request: &AuthorizeRequest, redirect_host: &str) -> String {
    let client = escape(&request.client_id);
    let mut body = String::new();
    let _ = write!(
        body,
        r#"<span class="badge">Sandbox provider</span>
<h1>Connect to Patchbay Sandbox</h1>
<p><strong><code>{client}</code></strong> wants to access your Sandbox account.</p>
<h2 id="scopes-heading">It asks for</h2>
"#
    );
    if request.scopes.is_empty() {
        body.push_str(r#"<p class="muted">No particular scopes.</p>"#);
    } else {
        body.push_str(r#"<ul class="scopes" aria-labelledby="scopes-heading">"#);
        for scope in &request.scopes {
            let _ = write!(body, "<li><code>{}</code></li>", escape(scope));
        }
        body.push_str("</ul>");
    }

    body.push_str("\n<form method=\"post\" action=\"authorize\">\n");
    let scope = request.scopes.join(" ");
    let mut hidden = vec![
        ("response_type", "code"),
        ("client_id", request.client_id.as_str()),
        ("redirect_uri", request.redirect_uri.as_str()),
        ("state", request.state.as_str()),
        ("scope", scope.as_str()),
    ];
    if let Some(challenge) = &request.code_challenge {
        hidden.push(("code_challenge", challenge));
        hidden.push(("code_challenge_method", "S256"));
    }
    for (name, value) in hidden {
        let _ = writeln!(
            body,
            r#"<input type="hidden" name="{name}" value="{}">"#,
            escape(value)
        );
    }

    body.push_str("<fieldset>\n<legend>Choose the account to connect</legend>\n");
    for (index, account) in SANDBOX_ACCOUNTS.iter().enumerate() {
        let id = escape(account.id);
        let _ = writeln!(
            body,
            r#"<label class="account" for="account-{id}"><input type="radio" id="account-{id}" name="account" value="{id}"{checked}><span class="who"><span class="name">{name}</span><span class="email">{email}</span></span></label>"#,
            checked = if index == 0 { " checked" } else { "" },
            name = escape(account.name),
            email = escape(account.email),
        );
    }
    let _ = write!(
        body,
        r#"</fieldset>
<p class="muted">Either way, you go back to <strong>{host}</strong>.</p>
<div class="actions">
<button type="submit" class="primary" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
</div>
</form>
<p class="muted">This is Patchbay's offline test provider. The accounts are made up; nothing leaves this server.</p>"#,
        host = escape(redirect_host),
    );
    page("Connect to Patchbay Sandbox", &body)
}

/// The page for a request that cannot go back to the application: its
/// redirect URI may not be trusted, so the user is told here instead.
pub(super) fn error(title: &str, message: &str) -> String {
    let body = format!(
        r#"<span class="badge">Sandbox provider</span>
<h1>{title}</h1>
<p>{message}</p>
<p class="muted">Nothing was sent back to the application. Fix the authorization request and try again.</p>"#,
        title = escape(title),
        message = escape(message),
    );
    page(title, &body)
}

fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<style>{STYLE}</style>
</head>
<body>
<main>
{body}
</main>
</body>
</html>
"#,
        title = escape(title),
    )
}

/// Escapes text for HTML content and for double- or single-quoted
/// attributes.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}
