//! Writing a plan into the metadata database, inside the caller's locked transaction: deletes
//! first (link rows before the rows they point at: Superset's link tables do not cascade), then
//! the objects' own rows, then their link rows, then the ledger. Rows are written the way
//! Superset's own writers leave them: ids from the `ab_*` sequences on PostgreSQL, `created_on`
//! and `changed_on` set, `extra_json` and `validator_config_json` never NULL.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;

use super::StoreError;
use super::failpoint::{Phase, reached};
use super::migrate::LEDGER_TABLE;
use super::snapshot::{Ids, Observed};
use super::sql::{Row, Tx, Value};
use crate::model::{ObjectKey, Schedule, State, merge_by_key};
use crate::plan::{Action, Plan};
use crate::resources::{Kind, ResourceId};

/// What an apply wrote.
#[derive(Clone, Debug, Default)]
pub struct ApplyReport {
    /// Objects created, adopted, updated, deleted, forgotten.
    pub objects: usize,
    /// Link rows (role permissions, memberships, recipients, owners…) inserted or deleted.
    pub links: usize,
    /// Every object's Superset id after the apply (those created included).
    pub ids: Ids,
}

/// Applies `plan` (computed from `observed` and `desired`) and records it in the ledger under
/// `manager`. `progress` hears about each phase.
pub async fn apply_plan(
    tx: &mut Tx,
    observed: &Observed,
    desired: &State,
    plan: &Plan,
    manager: &str,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<ApplyReport, StoreError> {
    tx.widen_cache().await?;
    let mut writer = Writer {
        tx,
        observed,
        desired,
        ids: observed.ids.clone(),
        now: Value::Time(Utc::now().naive_utc()),
        report: ApplyReport::default(),
    };
    let keyed = |action: fn(Action) -> bool, kind: Kind| -> Vec<&ObjectKey> {
        plan.changes
            .iter()
            .filter(|c| action(c.action) && c.key.kind == kind)
            .map(|c| &c.key)
            .collect()
    };
    let is_delete = |a: Action| a == Action::Delete;
    let is_write = |a: Action| matches!(a, Action::Create | Action::Update | Action::Adopt);
    let is_create = |a: Action| a == Action::Create;

    // Objects renamed in place (new key → old name): their rows keep their ids.
    let renamed: BTreeMap<&ObjectKey, &str> = plan
        .changes
        .iter()
        .filter_map(|c| Some((&c.key, c.renamed_from.as_deref()?)))
        .collect();
    progress("deleting objects that left the declared state");
    for kind in Kind::ALL.iter().rev() {
        writer.delete(*kind, &keyed(is_delete, *kind)).await?;
    }
    reached(Phase::Deletes);
    progress("writing objects");
    for kind in Kind::ALL {
        writer.create(kind, &keyed(is_create, kind)).await?;
        let updates: Vec<&ObjectKey> = keyed(|a| matches!(a, Action::Update | Action::Adopt), kind);
        writer.update(kind, &updates, &renamed).await?;
    }
    reached(Phase::Objects);
    progress("writing permissions, memberships, recipients and owners");
    for kind in Kind::ALL {
        writer.links(kind, &keyed(is_write, kind)).await?;
    }
    reached(Phase::Links);
    progress("recording ownership");
    writer.ledger(plan, manager).await?;
    record_identities(writer.tx, observed, plan, manager).await?;
    reached(Phase::Ledger);
    writer.report.objects = plan.changes.len();
    writer.report.ids = writer.ids;
    Ok(writer.report)
}

struct Writer<'a> {
    tx: &'a mut Tx,
    observed: &'a Observed,
    desired: &'a State,
    ids: Ids,
    now: Value,
    report: ApplyReport,
}

fn id_of(
    map: &std::collections::HashMap<String, i64>,
    what: &str,
    name: &str,
) -> Result<i64, StoreError> {
    map.get(name)
        .copied()
        .ok_or_else(|| StoreError::Data(format!("{what} `{name}` does not exist in the database")))
}

impl Writer<'_> {
    async fn delete(&mut self, kind: Kind, keys: &[&ObjectKey]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let ids = &self.ids;
        let lookup = |map: &std::collections::HashMap<String, i64>| -> Vec<i64> {
            keys.iter()
                .filter_map(|k| map.get(&k.key).copied())
                .collect()
        };
        let tx = &mut *self.tx;
        let mut links = 0;
        match kind {
            Kind::ReportConfiguration => {
                super::config_document::write(tx, &BTreeMap::new(), &self.now).await?;
            }
            Kind::GuestTokenPolicy => {
                let names: Vec<&str> = keys.iter().map(|k| k.key.as_str()).collect();
                super::guest_policy::delete(tx, &names).await?;
            }
            Kind::ReportSchedule => {
                let ids = lookup(&ids.schedules);
                for table in ["report_recipient", "report_schedule_user"] {
                    links += tx
                        .delete_where_in(table, "report_schedule_id", &ids)
                        .await?;
                }
                tx.delete_where_in("report_execution_log", "report_schedule_id", &ids)
                    .await?;
                tx.delete_where_in("report_schedule", "id", &ids).await?;
            }
            Kind::RowLevelSecurityFilter => {
                let ids = lookup(&ids.rls_filters);
                for table in ["rls_filter_roles", "rls_filter_tables"] {
                    links += tx.delete_where_in(table, "rls_filter_id", &ids).await?;
                }
                tx.delete_where_in("row_level_security_filters", "id", &ids)
                    .await?;
            }
            Kind::SupersetGroup => {
                let ids = lookup(&ids.groups);
                for table in ["ab_user_group", "ab_group_role"] {
                    links += tx.delete_where_in(table, "group_id", &ids).await?;
                }
                tx.delete_where_in("ab_group", "id", &ids).await?;
            }
            Kind::SupersetRole => {
                let ids = lookup(&ids.roles);
                for table in [
                    "ab_permission_view_role",
                    "ab_user_role",
                    "ab_group_role",
                    "rls_filter_roles",
                    "dashboard_roles",
                ] {
                    if table != "dashboard_roles" || tx.has_table(table).await? {
                        links += tx.delete_where_in(table, "role_id", &ids).await?;
                    }
                }
                tx.delete_where_in("ab_role", "id", &ids).await?;
            }
            Kind::SupersetUser => {
                let ids = lookup(&ids.users);
                // Detach the users from every row that refers to them first: rows that are
                // theirs (memberships, ownerships, favourites) go, audit columns and request
                // logs are cleared, as the foreign keys' ON DELETE (or Superset's own user
                // deletion) would.
                links += super::user_refs::detach_users(tx, &ids).await?;
                tx.delete_where_in("ab_user", "id", &ids).await?;
            }
        }
        self.report.links += links as usize;
        Ok(())
    }

    async fn create(&mut self, kind: Kind, keys: &[&ObjectKey]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let now = self.now.clone();
        match kind {
            Kind::SupersetUser => {
                let new_ids = self.tx.allocate_ids("ab_user", keys.len()).await?;
                let mut rows = Vec::new();
                for (key, id) in keys.iter().zip(new_ids) {
                    let u = &self.desired.users[&key.key];
                    self.ids.users.insert(u.username.clone(), id);
                    rows.push(vec![
                        Value::int(id),
                        Value::text(&u.first_name),
                        Value::text(&u.last_name),
                        Value::text(&u.username),
                        Value::text(&u.email),
                        Value::Bool(Some(u.active)),
                        now.clone(),
                        now.clone(),
                    ]);
                }
                self.tx
                    .insert_rows(
                        "ab_user",
                        &[
                            "id",
                            "first_name",
                            "last_name",
                            "username",
                            "email",
                            "active",
                            "created_on",
                            "changed_on",
                        ],
                        rows,
                    )
                    .await
            }
            Kind::SupersetRole => {
                let new_ids = self.tx.allocate_ids("ab_role", keys.len()).await?;
                let mut rows = Vec::new();
                for (key, id) in keys.iter().zip(new_ids) {
                    self.ids.roles.insert(key.key.clone(), id);
                    rows.push(vec![Value::int(id), Value::text(&key.key)]);
                }
                self.tx.insert_rows("ab_role", &["id", "name"], rows).await
            }
            Kind::SupersetGroup => {
                let new_ids = self.tx.allocate_ids("ab_group", keys.len()).await?;
                let mut rows = Vec::new();
                for (key, id) in keys.iter().zip(new_ids) {
                    let g = &self.desired.groups[&key.key];
                    self.ids.groups.insert(g.name.clone(), id);
                    rows.push(vec![
                        Value::int(id),
                        Value::text(&g.name),
                        Value::opt_text(g.label.as_deref()),
                        Value::opt_text(g.description.as_deref()),
                    ]);
                }
                self.tx
                    .insert_rows("ab_group", &["id", "name", "label", "description"], rows)
                    .await
            }
            Kind::RowLevelSecurityFilter => {
                let new_ids = self
                    .tx
                    .allocate_ids("row_level_security_filters", keys.len())
                    .await?;
                let mut rows = Vec::new();
                for (key, id) in keys.iter().zip(new_ids) {
                    let f = &self.desired.rls_filters[&key.key];
                    self.ids.rls_filters.insert(f.name.clone(), id);
                    rows.push(vec![
                        Value::int(id),
                        Value::text(&f.name),
                        Value::opt_text(f.description.as_deref()),
                        Value::text(&f.filter_type),
                        Value::opt_text(f.group_key.as_deref()),
                        Value::text(&f.clause),
                        now.clone(),
                        now.clone(),
                    ]);
                }
                self.tx
                    .insert_rows(
                        "row_level_security_filters",
                        &[
                            "id",
                            "name",
                            "description",
                            "filter_type",
                            "group_key",
                            "clause",
                            "created_on",
                            "changed_on",
                        ],
                        rows,
                    )
                    .await
            }
            Kind::ReportSchedule => {
                let new_ids = self.tx.allocate_ids("report_schedule", keys.len()).await?;
                let mut rows = Vec::new();
                for (key, id) in keys.iter().zip(new_ids) {
                    self.ids.schedules.insert(key.key.clone(), id);
                    let s = &self.desired.schedules[&key.key];
                    let mut row = vec![Value::int(id)];
                    row.extend(self.schedule_values(s)?);
                    row.extend([Value::text("alerts_reports"), now.clone()]);
                    rows.push(row);
                }
                let mut columns = vec!["id"];
                columns.extend(self.schedule_columns());
                columns.extend(["creation_method", "created_on"]);
                self.tx.insert_rows("report_schedule", &columns, rows).await
            }
            Kind::ReportConfiguration => self.write_config().await,
            Kind::GuestTokenPolicy => self.write_guest_policies(keys).await,
        }
    }

    async fn write_guest_policies(&mut self, keys: &[&ObjectKey]) -> Result<(), StoreError> {
        let policies: Vec<_> = keys
            .iter()
            .map(|k| &self.desired.guest_policies[&k.key])
            .collect();
        super::guest_policy::write(self.tx, &policies, &self.now).await
    }

    async fn update(
        &mut self,
        kind: Kind,
        keys: &[&ObjectKey],
        renamed: &BTreeMap<&ObjectKey, &str>,
    ) -> Result<(), StoreError> {
        let now = self.now.clone();
        for key in keys {
            if let Some(old) = renamed.get(key) {
                self.rename(key, old).await?;
            }
            match kind {
                Kind::SupersetUser => {
                    let u = &self.desired.users[&key.key];
                    let id = id_of(&self.ids.users, "user", &key.key)?;
                    self.tx
                        .execute(
                            "UPDATE ab_user SET username = $1, first_name = $2, last_name = $3, email = $4, active = $5, changed_on = $6 WHERE id = $7",
                            &[Value::text(&u.username), Value::text(&u.first_name), Value::text(&u.last_name), Value::text(&u.email), Value::Bool(Some(u.active)), now.clone(), Value::int(id)],
                        )
                        .await?;
                }
                Kind::SupersetRole => {}
                Kind::SupersetGroup => {
                    let g = &self.desired.groups[&key.key];
                    let id = id_of(&self.ids.groups, "group", &key.key)?;
                    self.tx
                        .execute(
                            "UPDATE ab_group SET name = $1, label = $2, description = $3 WHERE id = $4",
                            &[
                                Value::text(&g.name),
                                Value::opt_text(g.label.as_deref()),
                                Value::opt_text(g.description.as_deref()),
                                Value::int(id),
                            ],
                        )
                        .await?;
                }
                Kind::RowLevelSecurityFilter => {
                    let f = &self.desired.rls_filters[&key.key];
                    let id = id_of(&self.ids.rls_filters, "RLS filter", &key.key)?;
                    self.tx
                        .execute(
                            "UPDATE row_level_security_filters SET name = $1, description = $2, filter_type = $3, group_key = $4, clause = $5, changed_on = $6 WHERE id = $7",
                            &[Value::text(&f.name), Value::opt_text(f.description.as_deref()), Value::text(&f.filter_type), Value::opt_text(f.group_key.as_deref()), Value::text(&f.clause), now.clone(), Value::int(id)],
                        )
                        .await?;
                }
                Kind::ReportSchedule => {
                    let s = &self.desired.schedules[&key.key];
                    let id = id_of(&self.ids.schedules, "schedule", &key.key)?;
                    let columns = self.schedule_columns();
                    let mut params = self.schedule_values(s)?;
                    let sets: Vec<String> = columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| format!("{c} = ${}", i + 1))
                        .collect();
                    params.push(Value::int(id));
                    let sql = format!(
                        "UPDATE report_schedule SET {} WHERE id = ${}",
                        sets.join(", "),
                        params.len()
                    );
                    self.tx.execute(&sql, &params).await?;
                }
                Kind::ReportConfiguration => self.write_config().await?,
                Kind::GuestTokenPolicy => self.write_guest_policies(&[key]).await?,
            }
        }
        Ok(())
    }

    fn schedule_columns(&self) -> Vec<&'static str> {
        let mut columns = vec![
            "type",
            "name",
            "description",
            "context_markdown",
            "active",
            "crontab",
            "timezone",
            "chart_id",
            "dashboard_id",
            "database_id",
            "sql",
            "validator_type",
            "validator_config_json",
            "report_format",
            "working_timeout",
            "grace_period",
            "log_retention",
            "email_subject",
            "force_screenshot",
            "custom_width",
            "custom_height",
            "extra_json",
            "changed_on",
        ];
        if self.observed.has_run_as {
            columns.extend([
                "run_as_fk",
                "run_as_type",
                "run_alert_query_as_fk",
                "run_alert_query_as_type",
            ]);
        }
        columns
    }

    fn schedule_values(&self, s: &Schedule) -> Result<Vec<Value>, StoreError> {
        let content = |map: &std::collections::HashMap<String, i64>,
                       what: &str,
                       key: &Option<String>|
         -> Result<Value, StoreError> {
            Ok(Value::Int(match key {
                Some(k) => Some(id_of(map, what, k)?),
                None => None,
            }))
        };
        let database =
            match &s.database {
                Some(name) => Value::Int(Some(
                    *self.observed.catalog.databases.get(name).ok_or_else(|| {
                        StoreError::Data(format!("database `{name}` does not exist"))
                    })?,
                )),
                None => Value::Int(None),
            };
        let validator_config = match &s.validator {
            Some(v) => match (&v.op, v.threshold) {
                (Some(op), Some(threshold)) => {
                    serde_json::json!({"op": op, "threshold": threshold}).to_string()
                }
                _ => "{}".to_owned(),
            },
            None => "{}".to_owned(),
        };
        let mut values = vec![
            Value::text(&s.schedule_type),
            Value::text(&s.name),
            Value::opt_text(s.description.as_deref()),
            Value::opt_text(s.message.as_deref()),
            Value::Bool(Some(s.active)),
            Value::text(&s.crontab),
            Value::text(&s.timezone),
            content(&self.ids.charts, "chart", &s.chart)?,
            content(&self.ids.dashboards, "dashboard", &s.dashboard)?,
            database,
            Value::opt_text(s.sql.as_deref()),
            Value::Text(s.validator.as_ref().map(|v| v.validator_type.clone())),
            Value::text(validator_config),
            Value::text(&s.report_format),
            Value::int(s.working_timeout),
            Value::int(s.grace_period),
            Value::int(s.log_retention),
            Value::opt_text(s.email_subject.as_deref()),
            Value::Bool(Some(s.force_screenshot)),
            Value::Int(s.custom_width),
            Value::Int(s.custom_height),
            Value::text(&s.extra),
            self.now.clone(),
        ];
        if self.observed.has_run_as {
            for user in [&s.run_as, &s.run_alert_query_as] {
                match user {
                    Some(name) => values.extend([
                        Value::int(id_of(&self.ids.users, "user", name)?),
                        Value::text("fixed_user"),
                    ]),
                    None => values.extend([Value::Int(None), Value::Text(None)]),
                }
            }
        }
        Ok(values)
    }

    async fn write_config(&mut self) -> Result<(), StoreError> {
        let want = self.desired.config.clone().unwrap_or_default();
        super::config_document::write(self.tx, &want.entries, &self.now).await
    }

    async fn links(&mut self, kind: Kind, keys: &[&ObjectKey]) -> Result<(), StoreError> {
        let mut links = LinkSet::default();
        for key in keys {
            let k = key.key.as_str();
            match kind {
                Kind::SupersetUser => {
                    let user = id_of(&self.ids.users, "user", k)?;
                    let want = &self.desired.users[k].roles;
                    let have = self.observed.state.users.get(k).map(|u| &u.roles);
                    for (role, add) in changed(want, have) {
                        links.push(
                            "ab_user_role",
                            ["user_id", "role_id"],
                            [user, id_of(&self.ids.roles, "role", role)?],
                            add,
                        );
                    }
                }
                Kind::SupersetRole => {
                    let role = id_of(&self.ids.roles, "role", k)?;
                    let want = &self.desired.roles[k].permissions;
                    let have = self.observed.state.roles.get(k).map(|r| &r.permissions);
                    for (pair, add) in changed(want, have) {
                        let pv = self
                            .ids
                            .permission_views
                            .get(pair)
                            .copied()
                            .ok_or_else(|| {
                                StoreError::Data(format!("permission {pair} does not exist"))
                            })?;
                        links.push(
                            "ab_permission_view_role",
                            ["permission_view_id", "role_id"],
                            [pv, role],
                            add,
                        );
                    }
                }
                Kind::SupersetGroup => {
                    let group = id_of(&self.ids.groups, "group", k)?;
                    let want = &self.desired.groups[k];
                    let have = self.observed.state.groups.get(k);
                    for (role, add) in changed(&want.roles, have.map(|g| &g.roles)) {
                        links.push(
                            "ab_group_role",
                            ["group_id", "role_id"],
                            [group, id_of(&self.ids.roles, "role", role)?],
                            add,
                        );
                    }
                    for (user, add) in changed(&want.users, have.map(|g| &g.users)) {
                        links.push(
                            "ab_user_group",
                            ["user_id", "group_id"],
                            [id_of(&self.ids.users, "user", user)?, group],
                            add,
                        );
                    }
                }
                Kind::RowLevelSecurityFilter => {
                    let filter = id_of(&self.ids.rls_filters, "RLS filter", k)?;
                    let want = &self.desired.rls_filters[k];
                    let have = self.observed.state.rls_filters.get(k);
                    for (role, add) in changed(&want.roles, have.map(|f| &f.roles)) {
                        links.push(
                            "rls_filter_roles",
                            ["rls_filter_id", "role_id"],
                            [filter, id_of(&self.ids.roles, "role", role)?],
                            add,
                        );
                    }
                    for (dataset, add) in changed(&want.datasets, have.map(|f| &f.datasets)) {
                        links.push(
                            "rls_filter_tables",
                            ["rls_filter_id", "table_id"],
                            [filter, id_of(&self.ids.datasets, "dataset", dataset)?],
                            add,
                        );
                    }
                }
                Kind::ReportSchedule => {
                    let schedule = id_of(&self.ids.schedules, "schedule", k)?;
                    let want = &self.desired.schedules[k];
                    let have = self.observed.state.schedules.get(k);
                    for (user, add) in changed(want.owners.iter(), have.map(|s| s.owners.iter())) {
                        links.push(
                            "report_schedule_user",
                            ["report_schedule_id", "user_id"],
                            [schedule, id_of(&self.ids.users, "user", user)?],
                            add,
                        );
                    }
                    if have.map(|s| &s.recipients) != Some(&want.recipients) {
                        if have.is_some() {
                            self.report.links += self
                                .tx
                                .delete_where_in(
                                    "report_recipient",
                                    "report_schedule_id",
                                    &[schedule],
                                )
                                .await? as usize;
                        }
                        for r in &want.recipients {
                            let config: serde_json::Map<String, serde_json::Value> = r
                                .config
                                .iter()
                                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                                .collect();
                            links.recipients.push((
                                schedule,
                                r.recipient_type.clone(),
                                serde_json::Value::Object(config).to_string(),
                            ));
                        }
                    }
                }
                Kind::ReportConfiguration | Kind::GuestTokenPolicy => {}
            }
        }
        self.write_links(links).await
    }

    async fn write_links(&mut self, links: LinkSet) -> Result<(), StoreError> {
        for ((table, columns), pairs) in links.removed {
            for [a, b] in pairs {
                let sql = format!(
                    "DELETE FROM {table} WHERE {} = $1 AND {} = $2",
                    columns[0], columns[1]
                );
                self.report.links += self
                    .tx
                    .execute(&sql, &[Value::int(a), Value::int(b)])
                    .await? as usize;
            }
        }
        for ((table, columns), mut pairs) in links.added {
            // Pairs name their columns in the order of the table's unique index: sorted, most
            // of its index entries (and those of the index on its first column) are appended,
            // not inserted at random (org-100k's links: 1.5 s instead of 2.0 s on SQLite).
            pairs.sort_unstable();
            let ids = self.tx.allocate_ids(table, pairs.len()).await?;
            self.report.links += pairs.len();
            // Rows are built a slice at a time: as one vector, org-100k's 366,000 grants held
            // about 45 MB more at the apply's peak.
            for (pairs, ids) in pairs
                .chunks(LINK_ROWS_PER_CALL)
                .zip(ids.chunks(LINK_ROWS_PER_CALL))
            {
                let rows: Vec<Row> = pairs
                    .iter()
                    .zip(ids)
                    .map(|([a, b], id)| vec![Value::int(*id), Value::int(*a), Value::int(*b)])
                    .collect();
                self.tx
                    .insert_rows(table, &["id", columns[0], columns[1]], rows)
                    .await?;
            }
        }
        if !links.recipients.is_empty() {
            let ids = self
                .tx
                .allocate_ids("report_recipient", links.recipients.len())
                .await?;
            self.report.links += links.recipients.len();
            let now = self.now.clone();
            let rows: Vec<Row> = links
                .recipients
                .into_iter()
                .zip(ids)
                .map(|((schedule, kind, config), id)| {
                    vec![
                        Value::int(id),
                        Value::text(kind),
                        Value::text(config),
                        Value::int(schedule),
                        now.clone(),
                        now.clone(),
                    ]
                })
                .collect();
            self.tx
                .insert_rows(
                    "report_recipient",
                    &[
                        "id",
                        "type",
                        "recipient_config_json",
                        "report_schedule_id",
                        "created_on",
                        "changed_on",
                    ],
                    rows,
                )
                .await?;
        }
        Ok(())
    }

    async fn ledger(&mut self, plan: &Plan, manager: &str) -> Result<(), StoreError> {
        let mut gone: BTreeMap<Kind, Vec<&str>> = BTreeMap::new();
        let mut rows = Vec::new();
        for change in &plan.changes {
            match change.action {
                Action::Delete | Action::Forget => gone
                    .entry(change.key.kind)
                    .or_default()
                    .push(&change.key.key),
                Action::Create | Action::Update | Action::Adopt => {
                    let object = self.desired.get(&change.key).ok_or_else(|| {
                        StoreError::Data(format!("{} is not declared", change.key))
                    })?;
                    if let Some(old) = &change.renamed_from {
                        gone.entry(change.key.kind).or_default().push(old);
                    }
                    let resource = plan.declared.get(&change.key);
                    rows.push(vec![
                        Value::text(change.key.kind.as_str()),
                        Value::text(&change.key.key),
                        Value::text(manager),
                        Value::text(object.content_hash()),
                        self.now.clone(),
                        Value::Text(resource.and_then(|r| r.namespace.clone())),
                        Value::Text(resource.map(|r| r.name.clone())),
                        Value::Text(resource.and_then(|r| r.uid.clone())),
                        Value::Int(self.object_id(&change.key)),
                        Value::Text(plan.source.clone()),
                    ]);
                }
            }
        }
        for (kind, keys) in gone {
            for chunk in keys.chunks(150) {
                let mut params = vec![Value::text(kind.as_str())];
                params.extend(chunk.iter().map(|k| Value::text(*k)));
                let sql = format!(
                    "DELETE FROM {LEDGER_TABLE} WHERE kind = $1 AND object_key IN ({})",
                    super::sql::bind_markers(2, chunk.len())
                );
                self.tx.execute(&sql, &params).await?;
            }
        }
        self.tx
            .insert_rows_then(
                LEDGER_TABLE,
                &[
                    "kind",
                    "object_key",
                    "manager",
                    "content_hash",
                    "applied_on",
                    "resource_namespace",
                    "resource_name",
                    "resource_uid",
                    "object_id",
                    "source",
                ],
                rows,
                " ON CONFLICT (kind, object_key) DO UPDATE SET manager = excluded.manager, content_hash = excluded.content_hash, applied_on = excluded.applied_on, resource_namespace = excluded.resource_namespace, resource_name = excluded.resource_name, resource_uid = excluded.resource_uid, object_id = excluded.object_id, source = excluded.source",
            )
            .await
    }

    /// Renames the row of `key` (by the id the ledger recorded) to its new name; refuses to go
    /// on when Superset no longer has that row.
    async fn rename(&mut self, key: &ObjectKey, old: &str) -> Result<(), StoreError> {
        let (table, column, name) = match key.kind {
            Kind::SupersetUser => ("ab_user", "username", key.key.as_str()),
            Kind::SupersetRole => ("ab_role", "name", key.key.as_str()),
            Kind::SupersetGroup => ("ab_group", "name", key.key.as_str()),
            Kind::RowLevelSecurityFilter => {
                ("row_level_security_filters", "name", key.key.as_str())
            }
            Kind::ReportSchedule => (
                "report_schedule",
                "name",
                self.desired.schedules[&key.key].name.as_str(),
            ),
            Kind::ReportConfiguration => return Ok(()),
            Kind::GuestTokenPolicy => {
                // Steward's own row, keyed by name: the old one goes, the update writes the new.
                super::guest_policy::delete(self.tx, &[old]).await?;
                return Ok(());
            }
        };
        let id = self
            .object_id(key)
            .ok_or_else(|| StoreError::Data(format!("{key} has no id to rename from `{old}`")))?;
        let sql = format!("UPDATE {table} SET {column} = $1 WHERE id = $2");
        let renamed = self
            .tx
            .execute(&sql, &[Value::text(name), Value::int(id)])
            .await?;
        if renamed == 0 {
            return Err(StoreError::Data(format!(
                "{key} is renamed from `{old}`, but Superset no longer has the row (id {id}) the ledger recorded for it; run the diff again"
            )));
        }
        Ok(())
    }

    /// The Superset id of a written object (none for the configuration).
    fn object_id(&self, key: &ObjectKey) -> Option<i64> {
        self.ids.id_of(key)
    }
}

/// Records the declaring resource and Superset id (and the manifest source, when none is
/// recorded) on the ledger rows of `manager` that the plan declares but does not write, where
/// they are missing or differ (rows written before steward recorded them). Returns the number
/// of rows updated; none in the steady state.
pub async fn record_identities(
    tx: &mut Tx,
    observed: &Observed,
    plan: &Plan,
    manager: &str,
) -> Result<usize, StoreError> {
    let written: BTreeSet<&ObjectKey> = plan.changes.iter().map(|c| &c.key).collect();
    let stale: Vec<(&ObjectKey, &ResourceId, Option<i64>)> = plan
        .declared
        .iter()
        .filter_map(|(key, resource)| {
            let entry = observed.ledger.get(key)?;
            let id = observed.ids.id_of(key);
            let current = entry.resource.as_ref() == Some(resource) && entry.object_id == id;
            (entry.manager == manager && !written.contains(key) && !current)
                .then_some((key, resource, id))
        })
        .collect();
    // One statement per chunk of rows: the first apply after migration 5 fills every row.
    let mut updated = 0;
    for chunk in stale.chunks(IDENTITY_ROWS_PER_STATEMENT) {
        let mut params = vec![Value::Text(plan.source.clone())];
        let mut tuples = Vec::with_capacity(chunk.len());
        for (key, resource, id) in chunk {
            let n = params.len();
            tuples.push(format!(
                "(${}, ${}, ${}, ${}, ${}, ${})",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5,
                n + 6
            ));
            params.extend([
                Value::text(key.kind.as_str()),
                Value::text(&key.key),
                Value::Text(resource.namespace.clone()),
                Value::text(&resource.name),
                Value::Text(resource.uid.clone()),
                Value::Int(*id),
            ]);
        }
        let sql = format!(
            "UPDATE {LEDGER_TABLE} SET resource_namespace = v.column3, resource_name = v.column4, \
             resource_uid = v.column5, object_id = CAST(v.column6 AS BIGINT), source = COALESCE(source, $1) \
             FROM (VALUES {}) AS v WHERE {LEDGER_TABLE}.kind = v.column1 AND {LEDGER_TABLE}.object_key = v.column2",
            tuples.join(", ")
        );
        updated += tx.execute(&sql, &params).await? as usize;
    }
    Ok(updated)
}

/// Ledger rows one identity-filling statement updates (6 parameters each).
const IDENTITY_ROWS_PER_STATEMENT: usize = 150;

/// Link rows to add and remove, grouped by table; each pair in the column order of its
/// table's unique index (`ab_permission_view_role`: permission view, then role).
#[derive(Default)]
struct LinkSet {
    added: BTreeMap<(&'static str, [&'static str; 2]), Vec<[i64; 2]>>,
    removed: BTreeMap<(&'static str, [&'static str; 2]), Vec<[i64; 2]>>,
    recipients: Vec<(i64, String, String)>,
}

impl LinkSet {
    fn push(&mut self, table: &'static str, columns: [&'static str; 2], ids: [i64; 2], add: bool) {
        let side = if add {
            &mut self.added
        } else {
            &mut self.removed
        };
        side.entry((table, columns)).or_default().push(ids);
    }
}

/// Link rows handed to the store per call (each call still writes many rows per statement).
const LINK_ROWS_PER_CALL: usize = 32_768;

/// Members of `want` missing from `have` (true) and members of `have` not wanted (false), in
/// order; both sides sorted.
fn changed<'a, T: Ord + 'a>(
    want: impl IntoIterator<Item = &'a T>,
    have: Option<impl IntoIterator<Item = &'a T>>,
) -> Vec<(&'a T, bool)> {
    let sides = merge_by_key(
        want.into_iter().map(|m| (m, ())),
        have.into_iter().flatten().map(|m| (m, ())),
    );
    sides
        .filter_map(|(member, want, have)| match (want, have) {
            (Some(()), None) => Some((member, true)),
            (None, Some(())) => Some((member, false)),
            _ => None,
        })
        .collect()
}
