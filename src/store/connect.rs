//! Opening a store from a URL (see `database_url`), taking the write lock (PostgreSQL advisory
//! lock; SQLite immediate transaction) and saying so when another apply holds it. Waiting for
//! any lock is bounded by the lock timeout; on PostgreSQL a watcher says which table (or which
//! apply) a statement waits for and who holds it. Passwords never leave this module: URLs are
//! shown redacted and driver errors scrubbed of them.

use std::io::Write as _;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, Connection as _, PgPool, SqlitePool};

use super::StoreError;
use super::database_url::{self, Target};
use super::sql::{Dialect, Tx, Ty, Value};

/// The advisory-lock key steward's writers share (ASCII "steward\0").
const LOCK_KEY: i64 = 0x7374_6577_6172_6400;

/// How long a statement waits for a lock another session holds before steward gives up.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// How often the PostgreSQL watcher looks whether steward's statement waits for a lock.
const WATCH_INTERVAL: Duration = Duration::from_millis(250);

/// A database URL, kept whole for connecting and shown only redacted.
#[derive(Clone)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> DatabaseUrl {
        DatabaseUrl(url.into())
    }

    /// The URL with its password and secret parameters replaced by `***`.
    pub fn redacted(&self) -> String {
        database_url::redact(&self.0)
    }

    /// A digest of the whole URL, to tell whether it changed without keeping a second copy of
    /// its secrets.
    pub fn fingerprint(&self) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(self.0.as_bytes()).into()
    }

    /// `text` (a driver's message, say) with every secret of this URL replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        database_url::scrub(&self.0, text)
    }

    /// What the URL points at, or why it cannot be used.
    pub fn target(&self) -> Result<Target, StoreError> {
        database_url::parse(&self.0).map_err(|problem| StoreError::InvalidUrl {
            url: self.redacted(),
            problem,
        })
    }

    /// The backend.
    pub fn dialect(&self) -> Result<Dialect, StoreError> {
        Ok(match self.target()? {
            Target::Sqlite { .. } => Dialect::Sqlite,
            Target::Postgres { .. } => Dialect::Postgres,
        })
    }

    /// The file of a SQLite URL.
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        match database_url::parse(&self.0) {
            Ok(Target::Sqlite { file, .. }) => Some(file),
            _ => None,
        }
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

/// Replaces the password and secret parameters of a URL with `***`.
pub fn redact_url(url: &str) -> String {
    database_url::redact(url)
}

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A connection pool on either backend.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    url: DatabaseUrl,
    lock_timeout: Duration,
    /// What a statement was last seen waiting for (PostgreSQL watcher).
    waiting_for: Arc<Mutex<Option<String>>>,
    watchers: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Store {
    /// Connects with the default lock timeout. A SQLite file is created when `create` is set
    /// and it is missing; otherwise a missing file is an error naming `steward init`.
    pub async fn connect(url: &DatabaseUrl, create: bool) -> Result<Store, StoreError> {
        Store::connect_waiting(url, create, DEFAULT_LOCK_TIMEOUT).await
    }

    /// Connects; statements give up after waiting `lock_timeout` for a lock.
    pub async fn connect_waiting(
        url: &DatabaseUrl,
        create: bool,
        lock_timeout: Duration,
    ) -> Result<Store, StoreError> {
        let unreachable = |source: sqlx::Error| match is_lock_timeout(&source) {
            true => StoreError::LockTimeout {
                seconds: lock_timeout.as_secs_f64(),
                what:
                    "the SQLite file's lock, held by another process (a steward apply, or Superset)"
                        .to_owned(),
            },
            false => StoreError::Unreachable {
                url: url.redacted(),
                reason: url.scrub(&source.to_string()),
            },
        };
        let pool = match url.target()? {
            Target::Sqlite { file, driver_url } => {
                let memory = file.as_os_str() == ":memory:" || driver_url.contains("mode=memory");
                if !create && !memory && !file.exists() {
                    return Err(StoreError::NoDatabaseFile {
                        file: file.display().to_string(),
                        url: url.redacted(),
                    });
                }
                let options = SqliteConnectOptions::from_str(&driver_url)
                    .map_err(unreachable)?
                    .create_if_missing(create)
                    .foreign_keys(true)
                    .busy_timeout(lock_timeout);
                Pool::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(1)
                        .connect_with(options)
                        .await
                        .map_err(unreachable)?,
                )
            }
            Target::Postgres { driver_url } => {
                let options = PgConnectOptions::from_str(&driver_url)
                    .map_err(unreachable)?
                    .application_name("steward")
                    .options([("lock_timeout", format!("{}", lock_timeout.as_millis()))]);
                // One connection first: the pool would retry until its timeout and then say
                // only that it timed out, not why (refused, authentication failed…).
                let probe = sqlx::PgConnection::connect_with(&options)
                    .await
                    .map_err(unreachable)?;
                let _ = probe.close().await;
                Pool::Postgres(
                    PgPoolOptions::new()
                        .max_connections(2)
                        .acquire_timeout(Duration::from_secs(10))
                        .connect_with(options)
                        .await
                        .map_err(unreachable)?,
                )
            }
        };
        Ok(Store {
            pool,
            url: url.clone(),
            lock_timeout,
            waiting_for: Arc::default(),
            watchers: Arc::default(),
        })
    }

    /// The URL, for messages (redacted when shown).
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// The backend.
    pub fn dialect(&self) -> Dialect {
        match self.pool {
            Pool::Sqlite(_) => Dialect::Sqlite,
            Pool::Postgres(_) => Dialect::Postgres,
        }
    }

    /// A read transaction with a consistent view (no lock).
    pub async fn read(&self) -> Result<Tx, StoreError> {
        let begin = |e| StoreError::query("BEGIN".into(), e);
        Ok(match &self.pool {
            Pool::Sqlite(pool) => {
                let mut conn = pool.acquire().await.map_err(begin)?;
                sqlx::query("BEGIN")
                    .execute(&mut *conn)
                    .await
                    .map_err(begin)?;
                Tx::Sqlite(conn)
            }
            Pool::Postgres(pool) => {
                let mut tx = Tx::Postgres(
                    pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                        .await
                        .map_err(begin)?,
                );
                self.watch(&mut tx).await?;
                tx
            }
        })
    }

    /// A write transaction holding steward's lock. `waiting` is called once if another
    /// writer holds it, before this one blocks (at most the lock timeout).
    pub async fn write(&self, waiting: impl FnOnce()) -> Result<Tx, StoreError> {
        self.begin_write(waiting, true).await
    }

    /// A write transaction for Superset's runtime rows (execution logs, a schedule's last
    /// state), which applies never touch: on PostgreSQL it does not wait for steward's apply
    /// lock, so runs are not delayed by a long apply; SQLite has one writer at a time anyway.
    pub async fn write_runtime(&self) -> Result<Tx, StoreError> {
        self.begin_write(|| {}, false).await
    }

    async fn begin_write(
        &self,
        waiting: impl FnOnce(),
        apply_lock: bool,
    ) -> Result<Tx, StoreError> {
        let begin = |e| StoreError::query("BEGIN".into(), e);
        match &self.pool {
            Pool::Sqlite(pool) => {
                let mut conn = pool.acquire().await.map_err(begin)?;
                let set_timeout = |ms: u128| format!("PRAGMA busy_timeout = {ms}");
                sqlx::query(AssertSqlSafe(set_timeout(0)))
                    .execute(&mut *conn)
                    .await
                    .map_err(begin)?;
                let mut waiting = Some(waiting);
                let deadline = tokio::time::Instant::now() + self.lock_timeout;
                loop {
                    match sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
                        Ok(_) => break,
                        Err(e) if is_sqlite_busy(&e) => {
                            if tokio::time::Instant::now() >= deadline {
                                return Err(self.timed_out(
                                    "the SQLite file's write lock, held by another writer \
                                     (another steward apply, or Superset)"
                                        .into(),
                                ));
                            }
                            if let Some(w) = waiting.take() {
                                w();
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        Err(e) => return Err(begin(e)),
                    }
                }
                // The lock is ours: from now on wait for readers instead of failing.
                sqlx::query(AssertSqlSafe(set_timeout(self.lock_timeout.as_millis())))
                    .execute(&mut *conn)
                    .await
                    .map_err(begin)?;
                Ok(Tx::Sqlite(conn))
            }
            Pool::Postgres(pool) => {
                let mut tx = Tx::Postgres(pool.begin().await.map_err(begin)?);
                self.watch(&mut tx).await?;
                if !apply_lock {
                    return Ok(tx);
                }
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
                        .await
                        .map_err(|e| match e.is_lock_timeout() {
                            true => self.timed_out(
                                "steward's apply lock, held by another steward apply".into(),
                            ),
                            false => e,
                        })?;
                }
                Ok(tx)
            }
        }
    }

    /// Turns a lock-timeout error into one that says what was waited for; other errors pass.
    pub async fn explain(&self, error: StoreError) -> StoreError {
        if !error.is_lock_timeout() || matches!(error, StoreError::LockTimeout { .. }) {
            return error;
        }
        let seen = self.waiting_for.lock().expect("not poisoned").clone();
        let what = match seen {
            Some(what) => what,
            None => self.held_locks().await.unwrap_or_else(|| match self.pool {
                Pool::Sqlite(_) => {
                    "the SQLite file's lock, held by another process (a steward apply, or Superset)"
                        .to_owned()
                }
                Pool::Postgres(_) => "a lock another session holds on Superset's tables".to_owned(),
            }),
        };
        self.timed_out(what)
    }

    fn timed_out(&self, what: String) -> StoreError {
        StoreError::LockTimeout {
            seconds: self.lock_timeout.as_secs_f64(),
            what,
        }
    }

    /// Starts a watcher that reports, once per lock, what the transaction's statements wait for.
    async fn watch(&self, tx: &mut Tx) -> Result<(), StoreError> {
        let Pool::Postgres(pool) = &self.pool else {
            return Ok(());
        };
        let rows = tx
            .fetch("SELECT pg_backend_pid()::bigint", &[], &[Ty::Int])
            .await?;
        let Some(pid) = rows.first().and_then(|r| r[0].as_int()) else {
            return Ok(());
        };
        let pool = pool.clone();
        let seen = self.waiting_for.clone();
        let timeout = self.lock_timeout.as_secs_f64();
        let task = tokio::spawn(async move {
            let mut reported: Option<String> = None;
            loop {
                tokio::time::sleep(WATCH_INTERVAL).await;
                let Ok(wait) = current_wait(&pool, pid).await else {
                    return;
                };
                if let Some(what) = wait
                    && reported.as_deref() != Some(what.as_str())
                {
                    // Standard error may be closed: the message is lost, the apply goes on.
                    let _ = writeln!(
                        std::io::stderr(),
                        "waiting for {what}; giving up after {timeout} s (--lock-timeout)"
                    );
                    *seen.lock().expect("not poisoned") = Some(what.clone());
                    reported = Some(what);
                }
            }
        });
        self.watchers.lock().expect("not poisoned").push(task);
        Ok(())
    }

    /// The conflicting locks other sessions hold on tables of this database, described.
    async fn held_locks(&self) -> Option<String> {
        let Pool::Postgres(pool) = &self.pool else {
            return None;
        };
        let rows: Vec<(String, String, i32, String, String)> = sqlx::query_as(
            "SELECT c.relname::text, l.mode, l.pid, COALESCE(a.application_name, ''), \
                    COALESCE(a.state, '') \
             FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
             LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.granted AND l.pid <> pg_backend_pid() AND c.relkind = 'r' \
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               AND l.mode IN ('ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', \
                              'AccessExclusiveLock') \
             ORDER BY c.relname, l.pid",
        )
        .fetch_all(pool)
        .await
        .ok()?;
        let held: Vec<String> = rows
            .iter()
            .map(|(table, mode, pid, app, state)| {
                describe_lock(&format!("table {table}"), mode, *pid, app, state)
            })
            .collect();
        (!held.is_empty()).then(|| held.join("; "))
    }

    /// Closes the pool.
    pub async fn close(&self) {
        for task in self.watchers.lock().expect("not poisoned").drain(..) {
            task.abort();
        }
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

/// A lock wait: lock type, table, blocking pid, its application name and state, mode wanted.
type Wait = (String, Option<String>, Option<i32>, String, String, String);

/// What backend `pid` waits for, if it waits for a lock (steward's own apply lock is announced
/// by [`Store::write`]).
async fn current_wait(pool: &PgPool, pid: i64) -> Result<Option<String>, sqlx::Error> {
    let row: Option<Wait> = sqlx::query_as(
        "SELECT l.locktype, c.relname::text, b.pid, COALESCE(b.application_name, ''), \
                    COALESCE(b.state, ''), l.mode \
             FROM pg_locks l LEFT JOIN pg_class c ON c.oid = l.relation \
             LEFT JOIN pg_stat_activity b ON b.pid = (pg_blocking_pids(l.pid))[1] \
             WHERE l.pid = $1 AND NOT l.granted AND l.locktype <> 'advisory' LIMIT 1",
    )
    .bind(pid as i32)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(locktype, table, blocker, app, state, mode)| {
        let what = match (locktype.as_str(), table) {
            (_, Some(table)) => format!("a lock on table {table}"),
            (kind, None) => format!("a {kind} lock"),
        };
        match blocker {
            Some(pid) => describe_lock(&what, &format!("wanting {mode}"), pid, &app, &state),
            None => what,
        }
    }))
}

/// `what`, held by session `pid` (its application name and state, sanitised).
fn describe_lock(what: &str, mode: &str, pid: i32, app: &str, state: &str) -> String {
    let clean = |s: &str| -> String { s.chars().filter(|c| !c.is_control()).take(64).collect() };
    let app = match app.is_empty() {
        true => String::new(),
        false => format!(", application `{}`", clean(app)),
    };
    let state = match state.is_empty() {
        true => String::new(),
        false => format!(", {}", clean(state)),
    };
    format!("{what} ({mode}), held by another session (pid {pid}{app}{state})")
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

/// Whether a driver error means a lock wait timed out (PostgreSQL `lock_not_available`, SQLite
/// busy).
pub(super) fn is_lock_timeout(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db.code().as_deref() == Some("55P03") || is_sqlite_busy(e),
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
