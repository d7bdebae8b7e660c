//! Syslog listeners: UDP datagrams and TCP streams (newline or octet-counting framing).
//!
//! Messages are gathered into batches (up to [`BATCH_EVENTS`] or [`BATCH_WAIT`], whichever
//! comes first) and committed through the [`Pipeline`]. Syslog has no application-level
//! acknowledgement, so "durable" here means: once a batch is committed the events survive a
//! crash; what sits in a socket buffer or an unflushed batch can be lost with the process, as
//! with any syslog receiver. TCP reads pause while a batch commits, so a fast sender is slowed
//! by TCP flow control instead of overrunning memory.
//!
//! Anyone who can reach the TCP port can open connections, so what one connection may hold
//! is bounded ([`TcpLimits`]): connections beyond the cap are closed as soon as they are
//! accepted (and counted), a connection's buffer holds at most one message of the maximum
//! size plus one read, whatever length a frame announces, and a connection that delivers no
//! complete message for the idle timeout is closed. A frame cut short (by that timeout, by
//! the sender closing, by shutdown) or over the size limit is kept as a dead letter with the
//! reason, never dropped silently.

use crate::pipeline::{Pipeline, Source};
use bytes::BytesMut;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tandem_ingest::decode::{FramingError, SyslogFramer};
use tandem_model::DeadLetter;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tokio_util::codec::Decoder;

/// Most messages in one batch.
pub const BATCH_EVENTS: usize = 5_000;
/// Longest a message waits for its batch to fill.
pub const BATCH_WAIT: Duration = Duration::from_millis(100);

/// Receives syslog over UDP until `shutdown` turns true.
pub async fn serve_udp(
    socket: UdpSocket,
    pipeline: Arc<Pipeline>,
    source: Source,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 65_536];
    let mut batch = Pending::default();
    let mut deadline = tokio::time::Instant::now() + BATCH_WAIT;
    loop {
        tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, _peer)) => {
                    if batch.is_empty() {
                        deadline = tokio::time::Instant::now() + BATCH_WAIT;
                    }
                    batch.messages.push(buf[..n].to_vec());
                    if batch.len() >= BATCH_EVENTS {
                        flush(&pipeline, &source, &mut batch, "syslog_udp").await;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "syslog UDP receive failed"),
            },
            _ = tokio::time::sleep_until(deadline), if !batch.is_empty() => {
                flush(&pipeline, &source, &mut batch, "syslog_udp").await;
            }
            _ = shutdown.changed() => {
                flush(&pipeline, &source, &mut batch, "syslog_udp").await;
                return;
            }
        }
    }
}

/// Bytes read from a TCP connection at a time; a connection's buffer is at most one
/// message of the maximum size plus this.
const READ_CHUNK: usize = 8 * 1024;

/// How often, at most, refusing connections at the cap is logged (each one is counted).
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(60);

/// What one syslog TCP listener lets its senders hold (`[syslog]` in the configuration).
#[derive(Debug, Clone)]
pub struct TcpLimits {
    /// Connections served at once; further ones are closed as soon as they are accepted and
    /// counted in `tandem_connections_refused_total{path="syslog_tcp"}`.
    pub max_connections: usize,
    /// A connection that delivers no complete message for this long is closed; a message it
    /// had begun is kept as a dead letter. Senders reconnect when they next have something
    /// to send.
    pub idle_timeout: Duration,
    /// Longest message. A longer frame is skipped without being buffered and kept as a dead
    /// letter with the reason; the connection goes on with the next frame.
    pub max_message_bytes: usize,
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits {
            max_connections: 256,
            idle_timeout: Duration::from_secs(60),
            max_message_bytes: tandem_ingest::decode::DEFAULT_MAX_FRAME,
        }
    }
}

/// Accepts syslog TCP connections until `shutdown` turns true.
pub async fn serve_tcp(
    listener: TcpListener,
    pipeline: Arc<Pipeline>,
    source: Source,
    limits: TcpLimits,
    shutdown: watch::Receiver<bool>,
) {
    let limits = Arc::new(limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let open = pipeline.metrics().connections("syslog_tcp");
    let mut last_refusal_logged: Option<Instant> = None;
    let mut stop = shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Ok(slot) = slots.clone().try_acquire_owned() else {
                        // Closed at once: a sender at the cap learns it now instead of
                        // holding a socket the listener will never read.
                        drop(stream);
                        pipeline.metrics().refuse_connection("syslog_tcp");
                        if last_refusal_logged.is_none_or(|t| t.elapsed() >= REFUSAL_LOG_EVERY) {
                            last_refusal_logged = Some(Instant::now());
                            tracing::warn!(
                                %peer,
                                max = limits.max_connections,
                                "syslog TCP connection refused: the listener is at its connection cap (syslog.max_tcp_connections)"
                            );
                        }
                        continue;
                    };
                    let pipeline = pipeline.clone();
                    let source = source.clone();
                    let limits = limits.clone();
                    let shutdown = shutdown.clone();
                    let open = open.clone();
                    tokio::spawn(async move {
                        open.inc();
                        connection(stream, peer, pipeline, source, &limits, shutdown).await;
                        open.dec();
                        drop(slot);
                    });
                }
                Err(e) => {
                    // Out of file descriptors, most likely: wait for some to be closed
                    // rather than spin.
                    tracing::warn!(error = %e, "syslog TCP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = stop.changed() => return,
        }
    }
}

/// Messages and refused frames of one connection waiting to be committed together.
#[derive(Default)]
struct Pending {
    messages: Vec<Vec<u8>>,
    refused: Vec<DeadLetter>,
}

impl Pending {
    fn len(&self) -> usize {
        self.messages.len() + self.refused.len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Keeps a frame the framing refused as a dead letter, counted under `reason`.
fn refuse(
    pipeline: &Pipeline,
    source: &Source,
    pending: &mut Pending,
    reason: &str,
    text: String,
    raw: &[u8],
) {
    pipeline.metrics().reject(&source.name, reason, 1);
    pending.refused.push(DeadLetter::new(
        &source.name,
        format!("syslog TCP: {text}"),
        raw,
    ));
}

async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    pipeline: Arc<Pipeline>,
    source: Source,
    limits: &TcpLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut framer = SyslogFramer::new(limits.max_message_bytes);
    let mut buf = BytesMut::new();
    let mut pending = Pending::default();
    let mut batch_deadline = Instant::now() + BATCH_WAIT;
    let mut frame_deadline = Instant::now() + limits.idle_timeout;
    // Why the connection ends with a frame unfinished, for its dead letter.
    let ended: String = loop {
        // Frame everything buffered. Driving the framer directly (rather than through
        // `FramedRead`) keeps the buffer in reach for the dead letter of an unfinished frame.
        loop {
            let frame = match framer.decode(&mut buf) {
                Ok(None) => break,
                Ok(Some(frame)) => Ok(frame),
                Err(e) => Err(e),
            };
            if pending.is_empty() {
                batch_deadline = Instant::now() + BATCH_WAIT;
            }
            frame_deadline = Instant::now() + limits.idle_timeout;
            match frame {
                Ok(frame) => pending.messages.push(frame.to_vec()),
                // The framer skips the oversized frame and goes on with the next one.
                Err(e) => refuse(
                    &pipeline,
                    &source,
                    &mut pending,
                    "line_too_long",
                    e.to_string(),
                    b"",
                ),
            }
            if pending.len() >= BATCH_EVENTS {
                flush(&pipeline, &source, &mut pending, "syslog_tcp").await;
            }
        }
        buf.reserve(READ_CHUNK);
        tokio::select! {
            read = stream.read_buf(&mut buf) => match read {
                Ok(0) => {
                    end_of_stream(&pipeline, &source, &mut framer, &mut buf, &mut pending);
                    break String::new();
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "syslog TCP connection failed");
                    break format!("the connection failed ({e})");
                }
            },
            _ = tokio::time::sleep_until(batch_deadline), if !pending.is_empty() => {
                flush(&pipeline, &source, &mut pending, "syslog_tcp").await;
            }
            _ = tokio::time::sleep_until(frame_deadline) => {
                tracing::debug!(%peer, "syslog TCP connection idle; closed");
                break format!(
                    "no complete message for {} s (syslog.tcp_idle_timeout_secs); connection closed",
                    limits.idle_timeout.as_secs()
                );
            }
            _ = shutdown.changed() => break "the server shut down".to_owned(),
        }
    };
    if let Some(incomplete) = framer.incomplete(&buf) {
        refuse(
            &pipeline,
            &source,
            &mut pending,
            "truncated_frame",
            format!("{ended}, {incomplete} received"),
            &buf,
        );
    }
    drop(stream);
    flush(&pipeline, &source, &mut pending, "syslog_tcp").await;
}

/// The sender closed: a final line without LF is a message; a partial octet-counted frame is
/// a dead letter.
fn end_of_stream(
    pipeline: &Pipeline,
    source: &Source,
    framer: &mut SyslogFramer,
    buf: &mut BytesMut,
    pending: &mut Pending,
) {
    let raw = buf.to_vec();
    loop {
        match framer.decode_eof(buf) {
            Ok(Some(frame)) => pending.messages.push(frame.to_vec()),
            Ok(None) => break,
            Err(e) => {
                let (reason, raw) = match e {
                    FramingError::Truncated { .. } => ("truncated_frame", raw.as_slice()),
                    _ => ("line_too_long", &b""[..]),
                };
                refuse(pipeline, source, pending, reason, e.to_string(), raw);
            }
        }
    }
}

async fn flush(pipeline: &Pipeline, source: &Source, pending: &mut Pending, path: &str) {
    if pending.is_empty() {
        return;
    }
    let Pending { messages, refused } = std::mem::take(pending);
    let mut decoded = pipeline.decode_messages(source, messages.iter().map(Vec::as_slice));
    for dead_letter in refused {
        decoded.add_dead_letter(dead_letter);
    }
    // Wait (bounded) for room in the store's queue rather than refusing what the sender
    // trusted us with; TCP senders are slowed by flow control meanwhile.
    let n = decoded.events.len() + decoded.dead_letters.len();
    for attempt in 0..100u64 {
        if pipeline.store().has_room(n) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10 * attempt.min(10) + 5)).await;
    }
    if let Err(e) = pipeline.commit(decoded, path).await {
        tracing::error!(error = %e, source = %source.name, "syslog batch not stored");
    }
}
