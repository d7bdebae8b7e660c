//! Hostile input: someone with write access to the database file, but not the audit keys,
//! edits the audit log while the server is stopped.

use crate::support::{self, TestServer};
use std::path::Path;
use tandem_store::{AuditEntry, audit_hash};

/// Drops the append-only triggers, runs `edit`, and recomputes every hash after it, as an
/// attacker who read the chain's (public) definition would.
fn tamper(db: &Path, edit: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
        .unwrap();
    conn.execute_batch(edit).unwrap();
    let rows: Vec<(i64, i64, AuditEntry)> = conn
        .prepare("SELECT seq, time, actor, action, target, detail FROM audit_log ORDER BY seq")
        .unwrap()
        .query_map([], |r| {
            let detail: String = r.get(5)?;
            Ok((
                r.get(0)?,
                r.get(1)?,
                AuditEntry {
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    target: r.get(4)?,
                    detail: serde_json::from_str(&detail).unwrap(),
                },
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut prev = "0".repeat(64);
    for (seq, micros, entry) in rows {
        let time = chrono::DateTime::from_timestamp_micros(micros).unwrap();
        let hash = audit_hash(&prev, seq as u64, time, &entry);
        conn.execute(
            "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?",
            rusqlite::params![prev, hash, seq],
        )
        .unwrap();
        prev = hash;
    }
}

/// A server that wrote a few audited changes and exported its checkpoints, then stopped;
/// returns the data directory and a copy of the checkpoints kept elsewhere.
fn audited_then_stopped(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let data = dir.join("data");
    let server = TestServer::start(&data, None, &[]);
    for name in ["doors", "vpn", "cameras"] {
        server.add_source(name, "tandem");
    }
    let (_, check) = server.get("/api/v1/audit/verify", &[]);
    assert_eq!(check["intact"], true, "{check}");
    assert_eq!(check["keyed"], true, "{check}");
    let public_key = check["public_key"].as_str().unwrap().to_owned();
    let token = server.token.clone();
    let password = server.admin_password.clone().unwrap();
    assert!(server.terminate().success());
    std::fs::write(dir.join("password"), password).unwrap();
    let outside = dir.join("checkpoints-kept-elsewhere.jsonl");
    std::fs::copy(data.join("audit-checkpoints.jsonl"), &outside).unwrap();
    std::fs::write(dir.join("token"), token).unwrap();
    (data, outside, public_key)
}

/// `tandem audit verify` against the checkpoints in `file`, with the key pinned.
fn verify_against(server: &TestServer, file: &Path, public_key: &str) -> std::process::Output {
    verify(
        server,
        &[
            "--checkpoints",
            file.to_str().unwrap(),
            "--public-key",
            public_key,
        ],
    )
}

fn verify(server: &TestServer, extra: &[&str]) -> std::process::Output {
    support::tandem()
        .args([
            "audit",
            "verify",
            "--url",
            &server.url,
            "--token",
            &server.token,
        ])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn an_entry_rewritten_with_recomputed_hashes_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let (data, outside, public_key) = audited_then_stopped(dir.path());
    tamper(
        &data.join("tandem.db"),
        "UPDATE audit_log SET actor = 'someone-else' WHERE action = 'source.create'",
    );
    let token = std::fs::read_to_string(dir.path().join("token")).unwrap();
    let server = TestServer::start(&data, Some(&token), &[]);
    let (_, check) = server.get("/api/v1/audit/verify", &[]);
    assert_eq!(check["intact"], false, "{check}");
    assert!(check["reason"].as_str().unwrap().contains("MAC"), "{check}");

    let out = verify_against(&server, &outside, &public_key);
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken at entry"), "{stderr}");
    // The console says so too.
    let password = std::fs::read_to_string(dir.path().join("password")).unwrap();
    let console = server.sign_in("admin", &password).unwrap();
    assert!(console.get("/audit").body.contains("tampered with"));
}

#[test]
fn entries_deleted_from_the_end_are_found_by_the_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let (data, outside, public_key) = audited_then_stopped(dir.path());
    tamper(
        &data.join("tandem.db"),
        "DELETE FROM audit_log WHERE seq > (SELECT max(seq) - 2 FROM audit_log)",
    );
    let token = std::fs::read_to_string(dir.path().join("token")).unwrap();
    let server = TestServer::start(&data, Some(&token), &[]);

    // Every remaining entry is genuine, so chain and MACs hold: only checkpoints see a cut.
    let plain = verify(&server, &[]);
    assert!(plain.status.success(), "{plain:?}");
    let out = verify_against(&server, &outside, &public_key);
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("entries were deleted") || stderr.contains("rewritten"),
        "{stderr}"
    );
}

#[test]
fn an_untouched_log_verifies_against_its_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let (data, outside, public_key) = audited_then_stopped(dir.path());
    let token = std::fs::read_to_string(dir.path().join("token")).unwrap();
    let server = TestServer::start(&data, Some(&token), &[]);
    let out = verify_against(&server, &outside, &public_key);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout.contains("MACs: every keyed entry matches"),
        "{stdout}"
    );
    assert!(stdout.contains("checkpoints: "), "{stdout}");
    // A checkpoint file from another server's key does not vouch for this log.
    let other = tempfile::tempdir().unwrap();
    let (_, foreign, _) = audited_then_stopped(other.path());
    let out = verify_against(&server, &foreign, &public_key);
    assert!(!out.status.success(), "{out:?}");
}
