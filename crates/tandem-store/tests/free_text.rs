//! Free text finds the same events whether they are in the hot segment (scanned) or in a
//! sealed one (answered from its full-text index).

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::time::Instant;
use tandem_model::{Activity, Class, Event};
use tandem_store::{EventStore, SearchRequest, SearchResult, SqliteStore, StoreConfig, WriteBatch};

fn event(time: DateTime<Utc>, user: &str, message: &str, raw: &str) -> Event {
    let mut e = Event::new("test", Class::Authentication, Activity::Logon, time);
    e.actor.user = Some(user.to_owned());
    e.message = message.to_owned();
    e.set_raw(raw);
    e
}

/// Store whose first `rows` events fill exactly one segment: it stays hot until one more
/// event arrives.
fn store(rows: usize) -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        segment_rows: rows as u64,
        ..StoreConfig::default()
    };
    let store = SqliteStore::open(dir.path(), config).unwrap();
    (dir, store)
}

fn since_2020() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap()
}

/// Total and the ids found, or the error's text.
fn answer(store: &SqliteStore, q: &str) -> Result<(u64, BTreeSet<String>), String> {
    let query = tandem_query::parse(q).map_err(|e| e.to_string())?;
    let mut req = SearchRequest::new(query);
    req.from = Some(since_2020());
    req.limit = 1000;
    match store.search(&req).map_err(|e| e.to_string())? {
        SearchResult::Events(page) => Ok((
            page.total,
            page.events.iter().map(|e| e.id.to_string()).collect(),
        )),
        SearchResult::Aggregation(a) => Ok((a.total, BTreeSet::new())),
    }
}

/// Adds an event dated long before every search's window: the segment of the events before
/// it is sealed, and the event itself is never found.
fn seal(store: &SqliteStore) {
    let old = Utc.with_ymd_and_hms(2001, 1, 1, 0, 0, 0).unwrap();
    store
        .submit(WriteBatch::events(vec![event(
            old, "x", "sentinel", "sentinel",
        )]))
        .unwrap()
        .wait()
        .unwrap();
    let start = Instant::now();
    loop {
        let status = store.status().unwrap();
        if status.segments >= 2 && status.segments_sealing == 0 {
            break;
        }
        assert!(start.elapsed().as_secs() < 30, "sealing did not finish");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn submit(store: &SqliteStore, texts: &[(String, String)]) {
    let now = Utc::now();
    let events = texts
        .iter()
        .enumerate()
        .map(|(i, (message, raw))| {
            event(
                now - Duration::seconds(i as i64),
                &format!("user{}", i % 3),
                message,
                raw,
            )
        })
        .collect();
    store
        .submit(WriteBatch::events(events))
        .unwrap()
        .wait()
        .unwrap();
}

#[test]
fn punctuation_and_case_around_a_word_do_not_change_what_it_finds() {
    let texts: Vec<(String, String)> = [
        "durtest started",
        "(durtest) ok",
        "DURTEST: done",
        "dürtest naïve",
        "xdurtestx inside another word",
        "nothing here",
    ]
    .iter()
    .map(|m| (m.to_string(), format!("<13>host app: {m}")))
    .collect();
    let (_dir, store) = store(texts.len());
    submit(&store, &texts);
    let queries = [
        "durtest",
        "^durtest",
        "+durtest",
        "\"(durtest)\"",
        "DurTest",
        "durt*",
    ];
    for sealed in [false, true] {
        if sealed {
            seal(&store);
        }
        for q in queries {
            assert_eq!(answer(&store, q).unwrap().0, 4, "{q} (sealed: {sealed})");
        }
        assert_eq!(answer(&store, "\"durtest naive\"").unwrap().0, 1);
        assert_eq!(
            answer(&store, "*durtest*").unwrap().0,
            4,
            "a wildcard inside is text"
        );
    }
}

/// Pieces of messages: words in several cases and scripts, digits, and punctuation.
const WORDS: &[&str] = &[
    "durtest",
    "DurTest",
    "DURTEST",
    "dürtest",
    "café",
    "Cafe",
    "CAFÉ",
    "failed",
    "Failed",
    "password",
    "pass",
    "passwords",
    "10.0.0.1",
    "10",
    "user_name",
    "Ørsted",
    "ørsted",
    "日本語",
    "naïve",
    "naive",
    "x1",
    "İstanbul",
    "straße",
    "STRASSE",
    "ǅemal",
    "٣٤",
    "🙂ok",
];
const PUNCT: &[&str] = &[
    " ", " ", " ", "", "^", "+", "(", ")", "\"", "-", "_", ".", ":", "/", "\\", "%", "*", "?", "'",
    "—", "…", ", ", "\t",
];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (prop::sample::select(WORDS), prop::sample::select(PUNCT)),
        0..8,
    )
    .prop_map(|parts| parts.into_iter().map(|(w, p)| format!("{w}{p}")).collect())
}

/// One free-text term as a user might type it.
fn term() -> impl Strategy<Value = String> {
    let word = prop::sample::select(WORDS);
    let decoration = prop::sample::select(&["", "^", "+", ".", "_", "#", "@"][..]);
    prop_oneof![
        (decoration.clone(), word.clone(), decoration).prop_map(|(a, w, b)| format!("{a}{w}{b}")),
        (word.clone(), prop::sample::select(PUNCT), word.clone())
            .prop_map(|(a, p, b)| format!("\"{a}{p}{b}\"").replace("\"\"\"", "\"")),
        (word.clone(), 1usize..6).prop_map(|(w, n)| {
            let stem: String = w.chars().take(n).collect();
            format!("{stem}*")
        }),
        word.clone().prop_map(|w| format!("\"({w})\"")),
        word.prop_map(|w| format!("*{}", w.chars().skip(2).collect::<String>())),
    ]
}

fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        term(),
        (term(), term()).prop_map(|(a, b)| format!("{a} {b}")),
        (term(), term()).prop_map(|(a, b)| format!("{a} OR {b}")),
        (term(), term()).prop_map(|(a, b)| format!("{a} AND NOT {b}")),
        term().prop_map(|a| format!("user:user1 AND {a}")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Every query gives the same answer over the same events hot and sealed.
    #[test]
    fn searches_answer_the_same_before_and_after_sealing(
        texts in prop::collection::vec((text(), text()), 1..40),
        queries in prop::collection::vec(query(), 1..25),
    ) {
        let (_dir, store) = store(texts.len());
        submit(&store, &texts);
        let hot: Vec<_> = queries.iter().map(|q| answer(&store, q)).collect();
        seal(&store);
        for (q, before) in queries.iter().zip(hot) {
            let after = answer(&store, q);
            prop_assert_eq!(&before, &after, "query {:?} over {:?}", q, texts);
        }
    }
}
