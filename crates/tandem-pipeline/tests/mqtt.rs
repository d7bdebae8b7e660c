//! MQTT ingest against a real Mosquitto broker: QoS 1, acknowledged only once stored, and
//! nothing lost while Tandem or the broker restarts.

use std::sync::Arc;
use std::time::Duration;
use tandem_ingest::decode::{DecodeContext, DecodeError, Format, decode_line};
use tandem_model::Event;
use tandem_pipeline::metrics::IngestMetrics;
use tandem_pipeline::mqtt::{self, BrokerSettings, TopicDecoder};
use tandem_pipeline::pipeline::{Limits, Pipeline, Source};
use tandem_store::{EventStore, SearchRequest, SqliteStore, StoreConfig};
use tandem_testkit::Mosquitto;
use tokio::sync::watch;

/// Tandem-format events, one per message, on `test/#`.
struct TandemJson;

impl TopicDecoder for TandemJson {
    fn subscriptions(&self) -> Vec<String> {
        vec!["test/#".into()]
    }
    fn decode(
        &mut self,
        _topic: &str,
        payload: &[u8],
        ctx: &DecodeContext,
    ) -> Result<Vec<Event>, DecodeError> {
        decode_line(Format::Tandem, payload, ctx).map(|e| vec![e])
    }
}

fn line(n: usize) -> String {
    format!(
        r#"{{"time":"2026-03-04T10:00:00Z","class":"device_telemetry","activity":"reading","message":"reading {n}"}}"#
    )
}

async fn publish(port: u16, from: usize, to: usize) {
    let messages: Vec<_> = (from..to)
        .map(|n| (format!("test/sensor/{n}"), line(n).into_bytes()))
        .collect();
    tokio::task::spawn_blocking(move || tandem_testkit::mqtt_publish(port, &messages))
        .await
        .unwrap();
}

/// Distinct messages stored. Delivery is at least once: a broker restarted before it has
/// processed Tandem's acknowledgements redelivers, so duplicates are allowed; losses are not.
fn distinct(store: &SqliteStore) -> usize {
    let request = SearchRequest::new(
        tandem_query::parse("class:device_telemetry | count by message").unwrap(),
    );
    match store.search(&request).unwrap() {
        tandem_store::SearchResult::Aggregation(a) => a.rows.len(),
        tandem_store::SearchResult::Events(_) => unreachable!("an aggregation was asked for"),
    }
}

async fn wait_total(store: &SqliteStore, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while distinct(store) != n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "expected {n} distinct messages, have {}",
            distinct(store)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_stored_and_none_is_lost_across_restarts() {
    let mut broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path(), StoreConfig::default()).unwrap());
    let pipeline = Arc::new(Pipeline::new(
        store.clone(),
        Limits::default(),
        Arc::new(IngestMetrics::new()),
    ));
    let source = Source::new("sensors", Format::Tandem);
    pipeline.register(source.clone()).unwrap();
    let settings = BrokerSettings {
        port: broker.port,
        client_id: "tandem-test".into(),
        ..BrokerSettings::default()
    };
    let start = |stop: watch::Receiver<bool>| {
        tokio::spawn(mqtt::run(
            settings.clone(),
            Box::new(TandemJson),
            pipeline.clone(),
            source.clone(),
            stop,
        ))
    };

    let (stop, rx) = watch::channel(false);
    let task = start(rx);
    // The first connection creates the persistent session and its subscription.
    tokio::time::sleep(Duration::from_millis(500)).await;
    publish(broker.port, 0, 50).await;
    wait_total(&store, 50).await;

    // Tandem away: the broker queues for its session, even across a broker restart.
    stop.send(true).unwrap();
    task.await.unwrap();
    publish(broker.port, 50, 60).await;
    broker.restart();
    let (_stop, rx) = watch::channel(false);
    let _task = start(rx);
    wait_total(&store, 60).await;

    // The broker going away while Tandem runs: Tandem reconnects and goes on.
    broker.restart();
    publish(broker.port, 60, 65).await;
    wait_total(&store, 65).await;
}

/// A server stopped after the broker created its session but before its subscription arrived
/// leaves a session with nothing subscribed; the next start must still receive messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_left_without_subscriptions_is_subscribed_on_the_next_start() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path(), StoreConfig::default()).unwrap());
    let pipeline = Arc::new(Pipeline::new(
        store.clone(),
        Limits::default(),
        Arc::new(IngestMetrics::new()),
    ));
    let source = Source::new("sensors", Format::Tandem);
    pipeline.register(source.clone()).unwrap();

    // The session, as a connection cut short leaves it: created, nothing subscribed.
    let mut options = rumqttc::MqttOptions::new("tandem-test", "127.0.0.1", broker.port);
    options.set_clean_session(false);
    let (client, mut events) = rumqttc::AsyncClient::new(options, 10);
    loop {
        if let rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_)) = events.poll().await.unwrap()
        {
            break;
        }
    }
    client.disconnect().await.unwrap();
    while events.poll().await.is_ok() {}

    let settings = BrokerSettings {
        port: broker.port,
        client_id: "tandem-test".into(),
        ..BrokerSettings::default()
    };
    let (_stop, rx) = watch::channel(false);
    let _task = tokio::spawn(mqtt::run(
        settings,
        Box::new(TandemJson),
        pipeline.clone(),
        source.clone(),
        rx,
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    publish(broker.port, 0, 5).await;
    wait_total(&store, 5).await;
}
