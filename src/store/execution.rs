//! The rows a run reads and writes: one schedule's facts and execution history, the managed
//! schedules a scheduler watches, and Superset's execution log (`report_execution_log`) with
//! the schedule's `last_state`, `last_eval_dttm` and `last_value` columns, written the way
//! Superset's own executor writes them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDateTime, Utc};

use super::migrate::LEDGER_TABLE;
use super::sql::{MAX_PARAMS, Tx, Ty, Value, bind_markers};
use super::{StoreError, config_document};
use crate::execute::facts::{Executor, RecipientRow, ScheduleFacts, Subject, UserFacts};
pub use crate::execute::state::LogRow;
use crate::execute::state::{History, RunState, message};
use crate::model::ReportConfig;

/// A schedule steward manages, as a scheduler sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedSchedule {
    pub id: i64,
    /// The declaring resource, `namespace/name`.
    pub resource: String,
    pub name: String,
    pub is_alert: bool,
    pub active: bool,
    pub crontab: String,
    pub timezone: String,
    pub working_timeout: i64,
    pub created_on: Option<DateTime<Utc>>,
    /// The newest fire time its execution log records.
    pub last_scheduled: Option<DateTime<Utc>>,
}

fn naive(t: DateTime<Utc>) -> Value {
    Value::Time(t.naive_utc())
}

/// A timestamp column read as text by either backend.
fn parse_time(value: &Value) -> Option<DateTime<Utc>> {
    let text = value.as_str()?;
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text.trim(), f).ok())
        .map(|n| n.and_utc())
}

/// A timestamp column as text, the same on both backends.
fn time_text(column: &str) -> String {
    format!("CAST({column} AS TEXT)")
}

/// The id of the schedule the resource `namespace/name` declares, from the ownership ledger.
/// Errors name what is wrong: no such managed schedule, or several (different managers).
pub async fn schedule_id_of(
    tx: &mut Tx,
    namespace: &str,
    name: &str,
) -> Result<Option<i64>, StoreError> {
    let keys = tx
        .fetch(
            &format!(
                "SELECT object_key, manager FROM {LEDGER_TABLE} \
                 WHERE kind = 'ReportSchedule' AND resource_namespace = $1 AND resource_name = $2"
            ),
            &[Value::text(namespace), Value::text(name)],
            &[Ty::Text, Ty::Text],
        )
        .await?;
    let keys: BTreeSet<String> = keys
        .into_iter()
        .filter_map(|mut r| r.swap_remove(0).into_text())
        .collect();
    if keys.len() > 1 {
        return Err(StoreError::Data(format!(
            "the resource {namespace}/{name} declares {} schedules in the ledger ({}); name one by its Superset id",
            keys.len(),
            keys.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    let Some(key) = keys.into_iter().next() else {
        return Ok(None);
    };
    let Some((kind, schedule_name)) = key.split_once(':') else {
        return Err(StoreError::Data(format!(
            "the ledger's schedule key {key:?} has no type"
        )));
    };
    let rows = tx
        .fetch(
            "SELECT id FROM report_schedule WHERE type = $1 AND name = $2",
            &[Value::text(kind), Value::text(schedule_name)],
            &[Ty::Int],
        )
        .await?;
    Ok(rows.first().and_then(|r| r[0].as_int()))
}

/// Every schedule steward's ledger manages, with what a scheduler needs.
pub async fn managed_schedules(tx: &mut Tx) -> Result<Vec<ManagedSchedule>, StoreError> {
    let ledger = tx
        .fetch(
            &format!(
                "SELECT object_key, resource_namespace, resource_name FROM {LEDGER_TABLE} \
                 WHERE kind = 'ReportSchedule'"
            ),
            &[],
            &[Ty::Text, Ty::Text, Ty::Text],
        )
        .await?;
    let mut declared: BTreeMap<String, String> = BTreeMap::new();
    for mut row in ledger {
        let key = row[0].as_str().unwrap_or_default().to_owned();
        let namespace = row[1].as_str().unwrap_or("default").to_owned();
        let resource = match row[2].take_text() {
            Some(name) => format!("{namespace}/{name}"),
            None => key.clone(),
        };
        declared.insert(key, resource);
    }
    let sql = format!(
        "SELECT s.id, s.type, s.name, s.active, s.crontab, s.timezone, s.working_timeout, {}, \
         (SELECT {} FROM report_execution_log l WHERE l.report_schedule_id = s.id \
          ORDER BY l.scheduled_dttm DESC LIMIT 1) \
         FROM report_schedule s ORDER BY s.id",
        time_text("s.created_on"),
        time_text("l.scheduled_dttm"),
    );
    let rows = tx
        .fetch(
            &sql,
            &[],
            &[
                Ty::Int,
                Ty::Text,
                Ty::Text,
                Ty::Bool,
                Ty::Text,
                Ty::Text,
                Ty::Int,
                Ty::Text,
                Ty::Text,
            ],
        )
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let kind = r[1].as_str().unwrap_or_default();
        let name = r[2].as_str().unwrap_or_default();
        let Some(resource) = declared.get(&format!("{kind}:{name}")) else {
            continue;
        };
        out.push(ManagedSchedule {
            id: r[0].as_int().unwrap_or_default(),
            resource: resource.clone(),
            name: name.to_owned(),
            is_alert: kind == "Alert",
            active: r[3].as_bool().unwrap_or(true),
            crontab: r[4].as_str().unwrap_or_default().to_owned(),
            timezone: r[5].as_str().unwrap_or("UTC").to_owned(),
            working_timeout: r[6].as_int().unwrap_or(3600),
            created_on: parse_time(&r[7]),
            last_scheduled: parse_time(&r[8]),
        });
    }
    Ok(out)
}

/// Everything a run of schedule `id` reads, with the history of the run `execution_id`.
/// `None` when the schedule does not exist (any more).
pub async fn read_facts(
    tx: &mut Tx,
    id: i64,
    execution_id: uuid::Uuid,
) -> Result<Option<ScheduleFacts>, StoreError> {
    let run_as = tx.has_column("report_schedule", "run_as_fk").await?;
    let run_as_columns = match run_as {
        true => "s.run_as_fk, s.run_as_type, s.run_alert_query_as_fk, s.run_alert_query_as_type",
        false => "NULL, NULL, NULL, NULL",
    };
    let sql = format!(
        "SELECT s.name, s.type, s.active, s.crontab, s.timezone, s.description, s.report_format, \
         s.email_subject, s.database_id, s.sql, s.validator_type, s.validator_config_json, \
         s.working_timeout, s.grace_period, s.log_retention, s.extra_json, {}, s.last_state, \
         s.chart_id, s.dashboard_id, {run_as_columns}, s.custom_width, s.custom_height \
         FROM report_schedule s WHERE s.id = $1",
        time_text("s.created_on"),
    );
    let mut types = vec![
        Ty::Text,
        Ty::Text,
        Ty::Bool,
        Ty::Text,
        Ty::Text,
        Ty::Text,
        Ty::Text,
        Ty::Text,
        Ty::Int,
        Ty::Text,
        Ty::Text,
        Ty::Text,
        Ty::Int,
        Ty::Int,
        Ty::Int,
        Ty::Text,
        Ty::Text,
        Ty::Text,
        Ty::Int,
        Ty::Int,
    ];
    types.extend([Ty::Int, Ty::Text, Ty::Int, Ty::Text, Ty::Int, Ty::Int]);
    let Some(mut r) = tx.fetch(&sql, &[Value::int(id)], &types).await?.pop() else {
        return Ok(None);
    };
    let text = |r: &mut Vec<Value>, i: usize| r[i].take_text();
    let extra = text(&mut r, 15).unwrap_or_default();
    let attach_content = serde_json::from_str::<serde_json::Value>(&extra)
        .ok()
        .and_then(|e| e.get("attach_content")?.as_bool());
    let subject = match (r[18].as_int(), r[19].as_int()) {
        (Some(chart), _) => chart_subject(tx, chart).await?,
        (None, Some(dashboard)) => dashboard_subject(tx, dashboard).await?,
        (None, None) => Subject::Nothing,
    };
    let run_as_user = executor(tx, r[20].as_int(), r[21].as_str()).await?;
    let query_user = executor(tx, r[22].as_int(), r[23].as_str()).await?;
    let owners = users_where(
        tx,
        "u.id IN (SELECT user_id FROM report_schedule_user WHERE report_schedule_id = $1)",
        id,
    )
    .await?;
    let recipients = tx
        .fetch(
            "SELECT type, recipient_config_json FROM report_recipient WHERE report_schedule_id = $1 ORDER BY id",
            &[Value::int(id)],
            &[Ty::Text, Ty::Text],
        )
        .await?
        .into_iter()
        .map(|mut row| RecipientRow {
            kind: row[0].take_text().unwrap_or_default(),
            config: row[1].take_text().unwrap_or_default(),
        })
        .collect();
    let mut history = read_history(tx, id, execution_id).await?;
    history.last_state = r[17].as_str().and_then(RunState::parse);
    let last_scheduled = newest(
        tx,
        &format!("SELECT {} FROM report_execution_log WHERE report_schedule_id = $1 ORDER BY scheduled_dttm DESC LIMIT 1", time_text("scheduled_dttm")),
        id,
    )
    .await?;
    Ok(Some(ScheduleFacts {
        id,
        name: text(&mut r, 0).unwrap_or_default(),
        is_alert: r[1].as_str() == Some("Alert"),
        active: r[2].as_bool().unwrap_or(true),
        crontab: text(&mut r, 3).unwrap_or_default(),
        timezone: text(&mut r, 4).unwrap_or_else(|| "UTC".into()),
        description: text(&mut r, 5),
        report_format: text(&mut r, 6).unwrap_or_else(|| "PNG".into()),
        email_subject: text(&mut r, 7).filter(|s| !s.is_empty()),
        database_id: r[8].as_int(),
        sql: text(&mut r, 9),
        validator_type: text(&mut r, 10),
        validator_config: text(&mut r, 11),
        working_timeout: r[12].as_int().unwrap_or(3600),
        grace_period: r[13].as_int().unwrap_or(14400),
        log_retention_days: r[14].as_int().unwrap_or(90),
        attach_content,
        custom_width: r[24].as_int(),
        custom_height: r[25].as_int(),
        created_on: parse_time(&r[16]),
        subject,
        recipients,
        owners,
        run_as: run_as_user,
        run_alert_query_as: query_user,
        last_scheduled,
        history,
    }))
}

async fn chart_subject(tx: &mut Tx, id: i64) -> Result<Subject, StoreError> {
    let rows = tx
        .fetch(
            "SELECT slice_name, query_context FROM slices WHERE id = $1",
            &[Value::int(id)],
            &[Ty::Text, Ty::Text],
        )
        .await?;
    let Some(mut row) = rows.into_iter().next() else {
        return Err(StoreError::Data(format!(
            "the schedule's chart {id} is gone"
        )));
    };
    Ok(Subject::Chart {
        id,
        name: row[0].take_text().unwrap_or_default(),
        has_query_context: row[1].as_str().is_some_and(|q| !q.trim().is_empty()),
    })
}

async fn dashboard_subject(tx: &mut Tx, id: i64) -> Result<Subject, StoreError> {
    let rows = tx
        .fetch(
            "SELECT dashboard_title FROM dashboards WHERE id = $1",
            &[Value::int(id)],
            &[Ty::Text],
        )
        .await?;
    let Some(mut row) = rows.into_iter().next() else {
        return Err(StoreError::Data(format!(
            "the schedule's dashboard {id} is gone"
        )));
    };
    Ok(Subject::Dashboard {
        id,
        title: row[0].take_text().unwrap_or_default(),
    })
}

async fn executor(
    tx: &mut Tx,
    id: Option<i64>,
    kind: Option<&str>,
) -> Result<Executor, StoreError> {
    match (id, kind) {
        (Some(id), _) => Ok(users_where(tx, "u.id = $1", id)
            .await?
            .into_iter()
            .next()
            .map_or(Executor::Deleted, Executor::User)),
        (None, Some(_)) => Ok(Executor::Deleted),
        (None, None) => Ok(Executor::Unset),
    }
}

async fn users_where(
    tx: &mut Tx,
    condition: &str,
    param: i64,
) -> Result<Vec<UserFacts>, StoreError> {
    let sql = format!(
        "SELECT u.id, u.username, u.email, u.active FROM ab_user u WHERE {condition} ORDER BY u.id"
    );
    Ok(tx
        .fetch(
            &sql,
            &[Value::int(param)],
            &[Ty::Int, Ty::Text, Ty::Text, Ty::Bool],
        )
        .await?
        .into_iter()
        .map(|mut r| UserFacts {
            id: r[0].as_int().unwrap_or_default(),
            username: r[1].take_text().unwrap_or_default(),
            email: r[2].take_text().unwrap_or_default(),
            active: r[3].as_bool().unwrap_or(false),
        })
        .collect())
}

async fn newest(tx: &mut Tx, sql: &str, id: i64) -> Result<Option<DateTime<Utc>>, StoreError> {
    let rows = tx.fetch(sql, &[Value::int(id)], &[Ty::Text]).await?;
    Ok(rows.first().and_then(|r| parse_time(&r[0])))
}

async fn read_history(
    tx: &mut Tx,
    id: i64,
    execution_id: uuid::Uuid,
) -> Result<History, StoreError> {
    let end = time_text("end_dttm");
    let newest_where = |condition: &str| {
        format!(
            "SELECT {end} FROM report_execution_log WHERE report_schedule_id = $1 AND {condition} \
             ORDER BY end_dttm DESC LIMIT 1"
        )
    };
    let last_working = newest(
        tx,
        &newest_where("state = 'Working' AND error_message IS NULL"),
        id,
    )
    .await?;
    let last_success = newest(tx, &newest_where("state = 'Success'"), id).await?;
    let last_error_notice = newest(
        tx,
        &newest_where(&format!(
            "state = 'Error' AND error_message = '{}'",
            message::ERROR_NOTICE_MARKER
        )),
        id,
    )
    .await?;
    let this_run = tx
        .fetch(
            "SELECT state FROM report_execution_log WHERE report_schedule_id = $1 AND uuid = $2 \
             AND state <> 'Working' ORDER BY id DESC LIMIT 1",
            &[Value::int(id), Value::Uuid(execution_id)],
            &[Ty::Text],
        )
        .await?
        .first()
        .and_then(|r| r[0].as_str().and_then(RunState::parse));
    Ok(History {
        last_state: None,
        last_working,
        last_success,
        last_error_notice,
        this_run,
    })
}

/// The final state the run `execution_id` of schedule `id` recorded, if it ended.
pub async fn final_state_of(
    tx: &mut Tx,
    id: i64,
    execution_id: uuid::Uuid,
) -> Result<Option<RunState>, StoreError> {
    Ok(read_history(tx, id, execution_id).await?.this_run)
}

/// `report_schedule.last_state` of each of `ids` that exists.
pub async fn last_states(tx: &mut Tx, ids: &[i64]) -> Result<BTreeMap<i64, String>, StoreError> {
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(MAX_PARAMS) {
        let sql = format!(
            "SELECT id, last_state FROM report_schedule WHERE id IN ({})",
            bind_markers(1, chunk.len())
        );
        let params: Vec<Value> = chunk.iter().map(|i| Value::int(*i)).collect();
        for mut row in tx.fetch(&sql, &params, &[Ty::Int, Ty::Text]).await? {
            if let (Some(id), Some(state)) = (row[0].as_int(), row[1].take_text()) {
                out.insert(id, state);
            }
        }
    }
    Ok(out)
}

/// The Alerts & Reports configuration's settings (`key → JSON text`).
pub async fn report_config(tx: &mut Tx) -> Result<ReportConfig, StoreError> {
    Ok(ReportConfig {
        entries: config_document::read(tx).await?.unwrap_or_default(),
    })
}

/// Of `addresses`, the lower-cased ones that are e-mails of active users.
pub async fn active_user_emails(
    tx: &mut Tx,
    addresses: &[String],
) -> Result<BTreeSet<String>, StoreError> {
    let mut found = BTreeSet::new();
    let wanted: BTreeSet<String> = addresses.iter().map(|a| a.to_lowercase()).collect();
    let wanted: Vec<String> = wanted.into_iter().collect();
    for chunk in wanted.chunks(MAX_PARAMS - 1) {
        let sql = format!(
            "SELECT LOWER(email) FROM ab_user WHERE active = $1 AND LOWER(email) IN ({})",
            bind_markers(2, chunk.len())
        );
        let mut params = vec![Value::Bool(Some(true))];
        params.extend(chunk.iter().map(|a| Value::text(a.as_str())));
        for mut row in tx.fetch(&sql, &params, &[Ty::Text]).await? {
            if let Some(email) = row[0].take_text() {
                found.insert(email);
            }
        }
    }
    Ok(found)
}

/// Records `row` in the execution log and, unless `log_only`, as the schedule's last state
/// (Superset clears `last_value` when a run enters Working).
pub async fn record(
    tx: &mut Tx,
    schedule_id: i64,
    row: &LogRow,
    log_only: bool,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO report_execution_log (scheduled_dttm, start_dttm, end_dttm, value, \
         value_row_json, state, error_message, report_schedule_id, uuid) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            naive(row.scheduled),
            naive(row.start),
            naive(row.end),
            Value::Float(row.value),
            Value::opt_text(row.value_row_json.as_deref()),
            Value::text(row.state.as_str()),
            Value::opt_text(row.error_message.as_deref()),
            Value::int(schedule_id),
            Value::Uuid(row.execution_id),
        ],
    )
    .await?;
    if log_only {
        return Ok(());
    }
    // As Superset: entering Working clears the last value; a state without a value of its own
    // (On Grace, Error) keeps the one before.
    let (value, row_json) = match row.state {
        RunState::Working => ("$3", "$4"),
        _ => (
            "COALESCE($3, last_value)",
            "COALESCE($4, last_value_row_json)",
        ),
    };
    tx.execute(
        &format!(
            "UPDATE report_schedule SET last_state = $1, last_eval_dttm = $2, last_value = {value}, \
             last_value_row_json = {row_json} WHERE id = $5"
        ),
        &[
            Value::text(row.state.as_str()),
            naive(row.end),
            Value::Float(row.value),
            Value::opt_text(row.value_row_json.as_deref()),
            Value::int(schedule_id),
        ],
    )
    .await?;
    Ok(())
}

/// Deletes the schedule's log rows that ended before `before` (its log retention). Returns
/// how many went.
pub async fn prune_logs(
    tx: &mut Tx,
    schedule_id: i64,
    before: DateTime<Utc>,
) -> Result<u64, StoreError> {
    tx.execute(
        "DELETE FROM report_execution_log WHERE report_schedule_id = $1 AND end_dttm < $2",
        &[Value::int(schedule_id), naive(before)],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_lists_number_their_markers_from_the_first_free_one() {
        assert_eq!(bind_markers(1, 3), "$1, $2, $3");
        assert_eq!(bind_markers(2, 2), "$2, $3");
        assert_eq!(bind_markers(5, 0), "");
    }

    #[test]
    fn reads_both_backends_time_text() {
        let t = parse_time(&Value::text("2026-11-30 08:00:00.123456")).unwrap();
        assert_eq!(t.timestamp_subsec_micros(), 123_456);
        assert!(parse_time(&Value::text("2026-11-30 08:00:00")).is_some());
        assert!(parse_time(&Value::text("2026-11-30T08:00:00")).is_some());
        assert!(parse_time(&Value::Text(None)).is_none());
    }
}
