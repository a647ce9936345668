//! The spec-to-spec diff of `diff --against-ref`: the declared objects of two versions of the
//! manifests, matched by kind and Superset identity, compared field by field as written (no
//! database, so nothing is resolved); a resource whose Superset name changed is a rename (see
//! `renames::between`). Scalars show before → after; lists show the items added
//! and removed (list items that are objects, such as permissions, compare as compact JSON).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Action, Change, FieldChange, Plan};
use crate::manifests::LoadedSet;
use crate::model::ObjectKey;
use crate::resources::ResourceId;

/// The changes from `old` to `new`, in plan order (creates and updates by kind, deletes last).
pub fn spec_changes(old: &LoadedSet, new: &LoadedSet) -> Plan {
    let renamed = super::renames::between(old, new);
    let (old, new) = (by_key(old), by_key(new));
    let mut changes = Vec::new();
    for (key, (id, after)) in &new {
        let from = renamed.get(key);
        match old.get(from.unwrap_or(key)) {
            None => changes.push(Change {
                key: key.clone(),
                action: Action::Create,
                fields: fields_between(&BTreeMap::new(), after),
                resource: Some(id.clone()),
                renamed_from: None,
            }),
            Some((_, before)) => {
                let fields = fields_between(before, after);
                if !fields.is_empty() || from.is_some() {
                    changes.push(Change {
                        key: key.clone(),
                        action: Action::Update,
                        fields,
                        resource: Some(id.clone()),
                        renamed_from: from.map(|o| o.key.clone()),
                    });
                }
            }
        }
    }
    let renamed: BTreeSet<&ObjectKey> = renamed.values().collect();
    for (key, (id, before)) in old.iter().rev() {
        if !new.contains_key(key) && !renamed.contains(key) {
            changes.push(Change {
                key: key.clone(),
                action: Action::Delete,
                fields: fields_between(before, &BTreeMap::new()),
                resource: Some(id.clone()),
                renamed_from: None,
            });
        }
    }
    Plan {
        changes,
        ..Plan::default()
    }
}

/// A flattened spec: field path → a scalar (`Value`) or a list of items (`Members`).
type Flat = BTreeMap<String, Flattened>;

#[derive(Clone, Debug, PartialEq)]
enum Flattened {
    /// A string, or (`true`) a number or boolean.
    Scalar(String, bool),
    Items(BTreeSet<String>),
}

/// Each declared object's flattened spec, with the resource that declares it, by object key.
fn by_key(set: &LoadedSet) -> BTreeMap<ObjectKey, (ResourceId, Flat)> {
    set.objects
        .iter()
        .filter_map(|o| {
            let spec = serde_json::to_value(&o.resource).ok()?.get("spec")?.clone();
            let mut flat = Flat::new();
            flatten("", &spec, &mut flat);
            Some((ObjectKey::of(&o.resource), (o.resource.id(), flat)))
        })
        .collect()
}

fn flatten(path: &str, value: &Value, out: &mut Flat) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten(&child, v, out);
            }
        }
        Value::Array(items) => {
            let items = items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            out.insert(path.to_owned(), Flattened::Items(items));
        }
        Value::Null => {}
        Value::String(s) => drop(out.insert(path.to_owned(), Flattened::Scalar(s.clone(), false))),
        other => drop(out.insert(path.to_owned(), Flattened::Scalar(other.to_string(), true))),
    }
}

fn fields_between(before: &Flat, after: &Flat) -> Vec<FieldChange> {
    let paths: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let mut out = Vec::new();
    for path in paths {
        match (before.get(path), after.get(path)) {
            (b, a) if b == a => {}
            (b @ (Some(Flattened::Items(_)) | None), a @ (Some(Flattened::Items(_)) | None)) => {
                let items = |f: Option<&Flattened>| match f {
                    Some(Flattened::Items(i)) => i.clone(),
                    _ => BTreeSet::new(),
                };
                let (b, a) = (items(b), items(a));
                out.push(FieldChange::Members {
                    field: path.clone().into(),
                    added: a.difference(&b).cloned().collect(),
                    removed: b.difference(&a).cloned().collect(),
                });
            }
            (b, a) => {
                let literal = [b, a]
                    .iter()
                    .any(|f| matches!(f, Some(Flattened::Scalar(_, true))));
                let text = |f: Option<&Flattened>| match f {
                    Some(Flattened::Scalar(s, _)) => Some(s.clone()),
                    Some(Flattened::Items(i)) => {
                        Some(i.iter().cloned().collect::<Vec<_>>().join(", "))
                    }
                    None => None,
                };
                out.push(FieldChange::Value {
                    field: path.clone().into(),
                    before: text(b),
                    after: text(a),
                    literal,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifests::{SourceFile, load_sources};

    fn load_str(name: &str, text: &str) -> LoadedSet {
        load_sources(vec![SourceFile {
            name: name.into(),
            text: text.into(),
        }])
    }

    #[test]
    fn objects_match_by_identity_and_compare_by_field() {
        let old = load_str(
            "a.yaml",
            "apiVersion: steward.dev/v1alpha1\nkind: SupersetGroup\nmetadata: {name: team}\nspec: {roles: [Gamma], users: [ana]}\n---\napiVersion: steward.dev/v1alpha1\nkind: SupersetUser\nmetadata: {name: ana}\nspec: {firstName: Ana, lastName: A, email: ana@x.io}\n",
        );
        let new = load_str(
            "a.yaml",
            "apiVersion: steward.dev/v1alpha1\nkind: SupersetGroup\nmetadata: {name: team}\nspec: {roles: [Gamma, Alpha], users: [ana]}\n---\napiVersion: steward.dev/v1alpha1\nkind: SupersetUser\nmetadata: {name: bo}\nspec: {firstName: Bo, lastName: B, email: bo@x.io}\n",
        );
        let plan = spec_changes(&old, &new);
        let summary: Vec<String> = plan
            .changes
            .iter()
            .map(|c| format!("{} {}", c.action.sign(), c.key))
            .collect();
        assert_eq!(
            summary,
            [
                "+ SupersetUser \"bo\"",
                "~ SupersetGroup \"team\"",
                "- SupersetUser \"ana\""
            ]
        );
        assert_eq!(
            plan.changes[1].fields,
            [FieldChange::Members {
                field: "roles".into(),
                added: vec!["Alpha".into()],
                removed: vec![],
            }]
        );
    }

    #[test]
    fn a_changed_superset_name_of_the_same_resource_is_a_rename() {
        let role = |name: &str| {
            format!(
                "apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata: {{name: analyst}}\nspec: {{name: {name}, includes: [Gamma]}}\n"
            )
        };
        let plan = spec_changes(
            &load_str("a.yaml", &role("Analyst")),
            &load_str("a.yaml", &role("Analysts")),
        );
        assert_eq!(plan.changes.len(), 1, "{:?}", plan.changes);
        assert_eq!(plan.changes[0].action, Action::Update);
        assert_eq!(plan.changes[0].renamed_from.as_deref(), Some("Analyst"));
        assert_eq!(
            plan.changes[0].label(),
            "SupersetRole \"Analyst\" → \"Analysts\""
        );
    }
}
