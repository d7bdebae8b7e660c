//! Playbooks over the API: the set in force, one playbook (with its diff against the shipped
//! version when an operator overrides it), validating a YAML before it is installed, and
//! reloading the operator's directories.

use crate::auth::Principal;
use crate::{ApiError, AppState};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tandem_cases::playbook::{self, Playbook, PlaybookError};
use tandem_model::Department;

/// The departments with a task in the playbook, in the order they first appear.
pub fn departments(p: &Playbook) -> Vec<Department> {
    let mut out: Vec<Department> = Vec::new();
    for t in &p.tasks {
        if !out.contains(&t.department) {
            out.push(t.department);
        }
    }
    out
}

/// Whether `p` replaces a shipped playbook (same id, another text).
pub fn overridden(p: &Playbook) -> bool {
    !p.origin.starts_with("shipped:") && playbook::is_shipped(&p.id)
}

fn summary(p: &Playbook) -> Value {
    json!({
        "id": p.id,
        "title": p.title,
        "description": p.description,
        "origin": p.origin,
        "shipped": p.origin.starts_with("shipped:"),
        "overrides_shipped": overridden(p),
        "departments": departments(p).iter().map(|d| d.code()).collect::<Vec<_>>(),
        "selects": p.selects,
        "tasks": p.tasks.len(),
    })
}

/// `GET /api/v1/playbooks`: every playbook in force, in selection order.
#[utoipa::path(
    get,
    path = "/api/v1/playbooks",
    tag = "Playbooks",
    responses((status = 200, description = "`{\"playbooks\": […]}` in selection order.", body = Object)),
)]
pub async fn list(_who: Principal, State(state): State<AppState>) -> Json<Value> {
    let set = state.cases.playbooks.current();
    Json(json!({
        "playbooks": set.all().iter().map(summary).collect::<Vec<_>>(),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OneParams {
    /// `shipped`: add the line diff against the shipped version (`null` when not overridden).
    pub diff: Option<String>,
}

/// `GET /api/v1/playbooks/{id}`: the playbook with its tasks and YAML.
#[utoipa::path(
    get,
    path = "/api/v1/playbooks/{id}",
    tag = "Playbooks",
    params(("id" = String, Path, description = "The playbook id."), OneParams),
    responses((status = 200, description = "The playbook with its tasks and YAML.", body = Object), (status = 404, description = "No such playbook.", body = crate::openapi::ErrorBody)),
)]
pub async fn one(
    _who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<OneParams>,
) -> Result<Json<Value>, ApiError> {
    let set = state.cases.playbooks.current();
    let p = set
        .get(&id)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no playbook `{id}`")))?;
    let mut out = summary(p);
    out["tasks"] = json!(p.tasks);
    out["yaml"] = json!(p.text);
    match params.diff.as_deref() {
        None => {}
        Some("shipped") => out["diff"] = json!(state.cases.playbooks.diff(&id)),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "diff=`{other}`: the only diff offered is diff=shipped"
            )));
        }
    }
    Ok(Json(out))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ValidateParams {
    /// The file name errors are reported under (`playbook.yaml` when not given).
    pub file: Option<String>,
}

/// The answer of a validation: `{ok, id?, errors: [{file, line, reason}]}`.
pub fn validation(file: &str, body: &[u8]) -> Value {
    let result = match std::str::from_utf8(body) {
        Ok(text) => playbook::parse(file, text),
        Err(e) => Err(vec![PlaybookError {
            file: file.to_owned(),
            line: 0,
            reason: format!("the text is not UTF-8: {e}"),
        }]),
    };
    match result {
        Ok(p) => json!({ "ok": true, "id": p.id, "errors": [] }),
        Err(errors) => json!({ "ok": false, "errors": errors }),
    }
}

/// `POST /api/v1/playbooks/validate`: checks a playbook's YAML (the body) without installing
/// it. Always 200: the answer says whether it is valid, and why not, with lines.
#[utoipa::path(
    post,
    path = "/api/v1/playbooks/validate",
    tag = "Playbooks",
    params(ValidateParams),
    request_body(content = String, content_type = "application/yaml", description = "The playbook YAML."),
    responses((status = 200, description = "Always 200: `{\"valid\", \"errors\"}` with file and line.", body = Object)),
)]
pub async fn validate(
    _who: Principal,
    Query(params): Query<ValidateParams>,
    body: Bytes,
) -> Json<Value> {
    let file = params.file.as_deref().unwrap_or("playbook.yaml");
    let file: String = file.chars().take(200).collect();
    Json(validation(&file, &body))
}

/// Rereads the operator's directories; audited either way. `Err` holds the refused files.
pub async fn reload_set(state: &AppState, who: &Principal) -> Result<usize, Vec<PlaybookError>> {
    let playbooks = state.cases.playbooks.clone();
    let result = tokio::task::spawn_blocking(move || playbooks.reload())
        .await
        .unwrap_or_else(|e| {
            Err(vec![PlaybookError {
                file: String::new(),
                line: 0,
                reason: format!("the reload failed: {e}"),
            }])
        });
    let detail = match &result {
        Ok(set) => json!({ "ok": true, "playbooks": set.all().len() }),
        Err(errors) => json!({
            "ok": false,
            "errors": errors.iter().take(20).map(|e| e.to_string()).collect::<Vec<_>>(),
        }),
    };
    crate::audit::by(state, who, "playbooks.reload", "playbooks", detail).await;
    result.map(|set| set.all().len())
}

/// `POST /api/v1/playbooks/reload` (administrators): rereads `[cases] playbook_dirs`. When any
/// file fails validation nothing changes: 422 with every error, the previous set in force.
#[utoipa::path(
    post,
    path = "/api/v1/playbooks/reload",
    tag = "Playbooks",
    responses((status = 200, description = "`{\"ok\": true, \"playbooks\": n, \"errors\": []}`.", body = Object), (status = 422, description = "A playbook failed validation: `errors` lists each; the previous set stays in force.", body = crate::openapi::ErrorBody)),
)]
pub async fn reload(who: Principal, State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match reload_set(&state, &who).await {
        Ok(n) => (
            StatusCode::OK,
            Json(json!({ "ok": true, "playbooks": n, "errors": [] })),
        ),
        Err(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "ok": false,
                "error": "a playbook failed validation; the previous playbooks stay in force",
                "errors": errors,
            })),
        ),
    }
}
