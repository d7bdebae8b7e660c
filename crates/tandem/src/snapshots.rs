//! The snapshot stage: fetches, once, the snapshot of every Frigate camera event a stored
//! finding names, and keeps it beside the event (`tandem_store::SnapshotStore`).
//!
//! Like the alerts driver (`alerting.rs`) it reads findings in commit order from a cursor of
//! its own kept in the store (`snapshots.cursor`), moving it only once a chunk's snapshots are
//! stored, so a restart neither misses a finding nor fetches a snapshot twice; a camera event
//! that already has a snapshot (or a recorded failure) is not fetched again, and another
//! stored event of the same Frigate event (its update, its end) reuses the file.
//!
//! Each fetch is bounded: `[frigate] timeout_secs` for the whole answer, `max_snapshot_kib`
//! for its size, `attempts` tries (a snapshot Frigate has not written yet answers 404 for a
//! moment). Only a `200` whose type is `image/jpeg` (or unsaid) and whose bytes begin as a
//! JPEG does is kept; anything else is logged with its reason and recorded as a failure,
//! which the console shows instead of a picture. The same task sweeps the files of snapshots
//! whose events went under retention.

use std::sync::Arc;
use std::time::Duration;

use crate::config::FrigateConfig;
use tandem_model::{Class, Event, Finding, Ulid};
use tandem_pipeline::pipeline::Pipeline;
use tandem_store::{
    CameraSnapshot, EventStore, SnapshotStore, SqliteStore, StateStore, StoreCursor,
};
use tokio::sync::watch;

/// Where the position of the last finding looked at is kept.
const CURSOR: &str = "snapshots.cursor";

/// Findings read in one step.
const CHUNK: usize = 200;

/// How often the stage looks for findings when no batch wakes it.
const POLL: Duration = Duration::from_secs(5);

/// How often files of snapshots gone under retention are swept.
const SWEEP: Duration = Duration::from_secs(600);

/// Pause between two tries of one snapshot.
const RETRY_PAUSE: Duration = Duration::from_secs(2);

/// The Frigate HTTP API, as the stage fetches from it.
pub struct Frigate {
    base: String,
    agent: ureq::Agent,
    max_bytes: u64,
    attempts: u32,
    bounding_box: bool,
    retry_pause: Duration,
}

impl Frigate {
    pub fn new(config: &FrigateConfig) -> Frigate {
        Frigate {
            base: config.url.trim().trim_end_matches('/').to_owned(),
            agent: ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(config.timeout_secs.max(1))))
                .http_status_as_error(false)
                .max_redirects(0)
                .build()
                .into(),
            max_bytes: config.max_snapshot_kib.max(1) * 1024,
            attempts: config.attempts.max(1),
            bounding_box: config.bounding_box,
            retry_pause: RETRY_PAUSE,
        }
    }

    /// The JPEG of Frigate event `id`, or why there is none, in words.
    pub fn snapshot(&self, id: &str) -> Result<Vec<u8>, String> {
        if !is_frigate_id(id) {
            return Err(format!("`{}` is not a Frigate event id", id.escape_debug()));
        }
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            match self.fetch(id) {
                Ok(bytes) => return Ok(bytes),
                Err(Fetch::Final(reason)) => return Err(reason),
                Err(Fetch::Again(reason)) => last = reason,
            }
            if attempt < self.attempts {
                std::thread::sleep(self.retry_pause);
            }
        }
        Err(format!("{last} (after {} tries)", self.attempts))
    }

    fn fetch(&self, id: &str) -> Result<Vec<u8>, Fetch> {
        let mut url = format!("{}/api/events/{id}/snapshot.jpg", self.base);
        if self.bounding_box {
            url.push_str("?bbox=1");
        }
        let mut response = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| Fetch::Again(format!("cannot reach Frigate: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            let reason = format!("Frigate answered {status}");
            // Not yet written, or the recorder is busy: worth another try. Anything else
            // (401, 400, a redirect) will not change.
            return Err(if status.as_u16() == 404 || status.is_server_error() {
                Fetch::Again(reason)
            } else {
                Fetch::Final(reason)
            });
        }
        let declared = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        if let Some(t) = declared.as_deref()
            && t != "image/jpeg"
            && t != "image/jpg"
        {
            return Err(Fetch::Final(format!(
                "Frigate sent {}, not a JPEG",
                t.escape_debug()
            )));
        }
        if let Some(n) = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            && n > self.max_bytes
        {
            return Err(Fetch::Final(self.too_big(n)));
        }
        let bytes = response
            .body_mut()
            .with_config()
            .limit(self.max_bytes + 1)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => Fetch::Final(self.too_big(self.max_bytes + 1)),
                e => Fetch::Again(format!("the answer from Frigate broke off: {e}")),
            })?;
        if bytes.len() as u64 > self.max_bytes {
            return Err(Fetch::Final(self.too_big(bytes.len() as u64)));
        }
        if !bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Err(Fetch::Final(
                "Frigate's answer is not a JPEG (its first bytes are not a JPEG's)".to_owned(),
            ));
        }
        Ok(bytes)
    }

    fn too_big(&self, bytes: u64) -> String {
        format!(
            "the snapshot is larger than the {} KiB allowed ([frigate] max_snapshot_kib){}",
            self.max_bytes / 1024,
            if bytes > self.max_bytes + 1 {
                format!(": {} KiB", bytes.div_ceil(1024))
            } else {
                String::new()
            }
        )
    }
}

/// Why a fetch failed: worth another try or not.
enum Fetch {
    Again(String),
    Final(String),
}

/// Frigate event ids are `<epoch>.<micros>-<6 chars>`; anything that could leave the path
/// segment is refused before a URL is made of it.
fn is_frigate_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// The Frigate event a stored camera event is about, and its camera: a tracked object's own
/// id, or a review item's first detection; the camera as the directory knows it when the
/// event was resolved to one, else as Frigate names it.
pub fn frigate_reference(e: &Event) -> Option<(String, String)> {
    let kind = e.attrs.get("frigate.kind")?.as_str()?;
    let id = match kind {
        "object" => e.attrs.get("id")?.as_str()?.to_owned(),
        "review" => e
            .attrs
            .get("data")?
            .get("detections")?
            .as_array()?
            .first()?
            .as_str()?
            .to_owned(),
        _ => return None,
    };
    // The directory's camera when resolution found it (the console shows its name), else
    // Frigate's name for it.
    let camera = e
        .place
        .as_ref()
        .and_then(|p| p.camera.clone())
        .or_else(|| {
            e.attrs
                .get("camera")
                .and_then(|c| c.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "camera".to_owned());
    Some((id, camera))
}

/// Runs until shutdown; started only when `[frigate] url` is set.
pub async fn run(
    frigate: Arc<Frigate>,
    store: Arc<SqliteStore>,
    pipeline: Arc<Pipeline>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut committed = pipeline.wake_on(&[Class::DetectionFinding]);
    let mut last_sweep: Option<std::time::Instant> = None;
    loop {
        let (f, s) = (frigate.clone(), store.clone());
        let sweep = last_sweep.is_none_or(|t| t.elapsed() >= SWEEP);
        match tokio::task::spawn_blocking(move || {
            drain(&f, &s)?;
            if sweep {
                let removed = s.sweep_snapshot_files()?;
                if removed > 0 {
                    tracing::info!(
                        files = removed,
                        "snapshots of events past retention removed"
                    );
                }
            }
            Ok::<_, anyhow::Error>(())
        })
        .await
        {
            Ok(Ok(())) => {
                if sweep {
                    last_sweep = Some(std::time::Instant::now());
                }
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "snapshots: not stored yet; retrying shortly")
            }
            Err(e) => tracing::error!(error = %e, "snapshots: the snapshot stage panicked"),
        }
        if !committed
            .next_round(POLL, std::time::Duration::ZERO, &mut shutdown)
            .await
        {
            break;
        }
    }
}

/// Looks at every finding committed after the cursor, a chunk at a time, fetching the
/// snapshots its camera evidence lacks; moves the cursor after each chunk.
fn drain(frigate: &Frigate, store: &SqliteStore) -> anyhow::Result<()> {
    let mut cursor: StoreCursor = match store.get_state(CURSOR)? {
        Some(s) => s.parse().map_err(|e: String| anyhow::anyhow!(e))?,
        None => StoreCursor::default(),
    };
    loop {
        let (findings, next) = store.events_after(cursor, Class::DetectionFinding, CHUNK)?;
        for finding in &findings {
            let Some(f) = Finding::from_event(finding) else {
                continue;
            };
            for id in &f.evidence {
                attach(frigate, store, *id)?;
            }
        }
        if next != cursor {
            store.put_state(CURSOR, &next.to_string())?;
            cursor = next;
        }
        if findings.len() < CHUNK {
            return Ok(());
        }
    }
}

/// Gives camera event `id` its snapshot, unless it has one or is not a Frigate event.
fn attach(frigate: &Frigate, store: &SqliteStore, id: Ulid) -> anyhow::Result<()> {
    if !store.snapshots_for(&[id])?.is_empty() {
        return Ok(());
    }
    let Some(event) = store.event(id)? else {
        return Ok(());
    };
    let Some((reference, camera)) = frigate_reference(&event) else {
        return Ok(());
    };
    let mut record = CameraSnapshot {
        event: id,
        reference: reference.clone(),
        camera,
        time: event.time,
        sha256: None,
        bytes: 0,
        fetched: chrono::Utc::now(),
        error: None,
    };
    // Another stored event of the same Frigate event was fetched already: share its answer.
    if let Some(known) = store.snapshot_by_reference(&reference)? {
        let jpeg = match &known.sha256 {
            Some(sha) => store.snapshot_jpeg(sha)?,
            None => None,
        };
        if jpeg.is_some() || known.error.is_some() {
            record.error = known.error;
            store.put_snapshot(&record, jpeg.as_deref())?;
            return Ok(());
        }
    }
    match frigate.snapshot(&reference) {
        Ok(jpeg) => {
            store.put_snapshot(&record, Some(&jpeg))?;
            tracing::info!(event = %id, frigate_event = reference, bytes = jpeg.len(), "camera snapshot stored");
        }
        Err(reason) => {
            tracing::warn!(event = %id, frigate_event = reference, reason, "camera snapshot refused; nothing stored");
            record.error = Some(reason);
            store.put_snapshot(&record, None)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recorder on loopback answering every request with `answer` (raw HTTP), counting them.
    fn recorder(answer: Vec<u8>) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = count.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(&answer);
            }
        });
        (url, count)
    }

    fn frigate(url: &str, max_snapshot_kib: u64, attempts: u32) -> Frigate {
        let mut f = Frigate::new(&FrigateConfig {
            url: url.to_owned(),
            max_snapshot_kib,
            attempts,
            timeout_secs: 5,
            ..FrigateConfig::default()
        });
        f.retry_pause = Duration::from_millis(10);
        f
    }

    #[test]
    fn a_jpeg_is_taken_and_anything_else_refused_with_its_reason() {
        let jpeg = b"\xff\xd8\xff\xe0 picture \xff\xd9";
        let mut ok =
            b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nConnection: close\r\n\r\n".to_vec();
        ok.extend_from_slice(jpeg);
        let (url, _) = recorder(ok);
        assert_eq!(frigate(&url, 1, 1).snapshot("1.2-abc").unwrap(), jpeg);

        // Declared a JPEG, but is not one.
        let (url, _) = recorder(
            b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nConnection: close\r\n\r\nGIF89a..."
                .to_vec(),
        );
        let e = frigate(&url, 1, 3).snapshot("1.2-abc").unwrap_err();
        assert!(e.contains("not a JPEG"), "{e}");

        // Too big, with no length said up front: the read stops at the limit.
        let mut big =
            b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nConnection: close\r\n\r\n\xff\xd8\xff"
                .to_vec();
        big.resize(big.len() + 64 * 1024, 0);
        let (url, count) = recorder(big);
        let e = frigate(&url, 16, 3).snapshot("1.2-abc").unwrap_err();
        assert!(e.contains("larger than the 16 KiB allowed"), "{e}");
        assert_eq!(
            count.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "not retried"
        );
    }

    #[test]
    fn a_snapshot_not_there_yet_is_asked_for_a_bounded_number_of_times() {
        let (url, count) = recorder(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
        );
        let e = frigate(&url, 16, 3).snapshot("1.2-abc").unwrap_err();
        assert!(e.contains("404") && e.contains("after 3 tries"), "{e}");
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 3);
        // An id that would leave its path segment is never sent.
        assert!(frigate(&url, 16, 3).snapshot("../config").is_err());
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[test]
    fn only_frigate_ids_become_urls() {
        assert!(is_frigate_id("1607123955.475377-mxklsc"));
        for bad in ["", "..", "../config", "a/b", "a?b=1", "a b", ".hidden"] {
            assert!(!is_frigate_id(bad), "{bad}");
        }
    }

    #[test]
    fn a_camera_event_names_its_frigate_event() {
        let mut e = Event::new(
            "cameras",
            Class::VideoDetection,
            tandem_model::Activity::Detect,
            chrono::Utc::now(),
        );
        assert_eq!(frigate_reference(&e), None);
        e.attrs.insert("frigate.kind".into(), "object".into());
        e.attrs
            .insert("id".into(), "1607123955.475377-mxklsc".into());
        e.attrs.insert("camera".into(), "front_door".into());
        assert_eq!(
            frigate_reference(&e),
            Some(("1607123955.475377-mxklsc".into(), "front_door".into()))
        );
        e.attrs.insert("frigate.kind".into(), "review".into());
        e.attrs.insert(
            "data".into(),
            serde_json::json!({"detections": ["1607123958.1-abcdef"]}),
        );
        assert_eq!(
            frigate_reference(&e).map(|r| r.0),
            Some("1607123958.1-abcdef".into())
        );
    }
}
