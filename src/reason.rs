//! Reasons: why a plan is refused, or what the user can do about a finding, as stable codes with
//! structured data. The core (policy, plan) emits them with a hint in plain words; each front end
//! words them in its own terms: the CLI with its flags and commands (`crate::cli::reasons`), a
//! custom resource's status condition with the resource's fields.

use serde::Serialize;

use crate::resources::Kind;

/// Why, as a code (`code` in JSON, kebab-case) and its data (camelCase fields).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "code", rename_all = "kebab-case")]
pub enum Reason {
    /// An object Superset holds that this manager does not manage: adopting it takes it over.
    Unmanaged,
    /// An object another manager manages: each manager changes and prunes only its own
    /// objects; that manager may change it, or this one may adopt it.
    OtherManager {
        /// The manager that wrote it.
        manager: String,
        /// This pass's manager.
        ours: String,
    },
    /// Manifests that declare none of the objects their manager manages, yet would delete them:
    /// most likely a second manifest set run under the same manager.
    SecondManifestSet {
        /// The manager.
        manager: String,
    },
    /// A change to one of Superset's built-in roles, which needs them allowed.
    BuiltinRole,
    /// No object of `kind` is declared while the manager manages `managed` of them: all would
    /// be deleted unless empty kinds are allowed.
    EmptyKind {
        /// The kind.
        kind: Kind,
        /// How many managed objects of the kind would be deleted.
        managed: usize,
    },
    /// Empty kinds are allowed: every managed object of a kind no manifest declares is deleted.
    EmptyKindsAllowed,
    /// The plan deletes more objects than the deletion cap.
    #[serde(rename_all = "camelCase")]
    TooManyDeletions {
        /// Deletions in the plan.
        deletions: usize,
        /// The cap.
        max: usize,
    },
    /// Superset content (`database` or `dataset`) that does not exist; the demo content has some.
    MissingContent {
        /// `database` or `dataset`.
        content: String,
    },
    /// A user's e-mail belongs to another user Superset holds, which may need adopting.
    EmailHeld {
        /// The declared user.
        username: String,
        /// The user holding the e-mail.
        holder: String,
    },
    /// An object the manager manages that no manifest declares any more (another team's
    /// manifests may declare it, under a manager of their own).
    NoLongerDeclared {
        /// The kind.
        kind: Kind,
    },
    /// A declared name that Superset holds spelled differently: declaring it as spelled there
    /// (and adopting it) is one way out.
    Confusable {
        /// The name as Superset holds it.
        existing: String,
    },
    /// A schedule Superset holds that no manifest declares (exporting writes its manifest).
    UndeclaredSchedule {
        /// What to change to end the breach.
        fix: String,
        /// Whether it blocks the apply (it does when the apply introduces the breach).
        blocking: bool,
    },
    /// A target selector that matches no object.
    UnmatchedTarget {
        /// The selector as given.
        selector: String,
    },
}

impl Reason {
    /// What the reason is about when no resource or object is: the kind or the selector.
    pub fn subject(&self) -> Option<String> {
        match self {
            Reason::EmptyKind { kind, .. } => Some(kind.to_string()),
            Reason::UnmatchedTarget { selector } => Some(selector.clone()),
            _ => None,
        }
    }

    /// The code as written in output.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Unmanaged => "unmanaged",
            Reason::OtherManager { .. } => "other-manager",
            Reason::SecondManifestSet { .. } => "second-manifest-set",
            Reason::BuiltinRole => "builtin-role",
            Reason::EmptyKind { .. } => "empty-kind",
            Reason::EmptyKindsAllowed => "empty-kinds-allowed",
            Reason::TooManyDeletions { .. } => "too-many-deletions",
            Reason::MissingContent { .. } => "missing-content",
            Reason::EmailHeld { .. } => "email-held",
            Reason::NoLongerDeclared { .. } => "no-longer-declared",
            Reason::Confusable { .. } => "confusable",
            Reason::UndeclaredSchedule { .. } => "undeclared-schedule",
            Reason::UnmatchedTarget { .. } => "unmatched-target",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_serialise_as_a_code_with_their_data() {
        let cap = Reason::TooManyDeletions {
            deletions: 3,
            max: 1,
        };
        assert_eq!(
            serde_json::to_value(&cap).unwrap(),
            serde_json::json!({"code": "too-many-deletions", "deletions": 3, "max": 1})
        );
        let empty = Reason::EmptyKind {
            kind: Kind::SupersetUser,
            managed: 2,
        };
        assert_eq!(
            serde_json::to_value(&empty).unwrap(),
            serde_json::json!({"code": "empty-kind", "kind": "SupersetUser", "managed": 2})
        );
        for reason in [cap, empty, Reason::Unmanaged] {
            assert_eq!(
                serde_json::to_value(&reason).unwrap()["code"],
                reason.code()
            );
        }
    }
}
