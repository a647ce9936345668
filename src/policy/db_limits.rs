//! What Superset's metadata database would refuse, caught before a plan reaches it: NUL
//! characters (PostgreSQL cannot store U+0000 in text) anywhere in a manifest, and names taken
//! from `metadata.name` that are longer than their column (the schema's own `maxLength` covers
//! the `spec` fields). Uniqueness against what Superset already holds needs the database and is
//! checked when planning ([`crate::plan::unique`]).

use serde_json::Value;

use super::locate;
use crate::diagnostic::{Code, Diagnostic};
use crate::manifests::LoadedSet;
use crate::resources::Kind;

/// Superset 6.1's column for each kind's name, and its length in characters.
fn name_column(kind: Kind) -> Option<(&'static str, usize)> {
    match kind {
        Kind::SupersetUser => Some(("ab_user.username", 128)),
        Kind::SupersetRole => Some(("ab_role.name", 64)),
        Kind::SupersetGroup => Some(("ab_group.name", 100)),
        Kind::RowLevelSecurityFilter => Some(("row_level_security_filters.name", 255)),
        Kind::ReportSchedule => Some(("report_schedule.name", 150)),
        Kind::ReportConfiguration => None,
    }
}

pub(super) fn check(set: &LoadedSet, found: &mut Vec<Diagnostic>) {
    for (index, object) in set.objects.iter().enumerate() {
        let resource = &object.resource;
        if let Ok(value) = serde_json::to_value(resource) {
            let mut paths = Vec::new();
            nul_paths(String::new(), &value, &mut paths);
            // A NUL in a name is a control character, reported once by the names check.
            let name_fields: Vec<String> = super::names::names(resource)
                .into_iter()
                .map(|(field, _)| field)
                .collect();
            paths.retain(|path| !name_fields.contains(path));
            for path in paths {
                let d = Diagnostic::error(
                    Code::OutOfRange,
                    format!("`{path}` contains a NUL character (U+0000), which Superset's database cannot store"),
                )
                .hint("remove it: in a double-quoted YAML string, `\\0` writes a NUL");
                found.push(locate(set, index, &path, d));
            }
        }
        let Some((column, limit)) = name_column(resource.kind()) else {
            continue;
        };
        let name = resource.superset_name();
        let length = name.chars().count();
        if length > limit && name == resource.metadata_name() {
            let field = resource.kind().superset_name_field();
            let d = Diagnostic::error(
                Code::OutOfRange,
                format!(
                    "the name `{}…` has {length} characters; Superset's {column} holds at most {limit}",
                    name.chars().take(24).collect::<String>()
                ),
            )
            .hint(format!(
                "set a shorter {field} (metadata.name may stay as it is)"
            ));
            found.push(locate(set, index, "metadata.name", d));
        }
    }
}

/// Paths (`spec.firstName`, `spec.recipients.email.to[0]`) of the strings in `value` that hold
/// a NUL, keys included.
fn nul_paths(path: String, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.contains('\0') => out.push(path),
        Value::Object(map) => {
            for (key, child) in map {
                let child_path = match path.is_empty() {
                    true => key.clone(),
                    false => format!("{path}.{key}"),
                };
                if key.contains('\0') {
                    out.push(child_path);
                } else {
                    nul_paths(child_path, child, out);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                nul_paths(format!("{path}[{i}]"), item, out);
            }
        }
        _ => {}
    }
}
