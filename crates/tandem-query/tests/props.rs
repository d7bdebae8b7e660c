//! Property tests: printed queries parse back to the same AST, and no input panics.

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use tandem_query::{
    Bound, CmpOp, Expr, Literal, Pattern, PatternKind, Pipe, Query, parse, parse_at, parse_span,
    parse_time_bound,
};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z_@][a-zA-Z0-9_@-]{0,6}(\\.[a-zA-Z0-9_-]{1,6}){0,2}",
        Just("AND".to_string()),
        Just("not".to_string()),
        "[éß名a-z0-9]{1,4}",
    ]
}

#[derive(Debug, Clone)]
enum Piece {
    Lit(char),
    Star,
    One,
}

/// Wildcard text in the AST's escaped form, with at least one wildcard and never a lone
/// `*` (which reads as match-all / exists).
fn wildcard_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => any::<char>().prop_map(Piece::Lit),
        1 => prop::sample::select(vec!['*', '?', '\\', ' ', ':', '-']).prop_map(Piece::Lit),
        1 => Just(Piece::Star),
        1 => Just(Piece::One),
    ];
    prop::collection::vec(piece, 1..6)
        .prop_filter("needs a wildcard", |ps| {
            ps.iter().any(|p| !matches!(p, Piece::Lit(_)))
        })
        .prop_filter("lone star", |ps| !matches!(ps.as_slice(), [Piece::Star]))
        .prop_map(|ps| {
            let mut s = String::new();
            for p in ps {
                match p {
                    Piece::Lit(c @ ('*' | '?' | '\\')) => {
                        s.push('\\');
                        s.push(c);
                    }
                    Piece::Lit(c) => s.push(c),
                    Piece::Star => s.push('*'),
                    Piece::One => s.push('?'),
                }
            }
            s
        })
}

fn pattern() -> impl Strategy<Value = Pattern> {
    prop_oneof![
        "(?s).{1,8}".prop_map(Pattern::term),
        prop::sample::select(vec![
            "AND", "or", "Not", "-x", "*", "a:b", "x>1", "[a", "TO", "&&"
        ])
        .prop_map(Pattern::term),
        "(?s).{0,8}".prop_map(Pattern::phrase),
        wildcard_text().prop_map(Pattern::wildcard),
    ]
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        any::<f64>()
            .prop_filter("finite", |n| n.is_finite())
            .prop_map(Literal::Number),
        (-100i64..1_000_000, -1_000_000.0f64..1_000_000.0)
            .prop_map(|(a, b)| Literal::Number(a as f64 + b)),
        (
            0i64..253_402_300_799,
            prop_oneof![Just(0u32), 0u32..1_000_000_000]
        )
            .prop_map(|(s, n)| Literal::Time(DateTime::from_timestamp(s, n).unwrap())),
        "(?s).{0,8}".prop_map(Literal::Text),
        prop::sample::select(vec![
            "now",
            "TO",
            "abc",
            "15m",
            "2026-11-25",
            "inf",
            "*",
            "x y"
        ])
        .prop_map(|s| Literal::Text(s.to_string())),
    ]
}

fn bound() -> impl Strategy<Value = Option<Bound>> {
    prop::option::of(
        (literal(), any::<bool>()).prop_map(|(value, inclusive)| Bound { value, inclusive }),
    )
}

fn op() -> impl Strategy<Value = CmpOp> {
    prop::sample::select(vec![CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge])
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        1 => Just(Expr::All),
        4 => (field(), pattern()).prop_map(|(field, pattern)| Expr::Match { field, pattern }),
        2 => (field(), op(), literal()).prop_map(|(field, op, value)| Expr::Compare { field, op, value }),
        2 => (field(), bound(), bound()).prop_map(|(field, lower, upper)| Expr::Range { field, lower, upper }),
        1 => field().prop_map(|field| Expr::Exists { field }),
        3 => pattern().prop_map(Expr::Text),
    ]
}

/// The parser flattens `And` in `And` and `Or` in `Or`; generated trees must too.
fn normalize(e: Expr) -> Expr {
    fn flat(items: Vec<Expr>, and: bool) -> Vec<Expr> {
        let mut out = Vec::new();
        for item in items.into_iter().map(normalize) {
            match item {
                Expr::And(xs) if and => out.extend(xs),
                Expr::Or(xs) if !and => out.extend(xs),
                other => out.push(other),
            }
        }
        out
    }
    match e {
        Expr::And(xs) => Expr::And(flat(xs, true)),
        Expr::Or(xs) => Expr::Or(flat(xs, false)),
        Expr::Not(x) => Expr::Not(Box::new(normalize(*x))),
        other => other,
    }
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf()
        .prop_recursive(4, 40, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
                inner.prop_map(|e| Expr::Not(Box::new(e))),
            ]
        })
        .prop_map(normalize)
}

fn pipe() -> impl Strategy<Value = Option<Pipe>> {
    let pipe = prop_oneof![
        prop::collection::vec(field(), 0..3).prop_map(|by| Pipe::Count { by }),
        (1i64..10_000_000, prop::option::of(field()))
            .prop_map(|(span_seconds, by)| Pipe::Timechart { span_seconds, by }),
    ];
    prop::option::of(pipe)
}

/// Strings made of the language's own punctuation and keywords, to reach deep paths.
fn queryish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        "[a-z0-9.@_-]{1,5}",
        prop::sample::select(vec![
            " ",
            " ",
            ":",
            "(",
            ")",
            "\"",
            "\\",
            "*",
            "?",
            "|",
            "<",
            ">",
            "=",
            "!",
            "[",
            "]",
            "{",
            "}",
            "&&",
            "||",
            ",",
            "-",
            " AND ",
            " OR ",
            "NOT ",
            " TO ",
            "count",
            "timechart",
            " by ",
            "span=",
            "1h",
            "now-1h",
            "2026-11-25",
            "é",
            "\n",
        ])
        .prop_map(str::to_string),
    ];
    prop::collection::vec(token, 0..24).prop_map(|ts| ts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn display_then_parse_is_identity(filter in expr(), pipe in pipe()) {
        let query = Query { filter, pipe };
        let text = query.to_string();
        let parsed = parse_at(&text, now());
        prop_assert_eq!(parsed.as_ref().ok(), Some(&query), "printed as {:?}: {:?}", text, parsed);
    }

    #[test]
    fn parsed_queries_print_back_to_themselves(input in queryish()) {
        if let Ok(query) = parse_at(&input, now()) {
            let text = query.to_string();
            let again = parse_at(&text, now());
            prop_assert_eq!(again.as_ref().ok(), Some(&query), "{:?} printed as {:?}: {:?}", input, text, again);
        }
    }

    #[test]
    fn errors_point_inside_the_input(input in queryish()) {
        if let Err(e) = parse_at(&input, now()) {
            prop_assert!(e.position <= input.len(), "{:?}: {:?}", input, e);
            prop_assert!(e.render(&input).contains(&e.message));
        }
    }

    #[test]
    fn arbitrary_strings_never_panic(input in "(?s).{0,64}") {
        if let Err(e) = parse(&input) {
            e.render(&input);
        }
        if let Err(e) = parse_time_bound(&input, now()) {
            e.render(&input);
        }
        let _ = parse_time_bound(&input, DateTime::<Utc>::MAX_UTC);
        let _ = parse_time_bound(&input, DateTime::<Utc>::MIN_UTC);
        let _ = parse_span(&input);
    }

    #[test]
    fn time_like_strings_never_panic(input in "(now|NOW|-|\\+)?[0-9+\\-smhdwTZ: .]{0,24}") {
        let _ = parse_time_bound(&input, now());
        let _ = parse_time_bound(&input, DateTime::<Utc>::MAX_UTC);
        let _ = parse_span(&input);
        let _ = parse_at(&format!("t:>{input}"), DateTime::<Utc>::MIN_UTC);
    }
}

#[test]
fn phrase_kind_survives_printing() {
    let q = Query {
        filter: Expr::Text(Pattern {
            text: "a \"b\" \\c".into(),
            kind: PatternKind::Phrase,
        }),
        pipe: None,
    };
    assert_eq!(parse_at(&q.to_string(), now()).unwrap(), q);
}
