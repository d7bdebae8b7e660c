//! Who is asking: API tokens, console sessions, passwords.

use crate::access::{Permission, Role};
use crate::{ApiError, AppState};
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use tandem_store::hash_key;

/// Name of the console session cookie.
pub const SESSION_COOKIE: &str = "tandem_session";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    /// True for console sessions (cookies), false for API tokens.
    pub session: bool,
    /// The address the request came from (the connection's peer), for the audit log's
    /// "from where"; `None` when the server was not told (a router driven without a socket).
    pub addr: Option<std::net::IpAddr>,
}

impl Principal {
    pub fn can(&self, p: Permission) -> bool {
        self.role.permits(p)
    }

    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if self.can(p) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }
}

/// The bearer token of a request, if any (`Authorization: Bearer …` or `X-Api-Key`).
pub fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .or_else(|| parts.headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(str::trim)
}

/// The value of a cookie.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    /// The access layer has usually authenticated the request already and left the
    /// principal in the extensions; otherwise (a route reached without the layer, in tests)
    /// the credentials are checked here.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        authenticate(parts, state).await
    }
}

/// Checks the request's API token or session cookie.
pub async fn authenticate(parts: &Parts, state: &AppState) -> Result<Principal, ApiError> {
    let accounts = state.accounts.clone();
    let (name, role, session) = if let Some(token) = bearer(parts) {
        let hashed = hash_key(token);
        match tokio::task::spawn_blocking(move || accounts.token(&hashed)).await?? {
            Some(t) => (t.name, t.role, false),
            None => return Err(ApiError::unauthorized()),
        }
    } else {
        let Some(session) = cookie(parts, SESSION_COOKIE) else {
            return Err(ApiError::unauthorized());
        };
        let hashed = hash_key(session);
        match tokio::task::spawn_blocking(move || accounts.session_user(&hashed)).await?? {
            Some(user) => (user.name, user.role, true),
            None => return Err(ApiError::unauthorized()),
        }
    };
    let role = Role::parse(&role).ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            format!("the role `{role}` of `{name}` is not one Tandem knows; ask an administrator"),
        )
    })?;
    let addr = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_canonical());
    Ok(Principal {
        name,
        role,
        session,
        addr,
    })
}

/// The token a console form must send back with every change (`csrf` field or
/// `X-CSRF-Token` header). Derived from the session secret, so it needs no storage, differs
/// per session, and cannot be computed by another site that only makes the browser send the
/// cookie.
pub fn csrf_token(session_secret: &str) -> String {
    hash_key(&format!("csrf:{session_secret}"))
}

/// The CSRF token as a page carries it: XORed with a fresh random mask, the mask written
/// before it (128 hex digits). Pages are compressed, and a page that reflects what a visitor
/// typed (a search) beside a fixed secret would let an attacker who can watch the sizes of
/// encrypted answers guess the secret a digit at a time (BREACH); a token that changes with
/// every answer gives the guesses nothing to converge on. [`csrf_matches`] takes either form.
pub fn masked_csrf_token(session_secret: &str) -> String {
    use std::fmt::Write;
    let token = unhex(&csrf_token(session_secret)).unwrap_or_default();
    let mut mask = vec![0u8; token.len()];
    getrandom::fill(&mut mask).expect("the operating system provides randomness");
    let mut out = String::with_capacity(4 * token.len());
    for b in mask.iter().chain(
        &mask
            .iter()
            .zip(&token)
            .map(|(m, t)| m ^ t)
            .collect::<Vec<_>>(),
    ) {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Whether `sent` is the session's CSRF token, plain ([`csrf_token`]) or masked
/// ([`masked_csrf_token`]).
pub fn csrf_matches(session_secret: &str, sent: &[u8]) -> bool {
    let expected = csrf_token(session_secret);
    let Some(expected) = unhex(&expected) else {
        return false;
    };
    let Some(sent) = std::str::from_utf8(sent).ok().and_then(unhex) else {
        return false;
    };
    let token: Vec<u8> = if sent.len() == 2 * expected.len() {
        let (mask, masked) = sent.split_at(expected.len());
        mask.iter().zip(masked).map(|(m, x)| m ^ x).collect()
    } else {
        sent
    };
    // Compared in full whatever differs first, so the time taken says nothing.
    token.len() == expected.len()
        && token
            .iter()
            .zip(&expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Bytes from lowercase or uppercase hex digits; `None` for anything else.
fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Slows password guessing: after [`LoginThrottle::MAX_FAILURES`] wrong passwords for one
/// user name within [`LoginThrottle::WINDOW`], that name is refused until the oldest failure
/// leaves the window, whatever the password. Kept in memory: a restart forgives, which is
/// acceptable for a limit meant to turn thousands of guesses an hour into a handful.
#[derive(Default)]
pub struct LoginThrottle {
    failures: std::sync::Mutex<std::collections::HashMap<String, Vec<std::time::Instant>>>,
}

impl LoginThrottle {
    pub const MAX_FAILURES: usize = 5;
    pub const WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);
    /// Names tracked at most, so a flood of made-up names cannot exhaust memory.
    const MAX_NAMES: usize = 100_000;

    fn key(name: &str) -> String {
        name.trim().to_lowercase()
    }

    /// How long until `name` may try again, if it is locked now.
    pub fn locked_for(&self, name: &str) -> Option<std::time::Duration> {
        let now = std::time::Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let list = map.get_mut(&Self::key(name))?;
        list.retain(|t| now.duration_since(*t) < Self::WINDOW);
        (list.len() >= Self::MAX_FAILURES)
            .then(|| Self::WINDOW.saturating_sub(now.duration_since(list[0])))
    }

    pub fn failed(&self, name: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= Self::MAX_NAMES {
            let now = std::time::Instant::now();
            map.retain(|_, l| l.iter().any(|t| now.duration_since(*t) < Self::WINDOW));
        }
        map.entry(Self::key(name))
            .or_default()
            .push(std::time::Instant::now());
    }

    pub fn succeeded(&self, name: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&Self::key(name));
    }
}

/// A random secret (API key, token, session id, first password): 32 bytes, URL-safe text.
pub fn generate_secret(prefix: &str) -> String {
    // 32 characters from a 57-letter alphabet without look-alikes: about 186 bits.
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let body: String = bytes
        .iter()
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect();
    format!("{prefix}{body}")
}

/// Argon2id PHC string for a password.
pub fn hash_password(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .expect("argon2 with default parameters does not fail")
        .to_string()
}

/// Whether `password` is the one `phc` was made from.
///
/// Costs one argon2id verification whatever `phc` is: a hash that does not parse (an
/// account with no password, such as one made by single sign-on, stores `!`) is answered
/// only after the same work on [`dummy_hash`], so the time a wrong answer takes does not
/// tell whether the account has a password.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => argon2_verify(password, &h),
        Err(_) => {
            verify_unknown_user(password);
            false
        }
    }
}

/// The work a sign-in does for a user name that does not exist: one argon2id verification
/// against [`dummy_hash`], whose answer is thrown away. Without it a wrong password for an
/// existing user took ≈41 ms and any password for an unknown user ≈5 ms, which told an
/// attacker which user names exist.
pub fn verify_unknown_user(password: &str) {
    if let Ok(h) = PasswordHash::new(dummy_hash()) {
        let _ = argon2_verify(password, &h);
    }
}

/// A hash of a random password nobody knows, made once with the same parameters as
/// [`hash_password`], so verifying against it costs what verifying a real one does.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&generate_secret("")))
}

fn argon2_verify(password: &str, h: &PasswordHash) -> bool {
    #[cfg(test)]
    tests::VERIFICATIONS.with(|n| n.set(n.get() + 1));
    Argon2::default()
        .verify_password(password.as_bytes(), h)
        .is_ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    thread_local! {
        /// Argon2 verifications run on this thread (each test runs on its own).
        pub static VERIFICATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    #[test]
    fn a_masked_csrf_token_differs_every_time_and_only_the_sessions_token_matches() {
        let (a, b) = (masked_csrf_token("s-1"), masked_csrf_token("s-1"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 128);
        assert!(csrf_matches("s-1", a.as_bytes()));
        assert!(csrf_matches("s-1", b.as_bytes()));
        assert!(csrf_matches("s-1", csrf_token("s-1").as_bytes()));
        assert!(!csrf_matches("s-2", a.as_bytes()));
        assert!(!csrf_matches("s-2", csrf_token("s-1").as_bytes()));
        for bad in ["", "zz", &a[..127], &a[..126], "é", &format!("{a}00")] {
            assert!(!csrf_matches("s-1", bad.as_bytes()), "{bad}");
        }
    }

    fn verifications() -> u64 {
        VERIFICATIONS.with(|n| n.get())
    }

    #[test]
    fn an_unknown_user_costs_one_verification_with_the_same_parameters() {
        let before = verifications();
        verify_unknown_user("guess");
        assert_eq!(verifications(), before + 1);
        // An account without a password (`!`) costs the same too.
        assert!(!verify_password("guess", "!"));
        assert_eq!(verifications(), before + 2);
        assert!(!verify_password("guess", &hash_password("other")));
        assert_eq!(verifications(), before + 3);

        let real = hash_password("x");
        let (dummy, real) = (
            PasswordHash::new(dummy_hash()).unwrap(),
            PasswordHash::new(&real).unwrap(),
        );
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params.to_string(), real.params.to_string());
        assert_eq!(dummy.algorithm.as_str(), "argon2id");
    }

    #[test]
    fn throttle_locks_after_repeated_failures_per_name() {
        let t = LoginThrottle::default();
        for _ in 0..LoginThrottle::MAX_FAILURES - 1 {
            t.failed("Alice");
        }
        assert_eq!(t.locked_for("alice"), None);
        t.failed("alice ");
        let wait = t.locked_for("ALICE").expect("locked");
        assert!(wait > std::time::Duration::from_secs(14 * 60), "{wait:?}");
        assert_eq!(t.locked_for("bob"), None);
        t.succeeded("alice");
        assert_eq!(t.locked_for("alice"), None);
    }

    #[test]
    fn passwords_verify_only_when_right() {
        let h = hash_password("correct horse");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn secrets_are_long_and_distinct() {
        let a = generate_secret("tk_");
        assert_eq!(a.len(), 35);
        assert_ne!(a, generate_secret("tk_"));
    }
}
