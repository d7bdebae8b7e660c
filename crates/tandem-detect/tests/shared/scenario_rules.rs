//! What the simulator's staged scenarios must raise, shared by the tests that replay them:
//! detection on decoded records (`tandem-detect/tests/heldout.rs`) and the same scenarios sent
//! over the wire to a running server (`tandem/tests/wire_scenarios.rs`), so both hold the
//! detections to one standard. Included by path; not a test of its own.

use tandem_sim::ScenarioKind;

/// The rules that page someone: silent on an ordinary day.
pub const PAGING: &[&str] = &[
    "tandem.terminated_access",
    "tandem.remote_login_while_on_site",
    "tandem.impossible_travel_badge",
    "tandem.tailgating",
    "tandem.forced_door_with_person",
    "tandem.after_hours_restricted_then_privileged",
];

/// The rule each scenario must raise.
pub fn rule_of(kind: ScenarioKind) -> &'static str {
    match kind {
        ScenarioKind::TerminatedBadgeUsed => "tandem.terminated_access",
        ScenarioKind::VpnAbroadWhileOnSite => "tandem.remote_login_while_on_site",
        ScenarioKind::Tailgate => "tandem.tailgating",
        ScenarioKind::ForcedDoor => "tandem.forced_door_with_person",
        ScenarioKind::AfterHoursServerRoomThenSudo => {
            "tandem.after_hours_restricted_then_privileged"
        }
    }
}
