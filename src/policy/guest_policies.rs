//! Guest-token policies alone: every pattern compiles (and matches whole values), attribute
//! keys are names Jinja can pass to `get_guest_user_attribute`, every RLS clause is one SQL
//! condition (in the dialect of its dataset's database when known), and ServiceAccounts are
//! named as Kubernetes names them.

use std::collections::BTreeMap;

use sqlparser::dialect::GenericDialect;

use super::locate;
use super::rls_clauses::{dialect_of_backend, parse_clause};
use crate::diagnostic::{Code, Diagnostic};
use crate::manifests::LoadedSet;
use crate::resources::Resource;
use crate::token::guest_policy::whole_match;

pub(super) fn check(
    set: &LoadedSet,
    backends: &BTreeMap<String, String>,
    found: &mut Vec<Diagnostic>,
) {
    for (index, object) in set.objects.iter().enumerate() {
        let Resource::GuestPolicy(policy) = &object.resource else {
            continue;
        };
        let s = &policy.spec;
        let mut report = |field: String, d: Diagnostic| found.push(locate(set, index, &field, d));
        let pattern_problem = |pattern: &str| {
            whole_match(pattern).err().map(|e| {
                let first_line = e.to_string();
                Diagnostic::error(
                    Code::OutOfRange,
                    format!(
                        "not a regular expression: {}",
                        first_line.lines().last().unwrap_or_default().trim()
                    ),
                )
                .hint(
                    "Rust `regex` syntax, matched against the whole value, e.g. `[a-z0-9-]{1,32}`",
                )
            })
        };
        if let Some(pattern) = &s.username_pattern
            && let Some(d) = pattern_problem(pattern)
        {
            report("spec.usernamePattern".into(), d);
        }
        for (key, rule) in &s.attributes {
            if !is_attribute_key(key) {
                report(
                    format!("spec.attributes.{key}"),
                    Diagnostic::error(
                        Code::OutOfRange,
                        format!("`{}` is not an attribute name", crate::escape::terminal(key)),
                    )
                    .hint("letters, digits and `_`, starting with a letter or `_`, at most 64 characters"),
                );
            }
            if let Some(d) = pattern_problem(&rule.pattern) {
                report(format!("spec.attributes.{key}.pattern"), d);
            }
        }
        for (i, rule) in s.rls_rules.iter().enumerate() {
            let database = rule.dataset.as_deref().and_then(|d| d.split('.').next());
            let dialect = database
                .and_then(|db| backends.get(db))
                .and_then(|b| dialect_of_backend(b));
            let result = match &dialect {
                Some((dialect, _)) => parse_clause(&rule.clause, dialect.as_ref()),
                None => parse_clause(&rule.clause, &GenericDialect {}),
            };
            if let Err(p) = result {
                let label = dialect
                    .map(|(_, name)| format!(" (parsed as {name})"))
                    .unwrap_or_default();
                report(
                    format!("spec.rlsRules[{i}].clause"),
                    Diagnostic::error(Code::InvalidRlsClause, format!("{}{label}", p.message))
                        .hint(p.hint),
                );
            }
        }
        for (i, account) in s.service_accounts.iter().enumerate() {
            for (field, value, limit) in [
                ("namespace", &account.namespace, 63),
                ("name", &account.name, 253),
            ] {
                if !is_dns_name(value, limit) {
                    report(
                        format!("spec.serviceAccounts[{i}].{field}"),
                        Diagnostic::error(
                            Code::OutOfRange,
                            format!(
                                "`{}` is not a Kubernetes {field}",
                                crate::escape::terminal(value)
                            ),
                        )
                        .hint(format!(
                            "lower-case letters, digits, `-` and `.`, starting and ending with a letter or digit, at most {limit} characters"
                        )),
                    );
                }
            }
        }
    }
}

/// A key `get_guest_user_attribute('…')` can name and a JSON object holds plainly.
fn is_attribute_key(key: &str) -> bool {
    let mut chars = key.chars();
    key.len() <= 64
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A DNS-1123 name (a subdomain when `limit` is 253, a label when 63).
fn is_dns_name(name: &str, limit: usize) -> bool {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    !name.is_empty()
        && name.len() <= limit
        && name.chars().all(ok_char)
        && (limit > 63 || !name.contains('.'))
        && edge(name.chars().next())
        && edge(name.chars().last())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagnostics(spec: &str) -> Vec<String> {
        let set = crate::manifests::load_sources(vec![crate::manifests::SourceFile {
            name: "p.yaml".into(),
            text: format!(
                "apiVersion: steward.dev/v1alpha1\nkind: GuestTokenPolicy\nmetadata: {{name: partners, namespace: apps}}\nspec:\n{spec}"
            ),
        }]);
        assert!(set.diagnostics.is_empty(), "{:?}", set.diagnostics);
        let mut found = Vec::new();
        check(&set, &BTreeMap::new(), &mut found);
        found
            .iter()
            .map(|d| format!("{} {}", d.field.clone().unwrap_or_default(), d.message))
            .collect()
    }

    #[test]
    fn a_sound_policy_has_no_findings() {
        let found = diagnostics(
            "  dashboards: [{slug: sales}]\n  usernamePattern: 'partner-[0-9]+'\n  attributes:\n    tenant: {pattern: '[a-z]+', required: true}\n  rlsRules:\n    - {dataset: warehouse.sales.opportunities, clause: \"tenant = '{{ current_username() }}'\"}\n  serviceAccounts: [{namespace: apps, name: portal}]\n",
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn every_bad_field_is_named() {
        let found = diagnostics(
            "  dashboards: [{slug: sales}]\n  usernamePattern: '(unclosed'\n  attributes:\n    'bad key': {pattern: '[a-z'}\n  rlsRules:\n    - {clause: \"1=1) OR (1=1\"}\n  serviceAccounts: [{namespace: Apps, name: -portal}]\n",
        );
        let text = found.join("\n");
        for field in [
            "spec.usernamePattern not a regular expression",
            "spec.attributes.bad key `bad key` is not an attribute name",
            "spec.attributes.bad key.pattern not a regular expression",
            "spec.rlsRules[0].clause",
            "spec.serviceAccounts[0].namespace",
            "spec.serviceAccounts[0].name",
        ] {
            assert!(text.contains(field), "missing {field:?} in\n{text}");
        }
        assert_eq!(found.len(), 6, "{text}");
    }

    #[test]
    fn one_name_in_two_namespaces_is_a_duplicate() {
        // The applied policy is stored under its name alone: two namespaces may not both
        // declare one name for an instance.
        let policy = |namespace: &str| {
            format!(
                "apiVersion: steward.dev/v1alpha1\nkind: GuestTokenPolicy\nmetadata: {{name: partners, namespace: {namespace}}}\nspec:\n  dashboards: [{{slug: sales}}]\n"
            )
        };
        let set = crate::manifests::load_sources(vec![crate::manifests::SourceFile {
            name: "p.yaml".into(),
            text: format!("{}---\n{}", policy("apps"), policy("other")),
        }]);
        let found = crate::policy::check_declared(&set);
        let duplicates: Vec<_> = found
            .iter()
            .filter(|d| d.code == crate::diagnostic::Code::Duplicate)
            .collect();
        assert_eq!(duplicates.len(), 1, "{found:?}");
        assert!(
            duplicates[0]
                .message
                .contains("GuestTokenPolicy `partners` is declared twice"),
            "{}",
            duplicates[0].message
        );
    }

    #[test]
    fn names_follow_kubernetes_and_jinja() {
        assert!(is_dns_name("team-a", 63));
        assert!(!is_dns_name("team.a", 63));
        assert!(is_dns_name("portal.v2", 253));
        assert!(!is_dns_name("", 63));
        assert!(is_attribute_key("_tenant_id2"));
        assert!(!is_attribute_key("2tenant"));
        assert!(!is_attribute_key(&"a".repeat(65)));
    }
}
