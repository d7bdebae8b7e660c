//! The compliance API: controls with their Statement of Applicability and evidence state,
//! one control's evidence history, editing a row, running evidence now, and the auditor's
//! export. Thin calls into `tandem-compliance` on a blocking thread; the console pages
//! (`pages/compliance.rs`) call the same functions.

use crate::auth::Principal;
use crate::{ApiError, AppState, Permission};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tandem_compliance::soa::{self, ControlView, Edit, State as ControlState};
use tandem_store::{ControlRecord, EvidenceRecord, StoreError};

/// The framework shown when none is asked for.
pub const DEFAULT_FRAMEWORK: &str = "iso27001-2022";

/// Snapshots of one control's evidence shown at most.
pub const HISTORY: usize = 200;

/// Which controls to list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ControlFilter {
    /// `iso27001-2022` (default) or `nist-csf-2.0`.
    #[serde(default)]
    pub framework: Option<String>,
    /// `gaps` (failing, missing or no evidence), `all` (default for the API), or one state:
    /// `evidenced`, `failing`, `missing`, `no_evidence`, `not_applicable`.
    #[serde(default)]
    pub state: Option<String>,
    /// An owner department's code; `none` for controls without an owner.
    #[serde(default)]
    pub owner: Option<String>,
    /// An implementation status (`not_started`, `planned`, `partial`, `implemented`).
    #[serde(default)]
    pub status: Option<String>,
}

/// Runs `f` on the compliance module on a blocking thread.
pub(crate) async fn with<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&tandem_compliance::Compliance) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let c = state.compliance.clone();
    tokio::task::spawn_blocking(move || f(&c))
        .await?
        .map_err(store_error)
}

/// A stale row is a 409 naming who changed it; everything else as the store says.
fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict { .. } => ApiError::new(StatusCode::CONFLICT, e.to_string()),
        e => e.into(),
    }
}

/// The controls of the filter's framework that pass it, or 400/404 for a filter that names
/// nothing.
pub(crate) async fn filtered(
    state: &AppState,
    f: &ControlFilter,
    default_state: &str,
) -> Result<Vec<ControlView>, ApiError> {
    let framework = framework_of(f.framework.as_deref());
    let wanted = f.state.as_deref().unwrap_or(default_state).to_owned();
    if !matches!(wanted.as_str(), "gaps" | "all") && ControlState::parse(&wanted).is_none() {
        return Err(ApiError::bad_request(format!(
            "unknown state `{}`; use gaps, all, evidenced, failing, missing, no_evidence or not_applicable",
            wanted.chars().take(40).collect::<String>()
        )));
    }
    let fw = framework.clone();
    let views = with(state, move |c| c.controls(&fw))
        .await?
        .ok_or_else(|| unknown_framework(&framework))?;
    let owner = f.owner.clone().filter(|o| !o.is_empty());
    let status = f.status.clone().filter(|s| !s.is_empty());
    Ok(views
        .into_iter()
        .filter(|v| match wanted.as_str() {
            "all" => true,
            "gaps" => v.state.is_gap(),
            s => v.state.code() == s,
        })
        .filter(|v| match owner.as_deref() {
            None => true,
            Some("none") => v.soa.owner.is_empty(),
            Some(o) => v.soa.owner == o,
        })
        .filter(|v| status.as_deref().is_none_or(|s| v.soa.status == s))
        .collect())
}

pub(crate) fn framework_of(asked: Option<&str>) -> String {
    asked
        .filter(|f| !f.is_empty())
        .unwrap_or(DEFAULT_FRAMEWORK)
        .chars()
        .take(64)
        .collect()
}

fn unknown_framework(f: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no framework `{f}`; Tandem has iso27001-2022 and nist-csf-2.0"),
    )
}

/// One control with the history of each piece of its evidence, newest first.
pub(crate) async fn control(
    state: &AppState,
    framework: &str,
    id: &str,
) -> Result<(ControlView, Vec<EvidenceRecord>), ApiError> {
    let (fw, target) = (framework.to_owned(), id.to_owned());
    let found = with(state, move |c| {
        let Some(views) = c.controls(&fw)? else {
            return Ok(None);
        };
        let Some(view) = views.into_iter().find(|v| v.id == target) else {
            return Ok(Some(None));
        };
        let mut history = Vec::new();
        for e in &view.evidence {
            history.extend(c.store.evidence_history(&e.id, HISTORY)?);
        }
        history.sort_by_key(|r| std::cmp::Reverse(r.seq));
        Ok(Some(Some((view, history))))
    })
    .await?;
    match found {
        None => Err(unknown_framework(framework)),
        Some(None) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no control `{id}` in {framework}"),
        )),
        Some(Some(v)) => Ok(v),
    }
}

/// Changes a control's row (audited as `compliance.control`).
pub(crate) async fn edit_control(
    state: &AppState,
    who: &Principal,
    framework: &str,
    id: &str,
    edit: Edit,
) -> Result<ControlRecord, ApiError> {
    who.require(Permission::ManageCompliance)?;
    soa::check(framework, id, &edit, &state.compliance.library).map_err(ApiError::bad_request)?;
    let row = soa::record(framework, id, &edit, &who.name, chrono::Utc::now());
    let stored = with(state, move |c| c.store.put_control(&row)).await?;
    crate::audit::by(
        state,
        who,
        "compliance.control",
        &format!("{framework} {id}"),
        json!({
            "owner": stored.owner, "applicable": stored.applicable,
            "justification": stored.justification, "status": stored.status,
            "version": stored.version,
        }),
    )
    .await;
    Ok(stored)
}

/// Measures the evidence of `control` (every definition when `None`) now and appends the
/// snapshots (audited as `compliance.run`).
pub(crate) async fn run_now(
    state: &AppState,
    who: &Principal,
    framework: &str,
    control: Option<&str>,
) -> Result<Vec<EvidenceRecord>, ApiError> {
    who.require(Permission::ManageCompliance)?;
    let only: Option<Vec<String>> = control.map(|id| {
        state
            .compliance
            .library
            .evidence_for(framework, id)
            .into_iter()
            .map(|d| d.id.clone())
            .collect()
    });
    let ids = only.clone();
    let taken = with(state, move |c| {
        c.collect(ids.as_deref(), chrono::Utc::now())
    })
    .await?;
    crate::audit::by(
        state,
        who,
        "compliance.run",
        &control.map_or_else(|| "all evidence".to_owned(), |c| format!("{framework} {c}")),
        json!({ "snapshots": taken.len(), "evidence": only }),
    )
    .await;
    Ok(taken)
}

/// `GET /api/v1/compliance/controls`: controls with their row, evidence and state.
#[utoipa::path(
    get,
    path = "/api/v1/compliance/controls",
    tag = "Compliance",
    params(ControlFilter),
    responses((status = 200, description = "The framework's controls that pass the filter, each with its Statement of Applicability row, its evidence (each with its latest snapshot) and its state.", body = Object), (status = 400, description = "A state that is not one of its values.", body = crate::openapi::ErrorBody), (status = 404, description = "No such framework.", body = crate::openapi::ErrorBody)),
)]
pub async fn list(
    State(state): State<AppState>,
    Query(f): Query<ControlFilter>,
) -> Result<Json<Value>, ApiError> {
    let views = filtered(&state, &f, "all").await?;
    Ok(Json(json!({
        "framework": framework_of(f.framework.as_deref()),
        "controls": views,
    })))
}

/// `GET /api/v1/compliance/controls/{framework}/{id}`: one control and its evidence history.
#[utoipa::path(
    get,
    path = "/api/v1/compliance/controls/{framework}/{id}",
    tag = "Compliance",
    params(("framework" = String, Path, description = "The framework (`iso27001-2022`)."), ("id" = String, Path, description = "The control (`A.5.24`).")),
    responses((status = 200, description = "The control and every snapshot of its evidence, newest first (at most 200).", body = Object), (status = 404, description = "No such framework or control.", body = crate::openapi::ErrorBody)),
)]
pub async fn one(
    State(state): State<AppState>,
    Path((framework, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (view, history) = control(&state, &framework, &id).await?;
    Ok(Json(json!({ "control": view, "snapshots": history })))
}

/// A row as the API takes it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ControlBody {
    /// A department code, or empty.
    #[serde(default)]
    pub owner: String,
    pub applicable: bool,
    #[serde(default)]
    pub justification: String,
    /// `not_started`, `planned`, `partial` or `implemented`.
    pub status: String,
    /// The version read (0 when the row was never stored): a stale one is refused (409).
    #[serde(default)]
    pub version: u64,
}

/// `PUT /api/v1/compliance/controls/{framework}/{id}`: sets a control's row.
#[utoipa::path(
    put,
    path = "/api/v1/compliance/controls/{framework}/{id}",
    tag = "Compliance",
    params(("framework" = String, Path, description = "The framework."), ("id" = String, Path, description = "The control.")),
    request_body(content = ControlBody, content_type = "application/json", description = "The control's Statement of Applicability row."),
    responses((status = 200, description = "The row stored, at its new version.", body = Object), (status = 400, description = "An unknown control, department or status, or a control that does not apply without a justification.", body = crate::openapi::ErrorBody), (status = 409, description = "Someone changed the row since `version`.", body = crate::openapi::ErrorBody)),
)]
pub async fn put_control(
    who: Principal,
    State(state): State<AppState>,
    Path((framework, id)): Path<(String, String)>,
    Json(body): Json<ControlBody>,
) -> Result<Json<Value>, ApiError> {
    let edit = Edit {
        owner: body.owner,
        applicable: body.applicable,
        justification: body.justification,
        status: body.status,
        version: body.version,
    };
    let stored = edit_control(&state, &who, &framework, &id, edit).await?;
    Ok(Json(json!({ "control": stored })))
}

/// What to run.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunParams {
    #[serde(default)]
    pub framework: Option<String>,
    /// Only this control's evidence; every definition when absent.
    #[serde(default)]
    pub control: Option<String>,
}

/// `POST /api/v1/compliance/evidence/run`: measures evidence now and snapshots it.
#[utoipa::path(
    post,
    path = "/api/v1/compliance/evidence/run",
    tag = "Compliance",
    params(RunParams),
    responses((status = 200, description = "The snapshots appended.", body = Object)),
)]
pub async fn run(
    who: Principal,
    State(state): State<AppState>,
    Query(p): Query<RunParams>,
) -> Result<Json<Value>, ApiError> {
    let framework = framework_of(p.framework.as_deref());
    let taken = run_now(&state, &who, &framework, p.control.as_deref()).await?;
    Ok(Json(json!({ "snapshots": taken })))
}

/// Which bundle.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    #[serde(default)]
    pub framework: Option<String>,
}

/// `GET /api/v1/compliance/export`: the auditor's bundle (audited as `compliance.export`).
#[utoipa::path(
    get,
    path = "/api/v1/compliance/export",
    tag = "Compliance",
    params(ExportParams),
    responses((status = 200, description = "A zip: soa.csv, controls/<id>/evidence.{csv,json,html} and manifest.sha256 (SHA-256 of every other file).", content_type = "application/zip"), (status = 404, description = "No such framework.", body = crate::openapi::ErrorBody)),
)]
pub async fn export(
    who: Principal,
    State(state): State<AppState>,
    Query(p): Query<ExportParams>,
) -> Result<Response, ApiError> {
    let framework = framework_of(p.framework.as_deref());
    let (fw, by) = (framework.clone(), who.name.clone());
    let c = state.compliance.clone();
    let bytes = tokio::task::spawn_blocking(move || c.export(&fw, &by, chrono::Utc::now()))
        .await?
        .map_err(ApiError::internal)?
        .ok_or_else(|| unknown_framework(&framework))?;
    crate::audit::by(
        &state,
        &who,
        "compliance.export",
        &framework,
        json!({ "bytes": bytes.len() }),
    )
    .await;
    let name = format!(
        "attachment; filename=\"tandem-{}-{}.zip\"",
        framework.replace(
            |c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '-',
            ""
        ),
        chrono::Utc::now().format("%Y%m%d")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        bytes,
    )
        .into_response())
}
