//! ArcSight CEF, with or without a syslog header: the record parser, the decoder, and a
//! declarative mapping reading CEF.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, LazyLock};
use tandem_fuzz::{check_decoded, check_error, ctx};
use tandem_ingest::decode::{Format, MessageDecoder};
use tandem_ingest::integrations::{cef, mapping::Mapping};

static MAPPING: LazyLock<Arc<Mapping>> = LazyLock::new(|| {
    let text = include_str!("../../crates/tandem-ingest/tests/fixtures/mapping/cef-mapping.json");
    Arc::new(serde_json::from_str(text).expect("the fixture mapping parses"))
});

fuzz_target!(|data: &[u8]| {
    let ctx = ctx();
    if let Ok(text) = std::str::from_utf8(data) {
        match cef::parse(text) {
            Ok(record) => {
                // Every extension key the parser found can be read back.
                for (key, _) in &record.extensions {
                    assert!(record.get(key).is_some(), "key {key:?} not found by get");
                }
            }
            Err(e) => check_error(&e),
        }
        check_decoded(&cef::decode(text, &ctx), &ctx);
    }
    check_decoded(
        &MessageDecoder::new(Format::Cef, None).decode(data, &ctx),
        &ctx,
    );
    check_decoded(
        &MessageDecoder::new(Format::Mapped, Some(MAPPING.clone())).decode(data, &ctx),
        &ctx,
    );
});
