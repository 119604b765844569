//! The catalogue's schema test: every file in `providers/` loads, and matches `schema.json`.

use std::fs;
use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use patchbay_config::{
    AuthType, CATEGORIES, Catalogue, ProviderAuth, catalogue, parse_provider, provider_json_schema,
};

fn providers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../providers")
}

/// `(file name, text)` of every provider file, read from disk (not the embedded copy).
fn provider_files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = fs::read_dir(providers_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .map(|path| {
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            (name, fs::read_to_string(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_provider_file_loads_and_its_id_is_its_file_name() {
    let files = provider_files();
    assert!(
        !files.is_empty(),
        "no provider files in {}",
        providers_dir().display()
    );
    let mut failures = Vec::new();
    for (name, text) in &files {
        match parse_provider(text) {
            Ok(provider) if format!("{}.yaml", provider.id) == *name => {}
            Ok(provider) => failures.push(format!(
                "providers/{name}: id: `{}` is not the file name",
                provider.id
            )),
            Err(errors) => failures.extend(
                errors
                    .iter()
                    .map(|error| format!("providers/{name}: {error}")),
            ),
        }
    }
    assert!(
        failures.is_empty(),
        "invalid provider files:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_embedded_catalogue_holds_every_file_without_errors() {
    let errors: Vec<String> = catalogue()
        .errors()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        errors.is_empty(),
        "invalid provider files:\n{}",
        errors.join("\n")
    );
    assert_eq!(
        catalogue().len(),
        provider_files().len(),
        "the embedded catalogue is stale or incomplete"
    );
    let ids: Vec<&str> = catalogue()
        .iter()
        .map(|provider| provider.id.as_str())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "iter() is sorted by id");
}

#[test]
fn catalogue_get_finds_slack_as_an_oauth2_provider() {
    let slack = catalogue().get("slack").unwrap();
    assert_eq!(slack.name, "Slack");
    assert_eq!(slack.auth_type(), AuthType::OAuth2);
    let ProviderAuth::OAuth2(oauth2) = &slack.auth else {
        panic!("slack is oauth2")
    };
    assert!(!oauth2.scopes.is_empty());
    assert!(catalogue().get("no-such-provider").is_none());
}

#[test]
fn providers_answer_to_their_paragon_types() {
    for (name, id) in [
        ("googleCalendar", "google-calendar"),
        ("googledrive", "google-drive"),
        ("microsoftTeams", "microsoft-teams"),
        ("hubspot", "hubspot"),
        ("monday.com", "monday"),
        ("google-calendar", "google-calendar"),
    ] {
        let found = catalogue().find(name).map(|provider| provider.id.as_str());
        assert_eq!(found, Some(id), "{name}");
    }
    assert!(catalogue().find("googlecalendar").is_none());
    assert!(
        catalogue().get("googleCalendar").is_none(),
        "get is by id only"
    );
}

#[test]
fn a_paragon_type_that_would_name_two_providers_is_reported() {
    let file = |id: &str, paragon_type: &str| {
        format!(
            "id: {id}\nname: {id}\ncategories: [crm]\nbrandColor: '#123ABC'\nparagonType: {paragon_type}\nauth: {{type: api_key, fields: [{{id: key, title: Key}}], inject: {{query: key, value: '{{{{ credentials.key }}}}'}}}}\napi: {{baseUrl: https://{id}.example}}\n"
        )
    };
    let (one, two, three) = (
        file("one", "two"),
        file("two", "shared"),
        file("three", "shared"),
    );
    let catalogue = Catalogue::from_files([
        ("one.yaml", one.as_str()),
        ("two.yaml", two.as_str()),
        ("three.yaml", three.as_str()),
    ]);
    let errors: Vec<String> = catalogue.errors().iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            "providers/one.yaml: paragonType: `two` is the id of another provider",
            "providers/two.yaml: paragonType: `shared` is already the Paragon type of `three`",
        ]
    );
    assert_eq!(catalogue.find("two").unwrap().id, "two");
    assert_eq!(catalogue.find("shared").unwrap().id, "three");
    assert_eq!(catalogue.len(), 3, "the files themselves stay in");
}

#[test]
fn every_provider_file_matches_schema_json() {
    let schema: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(providers_dir().join("schema.json")).unwrap())
            .unwrap();
    let mut compiler = boon::Compiler::new();
    let mut schemas = boon::Schemas::new();
    compiler.add_resource("schema.json", schema).unwrap();
    let index = compiler.compile("schema.json", &mut schemas).unwrap();
    // The validator itself must be able to fail.
    assert!(
        schemas
            .validate(&serde_json::json!({"id": "x", "colour": "red"}), index)
            .is_err()
    );
    let mut failures = Vec::new();
    for (name, text) in provider_files() {
        let instance: serde_json::Value = serde_norway::from_str(&text).unwrap();
        if let Err(error) = schemas.validate(&instance, index) {
            failures.push(format!("providers/{name}: {error:#}"));
        }
    }
    assert!(
        failures.is_empty(),
        "provider files not matching schema.json:\n{}",
        failures.join("\n")
    );
}

/// A broken file is left out of a catalogue and reported with its file name and field.
#[test]
fn a_broken_file_is_reported_with_file_and_field() {
    let good = "id: good\nname: Good\ncategories: [crm]\nbrandColor: '#123ABC'\nauth: {type: api_key, fields: [{id: key, title: Key}], inject: {query: key, value: '{{ credentials.key }}'}}\napi: {baseUrl: https://good.example}\n";
    let bad_url = "id: bad\nname: Bad\nauth: {type: oauth2, authorizationUrl: https://bad.example/a, tokenUrl: /token}\napi: {baseUrl: https://bad.example}\naccount: {id: '{{ token.id }}'}\n";
    let wrong_id = good.replace("id: good", "id: other");
    let plain = good
        .replace("id: good", "id: plain")
        .replace("categories: [crm]\nbrandColor: '#123ABC'\n", "");
    let catalogue = Catalogue::from_files([
        ("good.yaml", good),
        ("bad.yaml", bad_url),
        ("named.yaml", wrong_id.as_str()),
        ("plain.yaml", plain.as_str()),
    ]);
    assert_eq!(catalogue.len(), 1);
    assert!(catalogue.get("good").is_some());
    let errors: Vec<String> = catalogue.errors().iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(
        errors[0].starts_with("providers/bad.yaml: auth.tokenUrl: must be an absolute"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].starts_with("providers/named.yaml: id: `other` must equal the file name `named`"),
        "{}",
        errors[1]
    );
    // What catalogue pages show is required of a catalogue file, though parse_provider, which
    // tests use to build definitions, accepts a file without it.
    assert!(parse_provider(&plain).is_ok());
    assert!(
        errors[2].starts_with("providers/plain.yaml: categories: missing"),
        "{}",
        errors[2]
    );
    assert!(
        errors[3].starts_with("providers/plain.yaml: brandColor: missing field"),
        "{}",
        errors[3]
    );
}

#[test]
fn categories_brand_colours_and_paragon_types_are_checked() {
    let base = "id: p\nname: P\nauth: {type: api_key, fields: [{id: key, title: Key}], inject: {query: key, value: '{{ credentials.key }}'}}\napi: {baseUrl: https://p.example}\n";
    let cases: &[(&str, &str, &str)] = &[
        (
            "categories: [crm, chat]\n",
            "categories[1]",
            "`chat` is not a catalogue category",
        ),
        (
            "categories: [crm, crm]\n",
            "categories[1]",
            "`crm` is listed twice",
        ),
        ("brandColor: '#12abcd'\n", "brandColor", "upper-case hex"),
        ("brandColor: red\n", "brandColor", "must be a colour"),
        ("brandColor: '#12345'\n", "brandColor", "must be a colour"),
        (
            "paragonType: google-calendar\n",
            "paragonType",
            "as Paragon spells it",
        ),
        (
            "paragonType: GoogleCalendar\n",
            "paragonType",
            "as Paragon spells it",
        ),
        (
            "paragonType: monday.\n",
            "paragonType",
            "as Paragon spells it",
        ),
    ];
    for (extra, path, fragment) in cases {
        let text = format!("{base}{extra}");
        let errors = parse_provider(&text).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|error| error.path == *path && error.message.contains(fragment)),
            "expected `{path}: …{fragment}…` for\n{text}\ngot: {errors}"
        );
    }
    let text = format!(
        "{base}categories: [crm, e-commerce]\nbrandColor: '#00A1E0'\nparagonType: googleCalendar\n"
    );
    let provider = parse_provider(&text).unwrap();
    assert_eq!(provider.brand_color.as_deref(), Some("#00A1E0"));
    assert_eq!(provider.paragon_type.as_deref(), Some("googleCalendar"));
}

/// `providers/schema.json` is generated from the types the loader reads a file into, so the
/// two cannot disagree (on the categories, say); `PATCHBAY_BLESS=1` rewrites it.
#[test]
fn schema_json_is_generated_from_the_loaders_types() {
    let path = providers_dir().join("schema.json");
    let generated = provider_json_schema();
    if std::env::var_os("PATCHBAY_BLESS").is_some() {
        let text = serde_json::to_string_pretty(&generated).unwrap();
        fs::write(&path, format!("{text}\n")).unwrap();
    }
    let committed: serde_json::Value = fs::read_to_string(&path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    assert!(
        committed == generated,
        "providers/schema.json is stale; regenerate it with\n  \
         PATCHBAY_BLESS=1 cargo test -p patchbay-config --test it schema_json"
    );
    let listed = &generated["properties"]["categories"]["items"]["enum"];
    let loader: Vec<&str> = CATEGORIES.iter().map(|category| category.id).collect();
    assert_eq!(*listed, serde_json::json!(loader));
}

#[test]
fn every_category_is_used_and_paragon_types_are_unique() {
    let mut by_paragon_type: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for provider in catalogue().iter() {
        if let Some(paragon_type) = &provider.paragon_type {
            by_paragon_type
                .entry(paragon_type)
                .or_default()
                .push(&provider.id);
        }
    }
    let shared: Vec<_> = by_paragon_type
        .iter()
        .filter(|(_, ids)| ids.len() > 1)
        .collect();
    assert!(
        shared.is_empty(),
        "one Paragon type must name one provider: {shared:?}"
    );
    for category in CATEGORIES {
        assert!(
            catalogue()
                .iter()
                .any(|provider| provider.categories.iter().any(|id| id == category.id)),
            "no provider in the category `{}`",
            category.id
        );
    }
}

#[test]
fn provider_files_report_undeclared_template_names_and_missing_account() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "id: p\nname: P\nauth: {type: oauth2, authorizationUrl: 'https://{{ connection.sub }}.p.example/a', tokenUrl: https://p.example/t}\napi: {baseUrl: https://p.example}\naccount: {id: '{{ token.id }}'}\n",
            "auth.authorizationUrl",
            "unknown connection field `sub`",
        ),
        (
            "id: p\nname: P\nauth: {type: basic, fields: [{id: user, title: User}], username: '{{ credentials.user }}', password: '{{ credentials.pass }}'}\napi: {baseUrl: https://p.example}\n",
            "auth.password",
            "unknown credential field `pass`",
        ),
        (
            "id: p\nname: P\nauth: {type: oauth2, authorizationUrl: https://p.example/a, tokenUrl: https://p.example/t}\napi: {baseUrl: '{{ vars.apiEndpoint }}'}\naccount: {id: '{{ token.id }}', vars: {endpoint: '{{ response.body.url }}'}}\n",
            "api.baseUrl",
            "unknown var `apiEndpoint`",
        ),
        (
            "id: p\nname: P\nauth: {type: oauth2, authorizationUrl: https://p.example/a, tokenUrl: https://p.example/t}\napi: {baseUrl: https://p.example}\n",
            "account",
            "missing field `account`",
        ),
        (
            "id: p\nname: P\nauth: {type: oauth2}\napi: {baseUrl: https://p.example}\n",
            "auth.authorizationUrl",
            "missing field",
        ),
        ("- not a mapping\n", "", "expected a provider definition"),
    ];
    for (text, path, fragment) in cases {
        let errors = parse_provider(text).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|error| error.path == *path && error.message.contains(fragment)),
            "expected `{path}: …{fragment}…` for\n{text}\ngot: {errors}"
        );
    }
}
