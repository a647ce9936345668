//! The admission check, for the validating webhook: the resource as it would be after the
//! CREATE or UPDATE, inside the set of every other resource of its instance, planned by the
//! engine against the instance's database in a dry run: the same checks as `validate` and
//! `diff` (references, duplicates, recipients and domains, exact intervals, run-as, RLS
//! clauses), no second rule set. Only findings about this resource refuse it, and not those a
//! resource of the same `kubectl apply` may end (a role or user it names that is not declared
//! yet, a recipient or run-as user to come): `kubectl apply -f dir/` and GitOps tools send the
//! resources one by one, in an order of their own. Those are warnings; the operator reports
//! them on the resource until they are resolved.

use kube::ResourceExt;

use super::isolation::without_uid;
use super::lifecycle::{adopts, deletion_policy};
use super::reconciler::Reconciler;
use super::targeting::Instances;
use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::engine::{self, Declared, Mode, Observe, PassInput, PassOptions};
use crate::manifests::LoadedSet;
use crate::plan::PlanOptions;
use crate::resources::Resource;

/// What the check found about one resource.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AdmissionFindings {
    /// Each refuses the resource (every offender, one line each).
    pub errors: Vec<String>,
    /// Shown to the user (`kubectl` prints them), not refusing.
    pub warnings: Vec<String>,
}

impl Reconciler {
    /// Checks `resource` as it would be stored.
    pub async fn admission_check(&self, resource: Resource) -> AdmissionFindings {
        let mut found = AdmissionFindings::default();
        let annotations = resource.meta().annotations.clone();
        if let Err(why) = deletion_policy(annotations.as_ref()) {
            found.errors.push(why);
        }
        let instances = self.caches.instances.state();
        let known = Instances::new(instances.iter().map(|i| {
            (
                i.metadata.name.as_deref().unwrap_or_default(),
                i.spec.default,
            )
        }));
        let target = match known.target_of(annotations.as_ref()) {
            Ok(target) => target.to_owned(),
            Err(why) => {
                found.errors.push(why);
                return found;
            }
        };
        let Some(instance) = instances.iter().find(|i| i.name_any() == target) else {
            return found;
        };
        let id = without_uid(&resource.id());
        let mut set: Vec<Resource> = self
            .caches
            .declared()
            .into_iter()
            .filter(|r| r.meta().deletion_timestamp.is_none())
            .filter(|r| without_uid(&r.id()) != id)
            .filter(|r| known.target_of(r.meta().annotations.as_ref()) == Ok(target.as_str()))
            .collect();
        set.push(resource.clone());
        let adopting = adopts(annotations.as_ref())
            .then(|| id.clone())
            .into_iter()
            .collect();
        let diagnostics = match self.database_url(instance).await {
            Ok(url) => match self.connection(&target, &url).await {
                Ok(store) => {
                    let pass = engine::run(PassInput {
                        declared: Declared::Loaded(LoadedSet::from_resources(set.clone())),
                        observe: Observe::Database(&store),
                        options: PassOptions {
                            plan: PlanOptions {
                                manager: format!("operator/{target}"),
                                allow_empty_kinds: true,
                                adopting,
                                ..PlanOptions::default()
                            },
                            mode: Mode::DryRun,
                            expected: None,
                        },
                    })
                    .await;
                    match pass {
                        Ok(outcome) => {
                            let planned = outcome.planned;
                            let mut all = planned.set.diagnostics;
                            all.extend(planned.plan.refusals);
                            Some(all)
                        }
                        Err(error) => {
                            found
                                .warnings
                                .push(database_skipped(&url.scrub(&error.to_string())));
                            None
                        }
                    }
                }
                Err(unavailable) => {
                    found.warnings.push(database_skipped(&unavailable.0));
                    None
                }
            },
            Err(unavailable) => {
                found.warnings.push(database_skipped(&unavailable.0));
                None
            }
        };
        // Without the database, the checks that need none still run.
        let diagnostics = diagnostics.unwrap_or_else(|| {
            let mut loaded = LoadedSet::from_resources(set);
            crate::validation::finish(&mut loaded);
            loaded.diagnostics
        });
        for diagnostic in diagnostics
            .iter()
            .filter(|d| d.resource.as_ref().is_some_and(|r| without_uid(r) == id))
        {
            let line = line(diagnostic);
            match diagnostic.severity {
                Severity::Error if awaits_declaration(diagnostic) => found.warnings.push(format!(
                    "{line}; allowed for now: a resource not declared yet may bring it, and until it does the resource stays not Ready"
                )),
                Severity::Error => found.errors.push(line),
                _ => found.warnings.push(line),
            }
        }
        found
    }
}

/// Fields whose references name objects steward declares (roles, users, groups), which another
/// resource of the same apply may bring.
const DECLARABLE_REFERENCES: [&str; 6] = [
    "spec.roles",
    "spec.includes",
    "spec.users",
    "spec.owners",
    "spec.runAs",
    "spec.runAlertQueryAs",
];

/// Whether a finding may end once another resource is declared.
fn awaits_declaration(diagnostic: &Diagnostic) -> bool {
    match diagnostic.code {
        Code::UnresolvedReference => diagnostic
            .field
            .as_deref()
            .is_some_and(|f| DECLARABLE_REFERENCES.iter().any(|p| f.starts_with(p))),
        Code::PolicyViolation => diagnostic.breach.as_ref().is_some_and(|b| b.awaits_user),
        _ => false,
    }
}

fn database_skipped(why: &str) -> String {
    format!(
        "Superset's metadata database could not be read ({why}); only the checks that need no database ran"
    )
}

/// One finding as the user reads it: `[code] field: message (hint: …)`.
fn line(diagnostic: &Diagnostic) -> String {
    format!(
        "[{}] {}",
        diagnostic.code.as_str(),
        super::isolation::finding_text(diagnostic)
    )
}
