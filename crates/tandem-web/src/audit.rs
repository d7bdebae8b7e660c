//! Recording to the audit log from handlers, and reading it back through the API.
//!
//! This sits below the pages and the API: both call [`record`] and [`by`]; it calls neither
//! (the console's audit page is `pages/audit.rs`).

use crate::access::Permission;
use crate::{ApiError, AppState, Principal};
use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use tandem_store::AuditEntry;

/// Longest actor, action or target kept in an entry. Account names are at most 64
/// characters; an actor can also be a name someone typed at the sign-in page or a provider
/// sent, which nobody vouched for.
pub const MAX_NAME_BYTES: usize = 256;
/// Longest text kept in any one string of an entry's detail (reasons, messages).
pub const MAX_DETAIL_TEXT_BYTES: usize = 1024;
/// Most items kept of a list (groups) or an object in the detail.
pub const MAX_DETAIL_ITEMS: usize = 64;
/// Largest detail kept as it is, serialised; a bigger one is kept as a cut text.
pub const MAX_DETAIL_BYTES: usize = 16 * 1024;

/// Appends to the audit log. A failure to record is logged loudly but does not undo the
/// change it describes (which has already happened); the chain stays intact either way.
///
/// Every entry passes [`bounded`] first: the log only grows, and some of what it records
/// (failed sign-ins' user names, a provider's error text) comes from people who are not
/// signed in, who could otherwise fill it (five failed sign-ins with a 1.9 MB user name
/// once made the audit page 9.5 MB).
pub async fn record(state: &AppState, actor: &str, action: &str, target: &str, detail: Value) {
    let entry = bounded(actor, action, target, detail);
    let audit = state.audit.clone();
    match tokio::task::spawn_blocking(move || audit.append_audit(&entry)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!(error = %e, action, "audit log entry not written"),
        Err(e) => tracing::error!(error = %e, action, "audit log entry not written"),
    }
}

/// An audit entry with every field within its bound; a cut is marked where it happened
/// (`…[cut, 1900000 bytes]`), so a reader sees that something was longer.
pub fn bounded(actor: &str, action: &str, target: &str, detail: Value) -> AuditEntry {
    AuditEntry {
        actor: cut(actor, MAX_NAME_BYTES),
        action: cut(action, MAX_NAME_BYTES),
        target: cut(target, MAX_NAME_BYTES),
        detail: {
            let detail = bounded_detail(detail, 0);
            let text = detail.to_string();
            if text.len() > MAX_DETAIL_BYTES {
                json!({ "cut": text.len(), "text": cut(&text, MAX_DETAIL_TEXT_BYTES * 4) })
            } else {
                detail
            }
        },
    }
}

/// `text` if it fits in `max` bytes, else its longest prefix that leaves room for the
/// marker, cut at a character boundary, and the marker with the original length.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let marker = format!("…[cut, {} bytes]", text.len());
    let mut end = max.saturating_sub(marker.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{marker}", &text[..end])
}

/// Bounds every string, list and object of a detail, and its depth (details are one or
/// two levels deep; anything deeper is not Tandem's own and is summarised).
fn bounded_detail(value: Value, depth: usize) -> Value {
    const MAX_DEPTH: usize = 4;
    match value {
        Value::String(s) => Value::String(cut(&s, MAX_DETAIL_TEXT_BYTES)),
        Value::Array(items) if depth >= MAX_DEPTH => json!(format!("[{} items]", items.len())),
        Value::Object(m) if depth >= MAX_DEPTH => json!(format!("{{{} fields}}", m.len())),
        Value::Array(items) => {
            let total = items.len();
            let mut kept: Vec<Value> = items
                .into_iter()
                .take(MAX_DETAIL_ITEMS)
                .map(|v| bounded_detail(v, depth + 1))
                .collect();
            if total > MAX_DETAIL_ITEMS {
                kept.push(json!(format!("…[cut, {total} items]")));
            }
            Value::Array(kept)
        }
        Value::Object(m) => {
            let total = m.len();
            let mut kept: serde_json::Map<String, Value> = m
                .into_iter()
                .take(MAX_DETAIL_ITEMS)
                .map(|(k, v)| (cut(&k, MAX_NAME_BYTES), bounded_detail(v, depth + 1)))
                .collect();
            if total > MAX_DETAIL_ITEMS {
                kept.insert("…".into(), json!(format!("cut, {total} fields")));
            }
            Value::Object(kept)
        }
        other => other,
    }
}

/// [`record`] for an authenticated caller: the detail also says their role, whether they
/// used the console or the API, and the address they came from.
pub async fn by(state: &AppState, who: &Principal, action: &str, target: &str, detail: Value) {
    let detail = match detail {
        Value::Object(mut m) => {
            m.insert("role".into(), who.role.to_string().into());
            m.insert(
                "via".into(),
                if who.session { "console" } else { "api" }.into(),
            );
            if let Some(addr) = who.addr {
                m.insert("from".into(), addr.to_string().into());
            }
            Value::Object(m)
        }
        other => other,
    };
    record(state, &who.name, action, target, detail).await;
}

/// Action of the entry written when someone opens a person's page or reads their timeline.
pub const PERSON_VIEW: &str = "person.view";
/// Action of the entry written for each search someone runs.
pub const SEARCH: &str = "search";

/// Records that `who` looked at person `id` (page, timeline, or the API's person record).
/// Many organisations must be able to show who looked at an employee's movements.
pub async fn person_viewed(state: &AppState, who: &Principal, id: &str) {
    by(state, who, PERSON_VIEW, id, json!({})).await;
}

/// Records a search `who` ran: the query text (cut at [`MAX_DETAIL_TEXT_BYTES`] like every
/// detail) and its time range. One entry per search, not per page of its results.
pub async fn searched(state: &AppState, who: &Principal, query: &str, range: Value) {
    by(
        state,
        who,
        SEARCH,
        "events",
        json!({ "query": query, "range": range }),
    )
    .await;
}

/// A kind of audit entry, as the console's audit page filters them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SignIns,
    PersonViews,
    Searches,
    Exports,
    /// Everything else: what someone changed (rules, users, incidents, maps, …).
    Changes,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::SignIns,
        Kind::Changes,
        Kind::PersonViews,
        Kind::Searches,
        Kind::Exports,
    ];

    /// The value in the page's `kind=` parameter.
    pub fn code(self) -> &'static str {
        match self {
            Kind::SignIns => "sign-ins",
            Kind::PersonViews => "person-views",
            Kind::Searches => "searches",
            Kind::Exports => "exports",
            Kind::Changes => "changes",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::SignIns => "Sign-ins and sign-outs",
            Kind::PersonViews => "Person views",
            Kind::Searches => "Searches",
            Kind::Exports => "Exports",
            Kind::Changes => "Changes",
        }
    }

    pub fn parse(code: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The actions of this kind, each with its dotted children (`login` is also
    /// `login.failed`); for [`Kind::Changes`], the actions of every other kind, which it
    /// excludes (the bool).
    pub fn actions(self) -> (Vec<&'static str>, bool) {
        match self {
            Kind::SignIns => (vec!["login", "logout"], false),
            Kind::PersonViews => (vec![PERSON_VIEW], false),
            Kind::Searches => (vec![SEARCH], false),
            Kind::Exports => (vec!["audit.export"], false),
            Kind::Changes => (
                Kind::ALL
                    .into_iter()
                    .filter(|k| *k != Kind::Changes)
                    .flat_map(|k| k.actions().0)
                    .collect(),
                true,
            ),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Entries after this sequence number (API paging).
    pub after: Option<u64>,
    pub limit: Option<usize>,
}

/// `GET /api/v1/audit`: entries oldest first from `after`, for export and outside checks.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "Audit",
    params(AuditParams),
    responses((status = 200, description = "Entries oldest first from `after` (the first page of an export is itself audited).", body = crate::openapi::AuditAnswer)),
)]
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
#[utoipa::path(
    get,
    path = "/api/v1/audit/verify",
    tag = "Audit",
    responses((status = 200, description = "Whether the hash chain and the MACs hold, and where they break.", body = Object)),
)]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversize_fields_are_cut_with_a_marker() {
        let huge = "é".repeat(1_000_000);
        let groups: Vec<String> = (0..1000).map(|i| format!("g{i}")).collect();
        let e = bounded(
            &huge,
            "login.failed",
            "console",
            json!({ "error": huge, "groups": groups, "ok": "short" }),
        );
        assert!(e.actor.len() <= MAX_NAME_BYTES, "{}", e.actor.len());
        assert!(e.actor.ends_with("…[cut, 2000000 bytes]"), "{}", e.actor);
        assert!(e.actor.starts_with("éé"));
        assert_eq!(e.action, "login.failed");
        let error = e.detail["error"].as_str().unwrap();
        assert!(error.len() <= MAX_DETAIL_TEXT_BYTES && error.contains("[cut,"));
        let groups = e.detail["groups"].as_array().unwrap();
        assert_eq!(groups.len(), MAX_DETAIL_ITEMS + 1);
        assert_eq!(groups[MAX_DETAIL_ITEMS], "…[cut, 1000 items]");
        assert_eq!(e.detail["ok"], "short");
        assert!(serde_json::to_string(&e.detail).unwrap().len() < 4 * 1024);
    }

    #[test]
    fn deep_details_are_summarised() {
        let mut v = json!("leaf");
        for _ in 0..100 {
            v = json!([v]);
        }
        let e = bounded("a", "b", "c", v);
        assert!(serde_json::to_string(&e.detail).unwrap().len() < 100);

        let wide: serde_json::Map<String, Value> = (0..MAX_DETAIL_ITEMS)
            .map(|i| (format!("k{i}"), json!("x".repeat(MAX_DETAIL_TEXT_BYTES))))
            .collect();
        let e = bounded("a", "b", "c", Value::Object(wide));
        assert!(e.detail.to_string().len() <= MAX_DETAIL_BYTES);
        assert!(e.detail["cut"].as_u64().unwrap() > MAX_DETAIL_BYTES as u64);
    }
}
