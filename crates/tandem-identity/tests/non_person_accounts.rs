//! Well-known accounts that are not people (SYSTEM, `HOST$`, root) are reported in the gaps
//! as their own count, not as unknown people.

use std::sync::Arc;
use tandem_identity::{Identity, hr, records};
use tandem_model::{Activity, Class, Event};
use tandem_store::{SqliteStore, StoreConfig};

const HR: &str = "\
employee_number,name,email,username,department,manager,title,site,hired,terminated,badge
E1001,Alice Berg,alice.berg@nordlys.example,aberg,Finance,,Controller,osl,2021-03-01,,10442
";

const DEVICES: &str = "
devices:
  - { id: lap-0042, hostname: lap-0042.nordlys.example, kind: laptop, owner: E1001 }
";

fn t(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

fn loaded(dir: &std::path::Path) -> Identity {
    let store = Arc::new(SqliteStore::open(dir, StoreConfig::default()).unwrap());
    let id = Identity::open(store).unwrap();
    let now = t("2026-03-10T12:00:00Z");
    let plan = hr::plan(
        &id.snapshot(),
        HR.as_bytes(),
        &hr::HrColumns::default(),
        "hr:test.csv",
        now,
    )
    .unwrap();
    id.commit(plan.changes).unwrap();
    let file = records::RecordsFile::parse("devices.yaml", DEVICES.as_bytes()).unwrap();
    let plan = records::plan(&id.snapshot(), &file, "places:test", now).unwrap();
    id.commit(plan.changes).unwrap();
    id
}

/// A Windows logon as Winlogbeat's mapping stores it.
fn logon(user: &str, domain: &str, sid: &str) -> Event {
    let mut e = Event::new(
        "winlogbeat",
        Class::Authentication,
        Activity::Logon,
        t("2026-03-10T08:00:00Z"),
    );
    e.actor.user = Some(user.into());
    e.actor.domain = Some(domain.into());
    e.actor.uid = Some(sid.into());
    e.device_mut().hostname = Some("lap-0042.nordlys.example".into());
    e
}

#[test]
fn system_machine_and_unix_accounts_are_counted_apart_from_unknown_people() {
    let dir = tempfile::tempdir().unwrap();
    let id = loaded(dir.path());
    let mut events = vec![
        logon("SYSTEM", "NT AUTHORITY", "S-1-5-18"),
        logon("LOCAL SERVICE", "NT AUTHORITY", "S-1-5-19"),
        logon("DWM-1", "Window Manager", "S-1-5-90-0-1"),
        logon("UMFD-0", "Font Driver Host", "S-1-5-96-0-0"),
        logon("ANONYMOUS LOGON", "NT AUTHORITY", "S-1-5-7"),
        logon("LAP-0042$", "NORDLYS", "S-1-5-21-1-2-3-1105"),
        logon("root", "", ""),
        logon("aberg", "NORDLYS", "S-1-5-21-1-2-3-1104"),
        logon("mallory", "NORDLYS", "S-1-5-21-1-2-3-1199"),
    ];
    for e in &mut events[6..7] {
        e.actor.domain = None;
        e.actor.uid = None;
    }
    id.resolve_batch("winlogbeat", &mut events);

    let gaps = &id.gaps()["winlogbeat"];
    assert_eq!(gaps.non_person, 7, "{gaps:?}");
    assert_eq!(
        gaps.person, 1,
        "only mallory is an unknown person: {gaps:?}"
    );
    let person = &gaps.resolution["person"];
    assert_eq!(person.events, 2);
    assert_eq!(person.unresolved, 1);
    assert_eq!(person.top_unknown.len(), 1);
    assert_eq!(person.top_unknown[0].value, "S-1-5-21-1-2-3-1199");

    let kinds: Vec<Option<&str>> = events
        .iter()
        .map(|e| e.actor.non_person.as_deref())
        .collect();
    assert_eq!(
        kinds,
        [
            Some("windows_builtin"),
            Some("windows_builtin"),
            Some("windows_builtin"),
            Some("windows_builtin"),
            Some("windows_builtin"),
            Some("machine"),
            Some("unix_system"),
            None,
            None,
        ]
    );
    // SYSTEM on Alice's laptop is not Alice.
    assert_eq!(events[0].actor.person, None);
    assert_eq!(
        events[7].actor.person.as_ref().map(|p| p.id.as_str()),
        Some("E1001")
    );
}

#[test]
fn a_directory_account_wins_over_the_built_in_list() {
    let dir = tempfile::tempdir().unwrap();
    let id = loaded(dir.path());
    let mut e = logon("root", "", "");
    e.actor.domain = None;
    e.actor.uid = None;
    e.actor.email = Some("alice.berg@nordlys.example".into());
    let mut events = [e];
    id.resolve_batch("linux", &mut events);
    assert_eq!(events[0].actor.non_person, None);
    assert_eq!(id.gaps()["linux"].non_person, 0);
}
