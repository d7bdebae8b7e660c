//! The shipped playbooks against the real detections: every rule a selector names exists, and
//! every scenario the demo stages opens an incident from the right playbook with tasks for
//! the right departments.

use std::collections::BTreeSet;
use tandem_cases::playbook::{GENERIC, Playbooks};
use tandem_model::Department;
use tandem_sim::ScenarioKind;

/// The ids of the shipped Sigma rules, read from their files.
fn sigma_ids() -> Vec<String> {
    tandem_detect::shipped::RULES
        .iter()
        .flat_map(|(_, text)| {
            text.lines()
                .filter_map(|l| l.strip_prefix("id:"))
                .map(|id| id.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn every_rule_a_shipped_playbook_names_exists() {
    let known: BTreeSet<String> = tandem_detect::native::RULE_IDS
        .iter()
        .map(|s| s.to_string())
        .chain(sigma_ids())
        .collect();
    let set = Playbooks::shipped_only().current();
    for p in set.all() {
        for rule in &p.selects.rules {
            assert!(known.contains(rule), "{}: no rule `{rule}`", p.id);
        }
    }
}

/// The rules (and their tags) each staged scenario raises: the native detection, and the
/// shipped Sigma rule that sees the same situation.
fn raised_by(kind: ScenarioKind) -> (Vec<&'static str>, Vec<&'static str>, &'static str) {
    match kind {
        ScenarioKind::TerminatedBadgeUsed => (
            vec![
                "tandem.terminated_access",
                "7adade80-686e-4e02-bd31-c66ca37aa4f9",
            ],
            vec![
                "physical.terminated_credential",
                "physical.terminated_access",
            ],
            "terminated-access",
        ),
        ScenarioKind::VpnAbroadWhileOnSite => (
            vec!["tandem.remote_login_while_on_site"],
            vec!["physical.presence_conflict", "attack.t1078"],
            "account-compromise",
        ),
        ScenarioKind::Tailgate => (
            vec!["tandem.tailgating"],
            vec!["physical.tailgating", "physical.unauthorized_entry"],
            "tailgating",
        ),
        ScenarioKind::ForcedDoor => (
            vec![
                "tandem.forced_door_with_person",
                "de6eab26-7e2c-4351-9d80-42aec4b2f6b5",
            ],
            vec!["physical.forced_entry", "physical.unauthorized_entry"],
            "forced-door",
        ),
        ScenarioKind::AfterHoursServerRoomThenSudo => (
            vec!["tandem.after_hours_restricted_then_privileged"],
            vec!["physical.after_hours", "physical.restricted_zone"],
            "account-compromise",
        ),
    }
}

#[test]
fn every_staged_scenario_selects_its_playbook_with_the_right_departments() {
    let set = Playbooks::shipped_only().current();
    let owned = |v: Vec<&str>| v.into_iter().map(str::to_owned).collect::<Vec<_>>();
    for &kind in ScenarioKind::ALL {
        let (rules, tags, want) = raised_by(kind);
        let (rules, tags) = (owned(rules), owned(tags));
        // Each rule alone (one finding) and all together (folded into one alert).
        for one in &rules {
            let p = set.select(std::slice::from_ref(one), &tags, None).unwrap();
            assert_eq!(p.id, want, "{kind}: rule {one}");
        }
        let p = set.select(&rules, &tags, None).unwrap();
        assert_eq!(p.id, want, "{kind}");
        // By tags alone, too: a customer's own rule with the same tags lands in the same place.
        let by_tag = set.select(&[], &tags, None).unwrap();
        if kind != ScenarioKind::AfterHoursServerRoomThenSudo {
            assert_eq!(by_tag.id, want, "{kind} by tags");
        }
        assert!(
            !p.tasks_for(tandem_model::Severity::High, chrono::Utc::now())
                .is_empty()
        );
    }
    let departments = |id: &str| -> BTreeSet<Department> {
        set.get(id)
            .unwrap()
            .tasks
            .iter()
            .map(|t| t.department)
            .collect()
    };
    assert_eq!(
        departments("tailgating"),
        [Department::Security, Department::Facilities].into()
    );
    for d in [Department::Security, Department::Hr, Department::Facilities] {
        assert!(departments("terminated-access").contains(&d), "{d}");
    }
}

#[test]
fn every_shipped_detection_has_a_playbook() {
    let set = Playbooks::shipped_only().current();
    // Health and a single denied badge go to the general triage on purpose.
    let general = [
        "tandem.source_silent",
        "62635e51-6a95-46b5-a9e8-1711f3abe343",
        "feccc9e3-19b8-4d45-bfdb-79ffc23a3261",
    ];
    for rule in tandem_detect::native::RULE_IDS
        .iter()
        .map(|s| s.to_string())
        .chain(sigma_ids())
    {
        let p = set.select(std::slice::from_ref(&rule), &[], None).unwrap();
        if general.contains(&rule.as_str()) {
            assert_eq!(p.id, GENERIC, "{rule}");
        } else {
            assert_ne!(p.id, GENERIC, "{rule} falls to the general triage");
        }
    }
    assert_eq!(set.select(&[], &[], Some("risk")).unwrap().id, "risk");
    assert_eq!(
        set.select(&[], &[], Some("sla_breach")).unwrap().id,
        "sla-breach"
    );
    assert_eq!(set.select(&[], &[], Some("nothing")).unwrap().id, GENERIC);
}
