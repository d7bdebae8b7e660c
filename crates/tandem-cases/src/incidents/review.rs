//! The post-incident review that gates closing, and its action items across incidents.

use serde_json::json;
use tandem_model::Timestamp;
use tandem_store::{CaseKind, CaseQuery};

use crate::incident::{ActionItem, Review};
use crate::{Actor, CaseError, Incident};

use super::*;

impl Incidents {
    /// Writes or updates the post-incident review.
    pub fn write_review(
        &self,
        id: &str,
        base_version: Option<u64>,
        input: ReviewInput,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Incident, CaseError> {
        let now = micros(now);
        if input.summary.trim().is_empty() {
            return Err(CaseError::Refused("a review needs a summary".into()));
        }
        for (what, text) in [
            ("the summary", &input.summary),
            ("the impact", &input.impact),
            ("what went well", &input.went_well),
            ("the contributing factors", &input.contributing_factors),
        ] {
            bounded(what, text, MAX_TEXT)?;
        }
        if input.action_items.len() > MAX_LIST {
            return Err(CaseError::Refused(format!(
                "a review takes at most {MAX_LIST} action items"
            )));
        }
        for a in &input.action_items {
            bounded("an action item's title", &a.title, MAX_TITLE)?;
        }
        self.update(id, base_version, actor, now, |inc, ch| {
            let before = inc.review.clone().unwrap_or_default();
            let mut items = Vec::new();
            for (n, a) in input.action_items.into_iter().enumerate() {
                if a.title.trim().is_empty() {
                    return Err(CaseError::Refused(format!(
                        "action item {} needs a title",
                        n + 1
                    )));
                }
                let id = a.id.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| {
                    let mut k = n + 1;
                    while before.action_items.iter().any(|x| x.id == format!("A{k}"))
                        || items.iter().any(|x: &ActionItem| x.id == format!("A{k}"))
                    {
                        k += 1;
                    }
                    format!("A{k}")
                });
                let old = before.action_items.iter().find(|x| x.id == id);
                let done = match (a.done, old.and_then(|o| o.done)) {
                    (true, Some(t)) => Some(t),
                    (true, None) => Some(now),
                    (false, _) => None,
                };
                items.push(ActionItem {
                    id,
                    title: a.title.trim().to_owned(),
                    department: a.department,
                    due: a.due,
                    done,
                    // Told once per due date: a new date is told again when it passes.
                    overdue: old.filter(|o| o.due == a.due).and_then(|o| o.overdue),
                });
            }
            let first = inc.review.is_none();
            ch.note(
                if first { "review" } else { "review_updated" },
                json!({
                    "action_items": items.len(),
                    "done": items.iter().filter(|i| i.done.is_some()).count(),
                }),
            );
            inc.review = Some(Review {
                summary: input.summary.trim().to_owned(),
                impact: input.impact,
                went_well: input.went_well,
                contributing_factors: input.contributing_factors,
                action_items: items,
                author: actor.to_owned(),
                written: Some(before.written.unwrap_or(now)),
            });
            Ok(())
        })
    }

    /// Marks one action item of the review done (or open again). `department`: the
    /// department the actor works for when they may act only on its items (responders).
    pub fn set_action_item_done(
        &self,
        id: &str,
        item: &str,
        done: bool,
        department: Option<tandem_model::Department>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Incident, CaseError> {
        let now = micros(now);
        self.update(id, None, actor, now, |inc, ch| {
            let not_found = || CaseError::NotFound {
                kind: "action item",
                id: format!("{id}/{item}"),
            };
            let review = inc.review.as_mut().ok_or_else(not_found)?;
            let a = review
                .action_items
                .iter_mut()
                .find(|a| a.id == item)
                .ok_or_else(not_found)?;
            if let Some(d) = department
                && a.department != d
            {
                return Err(CaseError::Forbidden(format!(
                    "action item {} is for {}; you work for {}",
                    a.id,
                    a.department.label(),
                    d.label()
                )));
            }
            if a.done.is_some() == done {
                return Ok(());
            }
            a.done = done.then_some(now);
            ch.note(
                if done {
                    "action_item_done"
                } else {
                    "action_item_reopened"
                },
                json!({"item": a.id, "title": a.title}),
            );
            Ok(())
        })
    }

    /// Action items of every review, open ones only if asked, soonest due first.
    pub fn action_items(&self, open_only: bool) -> Result<Vec<ActionItemView>, CaseError> {
        let mut out = Vec::new();
        // Only incidents with a review hold action items: the store finds them by tag.
        let mut q = CaseQuery::new(CaseKind::Incident);
        q.tag = Some(crate::incident::REVIEW_TAG.to_owned());
        for r in self.all(q)? {
            let inc = Incident::from_record(&r)?;
            if let Some(review) = &inc.review {
                for item in &review.action_items {
                    if open_only && item.done.is_some() {
                        continue;
                    }
                    out.push(ActionItemView {
                        incident: inc.id.clone(),
                        incident_title: inc.title.clone(),
                        item: item.clone(),
                    });
                }
            }
        }
        out.sort_by(|a, b| {
            (a.item.done.is_some(), a.item.due).cmp(&(b.item.done.is_some(), b.item.due))
        });
        Ok(out)
    }
}
