//! Unit tests: one or more per construct and per error message.

use super::*;
use chrono::{TimeZone, Utc};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

fn q(input: &str) -> Query {
    parse_at(input, now()).unwrap_or_else(|e| panic!("{input:?}: {}", e.render(input)))
}

fn f(input: &str) -> Expr {
    let query = q(input);
    assert_eq!(query.pipe, None, "{input:?}");
    query.filter
}

fn err(input: &str) -> ParseError {
    match parse_at(input, now()) {
        Ok(query) => panic!("{input:?} parsed as {query:?}"),
        Err(e) => e,
    }
}

/// Assert the error message and position for `input`.
fn fails(input: &str, message: &str, position: usize) {
    let e = err(input);
    assert_eq!(
        (e.message.as_str(), e.position),
        (message, position),
        "{input:?}"
    );
}

fn m(field: &str, pattern: Pattern) -> Expr {
    Expr::Match {
        field: field.into(),
        pattern,
    }
}

fn term(field: &str, text: &str) -> Expr {
    m(field, Pattern::term(text))
}

fn text(t: &str) -> Expr {
    Expr::Text(Pattern::term(t))
}

fn not(e: Expr) -> Expr {
    Expr::Not(Box::new(e))
}

fn cmp(field: &str, op: CmpOp, value: Literal) -> Expr {
    Expr::Compare {
        field: field.into(),
        op,
        value,
    }
}

fn num(n: f64) -> Literal {
    Literal::Number(n)
}

fn incl(value: Literal) -> Option<Bound> {
    Some(Bound {
        value,
        inclusive: true,
    })
}

fn excl(value: Literal) -> Option<Bound> {
    Some(Bound {
        value,
        inclusive: false,
    })
}

fn range(field: &str, lower: Option<Bound>, upper: Option<Bound>) -> Expr {
    Expr::Range {
        field: field.into(),
        lower,
        upper,
    }
}

// ---- match-all ----

#[test]
fn empty_and_star_match_everything() {
    assert_eq!(f(""), Expr::All);
    assert_eq!(f("   \t\n"), Expr::All);
    assert_eq!(f("*"), Expr::All);
    assert_eq!(f("  *  "), Expr::All);
}

// ---- field terms ----

#[test]
fn field_terms_with_dotted_paths() {
    assert_eq!(f("user:alice"), term("user", "alice"));
    assert_eq!(f("actor.user:alice"), term("actor.user", "alice"));
    assert_eq!(f("place.site:hq-1"), term("place.site", "hq-1"));
    assert_eq!(f("labels.env:prod"), term("labels.env", "prod"));
    assert_eq!(
        f("attrs.TargetUserName:Administrator"),
        term("attrs.TargetUserName", "Administrator")
    );
    assert_eq!(f("@timestamp:x"), term("@timestamp", "x"));
    assert_eq!(f("my_field-2:x"), term("my_field-2", "x"));
}

#[test]
fn values_keep_dots_slashes_at_and_colons() {
    assert_eq!(f("src.ip:10.0.0.1"), term("src.ip", "10.0.0.1"));
    assert_eq!(f("ip:fe80::1"), term("ip", "fe80::1"));
    assert_eq!(f("ip:::1"), term("ip", "::1"));
    assert_eq!(
        f("url:http://x.example/a/b"),
        term("url", "http://x.example/a/b")
    );
    assert_eq!(
        f("email:alice@example.com"),
        term("email", "alice@example.com")
    );
    assert_eq!(
        f("t:2026-11-25T08:00:00Z"),
        term("t", "2026-11-25T08:00:00Z")
    );
    assert_eq!(f("temp:-5"), term("temp", "-5"));
    assert_eq!(f("user:ÄÖü名前"), term("user", "ÄÖü名前"));
}

#[test]
fn quoted_values_and_escapes() {
    assert_eq!(
        f(r#"user:"alice smith""#),
        m("user", Pattern::phrase("alice smith"))
    );
    assert_eq!(
        f(r#"msg:"say \"hi\"""#),
        m("msg", Pattern::phrase(r#"say "hi""#))
    );
    assert_eq!(
        f(r#"path:"C:\\Windows""#),
        m("path", Pattern::phrase(r"C:\Windows"))
    );
    // Other backslashes stay as written inside quotes.
    assert_eq!(
        f(r#"path:"C:\Windows""#),
        m("path", Pattern::phrase(r"C:\Windows"))
    );
    assert_eq!(f(r#"user:"""#), m("user", Pattern::phrase("")));
    assert_eq!(f(r#"msg:"fail*""#), m("msg", Pattern::phrase("fail*")));
}

#[test]
fn whitespace_after_colon_is_allowed() {
    assert_eq!(f("user: alice"), term("user", "alice"));
    assert_eq!(f("user:  \"a b\""), m("user", Pattern::phrase("a b")));
}

#[test]
fn wildcards() {
    assert_eq!(f("host:web-*"), m("host", Pattern::wildcard("web-*")));
    assert_eq!(f("host:w?b"), m("host", Pattern::wildcard("w?b")));
    assert_eq!(f("host:*web"), m("host", Pattern::wildcard("*web")));
    // Escaped wildcard characters are literal: a Term without any wildcard, or kept
    // escaped inside a Wildcard.
    assert_eq!(f(r"name:a\*b"), term("name", "a*b"));
    assert_eq!(f(r"name:a\*b*"), m("name", Pattern::wildcard(r"a\*b*")));
    assert_eq!(f(r"name:a\\b*"), m("name", Pattern::wildcard(r"a\\b*")));
    assert_eq!(f(r"name:a\(b*"), m("name", Pattern::wildcard("a(b*")));
    assert_eq!(f("fail*"), Expr::Text(Pattern::wildcard("fail*")));
}

#[test]
fn wildcard_pieces_resolve_escapes() {
    let p = Pattern::wildcard(r"a\*b*c?");
    assert_eq!(
        p.wildcard_pieces(),
        vec![
            WildcardPiece::Literal("a*b".into()),
            WildcardPiece::AnyRun,
            WildcardPiece::Literal("c".into()),
            WildcardPiece::AnyChar,
        ]
    );
    assert_eq!(
        Pattern::term("a*").wildcard_pieces(),
        vec![WildcardPiece::Literal("a*".into())]
    );
}

#[test]
fn field_star_is_exists() {
    assert_eq!(
        f("labels.env:*"),
        Expr::Exists {
            field: "labels.env".into()
        }
    );
    assert_eq!(
        f("labels.env:* AND x"),
        Expr::And(vec![
            Expr::Exists {
                field: "labels.env".into()
            },
            text("x")
        ])
    );
    assert_eq!(f(r"f:\*"), term("f", "*"));
}

#[test]
fn splunk_equals_and_not_equals() {
    assert_eq!(f("user=alice"), term("user", "alice"));
    assert_eq!(f("user!=alice"), not(term("user", "alice")));
    assert_eq!(f("user=\"a b\""), m("user", Pattern::phrase("a b")));
}

#[test]
fn field_groups_apply_the_field_to_each_value() {
    assert_eq!(
        f("user:(alice OR bob)"),
        Expr::Or(vec![term("user", "alice"), term("user", "bob")])
    );
    assert_eq!(
        f("user:(alice -bob \"c d\" x*)"),
        Expr::And(vec![
            term("user", "alice"),
            not(term("user", "bob")),
            m("user", Pattern::phrase("c d")),
            m("user", Pattern::wildcard("x*")),
        ])
    );
    assert_eq!(
        f("bytes:(>10 AND <20)"),
        Expr::And(vec![
            cmp("bytes", CmpOp::Gt, num(10.0)),
            cmp("bytes", CmpOp::Lt, num(20.0))
        ])
    );
    // Inside the group every word is a value, colons included.
    assert_eq!(
        f("ip:(fe80::1 OR ::1)"),
        Expr::Or(vec![term("ip", "fe80::1"), term("ip", "::1")])
    );
}

// ---- comparisons and ranges ----

#[test]
fn comparisons_with_colon() {
    assert_eq!(f("bytes:>10"), cmp("bytes", CmpOp::Gt, num(10.0)));
    assert_eq!(f("bytes:>=10"), cmp("bytes", CmpOp::Ge, num(10.0)));
    assert_eq!(f("bytes:<10.5"), cmp("bytes", CmpOp::Lt, num(10.5)));
    assert_eq!(f("bytes:<=-3"), cmp("bytes", CmpOp::Le, num(-3.0)));
    assert_eq!(f("bytes:>1e3"), cmp("bytes", CmpOp::Gt, num(1000.0)));
}

#[test]
fn comparisons_without_colon() {
    assert_eq!(f("bytes>10"), cmp("bytes", CmpOp::Gt, num(10.0)));
    assert_eq!(f("bytes>=10"), cmp("bytes", CmpOp::Ge, num(10.0)));
    assert_eq!(f("bytes<10"), cmp("bytes", CmpOp::Lt, num(10.0)));
    assert_eq!(f("bytes<=10"), cmp("bytes", CmpOp::Le, num(10.0)));
    // KQL style, with spaces.
    assert_eq!(f("bytes >= 10"), cmp("bytes", CmpOp::Ge, num(10.0)));
}

#[test]
fn literal_classification() {
    assert_eq!(
        f("t:>=2026-11-25T08:00:00Z"),
        cmp("t", CmpOp::Ge, Literal::Time(utc(2026, 11, 25, 8, 0, 0)))
    );
    assert_eq!(
        f("t:<2026-11-01"),
        cmp("t", CmpOp::Lt, Literal::Time(utc(2026, 11, 1, 0, 0, 0)))
    );
    assert_eq!(
        f("t:>now-1h"),
        cmp("t", CmpOp::Gt, Literal::Time(utc(2026, 11, 25, 11, 0, 0)))
    );
    assert_eq!(
        f("t:>-24h"),
        cmp("t", CmpOp::Gt, Literal::Time(utc(2026, 11, 24, 12, 0, 0)))
    );
    assert_eq!(
        f("name:>m"),
        cmp("name", CmpOp::Gt, Literal::Text("m".into()))
    );
    // Quoted values are always text.
    assert_eq!(
        f("code:>\"10\""),
        cmp("code", CmpOp::Gt, Literal::Text("10".into()))
    );
    // Numbers win over epoch times; non-finite numbers stay text.
    assert_eq!(
        f("x:>1732521600"),
        cmp("x", CmpOp::Gt, num(1_732_521_600.0))
    );
    assert_eq!(
        f("x:>inf"),
        cmp("x", CmpOp::Gt, Literal::Text("inf".into()))
    );
    assert_eq!(
        f("x:>NaN"),
        cmp("x", CmpOp::Gt, Literal::Text("NaN".into()))
    );
}

#[test]
fn ranges() {
    assert_eq!(
        f("bytes:[10 TO 20]"),
        range("bytes", incl(num(10.0)), incl(num(20.0)))
    );
    assert_eq!(
        f("bytes:{10 TO 20}"),
        range("bytes", excl(num(10.0)), excl(num(20.0)))
    );
    assert_eq!(
        f("bytes:[10 TO 20}"),
        range("bytes", incl(num(10.0)), excl(num(20.0)))
    );
    assert_eq!(
        f("bytes:{10 TO 20]"),
        range("bytes", excl(num(10.0)), incl(num(20.0)))
    );
    assert_eq!(f("bytes:[* TO 20]"), range("bytes", None, incl(num(20.0))));
    assert_eq!(f("bytes:[10 TO *]"), range("bytes", incl(num(10.0)), None));
    assert_eq!(
        f("bytes:[ 10   to 20 ]"),
        range("bytes", incl(num(10.0)), incl(num(20.0)))
    );
    assert_eq!(
        f("t:[2026-11-24 TO now]"),
        range(
            "t",
            incl(Literal::Time(utc(2026, 11, 24, 0, 0, 0))),
            incl(Literal::Time(now()))
        )
    );
    assert_eq!(
        f("user:[a TO \"m z\"]"),
        range(
            "user",
            incl(Literal::Text("a".into())),
            incl(Literal::Text("m z".into()))
        )
    );
}

// ---- free text ----

#[test]
fn free_text() {
    assert_eq!(f("failed"), text("failed"));
    assert_eq!(
        f("\"logon failure\""),
        Expr::Text(Pattern::phrase("logon failure"))
    );
    assert_eq!(f("fail*"), Expr::Text(Pattern::wildcard("fail*")));
    assert_eq!(f("10.0.0.1"), text("10.0.0.1"));
    assert_eq!(f("café"), text("café"));
    assert_eq!(f(r"a\:b"), text("a:b"));
    assert_eq!(f(r"\and"), text("and"));
    assert_eq!(f("ANDROID"), text("ANDROID"));
    assert_eq!(f("And"), text("And"));
    // Brackets without `TO` are ordinary characters of a log word.
    assert_eq!(f("[ERROR] x"), Expr::And(vec![text("[ERROR]"), text("x")]));
    assert_eq!(f("{json}"), text("{json}"));
}

// ---- booleans ----

#[test]
fn boolean_keywords_and_symbols() {
    let ab = Expr::And(vec![text("a"), text("b")]);
    let a_or_b = Expr::Or(vec![text("a"), text("b")]);
    assert_eq!(f("a AND b"), ab);
    assert_eq!(f("a and b"), ab);
    assert_eq!(f("a && b"), ab);
    assert_eq!(f("a&&b"), text("a&&b"));
    assert_eq!(f("a b"), ab);
    assert_eq!(f("a OR b"), a_or_b);
    assert_eq!(f("a or b"), a_or_b);
    assert_eq!(f("a || b"), a_or_b);
    assert_eq!(f("NOT a"), not(text("a")));
    assert_eq!(f("not a"), not(text("a")));
    assert_eq!(f("-a"), not(text("a")));
    assert_eq!(f("!a"), not(text("a")));
    assert_eq!(f("-user:alice"), not(term("user", "alice")));
    assert_eq!(f("-(a b)"), not(ab.clone()));
    assert_eq!(f("NOT(a b)"), not(ab));
    assert_eq!(f("NOT NOT a"), not(not(text("a"))));
}

#[test]
fn precedence_not_and_or() {
    // a OR (b AND (NOT c))
    assert_eq!(
        f("a OR b AND NOT c"),
        Expr::Or(vec![text("a"), Expr::And(vec![text("b"), not(text("c"))])])
    );
    // (a AND b) OR c, implicit AND binding tighter than OR.
    assert_eq!(
        f("a b OR c"),
        Expr::Or(vec![Expr::And(vec![text("a"), text("b")]), text("c")])
    );
    assert_eq!(
        f("(a OR b) c"),
        Expr::And(vec![Expr::Or(vec![text("a"), text("b")]), text("c")])
    );
    assert_eq!(f("NOT a OR b"), Expr::Or(vec![not(text("a")), text("b")]));
}

#[test]
fn nested_operators_are_flattened() {
    assert_eq!(
        f("a AND (b AND c) AND d"),
        Expr::And(vec![text("a"), text("b"), text("c"), text("d")])
    );
    assert_eq!(
        f("(a OR b) OR (c OR d)"),
        Expr::Or(vec![text("a"), text("b"), text("c"), text("d")])
    );
    assert_eq!(f("((a))"), text("a"));
}

#[test]
fn star_inside_compound_is_kept() {
    assert_eq!(f("a AND *"), Expr::And(vec![text("a"), Expr::All]));
    assert_eq!(f("NOT *"), not(Expr::All));
}

#[test]
fn whitespace_and_newlines_anywhere() {
    assert_eq!(
        f("\n ( user:alice\tOR\r\nuser:bob )\n"),
        Expr::Or(vec![term("user", "alice"), term("user", "bob")])
    );
}

// ---- pipes ----

#[test]
fn count_pipes() {
    assert_eq!(q("| count").pipe, Some(Pipe::Count { by: vec![] }));
    assert_eq!(q("x | count").pipe, Some(Pipe::Count { by: vec![] }));
    assert_eq!(q("* | count").filter, Expr::All);
    let by = Some(Pipe::Count {
        by: vec!["a".into(), "b.c".into()],
    });
    assert_eq!(q("x | count by a, b.c").pipe, by);
    assert_eq!(q("x | count by a b.c").pipe, by);
    assert_eq!(q("x|count by a,b.c").pipe, by);
    assert_eq!(q("x | COUNT BY a , b.c ").pipe, by);
}

#[test]
fn timechart_pipes() {
    let plain = Some(Pipe::Timechart {
        span_seconds: 3600,
        by: None,
    });
    assert_eq!(q("x | timechart 1h count").pipe, plain);
    assert_eq!(q("x | timechart 1h").pipe, plain);
    assert_eq!(q("x | timechart span=1h count").pipe, plain);
    assert_eq!(q("x | timechart count span=1h").pipe, plain);
    let by = Some(Pipe::Timechart {
        span_seconds: 300,
        by: Some("src.ip".into()),
    });
    assert_eq!(q("x | timechart span=5m count by src.ip").pipe, by);
    assert_eq!(q("x | timechart 5m by src.ip").pipe, by);
}

// ---- errors ----

#[test]
fn error_missing_value() {
    fails("user:", "expected a value after `user:`", 5);
    fails("user: ", "expected a value after `user:`", 6);
    fails("user: AND x", "expected a value after `user:`", 6);
    fails("(user:)", "expected a value after `user:`", 6);
    fails("user: | count", "expected a value after `user:`", 6);
    fails("bytes:>", "expected a value after `bytes:>`", 7);
    fails("bytes >=", "expected a value after `bytes >=`", 8);
    fails("user!=", "expected a value after `user!=`", 6);
}

#[test]
fn error_parentheses() {
    fails("user:alice AND (", "expected a search term after `(`", 16);
    fails("(a OR b", "unclosed parenthesis opened at position 0", 7);
    fails(
        "x AND (a OR b | count",
        "unclosed parenthesis opened at position 6",
        14,
    );
    fails("a)", "unexpected `)` with no matching `(`", 1);
    fails(")", "unexpected `)` with no matching `(`", 0);
    fails("()", "expected a search term after `(`", 1);
    fails("user:(a", "unclosed parenthesis opened at position 5", 7);
}

#[test]
fn error_operators_without_operands() {
    fails("a AND", "expected a search term after `AND`", 5);
    fails("a and ", "expected a search term after `and`", 6);
    fails("a OR", "expected a search term after `OR`", 4);
    fails("a ||", "expected a search term after `||`", 4);
    fails("a && )", "expected a search term after `&&`", 5);
    fails("a AND OR b", "expected a search term after `AND`", 6);
    fails("NOT", "expected a search term after `NOT`", 3);
    fails("a NOT | count", "expected a search term after `NOT`", 6);
    fails("AND a", "expected a search term before `AND`", 0);
    fails("  || a", "expected a search term before `||`", 2);
    fails("a - b", "expected a search term right after `-`", 3);
    fails("a !", "expected a search term right after `!`", 3);
}

#[test]
fn error_quotes_and_escapes() {
    fails("msg:\"abc", "unterminated quoted string", 4);
    fails("a \"b c", "unterminated quoted string", 2);
    fails("a \"b \\\"", "unterminated quoted string", 2);
    fails(
        "abc\\",
        "expected a character after `\\`; write `\\\\` for a backslash",
        3,
    );
}

#[test]
fn error_ranges() {
    fails(
        "[1 TO 2]",
        "a range needs a field name in front, as in `bytes:[10 TO 20]`",
        0,
    );
    fails(
        "a {* to 2",
        "a range needs a field name in front, as in `bytes:[10 TO 20]`",
        2,
    );
    fails(
        "b:[1 2]",
        "expected `TO` after the lower bound of the range",
        5,
    );
    fails(
        "b:[1 TO 2",
        "expected `]` or `}` to close the range opened at position 2",
        9,
    );
    fails(
        "b:[1 TO 2)",
        "expected `]` or `}` to close the range opened at position 2",
        9,
    );
    fails("b:[]", "expected a lower bound after `[`", 3);
    fails(
        "b:{ TO 2]",
        "expected `TO` after the lower bound of the range",
        7,
    );
    fails("b:[1 TO ]", "expected an upper bound after `TO`", 8);
}

#[test]
fn error_pipes() {
    fails(
        "x | cuont",
        "unknown pipe command `cuont`; expected `count` or `timechart`",
        4,
    );
    fails("x |", "expected `count` or `timechart` after `|`", 3);
    fails(
        "x | | count",
        "expected `count` or `timechart` after `|`",
        4,
    );
    fails("x | timechart", "`timechart` needs a span such as 1h", 13);
    fails(
        "x | timechart count by a",
        "`timechart` needs a span such as 1h",
        13,
    );
    fails(
        "x | timechart 1x",
        "invalid span `1x`; expected a number and a unit s, m, h, d or w, such as 1h",
        14,
    );
    fails(
        "x | timechart span=0s",
        "span must be greater than zero",
        19,
    );
    fails("x | timechart 1h 2h", "`timechart` span given twice", 17);
    fails("x | timechart 1h count count", "`count` given twice", 23);
    fails(
        "x | timechart 1h by a, b",
        "`timechart` splits by one field only; use `count by a, b` for several",
        21,
    );
    fails(
        "x | timechart 1h sum",
        "unexpected `sum` in `timechart`; expected a span such as 1h, `count` or `by` and a field",
        17,
    );
    fails(
        "x | count | timechart 1h",
        "only one pipe is allowed; found a second `|`",
        10,
    );
    fails(
        "x | count by a | count",
        "only one pipe is allowed; found a second `|`",
        15,
    );
    fails(
        "x | count foo",
        "unexpected `foo` after `count`; expected `by` and field names",
        10,
    );
    fails("x | count by", "expected a field name after `by`", 12);
    fails("x | count by a,", "expected a field name after `,`", 15);
    fails(
        "x | count by a:b",
        "invalid field name `a:b`; field names use letters, digits, `_`, `-`, `.` and `@`",
        13,
    );
}

#[test]
fn error_deep_nesting_is_reported_not_overflowed() {
    let deep = "(".repeat(100_000);
    assert!(err(&deep).message.contains("nests too deeply"));
    let negations = format!("{}a", "-".repeat(100_000));
    assert!(err(&negations).message.contains("nests too deeply"));
    let nots = "NOT ".repeat(50_000) + "a";
    assert!(err(&nots).message.contains("nests too deeply"));
    // Reasonable nesting is fine.
    let ok = format!("{}a{}", "(".repeat(99), ")".repeat(99));
    assert_eq!(f(&ok), text("a"));
}

#[test]
fn render_draws_a_caret() {
    let input = "user:alice AND (";
    assert_eq!(
        err(input).render(input),
        "user:alice AND (\n                ^ expected a search term after `(`"
    );
    let input = "x | cuont";
    assert_eq!(
        err(input).render(input),
        "x | cuont\n    ^ unknown pipe command `cuont`; expected `count` or `timechart`"
    );
    // Only the line holding the error is shown; columns count characters, not bytes.
    let input = "a\nnäme:";
    assert_eq!(
        err(input).render(input),
        "näme:\n     ^ expected a value after `näme:`"
    );
    // Out-of-range positions are clamped.
    assert_eq!(ParseError::new("m", 99).render("ab"), "ab\n  ^ m");
}

#[test]
fn error_display_includes_position() {
    assert_eq!(
        err("user:").to_string(),
        "expected a value after `user:` (at position 5)"
    );
}

// ---- time bounds and spans ----

#[test]
fn time_bounds_absolute() {
    let t = |s: &str| parse_time_bound(s, now()).unwrap_or_else(|e| panic!("{s}: {e}"));
    assert_eq!(t("2026-11-25T08:00:00Z"), utc(2026, 11, 25, 8, 0, 0));
    assert_eq!(t("2026-11-25T09:00:00+01:00"), utc(2026, 11, 25, 8, 0, 0));
    assert_eq!(
        t("2026-11-25T08:00:00.250Z").timestamp_millis(),
        utc(2026, 11, 25, 8, 0, 0).timestamp_millis() + 250
    );
    assert_eq!(t("2026-11-25 08:00:00Z"), utc(2026, 11, 25, 8, 0, 0));
    assert_eq!(t("2026-11-25"), utc(2026, 11, 25, 0, 0, 0));
    assert_eq!(t("2026-11-25T08:00"), utc(2026, 11, 25, 8, 0, 0));
    assert_eq!(t("2026-11-25 08:00:00"), utc(2026, 11, 25, 8, 0, 0));
    assert_eq!(t("2026-11-25T08:00Z"), utc(2026, 11, 25, 8, 0, 0));
    assert_eq!(t("2026-11-25T09:00+01:00"), utc(2026, 11, 25, 8, 0, 0));
    assert_eq!(t(" 2026-11-25 "), utc(2026, 11, 25, 0, 0, 0));
    assert_eq!(t("1795334400"), utc(2026, 11, 22, 8, 0, 0));
    assert_eq!(t("1795334400000"), utc(2026, 11, 22, 8, 0, 0));
    assert_eq!(t("0"), DateTime::UNIX_EPOCH);
}

#[test]
fn time_bounds_relative() {
    let t = |s: &str| parse_time_bound(s, now()).unwrap_or_else(|e| panic!("{s}: {e}"));
    assert_eq!(t("now"), now());
    assert_eq!(t("NOW"), now());
    assert_eq!(t("now-15m"), utc(2026, 11, 25, 11, 45, 0));
    assert_eq!(t("now-24h"), utc(2026, 11, 24, 12, 0, 0));
    assert_eq!(t("now-7d"), utc(2026, 11, 18, 12, 0, 0));
    assert_eq!(t("now+1h"), utc(2026, 11, 25, 13, 0, 0));
    assert_eq!(t("now-1w"), utc(2026, 11, 18, 12, 0, 0));
    assert_eq!(t("now-30s"), utc(2026, 11, 25, 11, 59, 30));
    assert_eq!(t("now-1d+2h"), utc(2026, 11, 24, 14, 0, 0));
    assert_eq!(t("-24h"), utc(2026, 11, 24, 12, 0, 0));
    assert_eq!(t("+1h"), utc(2026, 11, 25, 13, 0, 0));
    assert_eq!(t("15m"), utc(2026, 11, 25, 11, 45, 0));
}

#[test]
fn time_bound_errors() {
    let e = |s: &str| parse_time_bound(s, now()).unwrap_err();
    assert_eq!(
        e("").message,
        "expected a time; expected RFC 3339 (2026-11-25T08:00:00Z), a date (2026-11-25), epoch seconds or milliseconds, or a relative time such as now-15m or -24h"
    );
    assert!(
        e("yesterday")
            .message
            .starts_with("invalid time `yesterday`")
    );
    assert_eq!(e("2026-13-01").position, 0);
    assert_eq!(
        (e("now-15x").message.as_str(), e("now-15x").position),
        (
            "expected an offset such as 15m, 24h or 7d (units s, m, h, d, w)",
            4
        )
    );
    assert_eq!(e("now*2").position, 3);
    assert!(e("12345678901234").message.contains("14 digits"));
    assert_eq!(
        e("now-99999999999999w").message,
        "time offset is out of range"
    );
    assert_eq!(
        e("99999999999999999m").message,
        "time offset is out of range"
    );
}

#[test]
fn spans() {
    assert_eq!(parse_span("30s").unwrap(), 30);
    assert_eq!(parse_span("5m").unwrap(), 300);
    assert_eq!(parse_span("1h").unwrap(), 3600);
    assert_eq!(parse_span("1d").unwrap(), 86_400);
    assert_eq!(parse_span("1w").unwrap(), 604_800);
    assert_eq!(
        parse_span("0m").unwrap_err().message,
        "span must be greater than zero"
    );
    for bad in ["", "h", "1", "1x", "1hh", "-1h", "1.5h", " 1h"] {
        assert!(
            parse_span(bad)
                .unwrap_err()
                .message
                .starts_with("invalid span"),
            "{bad:?}"
        );
    }
    assert_eq!(
        parse_span("99999999999999999w").unwrap_err().message,
        "span `99999999999999999w` is too large"
    );
}

// ---- display ----

#[test]
fn display_is_canonical() {
    let cases = [
        ("user:alice  and   bob", "user:alice AND bob"),
        ("a b OR c", "a AND b OR c"),
        ("(a OR b) c", "(a OR b) AND c"),
        ("-(a b)", "NOT (a AND b)"),
        ("!a", "NOT a"),
        ("user=\"a b\"", "user:\"a b\""),
        ("bytes >= 10", "bytes:>=10"),
        ("b:{1 TO *]", "b:{1 TO *]"),
        ("b:[* TO 2}", "b:[* TO 2}"),
        ("t:>2026-11-25", "t:>2026-11-25T00:00:00Z"),
        ("t:>now-1h", "t:>2026-11-25T11:00:00Z"),
        ("n:>\"10\"", "n:>\"10\""),
        ("n:>abc", "n:>abc"),
        ("n:>\"now\"", "n:>\"now\""),
        ("\\and", "\\and"),
        ("a\\:b", "a\\:b"),
        ("\\-x", "\\-x"),
        ("web\\ server", "web\\ server"),
        ("fail*", "fail*"),
        ("x:a\\*b*", "x:a\\*b*"),
        ("user:(a OR b)", "user:a OR user:b"),
        ("", "*"),
        ("| count", "* | count"),
        ("x | count by a b", "x | count by a, b"),
        ("x | timechart span=60m", "x | timechart 1h count"),
        ("x | timechart 90s by h", "x | timechart 90s count by h"),
        ("x | timechart 2d", "x | timechart 2d count"),
    ];
    for (input, canonical) in cases {
        let query = q(input);
        assert_eq!(query.to_string(), canonical, "{input:?}");
        assert_eq!(q(canonical), query, "{canonical:?}");
    }
}

#[test]
fn format_spans() {
    assert_eq!(format_span(604_800), "1w");
    assert_eq!(format_span(1_209_600), "2w");
    assert_eq!(format_span(86_400 * 3), "3d");
    assert_eq!(format_span(7_200), "2h");
    assert_eq!(format_span(300), "5m");
    assert_eq!(format_span(61), "61s");
}

#[test]
fn a_query_holds_at_most_max_terms_terms() {
    let at_limit = vec!["user:u"; MAX_TERMS].join(" OR ");
    match f(&at_limit) {
        Expr::Or(items) => assert_eq!(items.len(), MAX_TERMS),
        other => panic!("{other:?}"),
    }
    let over = format!("{at_limit} OR extra");
    let e = err(&over);
    assert!(e.message.contains("at most 1000 terms"), "{}", e.message);
    assert_eq!(e.position, over.len() - "extra".len());
    // A field applied to a group counts its values, not itself.
    let grouped = format!("user:({})", vec!["u"; MAX_TERMS].join(" OR "));
    assert!(parse_at(&grouped, now()).is_ok());
    // Thousands of lone stars are thousands of terms.
    let stars = vec!["*"; 20_000].join(" ");
    assert!(err(&stars).message.contains("terms"));
}

#[test]
fn patterns_hold_a_bounded_number_of_wildcards_and_characters() {
    let ok = "*".repeat(MAX_WILDCARDS);
    assert!(parse_at(&format!("a{ok}"), now()).is_ok());
    let stars = "*".repeat(20_000);
    fails(
        &format!("user:x {stars}"),
        "a pattern may hold at most 16 wildcards (`*`, `?`); this one has 20000",
        7,
    );
    fails(
        &format!("host:{}", "a?".repeat(17)),
        "a pattern may hold at most 16 wildcards (`*`, `?`); this one has 17",
        5,
    );
    // Escaped wildcards are ordinary characters.
    assert!(parse_at(&"\\*".repeat(40), now()).is_ok());
    let long = "x".repeat(MAX_PATTERN_CHARS + 1);
    fails(
        &long,
        "a word or quoted phrase may be at most 1024 characters long",
        0,
    );
    fails(
        &format!("msg:\"{long}\""),
        "a word or quoted phrase may be at most 1024 characters long",
        4,
    );
    assert!(parse_at(&"é".repeat(MAX_PATTERN_CHARS), now()).is_ok());
}
