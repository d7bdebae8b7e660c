//! Every JSON integration through the decoder its sources use. The first byte picks the
//! format (a letter, so seeds stay readable; any other byte picks one by its value):
//!
//! | byte | format | input after the byte |
//! |---|---|---|
//! | `t` | Tandem JSON | lines |
//! | `j` | generic JSON | lines |
//! | `w` | Windows (Winlogbeat, NXLog) | lines |
//! | `o` | Okta | one document |
//! | `e` | Entra ID | one document |
//! | `v` | Verkada | one document |
//! | `z` | Zeek (JSON or TSV with headers) | lines, one decoder |
//! | `m` | declarative mapping (the badge fixture) | one document |
//! | `f` | Frigate over MQTT | `topic payload` lines, one decoder |
//! | `i` | IoT over MQTT (the fixture's topic rules) | `topic payload` lines |
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, LazyLock};
use tandem_fuzz::{check_decoded, ctx};
use tandem_ingest::decode::{Format, MessageDecoder, split_lines};
use tandem_ingest::integrations::frigate::FrigateDecoder;
use tandem_ingest::integrations::iot::{self, IotMapping};
use tandem_ingest::integrations::mapping::Mapping;

static BADGE_MAPPING: LazyLock<Arc<Mapping>> = LazyLock::new(|| {
    let text = include_str!("../../crates/tandem-ingest/tests/fixtures/mapping/badge-mapping.json");
    let mapping: Mapping = serde_json::from_str(text).expect("the fixture mapping parses");
    mapping.validate().expect("the fixture mapping is valid");
    Arc::new(mapping)
});

static IOT_MAPPING: LazyLock<IotMapping> = LazyLock::new(|| {
    let text = include_str!("../../crates/tandem-ingest/tests/fixtures/iot/mapping.json");
    let mapping: IotMapping = serde_json::from_str(text).expect("the fixture mapping parses");
    mapping.validate().expect("the fixture mapping is valid");
    mapping
});

/// Longest line decoded, as the HTTP endpoint's default limit.
const MAX_LINE: usize = 1 << 20;

const ROUTES: &[u8] = b"tjwoevzmfi";

/// `topic payload` lines, as in the MQTT fixtures.
fn messages(input: &[u8]) -> impl Iterator<Item = (&str, &[u8])> {
    split_lines(input, MAX_LINE).filter_map(|(_, line)| {
        let line = line.ok()?;
        let space = line.iter().position(|&b| b == b' ')?;
        let topic = std::str::from_utf8(&line[..space]).ok()?;
        Some((topic, &line[space + 1..]))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&route, input)) = data.split_first() else {
        return;
    };
    let route = if ROUTES.contains(&route) {
        route
    } else {
        ROUTES[usize::from(route) % ROUTES.len()]
    };
    let ctx = ctx();
    let lines = |format: Format, mapping: Option<Arc<Mapping>>| {
        let mut decoder = MessageDecoder::new(format, mapping);
        for (_, line) in split_lines(input, MAX_LINE) {
            if let Ok(line) = line {
                check_decoded(&decoder.decode(line, &ctx), &ctx);
            }
        }
    };
    let document = |format: Format, mapping: Option<Arc<Mapping>>| {
        let result = MessageDecoder::new(format, mapping).decode(input, &ctx);
        check_decoded(&result, &ctx);
    };
    match route {
        b't' => lines(Format::Tandem, None),
        b'j' => lines(Format::Json, None),
        b'w' => lines(Format::Windows, None),
        b'o' => document(Format::Okta, None),
        b'e' => document(Format::Entra, None),
        b'v' => document(Format::Verkada, None),
        b'z' => lines(Format::Zeek, None),
        b'm' => document(Format::Mapped, Some(BADGE_MAPPING.clone())),
        b'f' => {
            let mut frigate = FrigateDecoder::with_capacity("frigate", 8);
            for (topic, payload) in messages(input) {
                check_decoded(&frigate.decode(topic, payload, &ctx), &ctx);
                assert!(
                    frigate.tracked() <= 5 * 8,
                    "Frigate state grew past its bound"
                );
            }
        }
        b'i' => {
            for (topic, payload) in messages(input) {
                check_decoded(&iot::decode(&IOT_MAPPING, topic, payload, &ctx), &ctx);
            }
        }
        _ => unreachable!("routes are from ROUTES"),
    }
});
