//! Risk per person and device: every alert adds to its entities' score, with diminishing
//! returns, scaled by the entity's criticality from the directory; crossing the threshold
//! opens an incident.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tandem_identity::Criticality;
use tandem_model::{Severity, Timestamp};

/// One alert's part of an entity's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    pub alert: String,
    pub rule_id: String,
    /// The alert's points before ranking.
    pub points: f64,
    /// The weight its rank gave it (1/rank^1.5).
    pub weight: f64,
    /// What it added to the score before criticality: `points × weight`, less whatever
    /// went over its rule's cap.
    #[serde(default)]
    pub added: f64,
    pub time: Timestamp,
}

/// An entity's score and how it was reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskScore {
    /// `person:<id>` or `device:<id>`.
    pub entity: String,
    pub score: f64,
    pub threshold: f64,
    /// The directory's criticality multiplier applied.
    pub criticality: f64,
    pub contributions: Vec<Contribution>,
}

/// How risk is scored: `[alerts.risk]` in the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    /// The score at which an entity's risk opens an incident.
    pub threshold: f64,
    /// Alerts whose last finding is older than this many days no longer count.
    pub lookback_days: u32,
    /// Points an alert adds by its severity (a rule's `risk_points` overrides them).
    pub points: SeverityPoints,
    /// Most one rule's alerts add to one entity's score, after ranking: a single noisy rule
    /// cannot carry an ordinary person over the threshold on its own.
    pub rule_cap: f64,
    /// Multipliers by the directory's `criticality` of the person or device.
    pub criticality: CriticalityMultipliers,
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig {
            threshold: 100.0,
            lookback_days: 7,
            points: SeverityPoints::default(),
            rule_cap: 75.0,
            criticality: CriticalityMultipliers::default(),
        }
    }
}

/// Points by severity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeverityPoints {
    pub informational: f64,
    pub low: f64,
    pub medium: f64,
    pub high: f64,
    pub critical: f64,
}

impl Default for SeverityPoints {
    fn default() -> Self {
        SeverityPoints {
            informational: 0.0,
            low: 10.0,
            medium: 25.0,
            high: 50.0,
            critical: 80.0,
        }
    }
}

impl SeverityPoints {
    pub fn of(&self, severity: Severity) -> f64 {
        match severity {
            Severity::Unknown | Severity::Informational => self.informational,
            Severity::Low => self.low,
            Severity::Medium => self.medium,
            Severity::High => self.high,
            Severity::Critical | Severity::Fatal => self.critical,
        }
    }
}

/// Multipliers by criticality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CriticalityMultipliers {
    pub low: f64,
    pub normal: f64,
    pub high: f64,
    pub critical: f64,
}

impl Default for CriticalityMultipliers {
    fn default() -> Self {
        CriticalityMultipliers {
            low: 0.5,
            normal: 1.0,
            high: 1.5,
            critical: 2.0,
        }
    }
}

impl CriticalityMultipliers {
    pub fn of(&self, c: Criticality) -> f64 {
        match c {
            Criticality::Low => self.low,
            Criticality::Normal => self.normal,
            Criticality::High => self.high,
            Criticality::Critical => self.critical,
        }
    }
}

/// How the alerts stage learns an entity's criticality (`person:<id>` or `device:<id>`).
pub type CriticalityOf = Arc<dyn Fn(&str) -> Criticality + Send + Sync>;

/// Criticality read from the identity directory as it is now; unknown entities are normal.
pub fn directory_criticality(identity: Arc<tandem_identity::Identity>) -> CriticalityOf {
    Arc::new(move |entity: &str| {
        let dir = identity.snapshot();
        match entity.split_once(':') {
            Some(("person", id)) => dir.person(id).map(|p| p.criticality),
            Some(("device", id)) => dir.device(id).map(|d| d.criticality),
            _ => None,
        }
        .unwrap_or_default()
    })
}

/// Whether an entity key is one risk is kept for.
pub fn scored(entity: &str) -> bool {
    entity.starts_with("person:") || entity.starts_with("device:")
}

/// One alert as risk sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskInput {
    pub alert: String,
    pub rule_id: String,
    pub points: f64,
    pub time: Timestamp,
}

/// The score of one entity from its alerts in the lookback.
///
/// Alerts are sorted by points, highest first; the alert at rank `k` (from 1) adds
/// `points / k^1.5`; what one rule's alerts add together is capped at `rule_cap`; the sum is
/// multiplied by the entity's criticality multiplier. The weights sum to at most ~2.61, so a
/// stream of small alerts never outweighs a few large ones.
pub fn score(
    entity: &str,
    mut inputs: Vec<RiskInput>,
    config: &RiskConfig,
    criticality: f64,
) -> RiskScore {
    inputs.sort_by(|a, b| {
        b.points
            .total_cmp(&a.points)
            .then(b.time.cmp(&a.time))
            .then(a.alert.cmp(&b.alert))
    });
    let mut per_rule: std::collections::HashMap<String, f64> = Default::default();
    let mut contributions = Vec::with_capacity(inputs.len());
    let mut total = 0.0;
    for (i, input) in inputs.into_iter().enumerate() {
        let weight = 1.0 / ((i + 1) as f64).powf(1.5);
        let used = per_rule.entry(input.rule_id.clone()).or_default();
        let added = (input.points * weight).min((config.rule_cap - *used).max(0.0));
        *used += added;
        total += added;
        contributions.push(Contribution {
            alert: input.alert,
            rule_id: input.rule_id,
            points: input.points,
            weight,
            added,
            time: input.time,
        });
    }
    RiskScore {
        entity: entity.to_owned(),
        score: round2(total * criticality),
        threshold: config.threshold,
        criticality,
        contributions,
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(alert: &str, rule: &str, points: f64) -> RiskInput {
        RiskInput {
            alert: alert.into(),
            rule_id: rule.into(),
            points,
            time: chrono::Utc::now(),
        }
    }

    #[test]
    fn ranks_weigh_with_diminishing_returns() {
        let s = score(
            "person:p-1",
            vec![input("A1", "r1", 25.0), input("A2", "r2", 50.0)],
            &RiskConfig::default(),
            1.0,
        );
        assert_eq!(s.contributions[0].alert, "A2");
        assert_eq!(s.contributions[0].weight, 1.0);
        // 50 + 25 / 2^1.5
        assert_eq!(s.score, round2(50.0 + 25.0 / 2f64.powf(1.5)));
    }

    #[test]
    fn one_rule_is_capped_and_criticality_scales() {
        let many: Vec<_> = (0..20)
            .map(|i| input(&format!("A{i}"), "r1", 50.0))
            .collect();
        let normal = score("person:p-1", many.clone(), &RiskConfig::default(), 1.0);
        assert_eq!(normal.score, 75.0);
        assert!(normal.score < normal.threshold);
        let critical = score("person:p-1", many, &RiskConfig::default(), 2.0);
        assert_eq!(critical.score, 150.0);
    }
}
