//! The reconcile engine: the one pass the CLI, the benchmarks and (next) the operator and the
//! scheduler call. Declared resources (from files, git, a snapshot, the Kubernetes API or code)
//! and options in; validate → (lock) → ensure Superset + migrate → observe → plan → blocker
//! check → (apply + commit); a typed [`Outcome`] out. A blocked plan is never applied, whoever
//! calls. Progress goes out as `tracing` spans, one per phase (load, validate, lock, observe,
//! plan, apply, commit).

mod error;
mod input;
mod outcome;
mod pass;
pub mod phases;
pub mod planning;
mod written;

pub use error::EngineError;
pub use input::{Declared, Mode, Observe, PassInput, PassOptions};
pub use outcome::{Applied, Outcome, Verdict};
pub use pass::run;
pub use planning::{Planned, is_blocked, plan_against};
pub use written::Written;
