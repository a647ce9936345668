//! Why a pass stopped without an outcome: the database failed, or a reviewed plan file belongs
//! to another database. A blocked or stale plan is an outcome ([`super::Verdict`]), not an error.

use crate::plan::plan_file::PlanFileMismatch;
use crate::store::StoreError;

/// A pass that could not finish.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The database could not be reached, read or written (already explained: which lock,
    /// which table).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The reviewed plan file was made against another database; nothing was read or written.
    #[error("{0}")]
    OtherDatabase(PlanFileMismatch),
    /// Applying needs a database: a snapshot cannot be written to.
    #[error("a pass against a snapshot cannot apply; give a database")]
    ApplyToSnapshot,
}
