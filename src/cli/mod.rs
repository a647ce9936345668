//! The command line: clap definitions and one function per command. Errors are reported here,
//! with context, and turned into exit codes.

#[macro_use]
mod output;

mod apply;
mod crds;
mod database;
mod execute;
mod executor_args;
mod export;
mod generate;
mod init;
mod logging;
mod operator;
mod plan_files;
mod progress;
pub mod reasons;
mod reconcile;
mod references;
mod render_config;
mod token;
mod validate;

pub use crds::crd_files;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::manifests::{LoadedSet, ManifestCache, load_paths_with};

/// Exit code: success, nothing to do, or valid input.
pub const EXIT_OK: u8 = 0;
/// Exit code: invalid input or policy violation.
pub const EXIT_INVALID: u8 = 1;
/// Exit code: changes present (diff).
pub const EXIT_CHANGES: u8 = 2;
/// Exit code: the database cannot be reached or used (missing SQLite file, bad URL, not a
/// Superset database), or a lock was not released within `--lock-timeout`.
pub const EXIT_UNREACHABLE: u8 = 3;
/// Exit code: the command line is wrong (unknown flag, missing argument): sysexits' EX_USAGE,
/// so it cannot be read as success or as "changes".
pub const EXIT_USAGE: u8 = 64;

/// steward: Apache Superset access and reporting configuration as code.
#[derive(Parser, Debug)]
#[command(
    name = "steward",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 success / valid / no changes; 1 invalid input, policy violation \
                  or refused plan; 2 `diff` found changes; 3 the database cannot be reached or \
                  used, or a lock was not released within --lock-timeout; 64 usage error (wrong \
                  flags or arguments)."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check manifests: schema, CRD rules, references, crontabs, timezones. Exit 0 valid, 1 invalid.
    Validate {
        /// Files or directories (recursive *.yaml / *.yml; `-` reads standard input).
        #[arg(required = true)]
        paths: Vec<String>,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Show what `apply` would change in Superset. Exit 0 no changes, 2 changes, 1 invalid, 3
    /// database unreachable or locked past --lock-timeout, 64 usage error.
    Diff {
        #[command(flatten)]
        args: database::ReconcileArgs,
        /// Output format: `text` for people and CI logs, `markdown` for a pull-request comment,
        /// `json` for machines (documented, versioned).
        #[arg(long, short, value_enum, default_value_t = DiffOutput::Text)]
        output: DiffOutput,
        /// Also write the plan, with a fingerprint of the database, to FILE for
        /// `apply --plan-file`.
        #[arg(long, value_name = "FILE")]
        out_plan: Option<std::path::PathBuf>,
        /// Show who gains or loses access: permissions per user, row-level-security
        /// predicates per role and user.
        #[arg(long, value_enum, default_value_t = Switch::On)]
        impact: Switch,
        /// Compare with a snapshot written by `export --snapshot` instead of the database
        /// (with --out-plan, the plan file is bound to the database the snapshot was taken of).
        #[arg(long, value_name = "FILE")]
        against_snapshot: Option<std::path::PathBuf>,
        /// Compare with the same paths at a git revision (`origin/main`): a spec-to-spec diff
        /// that needs no database.
        #[arg(long, value_name = "REV", conflicts_with_all = ["out_plan", "against_snapshot", "targets"])]
        against_ref: Option<String>,
    },
    /// Write what the database holds as manifests (one file per object, ready for
    /// `apply --adopt`), or with --snapshot as one JSON file for `diff --against-snapshot`.
    Export {
        #[command(flatten)]
        database: database::DatabaseArgs,
        /// The directory to write manifests into (`users/`, `roles/` … one file per object).
        #[arg(required_unless_present = "snapshot", conflicts_with = "snapshot")]
        dir: Option<std::path::PathBuf>,
        /// Write a snapshot file instead.
        #[arg(long, value_name = "FILE")]
        snapshot: Option<std::path::PathBuf>,
        /// Only these kinds, comma-separated: users, roles, groups, rls, schedules, config,
        /// guest-policies.
        #[arg(long, value_delimiter = ',', value_name = "KINDS")]
        kinds: Vec<String>,
        /// Only objects whose Superset name matches this glob (`Finance*`).
        #[arg(long, value_name = "GLOB")]
        selector: Option<String>,
        /// Also export Superset's built-in roles (Admin, Alpha, Gamma, sql_lab, Public).
        #[arg(long)]
        include_builtin_roles: bool,
    },
    /// Make Superset match the manifests: plan, print, and write the plan in one transaction
    /// (all or nothing) under a lock. Exit 0 applied or nothing to do, 1 invalid or refused, 3
    /// database unreachable or locked past --lock-timeout, 64 usage error.
    Apply {
        #[command(flatten)]
        args: database::ReconcileArgs,
        /// Apply the plan in FILE (written by `diff --out-plan`), only to the database it was
        /// made against, and only if that database and the manifests are unchanged. The paths
        /// and plan options come from the file; --database from the file too when its URL holds
        /// no password.
        #[arg(long, value_name = "FILE")]
        plan_file: Option<std::path::PathBuf>,
        /// Output format: `text`, or `json` (each object's kind, name, action and Superset id
        /// after the apply).
        #[arg(long, short, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Prepare a metadata database: Superset's tables in a new SQLite file, steward's own
    /// migrations, and with --demo the Superset content the examples refer to.
    Init {
        #[command(flatten)]
        database: database::DatabaseArgs,
        /// Seed Superset content: `examples` (what `examples/` refers to) or `org` (what
        /// `steward generate --scale F` refers to).
        #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "examples")]
        demo: Option<init::DemoSet>,
        /// Size of the `org` content relative to org-10k.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
    },
    /// Print the `superset_config.py` lines (ALERT_MINIMUM_INTERVAL, REPORT_MINIMUM_INTERVAL,
    /// ALERTS_ATTACH_REPORTS) equivalent to the declared ReportConfiguration, for Superset 6.1.
    RenderConfig {
        /// Files or directories (recursive *.yaml / *.yml; `-` reads standard input).
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// List what manifests may refer to, read from the metadata database: databases, schemas,
    /// datasets, charts, dashboards (with uuids) and permission names.
    References {
        #[command(flatten)]
        database: database::DatabaseArgs,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Print the CustomResourceDefinitions, or write one file per CRD into a directory.
    Crds {
        /// Write `<name>.yaml` files and a kustomization.yaml into this directory.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Run the Kubernetes operator: watch steward's custom resources and SupersetInstances,
    /// reconcile each instance's resources into its Superset (one whole-set pass per instance),
    /// and write each resource's status. Uses the kubeconfig of the environment (in a pod, its
    /// ServiceAccount).
    Operator(operator::OperatorArgs),
    /// Run one managed alert or report schedule at one fire time, as Superset would: re-check
    /// the policy, run the alert query as its user, fetch the content as the run-as user
    /// through Superset's API, deliver by e-mail and webhook, and record Superset's states in
    /// its execution log. Repeating a run (same schedule and time) does nothing. Exit 0 when
    /// the run ended well (sent, not triggered, on grace, already ran), 1 when it ended in
    /// Error or another run was still working, 3 when the database cannot be reached.
    Execute(execute::ExecuteArgs),
    /// Run every schedule steward manages in this database at its fire times, in this process
    /// (the embedded scheduler; in a cluster the operator runs each as a Job instead).
    Scheduler(execute::SchedulerArgs),
    /// Mint a guest token for embedded dashboards (Superset's guest-token claims), only within
    /// a GuestTokenPolicy applied to the database: the token on standard output. The secret is
    /// read from $STEWARD_GUEST_TOKEN_SECRET or the file named by
    /// $STEWARD_GUEST_TOKEN_SECRET_FILE. Exit 0 minted, 1 refused (every reason listed), 3
    /// database unreachable.
    GuestToken(token::GuestTokenArgs),
    /// Guest tokens: verify one.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Write a synthetic organisation (scale 1 = org-10k: 1,000 roles, 300 groups, 5,000 users,
    /// 2,000 RLS filters, 2,000 schedules, one configuration).
    Generate {
        /// Directory to write into (created if missing).
        #[arg(long)]
        out: std::path::PathBuf,
        /// Seed: the same seed and scale give the same files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Size relative to org-10k (e.g. 0.1 for a tenth).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
    },
}

/// Output format of reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// For people.
    Text,
    /// For machines (documented, versioned).
    Json,
}

/// On or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

/// Output format of `diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffOutput {
    /// For people and CI logs (coloured on a terminal unless `NO_COLOR` is set).
    Text,
    /// A pull-request comment, at most 60,000 characters.
    Markdown,
    /// For machines (documented, versioned).
    Json,
}

/// Parses the command line, runs the command and returns its exit code.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let text = database::scrub_secrets(&error.render().ansi().to_string());
            return match error.use_stderr() {
                false => {
                    out!("{text}");
                    ExitCode::from(EXIT_OK)
                }
                true => {
                    err!("{text}");
                    ExitCode::from(EXIT_USAGE)
                }
            };
        }
    };
    let result = match cli.command {
        Command::Validate { paths, output } => validate::run(&paths, output, &manifest_cache()),
        Command::Diff { args, .. } if args.paths.is_empty() => {
            errln!("error: no manifest paths given: `steward diff PATH…`");
            Ok(EXIT_USAGE)
        }
        Command::Diff {
            args,
            output,
            out_plan,
            impact,
            against_snapshot,
            against_ref,
        } => match against_ref {
            Some(revision) => {
                reconcile::diff_against_revision(&args, output, &revision, &manifest_cache())
            }
            None => reconcile::diff(
                &args,
                output,
                out_plan.as_deref(),
                impact == Switch::On,
                against_snapshot.as_deref(),
                manifest_cache(),
            ),
        },
        Command::Export {
            database,
            dir,
            snapshot,
            kinds,
            selector,
            include_builtin_roles,
        } => match (snapshot, dir) {
            (Some(file), _) => export::snapshot(&database, &file),
            (None, Some(dir)) => export::manifests(
                &database,
                &dir,
                &kinds,
                selector.as_deref(),
                include_builtin_roles,
            ),
            (None, None) => unreachable!("clap requires a directory or --snapshot"),
        },
        Command::Apply {
            args,
            plan_file,
            output,
        } => apply::apply(&args, plan_file.as_deref(), output, manifest_cache()),
        Command::Init {
            database,
            demo,
            scale,
        } => init::run(&database, demo, scale),
        Command::RenderConfig { paths } => render_config::run(&paths, &manifest_cache()),
        Command::References { database, output } => references::run(&database, output),
        Command::Crds { out } => crds::run(out.as_deref()),
        Command::Generate { out, seed, scale } => generate::run(&out, seed, scale),
        Command::Operator(args) => operator::run(&args),
        Command::Execute(args) => execute::run(&args),
        Command::Scheduler(args) => execute::scheduler(&args),
        Command::GuestToken(args) => token::guest_token(&args),
        Command::Token(command) => token::run(&command),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            errln!(
                "error: {}",
                crate::escape::terminal(&database::scrub_secrets(&format!("{error:#}")))
            );
            ExitCode::from(EXIT_INVALID)
        }
    }
}

/// The manifest cache `STEWARD_MANIFEST_CACHE` asks for: `off`, a directory, or by default
/// `$XDG_CACHE_HOME/steward/manifests` (else `~/.cache/steward/manifests`), within
/// `STEWARD_MANIFEST_CACHE_MAX_MB` (default 256). One that cannot be used is said so and left off.
fn manifest_cache() -> ManifestCache {
    let dir = match std::env::var("STEWARD_MANIFEST_CACHE") {
        Ok(v) if v == "off" => None,
        Ok(v) if !v.is_empty() => Some(std::path::PathBuf::from(v)),
        _ => std::env::var_os("XDG_CACHE_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache"))
            })
            .map(|base| base.join("steward").join("manifests")),
    };
    let Some(dir) = dir else {
        return ManifestCache::off();
    };
    let mut limits = crate::manifests::CacheLimits::default();
    if let Ok(v) = std::env::var("STEWARD_MANIFEST_CACHE_MAX_MB") {
        match v.trim().parse::<u64>() {
            Ok(mb) if mb > 0 => limits.max_bytes = mb.saturating_mul(1024 * 1024),
            _ => errln!(
                "warning: STEWARD_MANIFEST_CACHE_MAX_MB={:?} is not a positive whole number of megabytes; the manifest cache keeps its default limit of {} MB",
                v,
                limits.max_bytes / (1024 * 1024)
            ),
        }
    }
    ManifestCache::open_with_limits(&dir, limits).unwrap_or_else(|reason| {
        errln!("warning: manifest cache {dir:?} not used: {reason}");
        ManifestCache::off()
    })
}

/// Loads `paths` with `cache` and runs every check that needs no database.
fn validated(paths: &[String], cache: &ManifestCache) -> LoadedSet {
    let mut set = load_paths_with(paths, cache);
    crate::validation::finish(&mut set);
    set
}
