//! steward: declare Apache Superset's access and reporting configuration (roles, groups, users,
//! row-level security, alerts and reports, the global Alerts & Reports policy) as Kubernetes-style
//! resources, validate them, and reconcile them into Superset's metadata database.
//!
//! The core (`resources`, `model`, `policy`, `plan`, `impact`, `render`, `export`, `schedule`) does no
//! IO; adapters live at the edges: `manifests` reads files, standard input and git revisions (with
//! the manifest cache), `store` the metadata database, `cli` the command line; `main` stays thin.

pub mod allocator;
pub mod cli;
pub mod diagnostic;
pub mod engine;
pub mod escape;
pub mod excerpt;
pub mod execute;
pub mod export;
pub mod fast_hash;
pub mod generate;
pub mod impact;
pub mod manifests;
pub mod model;
pub mod operator;
pub mod plan;
pub mod policy;
pub mod reason;
pub mod render;
pub mod resources;
pub mod safe_write;
pub mod schedule;
pub mod secret;
pub mod store;
pub mod superset;
pub mod superset_config;
pub mod token;
pub mod validation;
