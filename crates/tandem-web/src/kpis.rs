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

#[derive(Deserialize, Default, Clone, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
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
    for s in
        p.by.as_deref()
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
#[utoipa::path(
    get,
    path = "/api/v1/kpis",
    tag = "KPIs",
    params(KpiParams),
    responses((status = 200, description = "The shared KPIs for the period (seconds), grouped as asked, each with its definition, plus ATT&CK coverage; with `format=csv`, one table as CSV.", body = crate::openapi::KpisAnswer), (status = 400, description = "A period, dimension, format or table that is not one of its values.", body = crate::openapi::ErrorBody)),
)]
pub async fn get(
    who: Principal,
    State(state): State<AppState>,
    Query(params): Query<KpiParams>,
) -> Result<Response, ApiError> {
    let now = chrono::Utc::now();
    let a = asked(&params, now)?;
    let report = report(&state, &who, &a, now).await?;
    let figures = crate::kpi_figures::figures(&state, &who, a.window, now).await?;
    match params.format.as_deref().unwrap_or("json") {
        "json" | "" => {
            let mut v = to_json(&report, &who);
            let mut coverage = serde_json::to_value(&figures.coverage).unwrap_or_default();
            coverage["attack"] =
                serde_json::to_value(crate::kpis::coverage(&state).await).unwrap_or_default();
            v["coverage"] = coverage;
            v["revocation"] = serde_json::to_value(&figures.revocation).unwrap_or_default();
            v["department_risk"] =
                serde_json::to_value(&figures.department_risk).unwrap_or_default();
            v["training"] = serde_json::to_value(&figures.training).unwrap_or_default();
            v["employee_reports"] =
                serde_json::to_value(&figures.employee_reports).unwrap_or_default();
            Ok(Json(v).into_response())
        }
        "csv" => csv_response(
            &report,
            Some(&figures),
            params.table.as_deref().unwrap_or("overall"),
        ),
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

/// One table as a CSV download: the incidents' tables from the report, the others
/// ([`crate::kpi_figures::TABLES`]) from the figures beside them.
pub(crate) fn csv_response(
    report: &KpiReport,
    figures: Option<&crate::kpi_figures::Figures>,
    table: &str,
) -> Result<Response, ApiError> {
    let body = match figures.and_then(|f| crate::kpi_figures::csv_rows(f, table)) {
        Some(rows) => rows
            .iter()
            .map(|r| r.iter().map(|c| cell(c)).collect::<Vec<_>>().join(",") + "\r\n")
            .collect(),
        None => csv(report, table)?,
    };
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
                rows.push(vec![
                    e.resolution.code().to_owned(),
                    e.incidents.to_string(),
                ]);
            }
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown table `{}`; use {}, {}",
                other.chars().take(40).collect::<String>(),
                TABLES.join(", "),
                crate::kpi_figures::TABLES.join(", ")
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

/// ATT&CK coverage of the enabled rules: which techniques and tactics their `attack.*` tags
/// name, and by which rules.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct AttackCoverage {
    /// Rules enabled now.
    pub rules_enabled: usize,
    /// Enabled rules with at least one ATT&CK technique tag.
    pub rules_tagged: usize,
    /// Per tactic of the Enterprise matrix: id, name, enabled rules tagged with it.
    pub tactics: Vec<TacticCoverage>,
    /// Per technique (`T1110`, `T1110.003`): its name and the enabled rules' titles.
    pub techniques: Vec<TechniqueCoverage>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TacticCoverage {
    pub id: &'static str,
    pub name: &'static str,
    pub rules: usize,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TechniqueCoverage {
    pub id: String,
    pub name: Option<&'static str>,
    pub rules: Vec<String>,
}

/// The coverage of the rules a [`crate::RuleControl`] lists (`{"rules": [{"title", "enabled",
/// "tags"}]}`); rules without tags (the native detections) count as enabled but untagged.
pub fn attack_coverage(listed: &Value) -> AttackCoverage {
    use std::collections::BTreeMap;
    let mut techniques: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut tactic_rules: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut out = AttackCoverage::default();
    for rule in listed["rules"].as_array().into_iter().flatten() {
        if rule["enabled"].as_bool() != Some(true) {
            continue;
        }
        out.rules_enabled += 1;
        let title = rule["title"].as_str().unwrap_or("").to_owned();
        let mut tagged = false;
        let mut tactics_of_rule = Vec::new();
        for tag in rule["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let Some(rest) = tag
                .to_ascii_lowercase()
                .strip_prefix("attack.")
                .map(str::to_owned)
            else {
                continue;
            };
            if rest.starts_with('t') && rest[1..].starts_with(|c: char| c.is_ascii_digit()) {
                let id = rest.to_ascii_uppercase();
                let list = techniques.entry(id).or_default();
                if !list.contains(&title) {
                    list.push(title.clone());
                }
                tagged = true;
            } else if let Some((id, _)) = crate::attack::tactic(&rest)
                && !tactics_of_rule.contains(&id)
            {
                tactics_of_rule.push(id);
            }
        }
        for id in tactics_of_rule {
            *tactic_rules.entry(id).or_default() += 1;
        }
        if tagged {
            out.rules_tagged += 1;
        }
    }
    out.tactics = crate::attack::tactics()
        .iter()
        .map(|(_, id, name)| TacticCoverage {
            id,
            name,
            rules: tactic_rules.get(id).copied().unwrap_or(0),
        })
        .collect();
    out.techniques = techniques
        .into_iter()
        .map(|(id, rules)| TechniqueCoverage {
            name: crate::attack::technique(&id),
            id,
            rules,
        })
        .collect();
    out
}

/// The ATT&CK Navigator layer version written (layer format 4.5, Navigator 5, ATT&CK 16).
pub const LAYER_VERSIONS: (&str, &str, &str) = ("4.5", "5.1.0", "16");

/// The coverage as an ATT&CK Navigator layer (format 4.x): each covered technique scored by
/// how many enabled rules detect it, commented with their titles.
pub fn navigator_layer(c: &AttackCoverage) -> Value {
    let (layer, navigator, attack) = LAYER_VERSIONS;
    let max = c
        .techniques
        .iter()
        .map(|t| t.rules.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let techniques: Vec<Value> = c
        .techniques
        .iter()
        .map(|t| {
            serde_json::json!({
                "techniqueID": t.id,
                "score": t.rules.len(),
                "color": "",
                "comment": format!("Detected by: {}", t.rules.join("; ")),
                "enabled": true,
                "metadata": [],
                "links": [],
                "showSubtechniques": false,
            })
        })
        .collect();
    serde_json::json!({
        "name": "Tandem: enabled rules",
        "versions": {"layer": layer, "navigator": navigator, "attack": attack},
        "domain": "enterprise-attack",
        "description": format!(
            "Techniques the {} enabled rules of this Tandem server detect ({} carry ATT&CK technique tags); score = number of rules.",
            c.rules_enabled, c.rules_tagged
        ),
        "filters": {"platforms": ["Windows", "Linux", "macOS", "Network", "PRE", "Containers", "IaaS", "SaaS", "Office Suite", "Identity Provider"]},
        "sorting": 0,
        "layout": {"layout": "side", "aggregateFunction": "average", "showID": true, "showName": true, "showAggregateScores": false, "countUnscored": false, "expandedSubtechniques": "none"},
        "hideDisabled": false,
        "techniques": techniques,
        "gradient": {"colors": ["#ffffffff", "#66b1ffff"], "minValue": 0, "maxValue": max},
        "legendItems": [],
        "metadata": [],
        "links": [],
        "showTacticRowBackground": false,
        "tacticRowBackground": "#dddddd",
        "selectTechniquesAcrossTactics": true,
        "selectSubtechniquesWithParent": false,
        "selectVisibleTechniques": false,
    })
}

/// The rules' coverage now (none listed when detection is off).
pub(crate) async fn coverage(state: &AppState) -> AttackCoverage {
    let Some(rules) = state.rules.clone() else {
        return attack_coverage(&Value::Null);
    };
    let listed = tokio::task::spawn_blocking(move || rules.list())
        .await
        .unwrap_or(Value::Null);
    attack_coverage(&listed)
}

/// `GET /api/v1/kpis/attack-layer`: the enabled rules' ATT&CK coverage as a Navigator layer
/// file.
#[utoipa::path(
    get,
    path = "/api/v1/kpis/attack-layer",
    tag = "KPIs",
    responses((status = 200, description = "An ATT&CK Navigator layer (format 4.5, enterprise-attack) of the enabled rules' techniques.", body = Object)),
)]
pub async fn attack_layer(State(state): State<AppState>) -> Response {
    let layer = navigator_layer(&coverage(&state).await);
    (
        [(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"tandem-attack-layer.json\"",
        )],
        Json(layer),
    )
        .into_response()
}

#[cfg(test)]
mod coverage_tests {
    use super::*;
    use serde_json::json;

    fn rules() -> Value {
        json!({"rules": [
            {"title": "Password spraying", "enabled": true, "tags": ["attack.credential-access", "attack.t1110.003", "attack.T1110"]},
            {"title": "Brute force", "enabled": true, "tags": ["attack.credential_access", "attack.t1110"]},
            {"title": "Switched off", "enabled": false, "tags": ["attack.t1059"]},
            {"title": "terminated_access", "enabled": true, "engine": "native"},
        ]})
    }

    #[test]
    fn coverage_counts_enabled_rules_by_technique_and_tactic() {
        let c = attack_coverage(&rules());
        assert_eq!((c.rules_enabled, c.rules_tagged), (3, 2));
        let t: Vec<(&str, usize)> = c
            .techniques
            .iter()
            .map(|t| (t.id.as_str(), t.rules.len()))
            .collect();
        assert_eq!(t, [("T1110", 2), ("T1110.003", 1)]);
        assert_eq!(c.techniques[0].name, Some("Brute Force"));
        let creds = c.tactics.iter().find(|t| t.id == "TA0006").unwrap();
        assert_eq!(creds.rules, 2);
        assert_eq!(c.tactics.len(), 14);
    }

    /// The fields the layer format's published specification (layer format 4.5) requires or
    /// defines, with their types: name, versions {layer, navigator, attack}, domain, and per
    /// technique techniqueID, score, color, comment, enabled.
    #[test]
    fn the_navigator_layer_has_the_fields_the_layer_format_defines() {
        let layer = navigator_layer(&attack_coverage(&rules()));
        assert!(layer["name"].is_string());
        assert_eq!(layer["domain"], "enterprise-attack");
        let versions = &layer["versions"];
        assert!(versions["layer"].as_str().unwrap().starts_with("4."));
        assert!(versions["navigator"].is_string() && versions["attack"].is_string());
        assert!(layer["description"].is_string());
        assert!(layer["sorting"].is_u64());
        assert!(layer["hideDisabled"].is_boolean());
        assert!(layer["gradient"]["colors"].as_array().unwrap().len() >= 2);
        assert!(
            layer["gradient"]["minValue"].is_number() && layer["gradient"]["maxValue"].is_number()
        );
        let techniques = layer["techniques"].as_array().unwrap();
        assert_eq!(techniques.len(), 2);
        for t in techniques {
            let id = t["techniqueID"].as_str().unwrap();
            assert!(
                id.starts_with('T') && id[1..5].chars().all(|c| c.is_ascii_digit()),
                "{id}"
            );
            assert!(t["score"].is_number());
            assert!(t["color"].is_string());
            assert!(t["comment"].as_str().unwrap().starts_with("Detected by: "));
            assert_eq!(t["enabled"], true);
            assert!(t["metadata"].is_array() && t["links"].is_array());
            assert!(t["showSubtechniques"].is_boolean());
        }
        assert_eq!(techniques[0]["score"], 2);
    }
}
