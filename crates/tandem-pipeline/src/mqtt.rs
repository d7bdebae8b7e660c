//! MQTT subscriber: camera analytics (Frigate) and IoT telemetry arrive as MQTT messages.
//!
//! Delivery is at-least-once end to end. The subscription is QoS 1 on a persistent session
//! (`clean_session = false`, a fixed client id), so the broker keeps messages for Tandem while
//! it is away; acknowledgements are manual, and a message is acknowledged (PUBACK) only after
//! the batch holding it is durable in the store. A crash between commit and PUBACK makes the
//! broker redeliver, and the decoders drop the duplicates (Frigate dedups on the event id);
//! nothing the broker accepted is lost. Messages are gathered into batches of up to
//! [`BATCH_MESSAGES`] or [`BATCH_WAIT`] so a busy broker does not cost one disk sync each.
//!
//! A lost connection is retried with exponential backoff (1 s doubling to 60 s); the session
//! resumes where it was, and the subscriptions are renewed on every connection (renewing an
//! existing one is harmless; the broker re-sends retained status messages, which are states,
//! not occurrences).

use crate::pipeline::{Pipeline, Source};
use rumqttc::{AsyncClient, Event as MqttEvent, MqttOptions, Packet, Publish, QoS};
use std::sync::Arc;
use std::time::Duration;
use tandem_ingest::decode::{DecodeContext, DecodeError};
use tandem_model::Event;
use tokio::sync::watch;

/// Most messages in one batch.
pub const BATCH_MESSAGES: usize = 1_000;
/// Longest a message waits for its batch to fill.
pub const BATCH_WAIT: Duration = Duration::from_millis(50);

/// Turns messages from the topics it subscribes to into events. Implemented by the
/// integrations that speak MQTT (Frigate, generic IoT); stateful, because MQTT integrations
/// correlate messages (an object's `new`, `update` and `end`).
pub trait TopicDecoder: Send + 'static {
    /// Topic filters to subscribe to.
    fn subscriptions(&self) -> Vec<String>;
    fn decode(
        &mut self,
        topic: &str,
        payload: &[u8],
        ctx: &DecodeContext,
    ) -> Result<Vec<Event>, DecodeError>;
}

/// Where and how to connect.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrokerSettings {
    pub host: String,
    pub port: u16,
    /// Fixed, so the broker can keep the session (and queued messages) across restarts.
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub keep_alive_seconds: u64,
}

impl Default for BrokerSettings {
    fn default() -> Self {
        BrokerSettings {
            host: "127.0.0.1".into(),
            port: 1883,
            client_id: "tandem".into(),
            username: None,
            password: None,
            keep_alive_seconds: 30,
        }
    }
}

/// Subscribes and ingests until `shutdown` turns true.
pub async fn run(
    settings: BrokerSettings,
    mut decoder: Box<dyn TopicDecoder>,
    pipeline: Arc<Pipeline>,
    source: Source,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut options = MqttOptions::new(&settings.client_id, &settings.host, settings.port);
    options.set_keep_alive(Duration::from_secs(settings.keep_alive_seconds.max(5)));
    options.set_clean_session(false);
    options.set_manual_acks(true);
    options.set_max_packet_size(1024 * 1024, 1024 * 1024);
    if let (Some(u), Some(p)) = (&settings.username, &settings.password) {
        options.set_credentials(u, p);
    }
    let (client, mut events) = AsyncClient::new(options, 1024);
    let topics = decoder.subscriptions();
    let mut backoff = Duration::from_secs(1);
    let mut batch: Vec<Publish> = Vec::new();
    loop {
        let polled = if batch.is_empty() {
            tokio::select! {
                e = events.poll() => Some(e),
                _ = shutdown.changed() => None,
            }
        } else {
            match tokio::time::timeout(BATCH_WAIT, events.poll()).await {
                Ok(e) => Some(e),
                Err(_) => {
                    flush(&client, &mut *decoder, &pipeline, &source, &mut batch).await;
                    continue;
                }
            }
        };
        let Some(polled) = polled else {
            flush(&client, &mut *decoder, &pipeline, &source, &mut batch).await;
            let _ = client.disconnect().await;
            return;
        };
        match polled {
            Ok(MqttEvent::Incoming(Packet::ConnAck(ack))) => {
                backoff = Duration::from_secs(1);
                tracing::info!(broker = %settings.host, port = settings.port, session_present = ack.session_present, source = %source.name, "MQTT connected");
                // Subscribed on every connection, even when the broker kept the session: a
                // session may have been created by a connection that ended before its
                // subscriptions reached the broker, and would then receive nothing forever.
                for t in &topics {
                    if let Err(e) = client.subscribe(t, QoS::AtLeastOnce).await {
                        tracing::warn!(topic = %t, error = %e, "MQTT subscribe failed");
                    }
                }
            }
            Ok(MqttEvent::Incoming(Packet::Publish(p))) => {
                batch.push(p);
                if batch.len() >= BATCH_MESSAGES {
                    flush(&client, &mut *decoder, &pipeline, &source, &mut batch).await;
                }
            }
            Ok(_) => {}
            Err(e) => {
                // Unacknowledged messages of a broken connection will be redelivered.
                batch.clear();
                tracing::warn!(broker = %settings.host, port = settings.port, error = %e, retry_in = ?backoff, "MQTT connection lost");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
        }
    }
}

/// Decodes, commits and then acknowledges a batch.
async fn flush(
    client: &AsyncClient,
    decoder: &mut dyn TopicDecoder,
    pipeline: &Pipeline,
    source: &Source,
    batch: &mut Vec<Publish>,
) {
    if batch.is_empty() {
        return;
    }
    let ctx = pipeline.context(source, chrono::Utc::now());
    let results: Vec<_> = batch
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut result = decoder.decode(&p.topic, &p.payload, &ctx);
            if let Err(DecodeError::Invalid(m)) = &mut result {
                *m = format!("topic {}: {m}", p.topic);
            }
            (i as u64 + 1, result, &p.payload[..])
        })
        .collect();
    let decoded = pipeline.collect(source, results);
    // The decoders are stateful (they drop messages they have seen), so a batch the store
    // refused is retried as decoded rather than decoded again; until it is stored nothing is
    // acknowledged and the broker holds the rest, which is the backpressure MQTT offers.
    let mut wait = Duration::from_millis(100);
    loop {
        match pipeline.commit(decoded.clone(), "mqtt").await {
            Ok(_) => break,
            Err(e) => {
                tracing::warn!(source = %source.name, error = %e, retry_in = ?wait, "MQTT batch not stored yet");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(10));
            }
        }
    }
    for p in batch.drain(..) {
        if let Err(e) = client.ack(&p).await {
            tracing::warn!(error = %e, "MQTT acknowledgement failed; the broker will redeliver");
        }
    }
}

/// Frigate's topics under its prefix (`frigate/#`): events, reviews, availability and camera
/// state.
pub struct FrigateTopics {
    prefix: String,
    decoder: tandem_ingest::integrations::frigate::FrigateDecoder,
}

impl FrigateTopics {
    pub fn new(prefix: &str) -> FrigateTopics {
        FrigateTopics {
            prefix: prefix.trim_end_matches('/').to_owned(),
            decoder: tandem_ingest::integrations::frigate::FrigateDecoder::new(prefix),
        }
    }
}

impl TopicDecoder for FrigateTopics {
    fn subscriptions(&self) -> Vec<String> {
        vec![format!("{}/#", self.prefix)]
    }
    fn decode(
        &mut self,
        topic: &str,
        payload: &[u8],
        ctx: &DecodeContext,
    ) -> Result<Vec<Event>, DecodeError> {
        self.decoder.decode(topic, payload, ctx)
    }
}

/// IoT topics as a mapping's rules describe them.
pub struct IotTopics(pub tandem_ingest::integrations::iot::IotMapping);

impl TopicDecoder for IotTopics {
    fn subscriptions(&self) -> Vec<String> {
        self.0.subscriptions()
    }
    fn decode(
        &mut self,
        topic: &str,
        payload: &[u8],
        ctx: &DecodeContext,
    ) -> Result<Vec<Event>, DecodeError> {
        tandem_ingest::integrations::iot::decode(&self.0, topic, payload, ctx)
    }
}
