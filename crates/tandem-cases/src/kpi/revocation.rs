//! Access revocation timeliness: for each leaver, how long after HR's termination their badges
//! stopped opening doors and their account stopped signing in, and whether either was used
//! after the termination.
//!
//! Read from the identity directory's effective-dated history (every version of a person,
//! each from the time it became true) and from what the stored events say about the person
//! after the termination, which the caller searches for ([`Evidence`]): this module stays
//! pure, so every figure is tested on hand-built histories with known answers.
//!
//! - **Termination**: the effective time of the version that made the person `terminated`
//!   (its `terminated_at` when set). A person terminated, rehired and terminated again is
//!   read at the last termination in the period.
//! - **Badges**: those the person held just before the termination. One is deactivated at the
//!   first later version where it is gone or no longer `active`, or at its `valid_to` once
//!   that time has passed, whichever is first; one already inactive or expired at the
//!   termination counts 0. The leaver's time is to the **last** badge deactivated; while one
//!   is still active the leaver is open and the time runs to now.
//! - **Account**: a person with any account needs it disabled. Disabled is the directory's
//!   `account_disabled` (set by the identity provider's SCIM deactivation or deletion) or an
//!   `account_change` disable or delete event resolved to the person (Okta's, Entra ID's,
//!   Windows' own logs; SCIM's), from a week before the termination on; the time is to the
//!   last of them. Without either the account is open.
//! - **Used after**: granted badge swipes and successful sign-ins resolved to the person after
//!   the termination.

use std::collections::BTreeMap;

use serde::Serialize;
use tandem_identity::{BadgeStatus, Directory, Person, Status};
use tandem_model::Timestamp;

use super::{Stat, Window, seconds};

/// How far before a termination an account disable still counts as the leaver's (IT disabling
/// the login on the last working day, before HR's date).
pub const DISABLED_BEFORE_DAYS: i64 = 7;

/// What the stored events say about one leaver after their termination (searched by the
/// caller: events resolved to the person, from the termination on).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evidence {
    /// Granted badge swipes (`physical_access`, outcome success).
    pub badge_uses: u64,
    pub first_badge_use: Option<Timestamp>,
    /// Successful sign-ins (`authentication`, outcome success).
    pub sign_ins: u64,
    pub first_sign_in: Option<Timestamp>,
    /// The latest account disable or delete (`account_change`) from
    /// [`DISABLED_BEFORE_DAYS`] before the termination on.
    pub last_account_disable: Option<Timestamp>,
}

/// One leaver's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Leaver {
    pub person: String,
    pub name: String,
    /// The directory's department of the person at the termination.
    pub department: Option<String>,
    pub terminated: Timestamp,
    /// Badges held just before the termination.
    pub badges: usize,
    /// When the last of them was deactivated (none while one is active).
    pub badges_revoked: Option<Timestamp>,
    /// A badge is still active.
    pub badge_open: bool,
    /// Seconds from the termination to the last badge deactivation, or to now while open;
    /// none without badges.
    pub to_badge: Option<f64>,
    /// The person had an account to disable.
    pub has_account: bool,
    pub account_disabled: Option<Timestamp>,
    pub account_open: bool,
    /// Seconds from the termination to the last account disable, or to now while open; none
    /// without an account.
    pub to_account: Option<f64>,
    pub badge_uses_after: u64,
    pub first_badge_use_after: Option<Timestamp>,
    pub sign_ins_after: u64,
    pub first_sign_in_after: Option<Timestamp>,
}

impl Leaver {
    /// A badge or the account is still active.
    pub fn open(&self) -> bool {
        self.badge_open || self.account_open
    }

    /// A badge or the account was used after the termination.
    pub fn used_after(&self) -> bool {
        self.badge_uses_after > 0 || self.sign_ins_after > 0
    }
}

/// The figures of every leaver of a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Revocation {
    /// Terminated in the period, earliest first.
    pub leavers: Vec<Leaver>,
    /// Termination → last badge deactivation over the leavers with badges all deactivated;
    /// `share` is over the leavers with badges.
    pub badge: Stat,
    /// Termination → last account disable over the leavers whose account is disabled;
    /// `share` is over the leavers with an account.
    pub account: Stat,
    /// Leavers with a badge or account still active.
    pub open: u64,
    /// Leavers whose badge or account was used after the termination.
    pub used_after: u64,
}

/// The leavers of `window`: each person's last termination in it, with the version in force
/// just before it (their state while employed) and their latest state.
pub fn leavers(dir: &Directory, window: Window) -> Vec<(String, Timestamp)> {
    let mut out = Vec::new();
    for p in dir.people() {
        if let Some(t) = termination_in(dir, &p.id, window) {
            out.push((p.id.clone(), t));
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    out
}

/// The last time in `window` a person became terminated.
fn termination_in(dir: &Directory, id: &str, window: Window) -> Option<Timestamp> {
    let history = dir.person_history(id)?;
    let mut was_terminated = false;
    let mut found = None;
    for v in history.versions() {
        let terminated = v
            .state
            .as_ref()
            .is_some_and(|s| s.status == Status::Terminated);
        if terminated && !was_terminated {
            let t = v
                .state
                .as_ref()
                .and_then(|s| s.terminated_at)
                .unwrap_or(v.effective);
            if window.contains(t) {
                found = Some(t);
            }
        }
        if v.state.is_some() {
            was_terminated = terminated;
        }
    }
    found
}

/// When a badge held at `terminated` stopped opening doors: 0-time when it already had, none
/// while it still does.
fn badge_deactivated(
    number: &str,
    before: &Person,
    versions: &[tandem_identity::Version<Person>],
    terminated: Timestamp,
    now: Timestamp,
) -> Option<Timestamp> {
    let held = before.badges.iter().find(|b| b.number == number)?;
    if held.status != BadgeStatus::Active || held.valid_to.is_some_and(|t| t <= terminated) {
        return Some(terminated);
    }
    let mut at: Option<Timestamp> = None;
    let mut earliest = |t: Timestamp| at = Some(at.map_or(t, |a| a.min(t)));
    for v in versions.iter().filter(|v| v.effective > terminated) {
        match v
            .state
            .as_ref()
            .and_then(|s| s.badges.iter().find(|b| b.number == number))
        {
            Some(b) if b.status == BadgeStatus::Active => {
                if let Some(t) = b.valid_to.filter(|t| *t <= now) {
                    earliest(t);
                }
            }
            _ => {
                earliest(v.effective);
                break;
            }
        }
    }
    // The validity in force at the termination may itself end it, later.
    if let Some(t) = held.valid_to.filter(|t| *t <= now) {
        earliest(t);
    }
    // Also a version at the termination itself (HR's) can end the badge.
    let at_termination = versions
        .iter()
        .rev()
        .find(|v| v.effective <= terminated)
        .and_then(|v| v.state.as_ref());
    if let Some(s) = at_termination {
        match s.badges.iter().find(|b| b.number == number) {
            Some(b) if b.status == BadgeStatus::Active => {
                if let Some(t) = b.valid_to.filter(|t| *t <= now) {
                    earliest(t);
                }
            }
            _ => earliest(terminated),
        }
    }
    at
}

/// Every leaver's figures: `evidence` by person id (a leaver without an entry has none).
pub fn compute(
    dir: &Directory,
    window: Window,
    evidence: &BTreeMap<String, Evidence>,
    now: Timestamp,
) -> Revocation {
    let none = Evidence::default();
    let mut out = Vec::new();
    for (id, terminated) in leavers(dir, window) {
        let Some(history) = dir.person_history(&id) else {
            continue;
        };
        let versions = history.versions();
        let just_before = terminated - chrono::Duration::microseconds(1);
        let Some(before) = history
            .at(just_before)
            .or_else(|| history.at(terminated))
            .cloned()
        else {
            continue;
        };
        let latest = versions
            .iter()
            .rev()
            .find_map(|v| v.state.as_ref())
            .cloned()
            .unwrap_or_else(|| before.clone());
        let e = evidence.get(&id).unwrap_or(&none);

        let mut badges_revoked: Option<Timestamp> = None;
        let mut badge_open = false;
        for b in &before.badges {
            match badge_deactivated(&b.number, &before, versions, terminated, now) {
                Some(t) => badges_revoked = Some(badges_revoked.map_or(t, |r| r.max(t))),
                None => badge_open = true,
            }
        }
        let badges = before.badges.len();
        let to_badge = match (badges, badge_open) {
            (0, _) => None,
            (_, true) => seconds(Some(terminated), Some(now)),
            (_, false) => seconds(Some(terminated), badges_revoked),
        };

        let has_account = !before.accounts.is_empty() || !latest.accounts.is_empty();
        let floor = terminated - chrono::Duration::days(DISABLED_BEFORE_DAYS);
        let account_disabled = [latest.account_disabled, e.last_account_disable]
            .into_iter()
            .flatten()
            .filter(|t| *t >= floor)
            .max();
        let account_open = has_account && account_disabled.is_none();
        let to_account = match (has_account, account_open) {
            (false, _) => None,
            (true, true) => seconds(Some(terminated), Some(now)),
            (true, false) => seconds(Some(terminated), account_disabled),
        };
        out.push(Leaver {
            person: id,
            name: if before.name.is_empty() {
                latest.name.clone()
            } else {
                before.name.clone()
            },
            department: before.department.clone().or(latest.department.clone()),
            terminated,
            badges,
            badges_revoked: if badge_open { None } else { badges_revoked },
            badge_open,
            to_badge,
            has_account,
            account_disabled,
            account_open,
            to_account,
            badge_uses_after: e.badge_uses,
            first_badge_use_after: e.first_badge_use,
            sign_ins_after: e.sign_ins,
            first_sign_in_after: e.first_sign_in,
        });
    }
    let with_badges = out.iter().filter(|l| l.badges > 0).count() as u64;
    let badge_times: Vec<f64> = out
        .iter()
        .filter(|l| l.badges > 0 && !l.badge_open)
        .filter_map(|l| l.to_badge)
        .collect();
    let with_account = out.iter().filter(|l| l.has_account).count() as u64;
    let account_times: Vec<f64> = out
        .iter()
        .filter(|l| l.has_account && !l.account_open)
        .filter_map(|l| l.to_account)
        .collect();
    Revocation {
        badge: Stat::of(&badge_times, with_badges),
        account: Stat::of(&account_times, with_account),
        open: out.iter().filter(|l| l.open()).count() as u64,
        used_after: out.iter().filter(|l| l.used_after()).count() as u64,
        leavers: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_identity::{Account, AccountKind, Badge};
    use tandem_store::DirectoryChange;

    fn at(hours: i64) -> Timestamp {
        "2025-03-10T00:00:00Z".parse::<Timestamp>().unwrap() + chrono::Duration::hours(hours)
    }

    fn badge(number: &str, status: BadgeStatus, valid_to: Option<Timestamp>) -> Badge {
        Badge {
            number: number.into(),
            facility_code: None,
            valid_from: None,
            valid_to,
            status,
        }
    }

    fn person(id: &str, status: Status, badges: Vec<Badge>, account: bool) -> Person {
        Person {
            id: id.into(),
            name: format!("Person {id}"),
            department: Some("Finance".into()),
            status,
            badges,
            accounts: if account {
                vec![Account {
                    kind: AccountKind::Upn,
                    value: format!("{id}@nordlys.example"),
                }]
            } else {
                Vec::new()
            },
            ..Person::default()
        }
    }

    fn directory(versions: &[(Timestamp, Person)]) -> Directory {
        let mut changes: Vec<DirectoryChange> = versions
            .iter()
            .enumerate()
            .map(|(i, (t, p))| {
                let mut c = tandem_identity::encode("person", &p.id, *t, "test", p).unwrap();
                c.seq = i as u64 + 1;
                c
            })
            .collect();
        changes.sort_by_key(|c| c.seq);
        let mut dir = Directory::default();
        dir.apply(&changes).unwrap();
        dir
    }

    fn window() -> Window {
        Window {
            from: at(0),
            to: at(24 * 30),
        }
    }

    /// Four leavers with known answers:
    /// - A: terminated at 10 h; badge revoked at 12 h, second badge expired at 15 h; account
    ///   disabled by SCIM at 11 h → badge 5 h, account 1 h, closed.
    /// - B: terminated at 20 h; badge still active, account never disabled, swiped twice and
    ///   signed in once after → open (time so far), used after.
    /// - C: terminated at 30 h, no badge; account disabled in AD (an event) at 29 h, before the
    ///   termination → 0.
    /// - D: still employed: no leaver.
    #[test]
    fn leavers_are_timed_to_their_last_badge_and_account_and_open_ones_run_to_now() {
        let a_badges = vec![
            badge("100", BadgeStatus::Active, None),
            badge("101", BadgeStatus::Active, Some(at(15))),
        ];
        let mut a_term = person("A", Status::Terminated, a_badges.clone(), true);
        a_term.terminated_at = Some(at(10));
        let mut a_disabled = a_term.clone();
        a_disabled.account_disabled = Some(at(11));
        let mut a_revoked = a_disabled.clone();
        a_revoked.badges[0].status = BadgeStatus::Revoked;
        let b = person(
            "B",
            Status::Active,
            vec![badge("200", BadgeStatus::Active, None)],
            true,
        );
        let mut b_term = b.clone();
        b_term.status = Status::Terminated;
        let c = person("C", Status::Active, Vec::new(), true);
        let mut c_term = c.clone();
        c_term.status = Status::Terminated;
        let dir = directory(&[
            (at(-100), person("A", Status::Active, a_badges, true)),
            (at(10), a_term),
            (at(11), a_disabled),
            (at(12), a_revoked),
            (at(-100), b),
            (at(20), b_term),
            (at(-100), c),
            (at(30), c_term),
            (at(-100), person("D", Status::Active, Vec::new(), true)),
        ]);
        let now = at(100);
        let mut evidence = BTreeMap::new();
        evidence.insert(
            "B".to_owned(),
            Evidence {
                badge_uses: 2,
                first_badge_use: Some(at(21)),
                sign_ins: 1,
                first_sign_in: Some(at(22)),
                last_account_disable: None,
            },
        );
        evidence.insert(
            "C".to_owned(),
            Evidence {
                last_account_disable: Some(at(29)),
                ..Evidence::default()
            },
        );
        let r = compute(&dir, window(), &evidence, now);
        let ids: Vec<&str> = r.leavers.iter().map(|l| l.person.as_str()).collect();
        assert_eq!(ids, ["A", "B", "C"]);
        let [a, b, c] = [&r.leavers[0], &r.leavers[1], &r.leavers[2]];

        assert_eq!(a.terminated, at(10));
        assert_eq!(a.badges, 2);
        assert_eq!(a.badges_revoked, Some(at(15)), "the last of the two");
        assert_eq!(a.to_badge, Some(5.0 * 3600.0));
        assert_eq!(a.account_disabled, Some(at(11)));
        assert_eq!(a.to_account, Some(3600.0));
        assert!(!a.open() && !a.used_after());

        assert!(b.badge_open && b.account_open && b.open());
        assert_eq!(b.to_badge, Some(80.0 * 3600.0), "time so far");
        assert_eq!(b.to_account, Some(80.0 * 3600.0));
        assert_eq!((b.badge_uses_after, b.sign_ins_after), (2, 1));
        assert_eq!(b.first_badge_use_after, Some(at(21)));

        assert_eq!(c.badges, 0);
        assert_eq!(c.to_badge, None);
        assert_eq!(c.account_disabled, Some(at(29)));
        assert_eq!(
            c.to_account,
            Some(0.0),
            "disabled before the termination counts 0"
        );

        // Badges: A only (B open); accounts: A and C (B open).
        assert_eq!((r.badge.n, r.badge.share), (1, 0.5));
        assert_eq!(r.badge.median, Some(5.0 * 3600.0));
        assert_eq!(r.account.n, 2);
        assert_eq!(r.account.median, Some(1800.0));
        assert_eq!((r.open, r.used_after), (1, 1));
    }

    #[test]
    fn a_termination_outside_the_period_and_an_old_disable_do_not_count() {
        let p = person("E", Status::Active, Vec::new(), true);
        let mut disabled = p.clone();
        disabled.status = Status::Suspended;
        disabled.account_disabled = Some(at(0));
        let mut term = disabled.clone();
        term.status = Status::Terminated;
        let dir = directory(&[(at(-100), p), (at(0), disabled), (at(24 * 20), term)]);
        let r = compute(&dir, window(), &BTreeMap::new(), at(24 * 25));
        assert_eq!(r.leavers.len(), 1);
        let e = &r.leavers[0];
        assert!(
            e.account_open,
            "a disable 20 days before is an earlier suspension, not this leaver's"
        );
        let later = Window {
            from: at(24 * 21),
            to: at(24 * 40),
        };
        assert!(
            compute(&dir, later, &BTreeMap::new(), at(24 * 25))
                .leavers
                .is_empty()
        );
    }
}
