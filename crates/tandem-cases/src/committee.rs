//! The security committee: members from each department, a chair that rotates among them,
//! and meetings with their decisions and action items.
//!
//! Kept as the store's case records, like incidents: the committee is one record of kind
//! `committee` (its members and how the chair rotates), each meeting a record of kind
//! `meeting` (`MTG-<n>`). Both are versioned, so two people editing the committee learn of
//! each other, and every change appends to the record's timeline. A meeting's action items
//! are the same [`ActionItem`]s a post-incident review keeps, shown in the one action-item
//! tracker beside the reviews' ([`Committee::action_items`]).
//!
//! **The rotation.** The members in rotation order ([`rotation`]: as configured, or grouped
//! by department) take the chair in turn. Each meeting records whose turn it was (`turn`)
//! and who chaired it (`chair`: the same person, or a stand-in). The next chair
//! ([`next_chair`]) is the first member after the last meeting's turn, in rotation order,
//! who is not skipped (a member on leave keeps their place and is passed over while
//! skipped); a stand-in chairing does not move the rotation. Who may change the committee
//! is the web's business; [`Committee::is_chair`] says whether someone chairs now.

use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tandem_model::{Department, Timestamp};
use tandem_store::{
    CaseCommit, CaseKind, CaseOrder, CaseQuery, CaseRecord, CaseStore, CaseWrite, StoreError,
    TimelineEntry,
};

use crate::incident::ActionItem;
use crate::{Actor, CaseError};

/// The id of the committee's one record.
pub const COMMITTEE_ID: &str = "COMMITTEE";

/// The store tag of a meeting with action items: the tracker reads only those.
pub const ACTION_ITEMS_TAG: &str = "action_items";

/// The most members, attendees, decisions and action items one record keeps.
pub const MAX_LIST: usize = 100;
/// The longest title, decision or action item, in bytes.
pub const MAX_TITLE: usize = 300;
/// The longest notes, in bytes.
pub const MAX_TEXT: usize = 20_000;

/// How the chair passes from member to member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationOrder {
    /// In the order the members are listed.
    #[default]
    Configured,
    /// Department by department (IT, Security, Facilities, HR, Legal, Comms, Finance), in
    /// list order within one.
    Department,
}

impl RotationOrder {
    pub fn code(self) -> &'static str {
        match self {
            RotationOrder::Configured => "configured",
            RotationOrder::Department => "department",
        }
    }

    pub fn parse(s: &str) -> Option<RotationOrder> {
        [RotationOrder::Configured, RotationOrder::Department]
            .into_iter()
            .find(|r| r.code() == s)
    }
}

/// A member of the committee: an account of Tandem, for a department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The account's user name.
    pub account: String,
    pub department: Department,
    /// Why the rotation passes over this member for now (on leave, …); none: in rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip: Option<String>,
}

/// The committee: who is on it and how the chair rotates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Setup {
    /// 0 before the committee is first set up.
    pub version: u64,
    pub members: Vec<Member>,
    pub rotation: RotationOrder,
}

/// A decision the committee took in a meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// `D1`, `D2`, … within the meeting.
    pub id: String,
    pub text: String,
    pub by: String,
    pub time: Timestamp,
}

/// A meeting of the committee. Stored as a [`CaseRecord`] of kind `meeting` (this struct is
/// its `doc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meeting {
    /// `MTG-<n>`.
    pub id: String,
    pub version: u64,
    pub date: NaiveDate,
    pub title: String,
    /// Who chaired it.
    pub chair: String,
    /// Whose turn in the rotation it was (the chair, unless someone stood in); the rotation
    /// continues after them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<String>,
    #[serde(default)]
    pub attendees: Vec<String>,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub decisions: Vec<Decision>,
    #[serde(default)]
    pub action_items: Vec<ActionItem>,
    pub recorded_by: String,
}

/// A new meeting as asked for.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MeetingInput {
    /// `2025-03-01`.
    pub date: Option<NaiveDate>,
    /// "Security committee" when empty.
    pub title: String,
    /// Who chaired it; the member whose turn it was when not given.
    pub chair: Option<String>,
    pub attendees: Vec<String>,
    pub notes: String,
}

/// An action item from a meeting, with the meeting it came from, for the tracker.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeetingActionItem {
    pub meeting: String,
    pub meeting_title: String,
    pub date: NaiveDate,
    pub item: ActionItem,
}

/// The members in the order the chair passes between them.
pub fn rotation(setup: &Setup) -> Vec<&Member> {
    let mut out: Vec<&Member> = setup.members.iter().collect();
    if setup.rotation == RotationOrder::Department {
        // Stable: members of one department keep their list order.
        out.sort_by_key(|m| {
            Department::ALL
                .iter()
                .position(|d| *d == m.department)
                .unwrap_or(usize::MAX)
        });
    }
    out
}

/// Who chairs the next meeting: the first member not skipped after the last meeting's turn
/// (`meetings` in any order; the latest by date, then by number, counts), in rotation
/// order; the first member not skipped when no meeting's turn is still a member. None when
/// every member is skipped or there is none.
pub fn next_chair<'a>(setup: &'a Setup, meetings: &[Meeting]) -> Option<&'a Member> {
    let order = rotation(setup);
    let last = meetings
        .iter()
        .filter(|m| m.turn.is_some())
        .max_by_key(|m| (m.date, meeting_number(&m.id)))
        .and_then(|m| m.turn.as_deref());
    let start = last
        .and_then(|t| order.iter().position(|m| m.account == t))
        .map(|i| i + 1)
        .unwrap_or(0);
    (0..order.len())
        .map(|k| order[(start + k) % order.len()])
        .find(|m| m.skip.is_none())
}

/// The number of `MTG-<n>`, for ordering meetings of one day.
fn meeting_number(id: &str) -> u64 {
    id.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The committee and its meetings, kept in the case store.
pub struct Committee {
    store: Arc<dyn CaseStore>,
}

impl Committee {
    pub fn new(store: Arc<dyn CaseStore>) -> Committee {
        Committee { store }
    }

    /// The committee as set up (empty, version 0, before the first setup).
    pub fn setup(&self) -> Result<Setup, CaseError> {
        match self.store.case(CaseKind::Committee, COMMITTEE_ID)? {
            Some(r) => {
                let mut s: Setup = serde_json::from_value(r.doc).map_err(bad_doc)?;
                s.version = r.version;
                Ok(s)
            }
            None => Ok(Setup::default()),
        }
    }

    /// Sets the members and the rotation, from the version `base_version` the caller saw
    /// (0: not set up yet). An account is a member once; every member needs a department.
    pub fn set_setup(
        &self,
        base_version: Option<u64>,
        members: Vec<Member>,
        rotation: RotationOrder,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Setup, CaseError> {
        if members.len() > MAX_LIST {
            return Err(CaseError::Refused(format!(
                "the committee takes at most {MAX_LIST} members"
            )));
        }
        let mut clean: Vec<Member> = Vec::with_capacity(members.len());
        for m in members {
            let account = m.account.trim().to_owned();
            if account.is_empty() {
                return Err(CaseError::Refused("a member needs an account".into()));
            }
            bounded("an account name", &account, MAX_TITLE)?;
            if clean.iter().any(|c| c.account == account) {
                return Err(CaseError::Refused(format!(
                    "{account} is listed twice; a member sits on the committee once"
                )));
            }
            let skip = m
                .skip
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty());
            if let Some(s) = &skip {
                bounded("a reason to skip", s, MAX_TITLE)?;
            }
            clean.push(Member {
                account,
                department: m.department,
                skip,
            });
        }
        let current = self.store.case(CaseKind::Committee, COMMITTEE_ID)?;
        let version = current.as_ref().map(|r| r.version).unwrap_or(0);
        if let Some(base) = base_version
            && base != version
        {
            return Err(crate::timeline::stale(
                self.store.as_ref(),
                COMMITTEE_ID,
                base,
                version,
            ));
        }
        let before = self.setup()?;
        let setup = Setup {
            version: version + 1,
            members: clean,
            rotation,
        };
        let added: Vec<&str> = setup
            .members
            .iter()
            .filter(|m| !before.members.iter().any(|b| b.account == m.account))
            .map(|m| m.account.as_str())
            .collect();
        let removed: Vec<&str> = before
            .members
            .iter()
            .filter(|b| !setup.members.iter().any(|m| m.account == b.account))
            .map(|b| b.account.as_str())
            .collect();
        let record = CaseRecord {
            kind: CaseKind::Committee,
            id: COMMITTEE_ID.to_owned(),
            version: setup.version,
            status: "active".into(),
            resolution: None,
            severity: 1,
            key: None,
            parent: None,
            departments: departments(setup.members.iter().map(|m| m.department)),
            entities: Vec::new(),
            rules: Vec::new(),
            sites: Vec::new(),
            opened: current.as_ref().map(|r| r.opened).unwrap_or(now),
            updated: now,
            tags: Vec::new(),
            due: None,
            items: Vec::new(),
            doc: serde_json::to_value(&setup).map_err(bad_doc)?,
        };
        let entry = entry(
            COMMITTEE_ID,
            actor,
            now,
            "committee_members",
            json!({
                "members": setup.members.len(),
                "added": added,
                "removed": removed,
                "rotation": setup.rotation.code(),
            }),
        );
        let write = if current.is_some() {
            CaseWrite::Update(record)
        } else {
            CaseWrite::Insert(record)
        };
        self.commit(COMMITTEE_ID, version, write, entry)?;
        Ok(setup)
    }

    /// Every meeting, latest first.
    pub fn meetings(&self) -> Result<Vec<Meeting>, CaseError> {
        let mut out = self
            .records(CaseQuery::new(CaseKind::Meeting))?
            .iter()
            .map(from_record)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by_key(|m| std::cmp::Reverse((m.date, meeting_number(&m.id))));
        Ok(out)
    }

    pub fn meeting(&self, id: &str) -> Result<Meeting, CaseError> {
        let r = self
            .store
            .case(CaseKind::Meeting, id)?
            .ok_or_else(|| CaseError::NotFound {
                kind: "meeting",
                id: id.to_owned(),
            })?;
        from_record(&r)
    }

    /// The member who chairs the next meeting, computed from the setup and the meetings held.
    pub fn next_chair(&self) -> Result<Option<Member>, CaseError> {
        let setup = self.setup()?;
        let meetings = self.meetings()?;
        Ok(next_chair(&setup, &meetings).cloned())
    }

    /// Whether `account` chairs now: the next meeting's chair, or the chair of `meeting`.
    pub fn is_chair(&self, account: &str, meeting: Option<&Meeting>) -> Result<bool, CaseError> {
        if meeting.is_some_and(|m| m.chair == account) {
            return Ok(true);
        }
        Ok(self.next_chair()?.is_some_and(|m| m.account == account))
    }

    /// Records a meeting. Its turn is the next chair's; its chair is the one given (a stand-in)
    /// or the next chair.
    pub fn add_meeting(
        &self,
        input: MeetingInput,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Meeting, CaseError> {
        let date = input
            .date
            .ok_or_else(|| CaseError::Refused("a meeting needs a date".into()))?;
        let title = match input.title.trim() {
            "" => "Security committee".to_owned(),
            t => t.to_owned(),
        };
        bounded("the title", &title, MAX_TITLE)?;
        bounded("the notes", &input.notes, MAX_TEXT)?;
        if input.attendees.len() > MAX_LIST {
            return Err(CaseError::Refused(format!(
                "a meeting lists at most {MAX_LIST} attendees"
            )));
        }
        let mut attendees: Vec<String> = Vec::new();
        for a in input.attendees.iter().map(|a| a.trim()) {
            bounded("an attendee", a, MAX_TITLE)?;
            if !a.is_empty() && !attendees.iter().any(|x| x == a) {
                attendees.push(a.to_owned());
            }
        }
        let turn = self.next_chair()?.map(|m| m.account);
        let chair = input
            .chair
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .or_else(|| turn.clone())
            .ok_or_else(|| {
                CaseError::Refused(
                    "no member is in rotation to chair; name the chair or add members".into(),
                )
            })?;
        bounded("the chair", &chair, MAX_TITLE)?;
        if !attendees.contains(&chair) {
            attendees.insert(0, chair.clone());
        }
        let n = self.store.allocate_case_numbers(CaseKind::Meeting, 1)?;
        let meeting = Meeting {
            id: format!("MTG-{n}"),
            version: 1,
            date,
            title,
            chair,
            turn,
            attendees,
            notes: input.notes,
            decisions: Vec::new(),
            action_items: Vec::new(),
            recorded_by: actor.to_owned(),
        };
        let e = entry(
            &meeting.id,
            actor,
            now,
            "meeting",
            json!({"date": date.to_string(), "chair": meeting.chair, "turn": meeting.turn}),
        );
        self.commit(
            &meeting.id,
            0,
            CaseWrite::Insert(to_record(&meeting, now)?),
            e,
        )?;
        Ok(meeting)
    }

    /// Records a decision taken in a meeting.
    pub fn record_decision(
        &self,
        id: &str,
        text: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Meeting, CaseError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(CaseError::Refused("a decision needs its text".into()));
        }
        bounded("a decision", text, MAX_TEXT)?;
        self.update(id, actor, now, |m| {
            if m.decisions.len() >= MAX_LIST {
                return Err(CaseError::Refused(format!(
                    "a meeting keeps at most {MAX_LIST} decisions"
                )));
            }
            let d = Decision {
                id: format!("D{}", m.decisions.len() + 1),
                text: text.to_owned(),
                by: actor.to_owned(),
                time: now,
            };
            let detail = json!({"decision": d.id, "text": d.text});
            m.decisions.push(d);
            Ok(("decision", detail))
        })
    }

    /// Adds an action item to a meeting: an owner department and a due date, tracked with the
    /// reviews' items.
    pub fn add_action_item(
        &self,
        id: &str,
        title: &str,
        department: Department,
        due: NaiveDate,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Meeting, CaseError> {
        let title = title.trim();
        if title.is_empty() {
            return Err(CaseError::Refused("an action item needs a title".into()));
        }
        bounded("an action item's title", title, MAX_TITLE)?;
        self.update(id, actor, now, |m| {
            if m.action_items.len() >= MAX_LIST {
                return Err(CaseError::Refused(format!(
                    "a meeting keeps at most {MAX_LIST} action items"
                )));
            }
            let mut k = m.action_items.len() + 1;
            while m.action_items.iter().any(|a| a.id == format!("A{k}")) {
                k += 1;
            }
            let item = ActionItem {
                id: format!("A{k}"),
                title: title.to_owned(),
                department,
                due,
                done: None,
                overdue: None,
            };
            let detail = json!({
                "item": item.id, "title": item.title,
                "department": department.code(), "due": due.to_string(),
            });
            m.action_items.push(item);
            Ok(("action_item", detail))
        })
    }

    /// Marks a meeting's action item done (or open again).
    pub fn set_action_item_done(
        &self,
        id: &str,
        item: &str,
        done: bool,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Meeting, CaseError> {
        self.update(id, actor, now, |m| {
            let a = m
                .action_items
                .iter_mut()
                .find(|a| a.id == item)
                .ok_or_else(|| CaseError::NotFound {
                    kind: "action item",
                    id: format!("{id}/{item}"),
                })?;
            if a.done.is_some() == done {
                return Ok(("", json!(null)));
            }
            a.done = done.then_some(now);
            let kind = if done {
                "action_item_done"
            } else {
                "action_item_reopened"
            };
            Ok((kind, json!({"item": a.id, "title": a.title})))
        })
    }

    /// Action items of every meeting, open ones only if asked, soonest due first.
    pub fn action_items(&self, open_only: bool) -> Result<Vec<MeetingActionItem>, CaseError> {
        let mut q = CaseQuery::new(CaseKind::Meeting);
        q.tag = Some(ACTION_ITEMS_TAG.to_owned());
        let mut out = Vec::new();
        for r in self.records(q)? {
            let m = from_record(&r)?;
            for item in &m.action_items {
                if open_only && item.done.is_some() {
                    continue;
                }
                out.push(MeetingActionItem {
                    meeting: m.id.clone(),
                    meeting_title: m.title.clone(),
                    date: m.date,
                    item: item.clone(),
                });
            }
        }
        out.sort_by(|a, b| {
            (a.item.done.is_some(), a.item.due).cmp(&(b.item.done.is_some(), b.item.due))
        });
        Ok(out)
    }

    /// The timeline of the committee or of a meeting, oldest first.
    pub fn history(&self, id: &str) -> Result<Vec<TimelineEntry>, CaseError> {
        Ok(self.store.timeline(id, 0)?)
    }

    fn records(&self, mut q: CaseQuery) -> Result<Vec<CaseRecord>, CaseError> {
        q.limit = 1_000;
        q.order = CaseOrder::Opened;
        let mut out = Vec::new();
        loop {
            let page = self.store.cases(&q)?;
            let n = page.records.len();
            out.extend(page.records);
            if n < q.limit {
                return Ok(out);
            }
            q.offset += n;
        }
    }

    /// Reads a meeting, lets `apply` change it and name the change (an empty name: nothing
    /// changed, nothing written), and writes it with its timeline entry.
    fn update<F>(
        &self,
        id: &str,
        actor: &Actor,
        now: Timestamp,
        apply: F,
    ) -> Result<Meeting, CaseError>
    where
        F: FnOnce(&mut Meeting) -> Result<(&'static str, serde_json::Value), CaseError>,
    {
        let record =
            self.store
                .case(CaseKind::Meeting, id)?
                .ok_or_else(|| CaseError::NotFound {
                    kind: "meeting",
                    id: id.to_owned(),
                })?;
        let mut meeting = from_record(&record)?;
        let (kind, detail) = apply(&mut meeting)?;
        if kind.is_empty() {
            return Ok(meeting);
        }
        meeting.version = record.version + 1;
        let e = entry(id, actor, now, kind, detail);
        self.commit(
            id,
            record.version,
            CaseWrite::Update(to_record(&meeting, now)?),
            e,
        )?;
        Ok(meeting)
    }

    fn commit(
        &self,
        id: &str,
        based_on: u64,
        write: CaseWrite,
        entry: TimelineEntry,
    ) -> Result<(), CaseError> {
        let mut commit = CaseCommit {
            writes: vec![write],
            timeline: vec![entry],
            findings: Vec::new(),
        };
        match self.store.commit_cases(&mut commit) {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict { .. }) => {
                let current = self
                    .store
                    .case(CaseKind::Meeting, id)
                    .ok()
                    .flatten()
                    .or_else(|| self.store.case(CaseKind::Committee, id).ok().flatten())
                    .map(|r| r.version)
                    .unwrap_or(0);
                Err(crate::timeline::stale(
                    self.store.as_ref(),
                    id,
                    based_on,
                    current,
                ))
            }
            Err(e) => Err(e.into()),
        }
    }
}

fn entry(
    id: &str,
    actor: &Actor,
    time: Timestamp,
    kind: &str,
    detail: serde_json::Value,
) -> TimelineEntry {
    crate::timeline::entry(id, time, actor, kind, detail)
}

fn departments(ds: impl Iterator<Item = Department>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in ds {
        if !out.iter().any(|x| x == d.code()) {
            out.push(d.code().to_owned());
        }
    }
    out
}

fn to_record(m: &Meeting, now: Timestamp) -> Result<CaseRecord, CaseError> {
    let open = m.action_items.iter().any(|a| a.done.is_none());
    Ok(CaseRecord {
        kind: CaseKind::Meeting,
        id: m.id.clone(),
        version: m.version,
        status: if open { "open_items" } else { "held" }.into(),
        resolution: None,
        severity: 1,
        key: None,
        parent: None,
        departments: departments(m.action_items.iter().map(|a| a.department)),
        entities: Vec::new(),
        rules: Vec::new(),
        sites: Vec::new(),
        // The meeting's date, so lists in opened order are in date order.
        opened: m
            .date
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc(),
        updated: now,
        tags: if m.action_items.is_empty() {
            Vec::new()
        } else {
            vec![ACTION_ITEMS_TAG.to_owned()]
        },
        due: None,
        items: Vec::new(),
        doc: serde_json::to_value(m).map_err(bad_doc)?,
    })
}

fn from_record(r: &CaseRecord) -> Result<Meeting, CaseError> {
    let mut m: Meeting = serde_json::from_value(r.doc.clone()).map_err(bad_doc)?;
    m.version = r.version;
    Ok(m)
}

fn bad_doc(e: serde_json::Error) -> CaseError {
    CaseError::Refused(format!("a committee record is unreadable: {e}"))
}

fn bounded(what: &str, text: &str, max: usize) -> Result<(), CaseError> {
    if text.len() > max {
        return Err(CaseError::Refused(format!(
            "{what} is {} bytes; at most {max} are kept",
            text.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
