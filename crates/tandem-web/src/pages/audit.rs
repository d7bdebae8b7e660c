//! The audit log page: the newest entries, of one kind or all, and whether the chain is
//! intact.

use crate::audit::Kind;
use crate::clock::Stamp;
use crate::view::{Visitor, render};
use crate::{ApiError, AppState};
use axum::extract::{Query, State};
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};

/// Most entries the page shows.
const SHOWN: usize = 200;

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

/// One choice of the kind filter.
#[derive(Serialize)]
struct KindChoice {
    code: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Deserialize, Default)]
pub struct AuditFilter {
    /// A [`Kind`] code; empty or unknown is every kind.
    #[serde(default)]
    pub kind: String,
}

/// `GET /audit?kind=…`: the newest entries (of one kind, when asked) and whether the chain
/// is intact.
pub async fn page(
    v: Visitor,
    State(state): State<AppState>,
    Query(filter): Query<AuditFilter>,
) -> Result<Response, ApiError> {
    let kind = Kind::parse(&filter.kind);
    let audit = state.audit.clone();
    let (recent, check) = tokio::task::spawn_blocking(move || {
        let recent = match kind {
            Some(k) => {
                let (actions, except) = k.actions();
                audit.recent_audit_of(&actions, except, SHOWN)?
            }
            None => audit.recent_audit(SHOWN)?,
        };
        Ok::<_, tandem_store::StoreError>((recent, crate::audit::verify(audit.as_ref())?))
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
    let kinds: Vec<KindChoice> = Kind::ALL
        .into_iter()
        .map(|k| KindChoice {
            code: k.code(),
            label: k.label(),
            selected: Some(k) == kind,
        })
        .collect();
    Ok(render(
        "audit.html",
        context! {
            rows => Serde(&rows), check => Serde(&check), kinds => Serde(&kinds),
            kind => kind.map(Kind::label),
            ..v.base("audit")
        },
    ))
}
