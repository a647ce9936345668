//! Plan files: `diff --out-plan FILE` records the reviewed changes and a fingerprint of what the
//! database held when they were computed; `apply --plan-file FILE` applies only when the database
//! still holds exactly that and the manifests still produce exactly those changes, so what a pull
//! request's reviewers saw is what lands.

use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::user_deletion::without_detaches;
use super::{Change, Ledger};
use crate::model::{Catalog, State};

/// Version of the plan-file format.
pub const PLAN_FILE_VERSION: u32 = 1;

/// A reviewed plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanFile {
    pub schema_version: u32,
    /// The steward version that wrote it.
    pub steward: String,
    /// The database it was computed against (password removed).
    pub database: String,
    /// [`fingerprint`] of what the database held.
    pub fingerprint: String,
    /// The changes, as `diff --output json` lists them.
    pub changes: serde_json::Value,
}

/// Why a plan file cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanFileMismatch {
    #[error("the plan file has format version {0}; this steward reads version {PLAN_FILE_VERSION}")]
    Version(u32),
    #[error(
        "the database changed since the plan was made (fingerprint {reviewed}, now {now}): nothing was written"
    )]
    DatabaseChanged { reviewed: String, now: String },
    #[error(
        "the manifests no longer produce the reviewed plan ({reviewed} reviewed changes, {now} now): nothing was written"
    )]
    PlanChanged { reviewed: usize, now: usize },
}

impl PlanFile {
    pub fn new(database: String, fingerprint: String, changes: &[Change]) -> PlanFile {
        PlanFile {
            schema_version: PLAN_FILE_VERSION,
            steward: env!("CARGO_PKG_VERSION").to_owned(),
            database,
            fingerprint,
            changes: serde_json::to_value(changes).expect("changes serialise"),
        }
    }

    /// Whether `changes`, planned against a database with `fingerprint`, are the reviewed ones.
    pub fn matches(&self, fingerprint: &str, changes: &[Change]) -> Result<(), PlanFileMismatch> {
        if self.schema_version != PLAN_FILE_VERSION {
            return Err(PlanFileMismatch::Version(self.schema_version));
        }
        if self.fingerprint != fingerprint {
            return Err(PlanFileMismatch::DatabaseChanged {
                reviewed: self.fingerprint.clone(),
                now: fingerprint.to_owned(),
            });
        }
        let now = serde_json::to_value(changes).expect("changes serialise");
        if without_detaches(self.changes.clone()) != without_detaches(now) {
            return Err(PlanFileMismatch::PlanChanged {
                reviewed: self.changes.as_array().map_or(0, Vec::len),
                now: changes.len(),
            });
        }
        Ok(())
    }
}

/// A digest of everything a plan depends on in the database: the managed objects, the content
/// and permission catalogue, and the ledger (`sha256:` and 64 hex digits).
pub fn fingerprint(state: &State, catalog: &Catalog, ledger: &Ledger) -> String {
    let mut hash = sha2::Sha256::new();
    hash.update(serde_json::to_vec(state).expect("the state serialises"));
    hash.update(serde_json::to_vec(catalog).expect("the catalog serialises"));
    for (key, entry) in ledger {
        hash.update(format!(
            "{key}\t{}\t{}\n",
            entry.manager, entry.content_hash
        ));
    }
    format!("sha256:{}", crate::model::hex(&hash.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ObjectKey, User};
    use crate::plan::{Action, FieldChange, LedgerEntry};
    use crate::spec::Kind;

    #[test]
    fn stale_databases_and_other_plans_are_refused() {
        let mut state = State::default();
        let fp = |state: &State| fingerprint(state, &Catalog::default(), &Ledger::new());
        let before = fp(&state);
        let changes = vec![Change {
            key: ObjectKey::new(Kind::SupersetUser, "ana"),
            action: Action::Update,
            fields: vec![FieldChange::Value {
                field: "last_name".into(),
                before: Some("A".into()),
                after: Some("B".into()),
            }],
        }];
        let file = PlanFile::new("sqlite://x.db".into(), before.clone(), &changes);
        let reread: PlanFile =
            serde_json::from_str(&serde_json::to_string(&file).unwrap()).unwrap();
        assert_eq!(reread.matches(&before, &changes), Ok(()));
        assert!(matches!(
            reread.matches(&before, &[]),
            Err(PlanFileMismatch::PlanChanged {
                reviewed: 1,
                now: 0
            })
        ));
        state.users.insert(
            "ana".into(),
            User {
                username: "ana".into(),
                first_name: "Ana".into(),
                last_name: "A".into(),
                email: "ana@x.io".into(),
                active: true,
                roles: Default::default(),
            },
        );
        let after = fp(&state);
        assert_ne!(before, after);
        assert!(matches!(
            reread.matches(&after, &changes),
            Err(PlanFileMismatch::DatabaseChanged { .. })
        ));
        let mut ledger = Ledger::new();
        ledger.insert(
            ObjectKey::new(Kind::SupersetUser, "ana"),
            LedgerEntry {
                manager: "cli".into(),
                content_hash: "x".into(),
            },
        );
        assert_ne!(fingerprint(&state, &Catalog::default(), &ledger), after);
    }
}
