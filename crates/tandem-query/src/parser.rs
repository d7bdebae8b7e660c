//! A hand-written recursive-descent parser over the raw input.
//!
//! Hand-written rather than generated because the value syntax is context dependent (a `:`
//! ends a field name but is an ordinary character inside `ip:fe80::1`) and because every
//! error has to point at a byte offset with a message written for a person, which is
//! easiest to control when each rule is a plain function.
//!
//! Grammar, loosest binding first:
//!
//! ```text
//! query   := ws [or] ws ['|' ws pipe] ws EOF
//! or      := and (('OR' | 'or' | '||') and)*
//! and     := unary ((('AND' | 'and' | '&&') | <nothing>) unary)*
//! unary   := ('NOT' | 'not') unary | ('-' | '!') unary | primary
//! primary := '(' or ')' | '"phrase"' | '*' | field-term | word
//! field-term := FIELD (':' | '=') value | FIELD '!=' value | FIELD ws? ('>' | '>=' | '<' | '<=') literal
//! value   := '(' or-of-values ')' | '"phrase"' | '*' | range | ('>' | '>=' | '<' | '<=') literal | word
//! range   := ('[' | '{') bound 'TO' bound (']' | '}')
//! ```

use chrono::{DateTime, Utc};

use crate::ParseError;
use crate::ast::{Bound, CmpOp, Expr, Literal, Pattern, PatternKind, Pipe, Query};
use crate::time::{parse_span, parse_time_bound};

/// Deepest nesting of parentheses and negations accepted. Recursion is bounded so that no
/// input can overflow the stack; real queries never come near this.
const MAX_DEPTH: usize = 100;

/// Most terms (words, phrases, field conditions, `*`) one query may hold. A query of
/// thousands of terms is machine-made; this bound keeps what one search may cost in reach of
/// its time limit, and the store compiles up to this many as one flat condition.
pub const MAX_TERMS: usize = 1_000;

/// Most wildcards (`*`, `?`) in one pattern. Every wildcard is matched again for every
/// stored row, so thousands of them made one search run for minutes; real patterns hold a
/// few.
pub const MAX_WILDCARDS: usize = 16;

/// Longest word or quoted phrase, in characters. A pasted log line fits; megabytes of
/// pattern matched against every row do not.
pub const MAX_PATTERN_CHARS: usize = 1_024;

/// Parse a whole query, resolving relative time literals against `now`.
pub(crate) fn parse_query(input: &str, now: DateTime<Utc>) -> Result<Query, ParseError> {
    Parser {
        src: input,
        pos: 0,
        now,
        depth: 0,
        terms: 0,
    }
    .query()
}

/// Characters allowed in a field name: `actor.user`, `@timestamp`, `attrs.Target-Name`.
pub(crate) fn is_field_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@')
}

/// Whether `name` is usable as a field name (and so can be printed without quoting).
pub(crate) fn is_valid_field(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('-') && name.chars().all(is_field_char)
}

/// Number if it parses as a finite `f64`; time if it reads as a time bound; text otherwise.
///
/// Non-finite numbers (`inf`, `NaN`) stay text: they are more likely words than values, and
/// `NaN` would break equality of parsed queries.
pub(crate) fn classify(text: &str, now: DateTime<Utc>) -> Literal {
    if let Ok(n) = text.parse::<f64>()
        && n.is_finite()
    {
        return Literal::Number(n);
    }
    if !text.trim().is_empty()
        && let Ok(t) = parse_time_bound(text, now)
    {
        return Literal::Time(t);
    }
    Literal::Text(text.to_string())
}

/// Boolean keywords. Both `AND` and `and` are operators; searching for the word itself
/// needs quotes or an escape (`"and"`, `\and`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kw {
    And,
    Or,
    Not,
}

pub(crate) const KEYWORDS: [&str; 6] = ["AND", "and", "OR", "or", "NOT", "not"];

/// Which characters end a bare word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WordMode {
    /// Free text and field values.
    Plain,
    /// Range bounds, which also end at `]` and `}`.
    Bound,
}

/// A bare word as read from the input.
struct Word {
    /// The word with escapes removed: the text of a `Term`.
    text: String,
    /// The word with `\*`, `\?` and `\\` kept escaped: the text of a `Wildcard`.
    pattern: String,
    /// Contains an unescaped `*` or `?`.
    wildcard: bool,
}

impl Word {
    fn is_empty(&self) -> bool {
        self.pattern.is_empty()
    }

    fn into_pattern(self) -> Pattern {
        if self.wildcard {
            Pattern {
                text: self.pattern,
                kind: PatternKind::Wildcard,
            }
        } else {
            Pattern {
                text: self.text,
                kind: PatternKind::Term,
            }
        }
    }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    now: DateTime<Utc>,
    depth: usize,
    /// Terms read so far, against [`MAX_TERMS`].
    terms: usize,
}

fn ends_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"' | '|')
}

fn ends_keyword(c: Option<char>) -> bool {
    c.is_none_or(ends_word)
}

type PResult<T> = Result<T, ParseError>;

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek_second(&self) -> Option<char> {
        self.rest().chars().nth(1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// Skip whitespace; report whether any was skipped.
    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
        self.pos > start
    }

    fn err<T>(&self, message: impl Into<String>) -> PResult<T> {
        Err(ParseError::new(message, self.pos))
    }

    /// The keyword starting at the cursor, with its length, if it stands alone.
    fn keyword(&self) -> Option<(Kw, usize)> {
        let rest = self.rest();
        KEYWORDS.iter().find_map(|word| {
            let after = rest.strip_prefix(word)?;
            if !ends_keyword(after.chars().next()) {
                return None;
            }
            let kw = match word.as_bytes()[0].to_ascii_uppercase() {
                b'A' => Kw::And,
                b'O' => Kw::Or,
                _ => Kw::Not,
            };
            Some((kw, word.len()))
        })
    }

    /// Length of an `AND`/`&&` operator at the cursor.
    fn and_op(&self) -> Option<usize> {
        match self.keyword() {
            Some((Kw::And, len)) => Some(len),
            _ => self.rest().starts_with("&&").then_some(2),
        }
    }

    /// Length of an `OR`/`||` operator at the cursor.
    fn or_op(&self) -> Option<usize> {
        match self.keyword() {
            Some((Kw::Or, len)) => Some(len),
            _ => self.rest().starts_with("||").then_some(2),
        }
    }

    /// Guard recursion. Every nested parenthesis and every negation passes through
    /// [`Self::unary`], which is the one place that counts a level.
    fn descend(&mut self) -> PResult<()> {
        if self.depth >= MAX_DEPTH {
            return self.err(format!(
                "query nests too deeply (more than {MAX_DEPTH} levels)"
            ));
        }
        self.depth += 1;
        Ok(())
    }

    /// Count one more term at the cursor, failing past [`MAX_TERMS`].
    fn count_term(&mut self) -> PResult<()> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return self.err(format!(
                "a query may hold at most {MAX_TERMS} terms; split it into several searches"
            ));
        }
        Ok(())
    }

    /// Fail when the word or phrase that started at `start` is longer than
    /// [`MAX_PATTERN_CHARS`].
    fn check_pattern_length(&self, text: &str, start: usize) -> PResult<()> {
        if text.chars().nth(MAX_PATTERN_CHARS).is_some() {
            return Err(ParseError::new(
                format!(
                    "a word or quoted phrase may be at most {MAX_PATTERN_CHARS} characters long"
                ),
                start,
            ));
        }
        Ok(())
    }

    /// After the operator `src[op..op_end]`, make sure a term follows.
    fn expect_term(&self, op: usize, op_end: usize) -> PResult<()> {
        let missing = match self.peek() {
            None | Some(')' | '|') => true,
            Some(_) => self.and_op().is_some() || self.or_op().is_some(),
        };
        if missing {
            return self.err(format!(
                "expected a search term after `{}`",
                &self.src[op..op_end]
            ));
        }
        Ok(())
    }

    fn query(mut self) -> PResult<Query> {
        self.skip_ws();
        if let Some(len) = self.and_op().or_else(|| self.or_op()) {
            let op = &self.rest()[..len];
            return self.err(format!("expected a search term before `{op}`"));
        }
        let filter = match self.peek() {
            None | Some('|') => Expr::All,
            Some(_) => self.or_expr(None)?,
        };
        self.skip_ws();
        let pipe = match self.peek() {
            None => None,
            Some(')') => return self.err("unexpected `)` with no matching `(`"),
            Some('|') => {
                self.bump();
                Some(self.pipe()?)
            }
            Some(c) => return self.err(format!("unexpected `{c}`")),
        };
        Ok(Query { filter, pipe })
    }

    fn or_expr(&mut self, field: Option<&'a str>) -> PResult<Expr> {
        let mut items = Vec::new();
        push_flat(&mut items, self.and_expr(field)?, true);
        loop {
            self.skip_ws();
            let Some(len) = self.or_op() else { break };
            let op = self.pos;
            self.pos += len;
            self.skip_ws();
            self.expect_term(op, op + len)?;
            push_flat(&mut items, self.and_expr(field)?, true);
        }
        Ok(collapse(items, Expr::Or))
    }

    fn and_expr(&mut self, field: Option<&'a str>) -> PResult<Expr> {
        let mut items = Vec::new();
        push_flat(&mut items, self.unary(field)?, false);
        loop {
            self.skip_ws();
            if matches!(self.peek(), None | Some(')' | '|')) || self.or_op().is_some() {
                break;
            }
            if let Some(len) = self.and_op() {
                let op = self.pos;
                self.pos += len;
                self.skip_ws();
                self.expect_term(op, op + len)?;
            }
            push_flat(&mut items, self.unary(field)?, false);
        }
        Ok(collapse(items, Expr::And))
    }

    fn unary(&mut self, field: Option<&'a str>) -> PResult<Expr> {
        self.descend()?;
        let result = self.unary_inner(field);
        self.depth -= 1;
        result
    }

    fn unary_inner(&mut self, field: Option<&'a str>) -> PResult<Expr> {
        if let Some((Kw::Not, len)) = self.keyword() {
            let op = self.pos;
            self.pos += len;
            self.skip_ws();
            self.expect_term(op, op + len)?;
            return Ok(Expr::Not(Box::new(self.unary(field)?)));
        }
        if let Some(c @ ('-' | '!')) = self.peek() {
            if self
                .peek_second()
                .is_none_or(|n| n.is_whitespace() || matches!(n, ')' | '|'))
            {
                self.bump();
                return self.err(format!("expected a search term right after `{c}`"));
            }
            self.bump();
            return Ok(Expr::Not(Box::new(self.unary(field)?)));
        }
        self.primary(field)
    }

    /// One term. `field` is set inside `field:( … )`, where every term is a value of it.
    fn primary(&mut self, field: Option<&'a str>) -> PResult<Expr> {
        if self.peek() != Some('(') {
            self.count_term()?;
        }
        match (self.peek(), field) {
            (Some('('), _) => self.group(field),
            (Some(')'), _) => self.err("unexpected `)` with no matching `(`"),
            (Some('"'), None) => Ok(Expr::Text(Pattern {
                text: self.phrase()?,
                kind: PatternKind::Phrase,
            })),
            (_, Some(name)) => {
                let start = self.pos;
                self.value(name, start)
            }
            (Some('[' | '{'), None) if self.looks_like_range() => {
                self.err("a range needs a field name in front, as in `bytes:[10 TO 20]`")
            }
            (Some('*'), None) if self.peek_second().is_none_or(ends_word) => {
                self.bump();
                Ok(Expr::All)
            }
            (_, None) => {
                if let Some(expr) = self.field_term()? {
                    return Ok(expr);
                }
                let word = self.word(WordMode::Plain)?;
                if word.is_empty() {
                    return self.err("expected a search term");
                }
                Ok(Expr::Text(word.into_pattern()))
            }
        }
    }

    /// Whether the `[`/`{` at the cursor opens something with a `TO` before its closing
    /// bracket. Only then is a missing field worth an error: `[ERROR]` is a log word.
    fn looks_like_range(&self) -> bool {
        let rest = &self.rest()[1..];
        let inside = &rest[..rest.find([']', '}']).unwrap_or(rest.len())];
        inside
            .split_whitespace()
            .any(|w| w.eq_ignore_ascii_case("to"))
    }

    /// `( … )`, with `field` carried inside for `user:(alice OR bob)`.
    fn group(&mut self, field: Option<&'a str>) -> PResult<Expr> {
        let open = self.pos;
        self.bump();
        self.skip_ws();
        self.expect_term(open, open + 1)?;
        let inner = self.or_expr(field)?;
        self.skip_ws();
        if self.peek() != Some(')') {
            return self.err(format!("unclosed parenthesis opened at position {open}"));
        }
        self.bump();
        Ok(inner)
    }

    /// A quoted string; the cursor is on the opening quote. `\"` and `\\` are escapes; any
    /// other backslash is kept as written so Windows paths survive inside quotes.
    fn phrase(&mut self) -> PResult<String> {
        let open = self.pos;
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(ParseError::new("unterminated quoted string", open)),
                Some('"') => {
                    self.check_pattern_length(&out, open)?;
                    return Ok(out);
                }
                Some('\\') => match self.bump() {
                    None => return Err(ParseError::new("unterminated quoted string", open)),
                    Some(c @ ('"' | '\\')) => out.push(c),
                    Some(c) => {
                        out.push('\\');
                        out.push(c);
                    }
                },
                Some(c) => out.push(c),
            }
        }
    }

    /// A bare word. A backslash makes the next character literal.
    fn word(&mut self, mode: WordMode) -> PResult<Word> {
        let start = self.pos;
        let mut wildcards = 0;
        let mut word = Word {
            text: String::new(),
            pattern: String::new(),
            wildcard: false,
        };
        while let Some(c) = self.peek() {
            if ends_word(c) || (mode == WordMode::Bound && matches!(c, ']' | '}')) {
                break;
            }
            self.bump();
            if c == '\\' {
                let Some(e) = self.bump() else {
                    return Err(ParseError::new(
                        "expected a character after `\\`; write `\\\\` for a backslash",
                        self.pos - 1,
                    ));
                };
                word.text.push(e);
                if matches!(e, '*' | '?' | '\\') {
                    word.pattern.push('\\');
                }
                word.pattern.push(e);
            } else {
                if matches!(c, '*' | '?') {
                    word.wildcard = true;
                    wildcards += 1;
                }
                word.text.push(c);
                word.pattern.push(c);
            }
        }
        if wildcards > MAX_WILDCARDS {
            return Err(ParseError::new(
                format!(
                    "a pattern may hold at most {MAX_WILDCARDS} wildcards (`*`, `?`); this one has {wildcards}"
                ),
                start,
            ));
        }
        self.check_pattern_length(&word.pattern, start)?;
        Ok(word)
    }

    /// `field:value`, `field=value`, `field!=value`, `field>10`; `None` (cursor unmoved) when
    /// the word at the cursor is not a field term.
    fn field_term(&mut self) -> PResult<Option<Expr>> {
        let start = self.pos;
        let len: usize = self
            .rest()
            .chars()
            .take_while(|&c| is_field_char(c))
            .map(char::len_utf8)
            .sum();
        if len == 0 {
            return Ok(None);
        }
        let name = &self.src[start..start + len];
        let after = &self.src[start + len..];
        if after.starts_with([':', '=']) {
            self.pos = start + len + 1;
            return self.field_value(name, start).map(Some);
        }
        if after.starts_with("!=") {
            self.pos = start + len + 2;
            return self
                .field_value(name, start)
                .map(|e| Some(Expr::Not(Box::new(e))));
        }
        // `bytes>10`, and KQL's `bytes >= 10`.
        let spaced = after.trim_start_matches(char::is_whitespace);
        if spaced.starts_with(['<', '>']) {
            self.pos = self.src.len() - spaced.len();
            return self.compare(name, start).map(Some);
        }
        Ok(None)
    }

    /// The value after `field:`; the cursor is just past the separator.
    fn field_value(&mut self, name: &'a str, label_start: usize) -> PResult<Expr> {
        let label = &self.src[label_start..self.pos];
        let spaced = self.skip_ws();
        self.check_value_present(spaced, label)?;
        if self.peek() == Some('(') {
            // `user:(a OR b)` is its values: they count as terms, the field does not.
            self.terms -= 1;
            return self.group(Some(name));
        }
        self.value(name, label_start)
    }

    /// Fail with "expected a value after `label`" when nothing usable is at the cursor.
    /// After whitespace a keyword is an operator, not a value: `user: AND x` is an error,
    /// while `user:AND` searches for the word.
    fn check_value_present(&self, spaced: bool, label: &str) -> PResult<()> {
        let missing = match self.peek() {
            None | Some(')' | '|') => true,
            Some(_) => spaced && (self.keyword().is_some() || self.rest().starts_with("&&")),
        };
        if missing {
            return self.err(format!("expected a value after `{label}`"));
        }
        Ok(())
    }

    /// A value of `name`: phrase, range, comparison, `*` or word.
    fn value(&mut self, name: &'a str, label_start: usize) -> PResult<Expr> {
        let field = name.to_string();
        match self.peek() {
            Some('"') => Ok(Expr::Match {
                field,
                pattern: Pattern {
                    text: self.phrase()?,
                    kind: PatternKind::Phrase,
                },
            }),
            Some('[' | '{') => self.range(name),
            Some('<' | '>') => self.compare(name, label_start),
            Some('*') if self.peek_second().is_none_or(ends_word) => {
                self.bump();
                Ok(Expr::Exists { field })
            }
            _ => {
                let word = self.word(WordMode::Plain)?;
                if word.is_empty() {
                    return self.err(format!("expected a value for `{name}`"));
                }
                Ok(Expr::Match {
                    field,
                    pattern: word.into_pattern(),
                })
            }
        }
    }

    /// `>`, `>=`, `<`, `<=` and a literal; the cursor is on the operator.
    fn compare(&mut self, name: &str, label_start: usize) -> PResult<Expr> {
        let rest = self.rest();
        let (op, len) = if rest.starts_with(">=") {
            (CmpOp::Ge, 2)
        } else if rest.starts_with("<=") {
            (CmpOp::Le, 2)
        } else if rest.starts_with('>') {
            (CmpOp::Gt, 1)
        } else {
            (CmpOp::Lt, 1)
        };
        self.pos += len;
        let label = &self.src[label_start..self.pos];
        let spaced = self.skip_ws();
        self.check_value_present(spaced, label)?;
        let value = if self.peek() == Some('"') {
            Literal::Text(self.phrase()?)
        } else {
            let word = self.word(WordMode::Plain)?;
            if word.is_empty() {
                return self.err(format!("expected a value after `{label}`"));
            }
            classify(&word.text, self.now)
        };
        Ok(Expr::Compare {
            field: name.to_string(),
            op,
            value,
        })
    }

    /// `[a TO b]`, `{a TO b}`, mixed, with `*` for an open end; cursor on the bracket.
    fn range(&mut self, name: &str) -> PResult<Expr> {
        let open = self.pos;
        let lower_inclusive = self.bump() == Some('[');
        let open_str = &self.src[open..self.pos];
        self.skip_ws();
        let lower = self.bound(format_args!("expected a lower bound after `{open_str}`"))?;
        self.skip_ws();
        let rest = self.rest();
        let has_to = rest
            .get(..2)
            .is_some_and(|to| to.eq_ignore_ascii_case("to"))
            && rest[2..].starts_with(char::is_whitespace);
        if !has_to {
            return self.err("expected `TO` after the lower bound of the range");
        }
        self.pos += 2;
        self.skip_ws();
        let upper = self.bound(format_args!("expected an upper bound after `TO`"))?;
        self.skip_ws();
        let upper_inclusive = match self.peek() {
            Some(']') => true,
            Some('}') => false,
            _ => {
                return self.err(format!(
                    "expected `]` or `}}` to close the range opened at position {open}"
                ));
            }
        };
        self.bump();
        Ok(Expr::Range {
            field: name.to_string(),
            lower: lower.map(|value| Bound {
                value,
                inclusive: lower_inclusive,
            }),
            upper: upper.map(|value| Bound {
                value,
                inclusive: upper_inclusive,
            }),
        })
    }

    /// One end of a range; `None` for `*`.
    fn bound(&mut self, missing: std::fmt::Arguments<'_>) -> PResult<Option<Literal>> {
        if self.peek() == Some('"') {
            return Ok(Some(Literal::Text(self.phrase()?)));
        }
        let word = self.word(WordMode::Bound)?;
        if word.is_empty() {
            return self.err(missing.to_string());
        }
        if word.wildcard && word.pattern == "*" {
            return Ok(None);
        }
        Ok(Some(classify(&word.text, self.now)))
    }

    /// A pipe word: ends at whitespace, `,` or `|`.
    fn pipe_token(&mut self) -> (usize, &'a str) {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| !c.is_whitespace() && c != ',' && c != '|')
        {
            self.bump();
        }
        (start, &self.src[start..self.pos])
    }

    /// What stands at the cursor, for "unexpected …" messages.
    fn describe_here(&self) -> String {
        let rest = self.rest();
        let end = rest
            .find(char::is_whitespace)
            .unwrap_or(rest.len())
            .max(self.peek().map_or(0, char::len_utf8));
        rest[..end].to_string()
    }

    /// Everything after the `|`.
    fn pipe(&mut self) -> PResult<Pipe> {
        self.skip_ws();
        let (start, cmd) = self.pipe_token();
        if cmd.is_empty() {
            return self.err("expected `count` or `timechart` after `|`");
        }
        let pipe = if cmd.eq_ignore_ascii_case("count") {
            self.count_pipe()?
        } else if cmd.eq_ignore_ascii_case("timechart") {
            self.timechart_pipe()?
        } else {
            return Err(ParseError::new(
                format!("unknown pipe command `{cmd}`; expected `count` or `timechart`"),
                start,
            ));
        };
        self.skip_ws();
        match self.peek() {
            None => Ok(pipe),
            Some('|') => self.err("only one pipe is allowed; found a second `|`"),
            Some(_) => self.err(format!("unexpected `{}`", self.describe_here())),
        }
    }

    /// `count` or `count by a, b` (commas optional).
    fn count_pipe(&mut self) -> PResult<Pipe> {
        self.skip_ws();
        if matches!(self.peek(), None | Some('|')) {
            return Ok(Pipe::Count { by: Vec::new() });
        }
        let (start, tok) = self.pipe_token();
        if !tok.eq_ignore_ascii_case("by") {
            self.pos = start;
            return self.err(format!(
                "unexpected `{}` after `count`; expected `by` and field names",
                self.describe_here()
            ));
        }
        let mut by = Vec::new();
        let mut after = tok;
        loop {
            self.skip_ws();
            by.push(self.pipe_field(after)?);
            self.skip_ws();
            match self.peek() {
                None | Some('|') => break,
                Some(',') => {
                    self.bump();
                    after = ",";
                }
                Some(_) => after = "by",
            }
        }
        Ok(Pipe::Count { by })
    }

    /// A field name in a pipe's `by` clause.
    fn pipe_field(&mut self, after: &str) -> PResult<String> {
        let (start, name) = self.pipe_token();
        if name.is_empty() {
            return self.err(format!("expected a field name after `{after}`"));
        }
        if !is_valid_field(name) {
            return Err(ParseError::new(
                format!(
                    "invalid field name `{name}`; field names use letters, digits, `_`, `-`, `.` and `@`"
                ),
                start,
            ));
        }
        Ok(name.to_string())
    }

    /// `timechart 1h`, `timechart 1h count`, `timechart span=1h count by field`, in any
    /// order before `by`, as Splunk users also write `timechart count span=1h`.
    fn timechart_pipe(&mut self) -> PResult<Pipe> {
        let cmd_end = self.pos;
        let mut span = None;
        let mut counted = false;
        let mut by = None;
        loop {
            self.skip_ws();
            if matches!(self.peek(), None | Some('|')) {
                break;
            }
            let (start, tok) = self.pipe_token();
            if tok.is_empty() {
                return self.err(format!(
                    "unexpected `{}` in `timechart`; expected a span such as 1h, `count` or `by` and a field",
                    self.describe_here()
                ));
            }
            let span_text = if tok.len() >= 5
                && tok.is_char_boundary(5)
                && tok[..5].eq_ignore_ascii_case("span=")
            {
                Some((start + 5, &tok[5..]))
            } else if tok.starts_with(|c: char| c.is_ascii_digit()) {
                Some((start, tok))
            } else {
                None
            };
            if let Some((at, text)) = span_text {
                if span.is_some() {
                    return Err(ParseError::new("`timechart` span given twice", start));
                }
                span = Some(parse_span(text).map_err(|e| e.offset(at))?);
            } else if tok.eq_ignore_ascii_case("count") {
                if counted {
                    return Err(ParseError::new("`count` given twice", start));
                }
                counted = true;
            } else if tok.eq_ignore_ascii_case("by") {
                self.skip_ws();
                by = Some(self.pipe_field(tok)?);
                self.skip_ws();
                if !matches!(self.peek(), None | Some('|')) {
                    return self.err(
                        "`timechart` splits by one field only; use `count by a, b` for several",
                    );
                }
                break;
            } else {
                return Err(ParseError::new(
                    format!(
                        "unexpected `{tok}` in `timechart`; expected a span such as 1h, `count` or `by` and a field"
                    ),
                    start,
                ));
            }
        }
        let Some(span_seconds) = span else {
            return Err(ParseError::new(
                "`timechart` needs a span such as 1h",
                cmd_end,
            ));
        };
        Ok(Pipe::Timechart { span_seconds, by })
    }
}

/// Add `e` to an `And`/`Or` list, splicing in children of the same operator so that
/// `a AND (b AND c)` is one flat `And`.
fn push_flat(items: &mut Vec<Expr>, e: Expr, or: bool) {
    match e {
        Expr::Or(children) if or => items.extend(children),
        Expr::And(children) if !or => items.extend(children),
        other => items.push(other),
    }
}

fn collapse(mut items: Vec<Expr>, make: fn(Vec<Expr>) -> Expr) -> Expr {
    if items.len() == 1 {
        items.pop().unwrap_or(Expr::All)
    } else {
        make(items)
    }
}
