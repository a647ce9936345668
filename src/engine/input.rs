//! What a pass is given: the declared resources (typed, with an optional source map for
//! positions), where the observed state comes from, and the options.

use crate::manifests::{LoadedSet, ManifestCache};
use crate::plan::PlanOptions;
use crate::plan::plan_file::PlanFile;
use crate::resources::Resource;
use crate::store::{Observed, Store};

/// The declared resources.
pub enum Declared {
    /// Typed resources built in code or received from an API; they have no positions, so
    /// diagnostics name the resource and field.
    Resources(Vec<Resource>),
    /// Resources already loaded, with the source map their diagnostics point into.
    Loaded(LoadedSet),
    /// Manifest files and directories (`-` is standard input), loaded on a blocking thread
    /// while the database is read; `cache` is the manifest cache to use, if any.
    Paths {
        paths: Vec<String>,
        cache: ManifestCache,
    },
}

/// Where the observed state comes from.
pub enum Observe<'a> {
    /// The database behind `store` (connected with its lock timeout).
    Database(&'a Store),
    /// A state read before (a snapshot file): a dry run only.
    Snapshot(Box<Observed>),
}

/// Plan only, or plan and write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Plan in a read transaction; nothing is locked or written.
    DryRun,
    /// Plan under the write lock and, unless the plan is blocked, write it and commit.
    Apply,
}

/// How the pass plans and what it may do.
#[derive(Clone, Debug)]
pub struct PassOptions {
    /// Manager, prune, adopt, max deletions, targets, built-in roles, empty kinds, impact,
    /// fingerprint.
    pub plan: PlanOptions,
    /// Dry run or apply.
    pub mode: Mode,
    /// A reviewed plan file: the pass applies only if the database is the one it was made
    /// against and the manifests, the database's fingerprint and the changes are unchanged.
    pub expected: Option<PlanFile>,
}

/// Everything a pass is given.
pub struct PassInput<'a> {
    pub declared: Declared,
    pub observe: Observe<'a>,
    pub options: PassOptions,
}
