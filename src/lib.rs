//! steward: declare Apache Superset's access and reporting configuration (roles, groups, users,
//! row-level security, alerts and reports, the global Alerts & Reports policy) as Kubernetes-style
//! resources, validate them, and reconcile them into Superset's metadata database.
//!
//! The core (`spec` types, `model`, `policy`, `plan`, `impact`, `report`, `generate`) does no IO beyond reading
//! manifests; adapters (`store` for the database, `cli`) live at the edges and `main` stays thin.

pub mod cli;
pub mod diagnostic;
pub mod escape;
pub mod excerpt;
pub mod export;
pub mod generate;
pub mod impact;
pub mod model;
pub mod plan;
pub mod policy;
pub mod reconcile;
pub mod report;
pub mod safe_write;
pub mod schedule;
pub mod spec;
pub mod store;
pub mod superset_config;
pub mod validation;
