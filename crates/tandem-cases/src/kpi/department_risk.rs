//! Risk per department: the entity risk scores of people ([`crate::risk`]) summed per the
//! department the directory gives them, with the highest score and the people who carry it,
//! for department heads and leadership.
//!
//! A person's score is their risk now (alerts in the risk lookback, diminishing returns,
//! criticality), so the figure is "where risk sits today", not a sum over the period.
//! People without a department count under "(no department)"; people the directory does not
//! know under "(unknown person)".

use std::collections::BTreeMap;

use serde::Serialize;
use tandem_identity::Directory;

use crate::risk::RiskScore;

/// How many people each department lists.
pub const TOP_PEOPLE: usize = 5;

/// One person's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonRisk {
    pub person: String,
    pub name: String,
    pub score: f64,
    /// At or over the threshold that opens an incident.
    pub above_threshold: bool,
}

/// One department's risk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DepartmentRisk {
    /// The directory's department name; empty for people without one.
    pub department: String,
    pub label: String,
    /// People with a score above 0.
    pub people: u64,
    /// Σ score.
    pub sum: f64,
    pub max: f64,
    /// People at or over the threshold.
    pub above_threshold: u64,
    /// The highest scores, at most [`TOP_PEOPLE`], highest first.
    pub top: Vec<PersonRisk>,
}

/// The departments' risk from people's scores, highest sum first (then by name).
pub fn by_department(scores: &[RiskScore], dir: &Directory) -> Vec<DepartmentRisk> {
    let mut per: BTreeMap<String, (String, Vec<PersonRisk>)> = BTreeMap::new();
    for s in scores.iter().filter(|s| s.score > 0.0) {
        let Some(id) = s.entity.strip_prefix("person:") else {
            continue;
        };
        let person = dir.person(id);
        let (key, label) = match person.map(|p| p.department.clone()) {
            Some(Some(d)) if !d.trim().is_empty() => (d.trim().to_owned(), d.trim().to_owned()),
            Some(_) => (String::new(), "(no department)".to_owned()),
            None => ("\u{0}unknown".to_owned(), "(unknown person)".to_owned()),
        };
        per.entry(key)
            .or_insert_with(|| (label, Vec::new()))
            .1
            .push(PersonRisk {
                person: id.to_owned(),
                name: person.map(|p| p.name.clone()).unwrap_or_default(),
                score: s.score,
                above_threshold: s.score >= s.threshold,
            });
    }
    let mut out: Vec<DepartmentRisk> = per
        .into_iter()
        .map(|(key, (label, mut people))| {
            people.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.person.cmp(&b.person)));
            let sum = (people.iter().map(|p| p.score).sum::<f64>() * 100.0).round() / 100.0;
            DepartmentRisk {
                department: if key.starts_with('\u{0}') {
                    String::new()
                } else {
                    key
                },
                label,
                people: people.len() as u64,
                sum,
                max: people.first().map_or(0.0, |p| p.score),
                above_threshold: people.iter().filter(|p| p.above_threshold).count() as u64,
                top: people.into_iter().take(TOP_PEOPLE).collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| b.sum.total_cmp(&a.sum).then(a.label.cmp(&b.label)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_identity::Person;

    fn score(entity: &str, score: f64) -> RiskScore {
        RiskScore {
            entity: entity.into(),
            score,
            threshold: 100.0,
            criticality: 1.0,
            contributions: Vec::new(),
        }
    }

    fn dir() -> Directory {
        let people = [
            ("E1", "Finance"),
            ("E2", "Finance"),
            ("E3", "IT"),
            ("E4", ""),
        ];
        let changes: Vec<_> = people
            .iter()
            .enumerate()
            .map(|(i, (id, d))| {
                let p = Person {
                    id: (*id).into(),
                    name: format!("Person {id}"),
                    department: (!d.is_empty()).then(|| (*d).to_owned()),
                    ..Person::default()
                };
                let mut c =
                    tandem_identity::encode("person", id, chrono::Utc::now(), "test", &p).unwrap();
                c.seq = i as u64 + 1;
                c
            })
            .collect();
        let mut dir = Directory::default();
        dir.apply(&changes).unwrap();
        dir
    }

    #[test]
    fn scores_sum_per_department_with_the_highest_people_first() {
        let scores = [
            score("person:E1", 40.0),
            score("person:E2", 120.0),
            score("person:E3", 50.0),
            score("person:E4", 5.0),
            score("person:E9", 7.5),
            score("device:lap-1", 500.0),
            score("person:E5", 0.0),
        ];
        let r = by_department(&scores, &dir());
        let rows: Vec<(&str, u64, f64, f64, u64)> = r
            .iter()
            .map(|d| (d.label.as_str(), d.people, d.sum, d.max, d.above_threshold))
            .collect();
        assert_eq!(
            rows,
            [
                ("Finance", 2, 160.0, 120.0, 1),
                ("IT", 1, 50.0, 50.0, 0),
                ("(unknown person)", 1, 7.5, 7.5, 0),
                ("(no department)", 1, 5.0, 5.0, 0),
            ]
        );
        assert_eq!(r[0].top[0].person, "E2");
        assert_eq!(r[0].top[0].name, "Person E2");
        assert!(r[0].top[0].above_threshold);
        assert_eq!(r[0].department, "Finance");
        assert_eq!(r[2].department, "");
    }
}
