//! The report-phishing mailbox's poller: every `poll_seconds`, the configured mailbox is read
//! over IMAP (`tandem_mail::imap`) and each forwarded message's original handed to a filing
//! function, which turns it into a phishing report from the employee who forwarded it and
//! answers with the report's id.
//!
//! A poll runs on a blocking thread of its own, so filing may write to the store. What a poll
//! did is logged: each report filed, each message refused (with why) or not filed (with the
//! attempt); a poll that could not run (the server unreachable, the login refused) is logged
//! as an error and tried again at the next interval.

use std::sync::Arc;
use std::time::Duration;

use tandem_mail::forwarded::Forwarded;
use tandem_mail::imap::{Mailbox, Outcome, PollReport};
use tokio::sync::watch;

/// Files one forwarded message as a report and answers with the report's id.
pub type FileReport = Arc<dyn Fn(Forwarded) -> anyhow::Result<String> + Send + Sync>;

/// Files each forward as a phishing report from the employee who forwarded it, analysed and
/// grouped into its campaign exactly as an upload on the report page is.
pub fn file_with(reports: Arc<tandem_cases::reports::Reports>) -> FileReport {
    Arc::new(move |f: Forwarded| {
        // The poll drives the IMAP client with `block_on`, so this runs inside the runtime's
        // context, where the store's blocking waits are refused: file on a plain thread.
        let id = std::thread::scope(|s| {
            s.spawn(|| {
                reports.file_forwarded_phishing(&f.original, &f.forwarder, chrono::Utc::now())
            })
            .join()
        })
        .map_err(|_| anyhow::anyhow!("filing the report panicked"))??;
        tracing::info!(
            forwarder = %f.forwarder,
            how = f.how.as_str(),
            report = %id,
            "report-phishing mailbox: forward filed"
        );
        Ok(id)
    })
}

/// Polls until shutdown.
pub async fn run(
    mailbox: Mailbox,
    every: Duration,
    file: FileReport,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut mailbox = Some(mailbox);
    loop {
        let Some(mut m) = mailbox.take() else {
            return;
        };
        let file = file.clone();
        let runtime = tokio::runtime::Handle::current();
        let polled = tokio::task::spawn_blocking(move || {
            let result = runtime.block_on(m.poll(|f| file(f)));
            (m, result)
        })
        .await;
        match polled {
            Ok((m, result)) => {
                match result {
                    Ok(report) => log(&report),
                    Err(e) => tracing::error!(error = %e, "report-phishing mailbox: poll failed"),
                }
                mailbox = Some(m);
            }
            Err(e) => {
                tracing::error!(error = %e, "report-phishing mailbox: the poller stopped");
                return;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

fn log(report: &PollReport) {
    for h in &report.handled {
        match &h.outcome {
            Outcome::Filed {
                report,
                forwarder,
                how,
            } => tracing::info!(uid = h.uid, report = %report, forwarder = %forwarder,
                how = how.as_str(), "report-phishing mailbox: report filed"),
            Outcome::Refused { reason } => tracing::warn!(uid = h.uid, reason = %reason,
                "report-phishing mailbox: message refused and flagged"),
            Outcome::Failed {
                reason,
                attempt,
                gave_up,
            } => tracing::warn!(uid = h.uid, reason = %reason, attempt, gave_up,
                "report-phishing mailbox: message not filed"),
        }
    }
    if report.waiting > 0 {
        tracing::info!(
            waiting = report.waiting,
            "report-phishing mailbox: more messages wait for the next poll"
        );
    }
}
