//! The CLI's wording of reason codes ([`Reason`]): the flags and commands a user of `steward`
//! types to get past a refusal or to act on a finding. The core words its hints without them;
//! every CLI output (text, Markdown, JSON) shows diagnostics through [`worded`].

use std::borrow::Cow;

use crate::diagnostic::Diagnostic;
use crate::reason::Reason;

/// `d` with its message and hint in the CLI's words, when its reason has some.
pub fn worded(d: &Diagnostic) -> Cow<'_, Diagnostic> {
    let Some(reason) = &d.reason else {
        return Cow::Borrowed(d);
    };
    let mut out = d.clone();
    if let Some(message) = message(reason) {
        out.message = message;
    }
    if let Some(hint) = hint(reason) {
        out.hint = Some(hint);
    }
    Cow::Owned(out)
}

/// The message in CLI words, for reasons whose message names a flag.
fn message(reason: &Reason) -> Option<String> {
    match reason {
        Reason::TooManyDeletions { deletions, max } => Some(format!(
            "the plan deletes {deletions} objects, more than --max-deletions {max}"
        )),
        Reason::UnmatchedTarget { selector } => Some(format!(
            "--target `{selector}` matches no object declared in the manifests or present in Superset"
        )),
        _ => None,
    }
}

/// The hint in CLI words, for reasons whose way out is a flag or a command.
pub fn hint(reason: &Reason) -> Option<String> {
    Some(match reason {
        Reason::Unmanaged => {
            "pass --adopt to take it over (its current settings are replaced by the declared ones)"
                .into()
        }
        Reason::OtherManager { manager, ours } => format!(
            "each manager changes and prunes only its own objects: change it where `{manager}` applies (--manager {manager}), or pass --adopt to take it over for `{ours}`"
        ),
        Reason::SecondManifestSet { manager } => format!(
            "another manifest set on this Superset needs its own --manager (name it once per Superset instance); to replace every object of `{manager}`, first apply a directory with no manifests (--allow-empty-kinds)"
        ),
        Reason::BuiltinRole => "declare a role of your own that includes it, or pass --allow-builtin-roles (`superset init` resets built-in roles anyway)".into(),
        Reason::EmptyKind { .. } => {
            "if that is intended, pass --allow-empty-kinds; otherwise check the paths you gave".into()
        }
        Reason::EmptyKindsAllowed => {
            "--allow-empty-kinds: every object steward manages is deleted".into()
        }
        Reason::TooManyDeletions { .. } => {
            "raise --max-deletions if these deletions are intended".into()
        }
        Reason::MissingContent { content } => format!(
            "create the {content} in Superset first (or seed the demo content with `steward init --demo`)"
        ),
        Reason::EmailHeld { username, holder } => format!(
            "give `{username}` another e-mail, or declare `{holder}` (with --adopt if steward does not manage it) and change its e-mail"
        ),
        Reason::NoLongerDeclared { kind } => format!(
            "declare the {kind} again; if other manifests declare it (another team's), run each set with its own --manager"
        ),
        Reason::Confusable { existing } => format!(
            "declare it as `{}` (and adopt it with `--adopt`), or rename one of them",
            existing.escape_debug()
        ),
        Reason::UndeclaredSchedule {
            fix,
            blocking: true,
        } => format!(
            "{fix}; the schedule is not declared, so change it in Superset, or declare it \
             (`steward export` writes its manifest)"
        ),
        Reason::UndeclaredSchedule {
            fix,
            blocking: false,
        } => format!(
            "the schedule broke the configuration before this apply, which neither declares \
             nor changes it, so it does not block; to end the breach: {fix} (the schedule is \
             changed in Superset, or declared: `steward export` writes its manifest)"
        ),
        Reason::UnmatchedTarget { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Code;
    use crate::resources::Kind;

    fn shown(d: &Diagnostic) -> (String, Option<String>) {
        let d = worded(d);
        (d.message.clone(), d.hint.clone())
    }

    #[test]
    fn flags_are_worded_by_the_cli_not_the_core() {
        let core = Diagnostic::error(Code::Conflict, "SupersetUser \"u\" already exists")
            .hint("adopt it to take it over")
            .because(Reason::Unmanaged);
        assert_eq!(
            shown(&core),
            (
                "SupersetUser \"u\" already exists".into(),
                Some("pass --adopt to take it over (its current settings are replaced by the declared ones)".into())
            )
        );
        let cap = Diagnostic::error(
            Code::PruneGuard,
            "the plan deletes 3 objects, more than the 1 allowed",
        )
        .because(Reason::TooManyDeletions {
            deletions: 3,
            max: 1,
        });
        assert_eq!(
            shown(&cap),
            (
                "the plan deletes 3 objects, more than --max-deletions 1".into(),
                Some("raise --max-deletions if these deletions are intended".into())
            )
        );
        let empty = Diagnostic::error(Code::PruneGuard, "no SupersetUser is declared").because(
            Reason::EmptyKind {
                kind: Kind::SupersetUser,
                managed: 2,
            },
        );
        assert_eq!(
            shown(&empty).1.as_deref(),
            Some(
                "if that is intended, pass --allow-empty-kinds; otherwise check the paths you gave"
            )
        );
        let dataset = Reason::MissingContent {
            content: "dataset".into(),
        };
        assert_eq!(
            hint(&dataset).as_deref(),
            Some(
                "create the dataset in Superset first (or seed the demo content with `steward init --demo`)"
            )
        );
    }

    #[test]
    fn findings_without_a_reason_or_a_flag_keep_the_core_words() {
        let plain = Diagnostic::error(Code::UnknownContent, "chart `x` does not exist")
            .hint("did you mean `y`?");
        assert!(matches!(worded(&plain), Cow::Borrowed(_)));
        let target = Diagnostic::error(Code::TargetUnmatched, "target `ssrole/B` matches nothing")
            .hint("there are 2 such as ssrole/A")
            .because(Reason::UnmatchedTarget {
                selector: "ssrole/B".into(),
            });
        assert_eq!(
            shown(&target),
            (
                "--target `ssrole/B` matches no object declared in the manifests or present in Superset".into(),
                Some("there are 2 such as ssrole/A".into())
            )
        );
    }

    #[test]
    fn every_reason_has_cli_words() {
        let all = [
            Reason::Unmanaged,
            Reason::OtherManager {
                manager: "team-a".into(),
                ours: "team-b".into(),
            },
            Reason::SecondManifestSet {
                manager: "cli".into(),
            },
            Reason::BuiltinRole,
            Reason::EmptyKind {
                kind: Kind::SupersetRole,
                managed: 1,
            },
            Reason::EmptyKindsAllowed,
            Reason::TooManyDeletions {
                deletions: 2,
                max: 1,
            },
            Reason::MissingContent {
                content: "database".into(),
            },
            Reason::EmailHeld {
                username: "ana".into(),
                holder: "bo".into(),
            },
            Reason::NoLongerDeclared {
                kind: Kind::SupersetRole,
            },
            Reason::Confusable {
                existing: "Finance".into(),
            },
            Reason::UndeclaredSchedule {
                fix: "remove the recipient".into(),
                blocking: true,
            },
        ];
        for reason in all {
            let words = hint(&reason).unwrap_or_default();
            assert!(
                words.contains("--") || words.contains("`steward "),
                "{}: {words}",
                reason.code()
            );
        }
    }
}
