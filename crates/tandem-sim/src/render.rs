//! Rendering what happened ([`Item`]s) into what each product would put on the wire.
//!
//! The simulation decides *what* happens as Tandem events; this module decides *how it is
//! said*. With [`Wire::Tandem`] every event goes out as Tandem JSON, as before. With
//! [`Wire::Vendor`] each source speaks its real product's format, so the demo exercises the
//! same decoders a customer's installation does:
//!
//! | what | rendered as | channel |
//! |---|---|---|
//! | laptop logon / logoff | Windows Security 4624 / 4625 / 4634 (+ 4672 for IT admins), Winlogbeat JSON | HTTP `windows` |
//! | IdP sign-in (London) | Entra ID Graph `signIn` | HTTP `entra` |
//! | IdP sign-in (elsewhere) | Okta System Log event in an event-hook delivery | HTTP document `okta` |
//! | badge reader (London) | Verkada access webhook, signed by the emitter | webhook `verkada` |
//! | badge reader (Oslo, Stockholm) | Genetec Security Center CEF in RFC 5424 syslog | syslog (TCP) |
//! | camera detection | Frigate `frigate/events` new + end per person, `frigate/reviews` new + end | MQTT |
//! | server-room sensor | Zigbee2MQTT `zigbee2mqtt/<name>` JSON | MQTT |
//! | network flow | Zeek `conn.log` JSON | HTTP `zeek` |
//! | VPN, auth.log | unchanged (Tandem JSON; RFC 3164/5424 syslog) | HTTP `vpn`; syslog |
//!
//! "Door opened after the grant" has no counterpart in these access-control exports (they
//! forward decisions and alarms, not door-position changes), so it is not rendered in vendor
//! mode. Randomness a rendering needs (object ids, ports, record numbers) comes from a hash of
//! the event itself, so one event always renders the same way, whichever window asks for it.

use crate::build::{Index, Item};
use crate::org::{AccessControl, IdentityProvider, Org, Person};
use crate::record::{Channel, Record, SyslogTransport, Wire, event_record};
use crate::util::{fnv, mix, rng};
use chrono::{Duration, SecondsFormat};
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr};
use tandem_model::{Activity, Event, Outcome, Timestamp};

/// Topic prefix of the simulated Frigate (its default `mqtt.topic_prefix`).
pub const FRIGATE_PREFIX: &str = "frigate";
/// Topic prefix of the simulated Zigbee2MQTT (its default `base_topic`).
pub const ZIGBEE_PREFIX: &str = "zigbee2mqtt";

/// An IoT sensor in a server room.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorInfo {
    /// Zigbee2MQTT friendly name, also the device hostname: `osl-srvroom-temp`.
    pub name: String,
    pub site: String,
    pub zone: String,
    /// The door a contact sensor is fitted to.
    pub door: Option<String>,
}

/// The server-room sensors of `org`: a temperature sensor in every server room and a contact
/// on every server-room door.
pub fn sensors(org: &Org) -> Vec<SensorInfo> {
    let mut out = Vec::new();
    for d in org.doors() {
        if d.zone.kind != crate::org::ZoneKind::ServerRoom {
            continue;
        }
        let code = &d.site.code;
        out.push(SensorInfo {
            name: format!("{code}-srvroom-temp"),
            site: d.site.id.clone(),
            zone: d.zone.id.clone(),
            door: None,
        });
        out.push(SensorInfo {
            name: format!("{code}-srvroom-door"),
            site: d.site.id.clone(),
            zone: d.zone.id.clone(),
            door: Some(d.door.id.clone()),
        });
    }
    out
}

/// The Tandem `iot` topic rules that read the simulated Zigbee2MQTT, as JSON (the shape of
/// `[[mqtt]] rules`): availability first, then one rule per sensor naming where it is.
pub fn sensor_rules(org: &Org) -> Value {
    let mut rules = vec![json!({
        "topic": format!("{ZIGBEE_PREFIX}/+/availability"),
        "device": "{2}",
        "mode": "status",
    })];
    for s in sensors(org) {
        let mut rule = json!({
            "topic": format!("{ZIGBEE_PREFIX}/{}", s.name),
            "device": "{2}",
            "site": s.site,
            "zone": s.zone,
            "metrics": { "temperature": "/temperature", "contact": "/contact" },
            "time": "/last_seen",
        });
        if let Some(door) = &s.door {
            rule["door"] = json!(door);
        }
        rules.push(rule);
    }
    Value::Array(rules)
}

/// Retained status messages a real Frigate and Zigbee2MQTT publish when they connect. The
/// demo publishes these first; their arrival shows the server's subscriptions are live.
pub fn mqtt_hello(org: &Org) -> Vec<Record> {
    let t = Timestamp::default();
    let mut out = vec![Record {
        time: t,
        channel: Channel::Mqtt {
            topic: format!("{FRIGATE_PREFIX}/available"),
            retain: true,
        },
        payload: "online".into(),
    }];
    for s in sensors(org) {
        out.push(Record {
            time: t,
            channel: Channel::Mqtt {
                topic: format!("{ZIGBEE_PREFIX}/{}/availability", s.name),
                retain: true,
            },
            payload: r#"{"state":"online"}"#.into(),
        });
    }
    out
}

/// The camera's address on its site's camera VLAN, `10.<site net>.50.<n>`.
pub(crate) fn camera_ip(org: &Org, camera: &str) -> Option<IpAddr> {
    for site in &org.sites {
        let cams = org
            .doors()
            .filter(|d| d.site.id == site.id)
            .filter_map(|d| d.door.camera.as_ref());
        for (n, c) in cams.enumerate() {
            if c.id == camera {
                return Some(IpAddr::V4(Ipv4Addr::new(
                    10,
                    site_net(site),
                    50,
                    10 + n as u8,
                )));
            }
        }
    }
    None
}

/// The second octet of a site's office network (`10.20.0.0/16` → 20).
pub(crate) fn site_net(site: &crate::org::Site) -> u8 {
    site.office_subnet
        .split('.')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The Frigate NVR of a site: `10.<net>.50.2`.
pub(crate) fn nvr_ip(site: &crate::org::Site) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, site_net(site), 50, 2))
}

/// The address a site's traffic leaves the building with (what the IdP sees).
pub(crate) fn egress_ip(site_index: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, 20 + site_index as u8))
}

/// The IdP's address as the office network sees it: Okta's or Microsoft's login service.
pub(crate) fn idp_ip(org: &Org, site_index: usize) -> IpAddr {
    if org.sites[site_index].idp == IdentityProvider::Entra {
        IpAddr::V4(Ipv4Addr::new(20, 190, 159, 2))
    } else {
        IpAddr::V4(Ipv4Addr::new(52, 6, 110, 37))
    }
}

/// Renders items for one wire format.
pub(crate) struct Renderer<'a> {
    pub org: &'a Org,
    pub ix: &'a Index,
    pub wire: Wire,
    pub seed: u64,
}

impl Renderer<'_> {
    pub fn item(&self, item: &Item) -> Vec<Record> {
        match item {
            Item::Line(r) => vec![r.clone()],
            Item::Event(e) => self.event(e),
        }
    }

    pub fn event(&self, e: &Event) -> Vec<Record> {
        let Wire::Vendor { mqtt } = self.wire else {
            return vec![event_record(e)];
        };
        let key = format!(
            "{}|{}|{}",
            e.time.timestamp_millis(),
            e.source.name,
            e.message
        );
        let mut r = rng(self.seed, mix(0x7e_4d_e7, fnv(&key)));
        match e.source.name.as_str() {
            "badges" => self.badge(e, &mut r),
            "cameras" if mqtt => self.frigate(e, &mut r),
            "sensors" if mqtt => self.zigbee(e),
            "workstations" => self.windows(e, &mut r),
            "idp" => self.idp(e, &mut r),
            "network" => self.zeek(e, &mut r),
            _ => vec![event_record(e)],
        }
    }

    fn person(&self, e: &Event) -> Option<(usize, &Person)> {
        let i = e
            .actor
            .user
            .as_ref()
            .and_then(|u| self.ix.by_username.get(u))
            .or_else(|| e.actor.badge.as_ref().and_then(|b| self.ix.by_badge.get(b)))
            .copied()?;
        Some((i, &self.org.people[i]))
    }

    fn badge(&self, e: &Event, r: &mut fastrand::Rng) -> Vec<Record> {
        let place = e.place.clone().unwrap_or_default();
        let Some(&door) = place.door.as_ref().and_then(|d| self.ix.door_by_id.get(d)) else {
            return vec![event_record(e)];
        };
        if e.activity == Activity::Taken {
            return Vec::new();
        }
        let d = &self.ix.doors[door];
        let site = &self.org.sites[d.site];
        let holder = e.actor.badge.as_ref().and_then(|_| self.person(e));
        let inbound = e.physical.as_ref().and_then(|p| p.direction.as_deref()) != Some("out");
        if site.access_control == AccessControl::Verkada {
            return self.verkada(e, d, site, holder.map(|h| h.1), inbound, r);
        }
        let door = self.org.door(&d.id);
        let vendor_id = door.and_then(|d| d.door.vendor_id.as_deref());
        let (sig, name, sev) = match e.activity {
            Activity::Granted => ("AccessGranted", "Access granted", 2),
            Activity::Denied => ("AccessDenied", "Access denied: Insufficient privileges", 5),
            Activity::Forced => ("DoorForcedOpen", "Door forced open", 8),
            Activity::HeldOpen => ("DoorOpenTooLong", "Door held open", 5),
            _ => return vec![event_record(e)],
        };
        let mut ext = match (vendor_id, door) {
            // Security Center names the door by its GUID and its display name, which
            // several doors share ("Main entrance" in every building).
            (Some(guid), Some(door)) => format!(
                "rt={} cs1Label=Door GUID cs1={} cs2Label=Door cs2={}",
                e.time.timestamp_millis(),
                cef_value(guid),
                cef_value(&door.door.name)
            ),
            _ => format!(
                "rt={} cs1Label=Door cs1={} cs2Label=Site cs2={}",
                e.time.timestamp_millis(),
                cef_value(&d.id),
                cef_value(&site.id)
            ),
        };
        if let (Some(badge), Some((_, p))) = (&e.actor.badge, holder) {
            ext.push_str(&format!(
                " cs3Label=Cardholder cs3={} cs4Label=Credential cs4={}",
                cef_value(&p.name),
                cef_value(badge)
            ));
        }
        if let (Some(reader), None) = (&place.reader, vendor_id) {
            ext.push_str(&format!(" cs5Label=Reader cs5={}", cef_value(reader)));
        }
        if e.activity == Activity::Denied {
            ext.push_str(" cs6Label=Reason cs6=Insufficient privileges");
        }
        ext.push_str(&format!(" deviceDirection={}", u8::from(!inbound)));
        let ts = e.time.to_rfc3339_opts(SecondsFormat::Millis, true);
        let payload = format!(
            "<134>1 {ts} sc-{}-01 SecurityCenter - - - CEF:0|Genetec|Security Center|5.12|{sig}|{name}|{sev}|{ext}",
            site.code
        );
        let _ = r;
        vec![Record {
            time: e.time,
            channel: Channel::Syslog {
                transport: SyslogTransport::Tcp,
            },
            payload,
        }]
    }

    fn verkada(
        &self,
        e: &Event,
        d: &crate::build::DoorInfo,
        site: &crate::org::Site,
        holder: Option<&Person>,
        inbound: bool,
        r: &mut fastrand::Rng,
    ) -> Vec<Record> {
        let kind = match e.activity {
            Activity::Granted => "door_keycard_entered_accepted",
            Activity::Denied => "door_keycard_entered_rejected",
            Activity::Forced => "door_forced_open",
            Activity::HeldOpen => "door_held_open",
            _ => return vec![event_record(e)],
        };
        let created = e.time.timestamp();
        let vendor_id = self.org.door(&d.id).and_then(|d| d.door.vendor_id.clone());
        let mut data = json!({
            "notification_type": kind,
            "device_id": uuid(&format!("acu-{}", d.id)),
            "created": created,
            "event_id": uuid_rng(r),
            "device_type": "access_control",
            "door_id": vendor_id.clone().unwrap_or_else(|| uuid(&format!("door-{}", d.id))),
        });
        // Deliveries that name the door by Verkada's id alone carry no `door_info`, as many
        // real ones do not.
        if vendor_id.is_none() {
            data["door_info"] = json!({
                "name": d.id,
                "site": { "site_id": uuid(&format!("site-{}", site.id)), "name": site.id },
            });
        }
        if matches!(e.activity, Activity::Granted | Activity::Denied) {
            data["direction"] = json!(if inbound { "Inbound" } else { "Outbound" });
        }
        if let (Some(badge), Some(p)) = (&e.actor.badge, holder) {
            data["input_value"] = json!(badge);
            data["user_info"] = json!({
                "user_id": uuid(&format!("user-{}", p.employee_number)),
                "name": p.name,
                "email": p.email,
                "first_name": p.first_name,
                "last_name": p.last_name,
            });
        }
        if e.activity == Activity::Denied {
            data["message"] = json!("Access denied: no access to this door");
        }
        let body = json!({
            "webhook_type": "notification",
            "webhook_id": uuid("verkada-webhook"),
            "org_id": uuid(&format!("verkada-org-{}", self.org.domain)),
            "created_at": created + 1,
            "data": data,
        });
        vec![Record {
            time: e.time,
            channel: Channel::Webhook {
                source: "verkada".into(),
            },
            payload: body.to_string(),
        }]
    }

    fn frigate(&self, e: &Event, r: &mut fastrand::Rng) -> Vec<Record> {
        let place = e.place.clone().unwrap_or_default();
        let det = e
            .physical
            .as_ref()
            .and_then(|p| p.detection.clone())
            .unwrap_or_default();
        let Some(camera) = place.camera.clone() else {
            return vec![event_record(e)];
        };
        let mut zones: Vec<String> = det.zones.clone();
        // A camera with a Frigate name of its own also has Frigate's zones: regions drawn on
        // its picture, named per camera, never the directory's zone.
        let frigate_name = self
            .org
            .doors()
            .filter_map(|d| d.door.camera.as_ref())
            .find(|c| c.id == camera)
            .and_then(|c| c.frigate_name.clone());
        let camera = match frigate_name {
            Some(name) => {
                zones = vec!["door".into()];
                name
            }
            None => camera,
        };
        let score = f64::from((det.score * 100.0).round()) / 100.0;
        let mqtt = |t: Timestamp, topic: &str, payload: Value| Record {
            time: t,
            channel: Channel::Mqtt {
                topic: format!("{FRIGATE_PREFIX}/{topic}"),
                retain: false,
            },
            payload: payload.to_string(),
        };
        let mut out = Vec::new();
        let mut ids = Vec::new();
        let mut last_end = e.time;
        for i in 0..det.count.unwrap_or(1).max(1) {
            let start = e.time + Duration::milliseconds(i64::from(i) * 300);
            let end = start + Duration::milliseconds(r.i64(4_000..=10_000));
            last_end = last_end.max(end);
            let id = frigate_id(start, r);
            ids.push(id.clone());
            let mut obj = json!({
                "id": id,
                "camera": camera,
                "frame_time": epoch(start),
                "snapshot": null,
                "label": det.label,
                "sub_label": null,
                "top_score": score,
                "false_positive": false,
                "start_time": epoch(start),
                "end_time": null,
                "score": score,
                "box": [r.u32(300..500), r.u32(200..400), r.u32(520..700), r.u32(600..900)],
                "area": r.u32(15_000..40_000),
                "ratio": 0.5,
                "region": [200, 150, 840, 790],
                "current_zones": zones,
                "entered_zones": zones,
                "thumbnail": null,
                "has_snapshot": false,
                "has_clip": false,
                "active": true,
                "stationary": false,
                "motionless_count": 0,
                "position_changes": 1,
                "attributes": {},
                "current_attributes": [],
            });
            out.push(mqtt(
                start,
                "events",
                json!({"type": "new", "before": obj, "after": obj}),
            ));
            let before = obj.clone();
            obj["frame_time"] = json!(epoch(end));
            obj["end_time"] = json!(epoch(end));
            obj["current_zones"] = json!([]);
            obj["has_snapshot"] = json!(true);
            obj["has_clip"] = json!(true);
            obj["active"] = json!(false);
            out.push(mqtt(
                end,
                "events",
                json!({"type": "end", "before": before, "after": obj}),
            ));
        }
        let review_id = frigate_id(e.time, r);
        let mut review = json!({
            "id": review_id,
            "camera": camera,
            "start_time": epoch(e.time),
            "end_time": null,
            "severity": "detection",
            "thumb_path": format!("/media/frigate/clips/review/thumb-{camera}-{review_id}.webp"),
            "data": {
                "detections": ids,
                "objects": [det.label],
                "sub_labels": [],
                "zones": zones,
                "audio": [],
            },
        });
        out.push(mqtt(
            e.time,
            "reviews",
            json!({"type": "new", "before": review, "after": review}),
        ));
        let before = review.clone();
        let end = last_end + Duration::milliseconds(500);
        review["end_time"] = json!(epoch(end));
        out.push(mqtt(
            end,
            "reviews",
            json!({"type": "end", "before": before, "after": review}),
        ));
        out
    }

    fn zigbee(&self, e: &Event) -> Vec<Record> {
        let Some(name) = e.device.as_ref().and_then(|d| d.hostname.clone()) else {
            return vec![event_record(e)];
        };
        let value = e.attrs.get("value").cloned().unwrap_or(Value::Null);
        let seen = e.time.to_rfc3339_opts(SecondsFormat::Millis, true);
        let h = fnv(&name);
        let payload = match e.attrs.get("metric").and_then(Value::as_str) {
            Some("contact") => json!({
                "battery": 90 + h % 10,
                "contact": value,
                "linkquality": 100 + h % 60,
                "tamper": false,
                "voltage": 3000 + h % 100,
                "last_seen": seen,
            }),
            _ => json!({
                "battery": 85 + h % 15,
                "humidity": 38.5,
                "linkquality": 110 + h % 60,
                "temperature": value,
                "voltage": 2950 + h % 100,
                "last_seen": seen,
            }),
        };
        vec![Record {
            time: e.time,
            channel: Channel::Mqtt {
                topic: format!("{ZIGBEE_PREFIX}/{name}"),
                retain: false,
            },
            payload: payload.to_string(),
        }]
    }

    fn windows(&self, e: &Event, r: &mut fastrand::Rng) -> Vec<Record> {
        let Some((_, p)) = self.person(e) else {
            return vec![event_record(e)];
        };
        let host = e
            .device
            .as_ref()
            .and_then(|d| d.hostname.clone())
            .unwrap_or_else(|| p.laptop.clone());
        let logon_type = match e.attrs.get("logon_type").and_then(Value::as_str) {
            Some("unlock") => "7",
            _ => "2",
        };
        let sid = format!("S-1-5-21-3623811015-3361044348-30300820-{}", p.uid);
        let logon_id = format!("0x{:x}", r.u32(0x10_0000..0xff_ffff));
        let upper = host.to_uppercase();
        let mut record_id = 40_000 + (e.time.timestamp() % 1_000_000) as u64 * 3;
        let mut line =
            |t: Timestamp, id: u32, task: &str, ok: bool, message: &str, data: Value| -> Record {
                record_id += 1;
                let v = json!({
                    "@timestamp": winlog_time(t),
                    "event": {
                        "code": id.to_string(),
                        "kind": "event",
                        "provider": "Microsoft-Windows-Security-Auditing",
                        "outcome": if ok { "success" } else { "failure" },
                        "action": task,
                    },
                    "host": { "name": host },
                    "log": { "level": "information" },
                    "message": message,
                    "winlog": {
                        "api": "wineventlog",
                        "channel": "Security",
                        "computer_name": host,
                        "event_data": data,
                        "event_id": id.to_string(),
                        "keywords": [if ok { "Audit Success" } else { "Audit Failure" }],
                        "opcode": "Info",
                        "provider_guid": "{54849625-5478-4994-a5ba-3e3b0328c30d}",
                        "provider_name": "Microsoft-Windows-Security-Auditing",
                        "record_id": record_id,
                        "task": task,
                    },
                });
                Record {
                    time: t,
                    channel: Channel::Http {
                        source: "windows".into(),
                    },
                    payload: v.to_string(),
                }
            };
        let mut out = Vec::new();
        match (e.activity, e.outcome) {
            (Activity::Logoff, _) => out.push(line(
                e.time,
                4634,
                "Logoff",
                true,
                "An account was logged off.",
                json!({
                    "TargetUserSid": sid,
                    "TargetUserName": p.username,
                    "TargetDomainName": "NORDLYS",
                    "TargetLogonId": logon_id,
                    "LogonType": logon_type,
                }),
            )),
            (Activity::Logon, Outcome::Failure) => out.push(line(
                e.time,
                4625,
                "Logon",
                false,
                "An account failed to log on.",
                json!({
                    "SubjectUserSid": "S-1-5-18",
                    "SubjectUserName": format!("{upper}$"),
                    "SubjectDomainName": "NORDLYS",
                    "SubjectLogonId": "0x3e7",
                    "TargetUserSid": "S-1-0-0",
                    "TargetUserName": p.username,
                    "TargetDomainName": "NORDLYS",
                    "Status": "0xc000006d",
                    "FailureReason": "%%2313",
                    "SubStatus": "0xc000006a",
                    "LogonType": logon_type,
                    "LogonProcessName": "User32 ",
                    "AuthenticationPackageName": "Negotiate",
                    "WorkstationName": upper,
                    "ProcessName": "C:\\Windows\\System32\\svchost.exe",
                    "IpAddress": "127.0.0.1",
                    "IpPort": "0",
                }),
            )),
            _ => {
                out.push(line(
                    e.time,
                    4624,
                    "Logon",
                    true,
                    "An account was successfully logged on.",
                    json!({
                        "SubjectUserSid": "S-1-5-18",
                        "SubjectUserName": format!("{upper}$"),
                        "SubjectDomainName": "NORDLYS",
                        "SubjectLogonId": "0x3e7",
                        "TargetUserSid": sid,
                        "TargetUserName": p.username,
                        "TargetDomainName": "NORDLYS",
                        "TargetLogonId": logon_id,
                        "LogonType": logon_type,
                        "LogonProcessName": "User32 ",
                        "AuthenticationPackageName": "Negotiate",
                        "WorkstationName": upper,
                        "LogonGuid": format!("{{{}}}", uuid_rng(r)),
                        "ProcessName": "C:\\Windows\\System32\\svchost.exe",
                        "IpAddress": "127.0.0.1",
                        "IpPort": "0",
                    }),
                ));
                // Local administrators (IT) get their special privileges logged with it.
                if p.department == crate::org::Department::IT {
                    out.push(line(
                        e.time,
                        4672,
                        "Special Logon",
                        true,
                        "Special privileges assigned to new logon.",
                        json!({
                            "SubjectUserSid": sid,
                            "SubjectUserName": p.username,
                            "SubjectDomainName": "NORDLYS",
                            "SubjectLogonId": logon_id,
                            "PrivilegeList": "SeSecurityPrivilege\n\t\t\tSeBackupPrivilege\n\t\t\tSeRestorePrivilege\n\t\t\tSeDebugPrivilege",
                        }),
                    ));
                }
            }
        }
        out
    }

    fn idp(&self, e: &Event, r: &mut fastrand::Rng) -> Vec<Record> {
        let Some((pi, p)) = self.person(e) else {
            return vec![event_record(e)];
        };
        let src = e.src.clone().unwrap_or_default();
        let geo = src.geo.clone().unwrap_or_default();
        let ip = src.ip.map(|i| i.to_string()).unwrap_or_default();
        let app = e.attrs.get("app").and_then(Value::as_str);
        let ok = e.outcome != Outcome::Failure;
        if self.org.sites[self.ix.person_site[pi]].idp == IdentityProvider::Entra {
            let app_name = app.unwrap_or("Microsoft 365");
            let v = json!({
                "id": uuid_rng(r),
                "createdDateTime": e.time.to_rfc3339_opts(SecondsFormat::Millis, true),
                "userDisplayName": p.name,
                "userPrincipalName": p.upn,
                "userId": uuid(&format!("entra-{}", p.employee_number)),
                "appId": uuid(&format!("app-{app_name}")),
                "appDisplayName": app_name,
                "ipAddress": ip,
                "clientAppUsed": "Browser",
                "correlationId": uuid_rng(r),
                "conditionalAccessStatus": if ok { "success" } else { "notApplied" },
                "isInteractive": true,
                "riskDetail": "none",
                "riskLevelAggregated": "none",
                "riskLevelDuringSignIn": "none",
                "riskState": "none",
                "riskEventTypes": [],
                "resourceDisplayName": app_name,
                "status": if ok {
                    json!({"errorCode": 0, "failureReason": null, "additionalDetails": null})
                } else {
                    json!({"errorCode": 50126, "failureReason": "Error validating credentials due to invalid username or password.", "additionalDetails": null})
                },
                "deviceDetail": {
                    "deviceId": uuid(&format!("device-{}", p.laptop)),
                    "displayName": p.laptop,
                    "operatingSystem": "Windows 11",
                    "browser": "Edge 131.0.2903",
                    "isCompliant": true,
                    "isManaged": true,
                    "trustType": "Azure AD joined",
                },
                "location": {
                    "city": geo.city,
                    "state": null,
                    "countryOrRegion": geo.country,
                    "geoCoordinates": { "altitude": null, "latitude": geo.lat, "longitude": geo.lon },
                },
                "appliedConditionalAccessPolicies": [],
            });
            return vec![Record {
                time: e.time,
                channel: Channel::Http {
                    source: "entra".into(),
                },
                payload: v.to_string(),
            }];
        }
        let (event_type, display, legacy) = match app {
            None => (
                "user.session.start",
                "User login to Okta",
                if ok {
                    "core.user_auth.login_success"
                } else {
                    "core.user_auth.login_failed"
                },
            ),
            Some(_) => (
                "user.authentication.sso",
                "User single sign on to app",
                "app.auth.sso",
            ),
        };
        let mut ev = json!({
            "uuid": uuid_rng(r),
            "published": e.time.to_rfc3339_opts(SecondsFormat::Millis, true),
            "eventType": event_type,
            "version": "0",
            "severity": if ok { "INFO" } else { "WARN" },
            "displayMessage": display,
            "legacyEventType": legacy,
            "actor": {
                "id": okta_id("00u", &p.employee_number),
                "type": "User",
                "alternateId": p.email,
                "displayName": p.name,
                "detailEntry": null,
            },
            "client": {
                "userAgent": {
                    "rawUserAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                    "os": "Windows 10",
                    "browser": "CHROME",
                },
                "zone": "null",
                "device": "Computer",
                "id": null,
                "ipAddress": ip,
                "geographicalContext": {
                    "city": geo.city,
                    "state": null,
                    "country": geo.country.as_deref().map(country_name),
                    "postalCode": null,
                    "geolocation": { "lat": geo.lat, "lon": geo.lon },
                },
            },
            "outcome": if ok {
                json!({"result": "SUCCESS", "reason": null})
            } else {
                json!({"result": "FAILURE", "reason": "INVALID_CREDENTIALS"})
            },
            "transaction": { "type": "WEB", "id": okta_id("", &format!("{}", r.u64(..))) },
            "authenticationContext": {
                "authenticationStep": 0,
                "externalSessionId": okta_id("102", &format!("{}{}", p.username, e.time.date_naive())),
            },
        });
        if let Some(app) = app {
            ev["target"] = json!([{
                "id": okta_id("0oa", app),
                "type": "AppInstance",
                "alternateId": app,
                "displayName": app,
            }]);
        }
        let delivery = json!({
            "eventType": "com.okta.event_hook",
            "eventTypeVersion": "1.0",
            "cloudEventsVersion": "0.1",
            "source": "https://nordlys.okta.com/api/v1/eventHooks/whoql0HfiLGPWc8Jx0g3",
            "eventId": uuid_rng(r),
            "eventTime": (e.time + Duration::milliseconds(r.i64(800..3_000))).to_rfc3339_opts(SecondsFormat::Millis, true),
            "contentType": "application/json",
            "data": { "events": [ev] },
        });
        vec![Record {
            time: e.time,
            channel: Channel::Document {
                source: "okta".into(),
            },
            payload: delivery.to_string(),
        }]
    }

    fn zeek(&self, e: &Event, r: &mut fastrand::Rng) -> Vec<Record> {
        let (Some(src), Some(dst)) = (e.src.clone(), e.dst.clone()) else {
            return vec![event_record(e)];
        };
        let num = |k: &str| e.attrs.get(k).and_then(Value::as_i64).unwrap_or(0);
        let (orig, resp) = (num("orig_bytes"), num("resp_bytes"));
        let proto = e
            .attrs
            .get("proto")
            .and_then(Value::as_str)
            .unwrap_or("tcp");
        let uid: String = std::iter::once('C')
            .chain((0..17).map(|_| {
                const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
                A[r.usize(0..A.len())] as char
            }))
            .collect();
        let (op, rp) = (orig / 1200 + 3, resp / 1200 + 2);
        let mut v = json!({
            "ts": epoch(e.time),
            "uid": uid,
            "id.orig_h": src.ip.map(|i| i.to_string()),
            "id.orig_p": src.port,
            "id.resp_h": dst.ip.map(|i| i.to_string()),
            "id.resp_p": dst.port,
            "proto": proto,
            "duration": num("duration_ms") as f64 / 1000.0,
            "orig_bytes": orig,
            "resp_bytes": resp,
            "conn_state": "SF",
            "local_orig": true,
            "local_resp": dst.ip.is_some_and(|i| match i { IpAddr::V4(a) => a.is_private(), IpAddr::V6(_) => false }),
            "missed_bytes": 0,
            "history": "ShADadFf",
            "orig_pkts": op,
            "orig_ip_bytes": orig + op * 52,
            "resp_pkts": rp,
            "resp_ip_bytes": resp + rp * 52,
        });
        if let Some(s) = e.attrs.get("service") {
            v["service"] = s.clone();
        }
        vec![Record {
            time: e.time,
            channel: Channel::Http {
                source: "zeek".into(),
            },
            payload: v.to_string(),
        }]
    }
}

/// Epoch seconds with millisecond precision, as a JSON number (Frigate, Zeek).
fn epoch(t: Timestamp) -> Value {
    let ms = t.timestamp_millis();
    serde_json::Number::from_f64(ms as f64 / 1000.0)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// Windows writes seven fractional digits.
fn winlog_time(t: Timestamp) -> String {
    format!(
        "{}{:03}0000Z",
        t.format("%Y-%m-%dT%H:%M:%S."),
        t.timestamp_subsec_millis()
    )
}

/// A Frigate id: `<epoch>.<micros>-<6 chars>`.
fn frigate_id(t: Timestamp, r: &mut fastrand::Rng) -> String {
    let tail: String = (0..6).map(|_| r.lowercase()).collect();
    format!(
        "{}.{:06}-{tail}",
        t.timestamp(),
        t.timestamp_subsec_micros() + r.u32(0..1000)
    )
}

/// A stable UUID-shaped id for a name (Verkada and Entra ids of doors, users, apps).
pub(crate) fn uuid(name: &str) -> String {
    let mut r = fastrand::Rng::with_seed(fnv(name));
    uuid_rng(&mut r)
}

fn uuid_rng(r: &mut fastrand::Rng) -> String {
    let (a, b) = (r.u64(..), r.u64(..));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

/// An Okta-style object id: prefix + base62 from a name.
fn okta_id(prefix: &str, name: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut r = fastrand::Rng::with_seed(fnv(name));
    let body: String = (0..20 - prefix.len().min(20))
        .map(|_| A[r.usize(0..A.len())] as char)
        .collect();
    format!("{prefix}{body}")
}

/// Okta writes countries by English name.
fn country_name(code: &str) -> &'static str {
    match code {
        "NO" => "Norway",
        "GB" => "United Kingdom",
        "SE" => "Sweden",
        "US" => "United States",
        _ => "Norway",
    }
}

/// CEF extension values escape `\` and `=`.
fn cef_value(s: &str) -> String {
    s.replace('\\', "\\\\").replace('=', "\\=")
}
