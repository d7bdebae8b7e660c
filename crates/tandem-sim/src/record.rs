//! What the simulator produces: wire-ready payloads with the channel they travel on.

use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};
use tandem_model::{Event, Timestamp};

/// How a syslog line is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyslogTransport {
    Udp,
    Tcp,
}

/// Where a record goes, and how it travels there.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The syslog listener (auth.log lines, CEF from the access-control system).
    Syslog { transport: SyslogTransport },
    /// NDJSON lines batched to `POST /api/v1/ingest/{source}` (Winlogbeat, Zeek, Tandem JSON).
    Http { source: String },
    /// One JSON document per request to `POST /api/v1/ingest/{source}`, as an Okta event hook
    /// delivers: the body is the whole delivery, never batched with another.
    Document { source: String },
    /// One signed request per record to `POST /api/v1/webhooks/{source}` (Verkada).
    Webhook { source: String },
    /// One MQTT message, QoS 1 (Frigate, Zigbee2MQTT).
    Mqtt { topic: String, retain: bool },
}

/// One line as a source would send it.
///
/// `time` is when the thing happened (what the payload says); it orders records and ties them
/// to ground truth. The payload is exactly the bytes to send, without a trailing newline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub time: Timestamp,
    pub channel: Channel,
    pub payload: String,
}

impl Record {
    /// The source name of records sent over HTTP (batched, document or webhook).
    pub fn http_source(&self) -> Option<&str> {
        match &self.channel {
            Channel::Http { source }
            | Channel::Document { source }
            | Channel::Webhook { source } => Some(source),
            Channel::Syslog { .. } | Channel::Mqtt { .. } => None,
        }
    }

    /// The MQTT topic, for MQTT records.
    pub fn mqtt_topic(&self) -> Option<&str> {
        match &self.channel {
            Channel::Mqtt { topic, .. } => Some(topic),
            _ => None,
        }
    }

    /// The payload as a Tandem event, for records in Tandem's own JSON (tests and tools use
    /// this; vendor payloads give `None`).
    pub fn event(&self) -> Option<Event> {
        match &self.channel {
            Channel::Http { .. } => serde_json::from_str(&self.payload).ok(),
            _ => None,
        }
    }

    /// A short name of the channel for counts and ground truth: the Tandem source the record
    /// is filed under (`syslog` for syslog, the subscription's source for MQTT).
    pub fn channel_name(&self) -> &str {
        match &self.channel {
            Channel::Mqtt { topic, .. } if topic.starts_with(crate::render::FRIGATE_PREFIX) => {
                CAMERAS.name
            }
            Channel::Mqtt { .. } => SENSORS.name,
            _ => self.http_source().unwrap_or(SYSLOG_SOURCE),
        }
    }
}

/// How a source's records reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// `POST /api/v1/ingest/{source}` with the source's Bearer key.
    Ingest,
    /// `POST /api/v1/webhooks/{source}`, signed with the source's shared secret.
    Webhook,
    /// The shared syslog listener.
    Syslog,
    /// An MQTT broker the server subscribes to.
    Mqtt,
}

/// What the simulated sources speak on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Wire {
    /// Everything but auth.log as Tandem's own JSON to the [`HTTP_SOURCES`]: the simplest
    /// setup, used by benchmarks and by tests of the simulation itself.
    #[default]
    Tandem,
    /// Every source as the real product sends it (Winlogbeat, Okta, Entra, Genetec CEF,
    /// Verkada, Zeek, Frigate, Zigbee2MQTT; see [`sources`]). With `mqtt` false, cameras and
    /// sensors fall back to Tandem JSON over HTTP (no broker to publish to).
    Vendor { mqtt: bool },
}

/// A source the server must have registered for the simulator's records to be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SourceSpec {
    pub name: &'static str,
    pub vendor: &'static str,
    pub product: &'static str,
    /// Decoder to use (`tandem`, `windows`, `okta`, `frigate`, …).
    pub format: &'static str,
    pub via: Via,
}

pub const BADGES: SourceSpec = SourceSpec {
    name: "badges",
    vendor: "Nordlys Sim",
    product: "Access Control",
    format: "tandem",
    via: Via::Ingest,
};
pub const CAMERAS: SourceSpec = SourceSpec {
    name: "cameras",
    vendor: "Nordlys Sim",
    product: "Video Analytics",
    format: "tandem",
    via: Via::Ingest,
};
pub const VPN: SourceSpec = SourceSpec {
    name: "vpn",
    vendor: "Nordlys Sim",
    product: "VPN Gateway",
    format: "tandem",
    via: Via::Ingest,
};
pub const WORKSTATIONS: SourceSpec = SourceSpec {
    name: "workstations",
    vendor: "Nordlys Sim",
    product: "Endpoint Agent",
    format: "tandem",
    via: Via::Ingest,
};

pub const IDP: SourceSpec = SourceSpec {
    name: "idp",
    vendor: "Nordlys Sim",
    product: "Identity Provider",
    format: "tandem",
    via: Via::Ingest,
};
pub const NETWORK: SourceSpec = SourceSpec {
    name: "network",
    vendor: "Nordlys Sim",
    product: "Network Sensor",
    format: "tandem",
    via: Via::Ingest,
};
pub const SENSORS: SourceSpec = SourceSpec {
    name: "sensors",
    vendor: "Nordlys Sim",
    product: "IoT Sensors",
    format: "tandem",
    via: Via::Ingest,
};

/// The HTTP sources the simulator sends to with [`Wire::Tandem`], for the server to register.
pub const HTTP_SOURCES: &[SourceSpec] =
    &[BADGES, CAMERAS, VPN, WORKSTATIONS, IDP, NETWORK, SENSORS];

/// The sources of [`Wire::Vendor`], each as the real product sends it.
pub const VENDOR_SOURCES: &[SourceSpec] = &[
    SourceSpec {
        name: "windows",
        vendor: "Microsoft",
        product: "Windows (Winlogbeat)",
        format: "windows",
        via: Via::Ingest,
    },
    SourceSpec {
        name: "okta",
        vendor: "Okta",
        product: "System Log (event hook)",
        format: "okta",
        via: Via::Ingest,
    },
    SourceSpec {
        name: "entra",
        vendor: "Microsoft",
        product: "Entra ID sign-ins (Graph)",
        format: "entra",
        via: Via::Ingest,
    },
    SourceSpec {
        name: "verkada",
        vendor: "Verkada",
        product: "Access Control webhooks",
        format: "verkada",
        via: Via::Webhook,
    },
    SourceSpec {
        name: "zeek",
        vendor: "Zeek",
        product: "conn.log (JSON)",
        format: "zeek",
        via: Via::Ingest,
    },
    VPN,
    SourceSpec {
        name: SYSLOG_SOURCE,
        vendor: "Linux / Genetec",
        product: "auth.log, Security Center CEF",
        format: "syslog",
        via: Via::Syslog,
    },
    SourceSpec {
        name: "cameras",
        vendor: "Frigate",
        product: "NVR",
        format: "frigate",
        via: Via::Mqtt,
    },
    SourceSpec {
        name: "sensors",
        vendor: "Zigbee2MQTT",
        product: "Server-room sensors",
        format: "iot",
        via: Via::Mqtt,
    },
];

/// The sources records of `wire` go to. Syslog is included for [`Wire::Vendor`] only (with
/// [`Wire::Tandem`] it is the server's own listener, registered by the server).
pub fn sources(wire: Wire) -> Vec<SourceSpec> {
    match wire {
        Wire::Tandem => HTTP_SOURCES.to_vec(),
        Wire::Vendor { mqtt: true } => VENDOR_SOURCES.to_vec(),
        Wire::Vendor { mqtt: false } => VENDOR_SOURCES
            .iter()
            .map(|s| match s.via {
                Via::Mqtt if s.name == CAMERAS.name => CAMERAS,
                Via::Mqtt => SENSORS,
                _ => *s,
            })
            .collect(),
    }
}

/// The source name the server should file the simulator's syslog under.
pub const SYSLOG_SOURCE: &str = "syslog";

/// Serialises an event for an HTTP record.
///
/// `id` and `ingest_time` are left out: both are the server's to assign (the model fills them
/// on deserialisation). Leaving them out keeps the output identical between runs with the same
/// seed, and means replaying a seed twice never produces colliding event ids.
pub(crate) fn event_record(e: &Event) -> Record {
    let full = serde_json::to_string(e).unwrap_or_default();
    let payload = strip_server_fields(&full).unwrap_or_else(|| {
        // Not the field order expected below (the model changed): take the slow, sure way.
        let mut v: serde_json::Value = serde_json::from_str(&full).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.remove("id");
            obj.remove("ingest_time");
        }
        v.to_string()
    });
    Record {
        time: e.time,
        channel: Channel::Http {
            source: e.source.name.clone(),
        },
        payload,
    }
}

/// Cuts `"id"` and `"ingest_time"` out of a serialised event without re-parsing it. Both come
/// first in the model's field order, before any text a source controls, and neither can
/// contain a quote. Re-parsing would also widen `f32` scores (`0.91` → `0.9100000262260437`).
fn strip_server_fields(s: &str) -> Option<String> {
    let rest = s.strip_prefix("{\"id\":\"")?;
    let rest = &rest[rest.find("\",")? + 2..];
    const KEY: &str = ",\"ingest_time\":\"";
    let k = rest.find(KEY)?;
    let after = &rest[k + KEY.len()..];
    let tail = &after[after.find('"')? + 1..];
    Some(format!("{{{}{}", &rest[..k], tail))
}

/// One auth-log line ready for the wire.
pub(crate) struct SyslogLine<'a> {
    pub pri: u8,
    pub host: &'a str,
    pub app: &'a str,
    pub pid: Option<u32>,
    pub msg: &'a str,
}

/// RFC 3164 as rsyslog forwards it: `<PRI>Mmm dd hh:mm:ss HOST APP[PID]: MSG`, day padded with
/// a space, timestamp in UTC (the servers run on UTC).
pub(crate) fn rfc3164(t: Timestamp, l: &SyslogLine<'_>) -> String {
    let ts = t.format("%b %e %H:%M:%S");
    match l.pid {
        Some(pid) => format!("<{}>{} {} {}[{}]: {}", l.pri, ts, l.host, l.app, pid, l.msg),
        None => format!("<{}>{} {} {}: {}", l.pri, ts, l.host, l.app, l.msg),
    }
}

/// RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID - - MSG` (no MSGID, no structured data).
pub(crate) fn rfc5424(t: Timestamp, l: &SyslogLine<'_>) -> String {
    let ts = t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let pid = l.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into());
    format!(
        "<{}>1 {} {} {} {} - - {}",
        l.pri, ts, l.host, l.app, pid, l.msg
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_forms() {
        let t: Timestamp = "2026-11-05T08:01:02Z".parse().unwrap();
        let l = SyslogLine {
            pri: 38,
            host: "srv-db-01",
            app: "sshd",
            pid: Some(2211),
            msg: "x y",
        };
        assert_eq!(
            rfc3164(t, &l),
            "<38>Nov  5 08:01:02 srv-db-01 sshd[2211]: x y"
        );
        assert_eq!(
            rfc5424(t, &l),
            "<38>1 2026-11-05T08:01:02.000Z srv-db-01 sshd 2211 - - x y"
        );
        let l = SyslogLine {
            pri: 85,
            host: "h",
            app: "sudo",
            pid: None,
            msg: "m",
        };
        assert_eq!(rfc3164(t, &l), "<85>Nov  5 08:01:02 h sudo: m");
        assert_eq!(
            rfc5424(t, &l),
            "<85>1 2026-11-05T08:01:02.000Z h sudo - - - m"
        );
    }

    #[test]
    fn event_records_omit_server_fields() {
        let mut e = Event::new(
            "badges",
            tandem_model::Class::PhysicalAccess,
            tandem_model::Activity::Granted,
            "2026-11-25T08:00:00Z".parse().unwrap(),
        );
        e.physical_mut().detection = Some(tandem_model::ObjectDetection {
            label: "person".into(),
            score: 0.91,
            ..Default::default()
        });
        let r = event_record(&e);
        assert!(
            r.payload
                .starts_with("{\"time\":\"2026-11-25T08:00:00Z\",\"source\":"),
            "{}",
            r.payload
        );
        assert!(r.payload.contains("\"score\":0.91}"), "{}", r.payload);
        assert!(!r.payload.contains("\"id\""));
        assert!(!r.payload.contains("ingest_time"));
        let back: Event = serde_json::from_str(&r.payload).unwrap();
        assert_eq!(back.time, e.time);
        assert_eq!(r.http_source(), Some("badges"));
    }
}
