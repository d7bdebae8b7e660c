//! Classes, activities, outcomes and severities, with their OCSF numbers.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A name that is not one of the known values of a vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{name}`; expected one of: {expected}")]
pub struct UnknownName {
    pub kind: &'static str,
    pub name: String,
    pub expected: String,
}

macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $vis:vis enum $ty:ident : $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident = ($name:literal, $uid:expr) ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        $vis enum $ty { $( $(#[$vmeta])* $variant ),+ }

        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The snake_case name used in JSON, search and configuration.
            pub const fn name(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }

            /// The numeric identifier (OCSF where OCSF defines one).
            pub const fn uid(self) -> u16 {
                match self { $($ty::$variant => $uid),+ }
            }

            /// Looks a value up by its numeric identifier.
            pub fn from_uid(uid: u16) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.uid() == uid)
            }
        }

        impl FromStr for $ty {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, UnknownName> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.name().eq_ignore_ascii_case(s))
                    .ok_or_else(|| UnknownName {
                        kind: $kind,
                        name: s.to_owned(),
                        expected: Self::ALL.iter().map(|v| v.name()).collect::<Vec<_>>().join(", "),
                    })
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

vocabulary! {
    /// What kind of thing happened: the OCSF event class.
    pub enum Class: "class" {
        /// OCSF Process Activity: a program started, e.g. a `sudo` command.
        ProcessActivity = ("process_activity", 1007),
        /// OCSF Detection Finding: a detection raised by another product or by Tandem.
        DetectionFinding = ("detection_finding", 2004),
        /// An alert or incident raised or changed by Tandem's alerts and incidents stage.
        IncidentFinding = ("incident_finding", 2005),
        /// OCSF Account Change: accounts created, enabled, disabled, locked, deleted.
        AccountChange = ("account_change", 3001),
        /// OCSF Authentication: logons and logoffs, successful or not.
        Authentication = ("authentication", 3002),
        /// OCSF Authorize Session: privileges assigned to a session (e.g. Windows 4672).
        AuthorizeSession = ("authorize_session", 3003),
        /// OCSF Network Activity: connections and flows.
        NetworkActivity = ("network_activity", 4001),
        /// OCSF Tunnel Activity: VPN sessions.
        TunnelActivity = ("tunnel_activity", 4014),
        /// Tandem extension (OCSF physical-security proposal): badge and door events.
        PhysicalAccess = ("physical_access", 9001),
        /// Tandem extension: an object (person, vehicle, face) seen by a camera's analytics.
        VideoDetection = ("video_detection", 9002),
        /// Tandem extension: a reading from an IoT sensor.
        DeviceTelemetry = ("device_telemetry", 9003),
        /// Tandem extension: a device (camera, reader, sensor) went online, offline or was tampered.
        DeviceStatus = ("device_status", 9004),
        /// Anything a decoder could not classify; kept so nothing is lost.
        #[default]
        Other = ("other", 0),
    }
}

vocabulary! {
    /// What was done, within the class. Numbers are the OCSF `activity_id` of the class the
    /// activity usually belongs to; for physical access they follow the proposal's order.
    pub enum Activity: "activity" {
        #[default]
        Unknown = ("unknown", 0),
        // Authentication 3002
        Logon = ("logon", 1),
        Logoff = ("logoff", 2),
        AuthenticationTicket = ("authentication_ticket", 3),
        ServiceTicket = ("service_ticket", 4),
        // Account Change 3001
        Create = ("create", 11),
        Enable = ("enable", 12),
        PasswordChange = ("password_change", 13),
        PasswordReset = ("password_reset", 14),
        Disable = ("disable", 15),
        Delete = ("delete", 16),
        Lock = ("lock", 19),
        // Authorize Session 3003
        AssignPrivileges = ("assign_privileges", 21),
        // Network Activity 4001
        Open = ("open", 31),
        Close = ("close", 32),
        Reset = ("reset", 33),
        Fail = ("fail", 34),
        Refuse = ("refuse", 35),
        Traffic = ("traffic", 36),
        // Tunnel Activity 4014
        Connect = ("connect", 41),
        Disconnect = ("disconnect", 42),
        // Process Activity 1007
        Launch = ("launch", 51),
        Terminate = ("terminate", 52),
        // Detection Finding 2004 and video detections
        Detect = ("detect", 61),
        Update = ("update", 62),
        End = ("end", 63),
        // Physical Access 9001 (OCSF physical-security proposal vocabulary)
        Granted = ("granted", 71),
        Denied = ("denied", 72),
        Taken = ("taken", 73),
        NotTaken = ("not_taken", 74),
        Forced = ("forced", 75),
        HeldOpen = ("held_open", 76),
        RequestToExit = ("request_to_exit", 77),
        Duress = ("duress", 78),
        AntiPassback = ("anti_passback", 79),
        /// Always inferred: see [`crate::Physical::inference`].
        Tailgate = ("tailgate", 80),
        Tamper = ("tamper", 81),
        // Device status 9004 and telemetry 9003
        Online = ("online", 91),
        Offline = ("offline", 92),
        Reading = ("reading", 93),
        Other = ("other", 99),
    }
}

impl Activity {
    /// The OCSF `activity_id` within `class`, as it would appear in an OCSF document.
    ///
    /// Tandem numbers activities globally (so one column can index them); OCSF numbers them
    /// per class. This maps back for export.
    pub fn ocsf_activity_id(self) -> u16 {
        match self {
            Activity::Unknown => 0,
            Activity::Other => 99,
            Activity::Tailgate => 10,
            Activity::Tamper => 11,
            other => other.uid() % 10,
        }
    }
}

vocabulary! {
    /// Whether the attempt succeeded (OCSF `status_id`).
    pub enum Outcome: "outcome" {
        #[default]
        Unknown = ("unknown", 0),
        Success = ("success", 1),
        Failure = ("failure", 2),
    }
}

vocabulary! {
    /// How much attention an event deserves (OCSF `severity_id`).
    pub enum Severity: "severity" {
        Unknown = ("unknown", 0),
        #[default]
        Informational = ("informational", 1),
        Low = ("low", 2),
        Medium = ("medium", 3),
        High = ("high", 4),
        Critical = ("critical", 5),
        Fatal = ("fatal", 6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_uids_are_unique() {
        for c in Class::ALL {
            assert_eq!(c.name().parse::<Class>().unwrap(), *c);
            assert_eq!(Class::from_uid(c.uid()), Some(*c));
        }
        for a in Activity::ALL {
            assert_eq!(a.name().parse::<Activity>().unwrap(), *a);
            assert_eq!(Activity::from_uid(a.uid()), Some(*a));
        }
    }

    #[test]
    fn unknown_names_list_the_choices() {
        let err = "logn".parse::<Activity>().unwrap_err();
        assert!(err.to_string().contains("unknown activity `logn`"));
        assert!(err.to_string().contains("logon"));
    }

    #[test]
    fn ocsf_activity_ids_match_the_standard() {
        assert_eq!(Activity::Logon.ocsf_activity_id(), 1);
        assert_eq!(Activity::Disable.ocsf_activity_id(), 5);
        assert_eq!(Activity::Traffic.ocsf_activity_id(), 6);
        assert_eq!(Activity::Connect.ocsf_activity_id(), 1);
        assert_eq!(Activity::Tamper.ocsf_activity_id(), 11);
    }
}
