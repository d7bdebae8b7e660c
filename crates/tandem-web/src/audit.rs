//! Recording to the audit log from handlers, and reading it back (API and console).

use crate::access::Permission;
use crate::console::{Visitor, render};
use crate::{ApiError, AppState, Principal};
use axum::Json;
use axum::extract::{Query, State};
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use serde_json::{Value, json};
use tandem_store::AuditEntry;

/// Appends to the audit log. A failure to record is logged loudly but does not undo the
/// change it describes (which has already happened); the chain stays intact either way.
pub async fn record(state: &AppState, actor: &str, action: &str, target: &str, detail: Value) {
    let entry = AuditEntry {
        actor: actor.to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        detail,
    };
    let audit = state.audit.clone();
    match tokio::task::spawn_blocking(move || audit.append_audit(&entry)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!(error = %e, action, "audit log entry not written"),
        Err(e) => tracing::error!(error = %e, action, "audit log entry not written"),
    }
}

/// [`record`] for an authenticated caller.
pub async fn by(state: &AppState, who: &Principal, action: &str, target: &str, detail: Value) {
    let detail = match detail {
        Value::Object(mut m) => {
            m.insert("role".into(), who.role.to_string().into());
            m.insert(
                "via".into(),
                if who.session { "console" } else { "api" }.into(),
            );
            Value::Object(m)
        }
        other => other,
    };
    record(state, &who.name, action, target, detail).await;
}

#[derive(Deserialize)]
pub struct AuditParams {
    /// Entries after this sequence number (API paging).
    pub after: Option<u64>,
    pub limit: Option<usize>,
}

/// `GET /api/v1/audit`: entries oldest first from `after`, for export and outside checks.
pub async fn list(
    who: Principal,
    State(state): State<AppState>,
    Query(p): Query<AuditParams>,
) -> Result<Json<Value>, ApiError> {
    who.require(Permission::ViewAudit)?;
    let audit = state.audit.clone();
    let after = p.after.unwrap_or(0);
    let limit = p.limit.unwrap_or(1000).min(10_000);
    let entries = tokio::task::spawn_blocking(move || audit.audit_log(after, limit)).await??;
    // One entry per export, at its first page: auditing every page would add an entry
    // for each page read, and an export reading to the end would never reach it.
    if after == 0 {
        by(
            &state,
            &who,
            "audit.export",
            "audit_log",
            json!({ "entries": entries.len() }),
        )
        .await;
    }
    Ok(Json(json!({ "entries": entries })))
}

/// Reads the whole log and checks its chain, and its MACs when the server holds the key.
pub fn verify(audit: &dyn tandem_store::AuditStore) -> Result<Value, tandem_store::StoreError> {
    Ok(serde_json::to_value(audit.verify_audit()?).unwrap_or(Value::Null))
}

/// `GET /api/v1/audit/verify`
pub async fn verify_api(
    who: Principal,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    who.require(Permission::ViewAudit)?;
    let audit = state.audit.clone();
    Ok(Json(
        tokio::task::spawn_blocking(move || verify(audit.as_ref())).await??,
    ))
}

/// `GET /audit`: the newest entries and whether the chain is intact.
pub async fn page(v: Visitor, State(state): State<AppState>) -> Result<Response, ApiError> {
    let audit = state.audit.clone();
    let (recent, check) = tokio::task::spawn_blocking(move || {
        Ok::<_, tandem_store::StoreError>((audit.recent_audit(200)?, verify(audit.as_ref())?))
    })
    .await??;
    let rows: Vec<Value> = recent
        .iter()
        .map(|r| {
            json!({
                "seq": r.seq,
                "time": r.time.format("%Y-%m-%d %H:%M:%S").to_string(),
                "actor": r.entry.actor,
                "action": r.entry.action,
                "target": r.entry.target,
                "detail": if r.entry.detail.is_null() { String::new() } else { r.entry.detail.to_string() },
                "hash": r.hash.get(..12).unwrap_or(&r.hash),
            })
        })
        .collect();
    Ok(render(
        "audit.html",
        context! { rows => minijinja::value::Serde(&rows), check => minijinja::value::Serde(&check), ..v.base("audit") },
    ))
}
