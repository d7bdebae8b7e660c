//! The shared KPIs over HTTP: `GET /api/v1/kpis?from=&to=&by=` (JSON, or one table as CSV
//! with `format=csv&table=`), read by the console's dashboards and `tandem kpis`.
//!
//! The figures and their definitions are `tandem_cases::kpi`'s; this module reads the
//! request (period, dimensions), narrows responders to their department's incidents
//! ([`crate::Role::incident_scope`]) and writes the answer. Every answer carries the
//! definitions, so a number is never far from what it means.

use crate::auth::Principal;
use crate::{ApiError, AppState};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use tandem_cases::kpi::{By, DEFINITIONS, Group, KpiReport, Stat, Window};
use tandem_model::Timestamp;

/// The longest period one request may cover: every incident of it is read.
pub const MAX_DAYS: i64 = 3 * 366;

/// The period shown when none is asked for.
pub const DEFAULT_DAYS: i64 = 90;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct KpiParams {
    /// Start of the period (`2025-03-01`, RFC 3339, `now-30d`); 90 days before `to` when not
    /// given.
    pub from: Option<String>,
    /// End of the period, exclusive; now when not given.
    pub to: Option<String>,
    /// Dimensions, comma-separated: severity, department, type, site, month (all when not
    /// given).
    pub by: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
    /// The table a CSV holds: overall, severity, department, type, site, month, sla,
    /// overdue, excluded.
    pub table: Option<String>,
    /// The dashboard's audience (console only): soc, physical, department, leadership.
    #[serde(rename = "for")]
    pub audience: Option<String>,
}

/// What a request asks for, read and checked.
#[derive(Debug, Clone)]
pub(crate) struct Asked {
    pub window: Window,
    pub by: Vec<By>,
}

pub(crate) fn asked(p: &KpiParams, now: Timestamp) -> Result<Asked, ApiError> {
    let bound = |name: &str, s: &Option<String>| -> Result<Option<Timestamp>, ApiError> {
        match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => tandem_query::parse_time_bound(s, now)
                .map(Some)
                .map_err(|e| ApiError::bad_request(format!("`{name}`: {}", e.message))),
            None => Ok(None),
        }
    };
    let to = bound("to", &p.to)?.unwrap_or(now);
    let from = bound("from", &p.from)?.unwrap_or(to - chrono::Duration::days(DEFAULT_DAYS));
    if from >= to {
        return Err(ApiError::bad_request(
            "`from` must be earlier than `to`".to_owned(),
        ));
    }
    if to - from > chrono::Duration::days(MAX_DAYS) {
        return Err(ApiError::bad_request(format!(
            "a period covers at most {MAX_DAYS} days"
        )));
    }
    let mut by = Vec::new();
    for s in p
        .by
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let d = By::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown dimension `{}`; use {}",
                s.chars().take(40).collect::<String>(),
                By::ALL.map(|b| b.code()).join(", ")
            ))
        })?;
        if !by.contains(&d) {
            by.push(d);
        }
    }
    if by.is_empty() {
        by = By::ALL.to_vec();
    }
    Ok(Asked {
        window: Window { from, to },
        by,
    })
}

/// The figures the caller may see: a responder's are their department's incidents'.
pub(crate) async fn report(
    state: &AppState,
    who: &Principal,
    asked: &Asked,
    now: Timestamp,
) -> Result<KpiReport, ApiError> {
    let scope = who.role.incident_scope();
    let config = state.kpis.clone();
    let (window, by) = (asked.window, asked.by.clone());
    crate::incidents::run(state, move |i| i.kpis(window, scope, &config, &by, now)).await
}

/// The report as the API answers it, with the definitions and the caller's scope.
pub(crate) fn to_json(report: &KpiReport, who: &Principal) -> Value {
    let definitions: serde_json::Map<String, Value> = DEFINITIONS
        .iter()
        .map(|(k, d)| ((*k).to_owned(), Value::from(*d)))
        .collect();
    let mut v = serde_json::to_value(report).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("definitions".into(), Value::Object(definitions));
        o.insert(
            "scope".into(),
            who.role
                .incident_scope()
                .map(|d| Value::from(d.code()))
                .unwrap_or(Value::Null),
        );
        o.insert("units".into(), Value::from("seconds"));
    }
    v
}

/// `GET /api/v1/kpis`.
pub async fn get(
    who: Principal,
    State(state): State<AppState>,
    Query(params): Query<KpiParams>,
) -> Result<Response, ApiError> {
    let now = chrono::Utc::now();
    let a = asked(&params, now)?;
    let report = report(&state, &who, &a, now).await?;
    match params.format.as_deref().unwrap_or("json") {
        "json" | "" => Ok(Json(to_json(&report, &who)).into_response()),
        "csv" => csv_response(&report, params.table.as_deref().unwrap_or("overall")),
        other => Err(ApiError::bad_request(format!(
            "unknown format `{}`; use json or csv",
            other.chars().take(40).collect::<String>()
        ))),
    }
}

/// The tables a CSV can hold.
pub const TABLES: &[&str] = &[
    "overall",
    "severity",
    "department",
    "type",
    "site",
    "month",
    "sla",
    "overdue",
    "excluded",
];

/// One table as a CSV download.
pub(crate) fn csv_response(report: &KpiReport, table: &str) -> Result<Response, ApiError> {
    let body = csv(report, table)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"kpis-{table}-{}-{}.csv\"",
                    report.window.from.format("%Y%m%d"),
                    report.window.to.format("%Y%m%d")
                ),
            ),
        ],
        body,
    )
        .into_response())
}

/// One table of the report as CSV (RFC 4180), times in seconds.
pub fn csv(report: &KpiReport, table: &str) -> Result<String, ApiError> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let num = |x: Option<f64>| x.map(|v| format!("{v:.0}")).unwrap_or_default();
    let share = |x: f64| format!("{x:.4}");
    match table {
        "overall" | "severity" | "department" | "type" | "site" | "month" => {
            let mut head: Vec<String> = ["key", "label", "incidents", "reopened", "index"]
                .map(String::from)
                .to_vec();
            head.push("weighted_mttr_s".into());
            for m in ["mttd", "mtta", "mttc", "mttr"] {
                for f in ["n", "share", "median_s", "p90_s", "mean_s"] {
                    head.push(format!("{m}_{f}"));
                }
            }
            rows.push(head);
            let groups: Vec<&Group> = if table == "overall" {
                vec![&report.overall]
            } else {
                report
                    .by
                    .get(table)
                    .map(|g| g.iter().collect())
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "the report has no `{table}` groups; ask for by={table}"
                        ))
                    })?
            };
            for g in groups {
                let mut r = vec![
                    g.key.clone(),
                    g.label.clone(),
                    g.incidents.to_string(),
                    g.reopened.to_string(),
                    format!("{}", g.index),
                    num(g.weighted_mttr),
                ];
                for s in [&g.mttd, &g.mtta, &g.mttc, &g.mttr] {
                    r.extend(stat_cells(s, &num, &share));
                }
                rows.push(r);
            }
        }
        "sla" => {
            rows.push(
                [
                    "department",
                    "task",
                    "judged",
                    "met",
                    "breached",
                    "compliance",
                ]
                .map(String::from)
                .to_vec(),
            );
            for s in &report.sla {
                rows.push(vec![
                    s.department.code().to_owned(),
                    s.task.clone(),
                    s.judged.to_string(),
                    s.met.to_string(),
                    s.breached.to_string(),
                    s.compliance.map(share).unwrap_or_default(),
                ]);
            }
        }
        "overdue" => {
            rows.push(
                [
                    "incident",
                    "title",
                    "severity",
                    "task",
                    "department",
                    "breached",
                ]
                .map(String::from)
                .to_vec(),
            );
            for o in &report.overdue {
                rows.push(vec![
                    o.incident.clone(),
                    o.title.clone(),
                    o.severity.name().to_owned(),
                    o.task.clone(),
                    o.department.code().to_owned(),
                    o.breached.map(|t| t.to_rfc3339()).unwrap_or_default(),
                ]);
            }
        }
        "excluded" => {
            rows.push(vec!["resolution".into(), "incidents".into()]);
            for e in &report.excluded {
                rows.push(vec![e.resolution.code().to_owned(), e.incidents.to_string()]);
            }
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown table `{}`; use {}",
                other.chars().take(40).collect::<String>(),
                TABLES.join(", ")
            )));
        }
    }
    Ok(rows
        .iter()
        .map(|r| r.iter().map(|c| cell(c)).collect::<Vec<_>>().join(",") + "\r\n")
        .collect())
}

fn stat_cells(
    s: &Stat,
    num: &dyn Fn(Option<f64>) -> String,
    share: &dyn Fn(f64) -> String,
) -> Vec<String> {
    vec![
        s.n.to_string(),
        share(s.share),
        num(s.median),
        num(s.p90),
        num(s.mean),
    ]
}

/// A CSV cell: quoted when it holds a comma, quote or line break; text a spreadsheet would
/// run as a formula (`=`, `+`, `-`, `@` first) gets a leading `'`, since titles come from
/// users.
fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// A duration in words for people: `42 s`, `12 min`, `3.5 h`, `2.1 d`.
pub fn duration(seconds: Option<f64>) -> String {
    match seconds {
        None => "—".to_owned(),
        Some(s) if s < 60.0 => format!("{s:.0} s"),
        Some(s) if s < 3600.0 => format!("{:.0} min", s / 60.0),
        Some(s) if s < 86_400.0 => format!("{:.1} h", s / 3600.0),
        Some(s) => format!("{:.1} d", s / 86_400.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("-3"), "-3");
    }

    #[test]
    fn periods_default_to_ninety_days_and_bad_ones_are_refused() {
        let now: Timestamp = "2025-06-01T00:00:00Z".parse().unwrap();
        let a = asked(&KpiParams::default(), now).unwrap();
        assert_eq!(a.window.to, now);
        assert_eq!((a.window.to - a.window.from).num_days(), 90);
        assert_eq!(a.by, By::ALL);
        let p = |from: &str, to: &str, by: &str| KpiParams {
            from: Some(from.into()),
            to: Some(to.into()),
            by: Some(by.into()),
            ..KpiParams::default()
        };
        let a = asked(&p("2025-03-01", "2025-04-01", "site,month,site"), now).unwrap();
        assert_eq!(a.by, [By::Site, By::Month]);
        for (from, to, by) in [
            ("2025-04-01", "2025-03-01", ""),
            ("2020-01-01", "2025-01-01", ""),
            ("yesterday", "", ""),
            ("", "", "colour"),
        ] {
            assert!(asked(&p(from, to, by), now).is_err(), "{from} {to} {by}");
        }
    }
}
