//! Turns a parsed search into SQL over one segment table.
//!
//! Field names resolve through [`resolve_field`]: the common ones (and the aliases Kibana and
//! Splunk users type) map to indexed columns, everything else to `json_extract` over the stored
//! document, so every field of the schema is searchable, the frequent ones fast.

use rusqlite::types::Value;
use std::fmt::Write;
use tandem_model::{Activity, Class, Outcome, Severity};
use tandem_query::{Bound, CmpOp, Expr, Literal, Pattern, PatternKind, WildcardPiece};

/// Where a field's value lives. Columns are qualified: `e.` is the segment's narrow,
/// indexed table, `d.` its document table.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldRef {
    Column(&'static str, ColumnKind),
    /// A JSON path into the stored document, e.g. `$.actor.badge`.
    Json(String),
    /// `ip`: source, destination or device address.
    AnyIp,
    /// `site`, `building`: the event's own value, and for a finding also every value in a
    /// list of its evidence's places (`attrs.finding.entities.sites`): a finding that spans
    /// Oslo and London is found by `site:osl` and by `site:lon`. Existence, comparisons and
    /// grouping use the event's own value (a finding's first site).
    Spanned {
        own: Box<FieldRef>,
        /// JSON path of the list in the stored document.
        list: &'static str,
    },
}

/// The class whose events may span several sites: findings.
const SPANNING_CLASS: Class = Class::DetectionFinding;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ColumnKind {
    Text,
    Int,
    /// Microseconds since the epoch.
    Time,
    Class,
    Activity,
    Outcome,
    Severity,
}

/// Maps a field name as typed in a search to where it is stored.
pub fn resolve_field(name: &str) -> FieldRef {
    use ColumnKind::*;
    use FieldRef::Column;
    match name.to_ascii_lowercase().as_str() {
        "time" | "@timestamp" | "timestamp" | "_time" => Column("e.time", Time),
        "ingest_time" => Column("e.ingest_time", Time),
        "class" | "category" => Column("e.class_uid", Class),
        "class_uid" => Column("e.class_uid", Int),
        "activity" | "action" => Column("e.activity_id", Activity),
        "activity_id" => Column("e.activity_id", Int),
        "outcome" | "status" => Column("e.outcome_id", Outcome),
        "severity" => Column("e.severity_id", Severity),
        "severity_id" => Column("e.severity_id", Int),
        "source" | "source.name" | "sourcetype" => Column("e.source", Text),
        "actor.user" | "user" | "user.name" | "username" => Column("e.actor", Text),
        "actor.person.id" | "person" => Column("e.person", Text),
        "device.hostname" | "host" | "hostname" | "host.name" => Column("e.host", Text),
        "src.ip" | "src_ip" | "source.ip" | "client.ip" => Column("e.src_ip", Text),
        "dst.ip" | "dst_ip" | "destination.ip" => Column("e.dst_ip", Text),
        "place.site" | "site" => FieldRef::Spanned {
            own: Box::new(Column("e.site", Text)),
            list: "$.attrs.finding.entities.sites",
        },
        "place.building" | "building" => FieldRef::Spanned {
            own: Box::new(FieldRef::Json("$.place.building".to_owned())),
            list: "$.attrs.finding.entities.buildings",
        },
        "place.zone" | "zone" => Column("e.zone", Text),
        "place.door" | "door" => Column("e.door", Text),
        "message" | "msg" => Column("d.message", Text),
        "raw" | "_raw" => Column("d.raw", Text),
        "id" => Column("e.id", Text),
        "ip" => FieldRef::AnyIp,
        _ if tandem_model::is_event_field(name) => FieldRef::Json(json_path(name)),
        // Anything else is a vendor field: `winlog.event_id` means `attrs.winlog.event_id`,
        // so analysts can write the names their vendor documents.
        _ => FieldRef::Json(json_path(&format!("attrs.{name}"))),
    }
}

/// `attrs.Target User` → `$.attrs."Target User"`: each dotted part quoted when it is not a
/// plain identifier, so vendor field names with spaces or dashes still work.
fn json_path(name: &str) -> String {
    let mut path = String::from("$");
    for part in name.split('.') {
        if !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            path.push('.');
            path.push_str(part);
        } else {
            let _ = write!(path, ".\"{}\"", part.replace('"', "\\\""));
        }
    }
    path
}

/// How the free-text part of a query reaches one segment.
#[derive(Debug, Clone, Copy)]
pub struct TextIndex {
    pub segment: i64,
    /// Rows up to this rowid are in the full-text index; later ones are matched by scanning.
    pub fts_upto: i64,
    pub max_rowid: i64,
}

/// SQL text plus its parameters.
#[derive(Debug, Default)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Value>,
}

impl Sql {
    fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }
    fn param(&mut self, v: Value) {
        self.params.push(v);
        self.text.push('?');
    }
}

/// A search the user can fix: unknown vocabulary value, incomparable literal, …
#[derive(Debug, Clone, PartialEq)]
pub struct CompileError(pub String);

/// Appends the SQL condition for `expr` (over alias `e`) to `out`.
pub fn compile_expr(expr: &Expr, text: TextIndex, out: &mut Sql) -> Result<(), CompileError> {
    match expr {
        Expr::All => out.push("1"),
        Expr::And(parts) | Expr::Or(parts) => {
            let and = matches!(expr, Expr::And(_));
            if parts.is_empty() {
                out.push(if and { "(1)" } else { "(0)" });
            } else {
                compile_chain(parts, if and { " AND " } else { " OR " }, text, out)?;
            }
        }
        Expr::Not(inner) => {
            // NULL-safe: a missing field counts as "not equal".
            out.push("NOT coalesce(");
            compile_expr(inner, text, out)?;
            out.push(", 0)");
        }
        Expr::Exists { field } => compile_exists(&resolve_field(field), out),
        Expr::Match { field, pattern } => {
            compile_match(&resolve_field(field), field, pattern, text.segment, out)?
        }
        Expr::Compare { field, op, value } => {
            let sql_op = match op {
                CmpOp::Lt => "<",
                CmpOp::Le => "<=",
                CmpOp::Gt => ">",
                CmpOp::Ge => ">=",
            };
            compile_compare(field, sql_op, value, out)?;
        }
        Expr::Range {
            field,
            lower,
            upper,
        } => {
            out.push("(");
            let mut any = false;
            if let Some(Bound { value, inclusive }) = lower {
                compile_compare(field, if *inclusive { ">=" } else { ">" }, value, out)?;
                any = true;
            }
            if let Some(Bound { value, inclusive }) = upper {
                if any {
                    out.push(" AND ");
                }
                compile_compare(field, if *inclusive { "<=" } else { "<" }, value, out)?;
                any = true;
            }
            if !any {
                out.push("1");
            }
            out.push(")");
        }
        Expr::Text(pattern) => compile_text(pattern, text, out),
    }
    Ok(())
}

/// `a OR b OR c …` as a balanced tree, `((a OR b) OR (c OR d))`: SQLite nests a written
/// chain one level per operator and refuses expressions deeper than 1,000 levels, so a
/// 999-term `OR` failed; balanced, a chain of the parser's [`tandem_query::MAX_TERMS`] terms
/// is ten levels deep.
fn compile_chain(
    parts: &[Expr],
    joiner: &str,
    text: TextIndex,
    out: &mut Sql,
) -> Result<(), CompileError> {
    out.push("(");
    if let [only] = parts {
        compile_expr(only, text, out)?;
    } else {
        let (left, right) = parts.split_at(parts.len() / 2);
        compile_chain(left, joiner, text, out)?;
        out.push(joiner);
        compile_chain(right, joiner, text, out)?;
    }
    out.push(")");
    Ok(())
}

/// `field:*`: the event has a value of its own.
fn compile_exists(at: &FieldRef, out: &mut Sql) {
    match at {
        FieldRef::Column(col, _) => {
            let _ = write!(out.text, "{col} IS NOT NULL");
        }
        FieldRef::Json(path) => {
            out.push("json_type(d.doc, ");
            out.param(Value::Text(path.clone()));
            out.push(") IS NOT NULL");
        }
        FieldRef::AnyIp => out.push(
            "(e.src_ip IS NOT NULL OR e.dst_ip IS NOT NULL OR json_type(d.doc, '$.device.ip') IS NOT NULL)",
        ),
        FieldRef::Spanned { own, .. } => compile_exists(own, out),
    }
}

fn compile_match(
    at: &FieldRef,
    field: &str,
    pattern: &Pattern,
    segment: i64,
    out: &mut Sql,
) -> Result<(), CompileError> {
    match at {
        FieldRef::Column(col, kind) => match *kind {
            ColumnKind::Text => {
                let _ = write!(out.text, "{col} ");
                text_condition(pattern, out);
            }
            ColumnKind::Class => vocabulary::<Class>(col, "class", pattern, out)?,
            ColumnKind::Activity => vocabulary::<Activity>(col, "activity", pattern, out)?,
            ColumnKind::Outcome => vocabulary::<Outcome>(col, "outcome", pattern, out)?,
            ColumnKind::Severity => vocabulary::<Severity>(col, "severity", pattern, out)?,
            ColumnKind::Int | ColumnKind::Time => {
                let value = literal_for(*kind, &Literal::Text(pattern.text.clone()), field)?;
                let _ = write!(out.text, "{col} = ");
                out.param(value);
            }
        },
        FieldRef::Json(path) => json_match(path, pattern, out),
        FieldRef::AnyIp => {
            out.push("(e.src_ip ");
            text_condition(pattern, out);
            out.push(" OR e.dst_ip ");
            text_condition(pattern, out);
            out.push(" OR ");
            json_match("$.device.ip", pattern, out);
            out.push(")");
        }
        FieldRef::Spanned { own, list } => {
            // The list is read only for findings whose own value did not match: the class
            // test comes first, so other events never touch their document, and the
            // document is looked up by rowid instead of joining it to every row.
            out.push("(");
            compile_match(own, field, pattern, segment, out)?;
            let _ = write!(
                out.text,
                " OR (e.class_uid = {} AND EXISTS (SELECT 1 FROM doc_{segment} fd, json_each(fd.doc, ",
                SPANNING_CLASS.uid()
            );
            out.param(Value::Text((*list).to_owned()));
            out.push(") fj WHERE fd.rowid = e.rowid AND fj.value ");
            if pattern.kind == PatternKind::Wildcard {
                out.push("LIKE ");
                out.param(Value::Text(like_pattern(pattern, false)));
                out.push(" ESCAPE '\\'");
            } else {
                out.push("= ");
                out.param(Value::Text(pattern.text.clone()));
                out.push(" COLLATE NOCASE");
            }
            out.push(")))");
        }
    }
    Ok(())
}

/// `= ?` for exact values, `LIKE ?` for wildcards; the column's NOCASE collation applies.
fn text_condition(pattern: &Pattern, out: &mut Sql) {
    if pattern.kind == PatternKind::Wildcard {
        out.push("LIKE ");
        out.param(Value::Text(like_pattern(pattern, false)));
        out.push(" ESCAPE '\\'");
    } else {
        out.push("= ");
        out.param(Value::Text(pattern.text.clone()));
    }
}

fn json_match(path: &str, pattern: &Pattern, out: &mut Sql) {
    out.push("json_extract(d.doc, ");
    out.param(Value::Text(path.to_owned()));
    out.push(") ");
    match pattern.kind {
        PatternKind::Wildcard => {
            out.push("LIKE ");
            out.param(Value::Text(like_pattern(pattern, false)));
            out.push(" ESCAPE '\\'");
        }
        _ => {
            // A JSON number or boolean never equals a text parameter, so those are offered
            // in their JSON form too; text compares case-insensitively like the columns.
            let text = &pattern.text;
            if let Ok(n) = text.parse::<f64>() {
                out.push("IN (");
                out.param(Value::Text(text.clone()));
                out.push(", ");
                out.param(Value::Real(n));
                out.push(")");
            } else if text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false") {
                let b = text.eq_ignore_ascii_case("true");
                out.push("IN (");
                out.param(Value::Text(text.clone()));
                out.push(if b { ", 1)" } else { ", 0)" });
            } else {
                out.push("= ");
                out.param(Value::Text(text.clone()));
                out.push(" COLLATE NOCASE");
            }
        }
    }
}

/// Named vocabularies accept their names, wildcards over names, or the numeric id.
fn vocabulary<T>(
    col: &str,
    kind: &str,
    pattern: &Pattern,
    out: &mut Sql,
) -> Result<(), CompileError>
where
    T: std::str::FromStr<Err = tandem_model::UnknownName> + Copy + VocabularyItem,
{
    let ids: Vec<u16> = if pattern.kind == PatternKind::Wildcard {
        let re = wildcard_matcher(&pattern.text);
        T::all()
            .iter()
            .filter(|v| re(v.item_name()))
            .map(|v| v.item_uid())
            .collect()
    } else if let Ok(n) = pattern.text.parse::<u16>() {
        vec![n]
    } else {
        let v: T = pattern
            .text
            .parse()
            .map_err(|e: tandem_model::UnknownName| CompileError(format!("{e}")))?;
        vec![v.item_uid()]
    };
    if ids.is_empty() {
        return Err(CompileError(format!(
            "no {kind} matches `{}`",
            pattern.text
        )));
    }
    let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    let _ = write!(out.text, "{col} IN ({})", list.join(","));
    Ok(())
}

/// Uniform access to the model's vocabularies.
pub trait VocabularyItem: Sized + 'static {
    fn all() -> &'static [Self];
    fn item_name(&self) -> &'static str;
    fn item_uid(&self) -> u16;
}

macro_rules! vocabulary_item {
    ($($t:ty),*) => {$(
        impl VocabularyItem for $t {
            fn all() -> &'static [Self] { <$t>::ALL }
            fn item_name(&self) -> &'static str { self.name() }
            fn item_uid(&self) -> u16 { self.uid() }
        }
    )*};
}
vocabulary_item!(Class, Activity, Outcome, Severity);

/// Name of a vocabulary id for display in aggregations.
pub fn vocabulary_name(kind: ColumnKind, uid: i64) -> Option<&'static str> {
    let uid = u16::try_from(uid).ok()?;
    match kind {
        ColumnKind::Class => Class::from_uid(uid).map(|v| v.name()),
        ColumnKind::Activity => Activity::from_uid(uid).map(|v| v.name()),
        ColumnKind::Outcome => Outcome::from_uid(uid).map(|v| v.name()),
        ColumnKind::Severity => Severity::from_uid(uid).map(|v| v.name()),
        _ => None,
    }
}

fn wildcard_matcher(pattern: &str) -> impl Fn(&str) -> bool {
    let pattern: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    move |s: &str| {
        let s: Vec<char> = s.chars().collect();
        glob(&pattern, &s)
    }
}

/// Whether `s` matches the wildcard pattern `p`, in time proportional to their lengths'
/// product: a backtracking matcher takes exponential time on `*a*a*a*…`.
fn glob(p: &[char], s: &[char]) -> bool {
    // matches[j]: whether the pattern read so far matches `s[..j]`.
    let mut matches = vec![false; s.len() + 1];
    matches[0] = true;
    for &c in p {
        if c == '*' {
            for j in 1..=s.len() {
                matches[j] = matches[j] || matches[j - 1];
            }
        } else {
            for j in (1..=s.len()).rev() {
                matches[j] = matches[j - 1] && (c == '?' || s[j - 1] == c);
            }
            matches[0] = false;
        }
    }
    matches[s.len()]
}

fn compile_compare(
    field: &str,
    op: &str,
    value: &Literal,
    out: &mut Sql,
) -> Result<(), CompileError> {
    compare_at(&resolve_field(field), field, op, value, out)
}

fn compare_at(
    at: &FieldRef,
    field: &str,
    op: &str,
    value: &Literal,
    out: &mut Sql,
) -> Result<(), CompileError> {
    match at {
        FieldRef::Column(col, kind) => {
            let v = literal_for(*kind, value, field)?;
            let _ = write!(out.text, "{col} {op} ");
            out.param(v);
        }
        FieldRef::Json(path) => {
            out.push("json_extract(d.doc, ");
            out.param(Value::Text(path.clone()));
            let _ = write!(out.text, ") {op} ");
            out.param(match value {
                Literal::Number(n) => Value::Real(*n),
                Literal::Time(t) => {
                    Value::Text(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
                }
                Literal::Text(s) => Value::Text(s.clone()),
            });
        }
        FieldRef::AnyIp => {
            return Err(CompileError(format!(
                "`{field}` cannot be compared with {op}; use src.ip or dst.ip"
            )));
        }
        FieldRef::Spanned { own, .. } => compare_at(own, field, op, value, out)?,
    }
    Ok(())
}

/// Converts a literal to the column's storage form, or explains why it cannot be.
fn literal_for(kind: ColumnKind, value: &Literal, field: &str) -> Result<Value, CompileError> {
    match (kind, value) {
        (ColumnKind::Time, Literal::Time(t)) => Ok(Value::Integer(t.timestamp_micros())),
        // A bare number against a time field reads as epoch seconds.
        (ColumnKind::Time, Literal::Number(n)) => Ok(Value::Integer((*n * 1e6) as i64)),
        (ColumnKind::Time, Literal::Text(s)) => {
            tandem_query::parse_time_bound(s, chrono::Utc::now())
                .map(|t| Value::Integer(t.timestamp_micros()))
                .map_err(|_| {
                    CompileError(format!(
                        "`{field}` needs a time such as 2026-11-25T08:00:00Z, not `{s}`"
                    ))
                })
        }
        (ColumnKind::Text, Literal::Text(s)) => Ok(Value::Text(s.clone())),
        (ColumnKind::Text, Literal::Number(n)) => Ok(Value::Text(n.to_string())),
        (ColumnKind::Text, Literal::Time(t)) => Ok(Value::Text(t.to_rfc3339())),
        (_, Literal::Number(n)) => Ok(Value::Integer(*n as i64)),
        (_, Literal::Text(s)) => s
            .parse::<i64>()
            .map(Value::Integer)
            .map_err(|_| CompileError(format!("`{field}` needs a number, not `{s}`"))),
        (_, Literal::Time(_)) => Err(CompileError(format!(
            "`{field}` needs a number, not a time"
        ))),
    }
}

/// Free text: the full-text index where the segment has one, the same word matching
/// (`tandem_text`, see [`super::words`]) over the newest rows that are not indexed yet.
///
/// Patterns that are not words (only punctuation, `--`) and wildcards other than one trailing
/// `*` are beyond a word index; those are matched as a `LIKE` pattern anywhere in the
/// message and raw text, in every segment alike.
fn compile_text(pattern: &Pattern, text: TextIndex, out: &mut Sql) {
    let Some(words) = word_query(pattern) else {
        let like = Value::Text(like_pattern(pattern, true));
        out.push("(d.message LIKE ");
        out.param(like.clone());
        out.push(" ESCAPE '\\' OR d.raw LIKE ");
        out.param(like);
        out.push(" ESCAPE '\\')");
        return;
    };
    let scan = |out: &mut Sql| {
        out.push("tandem_text(");
        out.param(Value::Text(words.phrase.clone()));
        out.push(if words.prefix { ", 1" } else { ", 0" });
        out.push(", d.message, d.raw)");
    };
    let index = |out: &mut Sql| {
        let _ = write!(
            out.text,
            "e.rowid IN (SELECT rowid FROM fts_{} WHERE fts_{} MATCH ",
            text.segment, text.segment
        );
        out.param(Value::Text(words.fts.clone()));
        out.push(")");
    };
    if text.fts_upto >= text.max_rowid && text.fts_upto > 0 {
        index(out);
    } else if text.fts_upto == 0 {
        scan(out);
    } else {
        let _ = write!(out.text, "((e.rowid <= {} AND ", text.fts_upto);
        index(out);
        let _ = write!(out.text, ") OR (e.rowid > {} AND ", text.fts_upto);
        scan(out);
        out.push("))");
    }
}

/// A free-text pattern as words: the FTS5 query for indexed rows, and the phrase and prefix
/// flag for `tandem_text` on the rest.
#[derive(Debug, PartialEq)]
struct WordQuery {
    fts: String,
    phrase: String,
    prefix: bool,
}

/// The pattern as words, or `None` when it holds no word or uses wildcards a word index
/// cannot answer.
fn word_query(pattern: &Pattern) -> Option<WordQuery> {
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let (phrase, prefix) = match pattern.kind {
        PatternKind::Term | PatternKind::Phrase => (pattern.text.clone(), false),
        // FTS5 supports only a trailing `*` (prefix query).
        PatternKind::Wildcard => match pattern.wildcard_pieces().as_slice() {
            [WildcardPiece::Literal(stem), WildcardPiece::AnyRun] => (stem.clone(), true),
            _ => return None,
        },
    };
    if super::words::words(&phrase).is_empty() {
        return None;
    }
    let fts = if prefix {
        format!("{} *", quote(&phrase))
    } else {
        quote(&phrase)
    };
    Some(WordQuery {
        fts,
        phrase,
        prefix,
    })
}

/// Converts a pattern to a LIKE pattern (wildcards become `%`/`_`, everything else is
/// matched literally); `contains` wraps it in `%…%` for free text.
fn like_pattern(pattern: &Pattern, contains: bool) -> String {
    let mut out = String::with_capacity(pattern.text.len() + 2);
    if contains {
        out.push('%');
    }
    for piece in pattern.wildcard_pieces() {
        match piece {
            WildcardPiece::AnyRun => out.push('%'),
            WildcardPiece::AnyChar => out.push('_'),
            WildcardPiece::Literal(text) => text.chars().for_each(|c| escape_like(c, &mut out)),
        }
    }
    if contains {
        out.push('%');
    }
    out
}

fn escape_like(c: char, out: &mut String) {
    if matches!(c, '%' | '_' | '\\') {
        out.push('\\');
    }
    out.push(c);
}

#[cfg(test)]
mod tests {

    /// The fields the console suggests are the ones with a column: quick to filter and count.
    #[test]
    fn suggested_fields_have_columns() {
        for (name, _) in crate::SEARCH_FIELDS {
            let own = match resolve_field(name) {
                FieldRef::Spanned { own, .. } => *own,
                other => other,
            };
            assert!(
                matches!(own, FieldRef::Column(..) | FieldRef::AnyIp),
                "{name}"
            );
        }
    }

    use super::*;

    #[test]
    fn wildcards_over_names_match_in_polynomial_time() {
        let g = |p: &str, s: &str| {
            glob(
                &p.chars().collect::<Vec<_>>(),
                &s.chars().collect::<Vec<_>>(),
            )
        };
        assert!(g("auth*", "authentication"));
        assert!(g("*tion", "authentication"));
        assert!(g("a?th*c*n", "authentication"));
        assert!(g("*", ""));
        assert!(!g("?", ""));
        assert!(!g("auth", "authentication"));
        assert!(!g("*x*", "authentication"));
        // Exponential for a backtracking matcher; instant here.
        assert!(!g(&"*a".repeat(16), &"a".repeat(15)));
        assert!(g(&"*a".repeat(16), &"a".repeat(40)));
    }

    #[test]
    fn long_boolean_chains_compile_to_a_shallow_tree() {
        let parts: Vec<Expr> = (0..999)
            .map(|i| Expr::Match {
                field: "user".into(),
                pattern: Pattern::term(format!("u{i}")),
            })
            .collect();
        let text = TextIndex {
            segment: 1,
            fts_upto: 0,
            max_rowid: 0,
        };
        let mut sql = Sql::default();
        compile_expr(&Expr::Or(parts), text, &mut sql).unwrap();
        assert_eq!(sql.params.len(), 999);
        let mut depth = 0usize;
        let mut deepest = 0;
        for c in sql.text.chars() {
            match c {
                '(' => {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                ')' => depth -= 1,
                _ => {}
            }
        }
        assert!(deepest <= 11, "{deepest}");
    }

    #[test]
    fn json_paths_quote_odd_names() {
        assert_eq!(json_path("actor.badge"), "$.actor.badge");
        assert_eq!(json_path("attrs.Target User"), "$.attrs.\"Target User\"");
    }

    #[test]
    fn like_patterns_escape_sql_wildcards() {
        let w = |t: &str| Pattern {
            text: t.into(),
            kind: PatternKind::Wildcard,
        };
        assert_eq!(like_pattern(&w("50%_off*"), false), "50\\%\\_off%");
        assert_eq!(like_pattern(&w("a?c"), true), "%a_c%");
        assert_eq!(like_pattern(&w("a\\*b*"), false), "a*b%");
        let t = Pattern {
            text: "100%".into(),
            kind: PatternKind::Term,
        };
        assert_eq!(like_pattern(&t, true), "%100\\%%");
    }

    #[test]
    fn fts_handles_words_and_prefixes_only() {
        let p = |text: &str, kind| Pattern {
            text: text.into(),
            kind,
        };
        let fts = |text: &str, kind| word_query(&p(text, kind)).map(|w| w.fts);
        assert_eq!(
            fts("fail*", PatternKind::Wildcard).as_deref(),
            Some("\"fail\" *")
        );
        assert_eq!(fts("*fail", PatternKind::Wildcard), None);
        assert_eq!(
            fts("say \"hi\"", PatternKind::Phrase).as_deref(),
            Some("\"say \"\"hi\"\"\"")
        );
        // No word in it: matched as text, in every segment alike.
        assert_eq!(fts("--", PatternKind::Term), None);
        assert_eq!(fts("^*", PatternKind::Wildcard), None);
        assert_eq!(
            word_query(&p("^durtest", PatternKind::Term)),
            Some(WordQuery {
                fts: "\"^durtest\"".into(),
                phrase: "^durtest".into(),
                prefix: false
            })
        );
    }
}
