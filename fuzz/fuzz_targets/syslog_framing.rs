//! Syslog over TCP (RFC 6587 octet counting and newline framing) and NDJSON line splitting.
//!
//! The first byte picks the frame limit and the size of the reads the stream arrives in; the
//! rest is the stream. Checked: frames never exceed the limit, and a stream cut into reads of
//! any size frames exactly as the whole stream does (a TCP sender decides the cuts, not us).
//! Every frame then goes through the syslog decoder, as a listener does.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tandem_fuzz::{check_decoded, ctx};
use tandem_ingest::decode::{Format, MessageDecoder, SyslogFramer, split_lines};
use tokio_util::codec::Decoder;

/// Everything the framer yields for `input` read `chunk` bytes at a time, then EOF.
fn frame_all(max: usize, input: &[u8], chunk: usize) -> Vec<Result<Vec<u8>, String>> {
    let mut framer = SyslogFramer::new(max);
    let mut out = Vec::new();
    let mut buf = BytesMut::new();
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match framer.decode(&mut buf) {
                Ok(Some(f)) => out.push(Ok(f.to_vec())),
                Ok(None) => break,
                Err(e) => out.push(Err(e.to_string())),
            }
        }
    }
    loop {
        match framer.decode_eof(&mut buf) {
            Ok(Some(f)) => out.push(Ok(f.to_vec())),
            Ok(None) => break,
            Err(e) => out.push(Err(e.to_string())),
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, stream)) = data.split_first() else {
        return;
    };
    let max = 1 + usize::from(knobs & 0x3f);
    let chunk = 1 + usize::from(knobs >> 6) * 5;
    let whole = frame_all(max, stream, stream.len());
    let cut = frame_all(max, stream, chunk);
    assert_eq!(
        whole, cut,
        "reads of {chunk} bytes frame differently (limit {max})"
    );
    let ctx = ctx();
    let mut decoder = MessageDecoder::new(Format::Syslog, None);
    for frame in &whole {
        match frame {
            Ok(frame) => {
                assert!(
                    frame.len() <= max,
                    "frame of {} bytes over the {max}-byte limit",
                    frame.len()
                );
                check_decoded(&decoder.decode(frame, &ctx), &ctx);
            }
            Err(e) => assert!(!e.trim().is_empty()),
        }
    }

    let mut expected = 1;
    for (n, line) in split_lines(stream, max) {
        assert_eq!(n, expected, "line numbers skip");
        expected += 1;
        match line {
            Ok(line) => {
                assert!(line.len() <= max);
                assert!(!line.contains(&b'\n'));
            }
            Err(e) => assert!(e.len > e.max && e.line == n),
        }
    }
});
