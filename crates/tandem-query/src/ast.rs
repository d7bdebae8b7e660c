//! The parsed form of a search. Backends (the store) compile it to their own query language.

use chrono::{DateTime, Utc};

/// A whole search: a filter, optionally followed by one aggregation pipe.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub filter: Expr,
    pub pipe: Option<Pipe>,
}

/// A boolean filter over events.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Matches everything: the empty query or a lone `*`.
    All,
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// `field:value`, `field:"a phrase"`, `field:val*`.
    Match { field: String, pattern: Pattern },
    /// `field:>10`, `field:<=2026-11-01`.
    Compare { field: String, op: CmpOp, value: Literal },
    /// `field:[a TO b]` (inclusive), `field:{a TO b}` (exclusive), `*` for an open end.
    Range { field: String, lower: Option<Bound>, upper: Option<Bound> },
    /// `field:*`: the field is present.
    Exists { field: String },
    /// Free text: a word, a "quoted phrase" or a wild*card anywhere in the message or raw text.
    Text(Pattern),
}

/// A value to match, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pub text: String,
    pub kind: PatternKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternKind {
    /// A bare word: `alice`, `10.0.0.1`.
    Term,
    /// A quoted string: `"alice smith"`; matched as written.
    Phrase,
    /// Contains unescaped `*` (any run) or `?` (one character).
    Wildcard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
}

/// One end of a range.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    pub value: Literal,
    pub inclusive: bool,
}

/// A comparable value. Times are recognised by form (`2026-11-25`, RFC 3339, `now-1h`).
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Number(f64),
    Time(DateTime<Utc>),
    Text(String),
}

/// An aggregation after `|`.
#[derive(Debug, Clone, PartialEq)]
pub enum Pipe {
    /// `| count` or `| count by a, b`.
    Count { by: Vec<String> },
    /// `| timechart 1h count` or `| timechart 1h count by field` (`span=1h` accepted too).
    Timechart { span_seconds: i64, by: Option<String> },
}
