//! The KPIs read beside the incidents: access revocation per leaver (the directory's history
//! and the stored events about each leaver), coverage (the store's source health and the
//! pipeline's analysis counters), risk per department (people's risk scores) and training
//! participation (the store's training table), and the training import
//! (`POST /api/v1/kpis/training`).
//!
//! The figures and their definitions are `tandem_cases::kpi`'s (`revocation`, `coverage`,
//! `department_risk`, `training`); this module gathers what they read and narrows a
//! responder to their department's rows.

use std::collections::BTreeMap;

use crate::access::Permission;
use crate::auth::Principal;
use crate::{ApiError, AppState};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tandem_cases::kpi::Window;
use tandem_cases::kpi::coverage::{self, Coverage, HealthRule};
use tandem_cases::kpi::department_risk::{self, DepartmentRisk};
use tandem_cases::kpi::employee_reports::{self, EmployeeReports};
use tandem_cases::kpi::revocation::{self, Evidence, Revocation};
use tandem_cases::kpi::training::{self, TrainingReport};
use tandem_model::{Department, Timestamp};
use tandem_store::{SearchRequest, SearchResult, TrainingKind};

/// Most reports read for the period's employee-report figures (the newest first).
pub const MAX_REPORTS_READ: usize = 10_000;

/// Most leavers whose events are searched per request (three searches each).
pub const MAX_LEAVERS_SEARCHED: usize = 300;

/// The figures beside the incidents, for one period.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub revocation: Revocation,
    pub coverage: Coverage,
    pub department_risk: Vec<DepartmentRisk>,
    pub training: TrainingReport,
    /// People metrics from employees' reports, over the whole organisation.
    pub employee_reports: EmployeeReports,
}

/// Whether a directory department (free text) is a responder's department: its code or
/// label, ignoring case.
fn in_scope(scope: Option<Department>, department: Option<&str>) -> bool {
    match scope {
        None => true,
        Some(d) => department.is_some_and(|x| {
            let x = x.trim();
            x.eq_ignore_ascii_case(d.code()) || x.eq_ignore_ascii_case(d.label())
        }),
    }
}

/// Everything the figures read, gathered off the async runtime.
pub(crate) async fn figures(
    state: &AppState,
    who: &Principal,
    window: Window,
    now: Timestamp,
) -> Result<Figures, ApiError> {
    let scope = who.role.incident_scope();
    let dir = state.identity.snapshot();
    let events = state.events.clone();
    let training_store = state.training.clone();
    let config = state.kpis.clone();
    let analysis = state.pipeline.metrics().analysis();
    let detection = state.pipeline.detector().is_some();
    let alerter = state.cases.alerter.clone();
    let reports = state.reports.reports.clone();
    let figures = tokio::task::spawn_blocking(move || -> Result<Figures, ApiError> {
        // Access revocation: the stored events about each leaver after the termination.
        let mut evidence = BTreeMap::new();
        for (id, terminated) in revocation::leavers(&dir, window)
            .into_iter()
            .filter(|(id, _)| in_scope(scope, dir.person(id).and_then(|p| p.department.as_deref())))
            .take(MAX_LEAVERS_SEARCHED)
        {
            evidence.insert(
                id.clone(),
                leaver_evidence(events.as_ref(), &id, terminated, now),
            );
        }
        let mut revocation = revocation::compute(&dir, window, &evidence, now);
        if scope.is_some() {
            revocation
                .leavers
                .retain(|l| in_scope(scope, l.department.as_deref()));
        }
        let coverage = coverage::compute(
            &events.source_stats()?,
            &events.sources()?,
            HealthRule {
                quiet_secs: config.source_quiet_minutes.saturating_mul(60),
                max_refused_share: config.max_refused_share,
            },
            analysis,
            detection,
            now,
        );
        let scores = alerter.people_risk(now).map_err(ApiError::from)?;
        let mut department_risk = department_risk::by_department(&scores, &dir);
        department_risk.retain(|d| in_scope(scope, Some(&d.department)));
        let records = training_store.training(window.from, window.to)?;
        let mut training = training::participation(&records, &dir, &config.training);
        training
            .departments
            .retain(|d| in_scope(scope, Some(&d.department)));
        let headcount = dir
            .people()
            .iter()
            .filter(|p| p.status != tandem_identity::Status::Terminated)
            .count();
        let filed = reports
            .filed_since(window.from, MAX_REPORTS_READ)
            .map_err(ApiError::from)?;
        let employee_reports = employee_reports::compute(&filed, window, headcount);
        Ok(Figures {
            revocation,
            coverage,
            department_risk,
            training,
            employee_reports,
        })
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(figures)
}

/// Granted badge swipes, successful sign-ins and account disables resolved to a leaver. A
/// search that fails counts nothing (logged): the figures still show the directory's part.
fn leaver_evidence(
    events: &dyn tandem_store::EventStore,
    person: &str,
    terminated: Timestamp,
    now: Timestamp,
) -> Evidence {
    let id = crate::directory::quoted(person);
    let search = |q: &str, from: Timestamp| -> Option<(u64, Vec<Timestamp>)> {
        let parsed = tandem_query::parse(q).ok()?;
        let mut request = SearchRequest::new(parsed);
        request.from = Some(from);
        request.to = Some(now + chrono::Duration::seconds(1));
        request.limit = 200;
        request.time_limit = Some(std::time::Duration::from_secs(5));
        match events.search(&request) {
            Ok(SearchResult::Events(page)) => {
                Some((page.total, page.events.iter().map(|e| e.time).collect()))
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, person, "leaver's events not searched");
                None
            }
        }
    };
    let after = terminated + chrono::Duration::microseconds(1);
    let (badge_uses, badges) = search(
        &format!("person:{id} class:physical_access outcome:success"),
        after,
    )
    .unwrap_or_default();
    let (sign_ins, logins) = search(
        &format!("person:{id} class:authentication outcome:success"),
        after,
    )
    .unwrap_or_default();
    let (_, disables) = search(
        &format!("person:{id} class:account_change (activity:disable OR activity:delete)"),
        terminated - chrono::Duration::days(revocation::DISABLED_BEFORE_DAYS),
    )
    .unwrap_or_default();
    Evidence {
        badge_uses,
        first_badge_use: badges.iter().min().copied(),
        sign_ins,
        first_sign_in: logins.iter().min().copied(),
        last_account_disable: disables.iter().max().copied(),
    }
}

/// The tables these figures add to the CSV export.
pub const TABLES: &[&str] = &["leavers", "sources", "department_risk", "training"];

/// One of [`TABLES`] as rows (the header first); none for another table.
pub fn csv_rows(f: &Figures, table: &str) -> Option<Vec<Vec<String>>> {
    let t = |x: Option<Timestamp>| x.map(|t| t.to_rfc3339()).unwrap_or_default();
    let secs = |x: Option<f64>| x.map(|v| format!("{v:.0}")).unwrap_or_default();
    let share = |x: Option<f64>| x.map(|v| format!("{v:.4}")).unwrap_or_default();
    let head = |h: &[&str]| h.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let mut rows = Vec::new();
    match table {
        "leavers" => {
            rows.push(head(&[
                "person",
                "name",
                "department",
                "terminated",
                "badges",
                "badges_revoked",
                "badge_open",
                "to_badge_s",
                "has_account",
                "account_disabled",
                "account_open",
                "to_account_s",
                "badge_uses_after",
                "first_badge_use_after",
                "sign_ins_after",
                "first_sign_in_after",
            ]));
            for l in &f.revocation.leavers {
                rows.push(vec![
                    l.person.clone(),
                    l.name.clone(),
                    l.department.clone().unwrap_or_default(),
                    l.terminated.to_rfc3339(),
                    l.badges.to_string(),
                    t(l.badges_revoked),
                    l.badge_open.to_string(),
                    secs(l.to_badge),
                    l.has_account.to_string(),
                    t(l.account_disabled),
                    l.account_open.to_string(),
                    secs(l.to_account),
                    l.badge_uses_after.to_string(),
                    t(l.first_badge_use_after),
                    l.sign_ins_after.to_string(),
                    t(l.first_sign_in_after),
                ]);
            }
        }
        "sources" => {
            rows.push(head(&[
                "source",
                "healthy",
                "reason",
                "last_received",
                "expected_s",
                "events",
                "refused",
            ]));
            for s in &f.coverage.sources {
                rows.push(vec![
                    s.source.clone(),
                    s.healthy.to_string(),
                    s.reason.clone(),
                    t(s.last_received),
                    s.expected_secs.to_string(),
                    s.events.to_string(),
                    s.refused.to_string(),
                ]);
            }
        }
        "department_risk" => {
            rows.push(head(&[
                "department",
                "people",
                "sum",
                "max",
                "above_threshold",
                "top_people",
            ]));
            for d in &f.department_risk {
                rows.push(vec![
                    d.label.clone(),
                    d.people.to_string(),
                    format!("{}", d.sum),
                    format!("{}", d.max),
                    d.above_threshold.to_string(),
                    d.top
                        .iter()
                        .map(|p| format!("{} {}", p.person, p.score))
                        .collect::<Vec<_>>()
                        .join("; "),
                ]);
            }
        }
        "training" => {
            rows.push(head(&[
                "department",
                "people",
                "trained",
                "training_share",
                "acknowledged",
                "acknowledged_share",
            ]));
            for d in f
                .training
                .departments
                .iter()
                .chain(std::iter::once(&f.training.overall))
            {
                rows.push(vec![
                    d.label.clone(),
                    d.people.to_string(),
                    d.trained.to_string(),
                    share(d.training_share),
                    d.acknowledged.to_string(),
                    share(d.acknowledged_share),
                ]);
            }
        }
        _ => return None,
    }
    Some(rows)
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct TrainingParams {
    /// Plan only: answer what would be added, add nothing.
    pub dry_run: bool,
    /// The file's name, recorded as the records' origin (`csv:<file>`).
    pub file: String,
}

/// One record as the API takes it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TrainingInput {
    /// A directory person id, employee number, e-mail or login.
    pub person: String,
    /// `training` or `policy`.
    #[serde(default)]
    pub kind: Option<String>,
    /// The course or policy.
    pub item: String,
    /// When: a date (`[kpis.training.columns] date_format`) or RFC 3339.
    pub completed: String,
}

/// The JSON body of `POST /api/v1/kpis/training`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TrainingBody {
    pub records: Vec<TrainingInput>,
}

/// Most records one request adds.
pub const MAX_TRAINING_RECORDS: usize = 100_000;

/// `POST /api/v1/kpis/training`: training completions and policy acknowledgements, as the
/// learning platform's CSV export (`Content-Type: text/csv`, columns mapped in
/// `[kpis.training.columns]`) or as JSON records.
#[utoipa::path(
    post,
    path = "/api/v1/kpis/training",
    tag = "KPIs",
    params(TrainingParams),
    request_body(content = TrainingBody, description = "JSON records, or the CSV export with `Content-Type: text/csv`."),
    responses((status = 200, description = "`{\"dry_run\", \"added\", \"records\", \"skipped\": [{\"line\", \"reason\"}]}`: how many records were new, and the rows left out with why.", body = Object), (status = 400, description = "The file or body does not read (a missing column, not UTF-8, bad JSON), or too many records.", body = crate::openapi::ErrorBody)),
)]
pub async fn import_training(
    who: Principal,
    State(state): State<AppState>,
    Query(params): Query<TrainingParams>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    who.require(Permission::ImportDirectory)?;
    let is_csv = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv") || v.starts_with("text/plain"));
    let dir = state.identity.snapshot();
    let columns = state.kpis.training.columns.clone();
    let store = state.training.clone();
    let file = params.file.chars().take(200).collect::<String>();
    let origin = if is_csv {
        format!("csv:{}", if file.is_empty() { "api" } else { &file })
    } else {
        format!("api:{}", who.name)
    };
    let dry_run = params.dry_run;
    let (import, added) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let import = if is_csv {
            training::parse_csv(&dir, &columns, &body, &origin)
                .map_err(|e| ApiError::bad_request(e.to_string()))?
        } else {
            let parsed: TrainingBody = serde_json::from_slice(&body)
                .map_err(|e| ApiError::bad_request(format!("the body does not read: {e}")))?;
            if parsed.records.len() > MAX_TRAINING_RECORDS {
                return Err(ApiError::bad_request(format!(
                    "at most {MAX_TRAINING_RECORDS} records per request"
                )));
            }
            let mut import = training::Import::default();
            for (i, r) in parsed.records.iter().enumerate() {
                match training::record(
                    &dir,
                    &columns,
                    &r.person,
                    r.kind.as_deref(),
                    &r.item,
                    &r.completed,
                    &origin,
                ) {
                    Ok(rec) => import.records.push(rec),
                    Err(reason) => import.skipped.push(training::Skipped {
                        line: i as u64 + 1,
                        reason,
                    }),
                }
            }
            import
        };
        if import.records.len() > MAX_TRAINING_RECORDS {
            return Err(ApiError::bad_request(format!(
                "at most {MAX_TRAINING_RECORDS} records per request"
            )));
        }
        let added = if dry_run {
            0
        } else {
            store.put_training(&import.records)?
        };
        Ok((import, added))
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    if !dry_run {
        crate::audit::by(
            &state,
            &who,
            "kpis.import_training",
            &format!("file:{}", params.file),
            json!({ "records": import.records.len(), "added": added, "skipped": import.skipped.len() }),
        )
        .await;
    }
    let kinds: BTreeMap<&str, usize> = import.records.iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(match r.kind {
            TrainingKind::Training => "training",
            TrainingKind::Policy => "policy",
        })
        .or_default() += 1;
        m
    });
    Ok(Json(json!({
        "dry_run": dry_run,
        "records": import.records.len(),
        "by_kind": kinds,
        "added": added,
        "skipped": import.skipped,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_department_head_sees_their_directory_department_by_code_or_label() {
        assert!(in_scope(None, None));
        assert!(in_scope(Some(Department::Hr), Some("HR")));
        assert!(in_scope(Some(Department::Hr), Some(" hr ")));
        assert!(in_scope(Some(Department::It), Some("it")));
        assert!(!in_scope(Some(Department::Hr), Some("Finance")));
        assert!(!in_scope(Some(Department::Hr), None));
    }
}
