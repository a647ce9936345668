//! Command-line pieces shared by the commands that talk to a database: the `--database` flag,
//! the plan guardrail flags, the async runtime, and turning store errors into exit codes.

use clap::Args;

use super::{EXIT_INVALID, EXIT_UNREACHABLE};
use crate::plan::PlanOptions;
use crate::plan::target::Selector;
use crate::store::bootstrap::ensure_superset;
use crate::store::{DatabaseUrl, Observed, Store, StoreError, read_observed};

/// The metadata database to use.
#[derive(Args, Debug, Clone)]
pub struct DatabaseArgs {
    /// Superset's metadata database: `sqlite://FILE` (the embedded default, created with
    /// Superset's schema when missing) or `postgres://USER:PASSWORD@HOST:PORT/DB`.
    #[arg(
        long = "database",
        env = "STEWARD_DATABASE_URL",
        default_value = "sqlite://steward.db",
        hide_env_values = true
    )]
    pub url: String,
}

impl DatabaseArgs {
    /// The URL (printed only redacted).
    pub fn url(&self) -> DatabaseUrl {
        DatabaseUrl::new(self.url.clone())
    }
}

/// The arguments of `diff` and `apply` (the same, so a diff predicts its apply).
#[derive(Args, Debug, Clone)]
pub struct ReconcileArgs {
    /// Files or directories (recursive *.yaml / *.yml; `-` reads standard input).
    #[arg(required = true)]
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
pub fn read_database(url: &DatabaseUrl) -> Result<Observed, u8> {
    block_on(async {
        let store = Store::connect(url, false)
            .await
            .map_err(|e| store_failure(&e))?;
        let result: Result<Observed, StoreError> = async {
            let mut tx = store.read().await?;
            ensure_superset(&mut tx, false).await?;
            let observed = read_observed(&mut tx).await?;
            tx.rollback().await?;
            Ok(observed)
        }
        .await;
        store.close().await;
        result.map_err(|e| store_failure(&e))
    })
}

/// Runs an async command on a fresh runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the async runtime starts")
        .block_on(future)
}

/// Reports a store error and returns its exit code (3 when the database cannot be reached).
pub fn store_failure(error: &StoreError) -> u8 {
    eprintln!("error: {error}");
    match error {
        StoreError::Unreachable { .. }
        | StoreError::UnsupportedUrl(_)
        | StoreError::NotSuperset(_) => EXIT_UNREACHABLE,
        _ => EXIT_INVALID,
    }
}
