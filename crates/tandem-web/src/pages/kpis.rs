//! The KPI dashboards: one page per audience (`/kpis?for=soc|physical|department|leadership`)
//! over the same figures as `GET /api/v1/kpis`, with trend charts drawn here as SVG (no
//! script, no charting library: a `<title>` and `<desc>` each, and the table they are drawn
//! from beside them), every number linking to the incidents behind it
//! (`/kpis/incidents`), and every table as CSV (`?format=csv&table=`).

use crate::Role;
use crate::kpis::{KpiParams, TABLES, asked, csv_response, duration, report};
use crate::view::{Visitor, refusal_page, render};
use crate::{ApiError, AppState};
use axum::extract::{Query, State};
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use serde_json::{Value, json};
use tandem_cases::kpi::{By, DEFINITIONS, Group, KpiReport, Stat, definition};

fn refusal(e: ApiError) -> Response {
    refusal_page(e.status, &e.message)
}

/// The audiences, in menu order: key, tab label.
const AUDIENCES: &[(&str, &str)] = &[
    ("soc", "SOC"),
    ("physical", "Physical security"),
    ("department", "Department heads"),
    ("leadership", "Leadership"),
];

/// The dashboard a role opens first.
fn default_audience(role: Role) -> &'static str {
    match role {
        Role::PhysicalSecurity => "physical",
        Role::Responder(_) => "department",
        Role::Auditor => "leadership",
        _ => "soc",
    }
}

/// `GET /kpis`: the dashboard, or one of its tables as CSV.
pub async fn dashboard(
    v: Visitor,
    State(state): State<AppState>,
    Query(params): Query<KpiParams>,
) -> Response {
    let now = chrono::Utc::now();
    let a = match asked(&params, now) {
        Ok(a) => a,
        Err(e) => return refusal(e),
    };
    let report = match report(&state, &v.who, &a, now).await {
        Ok(r) => r,
        Err(e) => return refusal(e),
    };
    let figures = match crate::kpi_figures::figures(&state, &v.who, a.window, now).await {
        Ok(f) => f,
        Err(e) => return refusal(e),
    };
    if params.format.as_deref() == Some("csv") {
        return csv_response(
            &report,
            Some(&figures),
            params.table.as_deref().unwrap_or("overall"),
        )
        .unwrap_or_else(refusal);
    }
    let audience = params
        .audience
        .as_deref()
        .filter(|a| AUDIENCES.iter().any(|(k, _)| k == a))
        .unwrap_or_else(|| default_audience(v.who.role));
    let period = format!(
        "from={}&to={}",
        report.window.from.format("%Y-%m-%dT%H:%M:%SZ"),
        report.window.to.format("%Y-%m-%dT%H:%M:%SZ")
    );
    let groups = |by: By| -> Vec<Value> {
        report
            .by
            .get(by.code())
            .map(|gs| gs.iter().map(|g| group_row(g, by, &period)).collect())
            .unwrap_or_default()
    };
    let months: Vec<&Group> = report
        .by
        .get("month")
        .map(|g| g.iter().collect())
        .unwrap_or_default();
    let index_chart = bar_chart(
        "Severity-weighted incident index per month",
        &format!(
            "Bars: Σ weight(severity) of the counted incidents detected each month. {}",
            summary_of(&months, |g| Some(g.index), |x| format!("{x}"))
        ),
        &months
            .iter()
            .map(|g| (g.label.clone(), g.index))
            .collect::<Vec<_>>(),
        |x| format!("{x}"),
    );
    let mttr_chart = bar_chart(
        "Median time to resolve per month",
        &format!(
            "Bars: median MTTR of the counted incidents detected each month, in hours. {}",
            summary_of(
                &months,
                |g| g.mttr.median,
                |x| duration(Some(x)).to_string()
            )
        ),
        &months
            .iter()
            .map(|g| (g.label.clone(), g.mttr.median.unwrap_or(0.0) / 3600.0))
            .collect::<Vec<_>>(),
        |x| format!("{x:.1} h"),
    );
    let sla: Vec<Value> = report
        .sla
        .iter()
        .map(|s| {
            json!({
                "department": s.department.label(),
                "task": s.task,
                "judged": s.judged,
                "met": s.met,
                "breached": s.breached,
                "compliance": s.compliance.map(|c| format!("{:.0} %", c * 100.0)).unwrap_or_else(|| "—".into()),
                "link": format!("/kpis/incidents?{period}&sla={}&task={}", s.department.code(), urlencode(&s.task)),
            })
        })
        .collect();
    let excluded: Vec<Value> = report
        .excluded
        .iter()
        .map(|e| json!({"resolution": e.resolution.code().replace('_', " "), "incidents": e.incidents}))
        .collect();
    let definitions: Vec<Value> = DEFINITIONS
        .iter()
        .map(|(k, d)| json!({"key": k, "text": d}))
        .collect();
    let attack = if audience == "soc" {
        Some(crate::kpis::coverage(&state).await)
    } else {
        None
    };
    let w = &report.weights;
    let zone = v.zone.plain();
    let more = figures_view(&figures, &zone);
    render(
        "kpis.html",
        context! {
            audience => audience,
            audiences => minijinja::value::Serde(AUDIENCES.iter().map(|(k, l)| json!({"key": k, "label": l})).collect::<Vec<_>>()),
            from => report.window.from.format("%Y-%m-%d").to_string(),
            // The form's end is a date: a period ending now ends, in the form, at the next
            // midnight, so submitting it again loses none of today.
            to => form_end(report.window.to),
            period => period.clone(),
            scope => v.who.role.incident_scope().map(|d| d.label()),
            overall => minijinja::value::Serde(group_row(&report.overall, By::Month, &period)),
            severity => minijinja::value::Serde(groups(By::Severity)),
            department => minijinja::value::Serde(groups(By::Department)),
            kind => minijinja::value::Serde(groups(By::Type)),
            site => minijinja::value::Serde(groups(By::Site)),
            month => minijinja::value::Serde(groups(By::Month)),
            sla => minijinja::value::Serde(sla),
            overdue => minijinja::value::Serde(&report.overdue),
            excluded => minijinja::value::Serde(excluded),
            exclude_resolutions => report.exclude_resolutions.iter().map(|r| r.code().replace('_', " ")).collect::<Vec<_>>(),
            reopened => match report.reopened_counts { tandem_cases::kpi::Reopened::First => "first", _ => "last" },
            weights => format!("informational {}, low {}, medium {}, high {}, critical {}", w.informational, w.low, w.medium, w.high, w.critical),
            index_chart => minijinja::Value::from_safe_string(index_chart),
            mttr_chart => minijinja::Value::from_safe_string(mttr_chart),
            definitions => minijinja::value::Serde(definitions),
            d_counted => definition("counted"), d_stats => definition("stats"),
            d_mttd => definition("mttd"), d_mtta => definition("mtta"),
            d_mttc => definition("mttc"), d_mttr => definition("mttr"),
            d_index => definition("index"), d_weighted => definition("weighted_mttr"),
            d_sla => definition("sla"), d_overdue => definition("overdue"),
            tables => TABLES.iter().chain(crate::kpi_figures::TABLES).copied().collect::<Vec<_>>(),
            more => minijinja::value::Serde(more),
            d_revocation => definition("revocation"), d_sources => definition("sources_healthy"),
            d_analysed => definition("analysed"), d_department_risk => definition("department_risk"),
            d_training => definition("training"), d_employee_reports => definition("employee_reports"),
            attack => minijinja::value::Serde(attack),
            ..v.base("kpis")
        },
    )
}

/// A share in words: `75 %`, `—` when there is nothing to share.
fn percent(x: Option<f64>) -> String {
    x.map(|v| format!("{:.0} %", v * 100.0))
        .unwrap_or_else(|| "—".into())
}

/// The figures beside the incidents as the dashboard shows them.
fn figures_view(f: &crate::kpi_figures::Figures, zone: &jiff::tz::TimeZone) -> Value {
    let when = |t: tandem_model::Timestamp| crate::clock::stamp(t, zone);
    let r = &f.revocation;
    let e = &f.employee_reports;
    let stat = |s: &Stat| {
        json!({
            "median": duration(s.median), "p90": duration(s.p90), "mean": duration(s.mean),
            "n": s.n, "share": format!("{:.0} %", s.share * 100.0),
        })
    };
    let leavers: Vec<Value> = r
        .leavers
        .iter()
        .map(|l| {
            let badge = match (l.badges, l.badge_open) {
                (0, _) => "no badge".to_owned(),
                (_, true) => format!("still active, {} so far", duration(l.to_badge)),
                (_, false) => format!("revoked after {}", duration(l.to_badge)),
            };
            let account = match (l.has_account, l.account_open) {
                (false, _) => "no account".to_owned(),
                (true, true) => format!("still enabled, {} so far", duration(l.to_account)),
                (true, false) => format!("disabled after {}", duration(l.to_account)),
            };
            let mut used = Vec::new();
            if l.badge_uses_after > 0 {
                used.push(format!("{} badge use(s)", l.badge_uses_after));
            }
            if l.sign_ins_after > 0 {
                used.push(format!("{} sign-in(s)", l.sign_ins_after));
            }
            let first = [l.first_badge_use_after, l.first_sign_in_after]
                .into_iter()
                .flatten()
                .min();
            json!({
                "person": l.person, "name": l.name,
                "link": format!("/people/{}", urlencode(&l.person)),
                "department": l.department.clone().unwrap_or_default(),
                "terminated": when(l.terminated),
                "badge": badge, "badge_open": l.badge_open,
                "account": account, "account_open": l.account_open,
                "used": used.join(", "),
                "first_use": first.map(when),
                "search": format!("/search?q={}", urlencode(&format!("person:\"{}\"", l.person))),
            })
        })
        .collect();
    let c = &f.coverage;
    let sources: Vec<Value> = c
        .sources
        .iter()
        .map(|s| {
            json!({
                "source": s.source, "healthy": s.healthy, "reason": s.reason,
                "last_received": s.last_received.map(when),
                "link": format!("/sources?source={}", urlencode(&s.source)),
            })
        })
        .collect();
    let risk: Vec<Value> = f
        .department_risk
        .iter()
        .map(|d| {
            json!({
                "label": d.label, "people": d.people, "sum": format!("{:.1}", d.sum),
                "max": format!("{:.1}", d.max), "above": d.above_threshold,
                "top": d.top.iter().map(|p| json!({
                    "name": if p.name.is_empty() { p.person.clone() } else { p.name.clone() },
                    "score": format!("{:.1}", p.score),
                    "link": format!("/people/{}", urlencode(&p.person)),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let t = &f.training;
    let training: Vec<Value> = t
        .departments
        .iter()
        .chain(std::iter::once(&t.overall))
        .map(|d| {
            json!({
                "label": d.label, "people": d.people, "trained": d.trained,
                "training_share": percent(d.training_share), "acknowledged": d.acknowledged,
                "acknowledged_share": percent(d.acknowledged_share),
                "total": d.department.is_empty() && d.label == "All departments",
            })
        })
        .collect();
    json!({
        "revocation": {
            "leavers": leavers, "count": r.leavers.len(), "open": r.open,
            "used_after": r.used_after, "badge": stat(&r.badge), "account": stat(&r.account),
        },
        "coverage": {
            "sources": sources, "total": c.sources.len(), "healthy": c.sources_healthy,
            "healthy_share": percent(c.sources_healthy_share),
            "ingested": c.events_ingested, "analysed": c.events_analysed,
            "analysed_share": percent(c.analysed_share), "detection": c.detection_enabled,
        },
        "department_risk": risk,
        "training": {
            "rows": training, "records": t.records,
            "courses": if t.courses.is_empty() { "any course".to_owned() } else { t.courses.join(", ") },
            "policies": if t.policies.is_empty() { "any policy".to_owned() } else { t.policies.join(", ") },
        },
        "employee_reports": {
            "filed": e.filed, "reporters": e.reporters, "drills": e.drills_spotted,
            "rate": e.rate_per_100_people.map(|r| format!("{r:.1}")).unwrap_or_else(|| "—".into()),
            "heard_back": e.heard_back, "heard_back_share": percent(e.heard_back_share),
            "median_hours": e.median_hours_to_feedback.map(|h| format!("{h:.1} h")).unwrap_or_else(|| "—".into()),
            "by_kind": e.by_kind.iter().map(|(k, n)| json!({"kind": k.replace('_', " "), "n": n})).collect::<Vec<_>>(),
        },
    })
}

/// The end of a period as the form's date: the next midnight unless it is one.
fn form_end(to: tandem_model::Timestamp) -> String {
    let day = to.date_naive();
    let midnight = day.and_hms_opt(0, 0, 0).map(|m| m.and_utc());
    if midnight == Some(to) {
        day.format("%Y-%m-%d").to_string()
    } else {
        (day + chrono::Duration::days(1))
            .format("%Y-%m-%d")
            .to_string()
    }
}

/// One group as the dashboard shows it: figures in words and the link to its incidents.
fn group_row(g: &Group, by: By, period: &str) -> Value {
    let link = if g.key.is_empty() && g.label == "All incidents" {
        format!("/kpis/incidents?{period}")
    } else {
        format!(
            "/kpis/incidents?{period}&by={}&key={}",
            by.code(),
            urlencode(&g.key)
        )
    };
    let stat = |s: &Stat| {
        json!({
            "median": duration(s.median),
            "p90": duration(s.p90),
            "mean": duration(s.mean),
            "n": s.n,
            "share": format!("{:.0} %", s.share * 100.0),
        })
    };
    json!({
        "key": g.key,
        "label": g.label,
        "incidents": g.incidents,
        "reopened": g.reopened,
        "index": g.index,
        "weighted_mttr": duration(g.weighted_mttr),
        "mttd": stat(&g.mttd),
        "mtta": stat(&g.mtta),
        "mttc": stat(&g.mttc),
        "mttr": stat(&g.mttr),
        "link": link,
    })
}

/// The values of a chart in words, for its `<desc>`.
fn summary_of(
    groups: &[&Group],
    value: impl Fn(&Group) -> Option<f64>,
    words: impl Fn(f64) -> String,
) -> String {
    if groups.is_empty() {
        return "No incidents in the period.".into();
    }
    groups
        .iter()
        .map(|g| {
            format!(
                "{}: {}",
                g.label,
                value(g).map(&words).unwrap_or_else(|| "none".into())
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Escapes text for SVG/HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A percent-encoded query value.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A bar chart as SVG: one bar per point, its value above it, labels below; a `<title>` and
/// `<desc>` name it for screen readers (`role="img"`, `aria-labelledby`), and each bar has
/// its own `<title>`. Presentation attributes only: the console's Content-Security-Policy
/// allows no inline styles.
pub fn bar_chart(
    title: &str,
    desc: &str,
    points: &[(String, f64)],
    label: impl Fn(f64) -> String,
) -> String {
    const W: f64 = 640.0;
    const H: f64 = 220.0;
    const TOP: f64 = 24.0;
    const BOTTOM: f64 = 40.0;
    let id = title
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\"><title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>",
        esc(title),
        esc(desc)
    );
    let max = points.iter().map(|p| p.1).fold(0.0_f64, f64::max);
    let plot = H - TOP - BOTTOM;
    out.push_str(&format!(
        "<line x1=\"0\" y1=\"{y}\" x2=\"{W}\" y2=\"{y}\" stroke=\"#888\" stroke-width=\"1\"/>",
        y = H - BOTTOM
    ));
    if points.is_empty() {
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#555\">No incidents in the period</text>",
            W / 2.0,
            H / 2.0
        ));
    }
    let n = points.len().max(1) as f64;
    let slot = W / n;
    let bar = (slot * 0.6).min(60.0);
    for (i, (name, value)) in points.iter().enumerate() {
        let h = if max > 0.0 { value / max * plot } else { 0.0 };
        let x = slot * i as f64 + (slot - bar) / 2.0;
        let y = H - BOTTOM - h;
        let cx = x + bar / 2.0;
        out.push_str(&format!(
            "<g><title>{}: {}</title><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\" fill=\"#2b6cb0\"/><text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\" fill=\"#222\">{}</text><text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\" fill=\"#222\">{}</text></g>",
            esc(name),
            esc(&label(*value)),
            (y - 4.0).max(12.0),
            esc(&label(*value)),
            H - BOTTOM + 16.0,
            esc(name)
        ));
    }
    out.push_str("</svg>");
    out
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DrillParams {
    #[serde(flatten)]
    pub kpi: KpiParams,
    /// The group's key in `by` (empty: incidents without a department or site).
    pub key: Option<String>,
    /// The SLA row: its department …
    pub sla: Option<String>,
    /// … and task (empty: the department's row).
    pub task: Option<String>,
}

/// `GET /kpis/incidents`: the incidents behind one number of the dashboard.
pub async fn incidents(
    v: Visitor,
    State(state): State<AppState>,
    Query(params): Query<DrillParams>,
) -> Response {
    let now = chrono::Utc::now();
    let a = match asked(&params.kpi, now) {
        Ok(a) => a,
        Err(e) => return refusal(e),
    };
    let report: KpiReport = match report(&state, &v.who, &a, now).await {
        Ok(r) => r,
        Err(e) => return refusal(e),
    };
    let (what, ids): (String, Vec<String>) = if let Some(d) = params.sla.as_deref() {
        let task = params.task.clone().unwrap_or_default();
        match report
            .sla
            .iter()
            .find(|s| s.department.code() == d && s.task == task)
        {
            Some(s) => (
                format!(
                    "SLA of {}{}",
                    s.department.label(),
                    if task.is_empty() {
                        String::new()
                    } else {
                        format!(", task {task}")
                    }
                ),
                s.ids.clone(),
            ),
            None => (format!("SLA of {d}"), Vec::new()),
        }
    } else if let (Some(by), Some(key)) = (params.kpi.by.as_deref(), params.key.as_deref()) {
        let g = report
            .by
            .get(by)
            .and_then(|gs| gs.iter().find(|g| g.key == key));
        match g {
            Some(g) => (format!("{by} {}", g.label), g.ids.clone()),
            None => (format!("{by} {key}"), Vec::new()),
        }
    } else {
        ("all counted incidents".into(), report.overall.ids.clone())
    };
    let shown: Vec<String> = ids.iter().take(500).cloned().collect();
    let rows = match crate::incidents::run(&state, move |i| {
        Ok(shown
            .iter()
            .filter_map(|id| i.get(id).ok())
            .map(|(inc, _)| {
                json!({
                    "id": inc.id,
                    "title": inc.title,
                    "severity": inc.severity.name(),
                    "status": inc.status.code().replace('_', " "),
                    "playbook": inc.playbook,
                })
            })
            .collect::<Vec<Value>>())
    })
    .await
    {
        Ok(r) => r,
        Err(e) => return refusal(e),
    };
    render(
        "kpi_incidents.html",
        context! {
            what => what,
            total => ids.len(),
            rows => minijinja::value::Serde(rows),
            from => report.window.from.format("%Y-%m-%d").to_string(),
            to => report.window.to.format("%Y-%m-%d").to_string(),
            definition => definition("counted"),
            ..v.base("kpis")
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_labelled_escaped_and_drawn_without_styles() {
        let svg = bar_chart(
            "Index per month",
            "2025-03: 4",
            &[("<b>2025-03</b>".into(), 4.0), ("2025-04".into(), 2.0)],
            |x| format!("{x}"),
        );
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("<title id=\"indexpermonth-t\">Index per month</title>"));
        assert!(svg.contains("<desc id=\"indexpermonth-d\">2025-03: 4</desc>"));
        assert!(svg.contains("&lt;b&gt;2025-03&lt;/b&gt;"));
        assert!(!svg.contains("<b>"));
        assert!(!svg.contains("style="));
        assert_eq!(svg.matches("<rect").count(), 2);
        let empty = bar_chart("Empty", "none", &[], |x| format!("{x}"));
        assert!(empty.contains("No incidents in the period"));
    }
}
