//! Canonical query text for an AST.
//!
//! The printed form parses back to an equal AST, so the UI can show, save and share a
//! normalised query (explicit `AND`, canonical spans, RFC 3339 times) without ever changing
//! its meaning. Terms are escaped with backslashes rather than quoted, because quoting
//! would turn a `Term` into a `Phrase`.

use std::fmt::{self, Display, Formatter, Write};

use chrono::{DateTime, SecondsFormat};

use crate::ast::{Bound, CmpOp, Expr, Literal, Pattern, PatternKind, Pipe, Query};
use crate::parser::{KEYWORDS, classify};

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.pipe {
            None => write!(f, "{}", self.filter),
            Some(pipe) => write!(f, "{} | {pipe}", self.filter),
        }
    }
}

impl Display for Pipe {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Pipe::Count { by } => {
                f.write_str("count")?;
                if !by.is_empty() {
                    write!(f, " by {}", by.join(", "))?;
                }
                Ok(())
            }
            Pipe::Timechart { span_seconds, by } => {
                write!(f, "timechart {} count", format_span(*span_seconds))?;
                if let Some(field) = by {
                    write!(f, " by {field}")?;
                }
                Ok(())
            }
        }
    }
}

/// A span in its largest whole unit: 3600 → `1h`, 90 → `90s`.
pub fn format_span(seconds: i64) -> String {
    for (unit, size) in [("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)] {
        if seconds != 0 && seconds % size == 0 {
            return format!("{}{unit}", seconds / size);
        }
    }
    format!("{seconds}s")
}

impl Display for CmpOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::All => f.write_str("*"),
            Expr::And(items) if items.is_empty() => f.write_str("*"),
            Expr::Or(items) if items.is_empty() => f.write_str("NOT *"),
            Expr::And(items) => join(f, items, " AND ", |e| {
                matches!(e, Expr::And(_) | Expr::Or(_))
            }),
            Expr::Or(items) => join(f, items, " OR ", |e| matches!(e, Expr::Or(_))),
            Expr::Not(inner) => {
                f.write_str("NOT ")?;
                child(f, inner, matches!(**inner, Expr::And(_) | Expr::Or(_)))
            }
            Expr::Match { field, pattern } => {
                write!(f, "{field}:")?;
                write_pattern(f, pattern, false)
            }
            Expr::Compare { field, op, value } => write!(f, "{field}:{op}{value}"),
            Expr::Range {
                field,
                lower,
                upper,
            } => {
                let open = match lower {
                    Some(Bound {
                        inclusive: false, ..
                    }) => '{',
                    _ => '[',
                };
                let close = match upper {
                    Some(Bound {
                        inclusive: false, ..
                    }) => '}',
                    _ => ']',
                };
                write!(f, "{field}:{open}")?;
                write_bound(f, lower)?;
                f.write_str(" TO ")?;
                write_bound(f, upper)?;
                f.write_char(close)
            }
            Expr::Exists { field } => write!(f, "{field}:*"),
            Expr::Text(pattern) => write_pattern(f, pattern, true),
        }
    }
}

fn join(
    f: &mut Formatter<'_>,
    items: &[Expr],
    sep: &str,
    needs_parens: fn(&Expr) -> bool,
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        child(f, item, needs_parens(item))?;
    }
    Ok(())
}

fn child(f: &mut Formatter<'_>, e: &Expr, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

fn write_bound(f: &mut Formatter<'_>, bound: &Option<Bound>) -> fmt::Result {
    match bound {
        None => f.write_char('*'),
        Some(b) => write!(f, "{}", b.value),
    }
}

impl Display for Literal {
    /// The literal as it must be written to be read back as the same variant: times in
    /// RFC 3339 UTC, text quoted whenever it would otherwise read as a number, a time, a
    /// keyword or something with syntax in it.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Number(n) => write!(f, "{n}"),
            Literal::Time(t) => f.write_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            Literal::Text(s) if text_is_bare(s) => f.write_str(s),
            Literal::Text(s) => write_quoted(f, s),
        }
    }
}

/// Whether a text literal can be printed without quotes and still read back as text.
fn text_is_bare(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(char::is_alphabetic)
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '@' | '-'))
        && !s.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("now"))
        && !s.eq_ignore_ascii_case("to")
        && !KEYWORDS.iter().any(|k| s.eq_ignore_ascii_case(k))
        && matches!(classify(s, DateTime::UNIX_EPOCH), Literal::Text(_))
}

fn write_quoted(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    f.write_char('"')
}

/// Write a pattern as free text (`free`) or as the value after `field:`.
fn write_pattern(f: &mut Formatter<'_>, pattern: &Pattern, free: bool) -> fmt::Result {
    let wildcard = match pattern.kind {
        PatternKind::Phrase => return write_quoted(f, &pattern.text),
        PatternKind::Term if pattern.text.is_empty() => return f.write_str("\"\""),
        PatternKind::Term => false,
        PatternKind::Wildcard => true,
    };
    let text = &pattern.text;
    let mut chars = text.chars().peekable();
    let mut first = true;
    // A free word spelled like an operator must not read as one.
    let keyword = free && !wildcard && KEYWORDS.contains(&text.as_str());
    while let Some(c) = chars.next() {
        if wildcard && c == '\\' {
            // Keep the pattern's own escapes; a stray trailing backslash becomes literal.
            let next = chars.next().unwrap_or('\\');
            f.write_char('\\')?;
            f.write_char(next)?;
        } else if wildcard && matches!(c, '*' | '?') {
            f.write_char(c)?;
        } else {
            if (first && keyword) || needs_escape(c, first, free) {
                f.write_char('\\')?;
            }
            f.write_char(c)?;
        }
        first = false;
    }
    Ok(())
}

/// Characters that would otherwise end the word or give it another meaning.
fn needs_escape(c: char, first: bool, free: bool) -> bool {
    c.is_whitespace()
        || matches!(c, '(' | ')' | '"' | '|' | '\\' | '*' | '?')
        || (first && matches!(c, '[' | '{' | '<' | '>'))
        || (first && free && matches!(c, '-' | '!' | '&'))
        || (free && matches!(c, ':' | '=' | '<' | '>' | '!'))
}
