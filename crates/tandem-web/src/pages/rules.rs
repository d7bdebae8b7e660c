//! The rules page: every rule with its state, ATT&CK and physical tags, and hits; switching
//! Sigma rules on and off; and trying a rule, saved or draft, on recent stored events before
//! it runs on live ones.
//!
//! A test never touches the running detector: the draft is loaded into a rule set of its own
//! ([`crate::RuleControl::test`]) and replayed, oldest first, over events read back from the
//! store, so an analyst can iterate on a rule during an incident without side effects.

use crate::access::Permission;
use crate::view::{Visitor, path_segment, refusal_page, render};
use crate::{ApiError, AppState};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Deserialize, Default)]
pub struct RulesParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    tag: String,
    /// Id of the rule just switched, and how (`on`/`off`): the flash message.
    #[serde(default)]
    changed: String,
    #[serde(default)]
    to: String,
}

fn tags_of(rule: &serde_json::Value) -> Vec<String> {
    rule.get("tags")
        .and_then(|t| t.as_array())
        .map(|t| {
            t.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn text(v: &serde_json::Value, key: &str) -> String {
    v.get(key)
        .and_then(|x| x.as_str())
        .unwrap_or_default()
        .to_owned()
}

/// `GET /rules`: every rule with its state and hits, filtered by text and tag.
pub async fn rules_page(
    v: Visitor,
    State(state): State<AppState>,
    Query(params): Query<RulesParams>,
) -> Response {
    let Some(control) = state.rules.clone() else {
        return render(
            "rules.html",
            context! { detection_off => true, ..v.base("rules") },
        );
    };
    let mut listed = match tokio::task::spawn_blocking(move || control.list()).await {
        Ok(l) => l,
        Err(e) => return ApiError::internal(e).into_response(),
    };
    crate::alerts::add_false_positive_ratios(&state, &mut listed).await;
    let all: Vec<serde_json::Value> = listed
        .get("rules")
        .and_then(|r| r.as_array())
        .cloned()
        .unwrap_or_default();
    let tags: BTreeSet<String> = all.iter().flat_map(tags_of).collect();
    let needle = params.q.trim().to_lowercase();
    let flash = all
        .iter()
        .find(|r| !params.changed.is_empty() && text(r, "id") == params.changed)
        .map(|r| {
            let how = if params.to == "on" {
                "switched on"
            } else {
                "switched off"
            };
            format!("Rule “{}” {how}.", text(r, "title"))
        });
    let rows: Vec<RuleRow> = all
        .iter()
        .filter(|r| {
            needle.is_empty()
                || text(r, "title").to_lowercase().contains(&needle)
                || text(r, "id").to_lowercase().contains(&needle)
        })
        .filter(|r| params.tag.is_empty() || tags_of(r).contains(&params.tag))
        .map(|r| {
            let engine = text(r, "engine");
            RuleRow {
                id: text(r, "id"),
                path_id: path_segment(&text(r, "id")),
                title: text(r, "title"),
                // Native detections are configured in [detect.native], not switched here.
                switchable: engine == "sigma",
                engine,
                level: text(r, "level"),
                tags: tags_of(r),
                enabled: r.get("enabled").and_then(|e| e.as_bool()).unwrap_or(false),
                hits: r.get("hits").and_then(|h| h.as_u64()).unwrap_or(0),
                alerts_closed: r.get("alerts_closed").and_then(|h| h.as_u64()).unwrap_or(0),
                // Whole percent of closed alerts resolved as false positives.
                false_positive_pct: r
                    .get("false_positive_ratio")
                    .and_then(|x| x.as_f64())
                    .map(|x| (x * 100.0).round() as u64),
            }
        })
        .collect();
    render(
        "rules.html",
        context! {
            rules => Serde(rows), total => all.len(), tags => tags, q => params.q, tag => params.tag,
            flash => flash, can_manage => v.can(Permission::ManageRules),
            ..v.base("rules")
        },
    )
}

/// A rule in the rules list.
#[derive(Serialize)]
struct RuleRow {
    id: String,
    /// The id as a path segment, for the links and forms that act on the rule.
    path_id: String,
    title: String,
    /// `sigma` or `native`.
    engine: String,
    level: String,
    tags: Vec<String>,
    enabled: bool,
    /// Findings since the server started.
    hits: u64,
    /// Whether the page may switch it (Sigma rules only).
    switchable: bool,
    /// Closed alerts the rule contributed to.
    alerts_closed: u64,
    /// Whole percent of those closed as false positives.
    false_positive_pct: Option<u64>,
}

/// A finding of a draft rule under test (not stored).
#[derive(Serialize)]
struct DraftFinding {
    time: crate::clock::Stamp,
    rule: String,
    severity: String,
    summary: String,
    /// The last evidence event's id, for the link to it.
    evidence: Option<String>,
}

/// The rule form's fields besides `csrf`: the filters to return to.
#[derive(Deserialize, Default)]
pub struct RuleSwitchForm {
    #[serde(default)]
    q: String,
    #[serde(default)]
    tag: String,
}

/// `POST /rules/{id}/enable` and `/disable` from the rules page.
pub async fn switch_rule(
    v: Visitor,
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<RuleSwitchForm>,
) -> Response {
    let enabled = match action.as_str() {
        "enable" => true,
        "disable" => false,
        _ => return refusal_page(StatusCode::NOT_FOUND, "use /enable or /disable"),
    };
    let Some(control) = state.rules.clone() else {
        return refusal_page(
            StatusCode::NOT_FOUND,
            "detection is turned off ([detect] enabled = false)",
        );
    };
    let rule = id.clone();
    match tokio::task::spawn_blocking(move || control.set_enabled(&rule, enabled)).await {
        Ok(Ok(())) => {}
        Ok(Err(why)) => return refusal_page(StatusCode::BAD_REQUEST, &why),
        Err(e) => return ApiError::internal(e).into_response(),
    }
    crate::audit::by(
        &state,
        &v.who,
        if enabled {
            "rule.enable"
        } else {
            "rule.disable"
        },
        &format!("rule:{id}"),
        serde_json::json!({}),
    )
    .await;
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("changed", &id)
        .append_pair("to", if enabled { "on" } else { "off" });
    if !form.q.is_empty() {
        q.append_pair("q", &form.q);
    }
    if !form.tag.is_empty() {
        q.append_pair("tag", &form.tag);
    }
    Redirect::to(&format!("/rules?{}", q.finish())).into_response()
}

// ---------------------------------------------------------------------------------------
// Testing a rule on stored events

/// Most events a test reads: the newest this many in the window. The store's default result
/// window, so a test never asks more of it than a search may.
pub const TEST_EVENTS: usize = 10_000;

/// What a new test starts from: a rule over Tandem's own badge events, the commonest first
/// draft, to be edited.
const EXAMPLE_RULE: &str = "title: Badge denied at a restricted door
status: experimental
level: medium
description: Written on the console; edit the detection and run the test.
logsource:
    product: tandem
    category: physical_access
detection:
    selection:
        activity: denied
    condition: selection
";

/// The time windows a test can read, as on the search page.
const TEST_RANGES: &[(&str, &str)] = &[
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
];

/// What a test ran on and what it found.
pub struct TestRun {
    pub outcome: crate::RuleTest,
    /// Events the rules saw.
    pub scanned: usize,
    /// Events in the window that matched the narrowing query.
    pub matching: u64,
    /// Whether older matching events were left out ([`TEST_EVENTS`] reached).
    pub capped: bool,
}

/// Reads the newest [`TEST_EVENTS`] events of the window that match `q` (findings left out:
/// rules run on what sources send) and replays `text` over them.
pub async fn run_test(
    state: &AppState,
    who: &str,
    text: String,
    q: &str,
    from: Option<String>,
    to: Option<String>,
) -> Result<TestRun, ApiError> {
    let Some(control) = state.rules.clone() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "detection is turned off ([detect] enabled = false)",
        ));
    };
    let q = if q.trim().is_empty() { "*" } else { q.trim() };
    let params = crate::api::SearchParams {
        q: q.to_owned(),
        from,
        to,
        limit: None,
        offset: None,
    };
    let mut request = crate::api::search_request(&params)?;
    if request.query.pipe.is_some() {
        return Err(ApiError::bad_request(
            "a test reads events, so leave out the `| …` part of the query",
        ));
    }
    request.limit = TEST_EVENTS;
    let slot = state.searches.start(Some(who))?;
    slot.limit(&mut request);
    let _cancel = slot.cancel_on_drop();
    let events = state.events.clone();
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let tandem_store::SearchResult::Events(page) = events.search(&request)? else {
            return Err(ApiError::bad_request("a test reads events, not counts"));
        };
        let capped = page.total > page.events.len() as u64;
        let stored: Vec<tandem_model::Event> = page
            .events
            .into_iter()
            .filter(|e| e.class != tandem_model::Class::DetectionFinding)
            .collect();
        Ok(TestRun {
            outcome: control.test(&text, &stored),
            scanned: stored.len(),
            matching: page.total,
            capped,
        })
    })
    .await?
}

#[derive(Deserialize, Default)]
pub struct TestParams {
    /// A loaded rule to start from (its whole file).
    #[serde(default)]
    rule: String,
}

#[derive(Deserialize)]
pub struct TestForm {
    text: String,
    #[serde(default)]
    range: String,
    #[serde(default)]
    q: String,
}

fn test_base(v: &Visitor, text: &str, range: &str, q: &str) -> minijinja::Value {
    context! {
        text => text, range => range, q => q, ranges => TEST_RANGES.to_vec(),
        limit => TEST_EVENTS, ..v.base("rules")
    }
}

/// `GET /rules/test`: the editor, holding a loaded rule's file or an example.
pub async fn test_page(
    v: Visitor,
    State(state): State<AppState>,
    Query(params): Query<TestParams>,
) -> Response {
    let Some(control) = state.rules.clone() else {
        return render(
            "rule_test.html",
            context! { detection_off => true, ..v.base("rules") },
        );
    };
    let text = if params.rule.is_empty() {
        EXAMPLE_RULE.to_owned()
    } else {
        let id = params.rule.clone();
        match tokio::task::spawn_blocking(move || control.source(&id)).await {
            Ok(Some(text)) => text,
            Ok(None) => {
                return refusal_page(
                    StatusCode::NOT_FOUND,
                    &format!(
                        "no Sigma rule `{}` is loaded (native detections are code, tried with their tests)",
                        params.rule
                    ),
                );
            }
            Err(e) => return ApiError::internal(e).into_response(),
        }
    };
    render("rule_test.html", test_base(&v, &text, "24h", ""))
}

/// `POST /rules/test`: runs the text in the editor and shows what it would have raised.
pub async fn test_rule(
    v: Visitor,
    State(state): State<AppState>,
    Form(form): Form<TestForm>,
) -> Response {
    let range = if TEST_RANGES.iter().any(|r| r.0 == form.range) {
        form.range.clone()
    } else {
        "24h".to_owned()
    };
    let base = test_base(&v, &form.text, &range, &form.q);
    let run = run_test(
        &state,
        &v.who.name,
        form.text.clone(),
        &form.q,
        Some(format!("now-{range}")),
        None,
    )
    .await;
    let run = match run {
        Ok(run) => run,
        Err(e) => {
            let mut r = render("rule_test.html", context! { error => e.message, ..base });
            *r.status_mut() = StatusCode::BAD_REQUEST;
            return r;
        }
    };
    let mut per_rule: Vec<(String, usize)> = Vec::new();
    for f in &run.outcome.findings {
        match per_rule.iter_mut().find(|(t, _)| *t == f.rule_title) {
            Some((_, n)) => *n += 1,
            None => per_rule.push((f.rule_title.clone(), 1)),
        }
    }
    // A draft's findings are not stored events; with `site` they are read in the zone of
    // the first place they name.
    let dir = state.identity.snapshot();
    let shown: Vec<DraftFinding> = run
        .outcome
        .findings
        .iter()
        .rev()
        .take(100)
        .map(|f| DraftFinding {
            time: crate::clock::stamp(
                f.time,
                &v.zone
                    .for_places(&dir, f.entities.places.iter().map(String::as_str)),
            ),
            rule: f.rule_title.clone(),
            severity: f.severity.to_string(),
            summary: f.summary.clone(),
            evidence: f.evidence.last().map(|id| id.to_string()),
        })
        .collect();
    render(
        "rule_test.html",
        context! {
            ran => true,
            rules => run.outcome.rules,
            issues => run.outcome.issues,
            scanned => run.scanned,
            matching => run.matching,
            capped => run.capped,
            total_findings => run.outcome.findings.len(),
            per_rule => per_rule,
            findings => Serde(shown),
            ..base
        },
    )
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ApiTest {
    /// Sigma YAML: one or more rules, correlations included.
    text: String,
    #[serde(default)]
    q: String,
    /// Defaults to the last 24 hours.
    from: Option<String>,
    to: Option<String>,
}

/// `POST /api/v1/rules/test`: the same test for scripts and CI pipelines that keep rules in
/// a repository.
#[utoipa::path(
    post,
    path = "/api/v1/rules/test",
    tag = "Rules",
    request_body(content = ApiTest, content_type = "application/json", description = "Sigma YAML and the events to try it on."),
    responses((status = 200, description = "`{rules, issues, events_scanned, events_matching, findings}`: what the rules would have raised; nothing is stored.", body = Object), (status = 400, description = "The query does not parse (`position` and `caret` say where) or a time bound is wrong.", body = crate::openapi::ErrorBody), (status = 422, description = "The search ran past its time limit (`[search] time_limit_secs`); narrow it.", body = crate::openapi::ErrorBody), (status = 429, description = "Too many searches of yours are running (`[search] max_concurrent_per_user`).", body = crate::openapi::ErrorBody)),
)]
pub async fn test_api(
    who: crate::auth::Principal,
    State(state): State<AppState>,
    axum::Json(body): axum::Json<ApiTest>,
) -> Result<Response, ApiError> {
    let from = body.from.or_else(|| Some("now-24h".to_owned()));
    let run = run_test(&state, &who.name, body.text, &body.q, from, body.to).await?;
    Ok(axum::Json(serde_json::json!({
        "rules": run.outcome.rules,
        "issues": run.outcome.issues,
        "events_scanned": run.scanned,
        "events_matching": run.matching,
        "findings": run.outcome.findings,
    }))
    .into_response())
}
