//! Dovecot, a real IMAP server (Debian package `dovecot-imapd`), started on loopback for the
//! report-phishing mailbox's tests.
//!
//! Its own configuration, run directory and log under a temporary directory; one user
//! ([`Dovecot::USER`] / [`Dovecot::PASSWORD`], from a passwd file) whose mail is a Maildir
//! there. Two listeners: [`Dovecot::port`] (plain, offering STARTTLS) and
//! [`Dovecot::tls_port`] (implicit TLS), with a server certificate for `127.0.0.1` and
//! `localhost` issued by a certificate authority made for this server with `openssl`
//! ([`Dovecot::ca_file`], for the client to trust). Mail is delivered by writing it into the
//! Maildir, as a local delivery agent does, and the state of a folder is read back from the
//! Maildir file names (where Dovecot keeps the standard flags).
//!
//! Started as root (as in CI) Dovecot drops to its own users, so mail belongs to `nobody`;
//! started as anyone else, everything runs as that user.

use crate::{find_program, free_port, wait_for_port};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

/// A running Dovecot; stopped on drop.
pub struct Dovecot {
    child: Option<Child>,
    /// Plain IMAP, with STARTTLS offered.
    pub port: u16,
    /// IMAP over implicit TLS.
    pub tls_port: u16,
    dir: tempfile::TempDir,
    /// Owner of the mail files when started as root.
    owner: Option<(u32, u32)>,
}

/// One message in a folder, as the Maildir holds it.
#[derive(Debug, Clone)]
pub struct StoredMail {
    /// Standard flags, as Maildir letters: `S` seen, `F` flagged, `T` deleted, ...
    pub flags: String,
    pub bytes: Vec<u8>,
}

impl StoredMail {
    pub fn seen(&self) -> bool {
        self.flags.contains('S')
    }
    pub fn flagged(&self) -> bool {
        self.flags.contains('F')
    }
}

static DELIVERED: AtomicU64 = AtomicU64::new(0);

impl Dovecot {
    pub const USER: &'static str = "report-phishing";
    pub const PASSWORD: &'static str = "mailbox-pass-7";

    /// Starts Dovecot; panics with an install hint when it is missing.
    pub fn start() -> Dovecot {
        let program = find_program("dovecot").expect(
            "dovecot is not installed; scripts/test installs it (apt-get install dovecot-imapd)",
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let as_root = std::fs::metadata(root).expect("temp dir").uid() == 0;
        // Dovecot's mail process (and, as root, its unprivileged helpers) must reach the
        // files below.
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        make_certificate(root);
        let (port, tls_port) = (free_port(), free_port());
        std::fs::write(
            root.join("users"),
            format!("{}:{{PLAIN}}{}\n", Dovecot::USER, Dovecot::PASSWORD),
        )
        .expect("write users");
        let owner = as_root.then_some((65534, 65534));
        let maildir = root.join("home").join(Dovecot::USER).join("Maildir");
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
        }
        let conf = root.join("dovecot.conf");
        std::fs::write(&conf, config(root, port, tls_port, owner)).expect("write dovecot.conf");
        let mut d = Dovecot {
            child: None,
            port,
            tls_port,
            dir,
            owner,
        };
        d.chown_tree(&d.dir.path().join("home"));
        let mut child = Command::new(program)
            .arg("-F")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start dovecot");
        wait_for_port(port, &mut child, "dovecot");
        wait_for_port(tls_port, &mut child, "dovecot");
        d.child = Some(child);
        d
    }

    /// The PEM certificate of the authority that issued the server's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Dovecot's log (logins, errors), for a failing test's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    fn maildir(&self, folder: &str) -> PathBuf {
        let base = self
            .dir
            .path()
            .join("home")
            .join(Dovecot::USER)
            .join("Maildir");
        if folder.eq_ignore_ascii_case("INBOX") {
            base
        } else {
            base.join(format!(".{folder}"))
        }
    }

    /// Delivers `raw` into the INBOX as a new, unseen message.
    pub fn deliver(&self, raw: &[u8]) {
        let n = DELIVERED.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "{}.M{n}P{}.tandem-test",
            1_700_000_000 + n,
            std::process::id()
        );
        let base = self.maildir("INBOX");
        let tmp = base.join("tmp").join(&name);
        std::fs::write(&tmp, raw).expect("write mail");
        self.chown(&tmp);
        std::fs::rename(&tmp, base.join("new").join(&name)).expect("deliver mail");
    }

    /// The messages of `folder` (`INBOX` or another folder's name), in delivery order.
    pub fn messages(&self, folder: &str) -> Vec<StoredMail> {
        let base = self.maildir(folder);
        let mut found: Vec<(String, StoredMail)> = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(base.join(sub)) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let (unique, flags) = match name.split_once(":2,") {
                    Some((u, f)) => (u.to_owned(), f.to_owned()),
                    None => (name.clone(), String::new()),
                };
                let bytes = std::fs::read(entry.path()).expect("read mail");
                found.push((unique, StoredMail { flags, bytes }));
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found.into_iter().map(|(_, m)| m).collect()
    }

    fn chown(&self, path: &Path) {
        if let Some((uid, gid)) = self.owner {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
        }
    }

    fn chown_tree(&self, path: &Path) {
        self.chown(path);
        if path.is_dir() {
            for entry in std::fs::read_dir(path).expect("read dir").flatten() {
                self.chown_tree(&entry.path());
            }
        }
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM: the master stops its login, auth and mail processes with it.
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let _ = child.wait();
        }
    }
}

fn config(root: &Path, port: u16, tls_port: u16, owner: Option<(u32, u32)>) -> String {
    let root = root.display();
    let (uid, gid, users) = match owner {
        Some((uid, gid)) => (uid, gid, String::new()),
        None => {
            let meta = std::fs::metadata(format!("{root}")).expect("temp dir");
            let user = std::env::var("USER")
                .ok()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| meta.uid().to_string());
            (
                meta.uid(),
                meta.gid(),
                format!("default_internal_user = {user}\ndefault_login_user = {user}\n"),
            )
        }
    };
    format!(
        "base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
{users}protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
# A refused login answers at once (the default waits two seconds).
auth_failure_delay = 0
first_valid_uid = 1
first_valid_gid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"
    )
}

/// A certificate authority (`ca.pem`) and the server's key and certificate for `127.0.0.1`
/// and `localhost` signed by it (`key.pem`, `cert.pem`), valid two days.
fn make_certificate(dir: &Path) {
    let run = |args: &[&str]| {
        let ok = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl runs (scripts/test installs it)")
            .success();
        assert!(ok, "openssl {args:?} failed");
    };
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write server.ext");
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Tandem test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    run(&ca);
    let mut csr = vec!["req", "-new"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "key.pem",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    run(&csr);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
}
