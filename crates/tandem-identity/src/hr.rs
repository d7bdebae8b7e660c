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
//! Real exports are not that plain, so the file's shape is configured too: the delimiter
//! (`,`, `;` or TAB detected from the header line) and encoding (UTF-8 with or without a BOM,
//! else Windows-1252) unless set, a date format per column, and the HR system's own words
//! mapped to statuses (`aktiv`, `ausgetreten`, `Leave of absence`) and department codes to
//! names. A value no mapping knows leaves that field as it was and is listed in the plan with
//! its lines ([`Plan::unmapped`]); it never rejects the row. The plan also says which header
//! fed which field, marking one matched only by ignoring case, and which configured columns
//! the file lacks, so a default column name silently matching a differently-cased header, or
//! a misspelt setting, shows in the dry run.
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
//!
//! Other columns (department, manager, title, badges, a status other than `terminated`) take
//! effect at the import (or on the first day of someone who has not started yet); an empty
//! cell keeps what the directory holds. A termination wins from its date on, whatever else
//! the same row or a later file says: every version from that date on, including ones
//! already recorded after it and the one the row itself adds, is terminated. The earliest
//! termination date HR has given counts; a `terminated` status without a date terminates a
//! new person from their first day and anyone else from the import. HR never re-activates a
//! terminated person: a rehire is another feed's re-activation (a SCIM re-provisioning), and
//! termination dates before it belong to the earlier employment.

use crate::directory::{Directory, PERSON};
use crate::model::*;
use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tandem_store::DirectoryChange;

/// Which CSV column holds each fact, and how the file is written. An empty column name means
/// the export has no such column.
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
    /// A date format per column (`hired`, `terminated`), for exports that write the hire
    /// date one way and the leaving date another; a column not listed uses `date_format`.
    pub date_formats: BTreeMap<String, String>,
    /// The HR system's status words → Tandem's statuses (`active`, `on_leave`, `suspended`,
    /// `terminated`), matched ignoring case and surrounding spaces before the built-in
    /// English words. A value matching neither leaves the person's status as it was and is
    /// listed in the plan with its lines, so one unknown word never rejects a row.
    pub status_values: BTreeMap<String, String>,
    /// Department codes → department names, for exports that carry codes. When set, a
    /// department that is neither a code nor one of the names is listed in the plan and
    /// leaves the person's department as it was.
    pub department_values: BTreeMap<String, String>,
    /// `auto` (`,`, `;` or TAB, whichever the header line has most of) or one character.
    pub delimiter: String,
    /// `auto` (UTF-8 with or without a byte-order mark, UTF-16 with one, else
    /// Windows-1252), `utf-8`, `windows-1252` or `latin-1`.
    pub encoding: String,
    /// Rows between the header and the data to skip: SAP SuccessFactors' user data file
    /// has a second header row of labels (set 1).
    pub skip_rows: usize,
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
            date_formats: BTreeMap::new(),
            status_values: BTreeMap::new(),
            department_values: BTreeMap::new(),
            delimiter: s("auto"),
            encoding: s("auto"),
            skip_rows: 0,
        }
    }
}

/// The fields a column can feed, in the order the plan lists them.
const FIELDS: [&str; 16] = [
    "employee_number",
    "name",
    "given_name",
    "family_name",
    "email",
    "username",
    "upn",
    "department",
    "manager",
    "title",
    "site",
    "status",
    "hired",
    "terminated",
    "badge",
    "criticality",
];

/// Fields whose values are dates.
const DATE_FIELDS: [&str; 2] = ["hired", "terminated"];

impl HrColumns {
    /// The column configured for `field` (one of [`FIELDS`]).
    fn column(&self, field: &str) -> &str {
        match field {
            "employee_number" => &self.employee_number,
            "name" => &self.name,
            "given_name" => &self.given_name,
            "family_name" => &self.family_name,
            "email" => &self.email,
            "username" => &self.username,
            "upn" => &self.upn,
            "department" => &self.department,
            "manager" => &self.manager,
            "title" => &self.title,
            "site" => &self.site,
            "status" => &self.status,
            "hired" => &self.hired,
            "terminated" => &self.terminated,
            "badge" => &self.badge,
            "criticality" => &self.criticality,
            _ => "",
        }
    }

    /// The date format of `field`: its own, else `date_format`.
    fn date_format_of(&self, field: &str) -> &str {
        self.date_formats
            .get(field)
            .map_or(&self.date_format, |f| f)
    }

    /// Checks what a configuration can get wrong before any file is read, so a typo in
    /// `tandem.toml` stops the server at start rather than failing every import.
    pub fn check(&self) -> Result<(), String> {
        for (value, status) in &self.status_values {
            if Status::parse_loose(status).is_none() {
                return Err(format!(
                    "status_values: `{value}` maps to `{status}`, which is not one of active, on_leave, suspended, terminated"
                ));
            }
        }
        if let Some(field) = self
            .date_formats
            .keys()
            .find(|k| !DATE_FIELDS.contains(&k.as_str()))
        {
            return Err(format!(
                "date_formats: `{field}` is not a date column (hired, terminated)"
            ));
        }
        delimiter(&self.delimiter, "")?;
        if !self.encoding.eq_ignore_ascii_case("auto") {
            encoding(&self.encoding)?;
        }
        Ok(())
    }

    /// What `value` in the status column means: the configured words first, then the
    /// built-in ones. `None` when neither knows it.
    fn map_status(&self, value: &str) -> Option<Status> {
        let wanted = value.trim();
        self.status_values
            .iter()
            .find(|(k, _)| k.trim().to_lowercase() == wanted.to_lowercase())
            .and_then(|(_, v)| Status::parse_loose(v))
            .or_else(|| Status::parse_loose(wanted))
    }

    /// The department `value` names: a configured code's name, or the value itself when it
    /// is one of the names or no codes are configured. `None` when codes are configured and
    /// it is neither.
    fn map_department(&self, value: &str) -> Option<String> {
        if self.department_values.is_empty() {
            return Some(value.to_owned());
        }
        let wanted = value.trim().to_lowercase();
        self.department_values
            .iter()
            .find(|(k, _)| k.trim().to_lowercase() == wanted)
            .map(|(_, v)| v.clone())
            .or_else(|| {
                self.department_values
                    .values()
                    .find(|v| v.trim().to_lowercase() == wanted)
                    .cloned()
            })
    }
}

/// The delimiter byte for the setting `name`; `auto` looks at `header_line`.
fn delimiter(name: &str, header_line: &str) -> Result<u8, String> {
    if name.eq_ignore_ascii_case("auto") {
        let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
        let mut quoted = false;
        for c in header_line.chars() {
            if c == '"' {
                quoted = !quoted;
            } else if !quoted && let Some(n) = counts.iter_mut().find(|(d, _)| char::from(*d) == c)
            {
                n.1 += 1;
            }
        }
        // The first of the most frequent; a header of one column is comma-separated.
        let best = counts.iter().fold(
            (b',', 0),
            |best, &(d, n)| if n > best.1 { (d, n) } else { best },
        );
        return Ok(best.0);
    }
    if name.eq_ignore_ascii_case("tab") {
        return Ok(b'\t');
    }
    let mut chars = name.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii() && c != '"' && c != '\n' && c != '\r' => Ok(c as u8),
        _ => Err(format!(
            "delimiter `{name}` is not `auto`, `tab` or one ASCII character"
        )),
    }
}

/// The encoding named by a setting other than `auto`.
fn encoding(name: &str) -> Result<&'static encoding_rs::Encoding, String> {
    let label = name.trim().to_ascii_lowercase();
    match label.as_str() {
        // WHATWG's labels say `latin1`; people write `latin-1`. Both decode as
        // Windows-1252, as browsers do, which differs from ISO 8859-1 only in the C1
        // control range HR exports do not use.
        "latin-1" | "latin1" | "iso-8859-1" => Ok(encoding_rs::WINDOWS_1252),
        _ => encoding_rs::Encoding::for_label(label.as_bytes()).ok_or_else(|| {
            format!("encoding `{name}` is not auto, utf-8, windows-1252 or latin-1")
        }),
    }
}

/// The file as text, and the name of the encoding it was read in.
fn decode(bytes: &[u8], setting: &str) -> Result<(String, String), crate::IdentityError> {
    let invalid = crate::IdentityError::Invalid;
    if setting.eq_ignore_ascii_case("auto") {
        if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
            let (text, _) = enc.decode_without_bom_handling(&bytes[bom..]);
            return Ok((
                text.into_owned(),
                format!("{} with byte-order mark", enc.name().to_lowercase()),
            ));
        }
        return Ok(match std::str::from_utf8(bytes) {
            Ok(text) => (text.to_owned(), "utf-8".to_owned()),
            Err(_) => {
                let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
                (text.into_owned(), "windows-1252".to_owned())
            }
        });
    }
    let enc = encoding(setting).map_err(invalid)?;
    let body = match encoding_rs::Encoding::for_bom(bytes) {
        Some((bom_enc, bom)) if bom_enc == enc => &bytes[bom..],
        _ => bytes,
    };
    match enc.decode_without_bom_handling_and_without_replacement(body) {
        Some(text) => Ok((text.into_owned(), enc.name().to_lowercase())),
        None => {
            let valid = std::str::from_utf8(body).map_or_else(|e| e.valid_up_to(), |_| 0);
            let line = 1 + body[..valid].iter().filter(|b| **b == b'\n').count();
            Err(invalid(format!(
                "HR file is not {} (line {line}); set identity.hr.encoding to the export's encoding (windows-1252, latin-1) or auto",
                enc.name()
            )))
        }
    }
}

/// Which header fed a field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnMatch {
    pub field: String,
    pub header: String,
    /// The header differs from the configured name in case only (`Email` for `email`).
    pub ignoring_case: bool,
}

/// A configured column the file does not have.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissingColumn {
    pub field: String,
    pub column: String,
}

/// A value no mapping knows, and the lines it occurs on. The field it would have set is left
/// as it was on those rows; everything else on them is applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unmapped {
    pub field: String,
    pub value: String,
    pub lines: Vec<u64>,
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
    /// The encoding the file was read in (`utf-8`, `windows-1252`, …).
    pub encoding: String,
    /// The delimiter used (`,`, `;`, `tab`, …).
    pub delimiter: String,
    /// Which header fed which field.
    pub columns: Vec<ColumnMatch>,
    /// Configured columns the file does not have.
    pub missing_columns: Vec<MissingColumn>,
    /// Headers no field uses.
    pub unused_headers: Vec<String>,
    /// Status and department values no mapping knows, with their lines.
    pub unmapped: Vec<Unmapped>,
    #[serde(skip)]
    pub changes: Vec<DirectoryChange>,
}

impl Plan {
    /// The plan's description of the file for people: encoding, delimiter, which header fed
    /// which field, what is missing and what no mapping knows.
    pub fn describe_file(&self) -> Vec<String> {
        let mut out = vec![format!(
            "read as {}, separated by `{}`",
            self.encoding, self.delimiter
        )];
        for c in &self.columns {
            out.push(format!(
                "{} ← \"{}\"{}",
                c.field,
                c.header,
                if c.ignoring_case {
                    " (matched ignoring case)"
                } else {
                    ""
                }
            ));
        }
        for m in &self.missing_columns {
            out.push(format!(
                "{}: no column \"{}\" in the file",
                m.field, m.column
            ));
        }
        if !self.unused_headers.is_empty() {
            out.push(format!(
                "not used: {}",
                self.unused_headers
                    .iter()
                    .map(|h| format!("\"{h}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for u in &self.unmapped {
            out.push(format!(
                "unmapped {} `{}` on line{} {}: {} left as it was",
                u.field,
                u.value,
                if u.lines.len() == 1 { "" } else { "s" },
                u.lines
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                u.field
            ));
        }
        out
    }
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
    let invalid = crate::IdentityError::Invalid;
    columns
        .check()
        .map_err(|e| invalid(format!("identity.hr: {e}")))?;
    let (text, encoding_name) = decode(csv, &columns.encoding)?;
    // The CSV reader counts a CRLF record's line from its `\r`, one short; with plain line
    // ends the line numbers the plan gives are the ones an editor shows.
    let text = if text.contains("\r\n") {
        text.replace("\r\n", "\n")
    } else {
        text
    };
    let header_line = text.lines().next().unwrap_or("");
    let delim = delimiter(&columns.delimiter, header_line).map_err(invalid)?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(delim)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| invalid(format!("HR file header: {e}")))?
        .clone();
    let mut plan = Plan {
        encoding: encoding_name,
        delimiter: match delim {
            b'\t' => "tab".to_owned(),
            d => char::from(d).to_string(),
        },
        ..Plan::default()
    };
    // Which header each configured column name reads: the one spelled exactly so, else one
    // differing in case only, which the plan marks.
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut used = vec![false; headers.len()];
    for field in FIELDS {
        let name = columns.column(field);
        if name.is_empty() {
            continue;
        }
        let exact = headers.iter().position(|h| h == name.trim());
        let loose = || {
            let wanted = name.trim().to_lowercase();
            headers.iter().position(|h| h.to_lowercase() == wanted)
        };
        match exact
            .map(|i| (i, false))
            .or_else(|| loose().map(|i| (i, true)))
        {
            Some((i, ignoring_case)) => {
                index.insert(name, i);
                used[i] = true;
                plan.columns.push(ColumnMatch {
                    field: field.to_owned(),
                    header: headers[i].to_owned(),
                    ignoring_case,
                });
            }
            None => plan.missing_columns.push(MissingColumn {
                field: field.to_owned(),
                column: name.to_owned(),
            }),
        }
    }
    plan.unused_headers = headers
        .iter()
        .zip(&used)
        .filter(|(h, used)| !**used && !h.is_empty())
        .map(|(h, _)| h.to_owned())
        .collect();
    let col = |name: &str| -> Option<usize> {
        (!name.is_empty())
            .then(|| index.get(name).copied())
            .flatten()
    };
    let id_col = col(&columns.employee_number).ok_or_else(|| {
        invalid(format!(
            "HR file has no `{}` column (the employee number; set identity.hr.employee_number to the column's name). Columns: {}",
            columns.employee_number,
            headers.iter().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let mut unmapped: BTreeMap<(&str, String), Vec<u64>> = BTreeMap::new();
    for (i, row) in reader.records().enumerate().skip(columns.skip_rows) {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                plan.errors.push(format!("line {}: {e}", i + 2));
                continue;
            }
        };
        let line = row.position().map_or(i as u64 + 2, csv::Position::line);
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
        let status = get(&columns.status).and_then(|s| {
            let mapped = columns.map_status(&s);
            if mapped.is_none() {
                unmapped.entry(("status", s)).or_default().push(line);
            }
            mapped
        });
        let department = get(&columns.department).and_then(|d| {
            let mapped = columns.map_department(&d);
            if mapped.is_none() {
                unmapped.entry(("department", d)).or_default().push(line);
            }
            mapped
        });
        let cells = Cells {
            get: &get,
            status,
            department,
        };
        match plan_row(dir, number, &cells, columns, now) {
            Ok(row_plan) => row_plan.into_plan(&mut plan, origin, now)?,
            Err(e) => plan.errors.push(format!("line {line}: {e}")),
        }
    }
    plan.unmapped = unmapped
        .into_iter()
        .map(|((field, value), lines)| Unmapped {
            field: field.to_owned(),
            value,
            lines,
        })
        .collect();
    Ok(plan)
}

/// One row's cells, with the status and department already mapped.
struct Cells<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
    status: Option<Status>,
    department: Option<String>,
}

struct RowPlan {
    id: String,
    label: String,
    /// `(effective, state, description)` to append, in effective order.
    versions: Vec<(Timestamp, Person, String)>,
    kind: RowKind,
    /// Whether the row terminates the person (first termination, or an earlier date).
    terminates: bool,
}

enum RowKind {
    New,
    Updated,
    Unchanged,
}

impl RowPlan {
    fn into_plan(
        self,
        plan: &mut Plan,
        origin: &str,
        now: Timestamp,
    ) -> Result<(), crate::IdentityError> {
        match self.kind {
            RowKind::New => plan.new_people += 1,
            RowKind::Updated => plan.updated_people += 1,
            RowKind::Unchanged => plan.unchanged += 1,
        }
        plan.terminations += usize::from(self.terminates);
        for (effective, state, what) in self.versions {
            plan.summary.push(format!("{}: {what}", self.label));
            let mut c = crate::encode(PERSON, &self.id, effective, origin, &state)?;
            c.recorded = now;
            plan.changes.push(c);
        }
        Ok(())
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

/// Whether a version was written by an HR import (`hr:<file>`), as opposed to SCIM or
/// another feed.
fn from_hr(origin: &str) -> bool {
    origin == "hr" || origin.starts_with("hr:")
}

fn plan_row(
    dir: &Directory,
    number: &str,
    cells: &Cells,
    c: &HrColumns,
    now: Timestamp,
) -> Result<RowPlan, String> {
    let get = cells.get;
    let known = dir.index.employee_numbers.get(number);
    let id = known.cloned().unwrap_or_else(|| number.to_owned());
    // What the directory holds for the person: the version in force at each effective time
    // (the last recorded one where several share a time), oldest first.
    let mut timeline: Vec<(Timestamp, &Person, &str)> = Vec::new();
    for v in known
        .and_then(|id| dir.person_history(id))
        .map_or(&[][..], |h| h.versions())
    {
        if timeline.last().is_some_and(|(t, _, _)| *t == v.effective) {
            timeline.pop();
        }
        if let Some(p) = &v.state {
            timeline.push((v.effective, p, &v.origin));
        }
    }
    // Changes take effect now, or on the first day of someone who has not started yet.
    let at = timeline
        .first()
        .map_or(now, |(first, _, _)| now.max(*first));
    let existing: Option<&Person> = timeline
        .iter()
        .rev()
        .find(|(t, _, _)| *t <= at)
        .map(|(_, p, _)| *p);
    let given = get(&c.given_name);
    let family = get(&c.family_name);
    let name = get(&c.name)
        .or_else(|| match (&given, &family) {
            (Some(g), Some(f)) => Some(format!("{g} {f}")),
            _ => None,
        })
        .ok_or_else(|| format!("employee {number} has no name"))?;
    let hired_at = get(&c.hired)
        .map(|v| parse_time(&v, c.date_format_of("hired")))
        .transpose()
        .map_err(|e| format!("hired: {e}"))?;
    let row_termination = get(&c.terminated)
        .map(|v| parse_time(&v, c.date_format_of("terminated")))
        .transpose()
        .map_err(|e| format!("terminated: {e}"))?;
    let row_status = cells.status;
    let manager = get(&c.manager).map(|m| dir.index.employee_numbers.get(&m).cloned().unwrap_or(m));
    // Start from what the directory holds so attributes another feed maintains (SCIM ids,
    // faces, extra accounts and badges) survive an HR import.
    let mut base = existing.cloned().unwrap_or_default();
    base.id = id.clone();
    base.employee_number = Some(number.to_owned());
    base.name = name.clone();
    base.given_name = given.or(base.given_name);
    base.family_name = family.or(base.family_name);
    base.email = get(&c.email).or(base.email);
    base.department = cells.department.clone().or(base.department);
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
    let says_terminated = row_status == Some(Status::Terminated);
    // The state the row describes, before any termination: its status column (other than
    // `terminated`, which is a termination below), else the status the person has.
    let mut working = base;
    working.status = match row_status {
        Some(s) if s != Status::Terminated => s,
        _ => existing.map_or(Status::Active, |p| p.status),
    };
    if working.status != Status::Terminated {
        working.terminated_at = None;
    }

    // Versions to append, one per effective time.
    let mut planned: BTreeMap<Timestamp, (Person, String)> = BTreeMap::new();
    let kind;
    // The employment the row is about starts here: the person's first version, or where
    // another feed re-activated them after a termination (a SCIM re-provisioning, a rehire).
    // HR never re-activates anyone, so a terminated version followed by an active one that HR
    // wrote is not a rehire but damage to repair.
    let mut employed_from;
    let mut rehired = false;
    let prior_termination;
    match existing {
        None => {
            kind = RowKind::New;
            let from = match (hired_at, row_termination) {
                (Some(h), Some(t)) if h >= t => t,
                (Some(h), _) => h,
                (None, Some(t)) => t.min(now),
                (None, None) => now,
            };
            let what = format!(
                "new person, {}",
                working.department.as_deref().unwrap_or("no department")
            );
            planned.insert(from, (working.clone(), what));
            employed_from = from;
            prior_termination = None;
        }
        Some(_) => {
            employed_from = timeline[0].0;
            for pair in timeline.windows(2) {
                let (before, after) = (&pair[0], &pair[1]);
                if before.1.status == Status::Terminated
                    && after.1.status != Status::Terminated
                    && !from_hr(after.2)
                {
                    employed_from = after.0;
                    rehired = true;
                }
            }
            prior_termination = timeline
                .iter()
                .filter(|(t, _, _)| *t >= employed_from)
                .find(|(_, p, _)| p.status == Status::Terminated)
                .map(|(t, p, _)| p.terminated_at.unwrap_or(*t));
            kind = RowKind::Unchanged;
            // Described once the termination below has had its say.
            planned.insert(at, (working.clone(), String::new()));
            // Versions already recorded for later (a termination HR gave in advance) carry
            // the row's details too, keeping their own status.
            for (t, p, _) in timeline.iter().filter(|(t, _, _)| *t > at) {
                let mut restated = working.clone();
                restated.status = p.status;
                restated.terminated_at = p.terminated_at;
                if restated != **p {
                    let what = format!(
                        "{} (restating the version from {})",
                        describe(p, &restated),
                        t.format("%Y-%m-%d %H:%M UTC")
                    );
                    planned.insert(*t, (restated, what));
                }
            }
        }
    }

    // The termination: the earliest date HR has given for this employment. A `terminated`
    // status without a date confirms a termination already recorded, or terminates a new
    // person from their first day and anyone else from now. A date before a re-activation by
    // another feed belongs to the earlier employment.
    let row_termination = row_termination
        .or_else(|| {
            says_terminated.then_some(match existing {
                None => employed_from,
                Some(_) => prior_termination.unwrap_or(now),
            })
        })
        .filter(|t| !rehired || *t >= employed_from);
    let termination = match (prior_termination, row_termination) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let terminates = row_termination.is_some_and(|t| prior_termination.is_none_or(|p| t < p));
    if let Some(date) = termination {
        // Never before the person is known: a date before their first version terminates
        // them from that version on.
        let from = date.max(employed_from);
        let when = date.format("%Y-%m-%d %H:%M UTC");
        let terminate = |p: &mut Person| {
            p.status = Status::Terminated;
            p.terminated_at = Some(date);
        };
        let is_terminated =
            |p: &Person| p.status == Status::Terminated && p.terminated_at == Some(date);
        // Whatever this row changes from the termination on is changed for a terminated
        // person: the termination wins over the row's other columns.
        for (_, (p, _)) in planned.range_mut(from..) {
            terminate(p);
        }
        // What is already recorded from the termination on, active or with another date, is
        // restated as terminated at the same effective time (a later record wins a tie).
        for (t, p, _) in timeline.iter().filter(|(t, _, _)| *t >= from) {
            if !planned.contains_key(t) && !is_terminated(p) {
                let mut restated = (*p).clone();
                terminate(&mut restated);
                let what = if *t == from {
                    format!("terminated {when}")
                } else {
                    format!(
                        "terminated {when} (restating the version from {})",
                        t.format("%Y-%m-%d %H:%M UTC")
                    )
                };
                planned.insert(*t, (restated, what));
            }
        }
        // And a version at the termination itself, with the details in force then.
        let recorded_at_from = timeline.iter().any(|(t, _, _)| *t == from);
        if !planned.contains_key(&from) && !recorded_at_from {
            // The later of the last recorded and the last planned version before it; on a
            // tie the planned one, which is recorded after (`max_by_key` keeps the last).
            let in_force = timeline
                .iter()
                .rev()
                .find(|(t, _, _)| *t < from)
                .map(|(t, p, _)| (*t, *p))
                .into_iter()
                .chain(planned.range(..from).next_back().map(|(t, (p, _))| (*t, p)))
                .max_by_key(|(t, _)| *t)
                .map(|(_, p)| p.clone());
            if let Some(mut gone) = in_force {
                terminate(&mut gone);
                planned.insert(from, (gone, format!("terminated {when}")));
            }
        }
    }
    // Only differences: a planned version that says what is already in force at its time
    // (recorded, or planned before it) goes.
    let mut versions: Vec<(Timestamp, Person, String)> = Vec::new();
    for (t, (p, what)) in planned {
        let recorded = timeline
            .iter()
            .rev()
            .find(|(x, _, _)| *x <= t)
            .map(|(x, q, _)| (*x, *q));
        let kept = versions.last().map(|(x, q, _)| (*x, q));
        let in_force = match (recorded, kept) {
            (Some(r), Some(k)) => Some(if k.0 >= r.0 { k.1 } else { r.1 }),
            (r, k) => r.or(k).map(|(_, q)| q),
        };
        if in_force != Some(&p) {
            versions.push((t, p, what));
        }
    }
    if let Some(current) = existing
        && let Some(v) = versions.iter_mut().find(|(t, _, _)| *t == at)
        && v.2.is_empty()
    {
        v.2 = describe(current, &v.1);
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
        terminates,
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
    if old.status != new.status {
        parts.push(format!(
            "status {} → {}",
            old.status.name(),
            new.status.name()
        ));
    }
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
