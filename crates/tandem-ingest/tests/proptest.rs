//! Property tests: no input makes a decoder or the framer panic, and framing round-trips.

use bytes::BytesMut;
use proptest::prelude::*;
use tandem_ingest::decode::{
    DecodeContext, DecodeError, Format, FramingError, SyslogFramer, decode_csv, decode_line,
    split_lines,
};
use tokio_util::codec::Decoder;

fn ctx() -> DecodeContext {
    DecodeContext::new("prop", "2026-01-01T00:00:30Z".parse().unwrap())
}

/// Lines that reach deep into the syslog and auth.log parsers before the random part.
const SYSLOG_PREFIXES: &[&str] = &[
    "",
    "<13>",
    "<34>1 ",
    "<165>1 2003-10-11T22:14:15.003Z host app 12 ID47 ",
    "<13>1 - - - - [",
    "Dec 31 23:59:59 host ",
    "Feb 29 12:00:00 host app: ",
    "2026-03-04T09:15:01+01:00 web-1 ",
    "Mar  4 09:15:01 web-1 sshd[1]: Accepted ",
    "Mar  4 09:15:01 web-1 sshd[1]: Failed password for ",
    "Mar  4 09:15:01 web-1 sshd[1]: Invalid user ",
    "Mar  4 09:15:01 web-1 sshd[1]: Disconnected from user ",
    "Mar  4 09:15:01 web-1 sshd[1]: pam_unix(sshd:session): session opened for user ",
    "Mar  4 09:15:01 web-1 sshd[1]: pam_unix(sshd:auth): authentication failure;",
    "Mar  4 09:15:01 web-1 passwd[1]: pam_unix(passwd:chauthtok): password changed for ",
    "Mar  4 09:15:01 web-1 sudo: ",
    "Mar  4 09:15:01 web-1 sudo: alice : ",
    "Mar  4 09:15:01 web-1 su[1]: ",
    "Mar  4 09:15:01 web-1 su[1]: FAILED SU (to ",
    "Mar  4 09:15:01 web-1 su[1]: (to ",
    "Mar  4 09:15:01 web-1 useradd[1]: new user: ",
    "Mar  4 09:15:01 web-1 userdel[1]: delete user ",
    "Mar  4 09:15:01 web-1 usermod[1]: add ",
    "Mar  4 09:15:01 web-1 usermod[1]: lock user ",
    "Mar  4 09:15:01 web-1 passwd[1]: password for ",
    "Mar  4 09:15:01 web-1 systemd-logind[1]: New session ",
    "Mar  4 09:15:01 web-1 systemd-logind[1]: Session ",
];

/// Text built from the characters the parsers split on.
const TOKENS: &str = "[ a-z0-9:;=()'\\[\\]<>.,/\"@\\-]{0,60}( from | port | ssh2| by | on | : | ; |COMMAND=|TTY=|USER=|user=|uid=|\\) )?[ a-z0-9:;='\\]\\-]{0,30}";

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let key = prop::sample::select(vec![
        "@timestamp",
        "timestamp",
        "time",
        "ts",
        "date",
        "eventTime",
        "message",
        "msg",
        "log",
        "user",
        "username",
        "name",
        "host",
        "hostname",
        "src_ip",
        "ip",
        "source",
        "port",
        "client_ip",
        "dst_ip",
        "destination",
        "class",
        "activity",
        "outcome",
        "severity",
        "id",
        "ingest_time",
        "actor",
        "src",
        "place",
        "labels",
        "attrs",
        "raw",
        "observed_time",
        "x",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z0-9:.\\- TZ]{0,30}".prop_map(Value::String),
        Just(Value::from("2026-11-25T08:01:02Z")),
        Just(Value::from("authentication")),
        Just(Value::from("10.0.0.1")),
    ];
    leaf.prop_recursive(3, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6).prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

proptest! {
    #[test]
    fn decode_line_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        for format in Format::ALL {
            let _ = decode_line(*format, &bytes, &ctx());
        }
    }

    #[test]
    fn decode_line_never_panics_on_text(text in "\\PC{0,200}") {
        for format in Format::ALL {
            let _ = decode_line(*format, text.as_bytes(), &ctx());
        }
    }

    #[test]
    fn syslog_and_authlog_never_panic(prefix in prop::sample::select(SYSLOG_PREFIXES), rest in TOKENS) {
        let line = format!("{prefix}{rest}");
        match decode_line(Format::Syslog, line.as_bytes(), &ctx()) {
            Ok(e) => prop_assert_eq!(e.raw.as_deref(), Some(line.trim_end_matches(['\r', '\n']))),
            Err(DecodeError::Empty | DecodeError::Invalid(_)) => {}
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }

    #[test]
    fn json_decoders_never_panic(value in json_value()) {
        let line = value.to_string();
        for format in [Format::Json, Format::Tandem] {
            match decode_line(format, line.as_bytes(), &ctx()) {
                Ok(e) => prop_assert_eq!(e.source.name.as_str(), "prop"),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }

    #[test]
    fn decode_csv_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut last = 0;
        for (line, _result, _raw) in decode_csv(&bytes[..], &ctx()) {
            prop_assert!(line > last, "line numbers increase");
            last = line;
        }
    }

    #[test]
    fn decode_csv_never_panics_on_csvish_text(
        header in prop::sample::subsequence(vec!["time", "class", "user", "src.ip", "src.port", "labels.k", "note", "place.door"], 1..6),
        body in "[a-z0-9,\"\\n\\r.:\\- ]{0,300}",
    ) {
        let input = format!("{}\n{body}", header.join(","));
        let rows: Vec<_> = decode_csv(input.as_bytes(), &ctx()).collect();
        for (line, result, raw) in rows {
            prop_assert!(line >= 2);
            if let Ok(e) = result {
                prop_assert_eq!(e.raw.as_deref(), Some(raw.as_str()));
            }
        }
    }

    #[test]
    fn framer_never_panics(
        bytes in prop::collection::vec(prop_oneof![any::<u8>(), Just(b'\n'), Just(b' '), Just(b'1')], 0..400),
        chunks in prop::collection::vec(1usize..50, 1..8),
        max in 1usize..64,
    ) {
        for frame in feed(&mut SyslogFramer::new(max), &bytes, &chunks).into_iter().flatten() {
            prop_assert!(frame.len() <= max);
        }
    }

    /// Any messages, each framed either way, come back out in order; the ones over the limit
    /// come out as exactly one `TooLong` each, and the rest are unaffected.
    #[test]
    fn framing_round_trips(
        messages in prop::collection::vec((prop::collection::vec(any::<u8>(), 0..80), any::<bool>()), 0..12),
        chunks in prop::collection::vec(1usize..64, 1..6),
        max in prop_oneof![Just(1000usize), 8usize..90],
    ) {
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for (content, octet) in messages {
            // Real syslog messages start with `<PRI>`; a digit start would be ambiguous (RFC 6587).
            let mut msg = b"<".to_vec();
            msg.extend(content);
            if octet {
                if msg.last() == Some(&b'\n') { msg.push(b'x'); }
                stream.extend(format!("{} ", msg.len()).as_bytes());
                stream.extend(&msg);
            } else {
                for b in msg.iter_mut().filter(|b| **b == b'\n') { *b = b' '; }
                if msg.last() == Some(&b'\r') { msg.push(b'x'); }
                stream.extend(&msg);
                stream.push(b'\n');
            }
            expected.push(if msg.len() <= max { Ok(msg) } else { Err(()) });
        }
        let got: Vec<Result<Vec<u8>, ()>> = feed(&mut SyslogFramer::new(max), &stream, &chunks)
            .into_iter()
            .map(|r| r.map_err(|e| assert!(matches!(e, FramingError::TooLong { .. }), "{e}")))
            .collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn split_lines_round_trips(
        lines in prop::collection::vec("[^\\n\\r]{0,20}", 1..10),
        crlf in any::<bool>(),
        terminated in any::<bool>(),
    ) {
        let sep = if crlf { "\r\n" } else { "\n" };
        let mut body = lines.join(sep);
        // A final terminator is optional, except that it is what makes a last empty line.
        if terminated || lines.last().is_some_and(String::is_empty) {
            body.push_str(sep);
        }
        let got: Vec<_> = split_lines(body.as_bytes(), 1000).collect();
        prop_assert_eq!(got.len(), lines.len());
        for ((n, line), (i, want)) in got.into_iter().zip(lines.iter().enumerate()) {
            prop_assert_eq!(n, i as u64 + 1);
            prop_assert_eq!(line.unwrap(), want.as_bytes());
        }
    }

    #[test]
    fn split_lines_never_panics(body in prop::collection::vec(any::<u8>(), 0..200), max in 0usize..20) {
        for (expected_line, (n, result)) in (1..).zip(split_lines(&body, max)) {
            prop_assert_eq!(n, expected_line);
            if let Ok(line) = result {
                prop_assert!(line.len() <= max);
            }
        }
    }
}

/// Feeds `input` to the framer in chunks (sizes cycled), then EOF; collects everything.
fn feed(
    framer: &mut SyslogFramer,
    input: &[u8],
    chunks: &[usize],
) -> Vec<Result<Vec<u8>, FramingError>> {
    let mut out = Vec::new();
    let mut buf = BytesMut::new();
    let mut sizes = chunks.iter().copied().cycle();
    let mut rest = input;
    while !rest.is_empty() {
        let n = sizes.next().unwrap_or(rest.len()).clamp(1, rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            match framer.decode(&mut buf) {
                Ok(Some(frame)) => out.push(Ok(frame.to_vec())),
                Ok(None) => break,
                Err(e) => out.push(Err(e)),
            }
        }
    }
    loop {
        match framer.decode_eof(&mut buf) {
            Ok(Some(frame)) => out.push(Ok(frame.to_vec())),
            Ok(None) => break,
            Err(e) => out.push(Err(e)),
        }
    }
    out
}
