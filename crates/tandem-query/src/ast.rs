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
    Match {
        field: String,
        pattern: Pattern,
    },
    /// `field:>10`, `field:<=2026-11-01`.
    Compare {
        field: String,
        op: CmpOp,
        value: Literal,
    },
    /// `field:[a TO b]` (inclusive), `field:{a TO b}` (exclusive), `*` for an open end.
    Range {
        field: String,
        lower: Option<Bound>,
        upper: Option<Bound>,
    },
    /// `field:*`: the field is present.
    Exists {
        field: String,
    },
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
    Timechart {
        span_seconds: i64,
        by: Option<String>,
    },
}

impl Pattern {
    /// A bare word, matched as a whole term.
    pub fn term(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            kind: PatternKind::Term,
        }
    }

    /// A quoted string, matched as written.
    pub fn phrase(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            kind: PatternKind::Phrase,
        }
    }

    /// A wildcard pattern. `text` uses the query's own escapes: `*` and `?` are wildcards,
    /// `\*`, `\?` and `\\` are the literal characters.
    pub fn wildcard(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            kind: PatternKind::Wildcard,
        }
    }

    /// The pattern split into literal runs and wildcards, with escapes resolved.
    ///
    /// Backends translate these pieces to `LIKE`/`GLOB`/regex syntax instead of
    /// re-implementing the escape rules; for `Term` and `Phrase` the whole text is one
    /// literal piece (a `*` there is an ordinary character).
    pub fn wildcard_pieces(&self) -> Vec<WildcardPiece> {
        if self.kind != PatternKind::Wildcard {
            return vec![WildcardPiece::Literal(self.text.clone())];
        }
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = self.text.chars();
        while let Some(c) = chars.next() {
            let wildcard = match c {
                '\\' => {
                    // A lone trailing backslash cannot come from the parser; keep it literal.
                    literal.push(chars.next().unwrap_or('\\'));
                    continue;
                }
                '*' => WildcardPiece::AnyRun,
                '?' => WildcardPiece::AnyChar,
                other => {
                    literal.push(other);
                    continue;
                }
            };
            if !literal.is_empty() {
                pieces.push(WildcardPiece::Literal(std::mem::take(&mut literal)));
            }
            pieces.push(wildcard);
        }
        if !literal.is_empty() {
            pieces.push(WildcardPiece::Literal(literal));
        }
        pieces
    }
}

/// One piece of a wildcard pattern, see [`Pattern::wildcard_pieces`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WildcardPiece {
    /// Characters matched exactly.
    Literal(String),
    /// `*`: any run of characters, including none.
    AnyRun,
    /// `?`: exactly one character.
    AnyChar,
}

impl CmpOp {
    /// The operator as written in a query: `<`, `<=`, `>`, `>=`.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}
