//! Reading the observed state: every table steward manages, read whole (one query per table)
//! and joined in memory, ids resolved to natural keys. Runtime columns Superset rewrites while
//! it runs (`last_*`, `changed_on`, `changed_by_fk`) are never read. Also returns the ids the
//! writer needs and the ownership ledger.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sorted_vec::SortedSet;

use super::StoreError;
use super::migrate::LEDGER_TABLE;
use super::sql::{Tx, Ty, Value};
use super::superset_version::{self, Access};
use crate::model::{
    Catalog, Chart, Dashboard, Dataset, Group, ObjectKey, PermissionPair, Recipient, ReleaseFacts,
    ReportConfig, RlsFilter, Role, Schedule, State, User, Validator,
};
use crate::plan::desired::defaults;
use crate::plan::user_deletion::Detached;
use crate::plan::{Ledger, LedgerEntry};
use crate::resources::Kind;
use crate::resources::identity::ResourceId;

/// Rows by id while the state is built (hundreds of thousands of lookups: foldhash, not SipHash).
type ById<T> = HashMap<i64, T, foldhash::fast::RandomState>;

/// Database ids of the objects in a snapshot, for the writer.
#[derive(Clone, Debug, Default)]
pub struct Ids {
    pub users: HashMap<String, i64>,
    pub roles: HashMap<String, i64>,
    pub groups: HashMap<String, i64>,
    pub rls_filters: HashMap<String, i64>,
    pub schedules: HashMap<String, i64>,
    pub permission_views: HashMap<PermissionPair, i64>,
    pub datasets: HashMap<String, i64>,
    pub charts: HashMap<String, i64>,
    pub dashboards: HashMap<String, i64>,
}

impl Ids {
    /// The Superset id of a managed object (none for the configuration).
    pub fn id_of(&self, key: &ObjectKey) -> Option<i64> {
        let ids = match key.kind {
            Kind::SupersetUser => &self.users,
            Kind::SupersetRole => &self.roles,
            Kind::SupersetGroup => &self.groups,
            Kind::RowLevelSecurityFilter => &self.rls_filters,
            Kind::ReportSchedule => &self.schedules,
            Kind::ReportConfiguration | Kind::GuestTokenPolicy => return None,
        };
        ids.get(&key.key).copied()
    }
}

/// Everything read from the database in one transaction.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// The managed kinds, normalised.
    pub state: State,
    /// Content and permission catalogue.
    pub catalog: Catalog,
    /// Ids for the writer.
    pub ids: Ids,
    /// The ownership ledger (empty before steward's first apply).
    pub ledger: Ledger,
    /// Whether `report_schedule` has SIP-209's run-as columns.
    pub has_run_as: bool,
    /// Whether Superset's `key_value` table, which holds SIP-209's configuration, exists.
    pub has_report_config: bool,
    /// What the schema's Superset release can hold (none when the schema is no supported
    /// release, or in a snapshot taken before releases were told apart).
    pub release: Option<ReleaseFacts>,
    /// For users steward manages, the rows of other tables that refer to it (what pruning it
    /// would detach): every managed user in a snapshot ([`read_user_references`]), the users
    /// a pass's plan deletes otherwise.
    pub user_references: BTreeMap<String, Vec<Detached>>,
}

impl Observed {
    /// This state as Superset will hold it once `moves` (new key → old key) rename objects in
    /// place: the objects, every reference to them, their ids and ledger rows under the new
    /// names. The id is the one the ledger recorded when it has one (names of RLS filters and
    /// schedules need not be unique in Superset).
    pub fn rename(&mut self, moves: &BTreeMap<ObjectKey, ObjectKey>) {
        if moves.is_empty() {
            return;
        }
        for (new, old) in moves {
            let ids = match new.kind {
                Kind::SupersetUser => &mut self.ids.users,
                Kind::SupersetRole => &mut self.ids.roles,
                Kind::SupersetGroup => &mut self.ids.groups,
                Kind::RowLevelSecurityFilter => &mut self.ids.rls_filters,
                Kind::ReportSchedule => &mut self.ids.schedules,
                Kind::ReportConfiguration | Kind::GuestTokenPolicy => continue,
            };
            // The apply refuses to go on if Superset no longer has a row with this id.
            let recorded = self.ledger.get(old).and_then(|e| e.object_id);
            if let Some(id) = recorded.or_else(|| ids.get(&old.key).copied()) {
                ids.remove(&old.key);
                ids.insert(new.key.clone(), id);
            }
            if new.kind == Kind::SupersetUser
                && let Some(references) = self.user_references.remove(&old.key)
            {
                self.user_references.insert(new.key.clone(), references);
            }
        }
        crate::plan::renames::rename_state(&mut self.state, moves);
        crate::plan::renames::rename_ledger(&mut self.ledger, moves);
    }
}

/// The text of a fetched value, moved out of its row (NULL reads as empty).
fn text(v: &mut Value) -> String {
    opt_text(v).unwrap_or_default()
}

/// The text of a fetched value, moved out of its row; NULL and empty text are none.
fn opt_text(v: &mut Value) -> Option<String> {
    taken(v).filter(|s| !s.is_empty())
}

/// The text of a fetched value, moved out of its row, as stored.
fn taken(v: &mut Value) -> Option<String> {
    std::mem::replace(v, Value::Text(None)).into_text()
}

pub use crate::model::normalise_list;

/// The SQLAlchemy backend of a database URI (`postgresql` of `postgresql+psycopg2://…`).
fn backend_of(uri: &str) -> Option<String> {
    let scheme = uri.split_once("://")?.0;
    let backend = scheme.split('+').next()?.trim().to_ascii_lowercase();
    (!backend.is_empty()).then_some(backend)
}

/// Reads the observed state.
pub async fn read_observed(tx: &mut Tx) -> Result<Observed, StoreError> {
    let mut o = Observed {
        has_run_as: tx.has_column("report_schedule", "run_as_fk").await?,
        has_report_config: tx.has_table("key_value").await?,
        release: superset_version::detect(tx, Access::Read).await?.facts(),
        ..Observed::default()
    };
    let has_ledger = tx.has_table(LEDGER_TABLE).await?;

    // Permission catalogue.
    let names = |rows: Vec<Vec<Value>>| -> ById<String> {
        rows.into_iter()
            .filter_map(|mut r| {
                Some((
                    r[0].as_int()?,
                    std::mem::replace(&mut r[1], Value::Text(None)).into_text()?,
                ))
            })
            .collect()
    };
    let permissions = names(
        tx.fetch(
            "SELECT id, name FROM ab_permission",
            &[],
            &[Ty::Int, Ty::Text],
        )
        .await?,
    );
    let views = names(
        tx.fetch(
            "SELECT id, name FROM ab_view_menu",
            &[],
            &[Ty::Int, Ty::Text],
        )
        .await?,
    );
    let mut pv_pairs: ById<PermissionPair> = ById::default();
    for r in tx
        .fetch(
            "SELECT id, permission_id, view_menu_id FROM ab_permission_view",
            &[],
            &[Ty::Int, Ty::Int, Ty::Int],
        )
        .await?
    {
        let (Some(id), Some(p), Some(v)) = (r[0].as_int(), r[1].as_int(), r[2].as_int()) else {
            continue;
        };
        let (Some(p), Some(v)) = (permissions.get(&p), views.get(&v)) else {
            continue;
        };
        let pair = PermissionPair::new(p.clone(), v.clone());
        o.ids.permission_views.insert(pair.clone(), id);
        o.catalog.permissions.insert(pair.clone());
        pv_pairs.insert(id, pair);
    }

    // Roles.
    let role_names = names(
        tx.fetch("SELECT id, name FROM ab_role", &[], &[Ty::Int, Ty::Text])
            .await?,
    );
    // Each map is built at once from its rows (sorted, packed nodes), not row by row.
    for (id, name) in &role_names {
        o.ids.roles.insert(name.clone(), *id);
    }
    o.state.roles = role_names
        .values()
        .map(|name| {
            let role = Role {
                name: name.clone(),
                permissions: BTreeSet::new(),
            };
            (name.clone(), role)
        })
        .collect();
    let links = tx
        .fetch_pairs("ab_permission_view_role", "role_id", "permission_view_id")
        .await?;
    for (role, pairs) in linked(&links, &role_names, &pv_pairs) {
        if let Some(role) = o.state.roles.get_mut(role) {
            role.permissions.extend(pairs);
        }
    }

    // Users.
    let mut usernames: ById<String> = ById::default();
    let mut users = Vec::new();
    for mut r in tx
        .fetch(
            "SELECT id, username, first_name, last_name, email, active FROM ab_user",
            &[],
            &[Ty::Int, Ty::Text, Ty::Text, Ty::Text, Ty::Text, Ty::Bool],
        )
        .await?
    {
        let Some(id) = r[0].as_int() else { continue };
        let username = text(&mut r[1]);
        usernames.insert(id, username.clone());
        o.ids.users.insert(username.clone(), id);
        users.push((
            username.clone(),
            User {
                username,
                first_name: text(&mut r[2]),
                last_name: text(&mut r[3]),
                email: text(&mut r[4]),
                active: r[5].as_bool().unwrap_or(false),
                roles: SortedSet::new(),
            },
        ));
    }
    o.state.users = users.into_iter().collect();
    let links = tx.fetch_pairs("ab_user_role", "user_id", "role_id").await?;
    for (user, roles) in linked(&links, &usernames, &role_names) {
        if let Some(user) = o.state.users.get_mut(user) {
            user.roles.extend(roles);
        }
    }

    // Groups.
    let mut group_names: ById<String> = ById::default();
    let mut groups = Vec::new();
    for mut r in tx
        .fetch(
            "SELECT id, name, label, description FROM ab_group",
            &[],
            &[Ty::Int, Ty::Text, Ty::Text, Ty::Text],
        )
        .await?
    {
        let Some(id) = r[0].as_int() else { continue };
        let name = text(&mut r[1]);
        group_names.insert(id, name.clone());
        o.ids.groups.insert(name.clone(), id);
        groups.push((
            name.clone(),
            Group {
                name,
                label: opt_text(&mut r[2]),
                description: opt_text(&mut r[3]),
                roles: SortedSet::new(),
                users: BTreeSet::new(),
            },
        ));
    }
    o.state.groups = groups.into_iter().collect();
    let links = tx
        .fetch_pairs("ab_group_role", "group_id", "role_id")
        .await?;
    for (group, roles) in linked(&links, &group_names, &role_names) {
        if let Some(group) = o.state.groups.get_mut(group) {
            group.roles.extend(roles);
        }
    }
    let links = tx
        .fetch_pairs("ab_user_group", "group_id", "user_id")
        .await?;
    for (group, users) in linked(&links, &group_names, &usernames) {
        if let Some(group) = o.state.groups.get_mut(group) {
            group.users.extend(users);
        }
    }

    // Content.
    let mut database_names = ById::default();
    for r in tx
        .fetch(
            "SELECT id, database_name, sqlalchemy_uri FROM dbs",
            &[],
            &[Ty::Int, Ty::Text, Ty::Text],
        )
        .await?
    {
        let (Some(id), Some(name)) = (r[0].as_int(), r[1].as_str()) else {
            continue;
        };
        o.catalog.databases.insert(name.to_owned(), id);
        // Only the URI's scheme is kept: the rest may hold credentials.
        if let Some(backend) = r[2].as_str().and_then(backend_of) {
            o.catalog.database_backends.insert(name.to_owned(), backend);
        }
        database_names.insert(id, name.to_owned());
    }
    let mut dataset_keys: ById<String> = ById::default();
    let sql = format!(
        "SELECT id, {}, database_id, schema, table_name, perm FROM tables",
        tx.uuid_text("uuid")
    );
    for mut r in tx
        .fetch(
            &sql,
            &[],
            &[Ty::Int, Ty::Text, Ty::Int, Ty::Text, Ty::Text, Ty::Text],
        )
        .await?
    {
        let (Some(id), Some(database)) = (
            r[0].as_int(),
            r[2].as_int().and_then(|d| database_names.get(&d)),
        ) else {
            continue;
        };
        let dataset = Dataset {
            id,
            uuid: r[1].as_str().and_then(canonical_uuid),
            database: database.clone(),
            schema: opt_text(&mut r[3]),
            table: text(&mut r[4]),
            perm: opt_text(&mut r[5]),
        };
        let key = dataset.key();
        dataset_keys.insert(id, key.clone());
        o.ids.datasets.insert(key.clone(), id);
        o.catalog.datasets.insert(key, dataset);
    }
    let mut chart_uuids: ById<String> = ById::default();
    let sql = format!(
        "SELECT id, {}, slice_name FROM slices ORDER BY id",
        tx.uuid_text("uuid")
    );
    for mut r in tx.fetch(&sql, &[], &[Ty::Int, Ty::Text, Ty::Text]).await? {
        let (Some(id), Some(uuid)) = (r[0].as_int(), r[1].as_str().and_then(canonical_uuid)) else {
            continue;
        };
        chart_uuids.insert(id, uuid.clone());
        o.ids.charts.insert(uuid.clone(), id);
        o.catalog.charts.push(Chart {
            id,
            uuid,
            name: text(&mut r[2]),
        });
    }
    let mut dashboard_uuids: ById<String> = ById::default();
    let sql = format!(
        "SELECT id, {}, slug, dashboard_title FROM dashboards ORDER BY id",
        tx.uuid_text("uuid")
    );
    for mut r in tx
        .fetch(&sql, &[], &[Ty::Int, Ty::Text, Ty::Text, Ty::Text])
        .await?
    {
        let (Some(id), Some(uuid)) = (r[0].as_int(), r[1].as_str().and_then(canonical_uuid)) else {
            continue;
        };
        dashboard_uuids.insert(id, uuid.clone());
        o.ids.dashboards.insert(uuid.clone(), id);
        o.catalog.dashboards.push(Dashboard {
            id,
            uuid,
            slug: opt_text(&mut r[2]),
            title: opt_text(&mut r[3]),
        });
    }

    // Row-level security.
    let mut filter_names: ById<String> = ById::default();
    let mut filters = Vec::new();
    for mut r in tx
        .fetch(
            "SELECT id, name, description, filter_type, group_key, clause FROM row_level_security_filters",
            &[],
            &[Ty::Int, Ty::Text, Ty::Text, Ty::Text, Ty::Text, Ty::Text],
        )
        .await?
    {
        let Some(id) = r[0].as_int() else { continue };
        let name = text(&mut r[1]);
        filter_names.insert(id, name.clone());
        o.ids.rls_filters.insert(name.clone(), id);
        filters.push((
            name.clone(),
            RlsFilter {
                name,
                description: opt_text(&mut r[2]),
                filter_type: opt_text(&mut r[3]).unwrap_or_else(|| "Regular".into()),
                group_key: opt_text(&mut r[4]),
                roles: SortedSet::new(),
                datasets: SortedSet::new(),
                clause: text(&mut r[5]),
            },
        ));
    }
    o.state.rls_filters = filters.into_iter().collect();
    let links = tx
        .fetch_pairs("rls_filter_roles", "rls_filter_id", "role_id")
        .await?;
    for (filter, roles) in linked(&links, &filter_names, &role_names) {
        if let Some(filter) = o.state.rls_filters.get_mut(filter) {
            filter.roles.extend(roles);
        }
    }
    let links = tx
        .fetch_pairs("rls_filter_tables", "rls_filter_id", "table_id")
        .await?;
    for (filter, datasets) in linked(&links, &filter_names, &dataset_keys) {
        if let Some(filter) = o.state.rls_filters.get_mut(filter) {
            filter.datasets.extend(datasets);
        }
    }

    // Alerts and reports.
    let run_as = if o.has_run_as {
        "run_as_fk, run_alert_query_as_fk, run_as_type, run_alert_query_as_type"
    } else {
        "NULL, NULL, NULL, NULL"
    };
    let sql = format!(
        "SELECT id, type, name, description, context_markdown, active, crontab, timezone, \
         chart_id, dashboard_id, database_id, sql, validator_type, validator_config_json, \
         report_format, working_timeout, grace_period, log_retention, email_subject, \
         force_screenshot, custom_width, custom_height, extra_json, {run_as} FROM report_schedule"
    );
    use Ty::{Bool as B, Int as I, Text as T};
    let mut schedule_keys: ById<String> = ById::default();
    let mut schedules = Vec::new();
    for mut r in tx
        .fetch(
            &sql,
            &[],
            &[
                I, T, T, T, T, B, T, T, I, I, I, T, T, T, T, I, I, I, T, B, I, I, T, I, I, T, T,
            ],
        )
        .await?
    {
        let Some(id) = r[0].as_int() else { continue };
        let schedule_type = text(&mut r[1]);
        let name = text(&mut r[2]);
        let key = Schedule::key(&schedule_type, &name);
        let user = |v: &Value| v.as_int().and_then(|id| usernames.get(&id)).cloned();
        // A fixed run-as user whose row is gone: the id was set to NULL, the type kept.
        let deleted = |id: &Value, ty: &Value| {
            ty.as_str() == Some("fixed_user")
                && id.as_int().is_none_or(|id| !usernames.contains_key(&id))
        };
        schedule_keys.insert(id, key.clone());
        o.ids.schedules.insert(key.clone(), id);
        schedules.push((
            key,
            Schedule {
                name,
                schedule_type,
                description: opt_text(&mut r[3]),
                message: opt_text(&mut r[4]),
                active: r[5].as_bool().unwrap_or(false),
                crontab: text(&mut r[6]),
                timezone: opt_text(&mut r[7]).unwrap_or_else(|| defaults::TIMEZONE.into()),
                chart: r[8].as_int().and_then(|id| chart_uuids.get(&id)).cloned(),
                dashboard: r[9]
                    .as_int()
                    .and_then(|id| dashboard_uuids.get(&id))
                    .cloned(),
                database: r[10]
                    .as_int()
                    .and_then(|id| database_names.get(&id))
                    .cloned(),
                sql: opt_text(&mut r[11]),
                validator: opt_text(&mut r[12]).map(|t| validator(t, r[13].as_str())),
                recipients: SortedSet::new(),
                owners: SortedSet::new(),
                run_as: user(&r[23]),
                run_alert_query_as: user(&r[24]),
                run_as_deleted: deleted(&r[23], &r[25]),
                run_alert_query_as_deleted: deleted(&r[24], &r[26]),
                report_format: opt_text(&mut r[14])
                    .unwrap_or_else(|| defaults::REPORT_FORMAT.into()),
                working_timeout: r[15].as_int().unwrap_or(defaults::WORKING_TIMEOUT),
                grace_period: r[16].as_int().unwrap_or(defaults::GRACE_PERIOD),
                log_retention: r[17].as_int().unwrap_or(defaults::LOG_RETENTION),
                email_subject: opt_text(&mut r[18]),
                force_screenshot: r[19].as_bool().unwrap_or(false),
                custom_width: r[20].as_int(),
                custom_height: r[21].as_int(),
                extra: canonical_json(r[22].as_str().unwrap_or("{}")),
            },
        ));
    }
    o.state.schedules = schedules.into_iter().collect();
    for mut r in tx
        .fetch(
            "SELECT report_schedule_id, type, recipient_config_json FROM report_recipient",
            &[],
            &[Ty::Int, Ty::Text, Ty::Text],
        )
        .await?
    {
        let Some(key) = r[0].as_int().and_then(|id| schedule_keys.get(&id)) else {
            continue;
        };
        let recipient = recipient(text(&mut r[1]), r[2].as_str().unwrap_or("{}"));
        if let Some(s) = o.state.schedules.get_mut(key) {
            s.recipients.find_or_insert(recipient);
        }
    }
    let links = tx
        .fetch_pairs("report_schedule_user", "report_schedule_id", "user_id")
        .await?;
    for (key, users) in linked(&links, &schedule_keys, &usernames) {
        if let Some(s) = o.state.schedules.get_mut(key) {
            s.owners.extend(users);
        }
    }

    // Global configuration (SIP-209's `key_value` documents) and ledger.
    if let Some(entries) = super::config_document::read_with_legacy(tx).await? {
        o.state.config = Some(ReportConfig { entries });
    }
    o.state.guest_policies = super::guest_policy::read(tx).await?;
    if has_ledger {
        read_ledger(tx, &mut o.ledger).await?;
    }
    Ok(o)
}

/// Fills [`Observed::user_references`] for every user steward manages (only managed users can
/// be pruned), for a snapshot that must answer for any later plan. A pass counts only the
/// users its plan deletes ([`user_references_of`]): counting them all scans every table that
/// refers to a user, about a tenth of a no-op `diff` of org-100k.
pub async fn read_user_references(tx: &mut Tx, observed: &mut Observed) -> Result<(), StoreError> {
    let managed = observed
        .ledger
        .keys()
        .filter(|k| k.kind == Kind::SupersetUser)
        .map(|k| k.key.as_str());
    observed.user_references = user_references_of(tx, observed, managed).await?;
    Ok(())
}

/// What deleting each of `users` (usernames in `observed`) would detach.
pub async fn user_references_of<'a>(
    tx: &mut Tx,
    observed: &Observed,
    users: impl IntoIterator<Item = &'a str>,
) -> Result<BTreeMap<String, Vec<Detached>>, StoreError> {
    let ids: HashMap<String, i64> = users
        .into_iter()
        .filter_map(|name| Some((name.to_owned(), *observed.ids.users.get(name)?)))
        .collect();
    super::user_refs::count_references(tx, &ids).await
}

/// Link rows `[owner id, member id]` (grouped by owner, as [`Tx::fetch_pairs`] returns them)
/// as each owner's name with its members' values, sorted: one lookup of the owner per group
/// instead of one per row, and a sorted run that a `BTreeSet` takes in bulk. Rows whose owner or
/// member is unknown are left out.
fn linked<'a, K, T: Ord + Clone>(
    rows: &[[i64; 2]],
    owners: &'a ById<K>,
    members: &ById<T>,
) -> Vec<(&'a K, Vec<T>)> {
    let mut out: Vec<(&K, Vec<T>)> = Vec::new();
    // The owner of the group being read, and whether it is known.
    let mut current: Option<(i64, bool)> = None;
    for &[owner, member] in rows {
        if current.is_none_or(|(id, _)| id != owner) {
            let key = owners.get(&owner);
            if let Some(key) = key {
                out.push((key, Vec::new()));
            }
            current = Some((owner, key.is_some()));
        }
        if current.is_some_and(|(_, known)| known)
            && let Some(value) = members.get(&member)
        {
            out.last_mut()
                .expect("a known owner's group is open")
                .1
                .push(value.clone());
        }
    }
    for (_, values) in &mut out {
        values.sort_unstable();
    }
    out
}

/// The ledger rows; the declaring resource, Superset id and source when migration 5 ran (a
/// read-only `diff` does not migrate).
async fn read_ledger(tx: &mut Tx, ledger: &mut Ledger) -> Result<(), StoreError> {
    let identity = tx.has_column(LEDGER_TABLE, "resource_name").await?;
    let extra = match identity {
        true => ", resource_namespace, resource_name, resource_uid, object_id, source",
        false => "",
    };
    let mut types = vec![Ty::Text; 4];
    if identity {
        types.extend([Ty::Text, Ty::Text, Ty::Text, Ty::Int, Ty::Text]);
    }
    let sql = format!("SELECT kind, object_key, manager, content_hash{extra} FROM {LEDGER_TABLE}");
    let mut rows = Vec::new();
    for mut r in tx.fetch(&sql, &[], &types).await? {
        let Some(kind) = r[0].as_str().and_then(Kind::parse) else {
            continue;
        };
        let mut entry = LedgerEntry::new(text(&mut r[2]), text(&mut r[3]));
        if identity {
            let namespace = taken(&mut r[4]);
            entry.resource = taken(&mut r[5]).map(|name| ResourceId {
                uid: taken(&mut r[6]),
                ..ResourceId::new(kind, namespace.as_deref(), name)
            });
            entry.object_id = r[7].as_int();
            entry.source = taken(&mut r[8]);
        }
        rows.push((ObjectKey::new(kind, text(&mut r[1])), entry));
    }
    // Built at once (sorted, packed nodes); a key read twice keeps its last row, as inserting did.
    let read: Ledger = rows.into_iter().collect();
    match ledger.is_empty() {
        true => *ledger = read,
        false => ledger.extend(read),
    }
    Ok(())
}

/// A uuid as lowercase hyphenated text, from either backend's text form.
pub(super) fn canonical_uuid(text: &str) -> Option<String> {
    uuid::Uuid::parse_str(text)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

/// JSON text in canonical form (sorted keys, no spaces); text that is not JSON stays as is.
pub fn canonical_json(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .map_or_else(|_| text.to_owned(), |v| v.to_string())
}

fn validator(validator_type: String, config: Option<&str>) -> Validator {
    let config: serde_json::Value = config
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default();
    Validator {
        op: config.get("op").and_then(|v| v.as_str()).map(str::to_owned),
        threshold: config.get("threshold").and_then(serde_json::Value::as_f64),
        validator_type,
    }
}

fn recipient(recipient_type: String, config: &str) -> Recipient {
    let parsed: serde_json::Value = serde_json::from_str(config).unwrap_or_default();
    let config = parsed
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), normalise_list(v.as_str()?))))
                .filter(|(_, v)| !v.is_empty())
                .collect()
        })
        .unwrap_or_default();
    Recipient {
        recipient_type,
        config,
    }
}
