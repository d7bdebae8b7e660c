//! People and machines allowed into Tandem: users, API tokens, console sessions.
//!
//! Only hashes are stored: argon2id for passwords (computed by the caller), SHA-256 for API
//! tokens and session ids, which are long random values where a slow hash buys nothing.
//! Accounts of people an identity provider signs in (single sign-on) are linked to the
//! provider's issuer and subject in `external_accounts`, and have no usable password.

use super::SqliteStore;
use crate::{
    Account, AccountStore, ApiToken, EXTERNAL_PASSWORD_HASH, ExternalIdentity, ExternalSignIn,
    StoreError, TokenSummary, UserSummary,
};
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
CREATE TABLE IF NOT EXISTS external_accounts (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
) STRICT;
";

/// Adds the console time-zone column to user tables made before users could choose one;
/// their users keep UTC (NULL).
pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let has_zone = conn
        .prepare("SELECT 1 FROM pragma_table_info('users') WHERE name = 'time_zone'")?
        .exists([])?;
    if !has_zone {
        conn.execute_batch("ALTER TABLE users ADD COLUMN time_zone TEXT")?;
    }
    Ok(())
}

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
            let mut stmt = conn.prepare(
                "SELECT u.name, u.role, u.created, e.user IS NOT NULL FROM users u
                 LEFT JOIN external_accounts e ON e.user = u.name ORDER BY u.name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(UserSummary {
                    name: r.get(0)?,
                    role: r.get(1)?,
                    created: micros(r.get(2)?),
                    external: r.get(3)?,
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

    fn sign_in_external(&self, who: &ExternalIdentity) -> Result<ExternalSignIn, StoreError> {
        let mut conn = self.write_conn()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let now = Utc::now().timestamp_micros();
        let outcome = match Self::external_user(&tx, &who.issuer, &who.subject)? {
            Some(name) => {
                let previous: Option<String> = tx
                    .query_row("SELECT role FROM users WHERE name = ?", [&name], |r| {
                        r.get(0)
                    })
                    .optional()?;
                match previous {
                    Some(previous_role) => {
                        tx.execute(
                            "UPDATE users SET role = ?, password_hash = ? WHERE name = ?",
                            params![who.role, EXTERNAL_PASSWORD_HASH, name],
                        )?;
                        ExternalSignIn::Updated {
                            name,
                            previous_role,
                        }
                    }
                    // The user row is gone (removed by hand): make it again under the same
                    // name, which the link still reserves.
                    None => {
                        tx.execute(
                            "INSERT INTO users (name, password_hash, role, created) VALUES (?, ?, ?, ?)",
                            params![name, EXTERNAL_PASSWORD_HASH, who.role, now],
                        )?;
                        ExternalSignIn::Created { name }
                    }
                }
            }
            None => {
                let taken = tx
                    .query_row(
                        "SELECT 1 FROM users WHERE name = ?",
                        [&who.name],
                        |_| Ok(()),
                    )
                    .optional()?
                    .is_some()
                    || tx
                        .query_row(
                            "SELECT 1 FROM external_accounts WHERE user = ?",
                            [&who.name],
                            |_| Ok(()),
                        )
                        .optional()?
                        .is_some();
                if taken {
                    ExternalSignIn::NameTaken
                } else {
                    tx.execute(
                        "INSERT INTO users (name, password_hash, role, created) VALUES (?, ?, ?, ?)",
                        params![who.name, EXTERNAL_PASSWORD_HASH, who.role, now],
                    )?;
                    tx.execute(
                        "INSERT INTO external_accounts (issuer, subject, user, created) VALUES (?, ?, ?, ?)",
                        params![who.issuer, who.subject, who.name, now],
                    )?;
                    ExternalSignIn::Created {
                        name: who.name.clone(),
                    }
                }
            }
        };
        tx.commit()?;
        Ok(outcome)
    }

    fn time_zone(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .query_row("SELECT time_zone FROM users WHERE name = ?", [name], |r| {
                    r.get::<_, Option<String>>(0)
                })
                .optional()?
                .flatten())
        })
    }

    fn set_time_zone(&self, name: &str, zone: Option<&str>) -> Result<bool, StoreError> {
        let n = self.write_conn()?.execute(
            "UPDATE users SET time_zone = ? WHERE name = ?",
            params![zone, name],
        )?;
        Ok(n == 1)
    }

    fn end_external_sessions(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<String>, StoreError> {
        let conn = self.write_conn()?;
        let name = Self::external_user(&conn, issuer, subject)?;
        if let Some(name) = &name {
            conn.execute("DELETE FROM sessions WHERE user = ?", [name])?;
        }
        Ok(name)
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

impl SqliteStore {
    fn external_user(
        conn: &Connection,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(conn
            .query_row(
                "SELECT user FROM external_accounts WHERE issuer = ? AND subject = ?",
                [issuer, subject],
                |r| r.get(0),
            )
            .optional()?)
    }
}

/// A stored microsecond timestamp (`created` columns); an unreadable one reads as the epoch
/// rather than hiding the row.
fn micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use crate::{
        Account, AccountStore, EventStore, ExternalIdentity, ExternalSignIn, SqliteStore,
        StoreConfig,
    };

    fn dana(role: &str) -> ExternalIdentity {
        ExternalIdentity {
            issuer: "https://idp.example".into(),
            subject: "sub-1".into(),
            name: "dana".into(),
            role: role.into(),
        }
    }

    #[test]
    fn a_user_keeps_a_console_time_zone_and_an_older_store_gains_the_column() {
        let dir = tempfile::tempdir().unwrap();
        {
            // A users table from before the column existed.
            let conn = rusqlite::Connection::open(dir.path().join("tandem.db")).unwrap();
            conn.execute_batch(
                "CREATE TABLE users (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL,
                 role TEXT NOT NULL, created INTEGER NOT NULL) STRICT;
                 INSERT INTO users VALUES ('ann', 'x', 'soc_analyst', 0);",
            )
            .unwrap();
        }
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        assert_eq!(store.time_zone("ann").unwrap(), None);
        assert!(store.set_time_zone("ann", Some("Europe/Oslo")).unwrap());
        assert_eq!(
            store.time_zone("ann").unwrap().as_deref(),
            Some("Europe/Oslo")
        );
        assert!(store.set_time_zone("ann", None).unwrap());
        assert_eq!(store.time_zone("ann").unwrap(), None);
        assert!(!store.set_time_zone("nobody", Some("UTC")).unwrap());
    }

    #[test]
    fn an_identity_provider_user_gets_one_account_whose_role_follows_each_sign_in() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        assert_eq!(
            store.sign_in_external(&dana("soc_analyst")).unwrap(),
            ExternalSignIn::Created {
                name: "dana".into()
            }
        );
        // Renamed at the provider: still the same account, found by issuer and subject.
        let renamed = ExternalIdentity {
            name: "dana.k".into(),
            ..dana("auditor")
        };
        assert_eq!(
            store.sign_in_external(&renamed).unwrap(),
            ExternalSignIn::Updated {
                name: "dana".into(),
                previous_role: "soc_analyst".into()
            }
        );
        let account = store.user("dana").unwrap().unwrap();
        assert_eq!(account.role, "auditor");
        assert!(
            !account.password_hash.starts_with('$'),
            "no usable password"
        );
        assert!(store.list_users().unwrap()[0].external);

        store
            .create_session(
                "s1",
                "dana",
                chrono::Utc::now() + chrono::Duration::hours(1),
            )
            .unwrap();
        assert!(store.session_user("s1").unwrap().is_some());
        assert_eq!(
            store
                .end_external_sessions("https://idp.example", "sub-1")
                .unwrap()
                .as_deref(),
            Some("dana")
        );
        assert!(store.session_user("s1").unwrap().is_none());
        assert_eq!(
            store
                .end_external_sessions("https://idp.example", "nobody")
                .unwrap(),
            None
        );
        store.close().unwrap();
    }

    #[test]
    fn an_identity_provider_cannot_take_over_a_local_account() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        store
            .create_user(&Account {
                name: "dana".into(),
                password_hash: "$argon2id$local".into(),
                role: "admin".into(),
            })
            .unwrap();
        assert_eq!(
            store.sign_in_external(&dana("soc_analyst")).unwrap(),
            ExternalSignIn::NameTaken
        );
        let local = store.user("dana").unwrap().unwrap();
        assert_eq!(
            (local.role.as_str(), local.password_hash.as_str()),
            ("admin", "$argon2id$local")
        );
        // Another subject of the same provider with the same name is refused too.
        let other = ExternalIdentity {
            name: "erik".into(),
            ..dana("auditor")
        };
        store.sign_in_external(&other).unwrap();
        let impostor = ExternalIdentity {
            subject: "sub-2".into(),
            name: "erik".into(),
            ..dana("admin")
        };
        assert_eq!(
            store.sign_in_external(&impostor).unwrap(),
            ExternalSignIn::NameTaken
        );
        store.close().unwrap();
    }
}
