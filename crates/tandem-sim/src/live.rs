//! Plays the simulation against a server in (scaled) real time, for demos.

use crate::emit::{EmitError, Emitter};
use crate::record::Record;
use crate::scenario::{GroundTruth, ScenarioKind, write_ground_truth};
use crate::sim::Simulator;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};
use tandem_model::Timestamp;

/// How often the runner sends what the simulated clock has passed.
pub const TICK: Duration = Duration::from_millis(500);

/// Where a live run has got to; passed to the progress callback after every tick.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveProgress {
    /// The simulated clock.
    pub sim_now: Timestamp,
    pub ticks: u64,
    /// Records sent in the last tick.
    pub last_batch: usize,
    /// Records sent since the start.
    pub sent: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Scenarios injected in the last tick.
    pub injected: Vec<GroundTruth>,
    /// Injected records waiting for the simulated clock to reach them.
    pub pending: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(transparent)]
    Emit(#[from] EmitError),
    #[error("cannot write ground truth to {path}: {source}")]
    GroundTruth { path: PathBuf, source: io::Error },
    #[error("speedup must be a positive, finite number; got {0}")]
    Speedup(f64),
}

/// Runs the simulation live until `stop` is set, or the first send fails.
///
/// The simulated clock is `start + wall time elapsed × speedup`. Every [`TICK`] the records
/// between the previous tick and now are sent. Scenarios received on `inject_rx` are staged at
/// the current simulated time (ground truth appended to `ground_truth_path` at once); their
/// records are held back until the simulated clock reaches them, so nothing arrives from the
/// future (records dated earlier, like the 02:10 server-room entry, go out immediately).
/// Held-back records are dropped on stop. Returns the final progress.
#[allow(clippy::too_many_arguments)]
pub fn run_live(
    sim: &mut Simulator,
    emitter: &Emitter,
    start: Timestamp,
    speedup: f64,
    stop: &AtomicBool,
    inject_rx: &Receiver<ScenarioKind>,
    ground_truth_path: Option<&Path>,
    on_progress: &mut dyn FnMut(&LiveProgress),
) -> Result<LiveProgress, LiveError> {
    if !(speedup.is_finite() && speedup > 0.0) {
        return Err(LiveError::Speedup(speedup));
    }
    let wall0 = Instant::now();
    let mut last = start;
    let mut pending: Vec<Record> = Vec::new();
    let mut progress = LiveProgress {
        sim_now: start,
        ticks: 0,
        last_batch: 0,
        sent: 0,
        accepted: 0,
        rejected: 0,
        injected: Vec::new(),
        pending: 0,
    };
    while !stop.load(Ordering::Relaxed) {
        let sim_ms = wall0.elapsed().as_secs_f64() * speedup * 1000.0;
        let sim_now = start + chrono::Duration::milliseconds(sim_ms as i64);
        let mut batch = sim.records_between(last, sim_now);

        progress.injected.clear();
        while let Ok(kind) = inject_rx.try_recv() {
            let (records, gt) = sim.inject(kind, sim_now);
            if let Some(path) = ground_truth_path {
                write_ground_truth(path, &gt).map_err(|source| LiveError::GroundTruth {
                    path: path.to_owned(),
                    source,
                })?;
            }
            pending.extend(records);
            progress.injected.push(gt);
        }
        pending.sort_by_key(|r| r.time);
        let due = pending.partition_point(|r| r.time < sim_now);
        batch.extend(pending.drain(..due));
        batch.sort_by_key(|r| r.time);

        if !batch.is_empty() {
            let report = emitter.send(&batch)?;
            progress.accepted += report.accepted;
            progress.rejected += report.rejected;
        }
        last = sim_now;
        progress.sim_now = sim_now;
        progress.ticks += 1;
        progress.last_batch = batch.len();
        progress.sent += batch.len() as u64;
        progress.pending = pending.len();
        on_progress(&progress);

        let next = wall0 + TICK * u32::try_from(progress.ticks).unwrap_or(u32::MAX);
        loop {
            let now = Instant::now();
            if now >= next || stop.load(Ordering::Relaxed) {
                break;
            }
            std::thread::sleep((next - now).min(Duration::from_millis(50)));
        }
    }
    Ok(progress)
}
