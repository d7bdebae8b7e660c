//! `tandem.new_external_destination`: a camera or IoT device talking to an internet address it
//! never talked to while its baseline was learned.
//!
//! Cameras, door controllers and sensors talk to a handful of fixed places (their NVR, a
//! vendor cloud, NTP). A new external destination is how compromised IoT shows itself: botnet
//! command and control, a reverse shell, footage leaving the building. Each device learns for
//! `learning_days` from the first time it is seen, silently; after that every new external
//! destination raises once and joins the baseline.
//!
//! The device is the event's `device` (kind from the event, else from the directory record)
//! or, for flow logs that only name addresses, the directory device owning `src.ip`.
//! External means not private (RFC 1918, RFC 4193), loopback, link-local, CGNAT (RFC 6598),
//! multicast, broadcast, documentation or unspecified.

use super::{Draft, Rule, cap_map, later, load, save, utc_label};
use crate::Detection;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;
use tandem_identity::Directory;
use tandem_model::{Class, DeviceKind, Event, Finding, Severity, Timestamp};

pub(crate) const RULE: Rule = Rule {
    id: "tandem.new_external_destination",
    title: "Camera or IoT device contacted a new external destination",
    severity: Severity::Medium,
    tags: &[
        "attack.command_and_control",
        "attack.t1071",
        "attack.exfiltration",
        "physical.device_compromise",
    ],
};

/// `tandem.new_external_destination` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewExternalDestinationConfig {
    pub enabled: bool,
    /// Days a device's destinations are learned, silently, from the first time it is seen.
    pub learning_days: u64,
    /// Device kinds watched.
    pub device_kinds: Vec<DeviceKind>,
    /// Devices remembered (least recently active dropped first).
    pub max_devices: usize,
    /// Destinations remembered per device (least recently used dropped first; a dropped one
    /// raises again if it comes back after learning).
    pub max_destinations_per_device: usize,
}

impl Default for NewExternalDestinationConfig {
    fn default() -> Self {
        NewExternalDestinationConfig {
            enabled: true,
            learning_days: 7,
            device_kinds: vec![DeviceKind::Camera, DeviceKind::Iot],
            max_devices: 10_000,
            max_destinations_per_device: 1_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Profile {
    first_seen: Timestamp,
    last_seen: Timestamp,
    destinations: HashMap<String, Timestamp>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    devices: HashMap<String, Profile>,
    watermark: Option<Timestamp>,
}

pub(crate) struct NewExternalDestination {
    cfg: NewExternalDestinationConfig,
    s: State,
    /// IP → device id, rebuilt when the directory changes.
    ips: HashMap<IpAddr, String>,
    ips_seq: Option<u64>,
}

/// Whether `ip` is on the internet (see the module docs for what is not).
pub fn is_external(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || o[0] == 0
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_external(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8))
        }
    }
}

impl NewExternalDestination {
    pub fn new(cfg: NewExternalDestinationConfig) -> Self {
        NewExternalDestination {
            cfg,
            s: State::default(),
            ips: HashMap::new(),
            ips_seq: None,
        }
    }

    /// The watched device an event is about: (id, kind).
    fn device(&mut self, e: &Event, dir: &Directory) -> Option<(String, DeviceKind)> {
        if let Some(d) = &e.device {
            let record =
                d.id.as_deref()
                    .and_then(|id| dir.device(id))
                    .or_else(|| d.hostname.as_deref().and_then(|h| dir.device(h)));
            let kind = if d.kind != DeviceKind::Unknown {
                d.kind
            } else {
                record.map(|r| r.kind).unwrap_or_default()
            };
            let id = record
                .map(|r| r.id.clone())
                .or_else(|| d.id.clone())
                .or_else(|| d.hostname.clone())
                .or_else(|| d.ip.map(|ip| ip.to_string()));
            if let Some(id) = id {
                return Some((id, kind));
            }
        }
        let src = e.src.as_ref()?.ip?;
        if self.ips_seq != Some(dir.last_seq()) {
            self.ips = dir
                .devices()
                .into_iter()
                .flat_map(|d| d.ips.iter().map(|ip| (*ip, d.id.clone())))
                .collect();
            self.ips_seq = Some(dir.last_seq());
        }
        let id = self.ips.get(&src)?;
        let kind = dir.device(id)?.kind;
        Some((id.clone(), kind))
    }
}

impl Detection for NewExternalDestination {
    fn id(&self) -> &'static str {
        RULE.id
    }

    fn observe(&mut self, e: &Event, dir: &Directory, out: &mut Vec<Finding>) {
        if e.class != Class::NetworkActivity {
            return;
        }
        let Some(dst) = e.dst.as_ref().and_then(|d| d.ip) else {
            return;
        };
        let Some((device, kind)) = self.device(e, dir) else {
            return;
        };
        if !self.cfg.device_kinds.contains(&kind) {
            return;
        }
        self.s.watermark = later(self.s.watermark, e.time);
        let learning = super::secs(self.cfg.learning_days.saturating_mul(86_400));
        let profile = self
            .s
            .devices
            .entry(device.clone())
            .or_insert_with(|| Profile {
                first_seen: e.time,
                last_seen: e.time,
                destinations: HashMap::new(),
            });
        profile.first_seen = profile.first_seen.min(e.time);
        profile.last_seen = profile.last_seen.max(e.time);
        if !is_external(dst) {
            return;
        }
        let key = dst.to_string();
        let known = profile.destinations.contains_key(&key);
        let learned = e.time - profile.first_seen >= learning;
        let entry = profile.destinations.entry(key.clone()).or_insert(e.time);
        *entry = (*entry).max(e.time);
        let (first_seen, n_known) = (profile.first_seen, profile.destinations.len() - 1);
        cap_map(
            &mut profile.destinations,
            self.cfg.max_destinations_per_device,
            |t| *t,
        );
        cap_map(&mut self.s.devices, self.cfg.max_devices, |p| p.last_seen);
        if known || !learned {
            return;
        }
        let port = e
            .dst
            .as_ref()
            .and_then(|d| d.port)
            .map(|p| format!(" port {p}"))
            .unwrap_or_default();
        let host = e
            .dst
            .as_ref()
            .and_then(|d| d.hostname.as_deref())
            .map(|h| format!(" ({h})"))
            .unwrap_or_default();
        let kind_name = match kind {
            DeviceKind::Camera => "Camera",
            DeviceKind::Iot => "IoT device",
            DeviceKind::Reader => "Reader",
            _ => "Device",
        };
        let summary = format!(
            "{kind_name} {device} contacted {dst}{host}{port}, an external destination not seen for it \
             since its baseline began {} ({n_known} known)",
            utc_label(first_seen),
        );
        let f = Draft::new(&RULE, summary, format_args!("{device}:{dst}"))
            .event(e)
            .device(&device)
            .detail("destination", key)
            .detail("known_destinations", n_known as u64);
        out.push(f.finish());
    }

    fn tick(&mut self, now: Timestamp, _dir: &Directory, _out: &mut Vec<Finding>) {
        // Devices silent for four learning periods start over: they were probably replaced.
        let forget = super::secs(self.cfg.learning_days.saturating_mul(4 * 86_400));
        let cutoff = super::reference(self.s.watermark, now) - forget;
        self.s.devices.retain(|_, p| p.last_seen >= cutoff);
    }

    fn save_state(&self) -> Option<serde_json::Value> {
        save(&self.s)
    }

    fn load_state(&mut self, state: serde_json::Value) {
        load(RULE.id, state, &mut self.s);
    }
}
