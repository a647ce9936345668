//! One whole-set pass over one Superset instance, through the engine's library pass (no second
//! code path), with isolation: when the pass is blocked, the resources it blames and those
//! waiting on them are held out (their objects left as last applied) and the pass runs again
//! for the rest. A mass deletion beyond the instance's guard pauses deletions, not the rest.

use std::collections::{BTreeMap, BTreeSet};

use super::isolation::{Held, NotReady, blame, held, without_uid};
use crate::diagnostic::Diagnostic;
use crate::engine::{self, Declared, EngineError, Mode, Observe, PassInput, PassOptions, Verdict};
use crate::plan::{Action, PlanOptions};
use crate::reason::Reason;
use crate::resources::Resource;
use crate::resources::identity::ResourceId;
use crate::store::Store;

/// How a pass over an instance is run.
#[derive(Clone, Debug)]
pub struct InstancePassOptions {
    /// The ledger's manager for this instance (`operator/<instance>`).
    pub manager: String,
    /// Deletions one pass may make before they pause (the mass-deletion guard); `None`: no cap.
    pub max_deletions: Option<usize>,
    /// Resources being deleted (not among the resources passed): their objects are deleted, or
    /// released from the ledger when they are in `orphaned`.
    pub deleting: BTreeSet<ResourceId>,
    /// Deleted resources whose objects stay in Superset, unmanaged (policy `Orphan`).
    pub orphaned: BTreeSet<ResourceId>,
    /// Resources annotated to adopt the existing object they declare.
    pub adopting: BTreeSet<ResourceId>,
    /// Resources found wrong before the pass (an unreadable annotation): held from the start.
    pub prejudged: BTreeMap<ResourceId, Held>,
}

/// What became of one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResourceResult {
    /// Superset matches it.
    Ready {
        /// Its Superset id (none for the configuration).
        superset_id: Option<i64>,
        /// What this pass wrote for it, if anything.
        action: Option<Action>,
    },
    /// Held out: its Superset object stays as last applied.
    NotReady(Held),
}

/// What a pass over an instance did.
#[derive(Debug, Default)]
pub struct InstanceResult {
    /// Every resource given, by identity (without uid).
    pub resources: BTreeMap<ResourceId, ResourceResult>,
    /// The Superset release of the database.
    pub superset_version: Option<String>,
    /// Objects this manager holds in Superset, by kind, after the pass.
    pub managed_objects: BTreeMap<String, u32>,
    /// Deletions the guard paused (none made).
    pub paused_deletions: usize,
    /// Deletions made within the guard's window before this pass (the reconciler's count):
    /// a paused pass says how much of the threshold they used.
    pub recent_deletions: usize,
    /// Objects deleted or released (forgotten) by the pass, with the resource that had
    /// declared them.
    pub deleted: Vec<Removed>,
    /// Objects the pass deleted from Superset (released ones not counted).
    pub deletions: usize,
    /// Blocking findings no resource can be blamed for: every resource waits on them.
    pub instance_refusals: Vec<String>,
    /// Resources being deleted whose Superset objects are gone or released: their finalizer
    /// may go.
    pub finalized: Vec<ResourceId>,
}

/// An object a pass deleted or released.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Removed {
    pub key: crate::model::ObjectKey,
    /// The resource that had declared it, as the ledger recorded.
    pub declared_by: Option<ResourceId>,
    /// `Delete` (gone from Superset) or `Forget` (released: stays, unmanaged).
    pub action: Action,
}

/// Passes at most this many times: each blocked pass holds out at least one more resource.
const MAX_ATTEMPTS: usize = 6;

/// Runs the pass over `resources` into `store`.
pub async fn reconcile_instance(
    store: &Store,
    resources: &[Resource],
    options: &InstancePassOptions,
) -> Result<InstanceResult, EngineError> {
    let ids: Vec<ResourceId> = resources.iter().map(|r| without_uid(&r.id())).collect();
    let mut holding: BTreeMap<ResourceId, Held> = held(resources, &options.prejudged);
    let mut prune = true;
    let mut paused = 0;
    for _ in 0..MAX_ATTEMPTS {
        let active: Vec<Resource> = resources
            .iter()
            .zip(&ids)
            .filter(|(_, id)| !holding.contains_key(*id))
            .map(|(r, _)| r.clone())
            .collect();
        let plan = PlanOptions {
            manager: options.manager.clone(),
            prune,
            // The operator's set is every resource of the instance: a kind with none left was
            // emptied on purpose; the mass-deletion guard stands for the empty-kind guard.
            allow_empty_kinds: true,
            max_deletions: options.max_deletions,
            held: holding.keys().cloned().collect(),
            orphaned: options.orphaned.clone(),
            adopting: options.adopting.clone(),
            ..PlanOptions::default()
        };
        let outcome = engine::run(PassInput {
            declared: Declared::Loaded(crate::manifests::LoadedSet::from_resources(active)),
            observe: Observe::Database(store),
            options: PassOptions {
                plan,
                mode: Mode::Apply,
                expected: None,
            },
        })
        .await?;
        let planned = &outcome.planned;
        if outcome.is_blocked() {
            let findings: Vec<&Diagnostic> = planned
                .set
                .diagnostics
                .iter()
                .chain(&planned.plan.refusals)
                .collect();
            if let Some(deletions) = too_many_deletions(&findings)
                && prune
            {
                paused = deletions;
                prune = false;
                continue;
            }
            let blamed = blame(findings.iter().copied());
            if blamed.resources.is_empty() || !blamed.unattributed.is_empty() {
                return Ok(refused_instance(
                    resources,
                    &ids,
                    holding,
                    blamed.unattributed,
                    paused,
                ));
            }
            holding = held(resources, &merge(holding, blamed.resources));
            continue;
        }
        let Verdict::Applied(applied) = &outcome.verdict else {
            return Ok(refused_instance(
                resources,
                &ids,
                holding,
                vec!["the pass did not apply".into()],
                paused,
            ));
        };
        let mut result = InstanceResult {
            superset_version: planned.observed.release.as_ref().map(|r| r.version.clone()),
            paused_deletions: paused,
            ..InstanceResult::default()
        };
        let written: BTreeMap<&ResourceId, (Action, Option<i64>)> = applied
            .objects
            .iter()
            .filter_map(|w| Some((w.resource.as_ref()?, (w.action, w.id))))
            .collect();
        let written: BTreeMap<ResourceId, (Action, Option<i64>)> = written
            .into_iter()
            .map(|(id, v)| (without_uid(id), v))
            .collect();
        // The planner moved `desired.declared_by` into the plan.
        let declared: BTreeMap<ResourceId, &crate::model::ObjectKey> = planned
            .plan
            .declared
            .iter()
            .map(|(key, id)| (without_uid(id), key))
            .collect();
        for id in &ids {
            let entry = match holding.get(id) {
                Some(held) => ResourceResult::NotReady(held.clone()),
                None => {
                    let (action, id_written) = match written.get(id) {
                        Some((action, superset_id)) => (Some(*action), *superset_id),
                        None => (None, None),
                    };
                    let superset_id = id_written.or_else(|| {
                        declared
                            .get(id)
                            .and_then(|key| planned.observed.ids.id_of(key))
                    });
                    ResourceResult::Ready {
                        superset_id,
                        action,
                    }
                }
            };
            result.resources.insert(id.clone(), entry);
        }
        result.deleted = applied
            .objects
            .iter()
            .filter(|w| matches!(w.action, Action::Delete | Action::Forget))
            .map(|w| Removed {
                key: w.key.clone(),
                declared_by: planned
                    .observed
                    .ledger
                    .get(&w.key)
                    .and_then(|e| e.resource.clone()),
                action: w.action,
            })
            .collect();
        result.deletions = applied
            .objects
            .iter()
            .filter(|w| w.action == Action::Delete)
            .count();
        result.managed_objects = managed_after(planned, &options.manager, &result.deleted);
        if prune {
            // Every object a deleted resource declared is gone or released now.
            result.finalized = options.deleting.iter().cloned().collect();
        }
        return Ok(result);
    }
    Ok(refused_instance(
        resources,
        &ids,
        holding,
        vec![format!(
            "no valid subset of the resources could be planned in {MAX_ATTEMPTS} passes"
        )],
        paused,
    ))
}

/// The deletions of a plan refused by the deletion cap, if it was.
fn too_many_deletions(findings: &[&Diagnostic]) -> Option<usize> {
    findings.iter().find_map(|d| match d.reason {
        Some(Reason::TooManyDeletions { deletions, .. }) => Some(deletions),
        _ => None,
    })
}

fn merge(
    mut holding: BTreeMap<ResourceId, Held>,
    more: BTreeMap<ResourceId, Held>,
) -> BTreeMap<ResourceId, Held> {
    for (id, held) in more {
        holding.entry(id).or_insert(held);
    }
    holding
}

/// Every resource not Ready: those held keep their reason, the others are refused with the
/// instance's findings.
fn refused_instance(
    resources: &[Resource],
    ids: &[ResourceId],
    holding: BTreeMap<ResourceId, Held>,
    findings: Vec<String>,
    paused: usize,
) -> InstanceResult {
    let mut result = InstanceResult {
        paused_deletions: paused,
        instance_refusals: findings.clone(),
        ..InstanceResult::default()
    };
    for (_, id) in resources.iter().zip(ids) {
        let held = holding.get(id).cloned().unwrap_or_else(|| Held {
            reason: NotReady::RefusedByGuardrail,
            messages: findings.clone(),
        });
        result
            .resources
            .insert(id.clone(), ResourceResult::NotReady(held));
    }
    result
}

/// Objects `manager` holds after the pass, by kind: the ledger before it, plus what it created
/// or adopted, minus what it deleted.
fn managed_after(
    planned: &engine::Planned,
    manager: &str,
    deleted: &[Removed],
) -> BTreeMap<String, u32> {
    let gone: BTreeSet<&crate::model::ObjectKey> = deleted.iter().map(|r| &r.key).collect();
    let mut keys: BTreeSet<&crate::model::ObjectKey> = planned
        .observed
        .ledger
        .iter()
        .filter(|(_, e)| e.manager == manager)
        .map(|(k, _)| k)
        .collect();
    keys.extend(
        planned
            .plan
            .changes
            .iter()
            .filter(|c| matches!(c.action, Action::Create | Action::Adopt))
            .map(|c| &c.key),
    );
    let mut counts = BTreeMap::new();
    for key in keys.into_iter().filter(|k| !gone.contains(k)) {
        *counts.entry(key.kind.short_name().to_owned()).or_insert(0) += 1;
    }
    counts
}
