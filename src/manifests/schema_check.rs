//! Per-object checks against a kind's CRD: the structural schema (types, required and unknown
//! fields, enums, ranges) through `jsonschema`, then the CRD's CEL rules through kube's CEL
//! evaluator: the same rules the API server enforces, evaluated without a cluster.

use std::collections::HashMap;
use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use kube::core::cel::{CompiledSchema, ValidationError};
use serde_json::Value;

use super::yaml_tree::{Node, PathStep, Position, display_path, parse_path};
use crate::diagnostic::{Code, Diagnostic, closest};
use crate::resources::Kind;
use crate::resources::crd::{openapi_schema, strict_schema};

/// A diagnostic before its file is attached.
pub(super) struct Problem {
    pub position: Position,
    pub diagnostic: Diagnostic,
}

struct StrictSchema {
    schema: Value,
    validator: jsonschema::Validator,
}

fn strict_schemas() -> &'static HashMap<Kind, StrictSchema> {
    static SCHEMAS: OnceLock<HashMap<Kind, StrictSchema>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        Kind::ALL
            .into_iter()
            .map(|kind| {
                let schema = strict_schema(kind);
                let validator = jsonschema::options()
                    .should_validate_formats(false)
                    .build(&schema)
                    .expect("the strict schema of every kind compiles");
                (kind, StrictSchema { schema, validator })
            })
            .collect()
    })
}

/// Checks `json` (the object as written) against the strict schema of `kind`; every violation.
pub(super) fn structural(kind: Kind, json: &Value, node: &Node) -> Vec<Problem> {
    let strict = &strict_schemas()[&kind];
    let mut problems = Vec::new();
    for error in strict.validator.iter_errors(json) {
        let path = instance_path(json, error.instance_path().as_str());
        let shown = display_path(&path);
        let schema_path = error.schema_path().as_str();
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let parent = schema_path.rsplit_once('/').map_or("", |(p, _)| p);
                let known: Vec<String> = strict
                    .schema
                    .pointer(parent)
                    .and_then(|s| s.get("properties"))
                    .and_then(Value::as_object)
                    .map(|p| p.keys().cloned().collect())
                    .unwrap_or_default();
                for field in unexpected {
                    let mut field_path = path.clone();
                    field_path.push(PathStep::Key(field.clone()));
                    let user_name =
                        kind == Kind::SupersetUser && shown == "spec" && field == "name";
                    let hint = match closest(field, known.iter().map(String::as_str)) {
                        _ if user_name => "a user's Superset name is `spec.username`".to_owned(),
                        Some(c) => format!("did you mean `{c}`?"),
                        None if known.is_empty() => "remove it".to_owned(),
                        None => format!("known fields here: {}", known.join(", ")),
                    };
                    problems.push(Problem {
                        position: node.locate(&field_path).0,
                        diagnostic: Diagnostic::error(
                            Code::UnknownField,
                            format!("unknown field `{field}`{}", where_(&shown)),
                        )
                        .field(display_path(&field_path))
                        .hint(hint),
                    });
                }
            }
            ValidationErrorKind::Required { property } => {
                let property = property.as_str().unwrap_or_default();
                let mut field_path = path.clone();
                field_path.push(PathStep::Key(property.to_owned()));
                problems.push(Problem {
                    position: node.locate_value(&path),
                    diagnostic: Diagnostic::error(
                        Code::MissingField,
                        format!("missing required field `{property}`{}", where_(&shown)),
                    )
                    .field(display_path(&field_path))
                    .hint(format!("add `{property}`")),
                });
            }
            ValidationErrorKind::Type { kind: expected } => {
                // Optional fields accept null too; saying so only adds noise.
                let expected = match expected {
                    TypeKind::Single(t) => article(&t.to_string()),
                    TypeKind::Multiple(ts) => ts
                        .iter()
                        .map(|t| t.to_string())
                        .filter(|t| t != "null")
                        .map(|t| article(&t))
                        .collect::<Vec<_>>()
                        .join(" or "),
                };
                let found = article(json_type(error.instance()));
                problems.push(Problem {
                    position: node.locate_value(&path),
                    diagnostic: Diagnostic::error(
                        Code::WrongType,
                        format!("`{shown}` must be {expected}, found {found}"),
                    )
                    .field(shown.clone())
                    .maybe_hint(quote_hint(expected.as_str(), error.instance())),
                });
            }
            ValidationErrorKind::Enum { options } => {
                let options: Vec<String> = options
                    .as_array()
                    .map(|o| {
                        o.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let value = scalar_text(error.instance());
                let hint = closest(&value, options.iter().map(String::as_str))
                    .map(|c| format!("did you mean `{c}`?"))
                    .unwrap_or_else(|| format!("use one of {}", options.join(", ")));
                problems.push(Problem {
                    position: node.locate_value(&path),
                    diagnostic: Diagnostic::error(
                        Code::BadValue,
                        format!(
                            "`{value}` is not a valid value for `{shown}`; expected one of {}",
                            options.join(", ")
                        ),
                    )
                    .field(shown.clone())
                    .hint(hint),
                });
            }
            other => {
                let message = match other {
                    ValidationErrorKind::MinLength { limit } if *limit == 1 => {
                        format!("`{shown}` must not be empty")
                    }
                    ValidationErrorKind::MinLength { limit } => {
                        format!("`{shown}` must be at least {limit} characters long")
                    }
                    ValidationErrorKind::MaxLength { limit } => {
                        format!("`{shown}` must be at most {limit} characters long")
                    }
                    ValidationErrorKind::MinItems { limit } => {
                        format!(
                            "`{shown}` needs at least {limit} item{}",
                            if *limit == 1 { "" } else { "s" }
                        )
                    }
                    ValidationErrorKind::Minimum { limit } => {
                        format!("`{shown}` must be at least {}", number(limit))
                    }
                    ValidationErrorKind::Maximum { limit } => {
                        format!("`{shown}` must be at most {}", number(limit))
                    }
                    ValidationErrorKind::Pattern { .. }
                        if shown == "metadata.name" || shown == "metadata.namespace" =>
                    {
                        format!(
                            "`{shown}` `{}` is not a valid Kubernetes name (lowercase letters, digits, '-' and '.')",
                            scalar_text(error.instance())
                        )
                    }
                    _ => format!("`{shown}`: {error}"),
                };
                let hint = (shown == "metadata.name").then(|| name_hint(kind).to_owned());
                problems.push(Problem {
                    position: node.locate_value(&path),
                    diagnostic: Diagnostic::error(Code::OutOfRange, message)
                        .field(shown.clone())
                        .maybe_hint(hint),
                });
            }
        }
    }
    problems
}

/// Where the Superset name goes when `metadata.name` (the Kubernetes name) is refused.
fn name_hint(kind: Kind) -> &'static str {
    match kind {
        Kind::SupersetUser => {
            "metadata.name is the Kubernetes name; put the Superset username in spec.username"
        }
        Kind::ReportConfiguration | Kind::GuestTokenPolicy => {
            "metadata.name is the Kubernetes name: lowercase letters, digits, '-' and '.'"
        }
        _ => "metadata.name is the Kubernetes name; put the Superset name in spec.name",
    }
}

fn where_(shown: &str) -> String {
    if shown.is_empty() {
        String::new()
    } else {
        format!(" in `{shown}`")
    }
}

fn quote_hint(expected: &str, found: &Value) -> Option<String> {
    match (expected, found) {
        ("a string", Value::Number(_) | Value::Bool(_)) => {
            Some(format!("quote the value: \"{found}\""))
        }
        ("a list", Value::String(s)) => Some(format!("write a list: [{s}]")),
        ("a boolean", Value::String(_)) => Some("write true or false, unquoted".to_owned()),
        ("an integer" | "a number", Value::String(_)) => {
            Some("write the number unquoted".to_owned())
        }
        _ => None,
    }
}

/// A JSON number as people write it (`600`, not `600.0`).
fn number(value: &Value) -> String {
    match value.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        _ => value.to_string(),
    }
}

fn article(t: &str) -> String {
    match t {
        "array" => "a list".to_owned(),
        "object" => "a mapping".to_owned(),
        "integer" => "an integer".to_owned(),
        "null" => "null".to_owned(),
        other => format!("a {other}"),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Turns a JSON pointer into path steps, telling indexes from keys by the instance itself.
fn instance_path(json: &Value, pointer: &str) -> Vec<PathStep> {
    let mut steps = Vec::new();
    let mut current = Some(json);
    for raw in pointer.split('/').skip(1) {
        let segment = raw.replace("~1", "/").replace("~0", "~");
        match current {
            Some(Value::Array(items)) => {
                let index = segment.parse::<usize>().unwrap_or(usize::MAX);
                current = items.get(index);
                steps.push(PathStep::Index(index));
            }
            Some(Value::Object(map)) => {
                current = map.get(&segment);
                steps.push(PathStep::Key(segment));
            }
            _ => {
                current = None;
                steps.push(PathStep::Key(segment));
            }
        }
    }
    steps
}

/// The CRD schemas of the kinds that carry CEL rules (kinds without rules need no evaluation).
fn schemas_with_rules() -> &'static HashMap<Kind, Value> {
    static SCHEMAS: OnceLock<HashMap<Kind, Value>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        Kind::ALL
            .into_iter()
            .map(|k| (k, openapi_schema(k)))
            .filter(|(_, schema)| schema.to_string().contains("x-kubernetes-validations"))
            .collect()
    })
}

thread_local! {
    static CEL: HashMap<Kind, kube::core::cel::CompiledSchema> = schemas_with_rules()
        .iter()
        .map(|(k, schema)| (*k, kube::core::cel::compile_schema(schema)))
        .collect();
}

/// Evaluates the CRD's CEL rules (`x-kubernetes-validations`) on `json`; every violation.
pub(super) fn cel_rules(kind: Kind, json: &Value, node: &Node) -> Vec<Problem> {
    let errors = CEL.with(|compiled| match compiled.get(&kind) {
        Some(schema) => evaluate(schema, json),
        None => Vec::new(),
    });
    errors
        .into_iter()
        .map(|error| {
            let path = parse_path(&error.field_path);
            Problem {
                position: node.locate(&path).0,
                diagnostic: Diagnostic::error(Code::RuleViolated, error.message.clone())
                    .field(display_path(&path))
                    .hint(format!("CRD rule: {}", error.rule)),
            }
        })
        .collect()
}

/// The rules of `schema` evaluated on `json`, as kube-cel reports them. kube-cel turns every
/// node it walks into a CEL value, the whole object at the root first; when the root has no
/// rule of its own, only its fields whose schema holds one are walked (in the same order), and
/// their errors' paths are put back under the field: the same errors, for a third of the work
/// on org-100k's schedules and filters.
fn evaluate(schema: &CompiledSchema, json: &Value) -> Vec<ValidationError> {
    let errors_of = |result: Result<(), kube::core::cel::ValidationErrors>| {
        result.err().map(|e| e.into_vec()).unwrap_or_default()
    };
    let rule_free_root = schema.validations.is_empty()
        && schema.items.is_none()
        && schema.additional_properties.is_none()
        && schema.all_of.is_empty()
        && schema.one_of.is_empty()
        && schema.any_of.is_empty();
    let Some(object) = json.as_object().filter(|_| rule_free_root) else {
        return errors_of(kube::core::cel::validate_compiled(schema, json, None));
    };
    let mut errors = Vec::new();
    for (field, child) in &schema.properties {
        let Some(value) = object.get(field).filter(|_| holds_rules(child)) else {
            continue;
        };
        for mut error in errors_of(kube::core::cel::validate_compiled(child, value, None)) {
            error.field_path = match error.field_path.as_str() {
                "" => field.clone(),
                path if path.starts_with(['.', '[']) => format!("{field}{path}"),
                path => format!("{field}.{path}"),
            };
            errors.push(error);
        }
    }
    errors
}

/// Whether `schema` or any schema under it carries a rule.
fn holds_rules(schema: &CompiledSchema) -> bool {
    !schema.validations.is_empty()
        || schema.properties.values().any(holds_rules)
        || schema.items.as_deref().is_some_and(holds_rules)
        || schema
            .additional_properties
            .as_deref()
            .is_some_and(holds_rules)
        || schema
            .all_of
            .iter()
            .chain(&schema.one_of)
            .chain(&schema.any_of)
            .any(holds_rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_walked_field_by_field_report_what_the_whole_walk_does() {
        let schedule = serde_json::json!({
            "apiVersion": "steward.dev/v1alpha1",
            "kind": "ReportSchedule",
            "metadata": {"name": "s", "namespace": "n"},
            "spec": {
                "type": "Alert",
                "crontab": "0 8 * * *",
                "chart": {"uuid": "u", "name": "c"},
                "dashboard": {"slug": "d", "title": "t"},
                "validator": {"type": "Operator", "operator": ">"},
                "workingTimeoutSeconds": 0,
                "recipients": {"email": {"to": ["a@b.c"]}}
            }
        });
        let rls = serde_json::json!({
            "apiVersion": "steward.dev/v1alpha1",
            "kind": "RowLevelSecurityFilter",
            "metadata": {"name": "f"},
            "spec": {"filterType": "Other", "clause": "1 = 1"}
        });
        let seen = |kind: Kind, json: &Value| {
            CEL.with(|compiled| {
                let schema = &compiled[&kind];
                let whole = kube::core::cel::validate_compiled(schema, json, None)
                    .err()
                    .map(|e| e.into_vec())
                    .unwrap_or_default();
                let shown = |errors: Vec<ValidationError>| -> Vec<(String, String, String)> {
                    errors
                        .into_iter()
                        .map(|e| (e.field_path, e.message, e.rule))
                        .collect()
                };
                (shown(whole), shown(evaluate(schema, json)))
            })
        };
        let (whole, by_field) = seen(Kind::ReportSchedule, &schedule);
        assert!(whole.len() >= 5, "{whole:?}");
        assert!(
            whole.iter().any(|(path, ..)| path == "spec.chart"),
            "{whole:?}"
        );
        assert_eq!(by_field, whole);
        let (whole, by_field) = seen(Kind::RowLevelSecurityFilter, &rls);
        assert_eq!(whole.len(), 1, "{whole:?}");
        assert_eq!(by_field, whole);
    }

    #[test]
    fn cel_field_paths_become_steps() {
        assert_eq!(
            parse_path("spec.recipients.email.to[2]"),
            vec![
                PathStep::Key("spec".into()),
                PathStep::Key("recipients".into()),
                PathStep::Key("email".into()),
                PathStep::Key("to".into()),
                PathStep::Index(2),
            ]
        );
    }
}
