//! The security committee's briefing pack: the KPIs since the last meeting with their trends,
//! notable incidents in plain words, SLA misses by department, open action items and the
//! next chair, as a printable HTML page (print styles, page breaks), printed to PDF by
//! headless Chromium when it is installed.
//!
//! The figures are the KPI engine's (`tandem_cases::kpi`, read through [`crate::kpis`]) and
//! the charts the dashboards' SVG ([`crate::pages::kpis::bar_chart`]); a responder's pack
//! holds their department's incidents only, as their dashboard does. Printing runs
//! `chromium --headless --print-to-pdf` on a file written to a temporary directory, with a
//! profile of its own, a time limit (`[briefing] timeout_seconds`) and a page whose
//! Content-Security-Policy lets it load nothing; where Chromium is missing or fails, the
//! caller gets the printable page and the reason instead ([`print_pdf`]'s error).

use crate::auth::Principal;
use crate::committee::BriefingParams;
use crate::kpis::{Asked, MAX_DAYS, duration, report};
use crate::pages::kpis::bar_chart;
use crate::{ApiError, AppState};
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tandem_cases::IncidentStatus;
use tandem_cases::committee::next_chair;
use tandem_cases::incidents::IncidentFilter;
use tandem_cases::kpi::{By, Window};
use tandem_model::{Severity, Timestamp};

/// How the briefing pack is printed (`[briefing]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BriefingConfig {
    /// The Chromium (or Chrome) program that prints the PDF; empty: the first of
    /// `chromium`, `chromium-browser`, `google-chrome` found on `PATH`.
    pub chromium: String,
    /// How long printing one pack may take before Chromium is stopped, in seconds.
    pub timeout_seconds: u64,
}

impl Default for BriefingConfig {
    fn default() -> Self {
        BriefingConfig {
            chromium: String::new(),
            timeout_seconds: 60,
        }
    }
}

/// The programs looked for on `PATH` when `[briefing] chromium` is empty.
const CHROMIUM_NAMES: &[&str] = &[
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// The most compliance gaps a pack lists (the count says how many there are in all).
const MAX_GAPS: usize = 25;

/// The most notable incidents a pack tells.
const NOTABLE: usize = 12;

/// A briefing pack, ready to render.
pub struct Pack {
    pub window: Window,
    ctx: Value,
}

/// The pack's styles: inlined in the standalone page and the PDF, served as
/// `/static/briefing.css` to the console's page (whose Content-Security-Policy allows no
/// inline style).
pub const CSS: &str = include_str!("../templates/briefing.css");

impl Pack {
    /// The file name, without extension: `briefing-20250301-20250401`.
    pub fn file_name(&self) -> String {
        format!(
            "briefing-{}-{}",
            self.window.from.format("%Y%m%d"),
            self.window.to.format("%Y%m%d")
        )
    }

    /// A self-contained page (styles inline, allowed to load nothing), with `notice` at its
    /// top when the PDF could not be printed.
    pub fn standalone(&self, notice: Option<&str>) -> String {
        self.render(true, notice, "")
    }

    /// The console's page: styles from `/static/briefing.css`, with a way back and the
    /// session's CSRF token for nothing but the layout's habits.
    pub fn console_page(&self, notice: Option<&str>, pdf_link: &str) -> String {
        self.render(false, notice, pdf_link)
    }

    fn render(&self, standalone: bool, notice: Option<&str>, pdf_link: &str) -> String {
        let ctx = context! {
            standalone => standalone,
            css => if standalone { CSS } else { "" },
            notice => notice,
            pdf_link => pdf_link,
            ..minijinja::Value::from(minijinja::value::Serde(&self.ctx))
        };
        crate::view::render_string("briefing.html", ctx)
            .unwrap_or_else(|e| format!("the briefing pack could not be drawn: {e}"))
    }
}

/// The period asked for: `from` defaults to the day of the last meeting held (90 days before
/// `to` when none was), `to` to now.
fn window(
    p: &BriefingParams,
    last_meeting: Option<chrono::NaiveDate>,
    now: Timestamp,
) -> Result<Window, ApiError> {
    let bound = |name: &str, s: &Option<String>| -> Result<Option<Timestamp>, ApiError> {
        match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => tandem_query::parse_time_bound(s, now)
                .map(Some)
                .map_err(|e| ApiError::bad_request(format!("`{name}`: {}", e.message))),
            None => Ok(None),
        }
    };
    let to = bound("to", &p.to)?.unwrap_or(now);
    let from = match bound("from", &p.from)? {
        Some(f) => f,
        None => last_meeting
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
            .filter(|d| *d < to)
            .unwrap_or(to - chrono::Duration::days(crate::kpis::DEFAULT_DAYS)),
    };
    if from >= to {
        return Err(ApiError::bad_request("`from` must be earlier than `to`"));
    }
    if to - from > chrono::Duration::days(MAX_DAYS) {
        return Err(ApiError::bad_request(format!(
            "a period covers at most {MAX_DAYS} days"
        )));
    }
    Ok(Window { from, to })
}

/// A change between two figures in words: "up 20 % from 3.1 h", "no change".
fn change(now: Option<f64>, before: Option<f64>, words: impl Fn(f64) -> String) -> String {
    let (Some(a), Some(b)) = (now, before) else {
        return "no earlier figure".into();
    };
    if b <= 0.0 {
        return if a <= 0.0 {
            "no change".into()
        } else {
            format!("up from {}", words(0.0))
        };
    }
    let pct = (a - b) / b * 100.0;
    if pct.abs() < 0.5 {
        "no change".into()
    } else {
        format!(
            "{} {:.0} % from {}",
            if pct > 0.0 { "up" } else { "down" },
            pct.abs(),
            words(b)
        )
    }
}

/// Builds the pack `who` may read for the period asked for.
pub async fn build(
    state: &AppState,
    who: &Principal,
    p: &BriefingParams,
) -> Result<Pack, ApiError> {
    let now = chrono::Utc::now();
    let (setup, meetings, meeting_items) = crate::committee::with(state, |c| {
        Ok((c.setup()?, c.meetings()?, c.action_items(true)?))
    })
    .await?;
    let today = now.date_naive();
    let last = meetings.iter().find(|m| m.date <= today);
    let window = window(p, last.map(|m| m.date), now)?;
    let scope = who.role.incident_scope();

    let current = report(
        state,
        who,
        &Asked {
            window,
            by: vec![By::Severity, By::Department],
        },
        now,
    )
    .await?;
    let length = window.to - window.from;
    let previous = report(
        state,
        who,
        &Asked {
            window: Window {
                from: window.from - length,
                to: window.from,
            },
            by: vec![],
        },
        now,
    )
    .await?;
    // The trend: the six months up to the period's end, month by month.
    let trend_window = Window {
        from: (window.to - chrono::Duration::days(183)).min(window.from),
        to: window.to,
    };
    let trend = report(
        state,
        who,
        &Asked {
            window: trend_window,
            by: vec![By::Month],
        },
        now,
    )
    .await?;
    let months: Vec<&tandem_cases::kpi::Group> = trend
        .by
        .get("month")
        .map(|g| g.iter().collect())
        .unwrap_or_default();
    let words = |gs: &[&tandem_cases::kpi::Group],
                 f: &dyn Fn(&tandem_cases::kpi::Group) -> String| {
        if gs.is_empty() {
            "No incidents in the period.".to_owned()
        } else {
            gs.iter()
                .map(|g| format!("{}: {}", g.label, f(g)))
                .collect::<Vec<_>>()
                .join("; ")
        }
    };
    let index_chart = bar_chart(
        "Severity-weighted incident index per month",
        &format!(
            "Bars: Σ weight(severity) of the incidents detected each month. {}",
            words(&months, &|g| format!("{}", g.index))
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
            "Bars: median MTTR of the incidents detected each month, in hours. {}",
            words(&months, &|g| duration(g.mttr.median))
        ),
        &months
            .iter()
            .map(|g| (g.label.clone(), g.mttr.median.unwrap_or(0.0) / 3600.0))
            .collect::<Vec<_>>(),
        |x| format!("{x:.1} h"),
    );
    let (o, b) = (&current.overall, &previous.overall);
    // An empty sum is -0.0, which would print as "-0".
    let num = |x: f64| format!("{}", x + 0.0);
    let figures = vec![
        json!({"name": "Incidents counted", "value": o.incidents.to_string(),
               "change": change(Some(o.incidents as f64), Some(b.incidents as f64), |x| format!("{x:.0}")),
               "definition": tandem_cases::kpi::definition("counted")}),
        json!({"name": "Severity-weighted incident index", "value": num(o.index),
               "change": change(Some(o.index), Some(b.index), num),
               "definition": tandem_cases::kpi::definition("index")}),
        json!({"name": "Median time to detect (MTTD)", "value": duration(o.mttd.median),
               "change": change(o.mttd.median, b.mttd.median, |x| duration(Some(x))),
               "definition": tandem_cases::kpi::definition("mttd")}),
        json!({"name": "Median time to acknowledge (MTTA)", "value": duration(o.mtta.median),
               "change": change(o.mtta.median, b.mtta.median, |x| duration(Some(x))),
               "definition": tandem_cases::kpi::definition("mtta")}),
        json!({"name": "Median time to contain (MTTC)", "value": duration(o.mttc.median),
               "change": change(o.mttc.median, b.mttc.median, |x| duration(Some(x))),
               "definition": tandem_cases::kpi::definition("mttc")}),
        json!({"name": "Median time to resolve (MTTR)", "value": duration(o.mttr.median),
               "change": change(o.mttr.median, b.mttr.median, |x| duration(Some(x))),
               "definition": tandem_cases::kpi::definition("mttr")}),
        json!({"name": "Severity-weighted MTTR", "value": duration(o.weighted_mttr),
               "change": change(o.weighted_mttr, b.weighted_mttr, |x| duration(Some(x))),
               "definition": tandem_cases::kpi::definition("weighted_mttr")}),
    ];

    // SLA misses by department: the departments' rows, then each task that breached.
    let sla: Vec<Value> = current
        .sla
        .iter()
        .filter(|s| s.task.is_empty())
        .map(|s| {
            let tasks: Vec<String> = current
                .sla
                .iter()
                .filter(|t| t.department == s.department && !t.task.is_empty() && t.breached > 0)
                .map(|t| format!("{} ({})", t.task, t.breached))
                .collect();
            json!({
                "department": s.department.label(),
                "judged": s.judged,
                "breached": s.breached,
                "compliance": s.compliance.map(|c| format!("{:.0} %", c * 100.0)).unwrap_or_else(|| "—".into()),
                "tasks": tasks.join(", "),
            })
        })
        .collect();
    let overdue: Vec<Value> = current
        .overdue
        .iter()
        .map(|o| json!({"incident": o.incident, "title": o.title, "task": o.task, "department": o.department.label()}))
        .collect();

    // Notable incidents: the high and critical ones detected in the period, most severe first.
    let win = window;
    let notable = crate::incidents::run(state, move |i| {
        let (_, list) = i.list(&IncidentFilter {
            min_severity: Some(Severity::High),
            department: scope,
            limit: 500,
            ..IncidentFilter::default()
        })?;
        let mut list: Vec<_> = list
            .into_iter()
            .filter(|inc| inc.merged_into.is_none())
            .filter(|inc| {
                win.contains(
                    inc.milestones.detected.unwrap_or(
                        inc.milestones
                            .occurred
                            .unwrap_or(win.from - chrono::Duration::seconds(1)),
                    ),
                )
            })
            .collect();
        list.sort_by_key(|inc| (std::cmp::Reverse(inc.severity), inc.milestones.detected));
        list.truncate(NOTABLE);
        Ok(list)
    })
    .await?;
    let notable: Vec<Value> = notable
        .iter()
        .map(|inc| json!({"id": inc.id, "text": in_words(inc)}))
        .collect();

    // Open action items, from reviews and meetings, soonest due first.
    let review_items = crate::incidents::run(state, |i| i.action_items(true)).await?;
    let mut items: Vec<Value> = Vec::new();
    let mut all: Vec<(chrono::NaiveDate, Value)> = Vec::new();
    for a in review_items {
        if scope.is_some_and(|d| d != a.item.department) {
            continue;
        }
        all.push((
            a.item.due,
            json!({
                "title": a.item.title, "department": a.item.department.label(),
                "due": a.item.due.to_string(), "late": a.item.due < today,
                "from": format!("Review of {}: {}", a.incident, a.incident_title),
            }),
        ));
    }
    // The committee's own items are every reader's (the committee page shows them all); a
    // review's are its incident's, which a responder sees only for their department.
    for a in meeting_items {
        all.push((
            a.item.due,
            json!({
                "title": a.item.title, "department": a.item.department.label(),
                "due": a.item.due.to_string(), "late": a.item.due < today,
                "from": format!("{} of {}", a.meeting_title, a.date),
            }),
        ));
    }
    all.sort_by_key(|(d, _)| *d);
    items.extend(all.into_iter().map(|(_, v)| v));
    let late = items.iter().filter(|v| v["late"] == true).count();

    // Compliance gaps of the default framework: controls whose evidence is missing or
    // failing, so the committee sees where proof is short.
    let controls =
        crate::compliance::with(state, |c| c.controls(crate::compliance::DEFAULT_FRAMEWORK))
            .await?
            .unwrap_or_default();
    // Failing evidence first, then evidence missing, then controls with none defined.
    let rank = |st: tandem_compliance::soa::State| {
        use tandem_compliance::soa::State::*;
        match st {
            Failing => 0,
            Missing => 1,
            _ => 2,
        }
    };
    let mut gap_views: Vec<_> = controls.iter().filter(|c| c.state.is_gap()).collect();
    gap_views.sort_by_key(|c| rank(c.state));
    let count_of =
        |st: tandem_compliance::soa::State| gap_views.iter().filter(|c| c.state == st).count();
    let gap_kinds = json!({
        "failing": count_of(tandem_compliance::soa::State::Failing),
        "missing": count_of(tandem_compliance::soa::State::Missing),
        "none": count_of(tandem_compliance::soa::State::NoEvidence),
    });
    let gaps: Vec<Value> = gap_views
        .iter()
        .take(MAX_GAPS)
        .map(|c| {
            json!({
                "id": c.id, "title": c.title, "state": c.state.label(),
                "owner": if c.soa.owner.is_empty() { "—".to_owned() } else { c.soa.owner.clone() },
            })
        })
        .collect();
    let gap_count = gap_views.len();

    let next = next_chair(&setup, &meetings)
        .map(|m| json!({"account": m.account, "department": m.department.label()}));
    let generated = now.format("%Y-%m-%d %H:%M UTC").to_string();
    let ctx = json!({
        "from": window.from.format("%Y-%m-%d").to_string(),
        "to": window.to.format("%Y-%m-%d %H:%M UTC").to_string(),
        "previous_from": (window.from - length).format("%Y-%m-%d").to_string(),
        "generated": generated,
        "last_meeting": last.map(|m| json!({"id": m.id, "date": m.date.to_string(), "chair": m.chair})),
        "scope": scope.map(|d| d.label()),
        "figures": figures,
        "index_chart": index_chart,
        "mttr_chart": mttr_chart,
        "notable": notable,
        "sla": sla,
        "overdue": overdue,
        "items": items,
        "late": late,
        "next_chair": next,
        "members": setup.members.len(),
        "gaps": gaps,
        "gap_count": gap_count,
        "gap_kinds": gap_kinds,
        "framework": crate::compliance::DEFAULT_FRAMEWORK,
    });
    Ok(Pack { window, ctx })
}

/// An incident in one or two plain sentences: what, how severe, when, where it stands.
fn in_words(inc: &tandem_cases::Incident) -> String {
    let m = &inc.milestones;
    let detected = m
        .detected
        .or(m.occurred)
        .map(|t| t.format("%-d %B").to_string())
        .unwrap_or_else(|| "on an unknown day".into());
    let departments: Vec<&str> = inc.departments().iter().map(|d| d.label()).collect();
    let done = inc.tasks.iter().filter(|t| t.finished()).count();
    let state = match inc.status {
        IncidentStatus::Closed => match &inc.resolution {
            Some(r) => format!("It is closed ({}).", r.code().replace('_', " ")),
            None => "It is closed.".to_owned(),
        },
        IncidentStatus::Resolved => "It is resolved.".to_owned(),
        s => format!(
            "It is still {}, with {done} of {} tasks done.",
            s.code().replace('_', " "),
            inc.tasks.len()
        ),
    };
    let took = match (m.detected, m.resolved) {
        (Some(d), Some(r)) if r >= d => format!(
            " It took {} to resolve.",
            duration(Some((r - d).num_seconds() as f64))
        ),
        _ => String::new(),
    };
    let who = if departments.is_empty() {
        String::new()
    } else {
        format!(" Departments involved: {}.", departments.join(", "))
    };
    format!(
        "{}: {} — a {} incident detected {}. {state}{took}{who}",
        inc.id,
        inc.title,
        severity_word(inc.severity),
        detected
    )
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::Fatal => "critical",
        Severity::High => "high-severity",
        Severity::Medium => "medium-severity",
        Severity::Low => "low-severity",
        _ => "minor",
    }
}

/// The Chromium program to print with, or why there is none.
fn chromium(config: &BriefingConfig) -> Result<PathBuf, String> {
    let configured = config.chromium.trim();
    if !configured.is_empty() {
        let p = PathBuf::from(configured);
        if p.is_file() {
            return Ok(p);
        }
        if let Some(found) = on_path(configured) {
            return Ok(found);
        }
        return Err(format!(
            "the PDF is printed by headless Chromium, and [briefing] chromium = \"{configured}\" is not a program on this server; this is the printable page: print it from the browser (Save as PDF)"
        ));
    }
    CHROMIUM_NAMES.iter().find_map(|n| on_path(n)).ok_or_else(|| {
        "the PDF is printed by headless Chromium, which is not installed on this server (install the chromium package, or set [briefing] chromium to its path); this is the printable page: print it from the browser (Save as PDF)".to_owned()
    })
}

fn on_path(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return None;
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Prints the pack to PDF with headless Chromium. The error says why not, in words for the
/// reader of the printable page they get instead.
pub async fn print_pdf(state: &AppState, pack: &Pack) -> Result<Vec<u8>, String> {
    let program = chromium(&state.briefing)?;
    let html = pack.standalone(None);
    let timeout = Duration::from_secs(state.briefing.timeout_seconds.max(1));
    // A Chromium costs a few hundred MiB: packs asked for at once wait for one of a few.
    let _turn = PRINTING
        .acquire()
        .await
        .map_err(|e| format!("printing the PDF failed: {e}"))?;
    tokio::task::spawn_blocking(move || print_with(&program, &html, timeout))
        .await
        .map_err(|e| format!("printing the PDF failed: {e}"))?
}

/// How many packs are printed at once.
pub const MAX_PRINTING: usize = 2;

static PRINTING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_PRINTING);

/// Writes `html` to a temporary directory and has Chromium print it there.
pub fn print_with(
    program: &std::path::Path,
    html: &str,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    use std::process::{Command, Stdio};
    let fail = |what: &str| {
        format!(
            "printing the PDF with {} failed: {what}; this is the printable page: print it from the browser (Save as PDF)",
            program.display()
        )
    };
    let dir = tempfile::tempdir().map_err(|e| fail(&e.to_string()))?;
    let page = dir.path().join("briefing.html");
    let out = dir.path().join("briefing.pdf");
    std::fs::write(&page, html).map_err(|e| fail(&e.to_string()))?;
    let mut child = Command::new(program)
        .args([
            "--headless=new",
            // Servers often run as root in containers, where Chromium's sandbox cannot start;
            // the page is Tandem's own, escaped, and allowed to load nothing.
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-pdf-header-footer",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--print-to-pdf={}", out.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(&e.to_string()))?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(&format!(
                    "it took longer than {} s",
                    timeout.as_secs()
                )));
            }
            Err(e) => return Err(fail(&e.to_string())),
        }
    };
    let pdf = std::fs::read(&out).unwrap_or_default();
    if !status.success() || !pdf.starts_with(b"%PDF") {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no PDF was written");
        return Err(fail(&last.chars().take(200).collect::<String>()));
    }
    Ok(pdf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_told_in_words() {
        let h = |x: f64| duration(Some(x));
        assert_eq!(change(Some(7200.0), Some(3600.0), h), "up 100 % from 1.0 h");
        assert_eq!(
            change(Some(1800.0), Some(3600.0), h),
            "down 50 % from 1.0 h"
        );
        assert_eq!(change(Some(3600.0), Some(3600.0), h), "no change");
        assert_eq!(change(Some(3600.0), None, h), "no earlier figure");
        let n = |x: f64| format!("{x:.0}");
        assert_eq!(change(Some(3.0), Some(0.0), n), "up from 0");
        assert_eq!(change(Some(0.0), Some(0.0), n), "no change");
    }

    #[test]
    fn a_missing_chromium_is_named_with_what_to_do() {
        let e = chromium(&BriefingConfig {
            chromium: "/nonexistent/chromium".into(),
            ..BriefingConfig::default()
        })
        .unwrap_err();
        assert!(e.contains("[briefing] chromium"), "{e}");
        assert!(e.contains("printable page"), "{e}");
    }

    #[test]
    fn the_period_starts_at_the_last_meeting_unless_asked() {
        let now: Timestamp = "2025-06-01T12:00:00Z".parse().unwrap();
        let p = BriefingParams::default();
        let w = window(&p, Some("2025-05-10".parse().unwrap()), now).unwrap();
        assert_eq!(w.from.to_rfc3339(), "2025-05-10T00:00:00+00:00");
        assert_eq!(w.to, now);
        let w = window(&p, None, now).unwrap();
        assert_eq!((w.to - w.from).num_days(), 90);
        let asked = BriefingParams {
            from: Some("2025-01-01".into()),
            to: Some("2025-02-01".into()),
            ..BriefingParams::default()
        };
        let w = window(&asked, Some("2025-05-10".parse().unwrap()), now).unwrap();
        assert_eq!(w.from.to_rfc3339(), "2025-01-01T00:00:00+00:00");
        let backwards = BriefingParams {
            from: Some("2025-03-01".into()),
            to: Some("2025-02-01".into()),
            ..BriefingParams::default()
        };
        assert!(window(&backwards, None, now).is_err());
    }
}
