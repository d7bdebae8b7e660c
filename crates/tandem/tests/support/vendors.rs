//! The simulated company's products as senders to a real server: every vendor source
//! registered as `tandem demo` registers it, and an emitter speaking each product's wire
//! (signed Verkada webhooks, source keys, syslog, MQTT through a real broker).

use super::TestServer;
use chrono::Utc;
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tandem_ingest::integrations::verkada;
use tandem_sim::{Emitter, FRIGATE_PREFIX, MqttTarget, Org, Via, Wire};

/// The API key of every HTTP source.
pub const KEY: &str = "tsk_wire_scenarios_key";
/// The signing secret of every webhook source.
pub const SECRET: &str = "whsec-wire-scenarios";

/// `[[sources]]` and `[[mqtt]]` (TOML) registering every vendor source of `org`, the MQTT
/// ones subscribed to the broker on `mqtt_port`. More tables may be appended to the text.
pub fn sources_toml(org: &Org, mqtt_port: u16) -> String {
    let hash = {
        let out = super::tandem().args(["hash-key", KEY]).output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let mut sources = Vec::new();
    let mut mqtt = Vec::new();
    for spec in tandem_sim::sources(Wire::Vendor { mqtt: true }) {
        let broker = json!({"host": "127.0.0.1", "port": mqtt_port,
                            "client_id": format!("tandem-wire-{}", spec.name)});
        match spec.via {
            Via::Ingest => sources
                .push(json!({"name": spec.name, "format": spec.format, "api_key_sha256": hash})),
            Via::Webhook => sources
                .push(json!({"name": spec.name, "format": spec.format, "webhook_secret": SECRET})),
            Via::Syslog => {}
            Via::Mqtt if spec.format == "iot" => mqtt.push(json!({
                "source": spec.name, "format": "iot", "broker": broker,
                "rules": tandem_sim::sensor_rules(org),
            })),
            Via::Mqtt => mqtt.push(json!({
                "source": spec.name, "format": spec.format, "prefix": FRIGATE_PREFIX,
                "broker": broker,
            })),
        }
    }
    toml::to_string(&json!({"sources": sources, "mqtt": mqtt})).unwrap()
}

/// Loads `org`'s directory through the API as an operator does: places file, then HR export.
pub fn load_directory(server: &TestServer, org: &Org) {
    let (status, body) = server.post(
        "/api/v1/directory/records?file=places.json",
        &org.directory_records().to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.post("/api/v1/directory/hr", &org.hr_csv());
    assert_eq!(status, 200, "{body}");
}

/// An emitter sending to `server` as the products do, publishing to the broker on
/// `mqtt_port`. Returns once the server's MQTT subscriptions are live (Frigate's and
/// Zigbee2MQTT's retained hellos are stored), so nothing published later is lost.
pub fn emitter(server: &TestServer, org: &Org, mqtt_port: u16) -> Emitter {
    let emitter = Emitter::new(
        server.url.clone(),
        HashMap::from([("*".to_owned(), KEY.to_owned())]),
        server.syslog_udp,
        server.syslog_tcp,
    )
    .with_signer(
        "verkada",
        Box::new(|body: &[u8]| {
            let signature = verkada::sign(SECRET.as_bytes(), Utc::now().timestamp(), body);
            (verkada::SIGNATURE_HEADER.to_owned(), signature)
        }),
    )
    .with_mqtt(MqttTarget {
        host: "127.0.0.1".into(),
        port: mqtt_port,
        client_id: "wire-scenarios-publisher".into(),
    });
    emitter.send(&tandem_sim::mqtt_hello(org)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.total("source:cameras") == 0 || server.total("source:sensors") == 0 {
        assert!(Instant::now() < deadline, "MQTT subscriptions not live");
        std::thread::sleep(Duration::from_millis(100));
    }
    emitter
}
