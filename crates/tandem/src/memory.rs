//! The C allocator's view of the server's memory, sampled into `tandem_memory_bytes`.
//!
//! Resident memory alone cannot tell a leak from fragmentation: memory that is allocated
//! and still reachable grows `heap_in_use`; memory freed but kept by the allocator's arenas
//! grows `heap_free`. The soak benchmark prints both beside RSS every minute.

use std::sync::Arc;
use std::time::Duration;
use tandem_pipeline::metrics::IngestMetrics;
use tokio::sync::watch;

/// How often the allocator is asked; `mallinfo2` walks every arena, so not on each scrape.
const EVERY: Duration = Duration::from_secs(10);

/// Samples the allocator until `stop` turns true.
pub async fn run_sampler(metrics: Arc<IngestMetrics>, mut stop: watch::Receiver<bool>) {
    loop {
        if let Some((in_use, free)) = heap() {
            metrics.set_memory("heap_in_use", in_use);
            metrics.set_memory("heap_free", free);
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// Bytes allocated (arena chunks in use plus large mapped blocks) and bytes free inside the
/// arenas, from glibc's `mallinfo2`. Other C libraries do not have it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn heap() -> Option<(u64, u64)> {
    // SAFETY: mallinfo2 takes no arguments and returns a plain struct by value.
    let m = unsafe { libc::mallinfo2() };
    Some(((m.uordblks + m.hblkhd) as u64, m.fordblks as u64))
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn heap() -> Option<(u64, u64)> {
    None
}
