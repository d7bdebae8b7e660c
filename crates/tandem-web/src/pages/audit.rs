//! The audit log page: the newest entries and whether the chain is intact.

use crate::clock::Stamp;
use crate::view::{Visitor, render};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;
use serde::Serialize;

/// One entry as a row of the log.
#[derive(Serialize)]
struct AuditRow<'a> {
    seq: u64,
    time: Stamp,
    actor: &'a str,
    action: &'a str,
    target: &'a str,
    /// The detail as compact JSON; empty when there is none.
    detail: String,
    /// The entry's hash, shortened to what a reader compares by eye.
    hash: &'a str,
}

/// `GET /audit`: the newest entries and whether the chain is intact.
pub async fn page(v: Visitor, State(state): State<AppState>) -> Result<Response, ApiError> {
    let audit = state.audit.clone();
    let (recent, check) = tokio::task::spawn_blocking(move || {
        Ok::<_, tandem_store::StoreError>((
            audit.recent_audit(200)?,
            crate::audit::verify(audit.as_ref())?,
        ))
    })
    .await??;
    let zone = v.zone.plain();
    let rows: Vec<AuditRow> = recent
        .iter()
        .map(|r| AuditRow {
            seq: r.seq,
            time: crate::clock::stamp(r.time, &zone),
            actor: &r.entry.actor,
            action: &r.entry.action,
            target: &r.entry.target,
            detail: if r.entry.detail.is_null() {
                String::new()
            } else {
                r.entry.detail.to_string()
            },
            hash: r.hash.get(..12).unwrap_or(&r.hash),
        })
        .collect();
    Ok(render(
        "audit.html",
        context! { rows => Serde(&rows), check => Serde(&check), ..v.base("audit") },
    ))
}
