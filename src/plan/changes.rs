//! Diffing two states into ordered changes. Creates and updates run in dependency order
//! (users, roles, groups, RLS filters, schedules, configuration), deletes in reverse. The
//! ledger says which objects steward manages; only those are updated or pruned.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Field;
use crate::model::{CONFIG_KEY, ObjectKey, ObjectRef, State};
use crate::spec::{BUILTIN_ROLES, Kind};

/// One ledger row: who manages an object and the content hash last applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LedgerEntry {
    /// `cli` or a custom resource's uid.
    pub manager: String,
    /// [`ObjectRef::content_hash`] of the object as last applied.
    pub content_hash: String,
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
}

/// How one field changes.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "shape", rename_all = "kebab-case")]
pub enum FieldChange {
    /// A scalar.
    Value {
        field: &'static str,
        before: Option<String>,
        after: Option<String>,
    },
    /// Members added to and removed from a set.
    Members {
        field: &'static str,
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
}

/// What the planner may do.
#[derive(Clone, Debug)]
pub struct PlanOptions {
    /// The manager recorded in the ledger (`cli`, or a custom resource uid).
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

fn is_builtin(key: &ObjectKey) -> bool {
    key.kind == Kind::SupersetRole && BUILTIN_ROLES.contains(&key.key.as_str())
}

/// Plans `desired` against `observed` under `ledger`.
pub fn plan(desired: &State, observed: &State, ledger: &Ledger, options: &PlanOptions) -> Plan {
    let mut out = Plan::default();
    let mut deletes: Vec<Change> = Vec::new();
    for &kind in &Kind::ALL {
        if !options.kinds.contains(&kind) {
            continue;
        }
        let desired_keys = desired.keys(kind);
        for key in &desired_keys {
            let key = ObjectKey::new(kind, key.clone());
            let want = desired.get(&key).expect("key listed by desired");
            let have = observed.get(&key).filter(|have| !is_empty_config(have));
            let entry = ledger.get(&key);
            if is_builtin(&key) && !options.allow_builtin_roles {
                if have.is_none_or(|have| have != want) {
                    out.refusals.push(
                        Diagnostic::error(
                            Code::BuiltinRole,
                            format!("{key} is a built-in role: steward does not change it"),
                        )
                        .on(key.to_string())
                        .hint("declare a role of your own that includes it, or pass --allow-builtin-roles (`superset init` resets built-in roles anyway)"),
                    );
                }
                continue;
            }
            let Some(have) = have else {
                out.changes.push(Change {
                    key,
                    action: Action::Create,
                    fields: field_changes(None, Some(want)),
                });
                continue;
            };
            let fields = field_changes(Some(have), Some(want));
            let action = match entry {
                Some(e) if e.manager == options.manager => Action::Update,
                _ if options.adopt => Action::Adopt,
                Some(e) => {
                    out.refusals.push(conflict(&key, Some(&e.manager)));
                    continue;
                }
                None => {
                    out.refusals.push(conflict(&key, None));
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
            });
        }
        if !options.prune {
            continue;
        }
        let managed: Vec<&ObjectKey> = ledger
            .iter()
            .filter(|(k, e)| k.kind == kind && e.manager == options.manager)
            .map(|(k, _)| k)
            .collect();
        let leaving: Vec<&ObjectKey> = managed
            .iter()
            .copied()
            .filter(|k| desired.get(k).is_none())
            .collect();
        if desired_keys.is_empty() && !leaving.is_empty() && !options.allow_empty_kinds {
            out.refusals.push(
                Diagnostic::error(
                    Code::PruneGuard,
                    format!(
                        "no {kind} is declared, but steward manages {} in Superset: applying would delete them all",
                        leaving.len()
                    ),
                )
                .on(kind.to_string())
                .hint("if that is intended, pass --allow-empty-kinds; otherwise check the paths you gave"),
            );
            continue;
        }
        for key in leaving {
            if is_builtin(key) && !options.allow_builtin_roles {
                continue;
            }
            match observed.get(key) {
                Some(have) => deletes.push(Change {
                    key: key.clone(),
                    action: Action::Delete,
                    fields: field_changes(Some(have), None),
                }),
                None => deletes.push(Change {
                    key: key.clone(),
                    action: Action::Forget,
                    fields: Vec::new(),
                }),
            }
        }
    }
    let deletions = deletes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .count();
    if let Some(max) = options.max_deletions
        && deletions > max
    {
        out.refusals.push(
            Diagnostic::error(
                Code::PruneGuard,
                format!("the plan deletes {deletions} objects, more than --max-deletions {max}"),
            )
            .hint("raise --max-deletions if these deletions are intended"),
        );
    }
    deletes.reverse();
    out.changes.extend(deletes);
    out
}

fn is_empty_config(object: &ObjectRef<'_>) -> bool {
    matches!(object, ObjectRef::Config(c) if c.entries.is_empty())
}

fn conflict(key: &ObjectKey, manager: Option<&str>) -> Diagnostic {
    let message = match manager {
        Some(m) => format!("{key} is managed by `{m}`, not by this apply"),
        None if key.key == CONFIG_KEY => {
            format!("{key} already has settings in Superset that steward does not manage")
        }
        None => format!("{key} already exists in Superset and steward does not manage it"),
    };
    Diagnostic::error(Code::Conflict, message)
        .on(key.to_string())
        .hint(
            "pass --adopt to take it over (its current settings are replaced by the declared ones)",
        )
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
    let find = |fields: &[(&'static str, Field)], name: &str| {
        fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| f.clone())
    };
    let mut out = Vec::new();
    for name in names {
        match (find(&before_fields, name), find(&after_fields, name)) {
            (b, a) if b == a => {}
            (Some(Field::Set(b)), Some(Field::Set(a))) => out.push(FieldChange::Members {
                field: name,
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
                        field: name,
                        added,
                        removed,
                    });
                }
            }
            (b, a) => {
                let text = |f: Option<Field>| match f {
                    Some(Field::Text(t)) => t,
                    _ => None,
                };
                let (before, after) = (text(b), text(a));
                if before != after {
                    out.push(FieldChange::Value {
                        field: name,
                        before,
                        after,
                    });
                }
            }
        }
    }
    out
}
