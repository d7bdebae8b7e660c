//! The allocators' view of the server's memory, sampled into `tandem_memory_bytes`.
//!
//! Resident memory alone cannot tell whose memory grows. Rust code allocates through
//! mimalloc (`rust_heap`: memory mimalloc holds committed); the database engine allocates
//! through the C library's malloc (`c_heap_in_use`, and `c_heap_free` for memory freed but
//! kept by its arenas, which is fragmentation). The store adds the engine's own count
//! (`store_engine`) when scraped. The soak benchmark prints them beside RSS every minute.

use std::sync::Arc;
use std::time::Duration;
use tandem_pipeline::metrics::IngestMetrics;
use tokio::sync::watch;

/// How often the allocator is asked; `mallinfo2` walks every arena, so not on each scrape.
const EVERY: Duration = Duration::from_secs(10);

/// Samples the allocator until `stop` turns true.
pub async fn run_sampler(metrics: Arc<IngestMetrics>, mut stop: watch::Receiver<bool>) {
    loop {
        if let Some((in_use, free)) = c_heap() {
            metrics.set_memory("c_heap_in_use", in_use);
            metrics.set_memory("c_heap_free", free);
        }
        metrics.set_memory("rust_heap", rust_heap());
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// Memory mimalloc holds committed (on Linux: read/write memory it has reserved and not
/// returned), which is what Rust allocations cost the process.
fn rust_heap() -> u64 {
    let mut commit = 0usize;
    // SAFETY: every out-parameter but one is null, which mi_process_info allows; `commit`
    // outlives the call.
    unsafe {
        libmimalloc_sys::mi_process_info(
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut commit,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    commit as u64
}

/// Bytes the C library's malloc has allocated (arena chunks in use plus large mapped
/// blocks) and bytes free inside its arenas, from glibc's `mallinfo2`. Other C libraries do
/// not have it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn c_heap() -> Option<(u64, u64)> {
    // SAFETY: mallinfo2 takes no arguments and returns a plain struct by value.
    let m = unsafe { libc::mallinfo2() };
    Some(((m.uordblks + m.hblkhd) as u64, m.fordblks as u64))
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn c_heap() -> Option<(u64, u64)> {
    None
}
