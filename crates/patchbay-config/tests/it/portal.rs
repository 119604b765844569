//! How the Connect Portal presents a project: accent colours, the order and visibility of
//! workflows, and the integration's overview rendered from Markdown to sanitised HTML.

use patchbay_config::{ProjectConfig, load, markdown_to_html};
use serde_json::json;

use crate::support::list;

fn config() -> ProjectConfig {
    load(
        r##"
settings:
  portal: {accentColor: "#3B5BDB"}
integrations:
  crm:
    provider: stripe
    portal:
      accentColor: "#0b7285"
      overview: "Sync **contacts**."
      workflowOrder: [nightly, pro-only]
  pay:
    provider: stripe
workflows:
  - {id: first, integration: crm, trigger: {type: request}, steps: [{id: a, type: function, code: x}]}
  - id: pro-only
    integration: crm
    portal:
      help: For paying teams
      showWhen:
        - {meta: plan, in: [pro, team]}
        - {meta: region, equals: eu}
    trigger: {type: request}
    steps: [{id: a, type: function, code: x}]
  - id: hidden
    integration: crm
    portal: {hidden: true}
    trigger: {type: request}
    steps: [{id: a, type: function, code: x}]
  - id: nightly
    integration: crm
    portal: {showWhen: [{meta: beta, exists: false}]}
    trigger: {type: request}
    steps: [{id: a, type: function, code: x}]
  - {id: charge, integration: pay, trigger: {type: request}, steps: [{id: a, type: function, code: x}]}
"##,
    )
    .unwrap_or_else(|errors| panic!("{}", list(&errors)))
}

fn ids(workflows: &[&patchbay_config::WorkflowConfig]) -> Vec<String> {
    workflows.iter().map(|w| w.id.clone()).collect()
}

#[test]
fn workflows_are_listed_in_the_order_given_then_in_document_order() {
    let config = config();
    assert_eq!(
        ids(&config.portal_workflows("crm")),
        ["nightly", "pro-only", "first", "hidden"]
    );
    assert_eq!(ids(&config.portal_workflows("pay")), ["charge"]);
    assert!(config.portal_workflows("nothing").is_empty());
    let crm = config.integration("crm").unwrap();
    let only_two: Vec<_> = config.workflows.iter().take(2).collect();
    assert_eq!(
        ids(&crm.workflow_display_order(only_two)),
        ["pro-only", "first"],
        "an ordered workflow not among those given is skipped"
    );
}

#[test]
fn show_when_conditions_must_all_hold_on_the_users_metadata() {
    let config = config();
    let pro = config.workflow("pro-only").unwrap();
    assert!(pro.shown_to(&json!({"plan": "pro", "region": "eu"})));
    assert!(pro.shown_to(&json!({"plan": "team", "region": "eu", "other": 1})));
    assert!(!pro.shown_to(&json!({"plan": "free", "region": "eu"})));
    assert!(!pro.shown_to(&json!({"plan": "pro", "region": "us"})));
    assert!(!pro.shown_to(&json!({"plan": "pro"})));
    assert!(!pro.shown_to(&json!({})));
    assert!(!pro.shown_to(&json!(null)));
    // Compared as JSON: a number is not its text.
    assert!(!pro.shown_to(&json!({"plan": "pro", "region": ["eu"]})));
    assert_eq!(pro.portal_help(), Some("For paying teams"));

    let nightly = config.workflow("nightly").unwrap();
    assert!(nightly.shown_to(&json!({})));
    assert!(nightly.shown_to(&json!({"beta": null})), "null is no value");
    assert!(!nightly.shown_to(&json!({"beta": false})));

    let first = config.workflow("first").unwrap();
    assert!(first.shown_to(&json!({})), "no conditions: shown to all");
    assert_eq!(first.portal_help(), None);

    let hidden = config.workflow("hidden").unwrap();
    assert!(hidden.shown_to(&json!({})), "hidden is not refused");
    assert!(!hidden.listed_for(&json!({})), "but it is not listed");
    assert!(first.listed_for(&json!({})));
    assert!(!pro.listed_for(&json!({})));
}

#[test]
fn exists_and_equals_null_read_a_missing_key_as_null() {
    let config = load(
        r#"
integrations:
  crm: {provider: stripe}
workflows:
  - id: wf
    integration: crm
    portal: {showWhen: [{meta: plan, exists: true}, {meta: trial, equals: null}]}
    trigger: {type: request}
    steps: [{id: a, type: function, code: x}]
"#,
    )
    .unwrap();
    let wf = config.workflow("wf").unwrap();
    assert!(wf.shown_to(&json!({"plan": "free"})));
    assert!(wf.shown_to(&json!({"plan": 0, "trial": null})));
    assert!(!wf.shown_to(&json!({"plan": "free", "trial": true})));
    assert!(!wf.shown_to(&json!({"trial": null})));
    // Stored and read back, the condition on `null` is still one.
    let stored: patchbay_config::WorkflowConfig =
        serde_json::from_value(serde_json::to_value(wf).unwrap()).unwrap();
    assert_eq!(&stored, wf);
}

#[test]
fn the_accent_colour_is_the_integrations_else_the_projects() {
    let config = config();
    let crm = config.integration("crm").unwrap();
    let pay = config.integration("pay").unwrap();
    assert_eq!(crm.accent_color(&config.settings), Some("#0b7285"));
    assert_eq!(pay.accent_color(&config.settings), Some("#3B5BDB"));
    let bare = load("integrations:\n  pay: {provider: stripe}\n").unwrap();
    let pay = bare.integration("pay").unwrap();
    assert_eq!(pay.accent_color(&bare.settings), None);
    assert_eq!(pay.overview_html(), None);
    assert_eq!(
        crm.overview_html().as_deref(),
        Some("<p>Sync <strong>contacts</strong>.</p>\n")
    );
}

#[test]
fn markdown_renders_to_html() {
    let html = markdown_to_html(
        "# Title\n\nSome *text* and a [link](https://example.com/a?b=1&c=2 \"Docs\").\n\n\
         - one\n- two\n\n![logo](https://example.com/logo.png)\n\n\
         Mail <ada@example.com> or [write](mailto:ada@example.com).\n\n`<code>`\n",
    );
    assert!(html.contains("<h1>Title</h1>"), "{html}");
    assert!(html.contains("<em>text</em>"), "{html}");
    assert!(
        html.contains(r#"<a href="https://example.com/a?b=1&amp;c=2" title="Docs">link</a>"#),
        "{html}"
    );
    assert!(html.contains("<li>one</li>"), "{html}");
    assert!(
        html.contains(r#"<img src="https://example.com/logo.png" alt="logo" />"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<a href="mailto:ada@example.com">ada@example.com</a>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<a href="mailto:ada@example.com">write</a>"#),
        "{html}"
    );
    assert!(html.contains("<code>&lt;code&gt;</code>"), "{html}");
}

/// Whatever the Markdown holds, the HTML's only elements are the ones the Markdown writer
/// makes, with no attribute but `href`, `src`, `alt`, `title` and table alignment, and only
/// http(s) and mailto URLs; everything else is text (no `<` outside a tag).
fn assert_inert(html: &str) {
    let allowed = [
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "em",
        "strong",
        "a",
        "img",
        "ul",
        "ol",
        "li",
        "code",
        "pre",
        "blockquote",
        "hr",
        "br",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "del",
    ];
    for piece in html.split('<').skip(1) {
        let tag = piece
            .split_once('>')
            .unwrap_or_else(|| panic!("unclosed tag in {html}"))
            .0;
        let body = tag.trim_start_matches('/');
        let name: String = body
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        assert!(allowed.contains(&name.as_str()), "tag `{name}` in {html}");
        // `name="value"` pairs: values never hold a quote (the writer escapes it).
        let attributes = &body[name.len()..];
        let parts: Vec<&str> = attributes.split('"').collect();
        for pair in parts.chunks(2) {
            let key = pair[0]
                .trim()
                .trim_end_matches('=')
                .trim_end_matches('/')
                .trim();
            if key.is_empty() {
                continue;
            }
            assert!(
                ["href", "src", "alt", "title", "style"].contains(&key),
                "attribute `{key}` in {html}"
            );
            let value = pair.get(1).copied().unwrap_or_default();
            match key {
                "href" | "src" => assert!(
                    ["https://", "http://", "mailto:"]
                        .iter()
                        .any(|scheme| value.starts_with(scheme)),
                    "URL `{value}` in {html}"
                ),
                "style" => assert!(value.starts_with("text-align: "), "{html}"),
                _ => {}
            }
        }
    }
}

#[test]
fn hostile_markdown_is_rendered_inert() {
    let cases = [
        // Raw HTML, as a block and inline.
        (
            "<script>alert(1)</script>",
            "&lt;script&gt;alert(1)&lt;/script&gt;",
        ),
        (
            "Hello <script>alert(1)</script> there",
            "Hello &lt;script&gt;alert(1)&lt;/script&gt; there",
        ),
        (
            "<img src=x onerror=alert(1)>",
            "&lt;img src=x onerror=alert(1)&gt;",
        ),
        (
            "text <img src=x onerror=\"alert(1)\"> more",
            "text &lt;img src=x onerror=\"alert(1)\"&gt; more",
        ),
        (
            "<div onclick=\"steal()\">\n\n*still markdown*\n\n</div>",
            "<em>still markdown</em>",
        ),
        ("<!-- a comment -->", "&lt;!-- a comment --&gt;"),
        // Links and images to anything but http, https and mailto keep their text only.
        ("[click](javascript:alert(1))", "<p>click</p>"),
        ("[click](JaVaScRiPt:alert(1))", "<p>click</p>"),
        ("[click](java\tscript:alert(1))", "click"),
        ("[click]( javascript:alert(1) )", "<p>click</p>"),
        (
            "[click](data:text/html;base64,PHNjcmlwdD4=)",
            "<p>click</p>",
        ),
        ("[click](vbscript:msgbox)", "<p>click</p>"),
        ("[relative](/admin)", "<p>relative</p>"),
        ("[anchor](#top)", "<p>anchor</p>"),
        ("<javascript:alert(1)>", "<p>javascript:alert(1)</p>"),
        ("![pic](javascript:alert(1))", "<p>pic</p>"),
        ("![pic](data:image/svg+xml,<svg onload=alert(1)>)", "pic"),
        ("[ref][x]\n\n[x]: javascript:alert(1)", "<p>ref</p>"),
        // A kept image inside a dropped link, and the reverse.
        (
            "[![ok](https://example.com/i.png)](javascript:x)",
            r#"<p><img src="https://example.com/i.png" alt="ok" /></p>"#,
        ),
        (
            "[![bad](javascript:x)](https://example.com)",
            r#"<p><a href="https://example.com/">bad</a></p>"#,
        ),
        // HTML in titles, text and URLs is escaped.
        (
            "[t](https://example.com \"\\\"><script>alert(1)</script>\")",
            "title=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\"",
        ),
        (
            "![a\"onerror=\"x](https://example.com/i.png)",
            "alt=\"a&quot;onerror=&quot;x\"",
        ),
        (
            "[x](https://example.com/\"onmouseover=\"alert(1))",
            "href=\"https://example.com/%22onmouseover=%22alert(1)\"",
        ),
        (
            "**<b>bold</b>**",
            "<strong>&lt;b&gt;bold&lt;/b&gt;</strong>",
        ),
        (
            "| a |\n|---|\n| <i>x</i> |",
            "<td>&lt;i&gt;x&lt;/i&gt;</td>",
        ),
    ];
    for (markdown, expected) in cases {
        let html = markdown_to_html(markdown);
        assert!(
            html.contains(expected),
            "{markdown:?} gave {html:?}, lacking {expected:?}"
        );
        assert_inert(&html);
    }
}
