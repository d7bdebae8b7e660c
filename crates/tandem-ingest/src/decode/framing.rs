//! Cutting byte streams into messages: syslog over TCP (RFC 6587) and NDJSON bodies.
//!
//! RFC 6587 describes the two framings senders use for syslog over TCP (and TLS, RFC 5425
//! uses the first):
//!
//! ```text
//! 73 <34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed
//! <34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8\n
//! ```
//!
//! *Octet counting* (section 3.4.1): `MSG-LEN SP SYSLOG-MSG`, where MSG-LEN is a decimal
//! without leading zero. *Non-transparent framing* (section 3.4.2): the message ends at a
//! trailer, LF in practice (a CR before it is dropped too). Senders do not announce which they
//! use, and some switch per message, so [`SyslogFramer`] decides per frame: a frame that starts
//! with `NONZERO-DIGIT *DIGIT SP` is octet-counted, anything else ends at the next LF. A
//! header-less message that starts with a number and a space (`12 apples`) is therefore read as
//! octet-counted: this ambiguity is inherent in RFC 6587, and real syslog messages start with
//! `<PRI>`.

use bytes::{Buf, BytesMut};
use std::io;
use tokio_util::codec::Decoder;

/// A frame size limit suitable for syslog: RFC 5425 requires receivers to accept 2048 bytes
/// and recommends 8192; journald and Windows forwarders send a few tens of KiB at most.
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024;

/// Longest MSG-LEN accepted as an octet count (up to 9 999 999 999 bytes, far above any limit).
const MAX_COUNT_DIGITS: usize = 10;

/// Why a syslog stream could not be framed.
#[derive(Debug, thiserror::Error)]
pub enum FramingError {
    /// A frame exceeded the limit. It has been skipped, and the framer goes on with the next
    /// one: the caller should report it (source health, a dead letter with the reason) and
    /// keep reading. `declared` is the length an octet-counted frame announced; `None` for a
    /// line that ran past the limit without a newline.
    #[error("{}", too_long(*.declared, *.max))]
    TooLong { declared: Option<u64>, max: usize },
    /// The stream ended inside an octet-counted frame.
    #[error(
        "stream ended {received} bytes into an octet-counted frame of {declared} bytes; the \
         sender was cut off or its MSG-LEN is wrong"
    )]
    Truncated { declared: u64, received: usize },
    /// Reading the stream failed.
    #[error("reading the stream failed: {0}")]
    Io(#[from] io::Error),
}

fn too_long(declared: Option<u64>, max: usize) -> String {
    match declared {
        Some(len) => format!(
            "octet-counted syslog frame of {len} bytes is over the {max}-byte limit; frame skipped"
        ),
        None => {
            format!("syslog line longer than the {max}-byte limit; skipped up to the next newline")
        }
    }
}

/// A frame that has begun but not ended (see [`SyslogFramer::incomplete`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incomplete {
    /// The length an octet-counted frame announced; `None` for a line without its LF.
    pub declared: Option<u64>,
    /// Message bytes received so far (after the length prefix).
    pub received: usize,
}

impl std::fmt::Display for Incomplete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.declared {
            Some(len) => write!(
                f,
                "{} of the {len} bytes of an octet-counted frame",
                self.received
            ),
            None => write!(f, "a line of {} bytes without its newline", self.received),
        }
    }
}

/// A [`Decoder`] for syslog over TCP: octet counting or newline framing, decided per frame
/// (see the module docs).
///
/// Frames are the message bytes without length prefix or line terminator. A trailing LF (or
/// CRLF) inside an octet-counted frame is dropped as well, since several senders count it.
///
/// **Oversized frames.** A frame over `max_frame` bytes yields [`FramingError::TooLong`] as
/// soon as it is detected, without buffering it; the framer then skips exactly the announced
/// length of an octet-counted frame, or up to the next LF of a newline-framed one, and carries
/// on. Skipping by length rather than to a newline keeps octet-counted streams in step: their
/// senders put no LF between frames, so hunting for one would drop the frames that follow.
/// One oversized message (a stack trace, a runaway script) thus costs that message, not the
/// connection.
///
/// `tokio_util::codec::FramedRead` ends its stream with one `None` after any `Err`. To keep a
/// connection after `TooLong`, poll the stream again after that `None`: it resumes with the
/// next bytes read (frames already buffered come out with the next read or at EOF). Or drive
/// the decoder directly, which has no such step.
///
/// At EOF a final line without LF is returned as a frame; a partial octet-counted frame is
/// [`FramingError::Truncated`].
#[derive(Debug, Clone)]
pub struct SyslogFramer {
    max_frame: usize,
    state: State,
    /// How far a newline-framed frame has been searched for LF, so each byte is scanned once.
    scanned: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a frame (or inside a newline-framed one being searched).
    Frame,
    /// Dropping the rest of an oversized octet-counted frame.
    Skip(u64),
    /// Dropping the rest of an oversized line.
    DiscardLine,
}

/// What the start of a frame says about its framing.
enum Start {
    /// Only digits so far: cannot tell yet.
    NeedMore,
    /// `MSG-LEN SP`: octet counting, with the header's length in bytes.
    Octets { len: u64, header: usize },
    /// Newline framing.
    Line,
}

impl SyslogFramer {
    /// A framer refusing frames longer than `max_frame` bytes.
    pub fn new(max_frame: usize) -> SyslogFramer {
        SyslogFramer {
            max_frame,
            state: State::Frame,
            scanned: 0,
        }
    }

    /// The frame size limit.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    fn start(buf: &[u8]) -> Start {
        let digits = buf.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || buf[0] == b'0' || digits > MAX_COUNT_DIGITS {
            return Start::Line;
        }
        match buf.get(digits) {
            None => Start::NeedMore,
            Some(b' ') => match std::str::from_utf8(&buf[..digits])
                .ok()
                .and_then(|d| d.parse().ok())
            {
                Some(len) => Start::Octets {
                    len,
                    header: digits + 1,
                },
                None => Start::Line,
            },
            Some(_) => Start::Line,
        }
    }

    /// Removes a trailing LF or CRLF.
    fn trim_terminator(frame: &mut BytesMut) {
        if frame.last() == Some(&b'\n') {
            frame.truncate(frame.len() - 1);
            if frame.last() == Some(&b'\r') {
                frame.truncate(frame.len() - 1);
            }
        }
    }

    /// The frame begun in `buf` and not complete yet, if there is one: what a listener keeps
    /// as a dead letter when the sender goes quiet or the connection has to close mid-frame.
    /// `None` when `buf` holds no frame's bytes, or while the rest of an oversized frame is
    /// being skipped (that frame was reported when it was found).
    pub fn incomplete(&self, buf: &[u8]) -> Option<Incomplete> {
        if self.state != State::Frame || buf.is_empty() {
            return None;
        }
        Some(match Self::start(buf) {
            Start::Octets { len, header } => Incomplete {
                declared: Some(len),
                received: buf.len() - header,
            },
            Start::Line | Start::NeedMore => Incomplete {
                declared: None,
                received: buf.len(),
            },
        })
    }

    fn too_long(&self, declared: Option<u64>) -> FramingError {
        FramingError::TooLong {
            declared,
            max: self.max_frame,
        }
    }
}

impl Default for SyslogFramer {
    fn default() -> SyslogFramer {
        SyslogFramer::new(DEFAULT_MAX_FRAME)
    }
}

impl Decoder for SyslogFramer {
    type Item = BytesMut;
    type Error = FramingError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<BytesMut>, FramingError> {
        loop {
            match self.state {
                State::Skip(remaining) => {
                    let n = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(buf.len());
                    buf.advance(n);
                    let remaining = remaining - n as u64;
                    if remaining > 0 {
                        self.state = State::Skip(remaining);
                        return Ok(None);
                    }
                    self.state = State::Frame;
                }
                State::DiscardLine => match buf.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        buf.advance(i + 1);
                        self.state = State::Frame;
                    }
                    None => {
                        buf.clear();
                        return Ok(None);
                    }
                },
                State::Frame => {
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    match Self::start(buf) {
                        Start::NeedMore => return Ok(None),
                        Start::Octets { len, header } => {
                            if len > self.max_frame as u64 {
                                buf.advance(header);
                                self.state = State::Skip(len);
                                return Err(self.too_long(Some(len)));
                            }
                            // Wait for the rest without reserving room for it: the
                            // announced length is the sender's claim, and a thousand
                            // connections each announcing the limit must not cost a
                            // thousand times the limit before sending anything. The buffer
                            // grows with what actually arrives.
                            if buf.len() < header + len as usize {
                                return Ok(None);
                            }
                            buf.advance(header);
                            let mut frame = buf.split_to(len as usize);
                            Self::trim_terminator(&mut frame);
                            return Ok(Some(frame));
                        }
                        Start::Line => {
                            let from = self.scanned.min(buf.len());
                            match buf[from..].iter().position(|&b| b == b'\n') {
                                Some(i) => {
                                    self.scanned = 0;
                                    let mut frame = buf.split_to(from + i + 1);
                                    Self::trim_terminator(&mut frame);
                                    if frame.len() > self.max_frame {
                                        return Err(self.too_long(None));
                                    }
                                    return Ok(Some(frame));
                                }
                                // +1: the limit's last byte may be followed by a CR.
                                None if buf.len() > self.max_frame + 1 => {
                                    buf.clear();
                                    self.scanned = 0;
                                    self.state = State::DiscardLine;
                                    return Err(self.too_long(None));
                                }
                                None => {
                                    self.scanned = buf.len();
                                    return Ok(None);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<BytesMut>, FramingError> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        if self.state != State::Frame {
            // The oversized frame was reported when it was found.
            buf.clear();
            self.state = State::Frame;
            return Ok(None);
        }
        if buf.is_empty() {
            return Ok(None);
        }
        self.scanned = 0;
        if let Start::Octets { len, header } = Self::start(buf) {
            let received = buf.len() - header;
            buf.clear();
            return Err(FramingError::Truncated {
                declared: len,
                received,
            });
        }
        let mut frame = buf.split();
        if frame.last() == Some(&b'\r') {
            frame.truncate(frame.len() - 1);
        }
        if frame.len() > self.max_frame {
            return Err(self.too_long(None));
        }
        Ok(Some(frame))
    }
}

/// A line of a request body over the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} is {len} bytes, over the {max}-byte limit")]
pub struct LineTooLong {
    /// 1-based line number.
    pub line: u64,
    pub len: usize,
    pub max: usize,
}

/// Splits an NDJSON (or any line-per-record) body into numbered lines.
///
/// Lines end at LF; a CR before it is dropped; a final line needs no LF. Nothing is skipped,
/// so line numbers match the body: empty lines come out empty (the decoder reports them as
/// [`super::DecodeError::Empty`], which callers skip). Lines over `max_line` bytes are an
/// error for that line only.
pub fn split_lines(
    body: &[u8],
    max_line: usize,
) -> impl Iterator<Item = (u64, Result<&[u8], LineTooLong>)> {
    let body = if body.is_empty() {
        None
    } else {
        Some(body.strip_suffix(b"\n").unwrap_or(body))
    };
    body.into_iter()
        .flat_map(|b| b.split(|&c| c == b'\n'))
        .zip(1u64..)
        .map(move |(line, n)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.len() > max_line {
                (
                    n,
                    Err(LineTooLong {
                        line: n,
                        len: line.len(),
                        max: max_line,
                    }),
                )
            } else {
                (n, Ok(line))
            }
        })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Everything a framer yields for `input` delivered in chunks of the given sizes (cycled),
    /// then EOF. Errors are rendered as text.
    pub(crate) fn frame_all(
        framer: &mut SyslogFramer,
        input: &[u8],
        chunks: &[usize],
    ) -> Vec<Result<Vec<u8>, String>> {
        let mut out = Vec::new();
        let mut buf = BytesMut::new();
        let mut rest = input;
        let mut sizes = chunks.iter().copied().filter(|&c| c > 0).cycle();
        while !rest.is_empty() {
            let n = sizes.next().unwrap_or(rest.len()).min(rest.len());
            buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
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

    fn frames(input: &[u8]) -> Vec<Result<Vec<u8>, String>> {
        frame_all(&mut SyslogFramer::new(64), input, &[])
    }

    fn ok(items: &[&str]) -> Vec<Result<Vec<u8>, String>> {
        items.iter().map(|s| Ok(s.as_bytes().to_vec())).collect()
    }

    #[test]
    fn newline_framing_with_crlf_and_final_line() {
        assert_eq!(
            frames(b"<13>a\n<13>b\r\n\n<13>c"),
            ok(&["<13>a", "<13>b", "", "<13>c"])
        );
        assert_eq!(frames(b"<13>a\r"), ok(&["<13>a"]));
        assert_eq!(frames(b""), ok(&[]));
        // A leading number not followed by a space is not an octet count.
        assert_eq!(
            frames(b"2026-03-04 x\n0 zero\n"),
            ok(&["2026-03-04 x", "0 zero"])
        );
    }

    #[test]
    fn octet_counting() {
        // RFC 6587 section 3.4.1 layout; no LF between frames.
        assert_eq!(frames(b"5 <13>a5 <13>b"), ok(&["<13>a", "<13>b"]));
        // Trailing LF counted by the sender is dropped; mixed framings in one stream.
        assert_eq!(
            frames(b"6 <13>a\n<13>b\n7 <13>c\r\n"),
            ok(&["<13>a", "<13>b", "<13>c"])
        );
        // Newlines inside an octet-counted frame are part of the message.
        assert_eq!(frames(b"9 <13>a\nb\nc"), ok(&["<13>a\nb\nc"]));
    }

    #[test]
    fn split_reads_byte_by_byte() {
        let input = b"12 <13>abcdefgh<13>line one\r\n10 <13>xyzuvw<13>tail";
        let expected = ok(&["<13>abcdefgh", "<13>line one", "<13>xyzuvw", "<13>tail"]);
        for chunk in 1..input.len() {
            let got = frame_all(&mut SyslogFramer::new(64), input, &[chunk]);
            assert_eq!(got, expected, "chunk size {chunk}");
        }
    }

    #[test]
    fn oversized_octet_frame_is_skipped_by_length() {
        let long = format!("100 <13>{}", "x".repeat(96));
        let input = format!("5 <13>a{long}5 <13>b");
        for chunk in [1, 7, 1000] {
            let got = frame_all(&mut SyslogFramer::new(64), input.as_bytes(), &[chunk]);
            assert_eq!(
                got,
                vec![
                    Ok(b"<13>a".to_vec()),
                    Err("octet-counted syslog frame of 100 bytes is over the 64-byte limit; frame skipped".into()),
                    Ok(b"<13>b".to_vec()),
                ],
                "chunk size {chunk}"
            );
        }
    }

    #[test]
    fn oversized_line_resyncs_at_next_newline() {
        let input = format!("<13>a\n<13>{}\n<13>b\n", "y".repeat(200));
        for chunk in [1, 13, 1000] {
            let got = frame_all(&mut SyslogFramer::new(64), input.as_bytes(), &[chunk]);
            assert_eq!(
                got,
                vec![
                    Ok(b"<13>a".to_vec()),
                    Err(
                        "syslog line longer than the 64-byte limit; skipped up to the next newline"
                            .into()
                    ),
                    Ok(b"<13>b".to_vec()),
                ],
                "chunk size {chunk}"
            );
        }
        // Exactly at the limit is fine, with or without CR; one over is not.
        let at_limit = "z".repeat(64);
        assert_eq!(
            frames(format!("{at_limit}\r\n").as_bytes()),
            ok(&[&at_limit])
        );
        assert_eq!(frames(at_limit.as_bytes()), ok(&[&at_limit]));
        let over = frames(format!("{at_limit}z\n").as_bytes());
        assert!(matches!(over.as_slice(), [Err(_)]), "{over:?}");
        let over = frames(format!("{at_limit}z").as_bytes());
        assert!(matches!(over.as_slice(), [Err(_)]), "{over:?}");
    }

    #[test]
    fn announced_length_is_not_allocated_before_it_arrives() {
        // A sender announcing a frame at the limit and then holding the connection must
        // cost what it sent, not what it announced.
        let mut framer = SyslogFramer::new(1024 * 1024);
        let mut buf = BytesMut::from(&b"1000000 <13>abc"[..]);
        assert!(matches!(framer.decode(&mut buf), Ok(None)));
        assert!(
            buf.capacity() < 4096,
            "the framer reserved {} bytes for a frame of which 7 arrived",
            buf.capacity()
        );
        assert_eq!(
            framer.incomplete(&buf),
            Some(Incomplete {
                declared: Some(1_000_000),
                received: 7
            })
        );
        // It is still framed once the rest arrives.
        buf.extend_from_slice(&vec![b'x'; 999_993]);
        let frame = framer.decode(&mut buf).unwrap().unwrap();
        assert_eq!(frame.len(), 1_000_000);
        assert!(buf.is_empty());
        assert_eq!(framer.incomplete(&buf), None);
    }

    #[test]
    fn incomplete_frames_are_described() {
        let framer = SyslogFramer::new(64);
        assert_eq!(framer.incomplete(b""), None);
        let line = framer.incomplete(b"<13>half a li").unwrap();
        assert_eq!(line.to_string(), "a line of 13 bytes without its newline");
        let octets = framer.incomplete(b"20 <13>cut").unwrap();
        assert_eq!(
            octets.to_string(),
            "7 of the 20 bytes of an octet-counted frame"
        );
        assert_eq!(framer.incomplete(b"12").unwrap().declared, None);
        // While an oversized frame is skipped there is nothing left to keep.
        let mut skipping = SyslogFramer::new(64);
        let mut buf = BytesMut::from(&b"100 <13>xx"[..]);
        assert!(skipping.decode(&mut buf).is_err());
        assert_eq!(skipping.incomplete(&buf), None);
    }

    #[test]
    fn eof_inside_octet_frame_is_truncated() {
        assert_eq!(
            frames(b"5 <13>a20 <13>cut"),
            vec![
                Ok(b"<13>a".to_vec()),
                Err("stream ended 7 bytes into an octet-counted frame of 20 bytes; the sender was cut off or its MSG-LEN is wrong".into()),
            ]
        );
        // Only digits at EOF: a final line.
        assert_eq!(frames(b"123"), ok(&["123"]));
    }

    #[test]
    fn framed_read_reports_too_long_then_resumes() {
        use futures_core::Stream;
        use std::pin::Pin;
        use std::task::{Context, Poll, Waker};
        use tokio_util::codec::FramedRead;

        let input = format!("<13>a\n<13>{}\n<13>b\n", "y".repeat(200));
        let mut framed = FramedRead::new(input.as_bytes(), SyslogFramer::new(64));
        let mut cx = Context::from_waker(Waker::noop());
        let mut next = || match Pin::new(&mut framed).poll_next(&mut cx) {
            Poll::Ready(Some(Ok(f))) => Some(Ok(f.to_vec())),
            Poll::Ready(Some(Err(e))) => Some(Err(matches!(e, FramingError::TooLong { .. }))),
            Poll::Ready(None) => None,
            Poll::Pending => panic!("a slice never blocks"),
        };
        assert_eq!(next(), Some(Ok(b"<13>a".to_vec())));
        assert_eq!(next(), Some(Err(true)));
        assert_eq!(next(), None, "FramedRead pauses once after an error");
        assert_eq!(
            next(),
            Some(Ok(b"<13>b".to_vec())),
            "and resumes when polled again"
        );
        assert_eq!(next(), None);
    }

    #[test]
    fn split_lines_numbers_every_line() {
        let got: Vec<_> =
            split_lines(b"{\"a\":1}\r\n\n{\"b\":2}\nlooooong\n{\"c\":3}", 7).collect();
        assert_eq!(
            got,
            vec![
                (1, Ok(&b"{\"a\":1}"[..])),
                (2, Ok(&b""[..])),
                (3, Ok(&b"{\"b\":2}"[..])),
                (
                    4,
                    Err(LineTooLong {
                        line: 4,
                        len: 8,
                        max: 7
                    })
                ),
                (5, Ok(&b"{\"c\":3}"[..])),
            ]
        );
        assert_eq!(split_lines(b"", 10).count(), 0);
        assert_eq!(split_lines(b"a\n", 10).count(), 1);
        assert_eq!(
            split_lines(b"\n", 10).collect::<Vec<_>>(),
            vec![(1, Ok(&b""[..]))]
        );
        assert_eq!(
            LineTooLong {
                line: 4,
                len: 8,
                max: 7
            }
            .to_string(),
            "line 4 is 8 bytes, over the 7-byte limit"
        );
    }
}
