//! The options of a user setting that lists them from the account's own API
//! (docs/configuration.md, "Options from the account's API"): one page of them, asked as one of
//! the caller's accounts.

use axum::extract::State;
use patchbay_api::{ErrorBody, ErrorCode, FieldOptionList};
use patchbay_engine::accounts::visible_credential;
use patchbay_engine::field_options::{self, FieldOptionsError, OptionsQuery};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::ConnectUser;
use crate::error::ApiError;
use crate::extract::{PathParams, QueryParams};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct OptionsPath {
    #[serde(rename = "credentialId")]
    credential_id: String,
}

#[derive(Debug, Deserialize)]
pub struct OptionsParams {
    setting: String,
    workflow: Option<String>,
    search: Option<String>,
    cursor: Option<String>,
    main: Option<String>,
}

/// One page of the options of a `dynamic_select`, `combo` or `field_mapping` setting, listed
/// from the integration's API as this account.
#[utoipa::path(get, path = "/projects/{projectId}/sdk/credentials/{credentialId}/field-options",
    operation_id = "getFieldOptions", tag = "sdk",
    params(("projectId" = Uuid, Path), ("credentialId" = Uuid, Path),
        ("setting" = String, Query, description = "The setting's id: a user setting of the account's integration, or an input of `workflow`"),
        ("workflow" = Option<String>, Query, description = "The workflow whose input `setting` is"),
        ("search" = Option<String>, Query, description = "What the user typed, read by the source's templates as `search`"),
        ("cursor" = Option<String>, Query, description = "A `nextCursor` answered before, for the next page"),
        ("main" = Option<String>, Query, description = "A combo's first value: its second field's options are listed")),
    responses((status = 200, body = FieldOptionList), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 502, body = ErrorBody),
              (status = 504, body = ErrorBody)),
    security(("userToken" = [])))]
pub async fn field_options(
    user: ConnectUser,
    State(state): State<AppState>,
    PathParams(path): PathParams<OptionsPath>,
    QueryParams(params): QueryParams<OptionsParams>,
) -> Result<axum::Json<FieldOptionList>, ApiError> {
    let runtime = state.engine.runtimes().load(&user.project).await?;
    let credential =
        visible_credential(state.store(), &user, &runtime, &path.credential_id).await?;
    let query = OptionsQuery {
        setting: &params.setting,
        workflow: params.workflow.as_deref(),
        search: params.search.as_deref().unwrap_or_default(),
        cursor: params.cursor.as_deref().unwrap_or_default(),
        main: params.main.as_deref(),
    };
    let meta = Value::Object(user.user.meta.clone());
    let page = field_options::list(state.engine.upstream(), &runtime, credential, &meta, &query)
        .await
        .map_err(|error| match error {
            FieldOptionsError::SettingNotFound { .. } => {
                ApiError::new(ErrorCode::SettingNotFound, error.to_string())
            }
            FieldOptionsError::NoSource { .. } => {
                ApiError::new(ErrorCode::InvalidParameter, error.to_string())
                    .with_meta(serde_json::json!({ "field": "setting" }))
            }
            FieldOptionsError::Engine(error) => error.into(),
        })?;
    Ok(axum::Json(FieldOptionList {
        data: page.options,
        next_cursor: page.next_cursor,
    }))
}
