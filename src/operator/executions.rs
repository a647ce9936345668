//! Scheduled executions as Kubernetes Jobs (leader only): for every SupersetInstance with
//! `spec.executions`, each active, applied ReportSchedule gets one Job per fire time, created
//! under a deterministic name (a second creation is a no-op). A run still working within its
//! timeout holds the next one back (skipped, like Superset's Working state); fire times missed
//! while no operator led follow the catch-up rule; a Job known dead whose run recorded no result
//! is marked Error at once; finished Jobs beyond the history limits are deleted. Each
//! schedule's status shows its last and next fire time and Superset's last state.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, PropagationPolicy};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::json;

use super::reconciler::Reconciler;
use super::targeting::Instances;
use crate::execute::state::{RunState, execution_id, message};
use crate::resources::ReportSchedule;
use crate::resources::instance::{Executions, SupersetInstance};
use crate::schedule::due::{DueRuns, SkipReason, due_runs};
use crate::schedule::fire_clock::FireClock;
use crate::schedule::job::{
    self, FIRE_TIME_ANNOTATION, MANAGED_BY, SCHEDULE_UID_LABEL, ScheduleRef,
};
use crate::store::execution::{self, LogRow};

/// The field manager of the status fields this loop writes.
const FIELD_MANAGER: &str = "steward-scheduler";
/// The longest the loop sleeps: new and changed schedules are seen within it.
const MAX_SLEEP: StdDuration = StdDuration::from_secs(2);

/// A Job's fire time and whether (and how) it finished.
struct JobView {
    name: String,
    namespace: String,
    fire: DateTime<Utc>,
    finished: Option<Finished>,
}

#[derive(Clone, Debug, PartialEq)]
enum Finished {
    Complete,
    Failed(String),
}

fn view(job: &Job) -> Option<JobView> {
    let fire = job
        .annotations()
        .get(FIRE_TIME_ANNOTATION)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())?
        .with_timezone(&Utc);
    let conditions = job.status.as_ref().and_then(|s| s.conditions.as_ref());
    let finished = conditions.and_then(|conditions| {
        conditions
            .iter()
            .find_map(|c| match (c.type_.as_str(), c.status.as_str()) {
                ("Complete", "True") => Some(Finished::Complete),
                ("Failed", "True") => Some(Finished::Failed(
                    c.message
                        .clone()
                        .or_else(|| c.reason.clone())
                        .unwrap_or_else(|| "the Job failed".into()),
                )),
                _ => None,
            })
    });
    Some(JobView {
        name: job.name_any(),
        namespace: job.namespace().unwrap_or_default(),
        fire,
        finished,
    })
}

/// What a schedule's status shows of its runs.
struct RunStatus<'a> {
    schedule: &'a ReportSchedule,
    /// The newest fire time run or skipped.
    last: Option<DateTime<Utc>>,
    next: Option<DateTime<Utc>>,
    superset_id: Option<i64>,
}

/// A Job to create for a schedule's due run.
struct Creation<'a> {
    schedule: &'a ReportSchedule,
    uid: String,
    id: i64,
    fire: DateTime<Utc>,
    /// The newest fire time skipped in the same round.
    skipped: Option<DateTime<Utc>>,
    clock: FireClock,
    namespace: String,
    job: Job,
}

/// How long the metadata database's URL is used before its Secret is read again (a round
/// runs every 2 s; the pass reads the Secret on its own schedule).
const URL_REFRESH: StdDuration = StdDuration::from_secs(30);

/// Jobs created at once.
const CREATE_CONCURRENCY: usize = 32;

/// Remembers `newest` as handled and returns what the schedule's status shows.
fn settle<'a>(
    memory: &mut Memory,
    schedule: &'a ReportSchedule,
    uid: &str,
    id: i64,
    newest: Option<DateTime<Utc>>,
    clock: &FireClock,
    now: DateTime<Utc>,
) -> RunStatus<'a> {
    if let Some(t) = newest {
        memory.handled.insert(uid.to_owned(), t);
    }
    let last = memory.handled.get(uid).copied();
    RunStatus {
        schedule,
        last,
        next: clock.next_after(last.unwrap_or(now).max(now)),
        superset_id: Some(id),
    }
}

/// The loop's memory: per schedule uid, the newest fire time handled, and Jobs already judged.
#[derive(Default)]
struct Memory {
    handled: HashMap<String, DateTime<Utc>>,
    judged: std::collections::HashSet<String>,
    /// Per instance, its database URL and when its Secret was read.
    urls: HashMap<String, (crate::store::DatabaseUrl, std::time::Instant)>,
}

/// Watches the Jobs steward created (cluster-wide, by label).
pub fn watch_jobs(client: &Client) -> Store<Job> {
    let (reader, writer) = reflector::store::<Job>();
    let api: Api<Job> = Api::all(client.clone());
    let config = watcher::Config::default().labels(&format!("{}={}", MANAGED_BY.0, MANAGED_BY.1));
    let stream = watcher(api, config).default_backoff().reflect(writer);
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            if let Err(e) = event {
                tracing::warn!(error = %e, "watching Jobs failed; retrying");
            }
        }
    });
    reader
}

/// Runs while `leading` says this replica leads, until `shutdown`.
pub async fn run(
    reconciler: Arc<Reconciler>,
    jobs: Store<Job>,
    mut leading: tokio::sync::watch::Receiver<bool>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let _ = jobs.wait_until_ready().await;
    let mut memory = Memory::default();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let leader = *leading.borrow_and_update();
        let sleep = if leader {
            tick(&reconciler, &jobs, &mut memory).await
        } else {
            // A new leader starts from the statuses, not from a follower's memory.
            memory = Memory::default();
            StdDuration::from_secs(3600)
        };
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = leading.changed() => {}
            () = tokio::time::sleep(sleep) => {}
        }
    }
}

/// One round over every instance; returns how long to sleep.
async fn tick(reconciler: &Reconciler, jobs: &Store<Job>, memory: &mut Memory) -> StdDuration {
    let caches = &reconciler.caches;
    let instances = caches.instances.state();
    let known = Instances::new(instances.iter().map(|i| {
        (
            i.metadata.name.as_deref().unwrap_or_default(),
            i.spec.default,
        )
    }));
    let schedules = caches.schedules.state();
    let mut wake = Utc::now() + Duration::from_std(MAX_SLEEP).unwrap_or(Duration::seconds(2));
    for instance in instances.iter() {
        let Some(executions) = &instance.spec.executions else {
            continue;
        };
        let name = instance.name_any();
        let mine: Vec<&Arc<ReportSchedule>> = schedules
            .iter()
            .filter(|s| s.metadata.deletion_timestamp.is_none())
            .filter(|s| known.target_of(s.metadata.annotations.as_ref()) == Ok(name.as_str()))
            .collect();
        match instance_round(reconciler, instance, executions, &mine, jobs, memory).await {
            Ok(next) => wake = wake.min(next),
            Err(why) => {
                // The Secret may have changed: read it again next round.
                memory.urls.remove(&name);
                tracing::warn!(instance = %name, error = %why, "scheduled executions paused")
            }
        }
    }
    (wake - Utc::now())
        .to_std()
        .unwrap_or_default()
        .min(MAX_SLEEP)
}

async fn instance_round(
    reconciler: &Reconciler,
    instance: &SupersetInstance,
    executions: &Executions,
    schedules: &[&Arc<ReportSchedule>],
    jobs: &Store<Job>,
    memory: &mut Memory,
) -> Result<DateTime<Utc>, String> {
    let name = instance.name_any();
    let cached = memory
        .urls
        .get(&name)
        .filter(|(_, read)| read.elapsed() < URL_REFRESH)
        .map(|(url, _)| url.clone());
    let url = match cached {
        Some(url) => url,
        None => {
            let url = reconciler.database_url(instance).await.map_err(|u| u.0)?;
            memory
                .urls
                .insert(name, (url.clone(), std::time::Instant::now()));
            url
        }
    };
    let store = reconciler
        .connection(&instance.name_any(), &url)
        .await
        .map_err(|u| u.0)?;
    let catch_up = Duration::seconds(i64::from(
        executions
            .catch_up_seconds
            .unwrap_or(job::DEFAULT_CATCH_UP_SECONDS),
    ));
    let all_jobs = jobs.state();
    let mut wake = Utc::now() + Duration::hours(1);
    let mut ids: Vec<i64> = Vec::new();
    let mut statuses: Vec<RunStatus> = Vec::new();
    let mut creations: Vec<Creation> = Vec::new();
    for schedule in schedules {
        let uid = schedule.uid().unwrap_or_default();
        let superset_id = schedule.status.as_ref().and_then(|s| s.superset_id);
        let mut own: Vec<JobView> = all_jobs
            .iter()
            .filter(|j| j.labels().get(SCHEDULE_UID_LABEL) == Some(&uid))
            .filter_map(|j| view(j))
            .collect();
        own.sort_by_key(|j| j.fire);
        if let Some(id) = superset_id {
            judge_dead_jobs(&store, id, &own, memory).await;
            ids.push(id);
        }
        clean_history(reconciler, executions, &own).await;
        let spec = &schedule.spec;
        let clock = match FireClock::new(&spec.crontab, spec.timezone.as_deref().unwrap_or("UTC")) {
            Ok(clock) => clock,
            Err(_) => continue, // invalid: the pass reports it on the resource
        };
        let Some(id) = superset_id else { continue };
        if spec.active == Some(false) {
            statuses.push(RunStatus {
                schedule,
                last: last_run(schedule),
                next: None,
                superset_id: Some(id),
            });
            continue;
        }
        let now = Utc::now();
        let handled = memory
            .handled
            .get(&uid)
            .copied()
            .or_else(|| last_run(schedule))
            .unwrap_or_else(|| {
                schedule
                    .metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| DateTime::from_timestamp(t.0.as_second(), 0).unwrap_or(now))
                    .unwrap_or(now)
            });
        let mut due = due_runs(&clock, handled, now, catch_up);
        let timeout = Duration::seconds(i64::from(spec.working_timeout_seconds.unwrap_or(3600)));
        if let Some(fire) = due.run
            && own
                .iter()
                .any(|j| j.finished.is_none() && j.fire + timeout > now && j.fire < fire)
        {
            // Superset's Working state: no new run while one works within its timeout.
            due.skipped.push(fire);
            due.run = None;
            due.skip_reason = Some(SkipReason::StillWorking);
        }
        if let Err(e) = record_skipped(&store, id, &due).await {
            tracing::warn!(schedule = %schedule.name_any(), error = %e, "skipped runs not recorded; retrying");
            continue;
        }
        let newest = due.skipped.last().copied();
        match due.run {
            Some(fire) => {
                let namespace = schedule.namespace().unwrap_or_else(|| "default".into());
                let reference = ScheduleRef {
                    namespace: &namespace,
                    name: &schedule.name_any(),
                    uid: &uid,
                    instance: &instance.name_any(),
                    working_timeout: timeout.num_seconds(),
                };
                let job = job::build(&reference, fire, executions);
                creations.push(Creation {
                    schedule,
                    uid,
                    id,
                    fire,
                    skipped: newest,
                    clock,
                    namespace,
                    job,
                });
            }
            None => {
                let status = settle(memory, schedule, &uid, id, newest, &clock, now);
                if let Some(next) = status.next {
                    wake = wake.min(next);
                }
                statuses.push(status);
            }
        }
    }
    // A minute's Jobs are created together (a sequential round of API calls would make the
    // last schedule of a large instance late).
    let futures: Vec<_> = creations
        .into_iter()
        .map(|c| {
            let client = reconciler.client.clone();
            async move {
                let api: Api<Job> = Api::namespaced(client, &c.namespace);
                let result = match api.create(&PostParams::default(), &c.job).await {
                    Ok(_) => {
                        tracing::info!(schedule = %format!("{}/{}", c.namespace, c.schedule.name_any()), fire_time = %c.fire.to_rfc3339(), lateness_ms = (Utc::now() - c.fire).num_milliseconds(), "Job created");
                        Ok(())
                    }
                    Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
                    Err(e) => Err(e),
                };
                (c, result)
            }
        })
        .collect();
    let created: Vec<(Creation, Result<(), kube::Error>)> = futures_util::stream::iter(futures)
        .buffer_unordered(CREATE_CONCURRENCY)
        .collect()
        .await;
    let now = Utc::now();
    for (c, result) in created {
        let newest = match result {
            Ok(()) => Some(c.fire),
            Err(e) => {
                tracing::warn!(schedule = %c.schedule.name_any(), error = %e, "Job not created; retrying");
                c.skipped
            }
        };
        let status = settle(memory, c.schedule, &c.uid, c.id, newest, &c.clock, now);
        if let Some(next) = status.next {
            wake = wake.min(next);
        }
        statuses.push(status);
    }
    write_statuses(reconciler, &store, statuses, &ids).await;
    Ok(wake)
}

/// The fire time the status says was handled last.
fn last_run(schedule: &ReportSchedule) -> Option<DateTime<Utc>> {
    schedule
        .status
        .as_ref()
        .and_then(|s| s.last_run_time.as_deref())
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

async fn record_skipped(
    store: &crate::store::Store,
    id: i64,
    due: &DueRuns,
) -> Result<(), crate::store::StoreError> {
    let Some(row) = due.skipped_row(id, Utc::now()) else {
        return Ok(());
    };
    let mut tx = store.write_runtime().await?;
    execution::record(&mut tx, id, &row, true).await?;
    tx.commit().await
}

/// A failed Job whose run recorded no result: Error now, not after the working timeout.
async fn judge_dead_jobs(
    store: &crate::store::Store,
    id: i64,
    jobs: &[JobView],
    memory: &mut Memory,
) {
    for job in jobs {
        let Some(Finished::Failed(why)) = &job.finished else {
            continue;
        };
        let key = format!("{}/{}", job.namespace, job.name);
        if memory.judged.contains(&key) {
            continue;
        }
        let run = execution_id(id, job.fire);
        let result: Result<(), crate::store::StoreError> = async {
            let mut tx = store.write_runtime().await?;
            if execution::final_state_of(&mut tx, id, run).await?.is_none() {
                let now = Utc::now();
                let row = LogRow {
                    execution_id: run,
                    scheduled: job.fire,
                    start: now,
                    end: now,
                    state: RunState::Error,
                    error_message: Some(format!("{} Job {key}: {why}", message::EXECUTOR_DIED)),
                    value: None,
                    value_row_json: None,
                };
                execution::record(&mut tx, id, &row, false).await?;
                tracing::warn!(job = %key, reason = %why, "the run's Job failed without a result: Error recorded");
            }
            tx.commit().await
        }
        .await;
        match result {
            Ok(()) => {
                memory.judged.insert(key);
            }
            Err(e) => {
                tracing::warn!(job = %key, error = %e, "a failed Job's run not recorded; retrying")
            }
        }
    }
}

/// Deletes finished Jobs beyond the history limits (oldest first).
async fn clean_history(reconciler: &Reconciler, executions: &Executions, jobs: &[JobView]) {
    let keep_ok = executions
        .successful_jobs_history_limit
        .unwrap_or(job::DEFAULT_SUCCESSFUL_HISTORY) as usize;
    let keep_failed = executions
        .failed_jobs_history_limit
        .unwrap_or(job::DEFAULT_FAILED_HISTORY) as usize;
    let complete: Vec<&JobView> = jobs
        .iter()
        .filter(|j| j.finished == Some(Finished::Complete))
        .collect();
    let failed: Vec<&JobView> = jobs
        .iter()
        .filter(|j| matches!(j.finished, Some(Finished::Failed(_))))
        .collect();
    let excess = complete
        .iter()
        .take(complete.len().saturating_sub(keep_ok))
        .chain(failed.iter().take(failed.len().saturating_sub(keep_failed)));
    for job in excess {
        let api: Api<Job> = Api::namespaced(reconciler.client.clone(), &job.namespace);
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        match api.delete(&job.name, &params).await {
            Ok(_) => {
                tracing::info!(job = %format!("{}/{}", job.namespace, job.name), "finished Job beyond the history limit deleted")
            }
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => tracing::warn!(job = %job.name, error = %e, "Job not deleted"),
        }
    }
}

/// Writes each schedule's `lastRunTime`, `nextRunTime` and `lastState` when they changed.
async fn write_statuses(
    reconciler: &Reconciler,
    store: &crate::store::Store,
    statuses: Vec<RunStatus<'_>>,
    ids: &[i64],
) {
    let states: BTreeMap<i64, String> = match store.read().await {
        Ok(mut tx) => {
            let states = execution::last_states(&mut tx, ids)
                .await
                .unwrap_or_default();
            let _ = tx.rollback().await;
            states
        }
        Err(_) => BTreeMap::new(),
    };
    let text =
        |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    for RunStatus {
        schedule,
        last,
        next,
        superset_id: id,
    } in statuses
    {
        let last_state = id.and_then(|id| states.get(&id).cloned());
        let current = schedule.status.as_ref();
        let (last, next) = (text(last), text(next));
        if current.map(|s| (&s.last_run_time, &s.next_run_time, &s.last_state))
            == Some((&last, &next, &last_state))
        {
            continue;
        }
        let patch = json!({
            "apiVersion": "steward.dev/v1alpha1",
            "kind": "ReportSchedule",
            "metadata": {"name": schedule.name_any()},
            "status": {"lastRunTime": last, "nextRunTime": next, "lastState": last_state},
        });
        let api: Api<ReportSchedule> = Api::namespaced(
            reconciler.client.clone(),
            &schedule.namespace().unwrap_or_else(|| "default".into()),
        );
        if let Err(e) = api
            .patch_status(
                &schedule.name_any(),
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&patch),
            )
            .await
        {
            tracing::warn!(schedule = %schedule.name_any(), error = %e, "schedule status not written");
        }
    }
}
