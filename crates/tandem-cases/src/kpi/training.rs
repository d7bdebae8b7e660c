//! Training participation and policy acknowledgement per department.
//!
//! Completions come from the learning platform's CSV export (columns mapped in
//! `[kpis.training.columns]`, like the HR import's `[identity.hr]`) or from the API, and are
//! kept in the store's `training` table ([`tandem_store::TrainingStore`]). Each row names a
//! person by directory id, employee number, e-mail or login; a row naming nobody the
//! directory knows, or with a date that does not read, is listed with its line and skipped,
//! never rejecting the file.
//!
//! **Participation** of a department: of its people employed now (the directory's current
//! department; terminated people left out), the share who completed, within the period,
//! every course in `[kpis.training] courses` (any course when the list is empty).
//! **Acknowledgement**: the same for `policies`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use tandem_identity::{Directory, Person, Status};
use tandem_model::Timestamp;
use tandem_store::{TrainingKind, TrainingRecord};

/// `[kpis.training]`: what counts and how the CSV reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainingConfig {
    /// Courses everyone must complete in the period; empty: any one course counts.
    pub courses: Vec<String>,
    /// Policies everyone must acknowledge in the period; empty: any one counts.
    pub policies: Vec<String>,
    pub columns: TrainingColumns,
}

/// Which CSV column holds each fact (`[kpis.training.columns]`). An empty `kind` column
/// name means the file holds one kind only: `kind_default`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainingColumns {
    /// The person: a directory id, employee number, e-mail or login.
    pub person: String,
    /// `training` (or `course`) or `policy` (or `acknowledgement`).
    pub kind: String,
    /// The kind of every row when there is no `kind` column.
    pub kind_default: TrainingKind,
    /// The course or policy.
    pub item: String,
    /// When it was completed or acknowledged.
    pub completed: String,
    /// chrono format of `completed`; RFC 3339 timestamps are accepted too.
    pub date_format: String,
    /// `auto` (`,`, `;` or TAB, whichever the header line has most of) or one character.
    pub delimiter: String,
}

impl Default for TrainingColumns {
    fn default() -> Self {
        TrainingColumns {
            person: "employee_number".into(),
            kind: "kind".into(),
            kind_default: TrainingKind::Training,
            item: "item".into(),
            completed: "completed".into(),
            date_format: "%Y-%m-%d".into(),
            delimiter: "auto".into(),
        }
    }
}

/// A row left out of an import, with why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    /// 1-based line in the file (the header is line 1); for the API, the record's index + 1.
    pub line: u64,
    pub reason: String,
}

/// What an import will add.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Import {
    pub records: Vec<TrainingRecord>,
    pub skipped: Vec<Skipped>,
}

/// Why a file cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum TrainingError {
    #[error("the file is not UTF-8")]
    NotUtf8,
    #[error("the file has no header line")]
    NoHeader,
    #[error("the header has no `{0}` column (see [kpis.training.columns])")]
    MissingColumn(String),
    #[error("cannot read the CSV: {0}")]
    Csv(String),
}

/// The person a row names: directory id, employee number, e-mail or login (ignoring case).
pub fn find_person<'a>(dir: &'a Directory, who: &str) -> Option<&'a Person> {
    let who = who.trim();
    if who.is_empty() {
        return None;
    }
    dir.person(who)
        .or_else(|| dir.person_by_employee_number(who))
        .or_else(|| {
            dir.people().into_iter().find(|p| {
                p.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(who))
                    || p.accounts.iter().any(|a| a.value.eq_ignore_ascii_case(who))
            })
        })
}

/// A completion time: the configured date format (the start of the day, UTC), or RFC 3339.
fn completed_at(s: &str, format: &str) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let d = NaiveDate::parse_from_str(s, format).ok()?;
    Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?))
}

/// One record as the API or a CSV row gives it, checked against the directory.
pub fn record(
    dir: &Directory,
    columns: &TrainingColumns,
    who: &str,
    kind: Option<&str>,
    item: &str,
    completed: &str,
    origin: &str,
) -> Result<TrainingRecord, String> {
    let person = find_person(dir, who).ok_or_else(|| {
        format!(
            "no person `{}` in the directory",
            who.chars().take(80).collect::<String>()
        )
    })?;
    let kind = match kind.map(str::trim).filter(|k| !k.is_empty()) {
        Some(k) => TrainingKind::parse(k).ok_or_else(|| {
            format!(
                "kind `{}` is neither training nor policy",
                k.chars().take(40).collect::<String>()
            )
        })?,
        None => columns.kind_default,
    };
    let item = item.trim();
    if item.is_empty() || item.chars().count() > 200 {
        return Err("the course or policy is empty or longer than 200 characters".into());
    }
    let completed = completed_at(completed, &columns.date_format).ok_or_else(|| {
        format!(
            "`{}` is not a date in {} or RFC 3339",
            completed.chars().take(40).collect::<String>(),
            columns.date_format
        )
    })?;
    Ok(TrainingRecord {
        person: person.id.clone(),
        kind,
        item: item.to_owned(),
        completed,
        origin: origin.to_owned(),
    })
}

/// Reads a training CSV with the configured columns.
pub fn parse_csv(
    dir: &Directory,
    columns: &TrainingColumns,
    bytes: &[u8],
    origin: &str,
) -> Result<Import, TrainingError> {
    let text = std::str::from_utf8(bytes).map_err(|_| TrainingError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let header = text.lines().next().ok_or(TrainingError::NoHeader)?;
    let delimiter = match columns.delimiter.as_str() {
        "auto" | "" => [b',', b';', b'\t']
            .into_iter()
            .max_by_key(|d| header.bytes().filter(|b| b == d).count())
            .unwrap_or(b','),
        d if d.len() == 1 => d.as_bytes()[0],
        "\\t" | "tab" => b'\t',
        _ => b',',
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let head = reader
        .headers()
        .map_err(|e| TrainingError::Csv(e.to_string()))?
        .clone();
    let col = |name: &str| -> Result<Option<usize>, TrainingError> {
        if name.is_empty() {
            return Ok(None);
        }
        head.iter()
            .position(|h| h.trim() == name)
            .or_else(|| {
                head.iter()
                    .position(|h| h.trim().eq_ignore_ascii_case(name))
            })
            .map(Some)
            .ok_or_else(|| TrainingError::MissingColumn(name.to_owned()))
    };
    let person = col(&columns.person)?.ok_or(TrainingError::MissingColumn("person".into()))?;
    let item = col(&columns.item)?.ok_or(TrainingError::MissingColumn("item".into()))?;
    let completed =
        col(&columns.completed)?.ok_or(TrainingError::MissingColumn("completed".into()))?;
    let kind = col(&columns.kind)?;
    let mut out = Import::default();
    for (i, row) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                out.skipped.push(Skipped {
                    line,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |i: usize| row.get(i).unwrap_or("");
        match record(
            dir,
            columns,
            cell(person),
            kind.map(cell),
            cell(item),
            cell(completed),
            origin,
        ) {
            Ok(r) => out.records.push(r),
            Err(reason) => out.skipped.push(Skipped { line, reason }),
        }
    }
    Ok(out)
}

/// One department's participation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Participation {
    /// The directory's department; empty for people without one (and the overall row).
    pub department: String,
    pub label: String,
    /// People employed now.
    pub people: u64,
    pub trained: u64,
    pub training_share: Option<f64>,
    pub acknowledged: u64,
    pub acknowledged_share: Option<f64>,
    /// People who have not completed the training, for the drill-down (not in the JSON).
    #[serde(skip)]
    pub missing: Vec<String>,
}

/// Participation over a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainingReport {
    /// What counts: the required courses and policies (empty: any one).
    pub courses: Vec<String>,
    pub policies: Vec<String>,
    pub overall: Participation,
    pub departments: Vec<Participation>,
    /// Records in the period.
    pub records: u64,
}

/// Whether `done` (items completed) covers `required` (any one when empty).
fn covers(done: Option<&BTreeSet<&str>>, required: &[String]) -> bool {
    match done {
        None => false,
        Some(d) if required.is_empty() => !d.is_empty(),
        Some(d) => required.iter().all(|r| d.contains(r.as_str())),
    }
}

/// Participation per department from the records of the period.
pub fn participation(
    records: &[TrainingRecord],
    dir: &Directory,
    config: &TrainingConfig,
) -> TrainingReport {
    let mut done: BTreeMap<(&str, TrainingKind), BTreeSet<&str>> = BTreeMap::new();
    for r in records {
        done.entry((r.person.as_str(), r.kind))
            .or_default()
            .insert(r.item.as_str());
    }
    let mut per: BTreeMap<String, Participation> = BTreeMap::new();
    let blank = |department: String, label: String| Participation {
        department,
        label,
        people: 0,
        trained: 0,
        training_share: None,
        acknowledged: 0,
        acknowledged_share: None,
        missing: Vec::new(),
    };
    let mut overall = blank(String::new(), "All departments".into());
    let mut people = dir.people();
    people.sort_by(|a, b| a.id.cmp(&b.id));
    for p in people
        .into_iter()
        .filter(|p| p.status != Status::Terminated)
    {
        let d = p
            .department
            .as_deref()
            .map(str::trim)
            .unwrap_or("")
            .to_owned();
        let label = if d.is_empty() {
            "(no department)".to_owned()
        } else {
            d.clone()
        };
        let row = per.entry(d.clone()).or_insert_with(|| blank(d, label));
        let trained = covers(
            done.get(&(p.id.as_str(), TrainingKind::Training)),
            &config.courses,
        );
        let acked = covers(
            done.get(&(p.id.as_str(), TrainingKind::Policy)),
            &config.policies,
        );
        for r in [&mut *row, &mut overall] {
            r.people += 1;
            r.trained += u64::from(trained);
            r.acknowledged += u64::from(acked);
            if !trained {
                r.missing.push(p.id.clone());
            }
        }
    }
    let shares = |r: &mut Participation| {
        if r.people > 0 {
            r.training_share = Some(r.trained as f64 / r.people as f64);
            r.acknowledged_share = Some(r.acknowledged as f64 / r.people as f64);
        }
    };
    let mut departments: Vec<Participation> = per.into_values().collect();
    departments.iter_mut().for_each(shares);
    shares(&mut overall);
    TrainingReport {
        courses: config.courses.clone(),
        policies: config.policies.clone(),
        overall,
        departments,
        records: records.len() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_identity::{Account, AccountKind};

    fn dir() -> Directory {
        let people = [
            ("E1", "Finance", Status::Active),
            ("E2", "Finance", Status::Active),
            ("E3", "IT", Status::OnLeave),
            ("E4", "IT", Status::Terminated),
        ];
        let changes: Vec<_> = people
            .iter()
            .enumerate()
            .map(|(i, (id, d, status))| {
                let p = Person {
                    id: (*id).into(),
                    employee_number: Some(format!("N{id}")),
                    name: format!("Person {id}"),
                    email: Some(format!("{}@nordlys.example", id.to_lowercase())),
                    department: Some((*d).to_owned()),
                    status: *status,
                    accounts: vec![Account {
                        kind: AccountKind::Unix,
                        value: format!("user{id}"),
                    }],
                    ..Person::default()
                };
                let mut c = tandem_identity::encode("person", id, Utc::now(), "test", &p).unwrap();
                c.seq = i as u64 + 1;
                c
            })
            .collect();
        let mut dir = Directory::default();
        dir.apply(&changes).unwrap();
        dir
    }

    #[test]
    fn a_mapped_csv_names_people_every_way_and_lists_what_it_skips() {
        let columns = TrainingColumns {
            person: "Employee".into(),
            kind: "Type".into(),
            item: "Course".into(),
            completed: "Done".into(),
            date_format: "%d.%m.%Y".into(),
            ..TrainingColumns::default()
        };
        let csv = "Employee;Type;Course;Done\n\
                   NE1;Course;awareness;01.03.2025\n\
                   e2@nordlys.example;policy;acceptable-use;2025-03-02T10:00:00Z\n\
                   userE3;training;awareness;3/4/2025\n\
                   E9;training;awareness;01.03.2025\n\
                   E2;quiz;awareness;01.03.2025\n";
        let import = parse_csv(&dir(), &columns, csv.as_bytes(), "csv:lms.csv").unwrap();
        let got: Vec<(&str, TrainingKind, &str)> = import
            .records
            .iter()
            .map(|r| (r.person.as_str(), r.kind, r.item.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("E1", TrainingKind::Training, "awareness"),
                ("E2", TrainingKind::Policy, "acceptable-use"),
            ]
        );
        assert_eq!(
            import.records[0].completed,
            "2025-03-01T00:00:00Z".parse::<Timestamp>().unwrap()
        );
        let skipped: Vec<(u64, &str)> = import
            .skipped
            .iter()
            .map(|s| (s.line, s.reason.as_str()))
            .collect();
        assert_eq!(
            skipped,
            [
                (4, "`3/4/2025` is not a date in %d.%m.%Y or RFC 3339"),
                (5, "no person `E9` in the directory"),
                (6, "kind `quiz` is neither training nor policy"),
            ]
        );
        let err = parse_csv(&dir(), &TrainingColumns::default(), csv.as_bytes(), "x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the header has no `employee_number` column (see [kpis.training.columns])"
        );
    }

    #[test]
    fn participation_is_the_share_of_people_employed_who_did_all_that_is_required() {
        let t = "2025-03-01T00:00:00Z".parse::<Timestamp>().unwrap();
        let rec = |person: &str, kind, item: &str| TrainingRecord {
            person: person.into(),
            kind,
            item: item.into(),
            completed: t,
            origin: "api:test".into(),
        };
        let records = [
            rec("E1", TrainingKind::Training, "awareness"),
            rec("E1", TrainingKind::Training, "phishing"),
            rec("E2", TrainingKind::Training, "awareness"),
            rec("E2", TrainingKind::Policy, "acceptable-use"),
            rec("E3", TrainingKind::Policy, "acceptable-use"),
            rec("E4", TrainingKind::Training, "awareness"),
        ];
        // Any course counts: Finance 2 of 2 trained, 1 of 2 acknowledged; IT (E4 left) 0 of 1
        // trained, 1 of 1 acknowledged.
        let any = participation(&records, &dir(), &TrainingConfig::default());
        let rows: Vec<(&str, u64, u64, u64)> = any
            .departments
            .iter()
            .map(|d| (d.label.as_str(), d.people, d.trained, d.acknowledged))
            .collect();
        assert_eq!(rows, [("Finance", 2, 2, 1), ("IT", 1, 0, 1)]);
        assert_eq!(any.overall.training_share, Some(2.0 / 3.0));
        assert_eq!(any.departments[1].missing, ["E3"]);
        // Both courses required: only E1.
        let both = TrainingConfig {
            courses: vec!["awareness".into(), "phishing".into()],
            ..TrainingConfig::default()
        };
        let r = participation(&records, &dir(), &both);
        assert_eq!(r.departments[0].trained, 1);
        assert_eq!(r.departments[0].training_share, Some(0.5));
    }
}
