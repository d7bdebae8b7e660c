//! One syslog message: RFC 5424, RFC 3164, header-less text, Linux auth.log, and CEF carried
//! in syslog, through the parser and through the decoder a syslog source uses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_fuzz::{check_decoded, check_error, ctx};
use tandem_ingest::decode::{Format, MessageDecoder, parse_syslog};

fuzz_target!(|data: &[u8]| {
    let ctx = ctx();
    if let Ok(line) = std::str::from_utf8(data) {
        match parse_syslog(line, &ctx) {
            Ok(message) => {
                let _ = (
                    message.facility_name(),
                    message.severity_name(),
                    message.event_severity(),
                );
            }
            Err(e) => check_error(&e),
        }
    }
    let result = MessageDecoder::new(Format::Syslog, None).decode(data, &ctx);
    if let Ok(events) = &result {
        // A syslog frame is one event, CEF or not.
        assert_eq!(
            events.len(),
            1,
            "a syslog frame gave {} events",
            events.len()
        );
    }
    check_decoded(&result, &ctx);
});
