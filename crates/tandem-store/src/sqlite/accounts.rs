//! People and machines allowed into Tandem: users, API tokens, console sessions.
//!
//! Only hashes are stored: argon2id for passwords (computed by the caller), SHA-256 for API
//! tokens and session ids, which are long random values where a slow hash buys nothing.

use super::SqliteStore;
use crate::{Account, AccountStore, ApiToken, StoreError, TokenSummary, UserSummary};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS api_tokens (
    sha256 TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    created INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS sessions (
    sha256 TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    expires INTEGER NOT NULL
) STRICT;
";

impl SqliteStore {
    pub(super) fn write_conn(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open(self.path())?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(conn)
    }
}

impl AccountStore for SqliteStore {
    fn create_user(&self, account: &Account) -> Result<bool, StoreError> {
        let n = self.write_conn()?.execute(
            "INSERT OR IGNORE INTO users (name, password_hash, role, created) VALUES (?, ?, ?, ?)",
            params![
                account.name,
                account.password_hash,
                account.role,
                Utc::now().timestamp_micros()
            ],
        )?;
        Ok(n == 1)
    }

    fn set_password(&self, name: &str, password_hash: &str) -> Result<bool, StoreError> {
        let n = self.write_conn()?.execute(
            "UPDATE users SET password_hash = ? WHERE name = ?",
            params![password_hash, name],
        )?;
        Ok(n == 1)
    }

    fn user(&self, name: &str) -> Result<Option<Account>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT name, password_hash, role FROM users WHERE name = ?",
                    [name],
                    |r| {
                        Ok(Account {
                            name: r.get(0)?,
                            password_hash: r.get(1)?,
                            role: r.get(2)?,
                        })
                    },
                )
                .optional()?)
        })
    }

    fn user_count(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            Ok(conn.query_row("SELECT count(*) FROM users", [], |r| r.get::<_, i64>(0))? as u64)
        })
    }

    fn create_token(&self, token: &ApiToken) -> Result<(), StoreError> {
        self.write_conn()?.execute(
            "INSERT INTO api_tokens (sha256, name, role, created) VALUES (?, ?, ?, ?)",
            params![
                token.sha256,
                token.name,
                token.role,
                Utc::now().timestamp_micros()
            ],
        )?;
        Ok(())
    }

    fn token(&self, sha256: &str) -> Result<Option<ApiToken>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT sha256, name, role FROM api_tokens WHERE sha256 = ?",
                    [sha256],
                    |r| {
                        Ok(ApiToken {
                            sha256: r.get(0)?,
                            name: r.get(1)?,
                            role: r.get(2)?,
                        })
                    },
                )
                .optional()?)
        })
    }

    fn create_session(
        &self,
        sha256: &str,
        user: &str,
        expires: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let conn = self.write_conn()?;
        conn.execute(
            "DELETE FROM sessions WHERE expires < ?",
            [Utc::now().timestamp_micros()],
        )?;
        conn.execute(
            "INSERT INTO sessions (sha256, user, expires) VALUES (?, ?, ?)",
            params![sha256, user, expires.timestamp_micros()],
        )?;
        Ok(())
    }

    fn session_user(&self, sha256: &str) -> Result<Option<Account>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT u.name, u.password_hash, u.role FROM sessions s JOIN users u ON u.name = s.user
                     WHERE s.sha256 = ? AND s.expires > ?",
                    params![sha256, Utc::now().timestamp_micros()],
                    |r| Ok(Account { name: r.get(0)?, password_hash: r.get(1)?, role: r.get(2)? }),
                )
                .optional()?)
        })
    }

    fn delete_session(&self, sha256: &str) -> Result<(), StoreError> {
        self.write_conn()?
            .execute("DELETE FROM sessions WHERE sha256 = ?", [sha256])?;
        Ok(())
    }

    fn list_users(&self) -> Result<Vec<UserSummary>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare("SELECT name, role, created FROM users ORDER BY name")?;
            let rows = stmt.query_map([], |r| {
                Ok(UserSummary {
                    name: r.get(0)?,
                    role: r.get(1)?,
                    created: micros(r.get(2)?),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn set_role(&self, name: &str, role: &str) -> Result<bool, StoreError> {
        let n = self.write_conn()?.execute(
            "UPDATE users SET role = ? WHERE name = ?",
            params![role, name],
        )?;
        Ok(n == 1)
    }

    fn list_tokens(&self) -> Result<Vec<TokenSummary>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT name, role, created FROM api_tokens ORDER BY created DESC, name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(TokenSummary {
                    name: r.get(0)?,
                    role: r.get(1)?,
                    created: micros(r.get(2)?),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}

/// A stored microsecond timestamp (`created` columns); an unreadable one reads as the epoch
/// rather than hiding the row.
fn micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}
