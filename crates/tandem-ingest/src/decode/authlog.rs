//! Normalisation of Linux authentication logs (`/var/log/auth.log`, `/var/log/secure`, the
//! `auth`/`authpriv` syslog facilities) into authentication, process and account events.
//!
//! Applied by the syslog decoder to every message; it matches on the program (syslog APP-NAME /
//! TAG) and on literal message prefixes, which is enough because these programs print fixed
//! formats, and needs no regex engine. Fields are taken from the right where a user name comes
//! first: a user name is attacker-chosen (`ssh 'x from 1.2.3.4 port 1 ssh2'@host`) while the
//! trailing address and port are written by sshd.
//!
//! Recognised messages, with where each format comes from:
//!
//! | program | message (sample) | event |
//! |---|---|---|
//! | sshd (`auth.c` `auth_log`) | `Accepted publickey for alice from 203.0.113.5 port 52344 ssh2: ED25519 SHA256:…` | authentication / logon / success; `auth.method`, `auth.key` |
//! | sshd | `Failed password for invalid user admin from 198.51.100.7 port 40022 ssh2` | logon / failure; `auth.invalid_user` |
//! | sshd (`auth2.c` `input_userauth_request`) | `Invalid user admin from 198.51.100.7 port 40022` | logon / failure; `auth.invalid_user` |
//! | sshd (`packet.c` `sshpkt_fmt_connection_id`) | `Disconnected from user alice 203.0.113.5 port 52344` | logoff |
//! | pam_unix (`pam_unix_sess.c`), service sshd or login | `pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)` | logon / success |
//! | pam_unix, service sshd or login | `pam_unix(sshd:session): session closed for user alice` | logoff |
//! | pam_unix (`pam_unix_auth.c`), any service | `pam_unix(sudo:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=alice` | logon / failure; `pam.service`, `rhost` → `src` |
//! | pam_unix (`pam_unix_passwd.c`), any service | `pam_unix(passwd:chauthtok): password changed for bob` | account_change / password_change; `target.user` |
//! | sudo (`logging.c`) | `alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id` | process_activity / launch / success; `sudo.run_as`, `sudo.command`, `sudo.tty`, `sudo.pwd` |
//! | sudo | `alice : user NOT in sudoers ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id` (also `3 incorrect password attempts`, `command not allowed`, …) | launch / failure, severity medium; `sudo.reason` |
//! | su (shadow-utils `sulog.c`) | `Successful su for root by alice`, `FAILED su for root by alice`; also `+ /dev/pts/0 alice:root` / `- …` | authentication / logon / success or failure; `target.user` |
//! | su (util-linux `su-common.c`) | `FAILED SU (to root) alice on pts/0` | logon / failure |
//! | su (util-linux `su-common.c`) | `(to root) alice on pts/0` | logon / success |
//! | useradd (shadow-utils `useradd.c`) | `new user: name=bob, UID=1001, GID=1001, home=/home/bob, shell=/bin/bash, from=/dev/pts/0` | account_change / create; `target.user`, `target.uid`, … |
//! | userdel (shadow-utils `userdel.c`) | `delete user 'bob'` | account_change / delete |
//! | usermod (shadow-utils `usermod.c`) | `lock user 'bob' password`, `unlock user 'bob' password`, `add 'bob' to group 'sudo'`, `change user 'bob' password` | lock, enable, other (`target.group`), password_change |
//! | passwd (shadow-utils `passwd.c`) | `password for 'bob' changed by 'root'` | password_change; actor root |
//! | systemd-logind (`logind-session.c`) | `New session 42 of user alice.` (systemd ≥ 255: `New session '42' of user 'alice' with class 'user' and type 'tty'.`) | logon / success; `logind.session` |
//! | systemd-logind | `Session 42 logged out. Waiting for processes to exit.` | logoff |
//!
//! sshd also logs as `sshd-session` / `sshd-auth` since OpenSSH 9.8; those names count as sshd.
//! Anything else these programs print stays a generic syslog event. Every recognised event gets
//! attribute `authlog.rule` (`sshd.accepted`, `pam.session_opened`, …): one SSH login is logged
//! three times (sshd, pam_unix, logind), and rules that count logons pick one.
//!
//! Severity is set by what happened, not by the program's syslog level (sudo logs every
//! command at `notice` and every refusal at `alert`): success informational, failed logon
//! low, refused sudo medium, account creation, deletion, lock and group change low.

use super::SyslogMessage;
use serde_json::Value;
use std::net::IpAddr;
use tandem_model::{Activity, Class, Event, Outcome, Severity};

/// Refines a generic syslog event when its program and text are a known auth.log message.
/// Returns whether it did; the event is untouched otherwise.
pub fn normalise(msg: &SyslogMessage, event: &mut Event) -> bool {
    let Some(app) = msg.appname.as_deref() else {
        return false;
    };
    let text = msg.message.trim();
    let found = if let Some(rest) = text.strip_prefix("pam_unix(") {
        pam_unix(rest)
    } else {
        match app {
            "sshd" | "sshd-session" | "sshd-auth" => sshd(text),
            "sudo" => sudo(text),
            "su" => su(text),
            "useradd" => useradd(text),
            "userdel" => userdel(text),
            "usermod" => usermod(text),
            "passwd" => passwd(text),
            "systemd-logind" => logind(text),
            _ => None,
        }
    };
    let Some(found) = found else {
        return false;
    };
    found.apply(event);
    true
}

/// What a recognised message says.
struct Found {
    rule: &'static str,
    class: Class,
    activity: Activity,
    outcome: Outcome,
    severity: Severity,
    user: Option<String>,
    src: Option<(String, Option<u16>)>,
    attrs: Vec<(&'static str, Value)>,
}

impl Found {
    fn new(rule: &'static str, class: Class, activity: Activity, outcome: Outcome) -> Found {
        let severity = match outcome {
            Outcome::Failure => Severity::Low,
            _ => Severity::Informational,
        };
        Found {
            rule,
            class,
            activity,
            outcome,
            severity,
            user: None,
            src: None,
            attrs: Vec::new(),
        }
    }

    fn user(mut self, user: &str) -> Found {
        let user = user.trim();
        if !user.is_empty() {
            self.user = Some(user.to_owned());
        }
        self
    }

    fn src(mut self, host: &str, port: Option<u16>) -> Found {
        let host = host.trim();
        if !host.is_empty() {
            self.src = Some((host.to_owned(), port));
        }
        self
    }

    fn attr(mut self, key: &'static str, value: impl Into<Value>) -> Found {
        self.attrs.push((key, value.into()));
        self
    }

    /// Adds a text attribute unless the value is empty.
    fn text(self, key: &'static str, value: &str) -> Found {
        let value = value.trim();
        if value.is_empty() {
            self
        } else {
            self.attr(key, value)
        }
    }

    fn severity(mut self, severity: Severity) -> Found {
        self.severity = severity;
        self
    }

    fn apply(self, e: &mut Event) {
        e.class = self.class;
        e.activity = self.activity;
        e.outcome = self.outcome;
        e.severity = self.severity;
        if self.user.is_some() {
            e.actor.user = self.user;
        }
        if let Some((host, port)) = self.src {
            let src = e.src_mut();
            match host.parse::<IpAddr>() {
                Ok(ip) => src.ip = Some(ip),
                Err(_) => src.hostname = Some(host),
            }
            src.port = port;
        }
        e.attrs.insert("authlog.rule".to_owned(), self.rule.into());
        for (k, v) in self.attrs {
            e.attrs.insert(k.to_owned(), v);
        }
    }
}

/// A logon, or an attempt at one when `outcome` is a failure.
fn logon(rule: &'static str, outcome: Outcome) -> Found {
    Found::new(rule, Class::Authentication, Activity::Logon, outcome)
}

/// The end of a login session.
fn logoff(rule: &'static str) -> Found {
    Found::new(
        rule,
        Class::Authentication,
        Activity::Logoff,
        Outcome::Success,
    )
}

// ---------------------------------------------------------------------------------------------
// sshd

fn sshd(text: &str) -> Option<Found> {
    let text = text.strip_suffix(" [preauth]").unwrap_or(text);
    if let Some(rest) = text.strip_prefix("Accepted ") {
        return sshd_auth(rest, "sshd.accepted", Outcome::Success);
    }
    if let Some(rest) = text.strip_prefix("Failed ") {
        return sshd_auth(rest, "sshd.failed", Outcome::Failure);
    }
    if let Some(rest) = text.strip_prefix("Invalid user ") {
        // `Invalid user NAME from HOST port N`; OpenSSH before 7.5 omits the port.
        let (rest, port) = match rest.rsplit_once(" port ") {
            Some((r, p)) if is_port(p) => (r, p.parse().ok()),
            _ => (rest, None),
        };
        let (user, host) = rest.rsplit_once(" from ")?;
        return Some(
            logon("sshd.invalid_user", Outcome::Failure)
                .user(user)
                .src(host, port)
                .attr("auth.invalid_user", true),
        );
    }
    if let Some(rest) = text.strip_prefix("Disconnected from user ") {
        // `Disconnected from user NAME HOST port N`
        let (rest, port) = rest.rsplit_once(" port ")?;
        let (user, host) = rest.rsplit_once(' ')?;
        return Some(
            logoff("sshd.disconnected")
                .user(user)
                .src(host, port.parse().ok()),
        );
    }
    None
}

/// `METHOD for [invalid user ]NAME from HOST port N ssh2[: KEY]`, after `Accepted `/`Failed `.
fn sshd_auth(rest: &str, rule: &'static str, outcome: Outcome) -> Option<Found> {
    let (method, rest) = rest.split_once(" for ")?;
    if method.is_empty() || method.contains(' ') {
        return None;
    }
    // The last ` port N ssh2` is sshd's own; anything like it further left is in the user name.
    let (before, port, after) = rest.rmatch_indices(" port ").find_map(|(at, sep)| {
        let tail = &rest[at + sep.len()..];
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        let after = tail[digits..].strip_prefix(" ssh2")?;
        (digits > 0 && (after.is_empty() || after.starts_with(':') || after.starts_with(' ')))
            .then(|| (&rest[..at], tail[..digits].parse::<u16>().ok(), after))
    })?;
    let (user, host) = before.rsplit_once(" from ")?;
    let (user, invalid) = match user.strip_prefix("invalid user ") {
        Some(u) => (u, true),
        None => (user, false),
    };
    let mut found = logon(rule, outcome)
        .user(user)
        .src(host, port)
        .attr("auth.method", method)
        .text("auth.key", after.trim_start_matches(':'));
    if invalid {
        found = found.attr("auth.invalid_user", true);
    }
    Some(found)
}

fn is_port(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

// ---------------------------------------------------------------------------------------------
// pam_unix

/// After `pam_unix(`: `SERVICE:TYPE): TEXT`.
fn pam_unix(rest: &str) -> Option<Found> {
    let (module, text) = rest.split_once("): ")?;
    let (service, kind) = module.split_once(':')?;
    let interactive = matches!(service, "sshd" | "login");
    match kind {
        "session" if interactive => {
            let found = if let Some(rest) = text.strip_prefix("session opened for user ") {
                // `NAME(uid=N) by (uid=0)`; Linux-PAM before 1.5 writes `NAME by (uid=0)`.
                let (user, _by) = rest.rsplit_once(" by ").unwrap_or((rest, ""));
                let user = user.split_once("(uid=").map_or(user, |(u, _)| u);
                logon("pam.session_opened", Outcome::Success).user(user)
            } else {
                let user = text.strip_prefix("session closed for user ")?;
                logoff("pam.session_closed").user(user)
            };
            Some(found.text("pam.service", service))
        }
        "auth" => {
            let fields = text.strip_prefix("authentication failure;")?;
            let get = |key: &str| kv(fields, key).unwrap_or("");
            let mut found = logon("pam.auth_failure", Outcome::Failure)
                .user(get("user"))
                .src(get("rhost"), None)
                .text("pam.service", service)
                .text("pam.ruser", get("ruser"))
                .text("pam.logname", get("logname"))
                .text("pam.tty", get("tty"));
            if found.user.is_none() {
                // Unknown accounts are logged without `user=`; ruser is who was asking.
                found = found.user(get("ruser"));
            }
            Some(found)
        }
        "chauthtok" => {
            let user = text.strip_prefix("password changed for ")?;
            Some(
                Found::new(
                    "pam.password_changed",
                    Class::AccountChange,
                    Activity::PasswordChange,
                    Outcome::Success,
                )
                .text("target.user", user)
                .text("pam.service", service),
            )
        }
        _ => None,
    }
}

/// The value of `key=` in pam's `k=v k=v` list (values have no spaces; may be empty).
fn kv<'a>(fields: &'a str, key: &str) -> Option<&'a str> {
    fields
        .split_whitespace()
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
}

// ---------------------------------------------------------------------------------------------
// sudo

/// `USER : [REASON ; ]TTY=… ; PWD=… ; USER=… ; COMMAND=…`
fn sudo(text: &str) -> Option<Found> {
    let (user, rest) = text.split_once(" : ")?;
    let user = user.trim();
    if user.is_empty() || user.contains(char::is_whitespace) {
        return None;
    }
    let mut reasons = Vec::new();
    let (mut tty, mut pwd, mut run_as, mut group, mut command) = ("", "", "", "", None);
    let mut remaining = rest;
    while !remaining.is_empty() {
        // COMMAND is last and may itself contain ` ; `.
        if let Some(cmd) = remaining.strip_prefix("COMMAND=") {
            command = Some(cmd);
            break;
        }
        let (segment, next) = remaining.split_once(" ; ").unwrap_or((remaining, ""));
        remaining = next;
        match segment.split_once('=') {
            Some(("TTY", v)) => tty = v,
            Some(("PWD", v)) => pwd = v,
            Some(("USER", v)) => run_as = v,
            Some(("GROUP", v)) => group = v,
            Some((k, _)) if k.bytes().all(|b| b.is_ascii_uppercase()) => {} // ENV, TSID, CHROOT, …
            _ => reasons.push(segment.trim()),
        }
    }
    if command.is_none() && tty.is_empty() && run_as.is_empty() {
        // Not the command log line (e.g. `alice : unable to resolve host …`, a warning).
        return None;
    }
    let found = if reasons.is_empty() {
        Found::new(
            "sudo.command",
            Class::ProcessActivity,
            Activity::Launch,
            Outcome::Success,
        )
        .text("sudo.command", command?)
    } else {
        Found::new(
            "sudo.refused",
            Class::ProcessActivity,
            Activity::Launch,
            Outcome::Failure,
        )
        .severity(Severity::Medium)
        .text("sudo.reason", &reasons.join("; "))
        .text("sudo.command", command.unwrap_or(""))
    };
    Some(
        found
            .user(user)
            .text("sudo.run_as", run_as)
            .text("sudo.run_as_group", group)
            .text("sudo.tty", tty)
            .text("sudo.pwd", pwd),
    )
}

// ---------------------------------------------------------------------------------------------
// su

/// A switch of user by su, succeeded or failed.
fn su_logon(outcome: Outcome) -> Found {
    let rule = if outcome == Outcome::Success {
        "su.success"
    } else {
        "su.failed"
    };
    logon(rule, outcome)
}

fn su(text: &str) -> Option<Found> {
    // shadow-utils: `Successful su for TARGET by USER`, `FAILED su for TARGET by USER`
    for (prefix, outcome) in [
        ("Successful su for ", Outcome::Success),
        ("FAILED su for ", Outcome::Failure),
    ] {
        if let Some(rest) = text.strip_prefix(prefix) {
            let (target, user) = rest.rsplit_once(" by ")?;
            return Some(su_logon(outcome).user(user).text("target.user", target));
        }
    }
    let (outcome, rest) = if let Some(rest) = text.strip_prefix("FAILED SU (to ") {
        (Outcome::Failure, rest)
    } else if let Some(rest) = text.strip_prefix("(to ") {
        (Outcome::Success, rest)
    } else {
        // shadow-utils sulog style: `+ TTY USER:TARGET` / `- TTY USER:TARGET`
        let (outcome, rest) = match text.split_at_checked(2)? {
            ("+ ", rest) => (Outcome::Success, rest),
            ("- ", rest) => (Outcome::Failure, rest),
            _ => return None,
        };
        let (tty, users) = rest.split_once(' ')?;
        let (user, target) = users.split_once(':')?;
        return Some(
            su_logon(outcome)
                .user(user)
                .text("target.user", target)
                .text("su.tty", tty),
        );
    };
    // `TARGET) USER on TTY`
    let (target, rest) = rest.split_once(") ")?;
    let (user, tty) = rest.rsplit_once(" on ")?;
    Some(
        su_logon(outcome)
            .user(user)
            .text("target.user", target)
            .text("su.tty", tty),
    )
}

// ---------------------------------------------------------------------------------------------
// shadow-utils account management

fn account(rule: &'static str, activity: Activity) -> Found {
    let found = Found::new(rule, Class::AccountChange, activity, Outcome::Success);
    if activity == Activity::PasswordChange {
        found
    } else {
        found.severity(Severity::Low)
    }
}

/// `new user: name=bob, UID=1001, GID=1001, home=/home/bob, shell=/bin/bash, from=/dev/pts/0`
/// (`from=` since shadow-utils 4.6).
fn useradd(text: &str) -> Option<Found> {
    let fields = text.strip_prefix("new user: ")?;
    let get = |key: &str| {
        fields
            .split(", ")
            .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or("")
    };
    let name = get("name");
    if name.is_empty() {
        return None;
    }
    let number = |s: &str| {
        s.parse::<u64>()
            .map(Value::from)
            .unwrap_or_else(|_| s.into())
    };
    let mut found = account("useradd.new_user", Activity::Create).text("target.user", name);
    for (key, field) in [("target.uid", "UID"), ("target.gid", "GID")] {
        let v = get(field);
        if !v.is_empty() {
            found = found.attr(key, number(v));
        }
    }
    Some(
        found
            .text("target.home", get("home"))
            .text("target.shell", get("shell"))
            .text("useradd.from", get("from")),
    )
}

/// `delete user 'bob'`
fn userdel(text: &str) -> Option<Found> {
    let name = quoted(text.strip_prefix("delete user ")?)?;
    Some(account("userdel.delete_user", Activity::Delete).text("target.user", name))
}

fn usermod(text: &str) -> Option<Found> {
    // `lock user 'bob' password`, `unlock user 'bob' password`, `change user 'bob' password`
    for (prefix, rule, activity) in [
        ("lock user ", "usermod.lock", Activity::Lock),
        ("unlock user ", "usermod.unlock", Activity::Enable),
        ("change user ", "usermod.password", Activity::PasswordChange),
    ] {
        if let Some(rest) = text.strip_prefix(prefix) {
            let name = quoted(rest.strip_suffix(" password")?)?;
            return Some(account(rule, activity).text("target.user", name));
        }
    }
    // `add 'bob' to group 'sudo'` (usermod also logs `… to shadow group …` for gshadow: not
    // matched, so one change is one event).
    let rest = text.strip_prefix("add ")?;
    let (name, group) = rest.split_once(" to group ")?;
    Some(
        account("usermod.add_to_group", Activity::Other)
            .text("target.user", quoted(name)?)
            .text("target.group", quoted(group)?),
    )
}

/// `password for 'bob' changed by 'root'`
fn passwd(text: &str) -> Option<Found> {
    let rest = text.strip_prefix("password for ")?;
    let (target, actor) = rest.split_once(" changed by ")?;
    Some(
        account("passwd.changed", Activity::PasswordChange)
            .user(quoted(actor)?)
            .text("target.user", quoted(target)?),
    )
}

/// `'name'` → `name`.
fn quoted(s: &str) -> Option<&str> {
    s.trim().strip_prefix('\'')?.strip_suffix('\'')
}

// ---------------------------------------------------------------------------------------------
// systemd-logind

fn logind(text: &str) -> Option<Found> {
    let unquote = |s: &str| s.trim_matches('\'').to_owned();
    if let Some(rest) = text.strip_prefix("New session ") {
        let (session, rest) = rest.split_once(" of user ")?;
        // `alice.` or `'alice' with class 'user' and type 'tty'.`
        let user = rest
            .split_once(' ')
            .map_or(rest, |(u, _)| u)
            .trim_end_matches('.');
        return Some(
            logon("logind.new_session", Outcome::Success)
                .user(&unquote(user))
                .text("logind.session", &unquote(session)),
        );
    }
    let rest = text.strip_prefix("Session ")?;
    let session = rest.strip_suffix(" logged out. Waiting for processes to exit.")?;
    Some(logoff("logind.logged_out").text("logind.session", &unquote(session)))
}

#[cfg(test)]
mod tests {
    use crate::decode::test_support::*;
    use crate::decode::{Format, decode_line};
    use serde_json::json;
    use tandem_model::*;

    /// Decodes an auth.log line as rsyslog writes it to a file.
    fn auth(program: &str, text: &str) -> Event {
        let line = format!("Mar  4 09:15:01 web-1 {program}: {text}");
        decode_line(Format::Syslog, line.as_bytes(), &ctx()).unwrap()
    }

    fn shape(e: &Event) -> (Class, Activity, Outcome, Severity) {
        (e.class, e.activity, e.outcome, e.severity)
    }

    fn src(e: &Event) -> (Option<std::net::IpAddr>, Option<u16>) {
        let s = e.src.as_ref().expect("src");
        (s.ip, s.port)
    }

    fn ip(s: &str) -> Option<std::net::IpAddr> {
        Some(s.parse().unwrap())
    }

    // Formats below are OpenSSH's `auth_log()` in auth.c:
    // "%s %s%s%s for %s%.100s from %.200s port %d ssh2%s%s"

    #[test]
    fn sshd_accepted_publickey() {
        let e = auth(
            "sshd[2301]",
            "Accepted publickey for alice from 203.0.113.5 port 52344 ssh2: ED25519 SHA256:Xq1N0bKn3mY2pPZc8c3l5w2h8zM0m1jqk2rC3kC8H0Q",
        );
        assert_eq!(
            shape(&e),
            (
                Class::Authentication,
                Activity::Logon,
                Outcome::Success,
                Severity::Informational
            )
        );
        assert_eq!(e.actor.user.as_deref(), Some("alice"));
        assert_eq!(src(&e), (ip("203.0.113.5"), Some(52344)));
        assert_eq!(
            e.device.as_ref().unwrap().hostname.as_deref(),
            Some("web-1")
        );
        assert_eq!(e.attrs["auth.method"], "publickey");
        assert_eq!(
            e.attrs["auth.key"],
            "ED25519 SHA256:Xq1N0bKn3mY2pPZc8c3l5w2h8zM0m1jqk2rC3kC8H0Q"
        );
        assert_eq!(e.attrs["authlog.rule"], "sshd.accepted");
        assert_eq!(e.attrs["syslog.appname"], "sshd");
        assert!(!e.attrs.contains_key("auth.invalid_user"));
    }

    #[test]
    fn sshd_accepted_password_and_keyboard_interactive_ipv6() {
        let e = auth(
            "sshd[2301]",
            "Accepted password for bob from 2001:db8::15 port 60222 ssh2",
        );
        assert_eq!(e.outcome, Outcome::Success);
        assert_eq!(src(&e), (ip("2001:db8::15"), Some(60222)));
        assert_eq!(e.attrs["auth.method"], "password");
        assert!(!e.attrs.contains_key("auth.key"));
        // OpenSSH 9.8+ logs from sshd-session.
        let e = auth(
            "sshd-session[88]",
            "Accepted keyboard-interactive/pam for carol from 198.51.100.20 port 41000 ssh2",
        );
        assert_eq!(e.actor.user.as_deref(), Some("carol"));
        assert_eq!(e.attrs["auth.method"], "keyboard-interactive/pam");
    }

    #[test]
    fn sshd_failed_password() {
        let e = auth(
            "sshd[2301]",
            "Failed password for root from 198.51.100.7 port 40022 ssh2",
        );
        assert_eq!(
            shape(&e),
            (
                Class::Authentication,
                Activity::Logon,
                Outcome::Failure,
                Severity::Low
            )
        );
        assert_eq!(e.actor.user.as_deref(), Some("root"));
        assert_eq!(src(&e), (ip("198.51.100.7"), Some(40022)));
        assert!(!e.attrs.contains_key("auth.invalid_user"));

        let e = auth(
            "sshd[2301]",
            "Failed password for invalid user admin from 198.51.100.7 port 40022 ssh2",
        );
        assert_eq!(e.outcome, Outcome::Failure);
        assert_eq!(e.actor.user.as_deref(), Some("admin"));
        assert_eq!(e.attrs["auth.invalid_user"], true);
        assert_eq!(e.attrs["authlog.rule"], "sshd.failed");

        let e = auth(
            "sshd[2301]",
            "Failed none for invalid user test from 198.51.100.7 port 40022 ssh2 [preauth]",
        );
        assert_eq!(
            (e.outcome, e.attrs["auth.method"].as_str()),
            (Outcome::Failure, Some("none"))
        );
    }

    #[test]
    fn sshd_spoofed_user_name_does_not_move_the_source() {
        // The user name is the client's to choose; the address is sshd's.
        let e = auth(
            "sshd[2301]",
            "Failed password for invalid user x from 10.9.9.9 port 1 ssh2 from 198.51.100.7 port 40022 ssh2",
        );
        assert_eq!(e.actor.user.as_deref(), Some("x from 10.9.9.9 port 1 ssh2"));
        assert_eq!(src(&e), (ip("198.51.100.7"), Some(40022)));
    }

    #[test]
    fn sshd_hostname_instead_of_address() {
        // With `UseDNS yes` sshd prints the client's name.
        let e = auth(
            "sshd[2301]",
            "Accepted password for bob from client.example.net port 60222 ssh2",
        );
        let s = e.src.unwrap();
        assert_eq!(
            (s.ip, s.hostname.as_deref(), s.port),
            (None, Some("client.example.net"), Some(60222))
        );
    }

    #[test]
    fn sshd_invalid_user() {
        // auth2.c: "Invalid user %.100s from %.100s port %d"
        let e = auth(
            "sshd[2301]",
            "Invalid user oracle from 198.51.100.7 port 40022",
        );
        assert_eq!(
            shape(&e),
            (
                Class::Authentication,
                Activity::Logon,
                Outcome::Failure,
                Severity::Low
            )
        );
        assert_eq!(e.actor.user.as_deref(), Some("oracle"));
        assert_eq!(src(&e), (ip("198.51.100.7"), Some(40022)));
        assert_eq!(e.attrs["auth.invalid_user"], true);
        // OpenSSH < 7.5 had no port.
        let e = auth("sshd[2301]", "Invalid user oracle from 198.51.100.7");
        assert_eq!(src(&e), (ip("198.51.100.7"), None));
        // An empty user name leaves actor.user unset.
        let e = auth("sshd[2301]", "Invalid user  from 198.51.100.7 port 40022");
        assert_eq!((e.outcome, e.actor.user), (Outcome::Failure, None));
    }

    #[test]
    fn sshd_logoff() {
        // packet.c: "Disconnected from user alice 203.0.113.5 port 52344"
        let e = auth(
            "sshd[2301]",
            "Disconnected from user alice 203.0.113.5 port 52344",
        );
        assert_eq!(
            shape(&e),
            (
                Class::Authentication,
                Activity::Logoff,
                Outcome::Success,
                Severity::Informational
            )
        );
        assert_eq!(e.actor.user.as_deref(), Some("alice"));
        assert_eq!(src(&e), (ip("203.0.113.5"), Some(52344)));
        // Pre-auth disconnects are not logoffs.
        for text in [
            "Disconnected from authenticating user root 198.51.100.7 port 40022 [preauth]",
            "Disconnected from invalid user admin 198.51.100.7 port 40022 [preauth]",
            "Received disconnect from 203.0.113.5 port 52344:11: disconnected by user",
            "Connection closed by 198.51.100.7 port 40022 [preauth]",
            "Server listening on 0.0.0.0 port 22.",
        ] {
            let e = auth("sshd[2301]", text);
            assert_eq!(e.class, Class::Other, "{text}");
            assert!(!e.attrs.contains_key("authlog.rule"));
        }
    }

    #[test]
    fn pam_sessions() {
        // Linux-PAM pam_unix_sess.c; `(uid=N)` after the user since Linux-PAM 1.5.
        let e = auth(
            "sshd[2301]",
            "pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)",
        );
        assert_eq!(
            shape(&e),
            (
                Class::Authentication,
                Activity::Logon,
                Outcome::Success,
                Severity::Informational
            )
        );
        assert_eq!(e.actor.user.as_deref(), Some("alice"));
        assert_eq!(e.attrs["authlog.rule"], "pam.session_opened");
        assert_eq!(e.attrs["pam.service"], "sshd");
        let e = auth(
            "sshd[2301]",
            "pam_unix(sshd:session): session opened for user alice by (uid=0)",
        );
        assert_eq!(e.actor.user.as_deref(), Some("alice"));
        let e = auth(
            "sshd[2301]",
            "pam_unix(sshd:session): session closed for user alice",
        );
        assert_eq!(
            (e.activity, e.actor.user.as_deref()),
            (Activity::Logoff, Some("alice"))
        );
        // sudo/su/cron sessions are not logons.
        for (program, text) in [
            (
                "sudo",
                "pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)",
            ),
            (
                "CRON[77]",
                "pam_unix(cron:session): session closed for user root",
            ),
        ] {
            assert_eq!(auth(program, text).class, Class::Other);
        }
    }

    #[test]
    fn pam_auth_failure() {
        // Linux-PAM pam_unix_auth.c via pam_syslog; note the two spaces before `user=`.
        let e = auth(
            "sudo",
            "pam_unix(sudo:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=alice",
        );
        assert_eq!(
            shape(&e),
            (
                Class::Authentication,
                Activity::Logon,
                Outcome::Failure,
                Severity::Low
            )
        );
        assert_eq!(e.actor.user.as_deref(), Some("alice"));
        assert_eq!(e.attrs["pam.service"], "sudo");
        assert_eq!(e.attrs["pam.tty"], "/dev/pts/0");
        assert!(e.src.is_none());
        let e = auth(
            "sshd[2301]",
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.7  user=root",
        );
        assert_eq!(e.actor.user.as_deref(), Some("root"));
        assert_eq!(e.src.unwrap().ip, ip("198.51.100.7"));
        // Unknown account: no user=.
        let e = auth(
            "sshd[2301]",
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.7",
        );
        assert_eq!((e.outcome, e.actor.user), (Outcome::Failure, None));
        // Other pam_unix auth messages stay generic.
        let e = auth("sudo", "pam_unix(sudo:auth): conversation failed");
        assert_eq!(e.class, Class::Other);
    }

    // sudo formats: sudo's plugins/sudoers/logging.c (`new_logline`): "user : [reason ; ]TTY=…"

    #[test]
    fn sudo_command() {
        let e = auth(
            "sudo",
            "   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id",
        );
        assert_eq!(
            shape(&e),
            (
                Class::ProcessActivity,
                Activity::Launch,
                Outcome::Success,
                Severity::Informational
            )
        );
        assert_eq!(e.actor.user.as_deref(), Some("alice"));
        assert_eq!(e.attrs["sudo.run_as"], "root");
        assert_eq!(e.attrs["sudo.command"], "/usr/bin/id");
        assert_eq!(e.attrs["sudo.tty"], "pts/0");
        assert_eq!(e.attrs["sudo.pwd"], "/home/alice");
        assert!(!e.attrs.contains_key("sudo.reason"));
        // sudo 1.9 adds fields; commands may contain ` ; `.
        let e = auth(
            "sudo",
            "alice : TTY=pts/1 ; PWD=/srv ; USER=postgres ; GROUP=postgres ; ENV=PGDATA=/srv/pg ; COMMAND=/bin/sh -c 'pg_dump x ; echo done'",
        );
        assert_eq!(e.attrs["sudo.run_as_group"], "postgres");
        assert_eq!(
            e.attrs["sudo.command"],
            "/bin/sh -c 'pg_dump x ; echo done'"
        );
    }

    #[test]
    fn sudo_refused() {
        for (text, reason) in [
            (
                "mallory : user NOT in sudoers ; TTY=pts/0 ; PWD=/home/mallory ; USER=root ; COMMAND=/usr/bin/id",
                "user NOT in sudoers",
            ),
            (
                "alice : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/passwd root",
                "3 incorrect password attempts",
            ),
            (
                "alice : command not allowed ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/su",
                "command not allowed",
            ),
        ] {
            let e = auth("sudo", text);
            assert_eq!(
                shape(&e),
                (
                    Class::ProcessActivity,
                    Activity::Launch,
                    Outcome::Failure,
                    Severity::Medium
                ),
                "{text}"
            );
            assert_eq!(e.attrs["sudo.reason"], reason);
            assert_eq!(e.attrs["sudo.run_as"], "root");
            assert_eq!(e.attrs["authlog.rule"], "sudo.refused");
        }
        // A warning, not a command log line.
        let e = auth(
            "sudo",
            "alice : unable to resolve host web-1: Name or service not known",
        );
        assert_eq!(e.class, Class::Other);
        let e = auth(
            "sudo",
            "pam_unix(sudo:session): session closed for user root",
        );
        assert_eq!(e.class, Class::Other);
    }

    #[test]
    fn su_variants() {
        // shadow-utils libmisc/sulog.c
        let e = auth("su[900]", "Successful su for root by alice");
        assert_eq!(
            shape(&e),
            (
                Class::Authentication,
                Activity::Logon,
                Outcome::Success,
                Severity::Informational
            )
        );
        assert_eq!(e.actor.user.as_deref(), Some("alice"));
        assert_eq!(e.attrs["target.user"], "root");
        let e = auth("su[900]", "FAILED su for root by mallory");
        assert_eq!(
            (e.outcome, e.actor.user.as_deref()),
            (Outcome::Failure, Some("mallory"))
        );
        assert_eq!(e.attrs["target.user"], "root");
        // util-linux su-common.c
        let e = auth("su[900]", "FAILED SU (to root) alice on pts/0");
        assert_eq!(
            shape(&e),
            (
                Class::Authentication,
                Activity::Logon,
                Outcome::Failure,
                Severity::Low
            )
        );
        assert_eq!(e.actor.user.as_deref(), Some("alice"));
        assert_eq!(e.attrs["target.user"], "root");
        assert_eq!(e.attrs["su.tty"], "pts/0");
        // util-linux su-common.c success line
        let e = auth("su[900]", "(to postgres) alice on pts/3");
        assert_eq!(
            (e.outcome, e.attrs["target.user"].as_str()),
            (Outcome::Success, Some("postgres"))
        );
        // shadow-utils su.c, logged after the lines above
        let e = auth("su[900]", "- /dev/pts/0 alice:root");
        assert_eq!(
            (e.outcome, e.actor.user.as_deref()),
            (Outcome::Failure, Some("alice"))
        );
        let e = auth("su[900]", "+ /dev/pts/0 alice:root");
        assert_eq!(e.outcome, Outcome::Success);
    }

    #[test]
    fn shadow_account_management() {
        // useradd.c: "new user: name=%s, UID=%u, GID=%u, home=%s, shell=%s, from=%s"
        let e = auth(
            "useradd[1201]",
            "new user: name=bob, UID=1001, GID=1001, home=/home/bob, shell=/bin/bash, from=/dev/pts/0",
        );
        assert_eq!(
            shape(&e),
            (
                Class::AccountChange,
                Activity::Create,
                Outcome::Success,
                Severity::Low
            )
        );
        assert_eq!(e.attrs["target.user"], "bob");
        assert_eq!(e.attrs["target.uid"], 1001);
        assert_eq!(e.attrs["target.gid"], 1001);
        assert_eq!(e.attrs["target.home"], "/home/bob");
        assert_eq!(e.attrs["target.shell"], "/bin/bash");
        assert_eq!(e.attrs["useradd.from"], "/dev/pts/0");
        assert!(e.actor.user.is_none(), "useradd does not log who ran it");
        let e = auth(
            "useradd[1201]",
            "new user: name=svc, UID=998, GID=998, home=/nonexistent, shell=/usr/sbin/nologin",
        );
        assert_eq!(e.attrs["target.user"], "svc");
        assert!(!e.attrs.contains_key("useradd.from"));
        assert_eq!(
            auth("useradd[1201]", "new group: name=bob, GID=1001").class,
            Class::Other
        );

        // userdel.c: "delete user '%s'"
        let e = auth("userdel[1300]", "delete user 'bob'");
        assert_eq!(
            (e.class, e.activity),
            (Class::AccountChange, Activity::Delete)
        );
        assert_eq!(e.attrs["target.user"], "bob");

        // usermod.c
        let e = auth("usermod[1400]", "add 'bob' to group 'sudo'");
        assert_eq!(
            (e.class, e.activity),
            (Class::AccountChange, Activity::Other)
        );
        assert_eq!(e.attrs["target.group"], "sudo");
        assert_eq!(
            auth("usermod[1400]", "add 'bob' to shadow group 'sudo'").class,
            Class::Other
        );
        assert_eq!(
            auth("usermod[1400]", "lock user 'bob' password").activity,
            Activity::Lock
        );
        assert_eq!(
            auth("usermod[1400]", "unlock user 'bob' password").activity,
            Activity::Enable
        );
        assert_eq!(
            auth("usermod[1400]", "change user 'bob' password").activity,
            Activity::PasswordChange
        );

        // passwd.c: "password for '%s' changed by '%s'"
        let e = auth("passwd[1500]", "password for 'bob' changed by 'root'");
        assert_eq!(
            shape(&e),
            (
                Class::AccountChange,
                Activity::PasswordChange,
                Outcome::Success,
                Severity::Informational
            )
        );
        assert_eq!(e.actor.user.as_deref(), Some("root"));
        assert_eq!(e.attrs["target.user"], "bob");
        // Linux-PAM pam_unix_passwd.c, from passwd or chpasswd
        let e = auth(
            "chpasswd[1501]",
            "pam_unix(chpasswd:chauthtok): password changed for bob",
        );
        assert_eq!(e.activity, Activity::PasswordChange);
        assert_eq!(e.attrs["target.user"], "bob");
        assert_eq!(e.attrs["pam.service"], "chpasswd");
    }

    #[test]
    fn logind_sessions() {
        // systemd src/login/logind-session.c, before and since v255
        let e = auth("systemd-logind[512]", "New session 42 of user alice.");
        assert_eq!(
            (e.class, e.activity, e.outcome),
            (Class::Authentication, Activity::Logon, Outcome::Success)
        );
        assert_eq!(e.actor.user.as_deref(), Some("alice"));
        assert_eq!(e.attrs["logind.session"], "42");
        let e = auth(
            "systemd-logind[512]",
            "New session '7' of user 'bob' with class 'user' and type 'tty'.",
        );
        assert_eq!(e.actor.user.as_deref(), Some("bob"));
        assert_eq!(e.attrs["logind.session"], "7");
        let e = auth(
            "systemd-logind[512]",
            "Session 42 logged out. Waiting for processes to exit.",
        );
        assert_eq!(e.activity, Activity::Logoff);
        assert!(e.actor.user.is_none());
        assert_eq!(
            auth("systemd-logind[512]", "Removed session 42.").class,
            Class::Other
        );
    }

    #[test]
    fn other_programs_are_not_touched() {
        // An attacker-controlled program name must not make a logon.
        let e = auth(
            "myapp[1]",
            "Accepted password for root from 10.0.0.1 port 1 ssh2",
        );
        assert_eq!(e.class, Class::Other);
        let e = decode_line(
            Format::Syslog,
            b"Accepted password for root from 10.0.0.1 port 1 ssh2",
            &ctx(),
        )
        .unwrap();
        assert_eq!(e.class, Class::Other);
        assert_eq!(
            json!(e.labels),
            json!({"syslog":"unparsed","time_source":"received"})
        );
    }
}
