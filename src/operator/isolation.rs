//! Isolation of bad resources, pure: which resources a blocked pass blames (from its diagnostics
//! and refusals), what depends on them (by the Superset names they refer to), and so which
//! resources are held out of the next pass, their Superset objects left as last applied. One bad
//! resource never blocks the others.

use std::collections::{BTreeMap, BTreeSet};

use super::lifecycle::ADOPT_ANNOTATION;
use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::reason::Reason;
use crate::resources::identity::ResourceId;
use crate::resources::{Kind, Resource};

/// Why a resource is not Ready: the stable `reason` of its `Ready` condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NotReady {
    /// The spec is wrong on its own or against Superset (schema, reference, crontab…).
    InvalidSpec,
    /// The spec breaks the Alerts & Reports policy (domains, intervals, run-as).
    PolicyViolation,
    /// Another resource, manager or an unmanaged object already holds the Superset object.
    Conflict,
    /// A resource it refers to is held back.
    WaitingOnDependency,
    /// A guardrail refused the change (built-in role, prune guard, deletion cap, release).
    RefusedByGuardrail,
    /// The metadata database cannot be reached or used.
    DatabaseUnavailable,
    /// Deleted, but the mass-deletion guard paused the deletion of its Superset object.
    DeletionPaused,
}

impl NotReady {
    /// The condition's `reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            NotReady::InvalidSpec => "InvalidSpec",
            NotReady::PolicyViolation => "PolicyViolation",
            NotReady::Conflict => "Conflict",
            NotReady::WaitingOnDependency => "WaitingOnDependency",
            NotReady::RefusedByGuardrail => "RefusedByGuardrail",
            NotReady::DatabaseUnavailable => "DatabaseUnavailable",
            NotReady::DeletionPaused => "DeletionPaused",
        }
    }

    /// The reason a blocking finding of `code` gives its resource.
    pub fn of(code: Code) -> NotReady {
        match code {
            Code::PolicyViolation => NotReady::PolicyViolation,
            Code::Conflict | Code::Duplicate | Code::SingletonViolated => NotReady::Conflict,
            Code::BuiltinRole | Code::PruneGuard | Code::ReleaseUnsupported => {
                NotReady::RefusedByGuardrail
            }
            _ => NotReady::InvalidSpec,
        }
    }
}

/// A resource held out of the pass, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub reason: NotReady,
    /// Every finding against it (for a dependency: which one it waits on), one per line.
    pub messages: Vec<String>,
}

/// What a blocked pass blames: resources with their findings, and the blocking findings no
/// resource can be blamed for (they block the whole instance).
#[derive(Debug, Default)]
pub struct Blame {
    pub resources: BTreeMap<ResourceId, Held>,
    pub unattributed: Vec<String>,
}

/// Sorts the blocking findings of a pass (errors and refusals) by the resource they name.
/// Identities are compared without the uid, as diagnostics name resources.
pub fn blame<'a>(findings: impl IntoIterator<Item = &'a Diagnostic>) -> Blame {
    let mut out = Blame::default();
    for finding in findings {
        if finding.severity != Severity::Error {
            continue;
        }
        let message = finding_text(finding);
        let Some(resource) = &finding.resource else {
            out.unattributed.push(message);
            continue;
        };
        let held = out
            .resources
            .entry(without_uid(resource))
            .or_insert_with(|| Held {
                reason: NotReady::of(finding.code),
                messages: Vec::new(),
            });
        // A specific reason (policy breach, conflict, guardrail) wins over a generic error.
        if NotReady::of(finding.code) != NotReady::InvalidSpec {
            held.reason = NotReady::of(finding.code);
        }
        held.messages.push(message);
    }
    out
}

/// A finding as the operator shows it: `field: message (hint: …)`, the hint in the operator's
/// terms where the CLI's would name one of its flags.
pub fn finding_text(finding: &Diagnostic) -> String {
    let mut out = match &finding.field {
        Some(field) => format!("{field}: {}", finding.message),
        None => finding.message.clone(),
    };
    if let Some(hint) = way_out(finding).or_else(|| finding.hint.clone()) {
        out.push_str(" (hint: ");
        out.push_str(&hint);
        out.push(')');
    }
    out
}

/// The way out of a finding in the operator's terms, where the CLI's hint names one of its
/// flags (`--adopt`).
pub fn way_out(finding: &Diagnostic) -> Option<String> {
    match &finding.reason {
        Some(Reason::Unmanaged) => Some(format!(
            "to take it over, annotate the resource {ADOPT_ANNOTATION}=true"
        )),
        Some(Reason::OtherManager { manager, .. }) => Some(format!(
            "it is managed by `{manager}`: change it there, or annotate this resource {ADOPT_ANNOTATION}=true to take it over"
        )),
        _ => None,
    }
}

/// A resource's identity as diagnostics carry it.
pub fn without_uid(id: &ResourceId) -> ResourceId {
    ResourceId {
        uid: None,
        ..id.clone()
    }
}

/// The Superset objects a resource refers to, as (kind, Superset name).
pub fn references(resource: &Resource) -> Vec<(Kind, &str)> {
    fn roles(names: &[String]) -> Vec<(Kind, &str)> {
        names
            .iter()
            .map(|n| (Kind::SupersetRole, n.as_str()))
            .collect()
    }
    match resource {
        Resource::User(u) => roles(&u.spec.roles),
        Resource::Role(r) => roles(&r.spec.includes),
        Resource::Group(g) => {
            let mut out = roles(&g.spec.roles);
            out.extend(
                g.spec
                    .users
                    .iter()
                    .map(|u| (Kind::SupersetUser, u.as_str())),
            );
            out
        }
        Resource::Rls(r) => roles(&r.spec.roles),
        Resource::Schedule(s) => s
            .spec
            .owners
            .iter()
            .chain(&s.spec.run_as)
            .chain(&s.spec.run_alert_query_as)
            .map(|u| (Kind::SupersetUser, u.as_str()))
            .collect(),
        Resource::Config(c) => c
            .spec
            .run_as_allowed
            .iter()
            .flat_map(|allowed| {
                let users = allowed
                    .users
                    .iter()
                    .map(|u| (Kind::SupersetUser, u.as_str()));
                let groups = allowed
                    .groups
                    .iter()
                    .map(|g| (Kind::SupersetGroup, g.as_str()));
                users.chain(groups)
            })
            .collect(),
        Resource::GuestPolicy(_) => Vec::new(),
    }
}

/// The resources to hold out of the next pass: those blamed, and every resource that refers,
/// directly or through others, to the Superset object of one held back (they wait on it).
pub fn held(
    resources: &[Resource],
    blamed: &BTreeMap<ResourceId, Held>,
) -> BTreeMap<ResourceId, Held> {
    let mut out = blamed.clone();
    let ids: Vec<ResourceId> = resources.iter().map(|r| without_uid(&r.id())).collect();
    loop {
        let waiting_on: BTreeMap<(Kind, &str), &ResourceId> = resources
            .iter()
            .zip(&ids)
            .filter(|(_, id)| out.contains_key(*id))
            .map(|(r, id)| ((r.kind(), r.superset_name()), id))
            .collect();
        let mut added = false;
        for (resource, id) in resources.iter().zip(&ids) {
            if out.contains_key(id) {
                continue;
            }
            let on: BTreeSet<String> = references(resource)
                .into_iter()
                .filter_map(|target| waiting_on.get(&target).map(|dep| dep.to_string()))
                .collect();
            if !on.is_empty() {
                let messages = on
                    .into_iter()
                    .map(|dep| format!("waits on {dep}, which is not Ready"))
                    .collect();
                out.insert(
                    id.clone(),
                    Held {
                        reason: NotReady::WaitingOnDependency,
                        messages,
                    },
                );
                added = true;
            }
        }
        if !added {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifests::load_sources;

    fn resources(yaml: &str) -> Vec<Resource> {
        let set = load_sources(vec![crate::manifests::SourceFile {
            name: "t.yaml".into(),
            text: yaml.into(),
        }]);
        assert!(set.diagnostics.is_empty(), "{:?}", set.diagnostics);
        set.objects.into_iter().map(|o| o.resource).collect()
    }

    const ORG: &str = "apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata: {name: base}\nspec: {name: Base}\n---\napiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata: {name: finance}\nspec: {name: Finance, includes: [Base]}\n---\napiVersion: steward.dev/v1alpha1\nkind: SupersetUser\nmetadata: {name: ann}\nspec: {username: ann, firstName: A, lastName: N, email: ann@example.com, roles: [Finance]}\n---\napiVersion: steward.dev/v1alpha1\nkind: SupersetUser\nmetadata: {name: bob}\nspec: {username: bob, firstName: B, lastName: O, email: bob@example.com, roles: [Gamma]}\n";

    #[test]
    fn dependents_wait_transitively_and_others_go_on() {
        let all = resources(ORG);
        let base = ResourceId::new(Kind::SupersetRole, None, "base");
        let blamed = BTreeMap::from([(
            base.clone(),
            Held {
                reason: NotReady::InvalidSpec,
                messages: vec!["bad".into()],
            },
        )]);
        let held = held(&all, &blamed);
        let names: Vec<String> = held.keys().map(|k| k.to_string()).collect();
        assert_eq!(
            names,
            [
                "SupersetUser/ann",
                "SupersetRole/base",
                "SupersetRole/finance"
            ]
        );
        let finance = &held[&ResourceId::new(Kind::SupersetRole, None, "finance")];
        assert_eq!(finance.reason, NotReady::WaitingOnDependency);
        assert_eq!(
            finance.messages,
            ["waits on SupersetRole/base, which is not Ready"]
        );
        let ann = &held[&ResourceId::new(Kind::SupersetUser, None, "ann")];
        assert_eq!(
            ann.messages,
            ["waits on SupersetRole/finance, which is not Ready"]
        );
    }

    #[test]
    fn findings_are_blamed_on_their_resource_with_the_most_specific_reason() {
        let ann = ResourceId::new(Kind::SupersetUser, None, "ann");
        let findings = [
            Diagnostic::error(Code::InvalidEmail, "not an address").on(ann.clone()),
            Diagnostic::error(Code::PolicyViolation, "outside the allowed domains").on(ann.clone()),
            Diagnostic::warning(Code::IneffectiveField, "ignored").on(ann.clone()),
            Diagnostic::error(Code::PruneGuard, "would delete every role"),
        ];
        let blame = blame(&findings);
        assert_eq!(blame.unattributed, ["would delete every role"]);
        let held = &blame.resources[&ann];
        assert_eq!(held.reason, NotReady::PolicyViolation);
        assert_eq!(held.messages.len(), 2, "warnings do not count");
    }
}
