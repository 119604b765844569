//! What a project looks like at a glance (accounts per integration and status, runs, proxied
//! calls and failed refreshes hour by hour), who changed what (the audit log), and which configuration documents it ran.

use axum::extract::State;
use chrono::{DateTime, Duration, DurationRound as _, Utc};
use patchbay_api::{
    AuditEntryView, AuditLog, ConfigVersionList, ConfigVersionView, ErrorBody, ErrorCode,
    IntegrationAccounts, IntegrationUsage, Overview, RunsInHour, UsageInHour,
};
use patchbay_engine::runtime::ProjectRuntime;
use patchbay_store::{ConfigVersion, CredentialStatus, ExecutionStatus};
use serde::Deserialize;

use crate::auth::ProjectAdmin;
use crate::error::ApiError;
use crate::extract::{PathParams, QueryParams};
use crate::handlers::page_cursor;
use crate::state::AppState;

/// Hours the overview's charts cover.
const HOURS: i64 = 24;

/// Accounts per integration and status; the last day's runs, and each integration's proxied
/// calls, errors and failed refreshes, hour by hour.
#[utoipa::path(get, path = "/api/v1/projects/{projectId}/overview", operation_id = "getOverview", tag = "admin",
    params(("projectId" = Uuid, Path)),
    responses((status = 200, body = Overview), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn overview(
    admin: ProjectAdmin,
    State(state): State<AppState>,
) -> Result<axum::Json<Overview>, ApiError> {
    let runtime = state.engine.runtimes().load(&admin.project).await?;
    let counts = state
        .store()
        .credentials()
        .count_credentials(admin.project.id)
        .await?;
    let mut accounts: Vec<IntegrationAccounts> = runtime
        .integrations
        .iter()
        .map(|integration| {
            let count = |status| {
                counts
                    .iter()
                    .filter(|c| c.integration_id == integration.id && c.status == status)
                    .map(|c| c.count)
                    .sum()
            };
            IntegrationAccounts {
                integration: integration.config.type_name.clone(),
                name: integration.config.name.clone(),
                pending: count(CredentialStatus::Pending),
                valid: count(CredentialStatus::Valid),
                invalid: count(CredentialStatus::Invalid),
            }
        })
        .collect();
    // Those needing attention first; otherwise the configuration's order.
    accounts.sort_by_key(|a| a.invalid == 0);
    let hours = last_hours(Utc::now())?;
    let runs_per_hour = runs_per_hour(&state, &admin, &hours).await?;
    let usage = usage(&state, &admin, &runtime, &hours).await?;
    Ok(axum::Json(Overview {
        accounts,
        runs_per_hour,
        usage,
    }))
}

/// The starts of the last [`HOURS`] hours, oldest first; the current hour is the last.
fn last_hours(now: DateTime<Utc>) -> Result<Vec<DateTime<Utc>>, ApiError> {
    let current = now
        .duration_trunc(Duration::hours(1))
        .map_err(|_| ApiError::internal())?;
    Ok((0..HOURS)
        .rev()
        .map(|back| current - Duration::hours(back))
        .collect())
}

/// Each integration's usage in `hours`. What this replica counted since its last flush is
/// flushed first, so its own figures are current; other replicas' arrive within
/// `usage::FLUSH_INTERVAL`.
async fn usage(
    state: &AppState,
    admin: &ProjectAdmin,
    runtime: &ProjectRuntime,
    hours: &[DateTime<Utc>],
) -> Result<Vec<IntegrationUsage>, ApiError> {
    let store = state.store();
    state.engine.metrics().usage().flush(store).await?;
    let stored = store
        .dashboard()
        .list_usage(admin.project.id, hours[0])
        .await?;
    Ok(runtime
        .integrations
        .iter()
        .map(|integration| IntegrationUsage {
            integration: integration.config.type_name.clone(),
            name: integration.config.name.clone(),
            hours: hours
                .iter()
                .map(|&hour| {
                    let row = stored
                        .iter()
                        .find(|row| row.integration_id == integration.id && row.hour == hour);
                    UsageInHour {
                        hour,
                        proxy_calls: row.map_or(0, |row| row.proxy_calls),
                        proxy_errors: row.map_or(0, |row| row.proxy_errors),
                        refresh_failures: row.map_or(0, |row| row.refresh_failures),
                    }
                })
                .collect(),
        })
        .collect())
}

/// Runs started in each of `hours` that succeeded or failed, counted in one read.
async fn runs_per_hour(
    state: &AppState,
    admin: &ProjectAdmin,
    hours: &[DateTime<Utc>],
) -> Result<Vec<RunsInHour>, ApiError> {
    let counted = state
        .store()
        .workflows()
        .count_finished_executions_by_hour(admin.project.id, hours[0])
        .await?;
    let count = |hour, status| {
        counted
            .iter()
            .find(|c| c.hour == hour && c.status == status)
            .map_or(0, |c| c.count)
    };
    Ok(hours
        .iter()
        .map(|&hour| RunsInHour {
            hour,
            succeeded: count(hour, ExecutionStatus::Succeeded),
            failed: count(hour, ExecutionStatus::Failed),
        })
        .collect())
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

/// Changes made through the admin API (with a secret key or from the dashboard), newest
/// first.
#[utoipa::path(get, path = "/api/v1/projects/{projectId}/audit-log", operation_id = "listAuditLog", tag = "admin",
    params(("projectId" = Uuid, Path),
           ("limit" = Option<i64>, Query, description = "Entries per page, 1 to 200 (default 50)"),
           ("cursor" = Option<String>, Query, description = "A page's `nextCursor`")),
    responses((status = 200, body = AuditLog), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn audit_log(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    QueryParams(query): QueryParams<AuditQuery>,
) -> Result<axum::Json<AuditLog>, ApiError> {
    let limit = page_cursor::limit(query.limit.as_deref(), 50, 200)?;
    let after = query
        .cursor
        .as_deref()
        .map(page_cursor::decode)
        .transpose()?;
    let mut entries = state
        .store()
        .dashboard()
        .list_audit(admin.project.id, after, limit + 1)
        .await?;
    let next_cursor = page_cursor::next_page(&mut entries, limit, |last| (last.at, last.id));
    Ok(axum::Json(AuditLog {
        data: entries
            .into_iter()
            .map(|entry| AuditEntryView {
                id: entry.id,
                actor: entry.actor,
                action: entry.action,
                status: entry.status,
                date_created: entry.at,
            })
            .collect(),
        next_cursor,
    }))
}

/// Versions a listing shows: enough to roll back a bad week.
const CONFIG_VERSIONS: i64 = 50;

fn config_version_view(version: ConfigVersion) -> ConfigVersionView {
    ConfigVersionView {
        version: version.version,
        date_applied: version.applied_at,
        document: version.document,
    }
}

/// The configuration documents applied to the project, newest first (the first is the one in
/// force), secrets masked.
#[utoipa::path(get, path = "/api/v1/projects/{projectId}/config/versions", operation_id = "listConfigVersions", tag = "admin",
    params(("projectId" = Uuid, Path)),
    responses((status = 200, body = ConfigVersionList), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn config_versions(
    admin: ProjectAdmin,
    State(state): State<AppState>,
) -> Result<axum::Json<ConfigVersionList>, ApiError> {
    let versions = state
        .store()
        .dashboard()
        .list_config_versions(admin.project.id, CONFIG_VERSIONS)
        .await?;
    Ok(axum::Json(ConfigVersionList {
        data: versions.into_iter().map(config_version_view).collect(),
    }))
}

#[derive(Debug, Deserialize)]
pub struct VersionPath {
    version: String,
}

/// One applied configuration document. Applying it again (`PUT /config`) rolls back to it,
/// keeping the secrets in force.
#[utoipa::path(get, path = "/api/v1/projects/{projectId}/config/versions/{version}", operation_id = "getConfigVersion", tag = "admin",
    params(("projectId" = Uuid, Path), ("version" = i64, Path)),
    responses((status = 200, body = ConfigVersionView), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("secretKey" = [])))]
pub async fn config_version(
    admin: ProjectAdmin,
    State(state): State<AppState>,
    PathParams(path): PathParams<VersionPath>,
) -> Result<axum::Json<ConfigVersionView>, ApiError> {
    let not_found = || {
        ApiError::new(
            ErrorCode::ConfigVersionNotFound,
            "The project has no configuration of that version.",
        )
    };
    let version = path.version.parse::<i64>().map_err(|_| not_found())?;
    let found = state
        .store()
        .dashboard()
        .get_config_version(admin.project.id, version)
        .await?
        .ok_or_else(not_found)?;
    Ok(axum::Json(config_version_view(found)))
}
