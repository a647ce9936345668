//! The embedded scheduler (`steward scheduler`): the schedules steward manages in one metadata
//! database, each fire time run in this process as soon as it is due, with bounded concurrency
//! and one run at a time per schedule. What was handled is read back from Superset's execution
//! log, so a restart neither repeats nor loses a run: missed fire times follow
//! [`crate::schedule::due`]'s catch-up rule and are logged as skipped. Each due run is claimed
//! at its fire time (Working recorded); computing and delivering wait for one of the
//! `concurrency` slots, so Superset and the SMTP server see at most that many runs at once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::{Notify, Semaphore};

use super::run::{Executor, Outcome};
use crate::schedule::due::{DueRuns, due_runs};
use crate::schedule::fire_clock::FireClock;
use crate::store::StoreError;
use crate::store::execution::{self, ManagedSchedule};

/// How the scheduler runs.
#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    /// At most this many runs compute and deliver at once.
    pub concurrency: usize,
    /// Missed fire times younger than this still run (the newest of them only).
    pub catch_up: Duration,
    /// How often the list of schedules is read again.
    pub refresh: StdDuration,
}

/// A schedule as the loop tracks it.
struct Tracked {
    schedule: ManagedSchedule,
    clock: Result<FireClock, String>,
    /// The newest fire time run or skipped.
    handled: DateTime<Utc>,
}

/// Shared between the loop and the runs it spawned.
#[derive(Default)]
struct Running {
    /// Schedules with a run in progress.
    busy: Mutex<BTreeSet<i64>>,
    /// Woken when a run ends.
    ended: Notify,
}

/// Runs until `shutdown` resolves; runs in progress are awaited before returning.
pub async fn run(
    executor: Executor,
    config: SchedulerConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), StoreError> {
    let permits = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let running = Arc::new(Running::default());
    let mut tracked: BTreeMap<i64, Tracked> = BTreeMap::new();
    let mut refreshed: Option<tokio::time::Instant> = None;
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        if refreshed.is_none_or(|t| t.elapsed() >= config.refresh) {
            match refresh(&executor, &mut tracked).await {
                Ok(()) => refreshed = Some(tokio::time::Instant::now()),
                Err(e) => tracing::warn!(error = %e, "cannot read the schedules; retrying"),
            }
        }
        let now = Utc::now();
        let mut next_wake =
            now + Duration::from_std(config.refresh).unwrap_or(Duration::seconds(5));
        for item in tracked.values_mut() {
            let Ok(clock) = &item.clock else { continue };
            if !item.schedule.active {
                continue;
            }
            if running
                .busy
                .lock()
                .expect("not poisoned")
                .contains(&item.schedule.id)
            {
                continue;
            }
            let due = due_runs(clock, item.handled, now, config.catch_up);
            if !due.skipped.is_empty() {
                if let Err(e) = record_skipped(&executor, &item.schedule, &due).await {
                    tracing::warn!(schedule = %item.schedule.resource, error = %e, "cannot record skipped runs");
                    continue;
                }
                item.handled = *due.skipped.last().expect("not empty");
            }
            if let Some(fire) = due.run {
                item.handled = fire;
                running
                    .busy
                    .lock()
                    .expect("not poisoned")
                    .insert(item.schedule.id);
                let executor = executor.clone();
                let permits = permits.clone();
                let running = running.clone();
                let id = item.schedule.id;
                let resource = item.schedule.resource.clone();
                tasks.spawn(async move {
                    let started = Utc::now();
                    let result = executor.execute_in(id, fire, Some(permits)).await;
                    log_outcome(&resource, fire, started, &result);
                    running.busy.lock().expect("not poisoned").remove(&id);
                    running.ended.notify_one();
                });
            }
            if let Some(next) = clock.next_after(item.handled.max(now)) {
                next_wake = next_wake.min(next);
            }
        }
        while tasks.try_join_next().is_some() {}
        let sleep = (next_wake - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            () = tokio::time::sleep(sleep) => {}
            () = running.ended.notified() => {}
            () = &mut shutdown => break,
        }
    }
    tracing::info!(runs = tasks.len(), "stopping: waiting for runs in progress");
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// Reads the managed schedules again, keeping what the loop knows of those still there.
async fn refresh(
    executor: &Executor,
    tracked: &mut BTreeMap<i64, Tracked>,
) -> Result<(), StoreError> {
    let mut tx = executor.store.read().await?;
    let schedules = execution::managed_schedules(&mut tx).await?;
    tx.rollback().await?;
    let started = Utc::now();
    let mut next = BTreeMap::new();
    for schedule in schedules {
        let from_log = schedule
            .last_scheduled
            .into_iter()
            .chain(schedule.created_on)
            .max()
            .unwrap_or(started);
        let (handled, clock) = match tracked.remove(&schedule.id) {
            Some(old)
                if old.schedule.crontab == schedule.crontab
                    && old.schedule.timezone == schedule.timezone =>
            {
                (old.handled.max(from_log), old.clock)
            }
            _ => {
                let clock = FireClock::new(&schedule.crontab, &schedule.timezone);
                if let Err(why) = &clock {
                    tracing::warn!(schedule = %schedule.resource, error = %why, "not scheduled");
                }
                (from_log, clock)
            }
        };
        next.insert(
            schedule.id,
            Tracked {
                schedule,
                clock,
                handled,
            },
        );
    }
    *tracked = next;
    Ok(())
}

/// Records the fire times passed over (one row).
async fn record_skipped(
    executor: &Executor,
    schedule: &ManagedSchedule,
    due: &DueRuns,
) -> Result<(), StoreError> {
    let Some(row) = due.skipped_row(schedule.id, Utc::now()) else {
        return Ok(());
    };
    let mut tx = executor.store.write_runtime().await?;
    execution::record(&mut tx, schedule.id, &row, true).await?;
    tx.commit().await?;
    tracing::warn!(schedule = %schedule.resource, skipped = due.skipped.len(), message = row.error_message.as_deref().unwrap_or(""), "missed runs skipped");
    Ok(())
}

fn log_outcome(
    resource: &str,
    fire: DateTime<Utc>,
    started: DateTime<Utc>,
    result: &Result<Outcome, crate::execute::run::RunError>,
) {
    let lateness_ms = (started - fire).num_milliseconds();
    match result {
        Ok(Outcome::Recorded { state, message }) => tracing::info!(
            schedule = %resource,
            fire_time = %fire.to_rfc3339(),
            lateness_ms,
            state = state.as_str(),
            message = message.as_deref().unwrap_or(""),
            "run ended"
        ),
        Ok(other) => {
            tracing::info!(schedule = %resource, fire_time = %fire.to_rfc3339(), lateness_ms, outcome = ?other, "run ended")
        }
        Err(e) => {
            tracing::warn!(schedule = %resource, fire_time = %fire.to_rfc3339(), error = %e, "run failed before it recorded anything")
        }
    }
}
