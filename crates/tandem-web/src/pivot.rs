//! Pivots: the searches behind "filter for", "filter out", "show surrounding events" and a
//! count's drill-down, as plain links the console draws next to every value it shows.
//!
//! Queries are built on the parsed query, never by pasting text: the condition is an AST
//! node (`field:value`, or `NOT field:value`) joined to the current filter with `AND`, and
//! the result is printed by `tandem_query`'s canonical `Display`, which parses back to the
//! same AST. So a value with spaces, quotes, backslashes, `*` or a keyword in it (`"Server
//! room"`, `CORP\alice`, `AND`) filters for exactly itself, and an aggregation pipe is
//! dropped rather than cut out of text.
//!
//! A relative time in the query (`time:>now-1h`) is printed as the absolute time it meant
//! when the page was drawn: the pivot refines what the analyst was looking at.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Serialize;
use tandem_query::{Expr, Pattern, Query};

/// The windows "show surrounding events" offers: key, seconds either side, label.
pub const WINDOWS: &[(&str, i64, &str)] = &[
    ("1m", 60, "±1 min"),
    ("5m", 300, "±5 min"),
    ("1h", 3600, "±1 h"),
];

/// `field` equals `value`, or `None` when the value is longer than a query may hold.
///
/// Plain values are written bare (`door:osl-a-d1`); anything else is quoted, which for a
/// field means the same exact, case-insensitive match.
pub fn equals(field: &str, value: &str) -> Option<Expr> {
    if value.chars().nth(tandem_query::MAX_PATTERN_CHARS).is_some() {
        return None;
    }
    let pattern = if bare(value) {
        Pattern::term(value)
    } else {
        Pattern::phrase(value)
    };
    Some(Expr::Match {
        field: field.to_owned(),
        pattern,
    })
}

/// Whether a value reads back as itself when written without quotes.
fn bare(value: &str) -> bool {
    let mut chars = value.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'))
        && !["and", "or", "not", "to"]
            .iter()
            .any(|k| value.eq_ignore_ascii_case(k))
}

/// The condition for a value as shown: a missing value (`None`) is "the field is absent".
fn condition(field: &str, value: Option<&str>) -> Option<Expr> {
    match value {
        Some(v) => equals(field, v),
        None => Some(Expr::Not(Box::new(Expr::Exists {
            field: field.to_owned(),
        }))),
    }
}

/// The negation of `e`, without stacking `NOT NOT`.
fn negate(e: Expr) -> Expr {
    match e {
        Expr::Not(inner) => *inner,
        other => Expr::Not(Box::new(other)),
    }
}

/// `q` with `conditions` added (`AND`) and any aggregation dropped; `None` when `q` does not
/// parse (the page shows the error instead of pivots then).
pub fn refine(q: &str, conditions: Vec<Expr>) -> Option<String> {
    let parsed = tandem_query::parse(q).ok()?;
    let mut parts = match parsed.filter {
        Expr::All => Vec::new(),
        Expr::And(items) => items,
        other => vec![other],
    };
    for c in conditions {
        // The same condition twice (a second click on "filter for") adds nothing.
        if !parts.contains(&c) {
            parts.push(c);
        }
    }
    let filter = match parts.len() {
        0 => Expr::All,
        1 => parts.pop().unwrap_or(Expr::All),
        _ => Expr::And(parts),
    };
    Some(Query { filter, pipe: None }.to_string())
}

/// "Filter for" (`out == false`) or "filter out" a value of `field`.
pub fn filter(q: &str, field: &str, value: Option<&str>, out: bool) -> Option<String> {
    let c = condition(field, value)?;
    refine(q, vec![if out { negate(c) } else { c }])
}

/// A `count by` row's events: the query with each grouped field set to the row's value,
/// without the count.
pub fn drill(q: &str, by: &[String], keys: &[Option<String>]) -> Option<String> {
    let conditions = by
        .iter()
        .zip(keys)
        .map(|(f, v)| condition(f, v.as_deref()))
        .collect::<Option<Vec<_>>>()?;
    refine(q, conditions)
}

/// The search page's address for a query, over a time range key (`24h`, `all`) or an
/// explicit window.
pub fn search_href(q: &str, range: Range<'_>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.append_pair("q", q);
    match range {
        Range::Named(r) => {
            s.append_pair("range", r);
        }
        Range::Window { from, to } => {
            s.append_pair("from", &from.to_rfc3339_opts(SecondsFormat::Secs, true));
            s.append_pair("to", &to.to_rfc3339_opts(SecondsFormat::Secs, true));
        }
    }
    format!("/search?{}", s.finish())
}

/// A time range for [`search_href`].
#[derive(Clone, Copy)]
pub enum Range<'a> {
    Named(&'a str),
    Window {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
}

/// A value with its pivots, as the templates draw it.
#[derive(Serialize, Clone)]
pub struct Pivot {
    /// The search field (`door`, `person`, `src.ip`).
    pub field: String,
    /// The value as shown: a person's or a place's name rather than its id.
    pub label: String,
    /// "Filter for" and "filter out" links, absent when the value cannot be searched for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub for_href: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_href: Option<String>,
    /// "Show surrounding events" at this value, one link per window of [`WINDOWS`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub around: Vec<Around>,
}

/// One "show surrounding events" link.
#[derive(Serialize, Clone)]
pub struct Around {
    pub label: &'static str,
    pub href: String,
}

impl Pivot {
    /// `value` of `field` with "filter for" and "filter out" on the query `q` over `range`.
    pub fn new(q: &str, range: Range<'_>, field: &str, value: Option<&str>, label: String) -> Self {
        let link = |out| filter(q, field, value, out).map(|q| search_href(&q, range));
        Pivot {
            field: field.to_owned(),
            label,
            for_href: link(false),
            out_href: link(true),
            around: Vec::new(),
        }
    }

    /// Adds "show surrounding events": every event with the same value, `WINDOWS` either side
    /// of `at`, whatever the current query.
    pub fn around(mut self, value: &str, at: DateTime<Utc>) -> Self {
        if let Some(c) = equals(&self.field, value) {
            let q = Query {
                filter: c,
                pipe: None,
            }
            .to_string();
            self.around = WINDOWS
                .iter()
                .map(|&(_, secs, label)| Around {
                    label,
                    href: search_href(
                        &q,
                        Range::Window {
                            from: at - Duration::seconds(secs),
                            to: at + Duration::seconds(secs),
                        },
                    ),
                })
                .collect();
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tandem_query::PatternKind;

    /// The filter a built query parses to.
    fn parsed(q: &str) -> Expr {
        tandem_query::parse(q).expect("a built query parses").filter
    }

    #[test]
    fn values_are_added_to_the_query_and_the_count_is_dropped() {
        assert_eq!(
            filter("", "door", Some("osl-a-d1"), false).unwrap(),
            "door:osl-a-d1"
        );
        assert_eq!(
            filter("user:alice", "door", Some("Server room door"), false).unwrap(),
            "user:alice AND door:\"Server room door\""
        );
        assert_eq!(
            filter("user:alice", "host", Some("lap-7"), true).unwrap(),
            "user:alice AND NOT host:lap-7"
        );
        assert_eq!(
            filter("a OR b", "host", Some("lap-7"), false).unwrap(),
            "(a OR b) AND host:lap-7"
        );
        assert_eq!(
            filter(
                "class:authentication | count by host",
                "host",
                Some("x"),
                false
            )
            .unwrap(),
            "class:authentication AND host:x"
        );
        // Filtering out what was filtered for keeps both: the analyst sees nothing, and
        // can see why in the query.
        assert_eq!(
            filter("door:x", "door", Some("x"), false).unwrap(),
            "door:x",
            "the same condition twice adds nothing"
        );
        // A missing value: for is "absent", out is "present".
        assert_eq!(filter("", "door", None, false).unwrap(), "NOT door:*");
        assert_eq!(filter("", "door", None, true).unwrap(), "door:*");
        // Quotes, backslashes and keywords are quoted so they mean themselves.
        assert_eq!(
            filter("", "user", Some("CORP\\al\"ice"), false).unwrap(),
            "user:\"CORP\\\\al\\\"ice\""
        );
        assert_eq!(
            filter("", "user", Some("AND"), false).unwrap(),
            "user:\"AND\""
        );
        assert!(filter("user:(", "door", Some("x"), false).is_none());
    }

    #[test]
    fn a_count_row_drills_into_its_events() {
        let by = ["door".to_owned(), "outcome".to_owned()];
        assert_eq!(
            drill(
                "class:physical_access | count by door, outcome",
                &by,
                &[Some("Main entrance".into()), Some("failure".into())]
            )
            .unwrap(),
            "class:physical_access AND door:\"Main entrance\" AND outcome:failure"
        );
        assert_eq!(
            drill(
                "* | count by door, outcome",
                &by,
                &[None, Some("success".into())]
            )
            .unwrap(),
            "NOT door:* AND outcome:success"
        );
    }

    #[test]
    fn surrounding_events_are_the_same_value_either_side_of_the_event() {
        let at: DateTime<Utc> = "2026-12-07T10:00:00Z".parse().unwrap();
        let p = Pivot::new(
            "user:x",
            Range::Named("24h"),
            "door",
            Some("d 1"),
            "D".into(),
        )
        .around("d 1", at);
        assert_eq!(p.around.len(), 3);
        assert_eq!(
            p.around[1].href,
            "/search?q=door%3A%22d+1%22&from=2026-12-07T09%3A55%3A00Z&to=2026-12-07T10%3A05%3A00Z"
        );
        assert_eq!(
            p.for_href.as_deref(),
            Some("/search?q=user%3Ax+AND+door%3A%22d+1%22&range=24h")
        );
        let long = "x".repeat(tandem_query::MAX_PATTERN_CHARS + 1);
        let p =
            Pivot::new("", Range::Named("24h"), "door", Some(&long), "D".into()).around(&long, at);
        assert!(p.for_href.is_none() && p.out_href.is_none() && p.around.is_empty());
    }

    proptest! {
        /// Whatever a value holds, filtering for it parses back to exactly that value of that
        /// field (and filtering out to its negation), on top of the query that was there.
        #[test]
        fn any_value_round_trips_through_the_parser(
            value in "\\PC{0,40}|[ \"\\\\*?():|&!-]{0,8}|(AND|OR|NOT|TO|now-1h|2026-11-01|10)",
            field in "(door|user|src\\.ip|attrs\\.winlog\\.event_id|finding\\.rule_id)",
        ) {
            let want = Expr::Match {
                field: field.clone(),
                pattern: Pattern { text: value.clone(), kind: PatternKind::Term },
            };
            let same = |e: &Expr| match e {
                Expr::Match { field: f, pattern } => {
                    f == &field && pattern.text == value
                        && matches!(pattern.kind, PatternKind::Term | PatternKind::Phrase)
                }
                _ => false,
            };
            let q = filter("", &field, Some(&value), false).unwrap();
            prop_assert!(same(&parsed(&q)), "{q:?} parsed to {:?}, wanted {want:?}", parsed(&q));
            let q = filter("user:alice | count by door", &field, Some(&value), true).unwrap();
            match parsed(&q) {
                Expr::And(items) => {
                    prop_assert_eq!(items.len(), 2);
                    match &items[1] {
                        Expr::Not(inner) => prop_assert!(same(inner), "{q:?}"),
                        other => prop_assert!(false, "{q:?} parsed to {other:?}"),
                    }
                }
                other => prop_assert!(false, "{q:?} parsed to {other:?}"),
            }
            prop_assert!(tandem_query::parse(&q).unwrap().pipe.is_none());
        }
    }
}
