//! Command-line pieces shared by the commands that talk to a database: the `--database` and
//! `--lock-timeout` flags, the plan guardrail flags, the async runtime, turning store errors
//! into exit codes, and scrubbing database secrets from anything printed.

use std::time::Duration;

use clap::Args;

use super::{EXIT_INVALID, EXIT_UNREACHABLE};
use crate::plan::PlanOptions;
use crate::plan::target::Selector;
use crate::store::bootstrap::ensure_superset;
use crate::store::superset_version::{Access, SchemaVersion, detect};
use crate::store::{
    DatabaseUrl, Observed, Store, StoreError, database_identity, database_url, read_observed,
    read_user_references,
};

/// The database used when neither `--database` nor `STEWARD_DATABASE_URL` names one.
pub const DEFAULT_DATABASE: &str = "sqlite://steward.db";

/// The metadata database to use.
#[derive(Args, Debug, Clone)]
pub struct DatabaseArgs {
    /// Superset's metadata database [default: sqlite://steward.db]: `sqlite://FILE`
    /// (`sqlite:////ABS/PATH`), or `postgresql://USER:PASSWORD@HOST:PORT/DB` (`postgres://`).
    /// SQLAlchemy URLs from superset_config.py (`postgresql+psycopg2://…`,
    /// `sqlite+pysqlite:///FILE`) work as they are. Only `steward init` creates a SQLite file;
    /// the other commands refuse a missing one (exit 3). Passwords are never printed.
    #[arg(
        long = "database",
        env = "STEWARD_DATABASE_URL",
        hide_env_values = true
    )]
    pub url: Option<String>,
    /// How long to wait for a lock another session holds (another apply, or a table lock)
    /// before giving up with exit 3: `30s`, `2m`, `500ms` or seconds.
    #[arg(
        long,
        env = "STEWARD_LOCK_TIMEOUT",
        hide_env_values = true,
        value_name = "DURATION",
        default_value = "60s",
        value_parser = parse_duration
    )]
    pub lock_timeout: Duration,
}

impl DatabaseArgs {
    /// The URL (printed only redacted).
    pub fn url(&self) -> DatabaseUrl {
        DatabaseUrl::new(self.url.as_deref().unwrap_or(DEFAULT_DATABASE))
    }

    /// Connects (see [`Store::connect_waiting`]).
    pub async fn connect(&self, create: bool) -> Result<Store, StoreError> {
        Store::connect_waiting(&self.url(), create, self.lock_timeout).await
    }
}

/// A duration: `30s`, `2m`, `1m30s`, `500ms`, or a number of seconds.
pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let duration: jiff::SignedDuration = text
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; write e.g. 30s, 2m or 500ms"))?;
    Duration::try_from(duration).map_err(|_| format!("`{text}` is negative"))
}

/// `text` with the secrets of every database URL this process was given (on the command line
/// or in `STEWARD_DATABASE_URL`) replaced by `***`.
pub fn scrub_secrets(text: &str) -> String {
    std::env::args()
        .skip(1)
        .chain(std::env::var("STEWARD_DATABASE_URL").ok())
        .fold(text.to_owned(), |text, arg| {
            database_url::scrub(&arg, &text)
        })
}

/// The arguments of `diff` and `apply` (the same, so a diff predicts its apply).
#[derive(Args, Debug, Clone)]
pub struct ReconcileArgs {
    /// Files or directories (recursive *.yaml / *.yml; `-` reads standard input). `apply
    /// --plan-file` takes them from the plan file when none are given.
    pub paths: Vec<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Also list every field of created and deleted objects.
    #[arg(long, short)]
    pub verbose: bool,
}

/// What a plan may do.
#[derive(Args, Debug, Clone)]
pub struct PlanArgs {
    /// Do not delete managed objects that left the declared state.
    #[arg(long)]
    pub no_prune: bool,
    /// Refuse to apply when the plan deletes more than N objects.
    #[arg(long, value_name = "N")]
    pub max_deletions: Option<usize>,
    /// Allow deleting every managed object of a kind when none is declared.
    #[arg(long)]
    pub allow_empty_kinds: bool,
    /// Take over existing Superset objects that have a declared name (they become managed).
    #[arg(long)]
    pub adopt: bool,
    /// Allow changes to Superset's built-in roles (Admin, Alpha, Gamma, sql_lab, Public).
    #[arg(long)]
    pub allow_builtin_roles: bool,
    /// The manager recorded in the ownership ledger.
    #[arg(long, default_value = "cli")]
    pub manager: String,
    /// Plan only objects matching SELECTOR (`Kind`, `Kind/Name` or `Kind/GLOB`; kinds also by
    /// short name), plus the creates/updates of what they need; nothing else is pruned.
    /// Repeatable.
    #[arg(long = "target", value_name = "SELECTOR")]
    pub targets: Vec<Selector>,
}

impl PlanArgs {
    /// The planner options.
    pub fn options(&self) -> PlanOptions {
        PlanOptions {
            manager: self.manager.clone(),
            prune: !self.no_prune,
            adopt: self.adopt,
            allow_builtin_roles: self.allow_builtin_roles,
            max_deletions: self.max_deletions,
            allow_empty_kinds: self.allow_empty_kinds,
            targets: self.targets.clone(),
            ..PlanOptions::default()
        }
    }
}

/// Reads what the database holds in a read-only transaction, or the exit code (reported) when
/// it cannot.
pub fn read_database(database: &DatabaseArgs) -> Result<Observed, u8> {
    read_identified_database(database).map(|(observed, _)| observed)
}

/// [`read_database`], with the database's identity (for plan files and snapshots).
pub fn read_identified_database(database: &DatabaseArgs) -> Result<(Observed, String), u8> {
    block_on(async {
        let store = database
            .connect(false)
            .await
            .map_err(|e| store_failure(&e))?;
        let file = database.url().sqlite_file();
        let result: Result<(Observed, String), StoreError> = async {
            let mut tx = store.read().await?;
            ensure_superset(&mut tx, false).await?;
            if let SchemaVersion::Unknown(why) = detect(&mut tx, Access::Read).await? {
                errln!(
                    "warning[superset-version]: {}",
                    crate::escape::terminal(&why)
                );
            }
            let identity = database_identity(&mut tx, file.as_deref()).await?;
            let mut observed = read_observed(&mut tx).await?;
            read_user_references(&mut tx, &mut observed).await?;
            tx.rollback().await?;
            Ok((observed, identity))
        }
        .await;
        let result = match result {
            Ok(read) => Ok(read),
            Err(e) => Err(store.explain(e).await),
        };
        store.close().await;
        result.map_err(|e| store_failure(&e))
    })
}

/// Runs an async command on the command's runtime (one per process: each command calls this
/// once).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the async runtime starts");
    let output = runtime.block_on(future);
    // The command is over: a manifest load still reading standard input (the database
    // failed first) is not waited for.
    runtime.shutdown_background();
    output
}

/// Reports a store error and returns its exit code (3 when the database cannot be reached).
pub fn store_failure(error: &StoreError) -> u8 {
    errln!(
        "error: {}",
        crate::escape::terminal(&scrub_secrets(&error.to_string()))
    );
    match error.is_unreachable() {
        true => EXIT_UNREACHABLE,
        false => EXIT_INVALID,
    }
}
