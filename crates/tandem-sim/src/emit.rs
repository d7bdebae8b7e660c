//! Sends records to a Tandem server the way real sources would: NDJSON over HTTP for the
//! line-oriented sources (Winlogbeat, Zeek), one document per request for event hooks
//! (Okta), signed webhooks (Verkada), syslog over UDP and TCP for the servers and the
//! access-control system, and MQTT for Frigate and Zigbee2MQTT.

use crate::record::{Channel, Record, SyslogTransport};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Largest number of lines in one HTTP ingest request.
pub const HTTP_BATCH_LINES: usize = 5_000;

/// TCP frames are written in chunks of about this many bytes; a chunk is the unit that is
/// resent after a reconnect.
const TCP_CHUNK_BYTES: usize = 64 * 1024;

/// After this many UDP datagrams the emitter pauses a millisecond, so a burst (a whole day
/// sent at once) does not overrun a loopback receiver's socket buffer. UDP drops silently;
/// prefer TCP for bulk replays.
const UDP_PACE_EVERY: usize = 200;

/// What one [`Emitter::send`] delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SendReport {
    pub http_requests: usize,
    /// Lines posted over HTTP.
    pub http_records: usize,
    /// Sum of the server's `accepted` counts.
    pub accepted: u64,
    /// Sum of the server's `rejected` counts.
    pub rejected: u64,
    pub syslog_udp: usize,
    pub syslog_tcp: usize,
    /// MQTT messages the broker acknowledged.
    pub mqtt: usize,
}

impl SendReport {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &SendReport) {
        self.http_requests += other.http_requests;
        self.http_records += other.http_records;
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.syslog_udp += other.syslog_udp;
        self.syslog_tcp += other.syslog_tcp;
        self.mqtt += other.mqtt;
    }
}

/// Why records could not be delivered.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    #[error("no API key for HTTP source `{0}` (and no `*` key)")]
    MissingApiKey(String),
    #[error("there are syslog records but no syslog address is configured")]
    NoSyslogTarget,
    #[error("ingest of source `{stream}` refused with HTTP {status}: {message}")]
    Http {
        stream: String,
        status: u16,
        message: String,
    },
    #[error("cannot reach {url}: {message}")]
    Transport { url: String, message: String },
    #[error("unexpected answer from {url}: {message}")]
    BadResponse { url: String, message: String },
    #[error("there are MQTT records but no MQTT broker is configured")]
    NoMqttTarget,
    #[error("no webhook signer for source `{0}`")]
    MissingSigner(String),
    #[error("MQTT broker {addr}: {message}")]
    Mqtt { addr: String, message: String },
    #[error("syslog over {transport} to {addr}: {source}")]
    Syslog {
        transport: &'static str,
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
}

/// Signs a webhook body: returns the header name and value to send with it (for Verkada,
/// `Verkada-Signature` and `tandem_ingest::integrations::verkada::sign`'s output). Kept a
/// callback so the simulator does not carry its own copy of each vendor's signing scheme.
pub type Signer = Box<dyn Fn(&[u8]) -> (String, String) + Send + Sync>;

/// The MQTT broker to publish Frigate and Zigbee2MQTT messages to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttTarget {
    pub host: String,
    pub port: u16,
    pub client_id: String,
}

/// A connection to the broker: the client, and the acknowledgements its event loop (on its
/// own thread) reports.
struct MqttLink {
    client: rumqttc::Client,
    acks: mpsc::Receiver<Result<(), String>>,
}

impl MqttLink {
    fn connect(target: &MqttTarget) -> MqttLink {
        let mut options = rumqttc::MqttOptions::new(&target.client_id, &target.host, target.port);
        options.set_keep_alive(Duration::from_secs(30));
        options.set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut connection) = rumqttc::Client::new(options, 256);
        let (tx, acks) = mpsc::channel();
        std::thread::spawn(move || {
            for ev in connection.iter() {
                let report = match ev {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) => Ok(()),
                    Ok(rumqttc::Event::Outgoing(rumqttc::Outgoing::Disconnect)) => break,
                    Ok(_) => continue,
                    Err(e) => {
                        // The next iteration reconnects; unacknowledged messages are resent.
                        std::thread::sleep(Duration::from_millis(300));
                        Err(e.to_string())
                    }
                };
                if tx.send(report).is_err() {
                    break;
                }
            }
        });
        MqttLink { client, acks }
    }
}

/// Delivers records to one Tandem server.
///
/// HTTP records are grouped by source and posted as NDJSON to
/// `{base_url}/api/v1/ingest/{source}` with `Authorization: Bearer {key}`, the key looked up
/// by source name in `api_keys` (or under `*` for one key for all). Syslog records go to the
/// transport their server uses; if only one syslog address is configured, all syslog goes
/// there. UDP is one datagram per line; TCP keeps one connection and uses RFC 6587
/// octet-counting (`LEN SP MSG`), reconnecting once when the connection has gone (a chunk
/// that was being written then is sent again, so delivery after a reconnect is
/// at-least-once).
///
/// Blocking by design: it runs on its own thread next to the simulator.
pub struct Emitter {
    base_url: String,
    api_keys: HashMap<String, String>,
    syslog_udp: Option<SocketAddr>,
    syslog_tcp: Option<SocketAddr>,
    agent: ureq::Agent,
    udp: Mutex<Option<UdpSocket>>,
    tcp: Mutex<Option<TcpStream>>,
    signers: HashMap<String, Signer>,
    mqtt_target: Option<MqttTarget>,
    mqtt: Mutex<Option<MqttLink>>,
}

impl Emitter {
    pub fn new(
        base_url: impl Into<String>,
        api_keys: HashMap<String, String>,
        syslog_udp: Option<SocketAddr>,
        syslog_tcp: Option<SocketAddr>,
    ) -> Emitter {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Loopback demo traffic: never through an environment-configured proxy.
            .proxy(None)
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_global(Some(Duration::from_secs(60)))
            .build();
        Emitter {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            api_keys,
            syslog_udp,
            syslog_tcp,
            agent: ureq::Agent::new_with_config(config),
            udp: Mutex::new(None),
            tcp: Mutex::new(None),
            signers: HashMap::new(),
            mqtt_target: None,
            mqtt: Mutex::new(None),
        }
    }

    /// Signs the webhook records of `source` with `signer`.
    pub fn with_signer(mut self, source: impl Into<String>, signer: Signer) -> Emitter {
        self.signers.insert(source.into(), signer);
        self
    }

    /// Publishes MQTT records to `target` (QoS 1; a send returns once the broker has
    /// acknowledged every message). Connects at the first MQTT record.
    pub fn with_mqtt(mut self, target: MqttTarget) -> Emitter {
        self.mqtt_target = Some(target);
        self
    }

    /// Sends `records`, keeping time order within each HTTP source and each syslog transport.
    ///
    /// Checks keys and addresses before sending anything; stops at the first failure (records
    /// sent before it stay sent).
    pub fn send(&self, records: &[Record]) -> Result<SendReport, EmitError> {
        let mut sorted: Vec<&Record> = records.iter().collect();
        sorted.sort_by_key(|r| r.time);
        let mut http: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut documents: Vec<(&str, &str)> = Vec::new();
        let mut webhooks: Vec<(&str, &str)> = Vec::new();
        let mut mqtt: Vec<(&str, bool, &str)> = Vec::new();
        let mut udp: Vec<&str> = Vec::new();
        let mut tcp: Vec<&str> = Vec::new();
        for r in sorted {
            match &r.channel {
                Channel::Http { source } => http.entry(source).or_default().push(&r.payload),
                Channel::Document { source } => documents.push((source, &r.payload)),
                Channel::Webhook { source } => webhooks.push((source, &r.payload)),
                Channel::Mqtt { topic, retain } => mqtt.push((topic, *retain, &r.payload)),
                Channel::Syslog { transport } => {
                    let via_tcp = match (transport, self.syslog_udp, self.syslog_tcp) {
                        (_, None, None) => return Err(EmitError::NoSyslogTarget),
                        (SyslogTransport::Tcp, _, Some(_))
                        | (SyslogTransport::Udp, None, Some(_)) => true,
                        _ => false,
                    };
                    if via_tcp {
                        tcp.push(&r.payload)
                    } else {
                        udp.push(&r.payload)
                    }
                }
            }
        }
        for source in http.keys().chain(documents.iter().map(|d| &d.0)) {
            self.key_for(source)?;
        }
        for (source, _) in &webhooks {
            if !self.signers.contains_key(*source) {
                return Err(EmitError::MissingSigner((*source).to_owned()));
            }
        }
        if !mqtt.is_empty() && self.mqtt_target.is_none() {
            return Err(EmitError::NoMqttTarget);
        }

        let mut report = SendReport::default();
        let count = |report: &mut SendReport, n: usize, (accepted, rejected): (u64, u64)| {
            report.http_requests += 1;
            report.http_records += n;
            report.accepted += accepted;
            report.rejected += rejected;
        };
        for (source, lines) in &http {
            for batch in lines.chunks(HTTP_BATCH_LINES) {
                let mut body = String::with_capacity(batch.iter().map(|l| l.len() + 1).sum());
                for l in batch {
                    body.push_str(l);
                    body.push('\n');
                }
                let auth = format!("Bearer {}", self.key_for(source)?);
                let url = format!("{}/api/v1/ingest/{source}", self.base_url);
                let got = self.post(
                    source,
                    &url,
                    ("Authorization", &auth),
                    "application/x-ndjson",
                    &body,
                )?;
                count(&mut report, batch.len(), got);
            }
        }
        for (source, body) in &documents {
            let auth = format!("Bearer {}", self.key_for(source)?);
            let url = format!("{}/api/v1/ingest/{source}", self.base_url);
            let got = self.post(
                source,
                &url,
                ("Authorization", &auth),
                "application/json",
                body,
            )?;
            count(&mut report, 1, got);
        }
        for (source, body) in &webhooks {
            let signer = self
                .signers
                .get(*source)
                .ok_or_else(|| EmitError::MissingSigner((*source).to_owned()))?;
            let (name, value) = signer(body.as_bytes());
            let url = format!("{}/api/v1/webhooks/{source}", self.base_url);
            let got = self.post(source, &url, (&name, &value), "application/json", body)?;
            count(&mut report, 1, got);
        }
        if !mqtt.is_empty() {
            self.publish(&mqtt)?;
            report.mqtt = mqtt.len();
        }
        if let (Some(addr), false) = (self.syslog_udp, udp.is_empty()) {
            self.send_udp(addr, &udp)?;
            report.syslog_udp = udp.len();
        }
        if let (Some(addr), false) = (self.syslog_tcp, tcp.is_empty()) {
            self.send_tcp(addr, &tcp)?;
            report.syslog_tcp = tcp.len();
        }
        Ok(report)
    }

    fn key_for(&self, source: &str) -> Result<&str, EmitError> {
        self.api_keys
            .get(source)
            .or_else(|| self.api_keys.get("*"))
            .map(String::as_str)
            .ok_or_else(|| EmitError::MissingApiKey(source.to_owned()))
    }

    /// Publishes `messages` (topic, retain, payload) with QoS 1 and waits until the broker
    /// has acknowledged them all.
    fn publish(&self, messages: &[(&str, bool, &str)]) -> Result<(), EmitError> {
        let target = self.mqtt_target.as_ref().ok_or(EmitError::NoMqttTarget)?;
        let addr = format!("{}:{}", target.host, target.port);
        let mut guard = self.mqtt.lock().unwrap_or_else(PoisonError::into_inner);
        let link = guard.get_or_insert_with(|| MqttLink::connect(target));
        // Acknowledgements of an earlier, timed-out send are not this send's.
        while link.acks.try_recv().is_ok() {}
        for (topic, retain, payload) in messages {
            link.client
                .publish(
                    *topic,
                    rumqttc::QoS::AtLeastOnce,
                    *retain,
                    payload.as_bytes(),
                )
                .map_err(|e| EmitError::Mqtt {
                    addr: addr.clone(),
                    message: e.to_string(),
                })?;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut acked = 0;
        let mut last_error = None;
        while acked < messages.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            match link.acks.recv_timeout(left) {
                Ok(Ok(())) => acked += 1,
                Ok(Err(e)) => last_error = Some(e),
                Err(_) => {
                    return Err(EmitError::Mqtt {
                        addr,
                        message: format!(
                            "{acked} of {} messages acknowledged in 30 s{}",
                            messages.len(),
                            last_error
                                .map(|e| format!(" (last error: {e})"))
                                .unwrap_or_default()
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Posts one body; returns the server's (accepted, rejected).
    fn post(
        &self,
        source: &str,
        url: &str,
        auth: (&str, &str),
        content_type: &str,
        body: &str,
    ) -> Result<(u64, u64), EmitError> {
        let url = url.to_owned();
        let transport = |e: ureq::Error| EmitError::Transport {
            url: url.clone(),
            message: e.to_string(),
        };
        let mut resp = self
            .agent
            .post(&url)
            .header(auth.0, auth.1)
            .content_type(content_type)
            .send(body.as_bytes())
            .map_err(transport)?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().map_err(transport)?;
        let json: Option<serde_json::Value> = serde_json::from_str(&text).ok();
        if !(200..300).contains(&status) {
            let message = json
                .as_ref()
                .and_then(|v| v.get("error"))
                .and_then(|e| e.as_str())
                .map(str::to_owned)
                .unwrap_or_else(|| text.chars().take(500).collect());
            return Err(EmitError::Http {
                stream: source.to_owned(),
                status,
                message,
            });
        }
        let count = |k: &str| {
            json.as_ref()
                .and_then(|v| v.get(k))
                .and_then(|n| n.as_u64())
        };
        match count("accepted") {
            Some(accepted) => Ok((accepted, count("rejected").unwrap_or(0))),
            None => Err(EmitError::BadResponse {
                url,
                message: format!(
                    "HTTP {status} without an `accepted` count: {}",
                    text.chars().take(200).collect::<String>()
                ),
            }),
        }
    }

    fn send_udp(&self, addr: SocketAddr, lines: &[&str]) -> Result<(), EmitError> {
        let err = |source| EmitError::Syslog {
            transport: "udp",
            addr,
            source,
        };
        let mut guard = self.udp.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.is_none() {
            let local: SocketAddr = if addr.is_ipv4() {
                ([0, 0, 0, 0], 0).into()
            } else {
                ([0u16; 8], 0).into()
            };
            *guard = Some(UdpSocket::bind(local).map_err(err)?);
        }
        let sock = guard.as_ref().expect("bound above");
        for (i, line) in lines.iter().enumerate() {
            if i > 0 && i % UDP_PACE_EVERY == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            sock.send_to(line.as_bytes(), addr).map_err(err)?;
        }
        Ok(())
    }

    fn send_tcp(&self, addr: SocketAddr, lines: &[&str]) -> Result<(), EmitError> {
        let err = |source| EmitError::Syslog {
            transport: "tcp",
            addr,
            source,
        };
        let mut guard = self.tcp.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.as_ref().is_some_and(|s| !still_open(s)) {
            *guard = None;
        }
        let mut buf = Vec::with_capacity(TCP_CHUNK_BYTES + 1024);
        let mut i = 0;
        while i < lines.len() {
            buf.clear();
            while i < lines.len() && buf.len() < TCP_CHUNK_BYTES {
                // RFC 6587 octet counting: the length of MSG in bytes, a space, MSG.
                write!(buf, "{} {}", lines[i].len(), lines[i]).map_err(err)?;
                i += 1;
            }
            let mut reconnected = false;
            loop {
                if guard.is_none() {
                    *guard = Some(connect(addr).map_err(err)?);
                    reconnected = true;
                }
                let stream = guard.as_mut().expect("connected above");
                match stream.write_all(&buf) {
                    Ok(()) => break,
                    Err(e) => {
                        *guard = None;
                        if reconnected {
                            return Err(err(e));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

impl Drop for Emitter {
    fn drop(&mut self) {
        if let Some(link) = self.mqtt.get_mut().ok().and_then(Option::take) {
            let _ = link.client.disconnect();
        }
    }
}

fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_write_timeout(Some(Duration::from_secs(10)))?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// Whether the peer still has the connection open. A write to a closed TCP connection often
/// "succeeds" into the kernel buffer, so look for the peer's FIN before writing.
fn still_open(s: &TcpStream) -> bool {
    if s.set_nonblocking(true).is_err() {
        return false;
    }
    let mut byte = [0u8; 1];
    let open = match s.peek(&mut byte) {
        Ok(0) => false,
        Ok(_) => {
            // A syslog receiver has nothing to say; discard whatever it said.
            let mut sink = [0u8; 512];
            let _ = (&*s).read(&mut sink);
            true
        }
        Err(e) => e.kind() == io::ErrorKind::WouldBlock,
    };
    s.set_nonblocking(false).is_ok() && open
}
