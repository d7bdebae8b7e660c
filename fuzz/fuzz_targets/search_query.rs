//! The search language: any text is a query or an error pointing inside it; a query prints
//! back (Display) to text that parses to the same query and prints the same again.
#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use tandem_query::{ParseError, parse_at, parse_span, parse_time_bound};

fn now() -> DateTime<Utc> {
    "2026-11-25T12:00:00Z".parse().expect("a valid time")
}

fn check_error(input: &str, e: &ParseError) {
    assert!(
        e.position <= input.len(),
        "{input:?}: {e:?} points past the end"
    );
    assert!(!e.message.trim().is_empty(), "{input:?}: blank message");
    assert!(e.render(input).contains(&e.message));
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    match parse_at(input, now()) {
        Ok(query) => {
            let text = query.to_string();
            let again = match parse_at(&text, now()) {
                Ok(again) => again,
                Err(e) => panic!("{input:?} printed as {text:?}, which does not parse: {e}"),
            };
            assert_eq!(
                again, query,
                "{input:?} printed as {text:?}, which parses differently"
            );
            assert_eq!(again.to_string(), text, "printing is not stable");
        }
        Err(e) => check_error(input, &e),
    }
    // The `from`/`to` and span arguments that travel next to a query.
    if let Err(e) = parse_time_bound(input, now()) {
        check_error(input, &e);
    }
    if let Err(e) = parse_span(input) {
        check_error(input, &e);
    }
});
