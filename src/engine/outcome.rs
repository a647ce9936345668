//! What a pass returns: the plan with everything that blocks it (refusals, policy breaches,
//! diagnostics), and what happened to it (planned only, blocked, stale, applied with the
//! Superset id of every object written).

use super::planning::Planned;
use super::written::Written;
use crate::plan::plan_file::PlanFileMismatch;

/// The outcome of a pass.
#[derive(Debug)]
pub struct Outcome {
    /// The plan, its refusals, policy breaches and diagnostics (warnings and errors), the
    /// desired and observed states it was made from.
    pub planned: Planned,
    /// The database's identity (plan files are bound to it); none against a snapshot.
    pub identity: Option<String>,
    /// What the pass did with the plan.
    pub verdict: Verdict,
}

impl Outcome {
    /// Whether the plan is blocked (errors, refusals or policy breaches): never applied.
    pub fn is_blocked(&self) -> bool {
        self.planned.is_blocked()
    }
}

/// What a pass did with its plan.
#[derive(Debug)]
pub enum Verdict {
    /// A dry run: planned, nothing written.
    Planned,
    /// The plan is blocked: nothing written, whatever the caller asked.
    Blocked,
    /// The reviewed plan file no longer matches (manifests, database or changes): nothing
    /// written.
    Stale(PlanFileMismatch),
    /// Applied and committed (with nothing to change, only steward's own migrations, if any).
    Applied(Applied),
}

/// What an apply wrote.
#[derive(Debug, Default)]
pub struct Applied {
    /// One entry per change, in plan order.
    pub objects: Vec<Written>,
    /// Link rows (permissions, memberships, recipients, owners) inserted or deleted.
    pub links: usize,
}
