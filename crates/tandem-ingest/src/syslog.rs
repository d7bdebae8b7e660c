//! Syslog listeners: UDP datagrams and TCP streams (newline or octet-counting framing).
//!
//! Messages are gathered into batches (up to [`BATCH_EVENTS`] or [`BATCH_WAIT`], whichever
//! comes first) and committed through the [`Pipeline`]. Syslog has no application-level
//! acknowledgement, so "durable" here means: once a batch is committed the events survive a
//! crash; what sits in a socket buffer or an unflushed batch can be lost with the process, as
//! with any syslog receiver. TCP reads pause while a batch commits, so a fast sender is slowed
//! by TCP flow control instead of overrunning memory.

use crate::decode::{FramingError, SyslogFramer};
use crate::pipeline::{Pipeline, Source};
use futures_util::StreamExt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use tokio_util::codec::FramedRead;

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
    let mut batch: Vec<Vec<u8>> = Vec::new();
    let mut deadline = tokio::time::Instant::now() + BATCH_WAIT;
    loop {
        tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, _peer)) => {
                    if batch.is_empty() {
                        deadline = tokio::time::Instant::now() + BATCH_WAIT;
                    }
                    batch.push(buf[..n].to_vec());
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

/// Accepts syslog TCP connections until `shutdown` turns true.
pub async fn serve_tcp(
    listener: TcpListener,
    pipeline: Arc<Pipeline>,
    source: Source,
    shutdown: watch::Receiver<bool>,
) {
    let mut stop = shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let pipeline = pipeline.clone();
                    let source = source.clone();
                    let shutdown = shutdown.clone();
                    tokio::spawn(async move {
                        connection(stream, peer, pipeline, source, shutdown).await;
                    });
                }
                Err(e) => tracing::warn!(error = %e, "syslog TCP accept failed"),
            },
            _ = stop.changed() => return,
        }
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    pipeline: Arc<Pipeline>,
    source: Source,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut frames = FramedRead::new(stream, SyslogFramer::new(pipeline.limits().max_line_bytes));
    let mut batch: Vec<Vec<u8>> = Vec::new();
    let mut deadline = tokio::time::Instant::now() + BATCH_WAIT;
    // FramedRead yields `None` once after an error even though the stream goes on.
    let mut after_error = false;
    loop {
        tokio::select! {
            frame = frames.next() => match frame {
                Some(Ok(frame)) => {
                    after_error = false;
                    if batch.is_empty() {
                        deadline = tokio::time::Instant::now() + BATCH_WAIT;
                    }
                    batch.push(frame.to_vec());
                    if batch.len() >= BATCH_EVENTS {
                        flush(&pipeline, &source, &mut batch, "syslog_tcp").await;
                    }
                }
                Some(Err(FramingError::Io(e))) => {
                    tracing::debug!(%peer, error = %e, "syslog TCP connection failed");
                    break;
                }
                Some(Err(e)) => {
                    // The framer skips the oversized frame and goes on with the next one.
                    tracing::warn!(%peer, error = %e, "syslog TCP framing error");
                    pipeline.metrics().reject(&source.name, "line_too_long", 1);
                    after_error = true;
                }
                None if after_error => after_error = false,
                None => break,
            },
            _ = tokio::time::sleep_until(deadline), if !batch.is_empty() => {
                flush(&pipeline, &source, &mut batch, "syslog_tcp").await;
            }
            _ = shutdown.changed() => break,
        }
    }
    flush(&pipeline, &source, &mut batch, "syslog_tcp").await;
}

async fn flush(pipeline: &Pipeline, source: &Source, batch: &mut Vec<Vec<u8>>, path: &str) {
    if batch.is_empty() {
        return;
    }
    let messages = std::mem::take(batch);
    let decoded = pipeline.decode_messages(source, messages.iter().map(Vec::as_slice));
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
