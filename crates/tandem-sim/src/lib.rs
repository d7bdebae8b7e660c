//! A deterministic simulated company that produces the logs Tandem ingests.
//!
//! Demos need a believable stream of badge swipes, camera detections, VPN sessions, laptop
//! logons and server auth logs; tests need the same stream again, bit for bit, plus incidents
//! with known answers. This crate provides both from a seed:
//!
//! - [`Org`]: the company (Nordlys AS): three sites with buildings, zones, doors, readers and
//!   cameras, servers, a VPN gateway, and a few hundred people with every identifier a source
//!   may name them by. [`Org::hr_csv`] is the HR export for the identity directory.
//!   [`Org::generate_with`] takes an [`OrgLayout`]: [`OrgLayout::two_sites`] is a company
//!   shaped nothing like the default (two sites 243 km apart, other door names, products that
//!   name places by their own ids), for testing detections on data they were not tuned on.
//! - [`Simulator`]: an ordinary working rhythm, cut to any time window as wire-ready
//!   [`Record`]s — RFC 3164/5424 syslog lines plus, with [`Wire::Tandem`] (the default),
//!   Tandem-schema JSON for the HTTP sources in [`HTTP_SOURCES`], or with [`Wire::Vendor`]
//!   each product's own format ([`VENDOR_SOURCES`]: Winlogbeat, Okta event hooks, Entra
//!   sign-ins, Genetec CEF, signed Verkada webhooks, Zeek, Frigate and Zigbee2MQTT over MQTT).
//!   [`Simulator::facts_between`] gives what the records mean, as Tandem events.
//! - [`Simulator::inject`]: staged incidents ([`ScenarioKind`]) that carry no label, with a
//!   [`GroundTruth`] to score detections against.
//! - [`Emitter`] and [`run_live`]: delivery to a Tandem server over HTTP (batched, one
//!   document per request, signed webhooks), syslog and MQTT, in scaled real time for demos.
//!
//! Same seed and window ⇒ identical records; nothing reads the clock except [`run_live`].
//!
//! ```
//! use tandem_sim::{Org, ScenarioKind, Simulator};
//!
//! let org = Org::generate(7, 60);
//! assert!(org.hr_csv().starts_with("employee_number,name,email"));
//!
//! let mut sim = Simulator::new(org, 7);
//! let from = "2026-11-25T07:00:00Z".parse().unwrap();
//! let to = "2026-11-25T08:00:00Z".parse().unwrap();
//! let records = sim.records_between(from, to);
//! assert!(records.windows(2).all(|w| w[0].time <= w[1].time));
//! assert_eq!(records, sim.records_between(from, to));
//!
//! let (staged, truth) = sim.inject(ScenarioKind::Tailgate, to);
//! assert_eq!(staged.len(), truth.markers.len());
//! assert_eq!("tailgate".parse::<ScenarioKind>().unwrap(), truth.kind);
//! ```

mod build;
mod emit;
mod live;
mod names;
mod org;
mod record;
mod render;
mod scenario;
mod sim;
mod util;

pub use emit::{EmitError, Emitter, HTTP_BATCH_LINES, MqttTarget, SendReport, Signer};
pub use live::{LiveError, LiveProgress, TICK, run_live};
pub use org::{
    AccessControl, AllowedHours, Building, Camera, DEFAULT_AS_OF, DEFAULT_PEOPLE, Department,
    Direction, Door, DoorRef, EmploymentStatus, Floor, IdentityProvider, MIN_PEOPLE, Org,
    OrgLayout, Person, Reader, Server, Site, SyslogFormat, VpnConcentrator, Zone, ZoneKind,
};
pub use record::{
    BADGES, CAMERAS, Channel, HTTP_SOURCES, IDP, NETWORK, Record, SENSORS, SYSLOG_SOURCE,
    SourceSpec, SyslogTransport, VENDOR_SOURCES, VPN, Via, WORKSTATIONS, Wire, sources,
};
pub use render::{FRIGATE_PREFIX, SensorInfo, ZIGBEE_PREFIX, mqtt_hello, sensor_rules, sensors};
pub use scenario::{
    GroundTruth, Marker, ScenarioKind, TruthPerson, UnknownScenario, write_ground_truth,
};
pub use sim::Simulator;
