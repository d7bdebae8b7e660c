//! Well-known accounts that are not people: the operating system's own identities, services
//! and machine accounts.
//!
//! A Windows server logs most of its events as `SYSTEM`, `LOCAL SERVICE` or its own machine
//! account (`HOST$`), a Linux host as `root` or `www-data`. None of them is a person the
//! directory could hold, so counting them as unknown people drowns the real gaps. They are
//! recognised here, in one place, and only when the directory did not resolve the account:
//! a directory record for an account (a `backup` user that is a person's login) always wins.
//!
//! Sources for the lists:
//! * Windows well-known SIDs and their names: Microsoft, "Well-known SIDs"
//!   (<https://learn.microsoft.com/en-us/windows/win32/secauthz/well-known-sids>) and
//!   "Well-known security identifiers in Windows operating systems"
//!   (<https://learn.microsoft.com/en-us/windows-server/identity/ad-ds/manage/understand-security-identifiers>).
//!   `DWM-<n>` (`Window Manager`, `S-1-5-90-0-<n>`) and `UMFD-<n>` (`Font Driver Host`,
//!   `S-1-5-96-0-<n>`) are the per-session accounts Windows creates at each sign-in.
//!   Machine accounts are the computer's name followed by `$` (MS-ADTS, "sAMAccountName").
//! * Linux system users: Debian `base-passwd` (`/usr/share/base-passwd/passwd.master`), the
//!   systemd system users (`systemd-*`, `systemd-sysusers`), and the usual daemon users of
//!   common distributions (`sshd`, `messagebus`, `_apt`, `postgres`, …).

/// What kind of non-person account an identifier is; stored as `actor.non_person`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonPerson {
    /// A Windows built-in identity: `SYSTEM`, `LOCAL SERVICE`, `NETWORK SERVICE`,
    /// `ANONYMOUS LOGON`, `DWM-1`, `UMFD-0`, `NT SERVICE\…`, `IIS APPPOOL\…`.
    WindowsBuiltin,
    /// A computer's own domain account: `HOST$`.
    Machine,
    /// A Unix system or daemon user: `root`, `daemon`, `nobody`, `www-data`, `systemd-…`.
    UnixSystem,
    /// An application signing in as itself (an Entra ID service principal sign-in); set by
    /// the decoder, which knows it from the log's category.
    ServicePrincipal,
    /// An Azure managed identity signing in; set by the decoder.
    ManagedIdentity,
    /// An account the directory holds as a service account.
    ServiceAccount,
}

impl NonPerson {
    /// The name stored on the event and shown in reports.
    pub fn name(self) -> &'static str {
        match self {
            NonPerson::WindowsBuiltin => "windows_builtin",
            NonPerson::Machine => "machine",
            NonPerson::UnixSystem => "unix_system",
            NonPerson::ServicePrincipal => "service_principal",
            NonPerson::ManagedIdentity => "managed_identity",
            NonPerson::ServiceAccount => "service_account",
        }
    }
}

/// Windows SIDs that are not people (exact).
const WINDOWS_SIDS: &[&str] = &[
    "s-1-0-0",  // NULL SID
    "s-1-1-0",  // Everyone
    "s-1-2-0",  // LOCAL
    "s-1-3-0",  // CREATOR OWNER
    "s-1-5-7",  // ANONYMOUS LOGON
    "s-1-5-18", // SYSTEM (LocalSystem)
    "s-1-5-19", // LOCAL SERVICE
    "s-1-5-20", // NETWORK SERVICE
];

/// Prefixes of Windows SIDs issued to services and sessions, not people.
const WINDOWS_SID_PREFIXES: &[&str] = &[
    "s-1-5-80-", // NT SERVICE\<service>
    "s-1-5-82-", // IIS APPPOOL\<pool>
    "s-1-5-83-", // NT VIRTUAL MACHINE\<vm>
    "s-1-5-90-", // Window Manager\DWM-<n>
    "s-1-5-96-", // Font Driver Host\UMFD-<n>
];

/// Windows account names that are not people (lower case, without the domain).
const WINDOWS_NAMES: &[&str] = &[
    "system",
    "local system",
    "localsystem",
    "local service",
    "localservice",
    "network service",
    "networkservice",
    "anonymous logon",
    "iusr",
    "defaultaccount",
    "wdagutilityaccount",
];

/// Windows domains (authorities) whose every account is built in (lower case).
const WINDOWS_DOMAINS: &[&str] = &[
    "nt authority",
    "nt service",
    "nt virtual machine",
    "window manager",
    "font driver host",
    "iis apppool",
];

/// Linux system and daemon users (lower case).
const UNIX_NAMES: &[&str] = &[
    // Debian base-passwd.
    "root",
    "daemon",
    "bin",
    "sys",
    "sync",
    "games",
    "man",
    "lp",
    "mail",
    "news",
    "uucp",
    "proxy",
    "www-data",
    "backup",
    "list",
    "irc",
    "gnats",
    "nobody",
    "_apt",
    // systemd and common daemons.
    "messagebus",
    "sshd",
    "polkitd",
    "syslog",
    "chrony",
    "ntp",
    "postfix",
    "dnsmasq",
    "avahi",
    "nginx",
    "apache",
    "postgres",
    "mysql",
    "redis",
    "tss",
    "uuidd",
    "tcpdump",
    "landscape",
    "pollinate",
    "usbmux",
    "rtkit",
    "colord",
    "geoclue",
    "pulse",
    "lightdm",
    "gdm",
    "sssd",
    "dbus",
    "adm",
    "halt",
    "shutdown",
    "operator",
    "ftp",
];

/// The non-person kind of an account given by its SID or user id, user name and domain, if
/// it is one. `user` may carry its domain (`NT AUTHORITY\SYSTEM`, `HOST$@corp.example`).
pub fn non_person(
    uid: Option<&str>,
    user: Option<&str>,
    domain: Option<&str>,
) -> Option<NonPerson> {
    if let Some(uid) = uid {
        let uid = uid.trim().to_ascii_lowercase();
        if WINDOWS_SIDS.contains(&uid.as_str())
            || WINDOWS_SID_PREFIXES.iter().any(|p| uid.starts_with(p))
        {
            return Some(NonPerson::WindowsBuiltin);
        }
    }
    let user = user?.trim().to_lowercase();
    let (domain_in_name, name) = match user.split_once('\\') {
        Some((d, n)) => (Some(d), n),
        None => (None, user.split('@').next().unwrap_or(&user)),
    };
    let domain = domain_in_name
        .map(str::to_owned)
        .or_else(|| domain.map(|d| d.trim().to_lowercase()));
    if domain
        .as_deref()
        .is_some_and(|d| WINDOWS_DOMAINS.contains(&d))
        || WINDOWS_NAMES.contains(&name)
        || numbered(name, "dwm-")
        || numbered(name, "umfd-")
    {
        return Some(NonPerson::WindowsBuiltin);
    }
    if name.len() > 1 && name.ends_with('$') {
        return Some(NonPerson::Machine);
    }
    if UNIX_NAMES.contains(&name) || name.starts_with("systemd-") {
        return Some(NonPerson::UnixSystem);
    }
    None
}

/// `prefix` followed by a session number only (`dwm-1`, `umfd-12`).
fn numbered(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(u: &str) -> Option<NonPerson> {
        non_person(None, Some(u), None)
    }

    #[test]
    fn windows_built_in_accounts_are_recognised_by_name_domain_and_sid() {
        for u in [
            "SYSTEM",
            "NT AUTHORITY\\SYSTEM",
            "LOCAL SERVICE",
            "NETWORK SERVICE",
            "ANONYMOUS LOGON",
            "DWM-1",
            "Window Manager\\DWM-3",
            "UMFD-0",
            "Font Driver Host\\UMFD-12",
            "NT SERVICE\\MSSQLSERVER",
        ] {
            assert_eq!(user(u), Some(NonPerson::WindowsBuiltin), "{u}");
        }
        assert_eq!(
            non_person(None, Some("SQLTELEMETRY"), Some("NT SERVICE")),
            Some(NonPerson::WindowsBuiltin)
        );
        for sid in [
            "S-1-5-18",
            "S-1-5-19",
            "S-1-5-20",
            "S-1-5-7",
            "S-1-5-90-0-2",
        ] {
            assert_eq!(
                non_person(Some(sid), None, None),
                Some(NonPerson::WindowsBuiltin),
                "{sid}"
            );
        }
    }

    #[test]
    fn machine_and_unix_system_accounts_are_recognised() {
        assert_eq!(user("WS-0042$"), Some(NonPerson::Machine));
        assert_eq!(user("CORP\\DC01$"), Some(NonPerson::Machine));
        for u in [
            "root",
            "daemon",
            "nobody",
            "www-data",
            "systemd-resolve",
            "_apt",
        ] {
            assert_eq!(user(u), Some(NonPerson::UnixSystem), "{u}");
        }
    }

    #[test]
    fn people_are_not_non_person_accounts() {
        for u in [
            "alice",
            "CORP\\aberg",
            "ingrid.dahl@nordlys.example",
            "systemadmin",
            "dwm-admin",
            "$",
            "rooted",
        ] {
            assert_eq!(user(u), None, "{u}");
        }
        // A person's domain SID is a person, whatever the name.
        assert_eq!(
            non_person(
                Some("S-1-5-21-1004336348-1177238915-682003330-1104"),
                Some("jdoe"),
                None
            ),
            None
        );
    }
}
