//! Renames in place: a declared resource that the ledger records (by its identity: kind,
//! namespace, name, uid) under another Superset name is the same object renamed, not a new one.
//! [`find`] pairs each such resource with its ledger row; [`rename_state`] rewrites the observed
//! state as if Superset already used the new names (so members, ownerships and links the
//! manifests do not declare stay where they are); [`mark`] shows each rename on its change.
//! Pure code: no IO.

use std::collections::BTreeMap;

use crate::diagnostic::{Code, Diagnostic};
use crate::manifests::LoadedSet;
use crate::model::{ObjectKey, State};
use crate::resources::Kind;
use crate::resources::identity::ResourceId;

use super::{Action, Change, Ledger, Plan, PlanOptions};

/// The renames of one pass: new key → the key the ledger (and Superset) hold it under.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Renames {
    /// New key → old key.
    pub moves: BTreeMap<ObjectKey, ObjectKey>,
    /// Renames that cannot be made (the new name is another object's).
    pub refusals: Vec<Diagnostic>,
}

/// The declaring resource of every declared object.
pub fn declared_ids(set: &LoadedSet) -> BTreeMap<ObjectKey, ResourceId> {
    set.objects
        .iter()
        .map(|o| (ObjectKey::of(&o.resource), o.resource.id()))
        .collect()
}

/// The objects two versions of the manifests declare under different Superset names with the
/// same resource (kind, namespace, `metadata.name`): new key → old key.
pub fn between(old: &LoadedSet, new: &LoadedSet) -> BTreeMap<ObjectKey, ObjectKey> {
    let (old, new) = (declared_ids(old), declared_ids(new));
    let gone: BTreeMap<&ResourceId, &ObjectKey> = old
        .iter()
        .filter(|(key, _)| !new.contains_key(*key))
        .map(|(key, resource)| (resource, key))
        .collect();
    new.iter()
        .filter(|(key, _)| !old.contains_key(*key))
        .filter_map(|(key, resource)| {
            let from = gone.get(resource).filter(|from| from.kind == key.kind)?;
            Some((key.clone(), (*from).clone()))
        })
        .collect()
}

/// Whether a ledger row's recorded resource is `declared` (a uid, when both sides have one,
/// must match too: a resource deleted and created again under the same name is another one).
fn same_resource(recorded: &ResourceId, declared: &ResourceId) -> bool {
    recorded.kind == declared.kind
        && recorded.namespace == declared.namespace
        && recorded.name == declared.name
        && match (&recorded.uid, &declared.uid) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
}

/// Pairs each declared object whose name the ledger does not know with the ledger row of this
/// pass's manager that its resource wrote under another name, when Superset still holds that
/// object and no declared object claims the old name.
pub fn find(
    declared: &BTreeMap<ObjectKey, ResourceId>,
    observed: &State,
    ledger: &Ledger,
    options: &PlanOptions,
) -> Renames {
    let mut out = Renames::default();
    let unknown: Vec<(&ObjectKey, &ResourceId)> = declared
        .iter()
        .filter(|(new, _)| {
            new.kind != Kind::ReportConfiguration
                && options.kinds.contains(&new.kind)
                && !ledger.contains_key(*new)
        })
        .collect();
    if unknown.is_empty() {
        return out;
    }
    let mut by_resource: BTreeMap<(Kind, Option<&str>, &str), Vec<&ObjectKey>> = BTreeMap::new();
    for (key, entry) in ledger {
        if let Some(r) = entry
            .resource
            .as_ref()
            .filter(|_| entry.manager == options.manager)
        {
            by_resource
                .entry((r.kind, r.namespace.as_deref(), r.name.as_str()))
                .or_default()
                .push(key);
        }
    }
    for (new, resource) in unknown {
        let wanted = (
            resource.kind,
            resource.namespace.as_deref(),
            resource.name.as_str(),
        );
        let Some(old) = by_resource
            .get(&wanted)
            .into_iter()
            .flatten()
            .copied()
            .find(|old| {
                old.kind == new.kind
                    && !declared.contains_key(*old)
                    && observed.get(old).is_some()
                    && ledger[*old]
                        .resource
                        .as_ref()
                        .is_some_and(|r| same_resource(r, resource))
            })
        else {
            continue;
        };
        if observed.get(new).is_some() {
            out.refusals.push(
                Diagnostic::error(
                    Code::Conflict,
                    format!(
                        "{resource} renames {old} to {new}, but another object in Superset already has that name"
                    ),
                )
                .on(resource.clone())
                .about(new.clone())
                .hint("choose a name no other object has, or rename or delete that object first"),
            );
            continue;
        }
        out.moves.insert(new.clone(), old.clone());
    }
    out
}

/// The name a rename gives, from its new key (schedules: `Type:name`).
fn renamed(moves: &BTreeMap<&str, &str>, name: &str) -> String {
    moves.get(name).map_or(name, |n| n).to_owned()
}

fn rename_set<S>(set: &mut S, moves: &BTreeMap<&str, &str>)
where
    for<'s> &'s S: IntoIterator<Item = &'s String>,
    S: FromIterator<String>,
{
    if set.into_iter().any(|m| moves.contains_key(m.as_str())) {
        *set = set.into_iter().map(|m| renamed(moves, m)).collect();
    }
}

/// Old name → new name of the renames of `kind`.
fn names_of(moves: &BTreeMap<ObjectKey, ObjectKey>, kind: Kind) -> BTreeMap<String, String> {
    moves
        .iter()
        .filter(|(new, _)| new.kind == kind)
        .map(|(new, old)| (old.key.clone(), new.key.clone()))
        .collect()
}

fn rekey<T>(map: &mut BTreeMap<String, T>, names: &BTreeMap<String, String>) {
    for (old, new) in names {
        if let Some(value) = map.remove(old) {
            map.insert(new.clone(), value);
        }
    }
}

fn borrowed(names: &BTreeMap<String, String>) -> BTreeMap<&str, &str> {
    names
        .iter()
        .map(|(o, n)| (o.as_str(), n.as_str()))
        .collect()
}

/// `observed` as Superset will hold it once the renames are made: objects under their new names,
/// and every reference to them (memberships, owners, run-as users) following.
pub fn rename_state(observed: &mut State, moves: &BTreeMap<ObjectKey, ObjectKey>) {
    let users = names_of(moves, Kind::SupersetUser);
    let roles = names_of(moves, Kind::SupersetRole);
    let groups = names_of(moves, Kind::SupersetGroup);
    let filters = names_of(moves, Kind::RowLevelSecurityFilter);
    let schedules = names_of(moves, Kind::ReportSchedule);
    rekey(&mut observed.users, &users);
    rekey(&mut observed.roles, &roles);
    rekey(&mut observed.groups, &groups);
    rekey(&mut observed.rls_filters, &filters);
    rekey(&mut observed.schedules, &schedules);
    let (user_moves, role_moves) = (borrowed(&users), borrowed(&roles));
    for (name, user) in &mut observed.users {
        user.username.clone_from(name);
        rename_set(&mut user.roles, &role_moves);
    }
    for (name, role) in &mut observed.roles {
        role.name.clone_from(name);
    }
    for (name, group) in &mut observed.groups {
        group.name.clone_from(name);
        rename_set(&mut group.roles, &role_moves);
        rename_set(&mut group.users, &user_moves);
    }
    for (name, filter) in &mut observed.rls_filters {
        filter.name.clone_from(name);
        rename_set(&mut filter.roles, &role_moves);
    }
    for (key, schedule) in &mut observed.schedules {
        if let Some((schedule_type, name)) = key.split_once(':') {
            schedule.schedule_type = schedule_type.to_owned();
            schedule.name = name.to_owned();
        }
        rename_set(&mut schedule.owners, &user_moves);
        for user in [&mut schedule.run_as, &mut schedule.run_alert_query_as]
            .into_iter()
            .flatten()
        {
            *user = renamed(&user_moves, user);
        }
    }
}

/// The ledger with each renamed object's row under its new key.
pub fn rename_ledger(ledger: &mut Ledger, moves: &BTreeMap<ObjectKey, ObjectKey>) {
    for (new, old) in moves {
        if let Some(entry) = ledger.remove(old) {
            ledger.insert(new.clone(), entry);
        }
    }
}

/// Shows each rename on its object's change (an update with no other difference is added), and
/// adds the renames' refusals.
pub fn mark(plan: &mut Plan, renames: &Renames) {
    for (new, old) in &renames.moves {
        match plan.changes.iter_mut().find(|c| &c.key == new) {
            Some(change) => change.renamed_from = Some(old.key.clone()),
            None => {
                // Before the first change of a later kind, or the first delete.
                let at = plan
                    .changes
                    .iter()
                    .position(|c| {
                        c.key.kind > new.kind || matches!(c.action, Action::Delete | Action::Forget)
                    })
                    .unwrap_or(plan.changes.len());
                plan.changes.insert(
                    at,
                    Change {
                        key: new.clone(),
                        action: Action::Update,
                        fields: Vec::new(),
                        renamed_from: Some(old.key.clone()),
                        resource: plan.declared.get(new).cloned(),
                    },
                );
            }
        }
    }
    plan.refusals.extend(renames.refusals.iter().cloned());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Group, User};
    use crate::plan::LedgerEntry;

    fn entry(kind: Kind, name: &str) -> LedgerEntry {
        LedgerEntry {
            resource: Some(ResourceId::new(kind, None, name)),
            ..LedgerEntry::new("cli", "")
        }
    }

    #[test]
    fn a_declared_resource_the_ledger_knows_under_another_name_is_a_rename() {
        let mut observed = State::default();
        observed
            .users
            .insert("kept".into(), User::active_with_roles("kept", &["old"]));
        observed.roles.insert(
            "old".into(),
            crate::model::Role {
                name: "old".into(),
                permissions: Default::default(),
            },
        );
        observed.groups.insert(
            "taken".into(),
            Group {
                name: "taken".into(),
                label: None,
                description: None,
                roles: vec!["old".to_owned()].into(),
                users: Default::default(),
            },
        );
        let mut ledger = Ledger::new();
        ledger.insert(
            ObjectKey::new(Kind::SupersetRole, "old"),
            entry(Kind::SupersetRole, "analyst"),
        );
        ledger.insert(
            ObjectKey::new(Kind::SupersetGroup, "g"),
            entry(Kind::SupersetGroup, "team"),
        );
        let declared = BTreeMap::from([
            (
                ObjectKey::new(Kind::SupersetRole, "new"),
                ResourceId::new(Kind::SupersetRole, None, "analyst"),
            ),
            (
                ObjectKey::new(Kind::SupersetGroup, "taken"),
                ResourceId::new(Kind::SupersetGroup, None, "team"),
            ),
        ]);
        let found = find(&declared, &observed, &ledger, &PlanOptions::default());
        assert_eq!(
            found.moves,
            BTreeMap::from([(
                ObjectKey::new(Kind::SupersetRole, "new"),
                ObjectKey::new(Kind::SupersetRole, "old")
            )]),
            "the group's old row is gone from Superset: no rename"
        );
        rename_state(&mut observed, &found.moves);
        assert_eq!(observed.roles["new"].name, "new");
        assert!(observed.users["kept"].roles.contains(&"new".to_owned()));
        assert!(observed.groups["taken"].roles.contains(&"new".to_owned()));
        // Onto a name another object holds: refused.
        observed
            .groups
            .insert("g".into(), observed.groups["taken"].clone());
        let onto_taken = find(&declared, &observed, &ledger, &PlanOptions::default());
        assert!(
            onto_taken
                .moves
                .values()
                .all(|o| o.kind != Kind::SupersetGroup)
        );
        assert_eq!(onto_taken.refusals.len(), 1);
        assert!(
            onto_taken.refusals[0]
                .message
                .contains("another object in Superset already has that name"),
            "{}",
            onto_taken.refusals[0].message
        );
    }
}
