//! The response actions runner: sends the approved runs of incidents, retries with backoff,
//! and records every answer on the incident.
//!
//! It reads only incidents tagged as having work for it (`actions_due`: a run approved or
//! running, or a playbook's proposal to prepare), twice a second. A run is marked running
//! (a timeline entry) before its first request goes out, and each answer is recorded after
//! it comes back; a server killed in between finds the run still running at start and
//! sends it again. Delivery is therefore at least once, and every request of a run carries
//! the run's id as its `Idempotency-Key`, so a receiver can recognise a repeat.

use std::sync::Arc;
use std::time::Duration;

use tandem_cases::incidents::Incidents;
use tandem_cases::response::{AttemptResult, RunState};
use tandem_identity::Identity;
use tandem_respond::actions::Catalog;
use tandem_respond::http;
use tokio::sync::watch;

use crate::config::ActionsConfig;

/// What the runner needs.
pub struct Runner {
    pub incidents: Arc<Incidents>,
    pub catalog: Arc<Catalog>,
    pub identity: Arc<Identity>,
    pub config: ActionsConfig,
    /// The console's URL, for links in requests (`incident.url`).
    pub public_url: String,
    agent: ureq::Agent,
}

impl Runner {
    pub fn new(
        incidents: Arc<Incidents>,
        catalog: Arc<Catalog>,
        identity: Arc<Identity>,
        config: ActionsConfig,
        public_url: String,
    ) -> Runner {
        let agent = http::agent(Duration::from_secs(config.timeout_seconds.max(1)));
        Runner {
            incidents,
            catalog,
            identity,
            config,
            public_url,
            agent,
        }
    }

    /// One pass over the incidents with work: prepares playbook proposals, sends what is due.
    pub fn round(&self) {
        let incidents = match self.incidents.with_due_actions(100) {
            Ok(list) => list,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the incidents with actions due");
                return;
            }
        };
        for inc in incidents {
            for run in inc.actions.iter().filter(|r| r.needs_runner()) {
                let result = if run.state == RunState::Proposed {
                    self.prepare(&inc, run)
                } else {
                    self.send(&inc.id, &run.id)
                };
                if let Err(e) = result {
                    tracing::warn!(incident = %inc.id, run = %run.id, error = %e, "action run");
                }
            }
        }
    }

    /// Renders a playbook's proposal on the incident's first fitting entity.
    fn prepare(
        &self,
        inc: &tandem_cases::Incident,
        run: &tandem_cases::response::ActionRun,
    ) -> Result<(), tandem_cases::CaseError> {
        let now = chrono::Utc::now();
        let prepared = match self.catalog.get(&run.action) {
            None => Err(format!("there is no action `{}`", run.action)),
            Some(def) => {
                let dir = self.identity.snapshot();
                tandem_web::actions::default_entity(&dir, def.target, inc, now).and_then(|entity| {
                    let url = format!("{}/incidents/{}", self.public_url, inc.id);
                    tandem_web::actions::prepare(
                        &self.catalog,
                        &dir,
                        def,
                        inc,
                        &entity,
                        None,
                        &run.note,
                        &run.id,
                        &url,
                        now,
                    )
                    .map(|(p, _)| p)
                })
            }
        };
        self.incidents
            .prepare_action(&inc.id, &run.id, prepared, now)
            .map(|_| ())
    }

    /// Sends a due run once and records the answer.
    fn send(&self, incident: &str, run_id: &str) -> Result<(), tandem_cases::CaseError> {
        let Some(run) = self
            .incidents
            .begin_action(incident, run_id, chrono::Utc::now())?
        else {
            return Ok(());
        };
        let Some(request) = &run.request else {
            return Ok(());
        };
        let answer = match self.catalog.connection(&request.connection) {
            Some(conn) => http::send(
                &self.agent,
                &tandem_respond::actions::to_send(request, conn),
                &run.id,
            ),
            None => http::Answer {
                status: None,
                text: format!(
                    "the connection `{}` is not configured ([[actions.connections]])",
                    request.connection
                ),
            },
        };
        let succeeded = answer.succeeded(&request.expect);
        let attempts = run.attempts.len() as u32 + 1;
        let retry_at =
            (!succeeded && answer.worth_retrying() && attempts < self.config.max_attempts.max(1))
                .then(|| {
                    let wait = http::backoff(
                        attempts,
                        Duration::from_secs(self.config.retry_base_seconds),
                        Duration::from_secs(self.config.retry_max_seconds.max(1)),
                        jitter(),
                    );
                    chrono::Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default()
                });
        if !succeeded {
            tracing::warn!(incident, run = %run.id, status = ?answer.status, attempts, "action attempt failed");
        }
        self.incidents
            .record_attempt(
                incident,
                &run.id,
                AttemptResult {
                    status: answer.status,
                    text: answer.text,
                    succeeded,
                    retry_at,
                },
                chrono::Utc::now(),
            )
            .map(|_| ())
    }
}

/// A uniform draw in 0..1 for the backoff's jitter.
/// (The clock's nanoseconds: spreading retries needs no better randomness.)
fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(500_000_000);
    f64::from(nanos) / 1e9
}

/// Runs rounds until shutdown.
pub async fn run(runner: Arc<Runner>, mut shutdown: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(Duration::from_millis(500));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let r = runner.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || r.round()).await {
            tracing::error!(error = %e, "the actions runner stopped a round");
        }
    }
}

/// The catalog for `serve`: shipped definitions, the operator's, and the connections.
pub fn catalog(config: &ActionsConfig) -> Catalog {
    let (extra, errors) = tandem_respond::actions::load_dirs(&config.dirs);
    for e in &errors {
        tracing::warn!(file = %e.file, line = e.line, reason = %e.reason, "action definition refused");
    }
    Catalog::new(extra, config.connections.clone())
}
