//! `tandem.camera_offline`: a camera reported offline (or tampered with) by its NVR or VMS.
//!
//! A camera going dark before a break-in is the oldest trick there is, and a quiet camera
//! also blinds [`super::tailgating`] and [`super::forced_door`]. Raised once per outage; when
//! the camera reports online again a resolution finding (informational, same dedup key,
//! `detail.state = "resolved"`) closes it with the outage's length.
//!
//! A `device_status` event is about a camera when its device kind is `camera` (from the event
//! or the directory record) or, with no device kind, when it names a camera place.

use super::{Draft, Located, Rule, cap_map, load, minutes, save, utc_label};
use crate::Detection;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tandem_identity::{Directory, PlaceKind};
use tandem_model::{Activity, Class, DeviceKind, Event, Finding, Severity, Timestamp, Ulid};

pub(crate) const RULE: Rule = Rule {
    id: "tandem.camera_offline",
    title: "Camera offline or tampered with",
    severity: Severity::Medium,
    tags: &[
        "attack.defense_evasion",
        "attack.t1562",
        "physical.camera_offline",
    ],
};

/// `tandem.camera_offline` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CameraOfflineConfig {
    pub enabled: bool,
    /// Also raise (high) for `tamper` reports from cameras.
    pub include_tamper: bool,
    /// Raise a resolution finding when the camera is back online.
    pub resolve_on_online: bool,
    pub max_cameras: usize,
}

impl Default for CameraOfflineConfig {
    fn default() -> Self {
        CameraOfflineConfig {
            enabled: true,
            include_tamper: true,
            resolve_on_online: true,
            max_cameras: 20_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Outage {
    time: Timestamp,
    id: Ulid,
    label: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    offline: HashMap<String, Outage>,
}

pub(crate) struct CameraOffline {
    cfg: CameraOfflineConfig,
    s: State,
}

impl CameraOffline {
    pub fn new(cfg: CameraOfflineConfig) -> Self {
        CameraOffline {
            cfg,
            s: State::default(),
        }
    }

    /// The camera's id, if the event is about a camera.
    fn camera(e: &Event, dir: &Directory) -> Option<String> {
        let device = e.device.as_ref();
        let record = device.and_then(|d| {
            d.id.as_deref()
                .and_then(|id| dir.device(id))
                .or_else(|| d.hostname.as_deref().and_then(|h| dir.device(h)))
        });
        let kind = match device.map(|d| d.kind) {
            Some(k) if k != DeviceKind::Unknown => k,
            _ => record.map(|r| r.kind).unwrap_or_default(),
        };
        let id = record
            .map(|r| r.id.clone())
            .or_else(|| device.and_then(|d| d.id.clone().or(d.hostname.clone())));
        let place_camera = e.place.as_ref().and_then(|p| p.camera.clone());
        match kind {
            DeviceKind::Camera => id.or(place_camera),
            DeviceKind::Unknown => place_camera.or_else(|| {
                let at = Located::of(e, dir);
                at.lineage
                    .first()
                    .filter(|p| p.kind == PlaceKind::Camera)
                    .map(|p| p.id.clone())
            }),
            _ => None,
        }
    }
}

impl Detection for CameraOffline {
    fn id(&self) -> &'static str {
        RULE.id
    }

    fn observe(&mut self, e: &Event, dir: &Directory, out: &mut Vec<Finding>) {
        if e.class != Class::DeviceStatus
            || !matches!(
                e.activity,
                Activity::Offline | Activity::Online | Activity::Tamper
            )
        {
            return;
        }
        let Some(camera) = Self::camera(e, dir) else {
            return;
        };
        let at = Located::of(e, dir);
        let label = if at.lineage.is_empty() && e.place.is_none() {
            camera.clone()
        } else {
            format!("{camera} ({})", at.label())
        };
        match e.activity {
            Activity::Offline => {
                if self.s.offline.contains_key(&camera) {
                    return;
                }
                let f = Draft::new(
                    &RULE,
                    format!("Camera {label} went offline at {}", utc_label(e.time)),
                    format_args!("{camera}:{}", e.id),
                )
                .event(e)
                .device(&camera)
                .detail("state", "offline");
                out.push(f.finish());
                self.s.offline.insert(
                    camera,
                    Outage {
                        time: e.time,
                        id: e.id,
                        label,
                    },
                );
                cap_map(&mut self.s.offline, self.cfg.max_cameras, |o| o.time);
            }
            Activity::Online => {
                let Some(o) = self.s.offline.remove(&camera) else {
                    return;
                };
                if !self.cfg.resolve_on_online {
                    return;
                }
                let f = Draft::new(
                    &RULE,
                    format!(
                        "Camera {} is back online after {} min offline",
                        o.label,
                        minutes(o.time, e.time)
                    ),
                    format_args!("{camera}:{}", o.id),
                )
                .severity(Severity::Informational)
                .evidence(o.time, o.id)
                .event(e)
                .device(&camera)
                .detail("state", "resolved")
                .detail("offline_minutes", minutes(o.time, e.time));
                out.push(f.finish());
            }
            _ if self.cfg.include_tamper => {
                let f = Draft::new(
                    &RULE,
                    format!("Camera {label} reported tampering at {}", utc_label(e.time)),
                    format_args!("{camera}:{}", e.id),
                )
                .severity(Severity::High)
                .event(e)
                .device(&camera)
                .detail("state", "tamper");
                out.push(f.finish());
            }
            _ => {}
        }
    }

    fn save_state(&self) -> Option<serde_json::Value> {
        save(&self.s)
    }

    fn load_state(&mut self, state: serde_json::Value) {
        load(RULE.id, state, &mut self.s);
    }
}
