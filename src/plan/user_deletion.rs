//! What pruning a user means beyond its own row: the rows of other tables that refer to it
//! (counted from the database by the store, shown on the user's delete as a `detaches` line),
//! and the schedules that would be left running as, or owned by, nobody (refused).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{Action, Change, FieldChange, Plan};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{ObjectKey, Schedule, State};
use crate::resources::Kind;

/// The field of a user's delete that lists what the deletion detaches.
pub const DETACHES: &str = "detaches";

/// What happens to a row that refers to a deleted user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Removal {
    /// The row goes (a link or a row that is the user's own: an ownership, a membership,
    /// a favourite; or a column that cannot be NULL).
    DeleteRow,
    /// The column becomes NULL (audit columns, request logs): the row stays.
    Clear,
}

/// Rows of one table that refer to one user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detached {
    /// The table, unquoted.
    pub table: String,
    pub removal: Removal,
    /// Distinct rows (a row naming the user in two columns counts once).
    pub rows: u64,
}

/// Link tables whose rows make a user an owner, by the noun of what is owned.
const OWNERSHIPS: [(&str, &str, &str); 4] = [
    ("slice_user", "chart", "charts"),
    ("dashboard_user", "dashboard", "dashboards"),
    ("sqlatable_user", "dataset", "datasets"),
    ("report_schedule_user", "schedule", "schedules"),
];

/// Superset tables whose rows are things, by singular and plural noun.
const NOUNS: [(&str, &str, &str); 14] = [
    ("slices", "chart", "charts"),
    ("dashboards", "dashboard", "dashboards"),
    ("tables", "dataset", "datasets"),
    ("dbs", "database", "databases"),
    ("report_schedule", "schedule", "schedules"),
    ("row_level_security_filters", "RLS filter", "RLS filters"),
    ("logs", "log row", "log rows"),
    ("query", "SQL Lab query", "SQL Lab queries"),
    ("saved_query", "saved query", "saved queries"),
    ("tab_state", "SQL Lab tab", "SQL Lab tabs"),
    ("favstar", "favourite", "favourites"),
    ("ab_user_group", "group membership", "group memberships"),
    ("ab_user", "user", "users"),
    ("key_value", "stored state", "stored states"),
];

fn counted(rows: u64, table: &str) -> String {
    match NOUNS.iter().find(|(t, _, _)| *t == table) {
        Some((_, one, _)) if rows == 1 => format!("1 {one}"),
        Some((_, _, many)) => format!("{rows} {many}"),
        None if rows == 1 => format!("1 row of table {table}"),
        None => format!("{rows} rows of table {table}"),
    }
}

/// `owner of 3 charts, 1 dashboard; author of 12 log rows; deletes 1 row of table x`, or `None`
/// when nothing refers to the user. Role links are left out (the delete lists the roles).
pub fn describe(detached: &[Detached]) -> Option<String> {
    let (mut owner, mut author, mut deletes) = (Vec::new(), Vec::new(), Vec::new());
    // Superset's own tables first, in a fixed order; then the others by name.
    let rank = |table: &str| {
        OWNERSHIPS
            .iter()
            .chain(NOUNS.iter())
            .position(|(t, _, _)| *t == table)
            .unwrap_or(usize::MAX)
    };
    let mut detached: Vec<&Detached> = detached.iter().filter(|d| d.rows > 0).collect();
    detached.sort_by(|a, b| (rank(&a.table), &a.table).cmp(&(rank(&b.table), &b.table)));
    for d in detached {
        if let Some((_, one, many)) = OWNERSHIPS.iter().find(|(t, _, _)| *t == d.table) {
            owner.push(format!(
                "{} {}",
                d.rows,
                if d.rows == 1 { one } else { many }
            ));
        } else if d.table == "ab_user_role" {
            continue;
        } else if d.removal == Removal::Clear {
            author.push(counted(d.rows, &d.table));
        } else {
            deletes.push(counted(d.rows, &d.table));
        }
    }
    let mut out = String::new();
    for (label, parts) in [
        ("owner of", owner),
        ("author of", author),
        ("deletes", deletes),
    ] {
        if parts.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push_str("; ");
        }
        let _ = write!(out, "{label} {}", parts.join(", "));
    }
    (!out.is_empty()).then_some(out)
}

/// Adds a [`DETACHES`] field to each user delete in `plan` that something refers to.
pub fn show_detached(plan: &mut Plan, detached: &BTreeMap<String, Vec<Detached>>) {
    for change in &mut plan.changes {
        if change.key.kind != Kind::SupersetUser || change.action != Action::Delete {
            continue;
        }
        if let Some(text) = detached.get(&change.key.key).and_then(|d| describe(d)) {
            change.fields.push(FieldChange::Value {
                field: DETACHES.into(),
                before: Some(text),
                after: None,
                literal: false,
            });
        }
    }
}

/// Whether `field` is the [`DETACHES`] line of a user's delete.
pub fn is_detaches(field: &FieldChange) -> bool {
    matches!(field, FieldChange::Value { field, .. } if field == DETACHES)
}

/// `changes` (serialised) without their [`DETACHES`] lines: the counts are read when planning
/// and move with Superset's own activity (a request adds a log row), so a reviewed plan is
/// compared without them.
pub fn without_detaches(mut changes: serde_json::Value) -> serde_json::Value {
    for change in changes.as_array_mut().into_iter().flatten() {
        if let Some(fields) = change.get_mut("fields").and_then(|f| f.as_array_mut()) {
            fields.retain(|f| f.get("field").and_then(|f| f.as_str()) != Some(DETACHES));
        }
    }
    changes
}

/// The schedules Superset will hold after `plan`: declared ones as declared, the others as
/// they are, the deleted ones gone.
fn schedules_after<'a>(
    plan: &Plan,
    desired: &'a State,
    observed: &'a State,
) -> BTreeMap<&'a str, &'a Schedule> {
    let mut after: BTreeMap<&str, &Schedule> = observed
        .schedules
        .iter()
        .map(|(k, s)| (k.as_str(), s))
        .collect();
    for change in plan
        .changes
        .iter()
        .filter(|c| c.key.kind == Kind::ReportSchedule)
    {
        let key = change.key.key.as_str();
        match (change.action, desired.schedules.get_key_value(key)) {
            (Action::Create | Action::Update | Action::Adopt, Some((k, s))) => {
                after.insert(k.as_str(), s);
            }
            _ => drop(after.remove(key)),
        }
    }
    after
}

/// Refuses the deletion of every user that a schedule left after `plan` (managed by steward or
/// not) runs as, runs its alert query as, or has as its only owner: Superset would run it as
/// nobody, or leave it with no owner to run it and hear about failures.
pub fn refuse_stranding(plan: &mut Plan, desired: &State, observed: &State) {
    let deleted: BTreeSet<&str> = plan
        .changes
        .iter()
        .filter(|c| c.key.kind == Kind::SupersetUser && c.action == Action::Delete)
        .map(|c| c.key.key.as_str())
        .collect();
    if deleted.is_empty() {
        return;
    }
    let mut stranded: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, schedule) in schedules_after(plan, desired, observed) {
        let shown = ObjectKey::new(Kind::ReportSchedule, key).to_string();
        let mut why = |user: &str, role: &str| {
            if deleted.contains(user) {
                stranded
                    .entry(user.to_owned())
                    .or_default()
                    .push(format!("{shown} ({role})"));
            }
        };
        if let Some(user) = schedule.run_as.as_deref() {
            why(user, "runs as it");
        }
        if let Some(user) = schedule.run_alert_query_as.as_deref() {
            why(user, "runs its alert query as it");
        }
        if let [only] = schedule.owners.iter().collect::<Vec<_>>().as_slice() {
            why(only, "its only owner");
        }
    }
    for (user, schedules) in stranded {
        let key = ObjectKey::new(Kind::SupersetUser, user);
        plan.refusals.push(
            Diagnostic::error(
                Code::PruneGuard,
                format!(
                    "{key} cannot be deleted: {} would be left without it: {}",
                    if schedules.len() == 1 {
                        "a schedule"
                    } else {
                        "schedules"
                    },
                    schedules.join(", ")
                ),
            )
            .about(key)
            .hint("keep declaring the user, or first change or delete those schedules (run them as another user, add another owner)"),
        );
    }
}

/// The user deletes of `plan`, for the store to count what refers to them.
pub fn deleted_users(plan: &Plan) -> impl Iterator<Item = &str> {
    plan.changes
        .iter()
        .filter(|c: &&Change| c.key.kind == Kind::SupersetUser && c.action == Action::Delete)
        .map(|c| c.key.key.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(table: &str, removal: Removal, rows: u64) -> Detached {
        Detached {
            table: table.into(),
            removal,
            rows,
        }
    }

    #[test]
    fn describes_ownerships_authorship_and_deleted_rows() {
        let text = describe(&[
            d("slice_user", Removal::DeleteRow, 3),
            d("dashboard_user", Removal::DeleteRow, 1),
            d("ab_user_role", Removal::DeleteRow, 2),
            d("logs", Removal::Clear, 12),
            d("slices", Removal::Clear, 1),
            d("ExtPrefs", Removal::DeleteRow, 1),
        ]);
        assert_eq!(
            text.as_deref(),
            Some(
                "owner of 3 charts, 1 dashboard; author of 1 chart, 12 log rows; deletes 1 row of table ExtPrefs"
            )
        );
        assert_eq!(describe(&[d("ab_user_role", Removal::DeleteRow, 1)]), None);
        assert_eq!(describe(&[d("logs", Removal::Clear, 0)]), None);
    }

    #[test]
    fn refuses_users_schedules_still_need_after_the_plan() {
        let mut observed = State::default();
        let owned = |name: &str, run_as: Option<&str>, owners: &[&str]| {
            let mut s = Schedule::for_test(name, "Email", "a@corp.example.com", run_as);
            s.owners = owners.iter().map(|o| (*o).to_owned()).collect();
            (Schedule::key(&s.schedule_type, &s.name), s)
        };
        for (key, schedule) in [
            owned("runs", Some("u"), &["v"]),
            owned("sole", None, &["u"]),
            owned("shared", None, &["u", "v"]),
            owned("leaving", Some("u"), &["u"]),
        ] {
            observed.schedules.insert(key, schedule);
        }
        let change = |kind: Kind, key: &str| Change {
            key: ObjectKey::new(kind, key),
            resource: None,
            action: Action::Delete,
            fields: Vec::new(),
            renamed_from: None,
        };
        let mut plan = Plan {
            changes: vec![
                change(Kind::ReportSchedule, "Report:leaving"),
                change(Kind::SupersetUser, "u"),
            ],
            refusals: Vec::new(),
            ..Plan::default()
        };
        refuse_stranding(&mut plan, &State::default(), &observed);
        assert_eq!(plan.refusals.len(), 1, "{:?}", plan.refusals);
        let message = &plan.refusals[0].message;
        assert!(
            message.contains("\"runs\" (Report) (runs as it)")
                && message.contains("\"sole\" (Report) (its only owner)")
                && !message.contains("shared")
                && !message.contains("leaving"),
            "{message}"
        );
    }

    #[test]
    fn a_reviewed_plan_still_matches_when_only_the_detached_counts_moved() {
        use crate::plan::PlanOptions;
        use crate::plan::plan_file::{
            Computed, Manifests, PlanFile, RecordedOptions, manifest_digest,
        };
        let delete = |text: &str| Change {
            key: ObjectKey::new(Kind::SupersetUser, "u"),
            resource: None,
            action: Action::Delete,
            fields: vec![FieldChange::Value {
                field: DETACHES.into(),
                before: Some(text.into()),
                after: None,
                literal: false,
            }],
            renamed_from: None,
        };
        let files = [("m/a.yaml", "kind: x")];
        let reviewed = PlanFile::new(
            Computed {
                shown: "sqlite://x.db".into(),
                identity: "sha256:aaaa".into(),
                fingerprint: "f".into(),
            },
            Manifests::of(&["m/".into()], files),
            RecordedOptions::of(&PlanOptions::default()),
            &[delete("author of 3 log rows")],
        );
        let digest = manifest_digest(files);
        assert!(
            reviewed
                .matches("f", &digest, &[delete("author of 4 log rows")])
                .is_ok()
        );
        let mut other = delete("author of 3 log rows");
        other.key.key = "v".into();
        assert!(reviewed.matches("f", &digest, &[other]).is_err());
    }
}
