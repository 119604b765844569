//! What an integration needs to know of the sandbox beyond how to sign in: how its webhooks
//! are signed and name their account, and its typed actions. `patchbay serve --demo` and the
//! tests declare their sandbox integrations with these, so both describe the one provider
//! this module serves.

use serde_json::{Value, json};

/// The integration's `webhooks` for the sandbox's signed deliveries (`webhooks.rs`).
pub fn webhooks() -> Value {
    json!({
        "signature": {
            "type": "hmac",
            "header": "X-Sandbox-Signature",
            "part": "v1",
            "signed": "{{ timestamp }}.{{ rawBody }}",
            "timestamp": {"part": "t"}
        },
        "handshake": {
            "when": "body.type == 'url_verification'",
            "response": "{{ body.challenge }}"
        },
        "eventType": "{{ body.type }}",
        "eventId": "{{ body.id }}",
        "account": {"value": "{{ body.account }}"}
    })
}

/// [`webhooks`] registered by each account through the API when it connects (and removed
/// when it disconnects), for a project that is not the sandbox's one app URL.
pub fn webhooks_per_account() -> Value {
    let mut webhooks = webhooks();
    webhooks["subscribe"] = json!({
        "request": {"method": "POST", "path": "/webhooks", "body": {"url": "{{ webhookUrl }}"}},
        "id": "{{ response.body.id }}"
    });
    webhooks["unsubscribe"] = json!({
        "request": {"method": "DELETE", "path": "/webhooks/{{ subscription.id }}"}
    });
    webhooks
}

/// A contact id as the API makes them; nothing else reaches a path.
const CONTACT_ID: &str = "^ct_[0-9a-f]{32}$";

/// The integration's `actions` over the sandbox's API (`api.rs`).
pub fn actions() -> Value {
    let id = json!({"type": "string", "pattern": CONTACT_ID, "description": "The contact's id (ct_…), from SANDBOX_LIST_CONTACTS"});
    json!([
        {
            "name": "SANDBOX_GET_ACCOUNT",
            "description": "Returns the connected sandbox account: its id, name and email.",
            "readOnly": true,
            "input": {"type": "object", "properties": {}, "additionalProperties": false},
            "request": {"method": "GET", "path": "/me"}
        },
        {
            "name": "SANDBOX_LIST_CONTACTS",
            "description": "Lists every contact of the account, oldest first, with id, name and email.",
            "readOnly": true,
            "input": {"type": "object", "properties": {}, "additionalProperties": false},
            "request": {"method": "GET", "path": "/contacts"},
            "output": {"contacts": "{{ response.body }}"}
        },
        {
            "name": "SANDBOX_GET_CONTACT",
            "description": "Returns one contact of the account by its id.",
            "readOnly": true,
            "input": {"type": "object", "properties": {"id": id}, "required": ["id"], "additionalProperties": false},
            "request": {"method": "GET", "path": "/contacts/{{ input.id }}"}
        },
        {
            "name": "SANDBOX_CREATE_CONTACT",
            "description": "Creates a contact in the account and returns it with its new id.",
            "input": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 200, "description": "Full name"},
                    "email": {"type": "string", "maxLength": 320, "description": "Email address"}
                },
                "required": ["name"],
                "additionalProperties": false
            },
            "request": {
                "method": "POST",
                "path": "/contacts",
                "body": {"name": "{{ input.name }}", "email": "{{ input.email }}"}
            }
        },
        {
            "name": "SANDBOX_UPDATE_CONTACT",
            "description": "Changes the name or the email of a contact; fields not given stay as they are.",
            "input": {
                "type": "object",
                "properties": {
                    "id": id,
                    "name": {"type": "string", "minLength": 1, "maxLength": 200, "description": "New full name"},
                    "email": {"type": "string", "maxLength": 320, "description": "New email address"}
                },
                "required": ["id"],
                "additionalProperties": false
            },
            "request": {
                "method": "PATCH",
                "path": "/contacts/{{ input.id }}",
                "body": {"name": "{{ input.name }}", "email": "{{ input.email }}"}
            }
        },
        {
            "name": "SANDBOX_DELETE_CONTACT",
            "description": "Deletes a contact of the account.",
            "input": {"type": "object", "properties": {"id": id}, "required": ["id"], "additionalProperties": false},
            "request": {"method": "DELETE", "path": "/contacts/{{ input.id }}"},
            "output": {"deleted": true, "id": "{{ input.id }}"}
        }
    ])
}

/// How many contacts one page of [`user_settings`]'s contact picker lists.
pub const CONTACTS_PAGE: usize = 10;

/// An integration's `userSettings` that list their options from the sandbox's API, one of each
/// kind: a contact picked among the account's (searched and paged), a mapping of the
/// application's fields onto the account's contact fields, and a field with one of its values.
pub fn user_settings() -> Value {
    let field = json!({"path": "/fields", "items": "body", "value": "{{ item.key }}", "label": "{{ item.label }}"});
    json!([
        {
            "id": "notifyContact",
            "type": "dynamic_select",
            "title": "Contact to notify",
            "description": "Told about every new contact.",
            "source": {
                "path": "/contacts",
                "query": {"q": "{{ search }}", "limit": CONTACTS_PAGE.to_string(), "cursor": "{{ cursor }}"},
                "items": "body.data",
                "value": "{{ item.id }}",
                "label": "{{ item.name }}{% if item.email %} ({{ item.email }}){% endif %}",
                "nextCursor": "body.nextCursor"
            }
        },
        {
            "id": "contactFields",
            "type": "field_mapping",
            "title": "Contact fields",
            "description": "Where each of the app's fields goes in the sandbox.",
            "fields": [
                {"value": "fullName", "label": "Full name"},
                {"value": "workEmail", "label": "Work email"},
                {"value": "reference", "label": "Customer reference"}
            ],
            "source": field
        },
        {
            "id": "segment",
            "type": "combo",
            "title": "Sync contacts whose field",
            "source": field,
            "dependent": {
                "title": "has the value",
                "source": {
                    "path": "/fields/{{ main | urlencode }}/values",
                    "items": "body.values",
                    "value": "{{ item }}",
                    "label": "{{ item }}"
                }
            }
        }
    ])
}
