//! Broken documents: each names the exact path of its error and a fragment of the message, and
//! has no other error (a mistake is reported once, not echoed by the checks after it).

use patchbay_config::load;

use crate::support::{INTEGRATIONS, list, with_workflows};

struct Case {
    name: &'static str,
    document: String,
    path: &'static str,
    message: &'static str,
}

fn case(
    name: &'static str,
    document: impl Into<String>,
    path: &'static str,
    message: &'static str,
) -> Case {
    Case {
        name,
        document: document.into(),
        path,
        message,
    }
}

/// `integrations:` with one integration's lines (indented by four spaces) under `name`.
fn integration(name: &str, body: &str) -> String {
    format!("integrations:\n  {name}:\n{body}")
}

/// A valid inline OAuth2 integration `acme` with `extra` lines (indented by four spaces) added.
fn acme_with(extra: &str) -> String {
    integration(
        "acme",
        &format!(
            "    name: Acme\n    clientId: id\n    clientSecret: secret\n    api: {{baseUrl: https://api.acme.example}}\n{extra}"
        ),
    )
}

/// One workflow on `acme` (request trigger) with the given steps (indented by six spaces).
fn steps(steps: &str) -> String {
    with_workflows(&format!(
        "  - id: wf\n    integration: acme\n    trigger: {{type: request}}\n    steps:\n{steps}"
    ))
}

/// One workflow on `acme` with the given trigger and a trivial step.
fn trigger(trigger: &str) -> String {
    with_workflows(&format!(
        "  - id: wf\n    integration: acme\n    trigger: {trigger}\n    steps:\n      - {{id: a, type: function, code: 'return 1;'}}\n"
    ))
}

const OAUTH: &str = "    auth: {type: oauth2, authorizationUrl: https://acme.example/a, tokenUrl: https://acme.example/t}\n";

fn cases() -> Vec<Case> {
    vec![
        // The document as a whole.
        case("empty text", "", "", "the configuration document is empty"),
        case(
            "only a comment",
            "# nothing yet\n",
            "",
            "the configuration document is empty",
        ),
        case(
            "yaml syntax error",
            "integrations:\n  acme: [unclosed\n",
            "",
            "line 3",
        ),
        case(
            "yaml tab indentation",
            "integrations:\n\tacme: {}\n",
            "",
            "line 2",
        ),
        case(
            "json syntax error",
            "{\"integrations\": }",
            "",
            "invalid JSON: expected value at line 1",
        ),
        case(
            "a list at the top",
            "- integrations\n",
            "",
            "expected a mapping",
        ),
        case("a scalar at the top", "hello\n", "", "found a string"),
        case(
            "unknown top-level key",
            "integration: {}\n",
            "integration",
            "unknown key",
        ),
        case(
            "duplicate key",
            "integrations:\n  a: {provider: stripe}\n  a: {provider: stripe}\n",
            "",
            "duplicate entry",
        ),
        // settings
        case(
            "settings unknown key",
            "settings: {allowedOrigin: []}\n",
            "settings.allowedOrigin",
            "unknown field `allowedOrigin`",
        ),
        case(
            "origin with a path",
            "settings: {allowedOrigins: ['http://localhost:3000/app']}\n",
            "settings.allowedOrigins[0]",
            "did you mean `http://localhost:3000`",
        ),
        case(
            "origin not a URL",
            "settings: {allowedOrigins: [localhost]}\n",
            "settings.allowedOrigins[0]",
            "must be an origin",
        ),
        case(
            "settings wrong type",
            "settings: {requireExplicitCredential: 'yes please'}\n",
            "settings.requireExplicitCredential",
            "invalid type: string",
        ),
        case(
            "settings as a list",
            "settings: [a]\n",
            "settings",
            "invalid type: sequence, expected the project settings (a mapping)",
        ),
        // integrations: shape and slug
        case(
            "integrations as a list",
            "integrations: [acme]\n",
            "integrations",
            "expected a mapping from integration type",
        ),
        case(
            "integration as a string",
            "integrations:\n  acme: slack\n",
            "integrations.acme",
            "expected an integration (a mapping), found a string",
        ),
        case(
            "bad integration slug",
            "integrations:\n  Acme: {provider: stripe}\n",
            "integrations.Acme",
            "not a valid integration type",
        ),
        case(
            "integration slug with a dot",
            "integrations:\n  a.b: {provider: stripe}\n",
            "integrations.a.b",
            "not a valid integration type",
        ),
        case(
            "integration unknown key",
            acme_with(&format!("{OAUTH}    clientSecrets: x\n")),
            "integrations.acme.clientSecrets",
            "unknown field `clientSecrets`",
        ),
        // catalogue providers
        case(
            "unknown provider",
            integration(
                "chat",
                "    provider: slak\n    clientId: a\n    clientSecret: b\n",
            ),
            "integrations.chat.provider",
            "unknown provider `slak`; did you mean `slack`?",
        ),
        case(
            "catalogue provider with auth",
            integration(
                "chat",
                &format!("    provider: slack\n    clientId: a\n    clientSecret: b\n{OAUTH}"),
            ),
            "integrations.chat.auth",
            "comes from the catalogue provider `slack`",
        ),
        case(
            "oauth2 catalogue provider without clientId",
            integration("chat", "    provider: slack\n    clientSecret: b\n"),
            "integrations.chat.clientId",
            "missing field `clientId`: an oauth2 integration needs the client id of its OAuth app",
        ),
        case(
            "empty clientId",
            integration(
                "chat",
                "    provider: slack\n    clientId: ''\n    clientSecret: b\n",
            ),
            "integrations.chat.clientId",
            "must not be empty",
        ),
        case(
            "scope with a space",
            integration(
                "chat",
                "    provider: slack\n    clientId: a\n    clientSecret: b\n    scopes: [chat:write, 'users read']\n",
            ),
            "integrations.chat.scopes[1]",
            "whitespace",
        ),
        case(
            "scopes as a string",
            integration(
                "chat",
                "    provider: slack\n    clientId: a\n    clientSecret: b\n    scopes: chat:write\n",
            ),
            "integrations.chat.scopes",
            "invalid type: string",
        ),
        case(
            "api_key catalogue provider with a clientId",
            integration("pay", "    provider: stripe\n    clientId: a\n"),
            "integrations.pay.clientId",
            "only oauth2 integrations have an OAuth client",
        ),
        case(
            "api_key catalogue provider with scopes",
            integration("pay", "    provider: stripe\n    scopes: [read]\n"),
            "integrations.pay.scopes",
            "only oauth2 integrations have scopes",
        ),
        // inline providers
        case(
            "inline without name",
            integration(
                "acme",
                &format!(
                    "    clientId: a\n    clientSecret: b\n{OAUTH}    api: {{baseUrl: https://api.acme.example}}\n"
                ),
            ),
            "integrations.acme.name",
            "missing field `name`",
        ),
        case(
            "inline without api",
            integration(
                "acme",
                &format!("    name: Acme\n    clientId: a\n    clientSecret: b\n{OAUTH}"),
            ),
            "integrations.acme.api",
            "missing field `api`",
        ),
        case(
            "inline without auth",
            acme_with(""),
            "integrations.acme.auth",
            "missing field `auth`",
        ),
        case(
            "oauth2 without clientSecret",
            integration(
                "acme",
                &format!(
                    "    name: Acme\n    clientId: a\n{OAUTH}    api: {{baseUrl: https://api.acme.example}}\n"
                ),
            ),
            "integrations.acme.clientSecret",
            "missing field `clientSecret`",
        ),
        case(
            "oauth2 without tokenUrl",
            acme_with("    auth: {type: oauth2, authorizationUrl: https://acme.example/a}\n"),
            "integrations.acme.auth.tokenUrl",
            "missing field `tokenUrl`",
        ),
        case(
            "relative tokenUrl",
            acme_with(
                "    auth: {type: oauth2, authorizationUrl: https://acme.example/a, tokenUrl: /oauth/token}\n",
            ),
            "integrations.acme.auth.tokenUrl",
            "must be an absolute http(s) URL",
        ),
        case(
            "ftp authorizationUrl",
            acme_with(
                "    auth: {type: oauth2, authorizationUrl: 'ftp://acme.example/a', tokenUrl: https://acme.example/t}\n",
            ),
            "integrations.acme.auth.authorizationUrl",
            "`ftp` is not http or https",
        ),
        case(
            "unknown auth type",
            acme_with(
                "    auth: {type: oauth, authorizationUrl: https://acme.example/a, tokenUrl: https://acme.example/t}\n",
            ),
            "integrations.acme.auth.type",
            "unknown variant `oauth`",
        ),
        case(
            "auth without type",
            acme_with("    auth: {authorizationUrl: https://acme.example/a}\n"),
            "integrations.acme.auth.type",
            "missing field `type`",
        ),
        case(
            "unknown key in auth",
            acme_with(
                "    auth: {type: oauth2, authorizationUrl: https://acme.example/a, tokenUrl: https://acme.example/t, tokenURL: x}\n",
            ),
            "integrations.acme.auth.tokenURL",
            "unknown field `tokenURL`",
        ),
        case(
            "oauth2 with api_key fields",
            acme_with(
                "    auth: {type: oauth2, authorizationUrl: https://acme.example/a, tokenUrl: https://acme.example/t, fields: []}\n",
            ),
            "integrations.acme.auth.fields",
            "unknown field `fields`",
        ),
        case(
            "pkce not a boolean",
            acme_with(
                "    auth: {type: oauth2, authorizationUrl: https://acme.example/a, tokenUrl: https://acme.example/t, pkce: maybe}\n",
            ),
            "integrations.acme.auth.pkce",
            "invalid type: string",
        ),
        case(
            "clientId given twice",
            acme_with(
                "    auth: {type: oauth2, authorizationUrl: https://acme.example/a, tokenUrl: https://acme.example/t, clientId: other}\n",
            ),
            "integrations.acme.auth.clientId",
            "given twice",
        ),
        case(
            "base URL template syntax error",
            integration(
                "acme",
                &format!(
                    "    name: Acme\n    clientId: a\n    clientSecret: b\n{OAUTH}    api: {{baseUrl: 'https://{{{{ sub }}.acme.example'}}\n"
                ),
            ),
            "integrations.acme.api.baseUrl",
            "template syntax error",
        ),
        case(
            "base URL without scheme",
            integration(
                "acme",
                &format!(
                    "    name: Acme\n    clientId: a\n    clientSecret: b\n{OAUTH}    api: {{baseUrl: api.acme.example}}\n"
                ),
            ),
            "integrations.acme.api.baseUrl",
            "must be an absolute http(s) URL",
        ),
        case(
            "invalid header name",
            acme_with(&format!("{OAUTH}    account: {{id: x}}\n")).replace(
                "api: {baseUrl: https://api.acme.example}",
                "api: {baseUrl: https://api.acme.example, headers: {'Bad Header': x}}",
            ),
            "integrations.acme.api.headers.Bad Header",
            "not a valid HTTP header name",
        ),
        case(
            "account request with path and url",
            acme_with(&format!(
                "{OAUTH}    account: {{request: {{method: GET, path: /me, url: 'https://acme.example/me'}}, id: x}}\n"
            )),
            "integrations.acme.account.request",
            "either `path` or `url`, not both",
        ),
        case(
            "account request method",
            acme_with(&format!(
                "{OAUTH}    account: {{request: {{method: FETCH, path: /me}}, id: x}}\n"
            )),
            "integrations.acme.account.request.method",
            "unknown variant `FETCH`",
        ),
        case(
            "account without id",
            acme_with(&format!(
                "{OAUTH}    account: {{request: {{method: GET, path: /me}}}}\n"
            )),
            "integrations.acme.account.id",
            "missing field `id`",
        ),
        case(
            "verify on oauth2",
            acme_with(&format!(
                "{OAUTH}    verify: {{request: {{method: GET, path: /me}}}}\n"
            )),
            "integrations.acme.verify",
            "only api_key and basic providers are verified",
        ),
        case(
            "connection field id with a hyphen",
            acme_with(&format!(
                "{OAUTH}    connectionFields: [{{id: sub-domain, title: Subdomain}}]\n"
            )),
            "integrations.acme.connectionFields[0].id",
            "must start with a letter",
        ),
        case(
            "undeclared connection field",
            integration(
                "acme",
                &format!(
                    "    name: Acme\n    clientId: a\n    clientSecret: b\n{OAUTH}    api: {{baseUrl: 'https://{{{{ connection.sub }}}}.acme.example'}}\n"
                ),
            ),
            "integrations.acme.api.baseUrl",
            "unknown connection field `sub`",
        ),
        case(
            "api_key without inject",
            integration(
                "keyed",
                "    name: Keyed\n    auth: {type: api_key, fields: [{id: apiKey, title: Key}]}\n    api: {baseUrl: https://api.keyed.example}\n",
            ),
            "integrations.keyed.auth.inject",
            "missing field `inject`",
        ),
        case(
            "api_key inject header and query",
            integration(
                "keyed",
                "    name: Keyed\n    auth: {type: api_key, fields: [{id: apiKey, title: Key}], inject: {header: X-Key, query: key, value: '{{ credentials.apiKey }}'}}\n    api: {baseUrl: https://api.keyed.example}\n",
            ),
            "integrations.keyed.auth.inject",
            "not both",
        ),
        case(
            "api_key unknown credential field",
            integration(
                "keyed",
                "    name: Keyed\n    auth: {type: api_key, fields: [{id: apiKey, title: Key}], inject: {header: X-Key, value: '{{ credentials.token }}'}}\n    api: {baseUrl: https://api.keyed.example}\n",
            ),
            "integrations.keyed.auth.inject.value",
            "unknown credential field `token`",
        ),
        case(
            "api_key without fields",
            integration(
                "keyed",
                "    name: Keyed\n    auth: {type: api_key, fields: [], inject: {header: X-Key, value: k}}\n    api: {baseUrl: https://api.keyed.example}\n",
            ),
            "integrations.keyed.auth.fields",
            "at least one field",
        ),
        case(
            "api_key with authHeaderFormat",
            integration(
                "keyed",
                "    name: Keyed\n    auth: {type: api_key, fields: [{id: k, title: Key}], inject: {query: k, value: '{{ credentials.k }}'}}\n    api: {baseUrl: https://api.keyed.example, authHeaderFormat: 'Token {{ accessToken }}'}\n",
            ),
            "integrations.keyed.api.authHeaderFormat",
            "only oauth2 providers",
        ),
        // user settings
        case(
            "select without options",
            acme_with(&format!(
                "{OAUTH}    userSettings: [{{id: stage, type: select, title: Stage}}]\n"
            )),
            "integrations.acme.userSettings[0].options",
            "at least one option",
        ),
        case(
            "unknown setting type",
            acme_with(&format!(
                "{OAUTH}    userSettings: [{{id: key, type: password, title: Key}}]\n"
            )),
            "integrations.acme.userSettings[0].type",
            "unknown variant `password`",
        ),
        case(
            "duplicate setting ids",
            acme_with(&format!(
                "{OAUTH}    userSettings: [{{id: a, type: text, title: A}}, {{id: a, type: number, title: B}}]\n"
            )),
            "integrations.acme.userSettings[1].id",
            "duplicate setting id `a`",
        ),
        case(
            "invalid setting pattern",
            acme_with(&format!(
                "{OAUTH}    userSettings: [{{id: a, type: text, title: A, pattern: '[a-'}}]\n"
            )),
            "integrations.acme.userSettings[0].pattern",
            "invalid regular expression `[a-`: unclosed character class",
        ),
        case(
            "pattern on a number",
            acme_with(&format!(
                "{OAUTH}    userSettings: [{{id: a, type: number, title: A, pattern: '[0-9]+'}}]\n"
            )),
            "integrations.acme.userSettings[0].pattern",
            "only `text` settings have a pattern",
        ),
        case(
            "default of the wrong type",
            acme_with(&format!(
                "{OAUTH}    userSettings: [{{id: a, type: number, title: A, default: ten}}]\n"
            )),
            "integrations.acme.userSettings[0].default",
            "expected a number",
        ),
        case(
            "default not an option",
            acme_with(&format!(
                "{OAUTH}    userSettings: [{{id: a, type: select, title: A, options: [x, y], default: z}}]\n"
            )),
            "integrations.acme.userSettings[0].default",
            "not one of the options",
        ),
        case(
            "setting without title",
            acme_with(&format!(
                "{OAUTH}    userSettings: [{{id: a, type: text}}]\n"
            )),
            "integrations.acme.userSettings[0].title",
            "missing field `title`",
        ),
        // workflows: shape, ids, integration
        case(
            "workflows as a mapping",
            format!("{INTEGRATIONS}workflows: {{a: 1}}\n"),
            "workflows",
            "expected a list of workflows",
        ),
        case(
            "duplicate workflow ids",
            with_workflows(
                "  - {id: wf, integration: acme, trigger: {type: request}, steps: [{id: a, type: function, code: x}]}\n  - {id: wf, integration: keyed, trigger: {type: request}, steps: [{id: a, type: function, code: x}]}\n",
            ),
            "workflows[1].id",
            "duplicate workflow id `wf`",
        ),
        case(
            "workflow on an unknown integration",
            with_workflows(
                "  - {id: wf, integration: crm, trigger: {type: request}, steps: [{id: a, type: function, code: x}]}\n",
            ),
            "workflows[0].integration",
            "unknown integration `crm`",
        ),
        case(
            "bad workflow id",
            with_workflows(
                "  - {id: Create Contact, integration: acme, trigger: {type: request}, steps: [{id: a, type: function, code: x}]}\n",
            ),
            "workflows[0].id",
            "must start with a lowercase letter",
        ),
        case(
            "workflow without trigger",
            with_workflows(
                "  - {id: wf, integration: acme, steps: [{id: a, type: function, code: x}]}\n",
            ),
            "workflows[0].trigger",
            "missing field `trigger`",
        ),
        case(
            "workflow unknown key",
            with_workflows(
                "  - {id: wf, integration: acme, trigger: {type: request}, enabled: true, steps: [{id: a, type: function, code: x}]}\n",
            ),
            "workflows[0].enabled",
            "unknown field `enabled`",
        ),
        case(
            "defaultEnabled not a boolean",
            with_workflows(
                "  - {id: wf, integration: acme, defaultEnabled: 1, trigger: {type: request}, steps: [{id: a, type: function, code: x}]}\n",
            ),
            "workflows[0].defaultEnabled",
            "invalid type: integer `1`",
        ),
        case(
            "no steps",
            with_workflows(
                "  - {id: wf, integration: acme, trigger: {type: request}, steps: []}\n",
            ),
            "workflows[0].steps",
            "at least one step",
        ),
        case(
            "input shadows a shared setting",
            with_workflows(
                "  - {id: wf, integration: acme, trigger: {type: request}, inputs: [{id: pipeline, type: text, title: P}], steps: [{id: a, type: function, code: x}]}\n",
            ),
            "workflows[0].inputs[0].id",
            "already a user setting of integration `acme`",
        ),
        // triggers
        case(
            "unknown trigger type",
            trigger("{type: webhook}"),
            "workflows[0].trigger.type",
            "unknown variant `webhook`",
        ),
        case(
            "bad cron",
            trigger("{type: schedule, cron: '61 * * * *'}"),
            "workflows[0].trigger.cron",
            "invalid cron expression `61 * * * *`",
        ),
        case(
            "cron with a year",
            trigger("{type: schedule, cron: '0 0 0 1 1 * 2030'}"),
            "workflows[0].trigger.cron",
            "5 or 6 fields",
        ),
        case(
            "cron with four fields",
            trigger("{type: schedule, cron: '* * * *'}"),
            "workflows[0].trigger.cron",
            "invalid cron expression",
        ),
        case(
            "unknown time zone",
            trigger("{type: schedule, cron: '0 9 * * *', timezone: Mars/Olympus}"),
            "workflows[0].trigger.timezone",
            "unknown time zone `Mars/Olympus`",
        ),
        case(
            "schedule without cron",
            trigger("{type: schedule}"),
            "workflows[0].trigger.cron",
            "missing field `cron`",
        ),
        case(
            "app event without event",
            trigger("{type: app_event}"),
            "workflows[0].trigger.event",
            "missing field `event`",
        ),
        case(
            "app event with an empty name",
            trigger("{type: app_event, event: ' '}"),
            "workflows[0].trigger.event",
            "must not be empty",
        ),
        case(
            "request trigger with a cron",
            trigger("{type: request, cron: '* * * * *'}"),
            "workflows[0].trigger.cron",
            "unknown field `cron`",
        ),
        // step ids and references
        case(
            "duplicate step ids",
            steps(
                "      - {id: a, type: function, code: x}\n      - {id: a, type: function, code: y}\n",
            ),
            "workflows[0].steps[1].id",
            "duplicate step id `a`",
        ),
        case(
            "duplicate nested step id",
            steps(
                "      - {id: a, type: function, code: x}\n      - {id: c, type: condition, if: 'true', then: [{id: a, type: function, code: y}]}\n",
            ),
            "workflows[0].steps[1].then[0].id",
            "duplicate step id `a` (first used at `workflows[0].steps[0]`)",
        ),
        case(
            "step id with a hyphen",
            steps("      - {id: make-contact, type: function, code: x}\n"),
            "workflows[0].steps[0].id",
            "so templates can name it",
        ),
        case(
            "template naming an unknown step",
            steps(
                "      - {id: a, type: request, method: POST, path: /x, body: {v: '{{ steps.nope.output }}'}}\n",
            ),
            "workflows[0].steps[0].body.v",
            "unknown step `nope`",
        ),
        case(
            "template naming a later step",
            steps(
                "      - {id: a, type: request, method: POST, path: /x, body: {v: '{{ steps.later.output.id }}'}}\n      - {id: later, type: function, code: x}\n",
            ),
            "workflows[0].steps[0].body.v",
            "unknown step `later` here",
        ),
        case(
            "template naming its own step",
            steps(
                "      - {id: a, type: request, method: GET, path: '/x/{{ steps.a.output.id }}'}\n",
            ),
            "workflows[0].steps[0].path",
            "unknown step `a` here",
        ),
        case(
            "else branch naming the then branch",
            steps(
                "      - {id: c, type: condition, if: 'true', then: [{id: t, type: function, code: x}], else: [{id: e, type: response, status: 200, body: {v: '{{ steps.t.output }}'}}]}\n",
            ),
            "workflows[0].steps[0].else[0].body.v",
            "unknown step `t` here",
        ),
        case(
            "condition naming a step inside it",
            steps(
                "      - {id: c, type: condition, if: steps.t.output, then: [{id: t, type: function, code: x}]}\n",
            ),
            "workflows[0].steps[0].if",
            "unknown step `t` here",
        ),
        case(
            "unknown step in a header",
            steps(
                "      - {id: a, type: http, method: GET, url: 'https://x.example', headers: {X-Id: '{{ steps.b.output }}'}}\n",
            ),
            "workflows[0].steps[0].headers.X-Id",
            "unknown step `b`",
        ),
        // step fields
        case(
            "template syntax error in a body",
            steps(
                "      - {id: a, type: request, method: POST, path: /x, body: {name: '{{ trigger.body.name'}}\n",
            ),
            "workflows[0].steps[0].body.name",
            "template syntax error",
        ),
        case(
            "template syntax error in a query",
            steps(
                "      - {id: a, type: request, method: GET, path: /x, query: {limit: '{% if %}'}}\n",
            ),
            "workflows[0].steps[0].query.limit",
            "template syntax error",
        ),
        case(
            "condition expression syntax error",
            steps(
                "      - {id: a, type: function, code: x}\n      - {id: c, type: condition, if: 'steps.a.output ==', then: [{id: t, type: function, code: x}]}\n",
            ),
            "workflows[0].steps[1].if",
            "expression syntax error",
        ),
        case(
            "condition written as a template",
            steps(
                "      - {id: c, type: condition, if: '{{ trigger.body.ok }}', then: [{id: t, type: function, code: x}]}\n",
            ),
            "workflows[0].steps[0].if",
            "bare expression",
        ),
        case(
            "condition without branches",
            steps("      - {id: c, type: condition, if: 'true'}\n"),
            "workflows[0].steps[0]",
            "needs steps in `then` or `else`",
        ),
        case(
            "foreach concurrency 0",
            steps(
                "      - {id: f, type: foreach, items: trigger.body.items, concurrency: 0, steps: [{id: s, type: function, code: x}]}\n",
            ),
            "workflows[0].steps[0].concurrency",
            "between 1 and 32",
        ),
        case(
            "foreach concurrency 33",
            steps(
                "      - {id: f, type: foreach, items: trigger.body.items, concurrency: 33, steps: [{id: s, type: function, code: x}]}\n",
            ),
            "workflows[0].steps[0].concurrency",
            "between 1 and 32",
        ),
        case(
            "foreach concurrency negative",
            steps(
                "      - {id: f, type: foreach, items: trigger.body.items, concurrency: -1, steps: [{id: s, type: function, code: x}]}\n",
            ),
            "workflows[0].steps[0].concurrency",
            "invalid value: integer `-1`",
        ),
        case(
            "foreach without items",
            steps("      - {id: f, type: foreach, steps: [{id: s, type: function, code: x}]}\n"),
            "workflows[0].steps[0].items",
            "missing field `items`",
        ),
        case(
            "foreach items empty",
            steps(
                "      - {id: f, type: foreach, items: '', steps: [{id: s, type: function, code: x}]}\n",
            ),
            "workflows[0].steps[0].items",
            "must not be empty",
        ),
        case(
            "response status out of range",
            steps("      - {id: r, type: response, status: 600}\n"),
            "workflows[0].steps[0].status",
            "between 100 and 599",
        ),
        case(
            "response status not a number",
            steps("      - {id: r, type: response, status: ok}\n"),
            "workflows[0].steps[0].status",
            "invalid type: string",
        ),
        case(
            "response in a scheduled workflow",
            with_workflows(
                "  - {id: wf, integration: acme, trigger: {type: schedule, cron: '0 * * * *'}, steps: [{id: r, type: response, status: 200}]}\n",
            ),
            "workflows[0].steps[0].type",
            "answers the HTTP call of a `request` trigger",
        ),
        case(
            "response in a foreach",
            steps(
                "      - {id: f, type: foreach, items: trigger.body.items, steps: [{id: r, type: response, status: 200}]}\n",
            ),
            "workflows[0].steps[0].steps[0].type",
            "cannot be inside a foreach",
        ),
        case(
            "unknown step type",
            steps("      - {id: a, type: email, to: x}\n"),
            "workflows[0].steps[0].type",
            "unknown variant `email`",
        ),
        case(
            "step without type",
            steps("      - {id: a, code: x}\n"),
            "workflows[0].steps[0].type",
            "missing field `type`",
        ),
        case(
            "request step without path",
            steps("      - {id: a, type: request, method: GET}\n"),
            "workflows[0].steps[0].path",
            "missing field `path`",
        ),
        case(
            "request step path without slash",
            steps("      - {id: a, type: request, method: GET, path: contacts}\n"),
            "workflows[0].steps[0].path",
            "must start with `/`",
        ),
        case(
            "request step unknown method",
            steps("      - {id: a, type: request, method: FETCH, path: /x}\n"),
            "workflows[0].steps[0].method",
            "unknown variant `FETCH`",
        ),
        case(
            "http step with a relative url",
            steps("      - {id: a, type: http, method: GET, url: /hooks}\n"),
            "workflows[0].steps[0].url",
            "must be an absolute http(s) URL",
        ),
        case(
            "function with empty code",
            steps("      - {id: a, type: function, code: '  '}\n"),
            "workflows[0].steps[0].code",
            "must not be empty",
        ),
        case(
            "function timeout 0",
            steps("      - {id: a, type: function, code: x, timeoutMs: 0}\n"),
            "workflows[0].steps[0].timeoutMs",
            "between 1 and 300000",
        ),
        case(
            "unknown key in a step",
            steps("      - {id: a, type: request, method: POST, path: /x, bodyy: {}}\n"),
            "workflows[0].steps[0].bodyy",
            "unknown field `bodyy`",
        ),
        case(
            "unknown key in a nested step",
            steps(
                "      - {id: c, type: condition, if: 'true', then: [{id: t, type: function, code: x, timeout: 5}]}\n",
            ),
            "workflows[0].steps[0].then[0].timeout",
            "unknown field `timeout`",
        ),
        case(
            "json document with a wrong type",
            r#"{"workflows": [{"id": "wf", "integration": "acme", "trigger": {"type": "request"}, "steps": "none"}], "integrations": {"acme": {"provider": "stripe"}}}"#,
            "workflows[0].steps",
            "invalid type: string \"none\"",
        ),
    ]
}

#[test]
fn each_broken_document_reports_its_one_error_at_its_path() {
    let cases = cases();
    assert!(cases.len() >= 55, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        match load(&case.document) {
            Ok(_) => failures.push(format!(
                "{}: loaded, expected `{}: …{}…`",
                case.name, case.path, case.message
            )),
            Err(errors) => {
                let matched = errors
                    .iter()
                    .any(|error| error.path == case.path && error.message.contains(case.message));
                if !matched || errors.len() != 1 {
                    failures.push(format!(
                        "{}: expected only `{}: …{}…`, got:\n    {}",
                        case.name,
                        case.path,
                        case.message,
                        list(&errors).replace('\n', "\n    ")
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn independent_errors_are_all_reported() {
    let document = r#"
settings:
  allowedOrigins: ["https://app.example.com/"]
integrations:
  chat:
    provider: slack
    clientId: a
  pay:
    provider: stripe
workflows:
  - id: wf
    integration: pay
    trigger: {type: schedule, cron: "every day"}
    steps:
      - {id: a, type: function, code: "return 1;"}
"#;
    let errors = load(document).unwrap_err();
    let paths: Vec<&str> = errors.iter().map(|error| error.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "settings.allowedOrigins[0]",
            "integrations.chat.clientSecret",
            "workflows[0].trigger.cron"
        ],
        "{}",
        list(&errors)
    );
}

#[test]
fn a_yaml_syntax_error_gives_line_and_column() {
    let errors = load("settings:\n  allowedOrigins: [\"a\"\nintegrations: {}\n").unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors.0[0].path, "");
    assert!(
        errors.0[0].message.starts_with("invalid YAML: "),
        "{}",
        errors.0[0].message
    );
    assert!(
        errors.0[0].message.contains("line 3 column"),
        "{}",
        errors.0[0].message
    );
}

#[test]
fn errors_serialize_as_path_and_message() {
    let errors = load("integration: {}\n").unwrap_err();
    assert_eq!(
        serde_json::to_value(&errors).unwrap(),
        serde_json::json!([{"path": "integration", "message": "unknown key; the document has `settings`, `integrations` and `workflows`"}])
    );
    assert_eq!(
        errors.to_string(),
        "invalid configuration: integration: unknown key; the document has `settings`, `integrations` and `workflows`"
    );
}

#[test]
fn errors_within_one_integration_are_all_reported() {
    let document = "integrations:\n  chat:\n    provider: slak\n    clientId: a\n    userSettings: [{id: stage, type: select, title: Stage}]\n";
    let errors = load(document).unwrap_err();
    let paths: Vec<&str> = errors.iter().map(|error| error.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "integrations.chat.userSettings[0].options",
            "integrations.chat.provider"
        ],
        "{}",
        list(&errors)
    );
}
