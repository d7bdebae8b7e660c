//! Tandem's search language: turns what a user types into the search box into a [`Query`]
//! AST, and parses the time bounds and spans that travel next to it.
//!
//! The syntax is what a Kibana (Lucene/KQL) or Splunk user already types:
//!
//! - free text: `failed`, `"logon failure"`, `fail*`;
//! - fields: `actor.user:alice`, `src.ip:10.0.0.1`, `ip:fe80::1`, `user:"alice smith"`,
//!   `host:web-*`, `labels.env:*` (field present), `user=alice` and `user!=alice` (Splunk);
//! - comparisons and ranges: `bytes:>1000`, `bytes>=1000`, `time:>=now-1h`,
//!   `bytes:[10 TO 20}`, `time:[2026-11-25 TO *]`;
//! - booleans: `AND`/`&&`, `OR`/`||`, `NOT`/`-`/`!`, parentheses, implicit `AND` between
//!   terms, and `field:(a OR b)` to apply one field to a group; `NOT` binds tightest, then
//!   `AND`, then `OR`;
//! - one aggregation pipe: `| count`, `| count by a, b`, `| timechart 1h count by field`.
//!
//! What it does not do: it never touches storage, knows nothing of which fields exist, and
//! does not decide how a pattern is matched (case, tokenisation); the store compiles the
//! AST to its own query language. Every error carries a byte position and a message for a
//! person, and no input makes the parser panic.
//!
//! ```
//! use tandem_query::{parse, Expr, Pattern, Pipe};
//!
//! let q = parse("user:alice AND NOT status:success | count by src.ip").unwrap();
//! assert_eq!(
//!     q.filter,
//!     Expr::And(vec![
//!         Expr::Match { field: "user".into(), pattern: Pattern::term("alice") },
//!         Expr::Not(Box::new(Expr::Match { field: "status".into(), pattern: Pattern::term("success") })),
//!     ])
//! );
//! assert_eq!(q.pipe, Some(Pipe::Count { by: vec!["src.ip".into()] }));
//! // Display prints a canonical query that parses back to the same AST.
//! assert_eq!(q.to_string(), "user:alice AND NOT status:success | count by src.ip");
//!
//! let input = "user:alice AND (";
//! let err = parse(input).unwrap_err();
//! assert_eq!(err.position, 16);
//! println!("{}", err.render(input));
//! ```

pub mod ast;
mod display;
mod error;
mod parser;
mod time;

use chrono::{DateTime, Utc};

pub use ast::{Bound, CmpOp, Expr, Literal, Pattern, PatternKind, Pipe, Query, WildcardPiece};
pub use display::format_span;
pub use error::ParseError;
pub use parser::{MAX_PATTERN_CHARS, MAX_TERMS, MAX_WILDCARDS};
pub use time::{parse_span, parse_time_bound};

/// Parse a query typed by a user; relative times such as `now-1h` resolve against the
/// current clock.
///
/// The empty query, and a lone `*`, match everything ([`Expr::All`]).
pub fn parse(input: &str) -> Result<Query, ParseError> {
    parse_at(input, Utc::now())
}

/// Parse a query, resolving relative time literals (`time:>now-1h`, `time:>-24h`) against
/// `now`. Servers pass the request's clock so that a query and its `from`/`to` bounds agree;
/// tests pass a fixed instant.
pub fn parse_at(input: &str, now: DateTime<Utc>) -> Result<Query, ParseError> {
    parser::parse_query(input, now)
}

#[cfg(test)]
mod tests;
