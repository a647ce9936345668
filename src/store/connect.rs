//! Opening a store from a URL (`sqlite://FILE`, `postgres://…`), taking the write lock
//! (PostgreSQL advisory lock; SQLite immediate transaction) and saying so when another apply
//! holds it. Passwords never leave this module: URLs are shown redacted.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, PgPool, SqlitePool};

use super::StoreError;
use super::sql::{Dialect, Tx, Ty, Value};

/// The advisory-lock key steward's writers share (ASCII "steward\0").
const LOCK_KEY: i64 = 0x7374_6577_6172_6400;

/// A database URL, kept whole for connecting and shown only redacted.
#[derive(Clone)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> DatabaseUrl {
        DatabaseUrl(url.into())
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_url(&self.0)
    }

    fn dialect(&self) -> Result<Dialect, StoreError> {
        if self.0.starts_with("sqlite:") {
            Ok(Dialect::Sqlite)
        } else if self.0.starts_with("postgres://") || self.0.starts_with("postgresql://") {
            Ok(Dialect::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(self.redacted()))
        }
    }

    /// The file of a SQLite URL.
    pub fn sqlite_file(&self) -> Option<&str> {
        let rest = self.0.strip_prefix("sqlite:")?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        Some(rest.split('?').next().unwrap_or(rest))
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Replaces the password of `scheme://user:password@host…` with `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let masked = if userinfo.contains(':') { ":***" } else { "" };
            let tail = redact_query_password(tail);
            format!("{scheme}://{user}{masked}@{host}{tail}")
        }
        None => format!("{scheme}://{authority}{}", redact_query_password(tail)),
    }
}

fn redact_query_password(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_owned();
    };
    let params: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => p.to_owned(),
        })
        .collect();
    format!("{path}?{}", params.join("&"))
}

/// A connection pool on either backend.
#[derive(Clone)]
pub enum Store {
    /// SQLite.
    Sqlite(SqlitePool, DatabaseUrl),
    /// PostgreSQL.
    Postgres(PgPool, DatabaseUrl),
}

impl Store {
    /// Connects. A SQLite file is created when `create` is set and it is missing.
    pub async fn connect(url: &DatabaseUrl, create: bool) -> Result<Store, StoreError> {
        let unreachable = |source| StoreError::Unreachable {
            url: url.redacted(),
            source,
        };
        match url.dialect()? {
            Dialect::Sqlite => {
                let options = SqliteConnectOptions::from_str(&url.0)
                    .map_err(unreachable)?
                    .create_if_missing(create)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(30));
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(options)
                    .await
                    .map_err(unreachable)?;
                Ok(Store::Sqlite(pool, url.clone()))
            }
            Dialect::Postgres => {
                let options = PgConnectOptions::from_str(&url.0)
                    .map_err(unreachable)?
                    .application_name("steward");
                let pool = PgPoolOptions::new()
                    .max_connections(2)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(unreachable)?;
                Ok(Store::Postgres(pool, url.clone()))
            }
        }
    }

    /// The URL, for messages (redacted when shown).
    pub fn url(&self) -> &DatabaseUrl {
        match self {
            Store::Sqlite(_, u) | Store::Postgres(_, u) => u,
        }
    }

    /// The backend.
    pub fn dialect(&self) -> Dialect {
        match self {
            Store::Sqlite(..) => Dialect::Sqlite,
            Store::Postgres(..) => Dialect::Postgres,
        }
    }

    /// A read transaction with a consistent view (no lock).
    pub async fn read(&self) -> Result<Tx, StoreError> {
        let begin = |e| StoreError::query("BEGIN".into(), e);
        Ok(match self {
            Store::Sqlite(pool, _) => {
                let mut conn = pool.acquire().await.map_err(begin)?;
                sqlx::query("BEGIN")
                    .execute(&mut *conn)
                    .await
                    .map_err(begin)?;
                Tx::Sqlite(conn)
            }
            Store::Postgres(pool, _) => Tx::Postgres(
                pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await
                    .map_err(begin)?,
            ),
        })
    }

    /// A write transaction holding steward's lock. `waiting` is called once if another
    /// writer holds it, before this one blocks.
    pub async fn write(&self, waiting: impl FnOnce()) -> Result<Tx, StoreError> {
        let begin = |e| StoreError::query("BEGIN".into(), e);
        match self {
            Store::Sqlite(pool, _) => {
                let mut conn = pool.acquire().await.map_err(begin)?;
                let set_timeout = |ms: u32| format!("PRAGMA busy_timeout = {ms}");
                sqlx::query(AssertSqlSafe(set_timeout(0)))
                    .execute(&mut *conn)
                    .await
                    .map_err(begin)?;
                let mut waiting = Some(waiting);
                loop {
                    match sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
                        Ok(_) => break,
                        Err(e) if is_sqlite_busy(&e) => {
                            if let Some(w) = waiting.take() {
                                w();
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        Err(e) => return Err(begin(e)),
                    }
                }
                // The lock is ours: from now on wait for readers instead of failing.
                sqlx::query(AssertSqlSafe(set_timeout(30_000)))
                    .execute(&mut *conn)
                    .await
                    .map_err(begin)?;
                Ok(Tx::Sqlite(conn))
            }
            Store::Postgres(pool, _) => {
                let mut tx = Tx::Postgres(pool.begin().await.map_err(begin)?);
                let got = tx
                    .fetch(
                        "SELECT pg_try_advisory_xact_lock($1)",
                        &[Value::int(LOCK_KEY)],
                        &[Ty::Bool],
                    )
                    .await?;
                if got.first().and_then(|r| r[0].as_bool()) != Some(true) {
                    waiting();
                    tx.execute("SELECT pg_advisory_xact_lock($1)", &[Value::int(LOCK_KEY)])
                        .await?;
                }
                Ok(tx)
            }
        }
    }

    /// Closes the pool.
    pub async fn close(&self) {
        match self {
            Store::Sqlite(pool, _) => pool.close().await,
            Store::Postgres(pool, _) => pool.close().await,
        }
    }
}

fn is_sqlite_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            matches!(db.code().as_deref(), Some("5") | Some("6") | Some("517"))
                || db.message().contains("database is locked")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact_url("postgres://steward:s3cret@127.0.0.1:5432/superset"),
            "postgres://steward:***@127.0.0.1:5432/superset"
        );
        assert_eq!(
            redact_url("postgres://127.0.0.1/superset?user=a&password=s3cret"),
            "postgres://127.0.0.1/superset?user=a&password=***"
        );
        assert_eq!(redact_url("sqlite://steward.db"), "sqlite://steward.db");
        assert!(!format!("{:?}", DatabaseUrl::new("postgres://u:pw@h/db")).contains("pw"));
    }
}
