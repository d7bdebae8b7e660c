//! Real services for tests, started on loopback and stopped when dropped.
//!
//! Tandem's tests talk to the real thing wherever one exists (a Mosquitto broker rather than
//! a mock of MQTT, a headless Chromium rather than an HTML parser, Glewlwyd as the identity
//! provider for single sign-on, Dovecot as the report-phishing mailbox's IMAP server); this
//! crate finds the installed program (`scripts/test` installs it),
//! starts it on 127.0.0.1 with a free port and its own temporary directory, waits until it
//! accepts connections, and kills it on drop so a failing test leaves nothing behind.

mod browser;
mod dovecot;
mod glewlwyd;

pub use browser::Browser;
pub use dovecot::{Dovecot, StoredMail};
pub use glewlwyd::Glewlwyd;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (bound then released; good enough for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Finds a program on PATH or in the sbin directories Debian installs daemons to.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Starts `program -c conf` with its output discarded and waits until it listens on `port`
/// (the way Mosquitto and Glewlwyd both start).
fn start_with_config(program: &Path, conf: &Path, port: u16, what: &str) -> Child {
    let mut child = Command::new(program)
        .arg("-c")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    wait_for_port(port, &mut child, what);
    child
}

fn wait_for_port(port: u16, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited at start: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A Mosquitto broker with persistence, so a restart keeps queued messages.
pub struct Mosquitto {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Mosquitto {
    /// Starts a broker; panics with an install hint when Mosquitto is missing.
    pub fn start() -> Mosquitto {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut m = Mosquitto {
            child: None,
            port,
            dir,
        };
        m.spawn();
        m
    }

    fn spawn(&mut self) {
        let program = find_program("mosquitto").expect(
            "mosquitto is not installed; scripts/test installs it (apt-get install mosquitto)",
        );
        // Started as root, Mosquitto drops to the `mosquitto` user, which must be able to
        // write its persistence file here.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ =
                std::fs::set_permissions(self.dir.path(), std::fs::Permissions::from_mode(0o777));
        }
        let conf = self.dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\nautosave_interval 1\nmax_queued_messages 100000\nlog_dest file {}/mosquitto.log\n",
                self.port,
                self.dir.path().display(),
                self.dir.path().display()
            ),
        )
        .expect("write mosquitto.conf");
        let child = start_with_config(&program, &conf, self.port, "mosquitto");
        self.child = Some(child);
    }

    /// Stops the broker cleanly (it saves its persistence file) and starts it again on the
    /// same port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Stops the broker with SIGTERM, as an orderly service stop does.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let _ = child.wait();
        }
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Publishes `messages` (topic, payload) with QoS 1 and returns once the broker has
/// acknowledged every one. Blocking, with its own runtime, so any test can call it.
pub fn mqtt_publish(port: u16, messages: &[(String, Vec<u8>)]) {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let id = format!("testkit-{}-{}", std::process::id(), free_port());
        let mut opts = MqttOptions::new(id, "127.0.0.1", port);
        opts.set_keep_alive(Duration::from_secs(5));
        opts.set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut events) = AsyncClient::new(opts, messages.len().max(1) + 10);
        for (topic, payload) in messages {
            client
                .publish(topic, QoS::AtLeastOnce, false, payload.clone())
                .await
                .expect("queue publish");
        }
        let wanted = messages.len();
        let acks = async {
            let mut acked = 0;
            while acked < wanted {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => acked += 1,
                    Ok(_) => {}
                    Err(e) => panic!("MQTT publish failed: {e}"),
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(10), acks)
            .await
            .expect("broker acknowledged every message");
        let _ = client.disconnect().await;
    });
}
