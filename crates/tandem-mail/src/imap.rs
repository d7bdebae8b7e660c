//! The report-phishing mailbox, polled over IMAP.
//!
//! One poll: connect (implicit TLS, STARTTLS, or plain TCP to a loopback address only),
//! log in, select the folder, list the messages that are neither seen nor flagged, and take at
//! most `max_per_poll` of them, oldest first. Each is fetched with `BODY.PEEK[]` (so fetching
//! marks nothing), read as a forward ([`crate::forwarded`]) and handed to the caller, which
//! files it and answers with the report's id. Then the message is marked:
//!
//! - filed: `\Seen`, then moved to `processed_folder` when one is configured. A restart lists
//!   only unseen messages, so nothing is filed twice.
//! - refused (larger than `max_message_bytes`, or not readable as a forward): `\Flagged` and
//!   left unseen where it is, for a person to look at; it is not fetched again. Its size is
//!   checked before its body is fetched, so an oversize message is never downloaded.
//! - not filed (the caller failed): left as it is and tried again at the next poll, up to
//!   `max_attempts` times, then flagged like a refused one. Attempts are counted by this
//!   process; a restart gives each message a fresh count.
//!
//! Removing the flag in any mail client hands a message back to the next poll.
//!
//! Every step is bounded by `timeout`; an error names the step (connecting, TLS, login,
//! selecting the folder) and what the server said.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_imap::{Client, Session};
use futures_util::TryStreamExt;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::forwarded::{self, Forwarded, HowForwarded};

/// How the connection to the IMAP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (IMAPS, port 993).
    Tls,
    /// Plain at first, upgraded with `STARTTLS` before logging in (port 143).
    StartTls,
    /// No TLS at all; accepted only towards a loopback address (a local relay, a test).
    Plain,
}

/// Where the mailbox is and how it is read.
#[derive(Clone)]
pub struct MailboxSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
    pub password: String,
    /// The folder employees' reports arrive in, e.g. `INBOX`.
    pub folder: String,
    /// Where filed messages are moved; None: they stay, marked `\Seen`.
    pub processed_folder: Option<String>,
    /// PEM file of the certificate authorities the server's certificate is checked against;
    /// None: the public authorities.
    pub ca_file: Option<PathBuf>,
    /// Larger messages are refused unread.
    pub max_message_bytes: u64,
    /// Messages taken in one poll.
    pub max_per_poll: usize,
    /// Tries to file one message before it is flagged and left.
    pub max_attempts: u32,
    /// Longest one step (connecting, a command, a fetch) may take.
    pub timeout: Duration,
}

impl fmt::Debug for MailboxSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailboxSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("folder", &self.folder)
            .field("processed_folder", &self.processed_folder)
            .finish_non_exhaustive()
    }
}

/// Why a poll could not run.
#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    #[error("plain IMAP without TLS is only allowed to a loopback address, not `{0}`")]
    PlainNotLoopback(String),
    #[error("cannot read the certificate authorities in {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("cannot connect to the IMAP server {addr}: {reason}")]
    Connect { addr: String, reason: String },
    #[error("TLS with the IMAP server {host} failed: {reason}")]
    Tls { host: String, reason: String },
    #[error("the IMAP server refused the login of `{username}`: {reason}")]
    Login { username: String, reason: String },
    #[error("cannot open the folder `{folder}`: {reason}")]
    Folder { folder: String, reason: String },
    #[error("the IMAP server did not answer {step} within {seconds} s")]
    Timeout { step: &'static str, seconds: u64 },
    #[error("IMAP {step} failed: {reason}")]
    Protocol { step: &'static str, reason: String },
}

/// What became of one message in a poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Filed as report `report`; marked `\Seen` (and moved).
    Filed {
        report: String,
        forwarder: String,
        how: HowForwarded,
    },
    /// Refused for good; flagged and left for a person.
    Refused { reason: String },
    /// The caller could not file it; `gave_up` when that was the last attempt (then flagged).
    Failed {
        reason: String,
        attempt: u32,
        gave_up: bool,
    },
}

/// One message a poll handled, by its IMAP UID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    pub uid: u32,
    pub outcome: Outcome,
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    pub handled: Vec<Handled>,
    /// Messages waiting beyond this poll's `max_per_poll`.
    pub waiting: usize,
}

impl PollReport {
    pub fn filed(&self) -> usize {
        self.handled
            .iter()
            .filter(|h| matches!(h.outcome, Outcome::Filed { .. }))
            .count()
    }
}

/// The connection's byte stream, TLS or not.
trait Io: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug> Io for T {}
type Stream = Box<dyn Io>;

/// The report-phishing mailbox: its settings, TLS configuration and the attempts counted
/// against messages the caller could not file.
pub struct Mailbox {
    settings: MailboxSettings,
    tls: Arc<rustls::ClientConfig>,
    /// (UIDVALIDITY, UID) → failed attempts.
    attempts: HashMap<(u32, u32), u32>,
}

impl fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailbox")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Mailbox {
    /// Checks the settings and reads the certificate authorities; connects to nothing yet.
    pub fn new(settings: MailboxSettings) -> Result<Mailbox, MailboxError> {
        if settings.security == Security::Plain && !is_loopback(&settings.host) {
            return Err(MailboxError::PlainNotLoopback(settings.host.clone()));
        }
        let tls = Arc::new(tls_config(settings.ca_file.as_ref())?);
        Ok(Mailbox {
            settings,
            tls,
            attempts: HashMap::new(),
        })
    }

    pub fn settings(&self) -> &MailboxSettings {
        &self.settings
    }

    /// Polls once: every waiting message (up to `max_per_poll`) goes to `file`, which answers
    /// with the filed report's id or why it could not file it. Blocking in `file` blocks this
    /// task; the server's poller runs a poll on a thread of its own.
    pub async fn poll<F, E>(&mut self, mut file: F) -> Result<PollReport, MailboxError>
    where
        F: FnMut(Forwarded) -> Result<String, E>,
        E: fmt::Display,
    {
        let mut session = self.open().await?;
        let result = self.poll_in(&mut session, &mut file).await;
        // Logging out is a courtesy; the work is done (or failed) either way.
        let _ = tokio::time::timeout(self.settings.timeout, session.logout()).await;
        result
    }

    async fn poll_in<F, E>(
        &mut self,
        session: &mut Session<Stream>,
        file: &mut F,
    ) -> Result<PollReport, MailboxError>
    where
        F: FnMut(Forwarded) -> Result<String, E>,
        E: fmt::Display,
    {
        let s = self.settings.clone();
        let selected = self
            .step("SELECT", session.select(&s.folder))
            .await?
            .map_err(|e| MailboxError::Folder {
                folder: s.folder.clone(),
                reason: said(&e),
            })?;
        let validity = selected.uid_validity.unwrap_or(0);
        let mut uids: Vec<u32> = self
            .step("SEARCH", session.uid_search("UNSEEN UNFLAGGED UNDELETED"))
            .await?
            .map_err(protocol("SEARCH"))?
            .into_iter()
            .collect();
        uids.sort_unstable();
        let mut report = PollReport {
            waiting: uids.len().saturating_sub(s.max_per_poll),
            ..PollReport::default()
        };
        uids.truncate(s.max_per_poll);
        if uids.is_empty() {
            return Ok(report);
        }
        let set = uid_set(&uids);
        let sizes: HashMap<u32, u32> = {
            let fetched = self
                .step("FETCH", async {
                    session
                        .uid_fetch(&set, "(UID RFC822.SIZE)")
                        .await?
                        .try_collect::<Vec<_>>()
                        .await
                })
                .await?
                .map_err(protocol("FETCH"))?;
            fetched
                .iter()
                .filter_map(|f| Some((f.uid?, f.size?)))
                .collect()
        };
        if let Some(folder) = &s.processed_folder {
            // Made once if missing; "already exists" is the common answer.
            let _ = self.step("CREATE", session.create(folder)).await?;
        }
        for uid in uids {
            let outcome = self
                .handle(session, validity, uid, sizes.get(&uid).copied(), file)
                .await?;
            report.handled.push(Handled { uid, outcome });
        }
        Ok(report)
    }

    async fn handle<F, E>(
        &mut self,
        session: &mut Session<Stream>,
        validity: u32,
        uid: u32,
        size: Option<u32>,
        file: &mut F,
    ) -> Result<Outcome, MailboxError>
    where
        F: FnMut(Forwarded) -> Result<String, E>,
        E: fmt::Display,
    {
        let limit = self.settings.max_message_bytes;
        let too_big = |n: u64| {
            format!(
                "the message is {} bytes, larger than the {} bytes allowed (max_message_mib)",
                n, limit
            )
        };
        if let Some(size) = size.filter(|n| u64::from(*n) > limit) {
            return self.refuse(session, uid, too_big(u64::from(size))).await;
        }
        let key = uid.to_string();
        let body = self
            .step("FETCH", async {
                session
                    .uid_fetch(&key, "BODY.PEEK[]")
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?
            .map_err(protocol("FETCH"))?;
        let Some(raw) = body.iter().find_map(|f| f.body()) else {
            // Expunged meanwhile by another client: nothing to do.
            return Ok(Outcome::Refused {
                reason: "the message was gone when fetched".into(),
            });
        };
        if raw.len() as u64 > limit {
            return self.refuse(session, uid, too_big(raw.len() as u64)).await;
        }
        let forward = match forwarded::read(raw) {
            Ok(f) => f,
            Err(e) => return self.refuse(session, uid, e.to_string()).await,
        };
        let forwarder = forward.forwarder.clone();
        let how = forward.how;
        match file(forward) {
            Ok(report) => {
                self.attempts.remove(&(validity, uid));
                self.mark_filed(session, uid).await?;
                Ok(Outcome::Filed {
                    report,
                    forwarder,
                    how,
                })
            }
            Err(e) => {
                let reason = e.to_string();
                let attempt = {
                    let n = self.attempts.entry((validity, uid)).or_insert(0);
                    *n += 1;
                    *n
                };
                let gave_up = attempt >= self.settings.max_attempts.max(1);
                if gave_up {
                    self.attempts.remove(&(validity, uid));
                    self.store(session, uid, "+FLAGS.SILENT (\\Flagged)")
                        .await?;
                }
                Ok(Outcome::Failed {
                    reason,
                    attempt,
                    gave_up,
                })
            }
        }
    }

    async fn refuse(
        &self,
        session: &mut Session<Stream>,
        uid: u32,
        reason: String,
    ) -> Result<Outcome, MailboxError> {
        self.store(session, uid, "+FLAGS.SILENT (\\Flagged)")
            .await?;
        Ok(Outcome::Refused { reason })
    }

    /// `\Seen` first, so a failed move still files nothing twice.
    async fn mark_filed(
        &self,
        session: &mut Session<Stream>,
        uid: u32,
    ) -> Result<(), MailboxError> {
        self.store(session, uid, "+FLAGS.SILENT (\\Seen)").await?;
        let Some(folder) = &self.settings.processed_folder else {
            return Ok(());
        };
        let moved = self
            .step("MOVE", session.uid_mv(uid.to_string(), folder))
            .await?;
        if let Err(e) = moved {
            tracing::warn!(uid, folder = %folder, error = %said(&e),
                "a filed message stays in the mailbox, marked seen: it could not be moved");
        }
        Ok(())
    }

    async fn store(
        &self,
        session: &mut Session<Stream>,
        uid: u32,
        change: &str,
    ) -> Result<(), MailboxError> {
        let key = uid.to_string();
        self.step("STORE", async {
            session
                .uid_store(&key, change)
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?
        .map_err(protocol("STORE"))?;
        Ok(())
    }

    /// Connects, protects and logs in.
    async fn open(&self) -> Result<Session<Stream>, MailboxError> {
        let s = &self.settings;
        let addr = format!("{}:{}", s.host, s.port);
        let tcp = self
            .step(
                "the connection",
                TcpStream::connect((s.host.as_str(), s.port)),
            )
            .await?
            .map_err(|e| MailboxError::Connect {
                addr: addr.clone(),
                reason: e.to_string(),
            })?;
        let stream: Stream = match s.security {
            Security::Plain => Box::new(tcp),
            Security::Tls => Box::new(self.tls(tcp).await?),
            Security::StartTls => {
                let mut client = Client::new(tcp);
                self.greeting(&mut client).await?;
                self.step(
                    "STARTTLS",
                    client.run_command_and_check_ok("STARTTLS", None),
                )
                .await?
                .map_err(|e| MailboxError::Tls {
                    host: s.host.clone(),
                    reason: format!("the server refused STARTTLS: {}", said(&e)),
                })?;
                Box::new(self.tls(client.into_inner()).await?)
            }
        };
        let mut client = Client::new(stream);
        if s.security != Security::StartTls {
            self.greeting(&mut client).await?;
        }
        self.step("LOGIN", client.login(&s.username, &s.password))
            .await?
            .map_err(|(e, _)| MailboxError::Login {
                username: s.username.clone(),
                reason: said(&e),
            })
    }

    async fn greeting<T>(&self, client: &mut Client<T>) -> Result<(), MailboxError>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug,
    {
        match self.step("its greeting", client.read_response()).await? {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(MailboxError::Protocol {
                step: "greeting",
                reason: "the server closed the connection".into(),
            }),
            Err(e) => Err(MailboxError::Protocol {
                step: "greeting",
                reason: e.to_string(),
            }),
        }
    }

    async fn tls(
        &self,
        tcp: TcpStream,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, MailboxError> {
        let host = &self.settings.host;
        let name = ServerName::try_from(host.clone()).map_err(|e| MailboxError::Tls {
            host: host.clone(),
            reason: e.to_string(),
        })?;
        let connector = tokio_rustls::TlsConnector::from(self.tls.clone());
        self.step("the TLS handshake", connector.connect(name, tcp))
            .await?
            .map_err(|e| MailboxError::Tls {
                host: host.clone(),
                reason: e.to_string(),
            })
    }

    /// `fut`, bounded by the settings' timeout.
    async fn step<T>(
        &self,
        step: &'static str,
        fut: impl Future<Output = T>,
    ) -> Result<T, MailboxError> {
        tokio::time::timeout(self.settings.timeout, fut)
            .await
            .map_err(|_| MailboxError::Timeout {
                step,
                seconds: self.settings.timeout.as_secs(),
            })
    }
}

/// What the server said: the text of its `NO` or `BAD` answer (the client crate wraps it as
/// `code: …, info: Some("…")`), else the error.
fn said(e: &async_imap::error::Error) -> String {
    match e {
        async_imap::error::Error::No(s) | async_imap::error::Error::Bad(s) => server_text(s),
        other => other.to_string(),
    }
}

fn server_text(wrapped: &str) -> String {
    let text = wrapped
        .split_once("info: Some(\"")
        .and_then(|(_, rest)| rest.strip_suffix("\")"))
        .map(|t| t.replace("\\\"", "\"").replace("\\\\", "\\"));
    text.unwrap_or_else(|| wrapped.trim().to_owned())
}

fn protocol(step: &'static str) -> impl Fn(async_imap::error::Error) -> MailboxError {
    move |e| MailboxError::Protocol {
        step,
        reason: said(&e),
    }
}

/// `1,2,5` for a list of UIDs (short enough: a poll takes at most `max_per_poll`).
fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn tls_config(ca_file: Option<&PathBuf>) -> Result<rustls::ClientConfig, MailboxError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let fail = |reason: String| MailboxError::CaFile {
                path: path.display().to_string(),
                reason,
            };
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| fail(e.to_string()))?
                .collect::<Result<_, _>>()
                .map_err(|e| fail(e.to_string()))?;
            if certs.is_empty() {
                return Err(fail("it holds no PEM certificate".into()));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| fail(e.to_string()))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| MailboxError::Tls {
            host: String::new(),
            reason: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(host: &str, security: Security) -> MailboxSettings {
        MailboxSettings {
            host: host.into(),
            port: 143,
            security,
            username: "u".into(),
            password: "secret-pass".into(),
            folder: "INBOX".into(),
            processed_folder: None,
            ca_file: None,
            max_message_bytes: 1 << 20,
            max_per_poll: 10,
            max_attempts: 3,
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn the_servers_answer_is_quoted_as_it_said_it() {
        assert_eq!(
            server_text(
                r#"code: None, info: Some("[AUTHENTICATIONFAILED] Authentication \"x\" failed.")"#
            ),
            r#"[AUTHENTICATIONFAILED] Authentication "x" failed."#
        );
        assert_eq!(
            server_text("code: None, info: None"),
            "code: None, info: None"
        );
    }

    #[test]
    fn plain_imap_is_refused_except_towards_loopback() {
        let e = Mailbox::new(settings("imap.example.com", Security::Plain)).unwrap_err();
        assert!(e.to_string().contains("only allowed to a loopback"), "{e}");
        for host in ["127.0.0.1", "localhost", "::1", "[::1]"] {
            Mailbox::new(settings(host, Security::Plain)).unwrap();
        }
        Mailbox::new(settings("imap.example.com", Security::Tls)).unwrap();
    }

    #[test]
    fn the_password_never_shows_in_debug_output() {
        let m = Mailbox::new(settings("127.0.0.1", Security::Plain)).unwrap();
        assert!(!format!("{m:?}").contains("secret-pass"));
    }

    #[test]
    fn a_ca_file_without_certificates_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("tandem-mail-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let mut s = settings("imap.example.com", Security::Tls);
        s.ca_file = Some(path.clone());
        let e = Mailbox::new(s).unwrap_err().to_string();
        assert!(e.contains("no PEM certificate"), "{e}");
        s = settings("imap.example.com", Security::Tls);
        s.ca_file = Some(dir.join("missing.pem"));
        let e = Mailbox::new(s).unwrap_err().to_string();
        assert!(e.contains("missing.pem"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
