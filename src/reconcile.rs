//! One reconciliation pass, shared by `diff` and `apply`: manifests and the database's observed
//! state → validated, resolved desired state → plan. The caller owns the transaction, so `apply`
//! plans under its lock and writes what it planned.

use crate::diagnostic;
use crate::impact::AccessImpact;
use crate::model::State;
use crate::plan::desired::{existing_names, resolve};
use crate::plan::plan_file::fingerprint;
use crate::plan::user_deletion::show_detached;
use crate::plan::{
    Action, Plan, PlanOptions, absorb_superset_rewrites, plan, restore_webhook_urls,
};
use crate::policy::report_rules;
use crate::spec::Kind;
use crate::spec::load::LoadedSet;
use crate::store::{Observed, StoreError, Tx, read_observed};
use crate::validation::finish_against;

/// Everything a pass produced.
#[derive(Debug)]
pub struct Planned {
    /// The manifests, with every diagnostic (load, declared-set, resolution against the DB).
    pub set: LoadedSet,
    /// What the database holds.
    pub observed: Observed,
    /// What the manifests declare, resolved.
    pub desired: State,
    /// The changes (empty when the manifests have errors or the policy is broken).
    pub plan: Plan,
    /// Schedules that would break the Alerts & Reports configuration after the apply (each is
    /// also an error in `set`).
    pub policy: Vec<report_rules::Violation>,
    /// [`fingerprint`] of what the database held, when [`PlanOptions::fingerprint`] asks for
    /// it (plan files).
    pub fingerprint: Option<String>,
    /// Who gains or loses access (when [`PlanOptions::impact`] asks and the manifests have no
    /// errors).
    pub impact: Option<AccessImpact>,
}

impl Planned {
    /// Whether the manifests have errors or the plan has refusals.
    pub fn is_blocked(&self) -> bool {
        self.set.has_errors() || !self.plan.refusals.is_empty()
    }
}

/// Reads the observed state in `tx` and plans `set` against it.
pub async fn plan_pass(
    tx: &mut Tx,
    set: LoadedSet,
    options: &PlanOptions,
) -> Result<Planned, StoreError> {
    let observed = read_observed(tx).await?;
    Ok(plan_against(set, observed, options))
}

/// Reads the observed state in `tx` while `loading` finishes (the manifests are parsed on
/// another thread), then plans.
pub async fn plan_pass_while_loading(
    tx: &mut Tx,
    loading: tokio::task::JoinHandle<LoadedSet>,
    options: &PlanOptions,
) -> Result<Planned, StoreError> {
    let observed = read_observed(tx).await?;
    let set = loading.await.expect("manifest loading does not panic");
    Ok(plan_against(set, observed, options))
}

/// Plans `set` against an observed state already read.
pub fn plan_against(mut set: LoadedSet, mut observed: Observed, options: &PlanOptions) -> Planned {
    let fingerprint = options
        .fingerprint
        .then(|| fingerprint(&observed.state, &observed.catalog, &observed.ledger));
    let existing = existing_names(
        &observed.state,
        &observed.catalog,
        &observed.ledger,
        &options.manager,
    );
    finish_against(&mut set, &existing);
    let (desired, found) = resolve(&set, &observed.catalog, &observed.state);
    set.diagnostics.extend(found);
    diagnostic::sort(&mut set.diagnostics);
    absorb_superset_rewrites(&desired, &mut observed.state);
    restore_webhook_urls(&desired, &mut observed.state);
    let mut plan = if set.has_errors() {
        Plan::default()
    } else {
        plan(&desired, &observed.state, &observed.ledger, options)
    };
    show_detached(&mut plan, &observed.user_references);
    let mut policy = Vec::new();
    let mut impact = None;
    if !set.has_errors() {
        // With nothing to change, Superset after the apply is Superset now.
        let after = match plan.is_empty() {
            true => std::borrow::Cow::Borrowed(&observed.state),
            false => std::borrow::Cow::Owned(state_after(&desired, &observed.state, &plan)),
        };
        if options.impact {
            impact = Some(match plan.is_empty() {
                true => AccessImpact::default(),
                false => AccessImpact::between(&observed.state, &after, &observed.catalog),
            });
        }
        let declared = desired.schedules.keys().cloned().collect();
        policy = report_rules::check(
            &after,
            &declared,
            report_rules::Scope::AfterApply,
            chrono::Utc::now(),
        );
        if !policy.is_empty() {
            set.diagnostics
                .extend(report_rules::diagnostics(&set, &policy));
            diagnostic::sort(&mut set.diagnostics);
            plan = Plan::default();
        }
    }
    Planned {
        set,
        observed,
        desired,
        plan,
        policy,
        fingerprint,
        impact,
    }
}

/// What Superset will hold after `plan`.
fn state_after(desired: &State, observed: &State, plan: &Plan) -> State {
    let mut after = observed.clone();
    fn put<T: Clone>(
        to: &mut std::collections::BTreeMap<String, T>,
        from: &std::collections::BTreeMap<String, T>,
        key: String,
        write: bool,
    ) {
        match from.get(&key).filter(|_| write) {
            Some(value) => drop(to.insert(key, value.clone())),
            None => drop(to.remove(&key)),
        }
    }
    for change in &plan.changes {
        let key = change.key.key.clone();
        let write = matches!(
            change.action,
            Action::Create | Action::Update | Action::Adopt
        );
        match change.key.kind {
            Kind::SupersetUser => put(&mut after.users, &desired.users, key, write),
            Kind::SupersetRole => put(&mut after.roles, &desired.roles, key, write),
            Kind::SupersetGroup => put(&mut after.groups, &desired.groups, key, write),
            Kind::RowLevelSecurityFilter => {
                put(&mut after.rls_filters, &desired.rls_filters, key, write)
            }
            Kind::ReportSchedule => put(&mut after.schedules, &desired.schedules, key, write),
            Kind::ReportConfiguration => {
                after.config = if write { desired.config.clone() } else { None };
            }
        }
    }
    after
}
