use super::*;
use tandem_store::{SqliteStore, StoreConfig};

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn member(account: &str, department: Department) -> Member {
    Member {
        account: account.into(),
        department,
        skip: None,
    }
}

/// A committee in a fresh store, and the directory that holds it.
fn committee() -> (Committee, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path(), StoreConfig::default()).unwrap());
    (Committee::new(store), dir)
}

fn meet(c: &Committee, date: &str, chair: Option<&str>) -> Meeting {
    c.add_meeting(
        MeetingInput {
            date: Some(day(date)),
            chair: chair.map(str::to_owned),
            ..MeetingInput::default()
        },
        "admin",
        at("2025-01-01T00:00:00Z"),
    )
    .unwrap()
}

fn five() -> Vec<Member> {
    vec![
        member("hanna", Department::Hr),
        member("ivar", Department::It),
        member("frida", Department::Facilities),
        member("sara", Department::Security),
        member("lars", Department::Legal),
    ]
}

#[test]
fn the_chair_rotates_in_the_configured_order_across_meetings_and_wraps() {
    let (c, _dir) = committee();
    let t = at("2025-01-01T00:00:00Z");
    c.set_setup(Some(0), five(), RotationOrder::Configured, "admin", t)
        .unwrap();
    assert_eq!(c.next_chair().unwrap().unwrap().account, "hanna");
    let chairs: Vec<String> = ["2025-01-10", "2025-02-10", "2025-03-10", "2025-04-10"]
        .iter()
        .map(|d| meet(&c, d, None).chair)
        .collect();
    assert_eq!(chairs, ["hanna", "ivar", "frida", "sara"]);
    assert_eq!(c.next_chair().unwrap().unwrap().account, "lars");
    meet(&c, "2025-05-10", None);
    // After the last member, the first again.
    assert_eq!(c.next_chair().unwrap().unwrap().account, "hanna");
}

#[test]
fn by_department_the_chair_goes_it_security_facilities_hr_legal() {
    let (c, _dir) = committee();
    let t = at("2025-01-01T00:00:00Z");
    c.set_setup(None, five(), RotationOrder::Department, "admin", t)
        .unwrap();
    let order: Vec<String> = rotation(&c.setup().unwrap())
        .iter()
        .map(|m| m.account.clone())
        .collect();
    assert_eq!(order, ["ivar", "sara", "frida", "hanna", "lars"]);
    assert_eq!(meet(&c, "2025-01-10", None).chair, "ivar");
    assert_eq!(c.next_chair().unwrap().unwrap().account, "sara");
}

#[test]
fn a_skipped_member_is_passed_over_and_a_stand_in_does_not_move_the_rotation() {
    let (c, _dir) = committee();
    let t = at("2025-01-01T00:00:00Z");
    let mut members = five();
    members[1].skip = Some("parental leave until June".into());
    c.set_setup(Some(0), members, RotationOrder::Configured, "admin", t)
        .unwrap();
    assert_eq!(meet(&c, "2025-01-10", None).chair, "hanna");
    // Ivar is on leave: Frida is next.
    assert_eq!(c.next_chair().unwrap().unwrap().account, "frida");
    // Frida's turn, but Sara stands in: the turn stays Frida's.
    let m = meet(&c, "2025-02-10", Some("sara"));
    assert_eq!(
        (m.chair.as_str(), m.turn.as_deref()),
        ("sara", Some("frida"))
    );
    assert!(m.attendees.contains(&"sara".to_owned()));
    assert_eq!(c.next_chair().unwrap().unwrap().account, "sara");
    // Ivar back: he waits for his place in the order to come round again.
    let mut members = c.setup().unwrap().members;
    members[1].skip = None;
    c.set_setup(Some(1), members, RotationOrder::Configured, "admin", t)
        .unwrap();
    assert_eq!(meet(&c, "2025-03-10", None).chair, "sara");
    assert_eq!(meet(&c, "2025-04-10", None).chair, "lars");
    assert_eq!(meet(&c, "2025-05-10", None).chair, "hanna");
    assert_eq!(meet(&c, "2025-06-10", None).chair, "ivar");
}

#[test]
fn a_meeting_entered_late_counts_by_its_date_and_a_removed_member_restarts_the_rotation() {
    let (c, _dir) = committee();
    let t = at("2025-01-01T00:00:00Z");
    c.set_setup(Some(0), five(), RotationOrder::Configured, "admin", t)
        .unwrap();
    meet(&c, "2025-03-10", None); // hanna
    // A meeting entered afterwards but held earlier: the rotation follows the latest date.
    let late = meet(&c, "2025-02-10", Some("lars"));
    assert_eq!(late.turn.as_deref(), Some("ivar"));
    assert_eq!(c.next_chair().unwrap().unwrap().account, "ivar");
    let meetings = c.meetings().unwrap();
    assert_eq!(meetings[0].date, day("2025-03-10"));
    // Hanna leaves the committee: nobody's turn is known, the first member's it is.
    let members: Vec<Member> = five().into_iter().skip(1).collect();
    c.set_setup(Some(1), members, RotationOrder::Configured, "admin", t)
        .unwrap();
    assert_eq!(c.next_chair().unwrap().unwrap().account, "ivar");
}

#[test]
fn nobody_chairs_when_every_member_is_skipped() {
    let mut setup = Setup {
        members: five(),
        ..Setup::default()
    };
    for m in &mut setup.members {
        m.skip = Some("away".into());
    }
    assert_eq!(next_chair(&setup, &[]), None);
    assert_eq!(next_chair(&Setup::default(), &[]), None);
    let (c, _dir) = committee();
    let e = c
        .add_meeting(
            MeetingInput {
                date: Some(day("2025-01-01")),
                ..MeetingInput::default()
            },
            "admin",
            at("2025-01-01T00:00:00Z"),
        )
        .unwrap_err();
    assert!(e.to_string().contains("name the chair"), "{e}");
}

#[test]
fn the_setup_refuses_duplicates_and_stale_versions() {
    let (c, _dir) = committee();
    let t = at("2025-01-01T00:00:00Z");
    let mut twice = five();
    twice.push(member("hanna", Department::Finance));
    let e = c
        .set_setup(Some(0), twice, RotationOrder::Configured, "admin", t)
        .unwrap_err();
    assert!(e.to_string().contains("hanna is listed twice"), "{e}");
    c.set_setup(Some(0), five(), RotationOrder::Configured, "admin", t)
        .unwrap();
    let e = c
        .set_setup(Some(0), five(), RotationOrder::Department, "bob", t)
        .unwrap_err();
    assert!(
        matches!(&e, CaseError::Conflict { by, .. } if by == "admin"),
        "{e:?}"
    );
    let history = c.history(COMMITTEE_ID).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].detail["added"].as_array().unwrap().len(), 5);
}

#[test]
fn decisions_and_action_items_are_kept_and_the_tracker_lists_open_items_soonest_first() {
    let (c, _dir) = committee();
    let t = at("2025-01-01T00:00:00Z");
    c.set_setup(Some(0), five(), RotationOrder::Configured, "admin", t)
        .unwrap();
    let m = meet(&c, "2025-01-10", None);
    c.record_decision(&m.id, "Badges are revoked by the HR feed", "hanna", t)
        .unwrap();
    c.add_action_item(
        &m.id,
        "Connect the HR feed to access control",
        Department::Facilities,
        day("2025-03-01"),
        "hanna",
        t,
    )
    .unwrap();
    c.add_action_item(
        &m.id,
        "Tell staff",
        Department::Comms,
        day("2025-02-01"),
        "hanna",
        t,
    )
    .unwrap();
    let other = meet(&c, "2025-02-10", None);
    assert!(c.action_items(true).unwrap().len() == 2);
    let items = c.action_items(true).unwrap();
    assert_eq!(items[0].item.title, "Tell staff");
    assert_eq!(items[0].meeting, m.id);
    assert_eq!(items[1].item.department, Department::Facilities);
    let done = c
        .set_action_item_done(&m.id, "A2", true, "cora", at("2025-01-20T00:00:00Z"))
        .unwrap();
    assert!(done.action_items[1].done.is_some());
    assert_eq!(c.action_items(true).unwrap().len(), 1);
    assert_eq!(c.action_items(false).unwrap().len(), 2);
    let m = c.meeting(&m.id).unwrap();
    assert_eq!(m.decisions[0].id, "D1");
    assert_eq!(m.decisions[0].by, "hanna");
    let kinds: Vec<String> = c
        .history(&m.id)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "meeting",
            "decision",
            "action_item",
            "action_item",
            "action_item_done"
        ]
    );
    assert!(c.is_chair("hanna", Some(&m)).unwrap());
    assert!(c.is_chair("frida", None).unwrap()); // next after ivar
    assert!(!c.is_chair("ivar", None).unwrap());
    assert!(c.is_chair("ivar", Some(&other)).unwrap());
    let e = c
        .set_action_item_done(&m.id, "A9", true, "cora", t)
        .unwrap_err();
    assert!(matches!(e, CaseError::NotFound { .. }), "{e:?}");
    let e = c.record_decision(&m.id, "  ", "hanna", t).unwrap_err();
    assert!(matches!(e, CaseError::Refused(_)), "{e:?}");
}
