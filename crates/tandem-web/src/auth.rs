//! Who is asking: API tokens, console sessions, passwords.

use crate::{ApiError, AppState};
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use tandem_ingest::pipeline::hash_key;

/// Name of the console session cookie.
pub const SESSION_COOKIE: &str = "tandem_session";

/// What a caller may do. Department roles join with the console issue; for now an
/// administrator manages sources and users, an analyst searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Analyst,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Role {
        match s {
            "admin" => Role::Admin,
            "analyst" => Role::Analyst,
            _ => Role::Viewer,
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    /// True for console sessions (cookies), false for API tokens.
    pub session: bool,
}

impl Principal {
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
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

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(token) = bearer(parts) {
            return match state.accounts.token(&hash_key(token))? {
                Some(t) => Ok(Principal {
                    name: t.name,
                    role: Role::parse(&t.role),
                    session: false,
                }),
                None => Err(ApiError::unauthorized()),
            };
        }
        let session = cookie(parts, SESSION_COOKIE);
        match session
            .map(|s| state.accounts.session_user(&hash_key(s)))
            .transpose()?
        {
            Some(Some(user)) => Ok(Principal {
                name: user.name,
                role: Role::parse(&user.role),
                session: true,
            }),
            _ => Err(ApiError::unauthorized()),
        }
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

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

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
