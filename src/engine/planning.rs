//! Planning, shared by every pass: the declared set and the observed state → validated,
//! resolved desired state → plan, with the policy breaches and refusals that block it. Pure: the
//! caller (the pass in `engine::pass`) reads the database and owns the transaction.

use std::collections::BTreeMap;

use crate::diagnostic;
use crate::impact::AccessImpact;
use crate::manifests::LoadedSet;
use crate::model::{Entries, State, StateView};
use crate::plan::desired::{existing_names, resolve};
use crate::plan::plan_file::fingerprint;
use crate::plan::release_fit;
use crate::plan::target::narrow;
use crate::plan::unique::email_conflicts;
use crate::plan::user_deletion::show_detached;
use crate::plan::{
    Action, Plan, PlanOptions, absorb_superset_rewrites, managers, plan, renames,
    restore_webhook_urls,
};
use crate::policy::check_declared_against;
use crate::policy::report_rules;
use crate::resources::Kind;
use crate::store::Observed;

/// Everything a pass produced.
#[derive(Debug)]
pub struct Planned {
    /// The manifests, with every diagnostic (load, declared-set, resolution against the DB).
    pub set: LoadedSet,
    /// What the database holds.
    pub observed: Observed,
    /// What the manifests declare, resolved.
    pub desired: State,
    /// The changes (empty when the manifests have errors; kept when the policy or a guardrail
    /// blocks them, so a refused plan still shows what it would do).
    pub plan: Plan,
    /// Breaches of the Alerts & Reports configuration this apply would introduce (each is also
    /// an error in `set`; breaches already in Superset on schedules the apply does not touch
    /// are warnings there, not listed here).
    pub policy: Vec<report_rules::Violation>,
    /// [`fingerprint`] of what the database held, when [`PlanOptions::fingerprint`] asks for
    /// it (plan files).
    pub fingerprint: Option<String>,
    /// Who gains or loses access (when [`PlanOptions::impact`] asks and the manifests have no
    /// errors).
    pub impact: Option<AccessImpact>,
}

impl Planned {
    /// Whether the manifests have errors, the plan has refusals or breaks the policy: such a
    /// plan is never applied.
    pub fn is_blocked(&self) -> bool {
        is_blocked(&self.set.diagnostics, &self.plan.refusals, &self.policy)
    }
}

/// THE rule of what blocks a plan, for every caller (the pass, the renderers): an error in the
/// input, a refusal, or a breach of the Alerts & Reports policy.
pub fn is_blocked(
    diagnostics: &[diagnostic::Diagnostic],
    refusals: &[diagnostic::Diagnostic],
    policy: &[report_rules::Violation],
) -> bool {
    !policy.is_empty() || !refusals.is_empty() || diagnostics.iter().any(|d| d.is_error())
}

/// Plans `set` against an observed state already read.
pub fn plan_against(mut set: LoadedSet, mut observed: Observed, options: &PlanOptions) -> Planned {
    if options.allow_empty_kinds {
        set.allow_no_manifests();
    }
    let fingerprint = options
        .fingerprint
        .then(|| fingerprint(&observed.state, &observed.catalog, &observed.ledger));
    let existing = existing_names(
        &observed.state,
        &observed.catalog,
        &observed.ledger,
        &options.manager,
    );
    let mut desired = {
        let _validate = tracing::info_span!("validate").entered();
        // The declared-set checks and the resolution only read the set: they run side by side,
        // on two cores, and their diagnostics are merged and sorted after.
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        let (checked, (desired, found)) = std::thread::scope(|scope| {
            let check = scope.spawn(|| {
                tracing::dispatcher::with_default(&dispatch, || {
                    tracing::info_span!("check")
                        .in_scope(|| check_declared_against(&set, &existing))
                })
            });
            let resolved = tracing::info_span!("resolve")
                .in_scope(|| resolve(&set, &observed.catalog, &observed.state));
            let checked = check.join().expect("the declared-set checks do not panic");
            (checked, resolved)
        });
        set.diagnostics.extend(checked);
        set.diagnostics.extend(found);
        if let Some(release) = &observed.release {
            set.diagnostics.extend(release_fit::check(&set, release));
        }
        diagnostic::sort(&mut set.diagnostics);
        desired
    };
    absorb_superset_rewrites(&desired, &mut observed.state, &observed.ledger);
    restore_webhook_urls(&desired, &mut observed.state);
    let renames = renames::find(
        &desired.declared_by,
        &observed.state,
        &observed.ledger,
        options,
    );
    observed.rename(&renames.moves);
    let mut plan = if set.has_errors() {
        Plan::default()
    } else {
        let _diff = tracing::info_span!("diff").entered();
        let mut plan = plan(&desired, &observed.state, &observed.ledger, options);
        renames::mark(&mut plan, &renames);
        plan
    };
    if !options.targets.is_empty() && !set.has_errors() {
        let (state, ledger, max) = (&observed.state, &observed.ledger, options.max_deletions);
        match narrow(plan, &options.targets, &desired, state, ledger, max) {
            Ok(narrowed) => plan = narrowed,
            Err(unmatched) => {
                set.diagnostics.extend(unmatched);
                plan = Plan::default();
            }
        }
    }
    // The declaring resources move from the desired state (which planned with them) to the
    // plan, which the ledger writes them from.
    plan.declared = std::mem::take(&mut desired.declared_by);
    plan.source = managers::manifest_source(&set);
    managers::check_sources(&mut plan, &observed.ledger, options);
    show_detached(&mut plan, &observed.user_references);
    let mut policy = Vec::new();
    let mut impact = None;
    if !set.has_errors() {
        let after =
            tracing::info_span!("after").in_scope(|| state_after(&desired, &observed.state, &plan));
        let conflicts = email_conflicts(&set, &desired, &observed.state, &after, &plan);
        plan.refusals.extend(conflicts);
        if options.impact {
            let _impact = tracing::info_span!("impact").entered();
            impact = Some(match plan.is_empty() {
                true => AccessImpact::default(),
                false => AccessImpact::between(&observed.state.view(), &after, &observed.catalog),
            });
        }
        let _policy = tracing::info_span!("policy").entered();
        let declared = desired.schedules.keys().cloned().collect();
        let now = chrono::Utc::now();
        let breaches = report_rules::check(&after, &declared, report_rules::Scope::AfterApply, now);
        // Breaches of schedules the manifests do not declare block only when the apply
        // introduces them: compare with Superset's schedules under Superset's configuration.
        let before = match breaches.iter().any(|v| !declared.contains(&v.schedule)) {
            true if !plan.is_empty() => report_rules::check(
                &observed.state.view(),
                &declared,
                report_rules::Scope::AfterApply,
                now,
            ),
            true => breaches.clone(),
            false => Vec::new(),
        };
        let (blocking, pre_existing) = report_rules::introduced(breaches, &before, &declared);
        set.diagnostics
            .extend(report_rules::diagnostics(&set, &blocking));
        set.diagnostics
            .extend(report_rules::warnings(&pre_existing));
        diagnostic::sort(&mut set.diagnostics);
        policy = blocking;
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

/// What Superset will hold after `plan`: the observed state with the objects the plan writes
/// (as desired) and deletes, borrowed from both states rather than copied.
fn state_after<'a>(desired: &'a State, observed: &'a State, plan: &Plan) -> StateView<'a> {
    /// The object the plan writes at `key`, or its removal; keys borrowed from the states.
    fn put<'a, T>(
        to: &mut Entries<'a, T>,
        desired: &'a BTreeMap<String, T>,
        observed: &'a BTreeMap<String, T>,
        key: &str,
        write: bool,
    ) {
        match desired.get_key_value(key).filter(|_| write) {
            Some((key, value)) => to.set(key, Some(value)),
            None => {
                if let Some((key, _)) = observed.get_key_value(key) {
                    to.set(key, None);
                }
            }
        }
    }
    let mut after = observed.view();
    for change in &plan.changes {
        let key = change.key.key.as_str();
        let write = matches!(
            change.action,
            Action::Create | Action::Update | Action::Adopt
        );
        let (d, o) = (desired, observed);
        match change.key.kind {
            Kind::SupersetUser => put(&mut after.users, &d.users, &o.users, key, write),
            Kind::SupersetRole => put(&mut after.roles, &d.roles, &o.roles, key, write),
            Kind::SupersetGroup => put(&mut after.groups, &d.groups, &o.groups, key, write),
            Kind::RowLevelSecurityFilter => put(
                &mut after.rls_filters,
                &d.rls_filters,
                &o.rls_filters,
                key,
                write,
            ),
            Kind::ReportSchedule => {
                put(&mut after.schedules, &d.schedules, &o.schedules, key, write)
            }
            Kind::ReportConfiguration => {
                after.config = desired.config.as_ref().filter(|_| write);
            }
            // Steward's own policies: nothing Superset's rules read.
            Kind::GuestTokenPolicy => {}
        }
    }
    after
}
