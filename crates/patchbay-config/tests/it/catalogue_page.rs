//! `docs/providers.md`, the catalogue's page, is generated from the provider files. This test
//! fails when the page is not what the files make; `PATCHBAY_BLESS=1` makes it rewrite the page
//! instead.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use patchbay_config::{AuthType, CATEGORIES, ProviderDefinition, catalogue};

const REGENERATE: &str = "PATCHBAY_BLESS=1 cargo test -p patchbay-config --test it catalogue_page";

fn auth_label(auth: AuthType) -> &'static str {
    match auth {
        AuthType::OAuth2 => "OAuth 2.0",
        AuthType::ApiKey => "API key",
        AuthType::Basic => "HTTP Basic",
        AuthType::OAuth2ClientCredentials => "OAuth 2.0 client credentials",
        AuthType::JwtBearer => "JWT bearer (service account)",
    }
}

/// The page for the embedded catalogue: a count per auth scheme, then one table per category
/// (a provider in several categories is in each of their tables).
fn page() -> String {
    let providers: Vec<&ProviderDefinition> = catalogue().iter().collect();
    let mut out = String::new();
    out.push_str("# Provider catalogue\n\n");
    out.push_str(
        "The built-in providers, from `providers/*.yaml` (see `providers/README.md` for the \
         file format).\nA running server lists them at `GET /api/v1/providers`, and \
         `patchbay providers list|show` does offline.\nThis page is generated from those files; \
         after changing them, regenerate it with\n\n",
    );
    writeln!(out, "```sh\n{REGENERATE}\n```\n").unwrap();
    let counts: Vec<String> = AuthType::ALL
        .iter()
        .map(|&auth| {
            let count = providers
                .iter()
                .filter(|provider| provider.auth_type() == auth)
                .count();
            (count, auth)
        })
        .filter(|(count, _)| *count > 0)
        .map(|(count, auth)| format!("{count} {}", auth_label(auth)))
        .collect();
    writeln!(out, "{} providers: {}.", providers.len(), counts.join(", ")).unwrap();
    let with_actions = providers.iter().filter(|p| !p.actions.is_empty()).count();
    let with_webhooks = providers.iter().filter(|p| p.webhooks.is_some()).count();
    writeln!(
        out,
        "{with_actions} have typed actions (for AI agents over MCP and the ActionKit-compatible \
         API); {with_webhooks} declare their webhooks (integration triggers)."
    )
    .unwrap();
    for category in CATEGORIES {
        let mut members: Vec<&&ProviderDefinition> = providers
            .iter()
            .filter(|provider| provider.categories.iter().any(|id| id == category.id))
            .collect();
        members.sort_by_key(|provider| provider.name.to_lowercase());
        writeln!(out, "\n## {} ({})\n", category.title, members.len()).unwrap();
        out.push_str("| Name | id | Auth | Paragon type | Actions | Webhooks | Docs |\n");
        out.push_str("| --- | --- | --- | --- | --- | --- | --- |\n");
        for provider in members {
            let paragon = provider
                .paragon_type
                .as_deref()
                .map(|paragon_type| format!("`{paragon_type}`"))
                .unwrap_or_default();
            let docs = provider
                .docs_url
                .as_deref()
                .map(|url| format!("[docs]({url})"))
                .unwrap_or_default();
            let actions = match provider.actions.len() {
                0 => String::new(),
                count => count.to_string(),
            };
            let webhooks = if provider.webhooks.is_some() {
                "yes"
            } else {
                ""
            };
            writeln!(
                out,
                "| {} | `{}` | {} | {paragon} | {actions} | {webhooks} | {docs} |",
                provider.name,
                provider.id,
                auth_label(provider.auth_type()),
            )
            .unwrap();
        }
    }
    out
}

/// Where the generated part of the page ends: what follows it (decisions about the catalogue,
/// written by hand) is kept as it is.
const HAND_WRITTEN: &str = "<!-- Written by hand from here on; the generator keeps it. -->";

#[test]
fn docs_providers_md_is_generated_from_the_catalogue() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/providers.md");
    let current = fs::read_to_string(&path).unwrap_or_default();
    let kept = current
        .find(HAND_WRITTEN)
        .map_or("", |start| &current[start..]);
    let expected = match kept {
        "" => page(),
        kept => format!("{}\n{kept}", page()),
    };
    if std::env::var_os("PATCHBAY_BLESS").is_some() {
        fs::write(&path, &expected).unwrap();
        return;
    }
    assert!(
        current == expected,
        "docs/providers.md is not generated from the current catalogue; regenerate it with\n  \
         {REGENERATE}"
    );
}

#[test]
fn the_page_lists_every_provider_under_each_of_its_categories() {
    let page = page();
    for provider in catalogue().iter() {
        let row = format!("| {} | `{}` |", provider.name, provider.id);
        assert_eq!(
            page.matches(&row).count(),
            provider.categories.len(),
            "{}",
            provider.id
        );
    }
}
