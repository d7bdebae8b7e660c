//! A real SMTP server on loopback for tests of e-mail: Debian's `python3-aiosmtpd` writing
//! what it receives to a maildir, read back through Python's `email` package.

use serde_json::Value;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Python with `aiosmtpd` (`apt-get install python3-aiosmtpd`, as the README's test
/// command does). Fails, never skips, when there is none.
fn python_with_aiosmtpd() -> &'static str {
    for python in ["/usr/bin/python3", "python3"] {
        let ok = Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return python;
        }
    }
    panic!(
        "no Python with aiosmtpd: install it with `sudo apt-get install -y python3-aiosmtpd` (see the README's test command)"
    );
}

/// A real SMTP server on loopback writing what it receives to a maildir; stopped on drop.
pub struct Smtp {
    child: Child,
    pub port: u16,
    maildir: PathBuf,
}

impl Smtp {
    /// Starts the server with its maildir under `dir`, once it listens.
    pub fn start(dir: &Path) -> Smtp {
        let python = python_with_aiosmtpd();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = dir.join("maildir");
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox", maildir.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Smtp {
            child,
            port,
            maildir,
        }
    }

    /// Every mail received, parsed by Python's `email` package: subject, to, message id,
    /// and each text part by content type.
    pub fn mails(&self) -> Vec<Value> {
        let script = r#"
import json, mailbox, sys
out = []
for m in mailbox.Maildir(sys.argv[1], create=False):
    parts = {}
    for p in m.walk():
        if p.get_content_maintype() == "text":
            parts[p.get_content_type()] = p.get_payload(decode=True).decode(p.get_content_charset() or "utf-8")
    out.append({"subject": str(m["Subject"]), "to": str(m["To"]), "message_id": str(m["Message-ID"]),
                "multipart": m.get_content_type(), "parts": parts})
print(json.dumps(out))
"#;
        if !self.maildir.join("new").exists() {
            return Vec::new();
        }
        let out = Command::new(python_with_aiosmtpd())
            .args(["-c", script, self.maildir.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The mails once there are at least `n`, or a failure after `timeout`.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let mails = self.mails();
            if mails.len() >= n {
                return mails;
            }
            assert!(
                Instant::now() < deadline,
                "waited for {n} mails, got {mails:#?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The "Incident opened" mail about `id` among `mails`, checked as a mail reader shows it:
/// to `to`, the case in the subject, a plain-text and an HTML part, each linking to `link`.
pub fn incident_opened<'a>(mails: &'a [Value], id: &str, to: &str, link: &str) -> &'a Value {
    let opened = mails
        .iter()
        .find(|m| m["subject"].as_str().unwrap().contains("Incident opened"))
        .unwrap_or_else(|| panic!("{mails:#?}"));
    assert!(opened["subject"].as_str().unwrap().contains(id), "{opened}");
    assert_eq!(opened["to"], to);
    assert_eq!(opened["multipart"], "multipart/alternative");
    let text = opened["parts"]["text/plain"].as_str().unwrap();
    assert!(text.contains(link), "{text}");
    // HTML escaping writes `/` as `&#x2f;`, which a mail reader reads back as `/`.
    let html = opened["parts"]["text/html"]
        .as_str()
        .unwrap()
        .replace("&#x2f;", "/");
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    opened
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
