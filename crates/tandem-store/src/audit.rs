//! The audit log's shape and the proofs that it was not rewritten.
//!
//! Three layers, each catching what the one before cannot:
//!
//! 1. **The hash chain.** Every entry carries the SHA-256 of its predecessor's hash and its own
//!    fields ([`audit_hash`]). An entry edited, removed or reordered breaks the chain from
//!    there on ([`verify_audit_chain`]). Anyone can recompute it, but so can someone who edits
//!    the database file and recomputes every later hash.
//! 2. **MACs with a key outside the database.** Every entry also carries an HMAC-SHA256 of
//!    its hash under a key the database never holds ([`AuditKeys`], from a 0600 key file or
//!    the environment). The first entry written under a key is an `audit.keyed` entry
//!    ([`KEYED_ACTION`]); its MAC covers, through the chain, every entry before it, and every
//!    entry after it has a MAC of its own ([`verify_audit_macs`]). Someone with write access
//!    to the file but not the key cannot rewrite an entry or strip the MACs without it
//!    showing. They can still delete the newest entries, which leaves every remaining MAC valid.
//! 3. **Signed checkpoints kept elsewhere.** Every few minutes the server signs the head of
//!    the log (its sequence number and hash) with an Ed25519 key ([`AuditCheckpoint`]) and
//!    exports the checkpoint: to a file, to its own log and optionally to a syslog or webhook
//!    sink. [`verify_checkpoints`] holds the log against them, so a truncation or a rewrite of
//!    anything a checkpoint covers is found, even by an auditor who holds only the public key.
//!
//! What none of this protects against: someone who holds the keys (they can write a new
//! history and sign it), and the deletion of entries written after the last exported
//! checkpoint, before the next one.

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::path::Path;

use crate::StoreError;

/// What happened, as the audit log records it: an actor (user or token name), an action
/// (`login`, `login.failed`, `rule.disable`, `source.create`, `search.export`, …), its target
/// and details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: serde_json::Value,
}

/// An entry as stored, with its place in the hash chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: u64,
    pub time: DateTime<Utc>,
    #[serde(flatten)]
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
    /// HMAC-SHA256 of `hash` under the log's key (hex); empty for entries written before the
    /// log was keyed.
    #[serde(default)]
    pub mac: String,
}

/// The action of the entry that starts a run of entries written under one key.
pub const KEYED_ACTION: &str = "audit.keyed";

/// The append-only, hash-chained audit log.
pub trait AuditStore: Send + Sync + 'static {
    /// Appends an entry, chaining it to the last one (and MACing it, once the log is keyed).
    fn append_audit(&self, entry: &AuditEntry) -> Result<AuditRecord, StoreError>;
    /// Entries with `seq > after`, oldest first (for verification and export).
    fn audit_log(&self, after: u64, limit: usize) -> Result<Vec<AuditRecord>, StoreError>;
    /// The newest entries, newest first (for the console).
    fn recent_audit(&self, limit: usize) -> Result<Vec<AuditRecord>, StoreError>;
    /// The newest entries of one kind, newest first: those whose action is one of `actions`
    /// or starts with one of them and a dot (`login` matches `login.failed`), or, with
    /// `except`, every other entry. The console's audit page filters by kind with it, so a
    /// rare kind is found however many searches were recorded since.
    fn recent_audit_of(
        &self,
        actions: &[&str],
        except: bool,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError>;
    /// Reads the whole log and checks its chain, and its MACs when the store holds the key.
    fn verify_audit(&self) -> Result<AuditCheck, StoreError>;
}

/// The hash of an entry: SHA-256 over the previous hash and every stored field, each on its
/// own line, so no field can be changed or moved into another without the hash changing.
pub fn audit_hash(prev_hash: &str, seq: u64, time: DateTime<Utc>, e: &AuditEntry) -> String {
    chain_hash(&[
        prev_hash,
        &seq.to_string(),
        &time.timestamp_micros().to_string(),
        &e.actor,
        &e.action,
        &e.target,
        &e.detail.to_string(),
    ])
}

/// The hash of one link of a hash chain (the audit log, compliance evidence snapshots):
/// SHA-256 over the parts, the previous hash first, each written as its length, a colon, the
/// part and a newline. The length prefix means no part can borrow bytes from its neighbour
/// without the hash changing.
pub fn chain_hash(parts: &[&str]) -> String {
    use sha2::Digest;
    let mut h = Sha256::new();
    for part in parts {
        h.update(part.len().to_string().as_bytes());
        h.update(b":");
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    hex(&h.finalize())
}

/// Checks one link of a hash chain read from the first link on: its number follows the one
/// before, it names its predecessor's hash, and its stored hash is the one its fields give.
/// The reason in words when it does not (shared by every chain the store keeps).
pub fn check_link(
    expected_seq: u64,
    seq: u64,
    prev_hash: &str,
    expected_prev: &str,
    hash: &str,
    recomputed: &str,
) -> Result<(), String> {
    if seq != expected_seq {
        return Err(format!(
            "entry {expected_seq} is missing (found {seq} in its place)"
        ));
    }
    if prev_hash != expected_prev {
        return Err("does not link to the entry before it".into());
    }
    if recomputed != hash {
        return Err("its contents were changed after it was written".into());
    }
    Ok(())
}

/// Where a log stops verifying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The first entry that does not follow from the ones before it.
    pub seq: u64,
    pub reason: String,
}

/// Checks a run of entries from the first (`seq` 1): each links to its predecessor, numbers
/// follow without gaps, and each hash matches its fields. Returns how many verified.
pub fn verify_audit_chain(log: &[AuditRecord]) -> Result<u64, ChainBreak> {
    let mut prev = crate::sqlite::AUDIT_GENESIS.to_owned();
    for (i, r) in log.iter().enumerate() {
        let recomputed = audit_hash(&r.prev_hash, r.seq, r.time, &r.entry);
        check_link(
            i as u64 + 1,
            r.seq,
            &r.prev_hash,
            &prev,
            &r.hash,
            &recomputed,
        )
        .map_err(|reason| ChainBreak { seq: r.seq, reason })?;
        prev = r.hash.clone();
    }
    Ok(log.len() as u64)
}

/// The two secrets that seal the audit log: the MAC key (HMAC-SHA256) and the checkpoint
/// signing key (an Ed25519 seed). Neither is ever written to the database.
pub struct AuditKeys {
    mac_key: [u8; 32],
    signing: SigningKey,
}

/// Why audit keys could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum AuditKeyError {
    #[error("cannot read the audit key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot create the audit key file {path}: {source}")]
    Create {
        path: String,
        source: std::io::Error,
    },
    #[error("the audit key file {path} can be read by other users (mode {mode:o}); `chmod 600` it")]
    Exposed { path: String, mode: u32 },
    #[error("the audit key {what} is not 64 hexadecimal characters")]
    Malformed { what: &'static str },
}

/// The key file's contents.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    mac_key: String,
    signing_key: String,
}

impl AuditKeys {
    /// Fresh random keys.
    pub fn generate() -> AuditKeys {
        let mut mac_key = [0u8; 32];
        let mut seed = [0u8; 32];
        getrandom::fill(&mut mac_key).expect("the operating system provides randomness");
        getrandom::fill(&mut seed).expect("the operating system provides randomness");
        AuditKeys {
            mac_key,
            signing: SigningKey::from_bytes(&seed),
        }
    }

    /// Keys given as hex (for a secret from the environment).
    pub fn from_hex(mac_key: &str, signing_key: &str) -> Result<AuditKeys, AuditKeyError> {
        Ok(AuditKeys {
            mac_key: unhex32(mac_key).ok_or(AuditKeyError::Malformed { what: "mac_key" })?,
            signing: SigningKey::from_bytes(&unhex32(signing_key).ok_or(
                AuditKeyError::Malformed {
                    what: "signing_key",
                },
            )?),
        })
    }

    /// Reads the key file at `path`, or creates it with fresh keys, readable by its owner
    /// only. Returns the keys and whether they were just made. A file others can read is
    /// refused: a MAC key that leaks protects nothing.
    pub fn load_or_create(path: &Path) -> Result<(AuditKeys, bool), AuditKeyError> {
        let shown = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = std::fs::metadata(path)
                        .map_err(|source| AuditKeyError::Read {
                            path: shown.clone(),
                            source,
                        })?
                        .permissions()
                        .mode();
                    if mode & 0o077 != 0 {
                        return Err(AuditKeyError::Exposed {
                            path: shown,
                            mode: mode & 0o777,
                        });
                    }
                }
                let file: KeyFile = serde_json::from_str(&text)
                    .map_err(|_| AuditKeyError::Malformed { what: "file" })?;
                Ok((
                    AuditKeys::from_hex(&file.mac_key, &file.signing_key)?,
                    false,
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let keys = AuditKeys::generate();
                keys.write_new(path)
                    .map_err(|source| AuditKeyError::Create {
                        path: shown,
                        source,
                    })?;
                Ok((keys, true))
            }
            Err(source) => Err(AuditKeyError::Read {
                path: shown,
                source,
            }),
        }
    }

    fn write_new(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path)?;
        let contents = KeyFile {
            mac_key: hex(&self.mac_key),
            signing_key: hex(self.signing.as_bytes()),
        };
        file.write_all(serde_json::to_string_pretty(&contents)?.as_bytes())?;
        file.sync_all()
    }

    /// The checkpoint verification key, hex: what an auditor pins.
    pub fn public_key(&self) -> String {
        hex(self.signing.verifying_key().as_bytes())
    }

    /// The MAC of an entry's hash.
    pub fn mac(&self, hash: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.mac_key)
            .expect("HMAC takes a key of any length");
        mac.update(hash.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// A signed checkpoint of the log whose newest entry is `head` (`None`: an empty log).
    pub fn checkpoint(&self, head: Option<&AuditRecord>, time: DateTime<Utc>) -> AuditCheckpoint {
        let time = DateTime::<Utc>::from_timestamp_micros(time.timestamp_micros()).unwrap_or(time);
        let mut cp = AuditCheckpoint {
            seq: head.map_or(0, |r| r.seq),
            hash: head.map_or_else(
                || crate::sqlite::AUDIT_GENESIS.to_owned(),
                |r| r.hash.clone(),
            ),
            time,
            public_key: self.public_key(),
            signature: String::new(),
        };
        cp.signature = hex(&self.signing.sign(&cp.signed_bytes()).to_bytes());
        cp
    }
}

/// The signed head of the audit log at a moment: every entry up to `seq` is as it was then.
/// One JSON object per line in a checkpoint file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditCheckpoint {
    /// The newest entry covered (0: the log was empty).
    pub seq: u64,
    /// That entry's hash.
    pub hash: String,
    pub time: DateTime<Utc>,
    /// The Ed25519 key that signed it, hex.
    pub public_key: String,
    /// Ed25519 over [`AuditCheckpoint::signed_bytes`], hex.
    pub signature: String,
}

impl AuditCheckpoint {
    /// What is signed: a fixed label and every field but the signature, one per line.
    fn signed_bytes(&self) -> Vec<u8> {
        format!(
            "tandem audit checkpoint v1\n{}\n{}\n{}\n{}\n",
            self.seq,
            self.hash,
            self.time.timestamp_micros(),
            self.public_key
        )
        .into_bytes()
    }

    /// Whether the signature is the named key's, over these fields.
    fn signed_by(&self, public_key: &str) -> bool {
        let Some(key) = unhex32(public_key).and_then(|k| VerifyingKey::from_bytes(&k).ok()) else {
            return false;
        };
        let Some(sig) = unhex::<64>(&self.signature) else {
            return false;
        };
        key.verify(&self.signed_bytes(), &Signature::from_bytes(&sig))
            .is_ok()
    }
}

/// How far MACs vouch for a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacReport {
    /// The `audit.keyed` entry that starts this key's run.
    pub keyed_at: u64,
    /// Entries from `keyed_at` on whose MAC verified.
    pub macs: u64,
}

/// Checks the MACs of a log whose chain already verified: from the first `audit.keyed`
/// entry naming these keys, every entry's MAC must match. That entry's MAC also vouches for
/// every entry before it, which its hash chains.
pub fn verify_audit_macs(log: &[AuditRecord], keys: &AuditKeys) -> Result<MacReport, ChainBreak> {
    let public_key = keys.public_key();
    let start = log.iter().position(|r| {
        r.entry.action == KEYED_ACTION && r.entry.detail["public_key"] == public_key.as_str()
    });
    let Some(start) = start else {
        return Err(ChainBreak {
            seq: log.last().map_or(0, |r| r.seq),
            reason: "no entry was written under this server's audit key: the log was \
                     replaced or truncated, or its MACs were stripped"
                .into(),
        });
    };
    for r in &log[start..] {
        if r.mac != keys.mac(&r.hash) {
            return Err(ChainBreak {
                seq: r.seq,
                reason: if r.mac.is_empty() {
                    "its MAC was removed".into()
                } else {
                    "its MAC does not match: this entry or one before it was rewritten by \
                     someone without the audit key"
                        .into()
                },
            });
        }
    }
    Ok(MacReport {
        keyed_at: log[start].seq,
        macs: (log.len() - start) as u64,
    })
}

/// What checkpoints vouch for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointReport {
    pub checkpoints: usize,
    /// The newest entry a checkpoint covers; entries after it rest on the chain and MACs.
    pub covered_to: u64,
    pub newest: Option<DateTime<Utc>>,
}

/// Holds a log (from its first entry) against signed checkpoints. The verification key is
/// `public_key` when given (pinned by the auditor), or else the one the log's `audit.keyed`
/// entry names: a log rewritten with keys of the rewriter's own then fails on the
/// checkpoints the real key signed.
pub fn verify_checkpoints(
    log: &[AuditRecord],
    checkpoints: &[AuditCheckpoint],
    public_key: Option<&str>,
) -> Result<CheckpointReport, ChainBreak> {
    let fail = |seq: u64, reason: String| ChainBreak { seq, reason };
    let named = log
        .iter()
        .find(|r| r.entry.action == KEYED_ACTION)
        .and_then(|r| r.entry.detail["public_key"].as_str());
    let Some(key) = public_key.or(named) else {
        return Err(fail(
            0,
            "no public key to check checkpoints with: pass --public-key".into(),
        ));
    };
    let mut report = CheckpointReport {
        checkpoints: 0,
        covered_to: 0,
        newest: None,
    };
    for cp in checkpoints {
        if !cp.signed_by(key) {
            return Err(fail(
                cp.seq,
                format!(
                    "the checkpoint of {} is not signed by the audit key {key}",
                    cp.time.to_rfc3339()
                ),
            ));
        }
        if cp.seq > 0 {
            let Some(entry) = log.get(cp.seq as usize - 1) else {
                return Err(fail(
                    cp.seq,
                    format!(
                        "the log ends at entry {} but the checkpoint of {} covers entry {}: \
                         entries were deleted",
                        log.len(),
                        cp.time.to_rfc3339(),
                        cp.seq
                    ),
                ));
            };
            if entry.hash != cp.hash {
                return Err(fail(
                    cp.seq,
                    format!(
                        "entry {} is not the one the checkpoint of {} signed: the log was \
                         rewritten up to there",
                        cp.seq,
                        cp.time.to_rfc3339()
                    ),
                ));
            }
        }
        report.checkpoints += 1;
        report.covered_to = report.covered_to.max(cp.seq);
        report.newest = report.newest.max(Some(cp.time));
    }
    Ok(report)
}

/// The whole log's state, as the console and `GET /api/v1/audit/verify` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditCheck {
    pub intact: bool,
    pub entries: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken_at: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether MACs were checked (the store holds the key).
    pub keyed: bool,
    /// The public key checkpoints are signed with, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.trim().as_bytes();
    if text.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in text.chunks(2).enumerate() {
        out[i] = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}

fn unhex32(text: &str) -> Option<[u8; 32]> {
    unhex::<32>(text)
}
