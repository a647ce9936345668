//! Plan files: `diff --out-plan FILE` records the reviewed changes, which database they were
//! computed against (an identity digest, no secrets), a fingerprint of what it held, the
//! manifest paths with a digest of their content, and the plan options; `apply --plan-file FILE`
//! (paths and options taken from the file) applies only to that database, when it still holds
//! exactly that, the manifests are unchanged and still produce exactly those changes, so what a
//! pull request's reviewers saw is what lands, where they saw it.

use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::user_deletion::without_detaches;
use super::{Change, Ledger, PlanOptions};
use crate::model::{Catalog, State};

/// Version of the plan-file format.
pub const PLAN_FILE_VERSION: u32 = 2;

/// A reviewed plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanFile {
    pub schema_version: u32,
    /// The steward version that wrote it.
    pub steward: String,
    /// The database it was computed against (password removed), for messages.
    pub database: String,
    /// The identity of that database (a digest; see `store::database_identity`).
    pub database_id: String,
    /// [`fingerprint`] of what the database held.
    pub fingerprint: String,
    /// The manifests it was computed from.
    pub manifests: Manifests,
    /// The plan options it was computed with.
    pub options: RecordedOptions,
    /// The changes, as `diff --output json` lists them.
    pub changes: serde_json::Value,
    /// The `--target` selectors the plan was narrowed to (none: the whole plan); `apply
    /// --plan-file` plans with exactly these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
}

/// The manifests a plan was computed from: the paths as given (relative to the directory
/// `diff` ran in) and a digest of every file's name and text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifests {
    pub paths: Vec<String>,
    pub digest: String,
}

impl Manifests {
    /// The paths and the digest of the `(name, text)` files read from them.
    pub fn of<'a>(
        paths: &[String],
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Manifests {
        Manifests {
            paths: paths.to_vec(),
            digest: manifest_digest(files),
        }
    }
}

/// A digest of manifest files (`sha256:` and 64 hex digits), their order included.
pub fn manifest_digest<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut hash = sha2::Sha256::new();
    for (name, text) in files {
        for part in [name, text] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part.as_bytes());
        }
    }
    format!("sha256:{}", crate::model::hex(&hash.finalize()))
}

/// The plan options a plan was computed with (`apply --plan-file` uses them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedOptions {
    pub manager: String,
    pub prune: bool,
    pub adopt: bool,
    pub allow_builtin_roles: bool,
    pub max_deletions: Option<usize>,
    pub allow_empty_kinds: bool,
}

impl RecordedOptions {
    /// The options to record.
    pub fn of(options: &PlanOptions) -> RecordedOptions {
        RecordedOptions {
            manager: options.manager.clone(),
            prune: options.prune,
            adopt: options.adopt,
            allow_builtin_roles: options.allow_builtin_roles,
            max_deletions: options.max_deletions,
            allow_empty_kinds: options.allow_empty_kinds,
        }
    }

    /// `options` with the recorded ones in place.
    pub fn apply_to(&self, options: PlanOptions) -> PlanOptions {
        PlanOptions {
            manager: self.manager.clone(),
            prune: self.prune,
            adopt: self.adopt,
            allow_builtin_roles: self.allow_builtin_roles,
            max_deletions: self.max_deletions,
            allow_empty_kinds: self.allow_empty_kinds,
            ..options
        }
    }
}

/// Why a plan file cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanFileMismatch {
    #[error("the plan file has format version {0}; this steward reads version {PLAN_FILE_VERSION}")]
    Version(u32),
    #[error(
        "the plan was made against another database ({reviewed}, identity {reviewed_id}); this one ({now}) has identity {now_id}: nothing was written"
    )]
    OtherDatabase {
        reviewed: String,
        reviewed_id: String,
        now: String,
        now_id: String,
    },
    #[error(
        "the manifests changed since the plan was made (digest {reviewed}, now {now}): nothing was written"
    )]
    ManifestsChanged { reviewed: String, now: String },
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
    pub fn new(
        database: Computed,
        manifests: Manifests,
        options: RecordedOptions,
        changes: &[Change],
    ) -> PlanFile {
        PlanFile {
            schema_version: PLAN_FILE_VERSION,
            steward: env!("CARGO_PKG_VERSION").to_owned(),
            database: database.shown,
            database_id: database.identity,
            fingerprint: database.fingerprint,
            manifests,
            options,
            changes: serde_json::to_value(changes).expect("changes serialise"),
            targets: Vec::new(),
        }
    }

    /// Reads a plan file's text; a file of another format version is refused as such.
    pub fn parse(text: &str) -> Result<PlanFile, String> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let version = value
            .get("schemaVersion")
            .and_then(serde_json::Value::as_u64);
        match version {
            Some(v) if v == u64::from(PLAN_FILE_VERSION) => {
                serde_json::from_value(value).map_err(|e| e.to_string())
            }
            Some(v) => Err(PlanFileMismatch::Version(v as u32).to_string()),
            None => Err("it has no `schemaVersion`".to_owned()),
        }
    }

    /// Whether the plan was made against this database (checked before anything else).
    pub fn same_database(&self, shown: &str, identity: &str) -> Result<(), PlanFileMismatch> {
        if self.database_id != identity {
            return Err(PlanFileMismatch::OtherDatabase {
                reviewed: self.database.clone(),
                reviewed_id: short(&self.database_id),
                now: shown.to_owned(),
                now_id: short(identity),
            });
        }
        Ok(())
    }

    /// Whether `changes`, planned from `manifests` against a database with `fingerprint`, are
    /// the reviewed ones.
    pub fn matches(
        &self,
        fingerprint: &str,
        manifests: &str,
        changes: &[Change],
    ) -> Result<(), PlanFileMismatch> {
        if self.manifests.digest != manifests {
            return Err(PlanFileMismatch::ManifestsChanged {
                reviewed: short(&self.manifests.digest),
                now: short(manifests),
            });
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

/// What a plan was computed against: the database as shown, its identity and fingerprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Computed {
    pub shown: String,
    pub identity: String,
    pub fingerprint: String,
}

/// A digest cut to its first 12 hex digits, for messages.
fn short(digest: &str) -> String {
    digest.chars().take("sha256:".len() + 12).collect()
}

/// `state` with webhook URLs as their digests, as a snapshot holds them, so that a plan made
/// against a snapshot and applied to its database sees the same fingerprint.
fn with_webhook_digests(state: &State) -> std::borrow::Cow<'_, State> {
    let raw = |r: &crate::model::Recipient| {
        r.recipient_type == "Webhook"
            && r.config
                .get("target")
                .is_some_and(|t| !t.starts_with("sha256:"))
    };
    if !state
        .schedules
        .values()
        .any(|s| s.recipients.iter().any(raw))
    {
        return std::borrow::Cow::Borrowed(state);
    }
    let mut state = state.clone();
    for schedule in state.schedules.values_mut() {
        schedule.recipients = std::mem::take(&mut schedule.recipients)
            .into_iter()
            .map(|mut recipient| {
                if raw(&recipient)
                    && let Some(target) = recipient.config.get_mut("target")
                {
                    *target = super::webhook_digest(target);
                }
                recipient
            })
            .collect();
    }
    std::borrow::Cow::Owned(state)
}

/// A digest of everything a plan depends on in the database: the managed objects, the content
/// and permission catalogue, and the ledger (`sha256:` and 64 hex digits).
pub fn fingerprint(state: &State, catalog: &Catalog, ledger: &Ledger) -> String {
    let mut hash = sha2::Sha256::new();
    let state = with_webhook_digests(state);
    hash.update(serde_json::to_vec(state.as_ref()).expect("the state serialises"));
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
    use crate::resources::Kind;

    fn file(fingerprint: &str, changes: &[Change]) -> PlanFile {
        PlanFile::new(
            Computed {
                shown: "sqlite://x.db".into(),
                identity: "sha256:aaaa".into(),
                fingerprint: fingerprint.into(),
            },
            Manifests::of(&["m/".into()], [("m/a.yaml", "kind: x")]),
            RecordedOptions::of(&PlanOptions::default()),
            changes,
        )
    }

    #[test]
    fn other_databases_manifests_and_versions_are_refused() {
        let file = file("sha256:f", &[]);
        let text = serde_json::to_string(&file).unwrap();
        let reread = PlanFile::parse(&text).unwrap();
        assert_eq!(reread.same_database("sqlite://x.db", "sha256:aaaa"), Ok(()));
        assert!(matches!(
            reread.same_database("postgres://u:***@h/db", "sha256:bbbb"),
            Err(PlanFileMismatch::OtherDatabase { .. })
        ));
        let digest = manifest_digest([("m/a.yaml", "kind: x")]);
        assert_eq!(reread.matches("sha256:f", &digest, &[]), Ok(()));
        let edited = manifest_digest([("m/a.yaml", "kind: y")]);
        assert!(matches!(
            reread.matches("sha256:f", &edited, &[]),
            Err(PlanFileMismatch::ManifestsChanged { .. })
        ));
        assert_ne!(
            manifest_digest([("ab", "c")]),
            manifest_digest([("a", "bc")])
        );
        let old = text.replace("\"schemaVersion\":2", "\"schemaVersion\":1");
        assert!(
            PlanFile::parse(&old)
                .unwrap_err()
                .contains("format version 1")
        );
    }

    #[test]
    fn stale_databases_and_other_plans_are_refused() {
        let mut state = State::default();
        let fp = |state: &State| fingerprint(state, &Catalog::default(), &Ledger::new());
        let before = fp(&state);
        let changes = vec![Change {
            key: ObjectKey::new(Kind::SupersetUser, "ana"),
            resource: None,
            action: Action::Update,
            fields: vec![FieldChange::Value {
                field: "last_name".into(),
                before: Some("A".into()),
                after: Some("B".into()),
                literal: false,
            }],
            renamed_from: None,
        }];
        let file = file(&before, &changes);
        let digest = file.manifests.digest.clone();
        let reread: PlanFile =
            serde_json::from_str(&serde_json::to_string(&file).unwrap()).unwrap();
        assert_eq!(reread.matches(&before, &digest, &changes), Ok(()));
        assert!(matches!(
            reread.matches(&before, &digest, &[]),
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
            reread.matches(&after, &digest, &changes),
            Err(PlanFileMismatch::DatabaseChanged { .. })
        ));
        let mut ledger = Ledger::new();
        ledger.insert(
            ObjectKey::new(Kind::SupersetUser, "ana"),
            LedgerEntry::new("cli", "x"),
        );
        assert_ne!(fingerprint(&state, &Catalog::default(), &ledger), after);
    }
}
