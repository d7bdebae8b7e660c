//! HR CSV import: the HR system's export of who works here, in which department, since when
//! and until when.
//!
//! Every HR system exports different column names, so the columns are mapped in
//! configuration ([`HrColumns`], `[identity.hr]` in `tandem.toml`); the defaults match a
//! plain export:
//!
//! ```text
//! employee_number,name,email,username,department,manager,title,site,hired,terminated,badge
//! E1001,Alice Berg,alice.berg@nordlys.example,aberg,Finance,E1000,Controller,oslo,2021-03-01,,10442
//! ```
//!
//! The import is idempotent: it compares each row with what the directory holds and plans
//! only the differences ([`plan`]), so a nightly import of an unchanged file changes
//! nothing, and `--dry-run` shows the plan without committing it. Dates become effective
//! times: a person exists from their hire date, and a termination date records a
//! `terminated` state effective at that moment (the start of the day, UTC, unless the column
//! holds a full timestamp), so an event one minute later resolves to a terminated person
//! even when the file arrives days afterwards. A person missing from the file is left alone:
//! HR exports are often partial, and leaving is recorded by a termination date, not by
//! absence.

use crate::directory::{Directory, PERSON};
use crate::model::*;
use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use tandem_store::DirectoryChange;

/// Which CSV column holds each fact. An empty name means the export has no such column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HrColumns {
    pub employee_number: String,
    pub name: String,
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    /// Unix / short account name.
    pub username: String,
    pub upn: String,
    pub department: String,
    /// The manager's employee number.
    pub manager: String,
    pub title: String,
    pub site: String,
    pub status: String,
    pub hired: String,
    pub terminated: String,
    /// One badge number, or several separated by `;`.
    pub badge: String,
    pub criticality: String,
    /// chrono format of date columns; full RFC 3339 timestamps are accepted too.
    pub date_format: String,
}

impl Default for HrColumns {
    fn default() -> Self {
        let s = |v: &str| v.to_owned();
        HrColumns {
            employee_number: s("employee_number"),
            name: s("name"),
            given_name: s("given_name"),
            family_name: s("family_name"),
            email: s("email"),
            username: s("username"),
            upn: s("upn"),
            department: s("department"),
            manager: s("manager"),
            title: s("title"),
            site: s("site"),
            status: s("status"),
            hired: s("hired"),
            terminated: s("terminated"),
            badge: s("badge"),
            criticality: s("criticality"),
            date_format: s("%Y-%m-%d"),
        }
    }
}

/// What an import would do.
#[derive(Debug, Default, Serialize)]
pub struct Plan {
    pub rows: usize,
    pub new_people: usize,
    pub updated_people: usize,
    pub terminations: usize,
    pub unchanged: usize,
    /// One line per change, for people to read (`E1001 Alice Berg: department Sales → Finance`).
    pub summary: Vec<String>,
    /// Rows that could not be used, with their line number and why.
    pub errors: Vec<String>,
    #[serde(skip)]
    pub changes: Vec<DirectoryChange>,
}

/// Plans the changes `csv` makes to `dir`. Bad rows are listed in [`Plan::errors`] and
/// skipped; the rest are planned.
pub fn plan(
    dir: &Directory,
    csv: &[u8],
    columns: &HrColumns,
    origin: &str,
    now: Timestamp,
) -> Result<Plan, crate::IdentityError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(csv);
    let headers = reader
        .headers()
        .map_err(|e| crate::IdentityError::Invalid(format!("HR file header: {e}")))?
        .clone();
    let col = |name: &str| -> Option<usize> {
        (!name.is_empty())
            .then(|| headers.iter().position(|h| h.eq_ignore_ascii_case(name)))
            .flatten()
    };
    let id_col = col(&columns.employee_number).ok_or_else(|| {
        crate::IdentityError::Invalid(format!(
            "HR file has no `{}` column (the employee number; set identity.hr.employee_number to the column's name). Columns: {}",
            columns.employee_number,
            headers.iter().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let mut plan = Plan::default();
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                plan.errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        plan.rows += 1;
        let get = |name: &str| -> Option<String> {
            col(name)
                .and_then(|c| row.get(c))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let Some(number) = row.get(id_col).map(str::trim).filter(|v| !v.is_empty()) else {
            plan.errors.push(format!("line {line}: no employee number"));
            continue;
        };
        match plan_row(dir, number, &get, columns, now) {
            Ok(row_plan) => row_plan.into_plan(&mut plan, origin, now),
            Err(e) => plan.errors.push(format!("line {line}: {e}")),
        }
    }
    Ok(plan)
}

struct RowPlan {
    id: String,
    label: String,
    /// `(effective, state, description)` to append.
    versions: Vec<(Timestamp, Person, String)>,
    kind: RowKind,
}

enum RowKind {
    New,
    Updated,
    Unchanged,
}

impl RowPlan {
    fn into_plan(self, plan: &mut Plan, origin: &str, now: Timestamp) {
        match self.kind {
            RowKind::New => plan.new_people += 1,
            RowKind::Updated => plan.updated_people += 1,
            RowKind::Unchanged => plan.unchanged += 1,
        }
        for (effective, state, what) in self.versions {
            if state.status == Status::Terminated {
                plan.terminations += 1;
            }
            plan.summary.push(format!("{}: {what}", self.label));
            let body = serde_json::to_value(&state).ok();
            let mut c = DirectoryChange::new(PERSON, &self.id, effective, origin, body);
            c.recorded = now;
            plan.changes.push(c);
        }
    }
}

fn parse_time(value: &str, format: &str) -> Result<Timestamp, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(value, format)
        .map(|d| Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN)))
        .map_err(|e| format!("`{value}` is not a date in the format `{format}` ({e})"))
}

fn plan_row(
    dir: &Directory,
    number: &str,
    get: &dyn Fn(&str) -> Option<String>,
    c: &HrColumns,
    now: Timestamp,
) -> Result<RowPlan, String> {
    let existing = dir.person_by_employee_number(number);
    let id = existing.map_or_else(|| number.to_owned(), |p| p.id.clone());
    let given = get(&c.given_name);
    let family = get(&c.family_name);
    let name = get(&c.name)
        .or_else(|| match (&given, &family) {
            (Some(g), Some(f)) => Some(format!("{g} {f}")),
            _ => None,
        })
        .ok_or_else(|| format!("employee {number} has no name"))?;
    let hired_at = get(&c.hired)
        .map(|v| parse_time(&v, &c.date_format))
        .transpose()
        .map_err(|e| format!("hired: {e}"))?;
    let terminated_at = get(&c.terminated)
        .map(|v| parse_time(&v, &c.date_format))
        .transpose()
        .map_err(|e| format!("terminated: {e}"))?;
    let status = match get(&c.status) {
        Some(s) => Status::parse_loose(&s).ok_or_else(|| {
            format!("status `{s}` is not one of active, on_leave, suspended, terminated")
        })?,
        None => Status::Active,
    };
    let manager = get(&c.manager).map(|m| {
        dir.person_by_employee_number(&m)
            .map_or(m, |p| p.id.clone())
    });
    // Start from what the directory holds so attributes another feed maintains (SCIM ids,
    // faces, extra accounts and badges) survive an HR import.
    let mut base = existing.cloned().unwrap_or_default();
    base.id = id.clone();
    base.employee_number = Some(number.to_owned());
    base.name = name.clone();
    base.given_name = given.or(base.given_name);
    base.family_name = family.or(base.family_name);
    base.email = get(&c.email).or(base.email);
    base.department = get(&c.department).or(base.department);
    base.manager = manager.or(base.manager);
    base.title = get(&c.title).or(base.title);
    base.home_site = get(&c.site).or(base.home_site);
    base.hired = hired_at.map(|t| t.date_naive()).or(base.hired);
    if let Some(crit) = get(&c.criticality) {
        base.criticality = serde_json::from_value(serde_json::Value::String(crit.to_lowercase()))
            .map_err(|_| {
            format!("criticality `{crit}` is not one of low, normal, high, critical")
        })?;
    }
    let mut add_account = |kind: AccountKind, value: Option<String>| {
        if let Some(value) = value
            && !base
                .accounts
                .iter()
                .any(|a| a.value.eq_ignore_ascii_case(&value))
        {
            base.accounts.push(Account { kind, value });
        }
    };
    add_account(AccountKind::Unix, get(&c.username));
    add_account(AccountKind::Upn, get(&c.upn));
    add_account(AccountKind::Email, get(&c.email));
    for number in get(&c.badge)
        .iter()
        .flat_map(|b| b.split(';'))
        .map(str::trim)
    {
        if !number.is_empty() && !base.badges.iter().any(|b| b.number == number) {
            base.badges.push(Badge {
                number: number.to_owned(),
                facility_code: None,
                valid_from: hired_at,
                valid_to: None,
                status: BadgeStatus::Active,
            });
        }
    }
    // The state before any termination: active (or what the status column says).
    let mut working = base.clone();
    if status != Status::Terminated {
        working.status = status;
        working.terminated_at = None;
    } else if existing.is_some_and(|p| p.status == Status::Terminated) {
        working.status = Status::Terminated;
        working.terminated_at = existing.and_then(|p| p.terminated_at);
    }
    let mut versions = Vec::new();
    let kind;
    match existing {
        None => {
            kind = RowKind::New;
            let from = match (hired_at, terminated_at) {
                (Some(h), Some(t)) if h >= t => t,
                (Some(h), _) => h,
                (None, Some(t)) => t.min(now),
                (None, None) => now,
            };
            let mut first = working.clone();
            if status == Status::Terminated && terminated_at.is_none() {
                first.status = Status::Terminated;
            }
            versions.push((
                from,
                first,
                format!(
                    "new person, {}",
                    working.department.as_deref().unwrap_or("no department")
                ),
            ));
        }
        Some(current) => {
            let mut compare = working.clone();
            // Status is compared on its own below.
            compare.status = current.status;
            compare.terminated_at = current.terminated_at;
            if compare != *current {
                kind = RowKind::Updated;
                let what = describe(current, &compare);
                versions.push((now, compare, what));
            } else {
                kind = RowKind::Unchanged;
            }
        }
    }
    let already_terminated = dir.person_history(&id).is_some_and(|h| {
        h.versions().iter().any(|v| {
            v.state
                .as_ref()
                .is_some_and(|p| p.status == Status::Terminated)
        })
    });
    if let Some(at) = terminated_at
        && !already_terminated
    {
        let mut gone = working.clone();
        gone.status = Status::Terminated;
        gone.terminated_at = Some(at);
        versions.push((
            at,
            gone,
            format!("terminated {}", at.format("%Y-%m-%d %H:%M UTC")),
        ));
    }
    let kind = match (kind, versions.is_empty()) {
        (RowKind::Unchanged, false) => RowKind::Updated,
        (k, _) => k,
    };
    Ok(RowPlan {
        id,
        label: format!("{number} {name}"),
        versions,
        kind,
    })
}

/// `department Sales → Finance, title …` for the dry-run listing.
fn describe(old: &Person, new: &Person) -> String {
    let mut parts = Vec::new();
    let mut field = |label: &str, a: &Option<String>, b: &Option<String>| {
        if a != b {
            parts.push(format!(
                "{label} {} → {}",
                a.as_deref().unwrap_or("(none)"),
                b.as_deref().unwrap_or("(none)")
            ));
        }
    };
    field("department", &old.department, &new.department);
    field("manager", &old.manager, &new.manager);
    field("title", &old.title, &new.title);
    field("site", &old.home_site, &new.home_site);
    field("email", &old.email, &new.email);
    if old.name != new.name {
        parts.push(format!("name {} → {}", old.name, new.name));
    }
    if old.badges.len() != new.badges.len() {
        parts.push("badges changed".to_owned());
    }
    if old.accounts.len() != new.accounts.len() {
        parts.push("accounts changed".to_owned());
    }
    if parts.is_empty() {
        parts.push("details changed".to_owned());
    }
    parts.join(", ")
}
