//! HR imports over time, checked against a reference model of "what was true at time t".
//!
//! The model is the rule the import documents, written as simply as possible:
//! - a person exists from their first version (hire date, or the termination date if that
//!   comes first, or the day of the import);
//! - department, manager and badges a row gives are true from the import on (from the first
//!   day of someone who has not started yet); an empty column keeps what was there;
//! - a status column other than `terminated` is true from the import on;
//! - the earliest termination date HR has given terminates the person from that date on (never
//!   before they exist), whatever else the same or a later row says: HR never re-hires.

use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;
use std::collections::BTreeSet;
use tandem_identity::{Directory, Status, Timestamp, hr};
use tandem_model::{Activity, Class, Event};

const PEOPLE: usize = 3;
const DEPARTMENTS: [&str; 3] = ["Sales", "Finance", "IT"];
const STATUSES: [&str; 4] = ["active", "on_leave", "suspended", "terminated"];

fn epoch() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn day(offset: i64) -> Timestamp {
    epoch() + Duration::days(offset)
}

fn person_id(i: usize) -> String {
    format!("E{i}")
}

fn badge_number(person: usize, k: usize) -> String {
    format!("7{person}{k}")
}

/// One HR row: `None` is an empty cell.
#[derive(Debug, Clone)]
struct Row {
    department: Option<&'static str>,
    manager: Option<usize>,
    status: Option<&'static str>,
    /// Days from the epoch.
    hired: Option<i64>,
    terminated: Option<i64>,
    badge: Option<usize>,
}

#[derive(Debug, Clone)]
struct Import {
    /// Hours since the previous import.
    after_hours: i64,
    /// At most one row per person.
    rows: Vec<Option<Row>>,
}

fn row() -> impl Strategy<Value = Row> {
    (
        prop::option::of(prop::sample::select(&DEPARTMENTS[..])),
        prop::option::of(0..PEOPLE),
        prop::option::weighted(0.3, prop::sample::select(&STATUSES[..])),
        prop::option::of(-120i64..200),
        prop::option::weighted(0.35, -120i64..400),
        prop::option::of(0..3usize),
    )
        .prop_map(
            |(department, manager, status, hired, terminated, badge)| Row {
                department,
                manager,
                status,
                hired,
                terminated,
                badge,
            },
        )
}

fn imports() -> impl Strategy<Value = Vec<Import>> {
    prop::collection::vec(
        (
            1i64..3_000,
            prop::collection::vec(prop::option::of(row()), PEOPLE),
        )
            .prop_map(|(after_hours, rows)| Import { after_hours, rows }),
        1..7,
    )
}

fn csv(import: &Import) -> String {
    let mut out =
        String::from("employee_number,name,department,manager,status,hired,terminated,badge\n");
    let date = |d: Option<i64>| d.map_or(String::new(), |d| day(d).format("%Y-%m-%d").to_string());
    for (i, r) in import.rows.iter().enumerate() {
        let Some(r) = r else { continue };
        out.push_str(&format!(
            "{},Person {i},{},{},{},{},{},{}\n",
            person_id(i),
            r.department.unwrap_or(""),
            r.manager.map(person_id).unwrap_or_default(),
            r.status.unwrap_or(""),
            date(r.hired),
            date(r.terminated),
            r.badge.map(|k| badge_number(i, k)).unwrap_or_default(),
        ));
    }
    out
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Attrs {
    department: Option<String>,
    manager: Option<String>,
    badges: BTreeSet<String>,
}

/// What the model knows of one person.
#[derive(Debug, Default)]
struct Model {
    first: Option<Timestamp>,
    attrs: Vec<(Timestamp, Attrs)>,
    statuses: Vec<(Timestamp, Status)>,
    termination: Option<Timestamp>,
}

/// The model's answer at `t`: status, terminated_at and details.
#[derive(Debug, PartialEq)]
struct Truth {
    status: Status,
    terminated_at: Option<Timestamp>,
    attrs: Attrs,
}

impl Model {
    fn apply(&mut self, person: usize, r: &Row, now: Timestamp) {
        let status = r.status.map(|s| Status::parse_loose(s).unwrap());
        let hired = r.hired.map(day);
        let row_termination = r.terminated.map(day);
        let merged = |before: &Attrs| {
            let mut a = before.clone();
            if let Some(d) = r.department {
                a.department = Some(d.to_owned());
            }
            if let Some(m) = r.manager {
                a.manager = Some(person_id(m));
            }
            if let Some(k) = r.badge {
                a.badges.insert(badge_number(person, k));
            }
            a
        };
        let says_terminated = status == Some(Status::Terminated);
        let live_status = status.filter(|s| *s != Status::Terminated);
        let candidate = match self.first {
            None => {
                let from = match (hired, row_termination) {
                    (Some(h), Some(t)) if h >= t => t,
                    (Some(h), _) => h,
                    (None, Some(t)) => t.min(now),
                    (None, None) => now,
                };
                self.first = Some(from);
                self.attrs.push((from, merged(&Attrs::default())));
                self.statuses
                    .push((from, live_status.unwrap_or(Status::Active)));
                row_termination.or(says_terminated.then_some(from))
            }
            Some(first) => {
                let at = now.max(first);
                let before = self.attrs.last().unwrap().1.clone();
                self.attrs.push((at, merged(&before)));
                if let Some(s) = live_status {
                    self.statuses.push((at, s));
                }
                row_termination.or(says_terminated.then_some(self.termination.unwrap_or(now)))
            }
        };
        self.termination = match (self.termination, candidate) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    fn at(&self, t: Timestamp) -> Option<Truth> {
        let first = self.first?;
        if t < first {
            return None;
        }
        let attrs = in_force(&self.attrs, t).clone();
        let status = *in_force(&self.statuses, t);
        Some(match self.termination {
            Some(date) if t >= date.max(first) => Truth {
                status: Status::Terminated,
                terminated_at: Some(date),
                attrs,
            },
            _ => Truth {
                status,
                terminated_at: None,
                attrs,
            },
        })
    }
}

/// The last of `(from, value)` whose `from` is not after `t`.
fn in_force<T>(values: &[(Timestamp, T)], t: Timestamp) -> &T {
    &values.iter().rfind(|(from, _)| *from <= t).unwrap().1
}

fn apply(dir: &mut Directory, mut changes: Vec<tandem_store::DirectoryChange>) {
    let mut seq = dir.last_seq();
    for c in &mut changes {
        seq += 1;
        c.seq = seq;
    }
    dir.apply(&changes).unwrap();
}

fn directory_truth(dir: &Directory, id: &str, t: Timestamp) -> Option<Truth> {
    let p = dir.person_at(id, t)?;
    Some(Truth {
        status: p.status,
        terminated_at: p.terminated_at,
        attrs: Attrs {
            department: p.department.clone(),
            manager: p.manager.clone(),
            badges: p.badges.iter().map(|b| b.number.clone()).collect(),
        },
    })
}

/// Runs `imports` through the real planner and checks the directory against the model at
/// every time that matters (each boundary, a second either side) and between them.
fn check(imports: &[Import]) -> Result<(), TestCaseError> {
    let columns = hr::HrColumns::default();
    let mut dir = Directory::default();
    let mut models: Vec<Model> = (0..PEOPLE).map(|_| Model::default()).collect();
    let mut now = epoch();
    let mut times: BTreeSet<Timestamp> = BTreeSet::new();
    for import in imports {
        now += Duration::hours(import.after_hours);
        let file = csv(import);
        let plan = hr::plan(&dir, file.as_bytes(), &columns, "hr:test.csv", now).unwrap();
        prop_assert!(plan.errors.is_empty(), "{:?}", plan.errors);
        apply(&mut dir, plan.changes);
        for (i, r) in import.rows.iter().enumerate() {
            if let Some(r) = r {
                models[i].apply(i, r, now);
                times.extend(r.hired.map(day));
                times.extend(r.terminated.map(day));
            }
        }
        times.insert(now);
        // The same file again changes nothing.
        let again = hr::plan(&dir, file.as_bytes(), &columns, "hr:test.csv", now).unwrap();
        prop_assert!(
            again.changes.is_empty(),
            "re-import at {now} planned {:?}\nfile:\n{file}",
            again.summary
        );
    }
    let mut probes: BTreeSet<Timestamp> = BTreeSet::new();
    let sorted: Vec<Timestamp> = times.iter().copied().collect();
    for w in sorted.windows(2) {
        probes.insert(w[0] + (w[1] - w[0]) / 2);
    }
    for t in times {
        probes.extend([t - Duration::seconds(1), t, t + Duration::seconds(1)]);
    }
    probes.insert(now + Duration::days(1_000));
    for (i, model) in models.iter().enumerate() {
        let id = person_id(i);
        for &t in &probes {
            let expected = model.at(t);
            let actual = directory_truth(&dir, &id, t);
            prop_assert_eq!(
                &actual,
                &expected,
                "{} at {}; history: {:#?}",
                id,
                t,
                dir.person_history(&id).map(|h| h
                    .versions()
                    .iter()
                    .map(|v| (
                        v.effective,
                        v.seq,
                        v.state
                            .as_ref()
                            .map(|p| (p.status, p.terminated_at, p.department.clone()))
                    ))
                    .collect::<Vec<_>>())
            );
            // A badge event at `t` resolves to the person as they were then, which is what
            // the terminated-access detection reads.
            if let Some(truth) = &expected
                && let Some(badge) = truth.attrs.badges.iter().next()
            {
                let mut e = Event::new("badges", Class::PhysicalAccess, Activity::Granted, t);
                e.actor.badge = Some(badge.clone());
                dir.resolve(&mut e);
                let who = e.actor.person.expect("a known badge resolves");
                prop_assert_eq!(who.id.as_str(), id.as_str());
                prop_assert_eq!(who.status.as_deref(), Some(truth.status.name()));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn the_directory_answers_what_was_true_at_any_time(imports in imports()) {
        check(&imports)?;
    }
}

fn row_of(department: &str, terminated: Option<i64>) -> Row {
    Row {
        department: Some(
            DEPARTMENTS
                .iter()
                .copied()
                .find(|d| *d == department)
                .unwrap(),
        ),
        manager: None,
        status: None,
        hired: Some(-100),
        terminated,
        badge: Some(0),
    }
}

fn import(after_hours: i64, row: Row) -> Import {
    Import {
        after_hours,
        rows: vec![Some(row), None, None],
    }
}

/// The case that was lost: one row terminates the person in the past and moves them to
/// another department. They stayed active from the import on.
#[test]
fn a_retroactive_termination_in_a_row_that_changes_more_wins() {
    let imports = [
        import(24, row_of("Sales", None)),
        // Forty days later HR files the leaver, terminated ten days ago, with a new department.
        import(40 * 24, row_of("Finance", Some(30))),
    ];
    check(&imports).unwrap();

    let mut dir = Directory::default();
    let columns = hr::HrColumns::default();
    let mut now = epoch();
    for i in &imports {
        now += Duration::hours(i.after_hours);
        let plan = hr::plan(&dir, csv(i).as_bytes(), &columns, "hr:test.csv", now).unwrap();
        apply(&mut dir, plan.changes);
    }
    for t in [day(30), day(35), now, now + Duration::days(365)] {
        let p = dir.person_at("E0", t).unwrap();
        assert_eq!(p.status, Status::Terminated, "at {t}");
        assert_eq!(p.terminated_at, Some(day(30)));
    }
    assert_eq!(dir.person_at("E0", day(29)).unwrap().status, Status::Active);
}

/// A store written by an earlier release holds the lost termination as "terminated on the
/// date, active again from the import"; the next import of the same file repairs it.
#[test]
fn an_active_version_hr_wrote_after_a_termination_is_repaired() {
    use tandem_identity::Person;
    use tandem_store::DirectoryChange;
    let person = |status: Status, department: &str, terminated_at: Option<Timestamp>| Person {
        id: "E0".into(),
        employee_number: Some("E0".into()),
        name: "Person 0".into(),
        department: Some(department.into()),
        status,
        terminated_at,
        ..Person::default()
    };
    let mut dir = Directory::default();
    apply(
        &mut dir,
        vec![
            DirectoryChange::state(
                "person",
                "E0",
                day(-100),
                "hr:old.csv",
                &person(Status::Active, "Sales", None),
            )
            .unwrap(),
            DirectoryChange::state(
                "person",
                "E0",
                day(30),
                "hr:old.csv",
                &person(Status::Terminated, "Finance", Some(day(30))),
            )
            .unwrap(),
            DirectoryChange::state(
                "person",
                "E0",
                day(40),
                "hr:old.csv",
                &person(Status::Active, "Finance", None),
            )
            .unwrap(),
        ],
    );
    assert_eq!(dir.person_at("E0", day(41)).unwrap().status, Status::Active);
    let file = "employee_number,name,department,terminated\nE0,Person 0,Finance,2026-01-31\n";
    let plan = hr::plan(
        &dir,
        file.as_bytes(),
        &hr::HrColumns::default(),
        "hr:old.csv",
        day(50),
    )
    .unwrap();
    assert_eq!(
        plan.summary,
        [
            "E0 Person 0: terminated 2026-01-31 00:00 UTC (restating the version from 2026-02-10 00:00 UTC)"
        ]
    );
    apply(&mut dir, plan.changes);
    assert_eq!(
        dir.person_at("E0", day(41)).unwrap().status,
        Status::Terminated
    );
}

/// Another feed's re-activation after a termination (SCIM re-provisioning a returning
/// employee) starts a new employment: an HR file still carrying the old termination date does
/// not end it again.
#[test]
fn a_rehire_by_another_feed_is_not_undone_by_the_old_termination_date() {
    use tandem_identity::Person;
    use tandem_store::DirectoryChange;
    let person = |status: Status, terminated_at: Option<Timestamp>| Person {
        id: "E0".into(),
        employee_number: Some("E0".into()),
        name: "Person 0".into(),
        department: Some("Sales".into()),
        status,
        terminated_at,
        ..Person::default()
    };
    let mut dir = Directory::default();
    apply(
        &mut dir,
        vec![
            DirectoryChange::state(
                "person",
                "E0",
                day(-100),
                "hr:a.csv",
                &person(Status::Active, None),
            )
            .unwrap(),
            DirectoryChange::state(
                "person",
                "E0",
                day(10),
                "hr:a.csv",
                &person(Status::Terminated, Some(day(10))),
            )
            .unwrap(),
            DirectoryChange::state(
                "person",
                "E0",
                day(60),
                "scim",
                &person(Status::Active, None),
            )
            .unwrap(),
        ],
    );
    let file = "employee_number,name,department,terminated\nE0,Person 0,IT,2026-01-11\n";
    let plan = hr::plan(
        &dir,
        file.as_bytes(),
        &hr::HrColumns::default(),
        "hr:a.csv",
        day(70),
    )
    .unwrap();
    assert_eq!(plan.terminations, 0);
    apply(&mut dir, plan.changes);
    let now = dir.person_at("E0", day(71)).unwrap();
    assert_eq!(
        (now.status, now.department.as_deref()),
        (Status::Active, Some("IT"))
    );
    assert_eq!(
        dir.person_at("E0", day(20)).unwrap().status,
        Status::Terminated
    );
}
