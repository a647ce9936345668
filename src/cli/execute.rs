//! `steward execute`: one run of one managed schedule at one fire time (what each Kubernetes
//! Job runs), and `steward scheduler`: the embedded scheduler running every managed schedule
//! in this process.

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::Args;

use super::database::{block_on, store_failure};
use super::executor_args::ExecutorArgs;
use super::{EXIT_INVALID, EXIT_OK};
use crate::escape::terminal;
use crate::execute::run::Outcome;
use crate::schedule::fire_clock::FireClock;
use crate::store::execution;

/// `steward execute` flags.
#[derive(Args, Debug, Clone)]
pub struct ExecuteArgs {
    /// The ReportSchedule resource, `NAMESPACE/NAME` (or `NAME` in `default`), as applied.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub schedule: String,
    /// The fire time to run, RFC 3339 (`2026-11-30T08:00:00Z`); it must be one of the
    /// schedule's fire times unless --off-schedule is given.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: DateTime<Utc>,
    /// Run even though TIME is not one of the schedule's fire times (a manual run).
    #[arg(long)]
    pub off_schedule: bool,
    #[command(flatten)]
    pub executor: ExecutorArgs,
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{text}` is not an RFC 3339 time such as 2026-11-30T08:00:00Z: {e}"))
}

/// `steward scheduler` flags.
#[derive(Args, Debug, Clone)]
pub struct SchedulerArgs {
    #[command(flatten)]
    pub executor: ExecutorArgs,
    /// At most this many runs at once (one at a time per schedule).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Fire times missed while no scheduler ran still run when they are at most this old (the
    /// newest only); older ones are logged as skipped: `10m`, `1h`, seconds.
    #[arg(long, default_value = "10m", value_parser = super::database::parse_duration)]
    pub catch_up: std::time::Duration,
    /// Seconds between reads of the schedules (new, changed or removed ones).
    #[arg(long, default_value_t = 5)]
    pub refresh_seconds: u64,
    /// Log format: `text` or `json` (one object per line).
    #[arg(long, env = "STEWARD_LOG_FORMAT", default_value = "text", value_parser = ["json", "text"])]
    pub log_format: String,
}

pub(super) fn run(args: &ExecuteArgs) -> anyhow::Result<u8> {
    let (namespace, name) = match args.schedule.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => (ns, name),
        Some(_) => bail!(
            "--schedule {:?} is not NAMESPACE/NAME",
            terminal(&args.schedule)
        ),
        None => ("default", args.schedule.as_str()),
    };
    block_on(async {
        let store = match args.executor.database.connect(false).await {
            Ok(store) => store,
            Err(e) => return Ok(store_failure(&e)),
        };
        let executor = args.executor.executor(store.clone())?;
        let mut tx = store.read().await.map_err(|e| anyhow::anyhow!(e))?;
        let id = execution::schedule_id_of(&mut tx, namespace, name)
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        tx.rollback().await.ok();
        let Some(id) = id else {
            bail!(
                "no schedule declared by ReportSchedule {}/{} is managed in this database (apply it first; `steward export --kinds ReportSchedule` lists what is there)",
                terminal(namespace),
                terminal(name)
            );
        };
        if !args.off_schedule {
            check_fire_time(&store, id, args.at).await?;
        }
        let outcome = executor.execute(id, args.at).await.with_context(|| {
            format!("the run of {namespace}/{name} at {}", args.at.to_rfc3339())
        })?;
        let line = match &outcome {
            Outcome::Recorded { state, message } => match message {
                Some(m) => format!("{}: {}", state.as_str(), m),
                None => state.as_str().to_owned(),
            },
            Outcome::AlreadyRan(state) => format!("already ran ({}); nothing done", state.as_str()),
            Outcome::StillWorking => {
                "another run is still working; refused to re-compute (Working logged)".into()
            }
            Outcome::Inactive => "the schedule is not active; nothing done".into(),
        };
        outln!(
            "{}/{} at {}: {}",
            terminal(namespace),
            terminal(name),
            args.at.to_rfc3339(),
            terminal(&line)
        );
        store.close().await;
        Ok(if outcome.failed() {
            EXIT_INVALID
        } else {
            EXIT_OK
        })
    })
}

/// Refuses a time that is not one of the schedule's fire times, naming the nearest ones.
async fn check_fire_time(
    store: &crate::store::Store,
    id: i64,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let mut tx = store.read().await.map_err(|e| anyhow::anyhow!(e))?;
    let schedules = execution::managed_schedules(&mut tx)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    tx.rollback().await.ok();
    let Some(schedule) = schedules.into_iter().find(|s| s.id == id) else {
        return Ok(());
    };
    let clock =
        FireClock::new(&schedule.crontab, &schedule.timezone).map_err(anyhow::Error::msg)?;
    let before = at - chrono::Duration::seconds(1);
    if clock.next_after(before) == Some(at) {
        return Ok(());
    }
    let next = clock
        .next_after(at)
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| "none".into());
    bail!(
        "{} is not a fire time of `{}` in {} (the next one is {next}); give a fire time, or --off-schedule for a manual run",
        at.to_rfc3339(),
        terminal(&schedule.crontab),
        terminal(&schedule.timezone)
    )
}

pub(super) fn scheduler(args: &SchedulerArgs) -> anyhow::Result<u8> {
    super::logging::init(&args.log_format);
    block_on(async {
        let store = match args.executor.database.connect(false).await {
            Ok(store) => store,
            Err(e) => return Ok(store_failure(&e)),
        };
        let executor = args.executor.executor(store.clone())?;
        let config = crate::execute::local_scheduler::SchedulerConfig {
            concurrency: usize::from(args.concurrency),
            catch_up: chrono::Duration::from_std(args.catch_up)
                .unwrap_or(chrono::Duration::minutes(10)),
            refresh: std::time::Duration::from_secs(args.refresh_seconds.max(1)),
        };
        tracing::info!(
            database = %store.url().redacted(),
            superset = %executor.superset.base(),
            concurrency = config.concurrency,
            "scheduler started"
        );
        crate::execute::local_scheduler::run(executor, config, super::operator::shutdown_signal())
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        store.close().await;
        Ok(EXIT_OK)
    })
}
