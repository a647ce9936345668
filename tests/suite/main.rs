//! The integration suite: one test binary (keeps link time and target/ small).

mod atomicity;
mod cli;
mod content_listing;
mod corpus;
mod crds;
mod demo_content;
mod diff_outputs;
mod duplicates;
mod engine;
mod escaping;
mod examples;
mod executor;
mod export_hardening;
mod export_promises;
mod export_roundtrip;
mod generator;
mod guest_tokens;
mod identity;
mod impact_e2e;
mod impact_promises;
mod kube_env;
mod loader;
mod loader_corpus;
mod manifest_cache;
mod min_gap;
mod operator;
mod operator_guest_tokens;
mod operator_jobs;
mod plan_trust;
mod policy_change;
mod readme_promises;
mod reconcile;
mod renames;
mod rls_jinja;
mod scheduler;
mod screenshots;
mod services;
mod sip_209;
mod store_edge;
mod superset_api;
mod superset_e2e;
mod superset_matrix;
mod superset_rows;
mod superset_schema;
mod superset_versions;
mod targeting;
mod user_deletion;

use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `repo()/rel` as a string path.
pub fn repo_path(rel: &str) -> String {
    repo().join(rel).display().to_string()
}

/// Every `*.yaml` file directly in `dir`, sorted.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}
