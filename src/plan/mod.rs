//! The plan: desired state (resolved from manifests) against observed state (read from the
//! database) and the ownership ledger → ordered, field-level changes, with the guardrails that
//! stop a plan (conflicts, built-in roles, deletion caps). Pure code: no IO.

mod changes;
mod content_index;
pub mod desired;
pub mod managers;
pub mod plan_file;
pub mod release_fit;
pub mod renames;
mod rewrites;
pub mod spec_diff;
pub mod target;
pub mod unique;
pub mod user_deletion;

pub use changes::{Action, Change, FieldChange, Ledger, LedgerEntry, Plan, PlanOptions, plan};
pub use rewrites::{absorb_superset_rewrites, restore_webhook_urls, webhook_digest};
