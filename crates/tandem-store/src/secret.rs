//! The one form in which Tandem keeps secrets it only needs to recognise.
//!
//! Source API keys, API tokens, session ids and the CSRF and sign-in tokens derived from them
//! are all stored and compared as the hex SHA-256 [`hash_key`] gives, never as themselves, so
//! a copy of the database hands out no credential. They live here, beside the tables that hold
//! them ([`crate::AccountStore`], sources), so that the web layer that issues them and the
//! ingest pipeline that checks source keys hash them the same way without depending on each
//! other. (Passwords are different: they are slow argon2id hashes in the web crate.)

use sha2::{Digest, Sha256};

/// Hex SHA-256 of a key, token or session id: the form they are stored and compared in.
pub fn hash_key(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hash_key_is_hex_sha256() {
        // `printf abc | sha256sum`
        assert_eq!(
            super::hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
