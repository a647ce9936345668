//! Diffing two states into ordered changes. Creates and updates run in dependency order
//! (users, roles, groups, RLS filters, schedules, configuration), deletes in reverse. The
//! ledger says which objects steward manages; only those are updated or pruned.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Field;
use crate::model::{CONFIG_KEY, ObjectKey, ObjectRef, State, merge_by_key};
use crate::reason::Reason;
use crate::resources::{BUILTIN_ROLES, Kind, ResourceId};

/// One ledger row: who manages an object, the content hash last applied, the resource that
/// declared it, its Superset id and the manifest source of the pass that wrote it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LedgerEntry {
    /// The manager of the pass that wrote it (`cli` unless `--manager` names another).
    pub manager: String,
    /// [`ObjectRef::content_hash`] of the object as last applied.
    pub content_hash: String,
    /// The declaring resource (unknown for rows written before steward recorded it; filled on
    /// the next apply that writes the object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceId>,
    /// The object's Superset id when last written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<i64>,
    /// Where the manifests of the pass that wrote it came from (see [`PlanOptions::source`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl LedgerEntry {
    /// An entry of `manager` with `content_hash`, nothing else known.
    pub fn new(manager: impl Into<String>, content_hash: impl Into<String>) -> LedgerEntry {
        LedgerEntry {
            manager: manager.into(),
            content_hash: content_hash.into(),
            ..LedgerEntry::default()
        }
    }
}

/// The ownership ledger: every managed object.
pub type Ledger = BTreeMap<ObjectKey, LedgerEntry>;

/// What happens to one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The object is new.
    Create,
    /// An unmanaged object is taken over (and updated where it differs).
    Adopt,
    /// A managed object differs from its declaration.
    Update,
    /// A managed object left the desired set.
    Delete,
    /// A managed object vanished from Superset outside steward: its ledger row goes.
    Forget,
}

impl Action {
    /// The sign shown in text plans.
    pub fn sign(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Adopt => "&",
            Action::Update => "~",
            Action::Delete => "-",
            Action::Forget => "?",
        }
    }

    /// The action as a past participle, for messages and events: `created`, `adopted`…
    pub fn past(self) -> &'static str {
        match self {
            Action::Create => "created",
            Action::Adopt => "adopted",
            Action::Update => "updated",
            Action::Delete => "deleted",
            Action::Forget => "forgotten",
        }
    }
}

/// How one field changes.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "shape", rename_all = "kebab-case")]
pub enum FieldChange {
    /// A scalar.
    Value {
        field: Cow<'static, str>,
        before: Option<String>,
        after: Option<String>,
        /// A number or a boolean: shown unquoted, as the manifest writes it.
        #[serde(skip)]
        literal: bool,
    },
    /// Members added to and removed from a set.
    Members {
        field: Cow<'static, str>,
        added: Vec<String>,
        removed: Vec<String>,
    },
}

/// One object's change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// The object.
    pub key: ObjectKey,
    /// What happens.
    pub action: Action,
    /// Field-level detail (for deletes: the fields the object had).
    pub fields: Vec<FieldChange>,
    /// The declared resource behind the object (none for objects only in Superset, such as
    /// the deletion of an object no manifest declares any more).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceId>,
    /// The Superset key the object had before this change renames it in place (same id).
    #[serde(rename = "renamedFrom", skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
}

impl Change {
    /// The object as plans name it: `SupersetRole "new"`, or for a rename in place
    /// `SupersetRole "old" → "new"`.
    pub fn label(&self) -> String {
        let new = self.key.to_string();
        match &self.renamed_from {
            Some(old) => {
                let old = ObjectKey::new(self.key.kind, old.clone()).to_string();
                let kind = format!("{} ", self.key.kind);
                format!("{old} → {}", new.strip_prefix(&kind).unwrap_or(&new))
            }
            None => new,
        }
    }
}

/// What the planner may do.
#[derive(Clone, Debug)]
pub struct PlanOptions {
    /// The manager of the pass, recorded in the ledger (`cli` unless `--manager` names another;
    /// an operator names one per Superset instance, see [`super::managers`]).
    pub manager: String,
    /// Kinds in scope: only these are created, updated or pruned.
    pub kinds: Vec<Kind>,
    /// Delete managed objects that left the desired set.
    pub prune: bool,
    /// Take over existing unmanaged objects with declared names.
    pub adopt: bool,
    /// Allow changes to Superset's built-in roles.
    pub allow_builtin_roles: bool,
    /// Refuse plans with more deletions than this.
    pub max_deletions: Option<usize>,
    /// Allow pruning every managed object of a kind whose desired set is empty.
    pub allow_empty_kinds: bool,
    /// Also fingerprint the observed state (for plan files).
    pub fingerprint: bool,
    /// Also work out who gains or loses access (`diff` shows it; `apply` does not need it).
    pub impact: bool,
    /// `--target` selectors: when any, the plan is narrowed to them (see [`super::target`]).
    pub targets: Vec<super::target::Selector>,
    /// Resources held out of the pass (the operator's isolation of a bad resource, compared
    /// without uid): the objects the ledger says they declared stay as last applied, never
    /// pruned for being absent from the desired set.
    pub held: std::collections::BTreeSet<ResourceId>,
    /// Resources deleted with the `Orphan` policy (compared without uid): the objects they
    /// declared leave the ledger (they stay in Superset, unmanaged) instead of being deleted.
    pub orphaned: std::collections::BTreeSet<ResourceId>,
    /// Resources allowed to adopt the existing object they declare (compared without uid), as
    /// `adopt` allows every resource.
    pub adopting: std::collections::BTreeSet<ResourceId>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            manager: "cli".into(),
            kinds: Kind::ALL.to_vec(),
            prune: true,
            adopt: false,
            allow_builtin_roles: false,
            max_deletions: None,
            allow_empty_kinds: false,
            fingerprint: false,
            impact: false,
            targets: Vec::new(),
            held: Default::default(),
            orphaned: Default::default(),
            adopting: Default::default(),
        }
    }
}

/// Ordered changes plus everything that stops them from being applied.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Plan {
    /// Changes in application order.
    pub changes: Vec<Change>,
    /// Refusals: a plan with any is not applied.
    pub refusals: Vec<Diagnostic>,
    /// Set when `--target` narrowed the plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targeting: Option<super::target::Targeting>,
    /// The declaring resource of each declared object, for the ledger.
    #[serde(skip)]
    pub declared: BTreeMap<ObjectKey, ResourceId>,
    /// Where this pass's manifests come from, for the ledger (see [`super::managers`]).
    #[serde(skip)]
    pub source: Option<String>,
}

impl Plan {
    /// Number of changes with `action`.
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }

    /// Whether the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

fn is_builtin(kind: Kind, key: &str) -> bool {
    kind == Kind::SupersetRole && BUILTIN_ROLES.contains(&key)
}

/// Plans `desired` against `observed` under `ledger`: for each kind, the desired objects, the
/// observed ones and the ledger rows are walked together in key order (one pass, no lookups).
pub fn plan(desired: &State, observed: &State, ledger: &Ledger, options: &PlanOptions) -> Plan {
    let mut out = Plan::default();
    let mut deletes: Vec<Change> = Vec::new();
    for &kind in &Kind::ALL {
        if !options.kinds.contains(&kind) {
            continue;
        }
        let ledger_rows = ledger
            .range(ObjectKey::new(kind, String::new())..)
            .take_while(|(k, _)| k.kind == kind)
            .map(|(k, entry)| (k.key.as_str(), entry));
        let objects = merge_by_key(desired.objects(kind), observed.objects(kind))
            .map(|(key, want, have)| (key, (want, have)));
        let mut any_desired = false;
        // Managed here, no longer declared: the observed object, if Superset still has it, and
        // whether its resource was deleted with the Orphan policy.
        let mut leaving: Vec<(&str, Option<ObjectRef<'_>>, bool)> = Vec::new();
        for (name, objects, entry) in merge_by_key(objects, ledger_rows) {
            let (want, have) = objects.unwrap_or((None, None));
            let Some(want) = want else {
                if let Some(e) = entry
                    && e.manager == options.manager
                    && !in_set(e, &options.held)
                {
                    leaving.push((name, have, in_set(e, &options.orphaned)));
                }
                continue;
            };
            any_desired = true;
            let have = have.filter(|have| !is_empty_config(have));
            let managed_here = entry.is_some_and(|e| e.manager == options.manager);
            let builtin = is_builtin(kind, name) && !options.allow_builtin_roles;
            if (managed_here || builtin) && have == Some(want) {
                continue;
            }
            let key = ObjectKey::new(kind, name.to_owned());
            let resource = desired.declared_by.get(&key).cloned();
            if builtin {
                out.refusals.push(
                    Diagnostic::error(
                        Code::BuiltinRole,
                        format!("{key} is a built-in role: steward does not change it"),
                    )
                    .about(key.clone())
                    .maybe_on(resource)
                    .hint("declare a role of your own that includes it, or allow changes to built-in roles (`superset init` resets built-in roles anyway)")
                    .because(Reason::BuiltinRole),
                );
                continue;
            }
            let Some(have) = have else {
                out.changes.push(Change {
                    key,
                    action: Action::Create,
                    fields: field_changes(None, Some(want)),
                    resource,
                    renamed_from: None,
                });
                continue;
            };
            let fields = field_changes(Some(have), Some(want));
            let adopting = options.adopt
                || resource
                    .as_ref()
                    .is_some_and(|r| options.adopting.contains(&without_uid(r)));
            let action = match entry {
                Some(e) if e.manager == options.manager => Action::Update,
                _ if adopting => Action::Adopt,
                Some(e) => {
                    out.refusals.push(
                        conflict(&key, Some(&e.manager), &options.manager).maybe_on(resource),
                    );
                    continue;
                }
                None => {
                    out.refusals
                        .push(conflict(&key, None, &options.manager).maybe_on(resource));
                    continue;
                }
            };
            if action == Action::Update && fields.is_empty() {
                continue;
            }
            out.changes.push(Change {
                key,
                action,
                fields,
                resource,
                renamed_from: None,
            });
        }
        if !options.prune {
            continue;
        }
        if !any_desired && !leaving.is_empty() && !options.allow_empty_kinds {
            out.refusals.push(
                Diagnostic::error(
                    Code::PruneGuard,
                    format!(
                        "no {kind} is declared, but steward manages {} in Superset: applying would delete them all",
                        leaving.len()
                    ),
                )
                .hint("if that is intended, allow empty kinds; otherwise check the manifests given")
                .because(Reason::EmptyKind { kind, managed: leaving.len() }),
            );
            continue;
        }
        for (name, have, orphaned) in leaving {
            if is_builtin(kind, name) && !options.allow_builtin_roles {
                continue;
            }
            let key = ObjectKey::new(kind, name.to_owned());
            deletes.push(match have {
                Some(_) if orphaned => Change {
                    key,
                    action: Action::Forget,
                    fields: Vec::new(),
                    resource: None,
                    renamed_from: None,
                },
                Some(have) => Change {
                    key,
                    action: Action::Delete,
                    fields: field_changes(Some(have), None),
                    resource: None,
                    renamed_from: None,
                },
                None => Change {
                    key,
                    action: Action::Forget,
                    fields: Vec::new(),
                    resource: None,
                    renamed_from: None,
                },
            });
        }
    }
    let deletions = deletes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .count();
    // A targeted plan is capped once narrowed.
    if options.targets.is_empty() {
        out.refusals
            .extend(deletion_cap(deletions, options.max_deletions));
    }
    deletes.reverse();
    out.changes.extend(deletes);
    super::user_deletion::refuse_stranding(&mut out, desired, observed);
    out
}

/// Whether the resource that declared a managed object is in `set` (compared without uid).
fn in_set(entry: &LedgerEntry, set: &std::collections::BTreeSet<ResourceId>) -> bool {
    !set.is_empty()
        && entry
            .resource
            .as_ref()
            .is_some_and(|r| set.contains(&without_uid(r)))
}

/// A resource's identity without its Kubernetes uid, as the operator's sets hold them.
fn without_uid(id: &ResourceId) -> ResourceId {
    ResourceId {
        uid: None,
        ..id.clone()
    }
}

/// The refusal of a plan with more than `max` deletions.
pub(super) fn deletion_cap(deletions: usize, max: Option<usize>) -> Option<Diagnostic> {
    let max = max.filter(|max| deletions > *max)?;
    Some(
        Diagnostic::error(
            Code::PruneGuard,
            format!("the plan deletes {deletions} objects, more than the {max} allowed"),
        )
        .hint("raise the deletion limit if these deletions are intended")
        .because(Reason::TooManyDeletions { deletions, max }),
    )
}

fn is_empty_config(object: &ObjectRef<'_>) -> bool {
    matches!(object, ObjectRef::Config(c) if c.entries.is_empty())
}

fn conflict(key: &ObjectKey, manager: Option<&str>, ours: &str) -> Diagnostic {
    let message = match manager {
        Some(m) => {
            return Diagnostic::error(
                Code::Conflict,
                format!("{key} is managed by `{m}`, not by this pass's manager `{ours}`"),
            )
            .about(key.clone())
            .hint(format!(
                "each manager changes and prunes only its own objects: change it where `{m}` applies, or adopt it for `{ours}`"
            ))
            .because(Reason::OtherManager {
                manager: m.to_owned(),
                ours: ours.to_owned(),
            });
        }
        None if key.key == CONFIG_KEY => {
            format!("{key} already has settings in Superset that steward does not manage")
        }
        None => format!("{key} already exists in Superset and steward does not manage it"),
    };
    Diagnostic::error(Code::Conflict, message)
        .about(key.clone())
        .hint("adopt it to take it over (its current settings are replaced by the declared ones)")
        .because(Reason::Unmanaged)
}

/// Field-level differences; `None` on one side lists every field of the other.
pub fn field_changes(
    before: Option<ObjectRef<'_>>,
    after: Option<ObjectRef<'_>>,
) -> Vec<FieldChange> {
    let before_fields = before.map(|o| o.fields()).unwrap_or_default();
    let after_fields = after.map(|o| o.fields()).unwrap_or_default();
    let mut names: Vec<&'static str> = after_fields.iter().map(|(n, _)| *n).collect();
    for (name, _) in &before_fields {
        if !names.contains(name) {
            names.push(name);
        }
    }
    // Each field is moved out once (a field name appears once per side).
    let mut before_fields: Vec<(&'static str, Option<Field>)> = before_fields
        .into_iter()
        .map(|(n, f)| (n, Some(f)))
        .collect();
    let mut after_fields: Vec<(&'static str, Option<Field>)> = after_fields
        .into_iter()
        .map(|(n, f)| (n, Some(f)))
        .collect();
    let find = |fields: &mut [(&'static str, Option<Field>)], name: &str| {
        fields
            .iter_mut()
            .find(|(n, _)| *n == name)
            .and_then(|(_, f)| f.take())
    };
    let mut out = Vec::new();
    for name in names {
        match (
            find(&mut before_fields, name),
            find(&mut after_fields, name),
        ) {
            (b, a) if b == a => {}
            (Some(Field::Set(b)), Some(Field::Set(a))) => out.push(FieldChange::Members {
                field: name.into(),
                added: a.difference(&b).cloned().collect(),
                removed: b.difference(&a).cloned().collect(),
            }),
            (b @ (Some(Field::Set(_)) | None), a @ (Some(Field::Set(_)) | None)) => {
                let members = |f: Option<Field>| match f {
                    Some(Field::Set(s)) => s.into_iter().collect(),
                    _ => Vec::new(),
                };
                let (added, removed) = (members(a), members(b));
                if !added.is_empty() || !removed.is_empty() {
                    out.push(FieldChange::Members {
                        field: name.into(),
                        added,
                        removed,
                    });
                }
            }
            (b, a) => {
                let literal =
                    matches!(b, Some(Field::Literal(_))) || matches!(a, Some(Field::Literal(_)));
                let text = |f: Option<Field>| match f {
                    Some(Field::Text(t) | Field::Literal(t)) => t,
                    _ => None,
                };
                let (before, after) = (text(b), text(a));
                if before != after {
                    out.push(FieldChange::Value {
                        field: name.into(),
                        before,
                        after,
                        literal,
                    });
                }
            }
        }
    }
    // A plan can hold 100,000 creates listing every field: no spare capacity is kept.
    for change in &mut out {
        if let FieldChange::Members { added, removed, .. } = change {
            added.shrink_to_fit();
            removed.shrink_to_fit();
        }
    }
    out.shrink_to_fit();
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use sorted_vec::SortedSet;

    use super::*;
    use crate::model::{Group, PermissionPair, Role, User};

    fn user(name: &str, roles: &[&str]) -> User {
        User::active_with_roles(name, roles)
    }

    fn role(name: &str, pairs: &[(&str, &str)]) -> Role {
        Role {
            name: name.into(),
            permissions: pairs
                .iter()
                .map(|(p, v)| PermissionPair::new(*p, *v))
                .collect(),
        }
    }

    fn state(users: Vec<User>, roles: Vec<Role>) -> State {
        let mut s = State::default();
        for u in users {
            s.users.insert(u.username.clone(), u);
        }
        for r in roles {
            s.roles.insert(r.name.clone(), r);
        }
        s
    }

    fn managed(keys: &[(Kind, &str)]) -> Ledger {
        keys.iter()
            .map(|(k, n)| (ObjectKey::new(*k, *n), LedgerEntry::new("cli", "")))
            .collect()
    }

    #[test]
    fn creates_follow_dependency_order_and_deletes_the_reverse() {
        let desired = state(
            vec![user("new", &["R"])],
            vec![role("R", &[("can_read", "Chart")])],
        );
        let mut observed = state(vec![user("old", &[])], vec![role("Old", &[])]);
        observed.groups.insert(
            "G".into(),
            Group {
                name: "G".into(),
                label: None,
                description: None,
                roles: SortedSet::new(),
                users: BTreeSet::new(),
            },
        );
        let mut desired = desired;
        desired
            .groups
            .insert("G2".into(), observed.groups["G"].clone());
        let ledger = managed(&[
            (Kind::SupersetUser, "old"),
            (Kind::SupersetRole, "Old"),
            (Kind::SupersetGroup, "G"),
        ]);
        let plan = plan(&desired, &observed, &ledger, &PlanOptions::default());
        let order: Vec<(Action, &str)> = plan
            .changes
            .iter()
            .map(|c| (c.action, c.key.key.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                (Action::Create, "new"),
                (Action::Create, "R"),
                (Action::Create, "G2"),
                (Action::Delete, "G"),
                (Action::Delete, "Old"),
                (Action::Delete, "old"),
            ]
        );
        assert!(plan.refusals.is_empty());
    }

    #[test]
    fn updates_carry_field_level_detail() {
        let observed = state(
            vec![user("u", &["A", "B"])],
            vec![role("R", &[("can_read", "Chart"), ("can_write", "Chart")])],
        );
        let mut desired = state(
            vec![user("u", &["B", "C"])],
            vec![role(
                "R",
                &[("can_read", "Chart"), ("can_read", "Dashboard")],
            )],
        );
        desired.users.get_mut("u").unwrap().email = "new@example.com".into();
        let ledger = managed(&[(Kind::SupersetUser, "u"), (Kind::SupersetRole, "R")]);
        let plan = plan(&desired, &observed, &ledger, &PlanOptions::default());
        assert_eq!(plan.count(Action::Update), 2);
        let user_change = &plan.changes[0];
        assert!(user_change.fields.contains(&FieldChange::Value {
            field: "email".into(),
            before: Some("u@example.com".into()),
            after: Some("new@example.com".into()),
            literal: false,
        }));
        assert!(user_change.fields.contains(&FieldChange::Members {
            field: "roles".into(),
            added: vec!["C".into()],
            removed: vec!["A".into()],
        }));
        assert_eq!(
            plan.changes[1].fields,
            [FieldChange::Members {
                field: "permissions".into(),
                added: vec!["can_read on Dashboard".into()],
                removed: vec!["can_write on Chart".into()],
            }]
        );
    }

    #[test]
    fn unmanaged_objects_conflict_unless_adopted() {
        let observed = state(vec![user("u", &[])], vec![]);
        let desired = state(vec![user("u", &["R"])], vec![]);
        let refused = plan(&desired, &observed, &Ledger::new(), &PlanOptions::default());
        assert!(refused.changes.is_empty());
        assert_eq!(refused.refusals[0].code, Code::Conflict);
        let options = PlanOptions {
            adopt: true,
            ..PlanOptions::default()
        };
        let adopted = plan(&desired, &observed, &Ledger::new(), &options);
        assert_eq!(adopted.changes[0].action, Action::Adopt);
        assert!(adopted.refusals.is_empty());
        // Adopting an identical object still records it in the ledger.
        let same = plan(&observed, &observed, &Ledger::new(), &options);
        assert_eq!(same.changes[0].action, Action::Adopt);
        assert!(same.changes[0].fields.is_empty());
    }

    /// The operator's per-resource options: a held resource's object stays, an orphaned one
    /// leaves the ledger without being deleted, and only an annotated resource adopts.
    #[test]
    fn held_orphaned_and_adopting_resources() {
        let declaring = |name: &str| ResourceId::new(Kind::SupersetUser, None, name);
        let with_uid = |name: &str| ResourceId {
            uid: Some(format!("uid-{name}")),
            ..declaring(name)
        };
        let observed = state(
            vec![
                user("held", &[]),
                user("orphan", &[]),
                user("gone", &[]),
                user("free", &[]),
            ],
            vec![],
        );
        let mut ledger = Ledger::new();
        for name in ["held", "orphan", "gone"] {
            let mut entry = LedgerEntry::new("operator/main", "");
            entry.resource = Some(with_uid(name));
            ledger.insert(ObjectKey::new(Kind::SupersetUser, name), entry);
        }
        let mut desired = state(vec![user("free", &["R"]), user("new", &[])], vec![]);
        for name in ["free", "new"] {
            desired
                .declared_by
                .insert(ObjectKey::new(Kind::SupersetUser, name), with_uid(name));
        }
        let options = PlanOptions {
            manager: "operator/main".into(),
            held: BTreeSet::from([declaring("held")]),
            orphaned: BTreeSet::from([declaring("orphan")]),
            adopting: BTreeSet::from([declaring("free")]),
            ..PlanOptions::default()
        };
        let plan = plan(&desired, &observed, &ledger, &options);
        let actions: Vec<(String, Action)> = plan
            .changes
            .iter()
            .map(|c| (c.key.key.clone(), c.action))
            .collect();
        assert_eq!(
            actions,
            [
                ("free".to_owned(), Action::Adopt),
                ("new".to_owned(), Action::Create),
                ("orphan".to_owned(), Action::Forget),
                ("gone".to_owned(), Action::Delete),
            ]
        );
        assert!(plan.refusals.is_empty(), "{:?}", plan.refusals);
        // Without the annotation, the same unmanaged object is a conflict.
        let plain = PlanOptions {
            adopting: BTreeSet::new(),
            ..options
        };
        let refused = super::plan(&desired, &observed, &ledger, &plain);
        assert_eq!(refused.refusals[0].code, Code::Conflict);
    }

    #[test]
    fn builtin_roles_and_guards_refuse() {
        let observed = state(
            vec![user("a", &[]), user("b", &[])],
            vec![role("Gamma", &[("can_read", "Chart")])],
        );
        let desired = state(vec![], vec![role("Gamma", &[])]);
        let ledger = managed(&[(Kind::SupersetUser, "a"), (Kind::SupersetUser, "b")]);
        let refused = plan(&desired, &observed, &ledger, &PlanOptions::default());
        let codes: Vec<Code> = refused.refusals.iter().map(|d| d.code).collect();
        assert_eq!(codes, [Code::PruneGuard, Code::BuiltinRole]);
        let options = PlanOptions {
            allow_empty_kinds: true,
            max_deletions: Some(1),
            allow_builtin_roles: true,
            ..PlanOptions::default()
        };
        let capped = plan(&desired, &observed, &ledger, &options);
        assert_eq!(capped.count(Action::Delete), 2);
        assert_eq!(
            capped.count(Action::Update),
            0,
            "an unmanaged built-in role still conflicts"
        );
        assert!(capped.refusals.iter().any(|d| d.reason
            == Some(Reason::TooManyDeletions {
                deletions: 2,
                max: 1
            })));
    }

    #[test]
    fn managed_objects_gone_from_superset_are_forgotten() {
        let desired = state(vec![user("kept", &[])], vec![]);
        let observed = desired.clone();
        let ledger = managed(&[
            (Kind::SupersetUser, "kept"),
            (Kind::SupersetUser, "vanished"),
        ]);
        let plan = plan(&desired, &observed, &ledger, &PlanOptions::default());
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].action, Action::Forget);
        let options = PlanOptions {
            prune: false,
            ..PlanOptions::default()
        };
        assert!(super::plan(&desired, &observed, &ledger, &options).is_empty());
    }
}
