//! Names Superset or a reviewer would take for one another, in the declared set and against
//! what Superset already holds. Flask-AppBuilder looks usernames up case-insensitively
//! (`AUTH_USERNAME_CI`, on by default: `lower(username) = lower(:name)`, one row expected), so
//! `Ana.Alves` next to `ana.alves` locks both out; Superset matches e-mail recipients
//! lower-cased. Role, group, filter and schedule names are compared exactly by Superset and by
//! the databases' unique constraints, so a case-only difference there is a warning. Names equal
//! after Unicode normalisation (NFKC: NFC against NFD, full-width letters) look the same but are
//! stored as two: an error for every kind.

use std::borrow::Cow;
use std::collections::BTreeSet;

use crate::fast_hash::{FastMap, FastSet};

use unicode_normalization::UnicodeNormalization;

use super::{Existing, locate};
use crate::diagnostic::{Code, Diagnostic};
use crate::manifests::{LoadedSet, parse_path};
use crate::reason::Reason;
use crate::resources::{Kind, Resource};

/// The name as a reader sees it: NFKC (ASCII text is its own NFKC form).
fn normalised(name: &str) -> String {
    match name.is_ascii() {
        true => name.to_owned(),
        false => name.nfkc().collect(),
    }
}

/// The name as Flask-AppBuilder's case-insensitive lookup and a reader see it (borrowed when it
/// is already folded: lower-case ASCII, as most names are).
pub fn folded(name: &str) -> Cow<'_, str> {
    match name.is_ascii() {
        true if !name.bytes().any(|b| b.is_ascii_uppercase()) => Cow::Borrowed(name),
        true => Cow::Owned(name.to_ascii_lowercase()),
        false => Cow::Owned(normalised(&normalised(name).to_lowercase())),
    }
}

/// How two different spellings of one folded name differ.
fn difference(a: &str, b: &str) -> &'static str {
    if normalised(a) == normalised(b) {
        "are the same text in different Unicode forms (NFC/NFD or compatibility characters): they look identical but are stored as two"
    } else {
        "differ only in letter case"
    }
}

/// Why the difference matters for `kind`, and whether it is an error.
fn consequence(kind: Kind, a: &str, b: &str) -> (&'static str, bool) {
    let unicode = normalised(a) == normalised(b);
    match kind {
        Kind::SupersetUser if !unicode => (
            "Flask-AppBuilder looks usernames up case-insensitively, so neither account could log in",
            true,
        ),
        _ if unicode => ("a reviewer cannot tell them apart", true),
        _ => (
            "Superset keeps both, as names are compared exactly, but they are easy to confuse",
            false,
        ),
    }
}

fn diagnostic(error: bool, message: String) -> Diagnostic {
    match error {
        true => Diagnostic::error(Code::Duplicate, message),
        false => Diagnostic::warning(Code::Duplicate, message),
    }
}

/// The Superset identity of a declared object: its kind, its schedule type (schedules only) and
/// its name folded.
type FoldedKey<'a> = (Kind, Option<&'a str>, Cow<'a, str>);

/// The Superset identity of a declared object, folded, with its field; `None` for the
/// configuration singleton.
fn identity(resource: &Resource) -> Option<(FoldedKey<'_>, &'static str)> {
    let name = resource.superset_name();
    match resource {
        Resource::Config(_) => None,
        Resource::Schedule(s) => Some((
            (
                Kind::ReportSchedule,
                Some(s.spec.schedule_type.as_str()),
                folded(name),
            ),
            "spec.name",
        )),
        _ => Some((
            (resource.kind(), None, folded(name)),
            resource.kind().superset_name_field(),
        )),
    }
}

/// Reports declared names that fold to one another (exact repeats are `duplicates`' concern),
/// and declared users, roles and groups that fold to a different name Superset already holds.
pub(super) fn check(set: &LoadedSet, existing: &Existing, found: &mut Vec<Diagnostic>) {
    let held = Held::of(existing);
    let mut first: FastMap<FoldedKey<'_>, (usize, &str)> = FastMap::default();
    let mut manifests = FastSet::default();
    for (index, object) in set.objects.iter().enumerate() {
        let resource = &object.resource;
        if !manifests.insert(resource.id_ref()) {
            // The same manifest twice: `duplicates` reports it.
            continue;
        }
        let Some((key, field)) = identity(resource) else {
            continue;
        };
        let kind = key.0;
        let name = resource.superset_name();
        match first.get(&key) {
            Some(&(at, other)) if other != name => {
                let (why, error) = consequence(kind, name, other);
                let location = set
                    .location(at, &parse_path(field))
                    .map_or_else(|| "in the input".to_owned(), |l| format!("at {l}"));
                found.push(locate(
                    set,
                    index,
                    field,
                    diagnostic(
                        error,
                        format!(
                            "{kind} `{}` and `{}` {}: {why}",
                            name.escape_debug(),
                            other.escape_debug(),
                            difference(name, other)
                        ),
                    )
                    .hint(format!(
                        "`{}` is declared {location}; use one spelling",
                        other.escape_debug()
                    )),
                ));
            }
            Some(_) => {}
            None => {
                first.insert(key, (index, name));
            }
        }
        against_superset(set, &held, index, found);
    }
}

/// Names Superset holds (and this apply does not manage) of `kind`.
/// What Superset holds, by folded name: each name (and e-mail) is folded once, so checking the
/// declared objects against it is linear, not declared × held (an adoption of org-100k's
/// 50,000 users would otherwise fold 2.5 billion names). Each list keeps its set's order.
struct Held<'a> {
    names: FastMap<(Kind, Cow<'a, str>), Vec<&'a str>>,
    held: FastMap<Kind, &'a BTreeSet<String>>,
    /// `(holder, e-mail)` by folded e-mail.
    emails: FastMap<Cow<'a, str>, Vec<(&'a str, &'a str)>>,
}

impl<'a> Held<'a> {
    fn of(existing: &'a Existing) -> Held<'a> {
        let mut names: FastMap<(Kind, Cow<str>), Vec<&str>> = FastMap::default();
        let mut held = FastMap::default();
        for (kind, set) in [
            (Kind::SupersetUser, &existing.users),
            (Kind::SupersetRole, &existing.roles),
            (Kind::SupersetGroup, &existing.groups),
        ] {
            held.insert(kind, set);
            for name in set {
                names
                    .entry((kind, folded(name)))
                    .or_default()
                    .push(name.as_str());
            }
        }
        let mut emails: FastMap<Cow<str>, Vec<(&str, &str)>> = FastMap::default();
        for (holder, email) in &existing.user_emails {
            emails
                .entry(folded(email))
                .or_default()
                .push((holder.as_str(), email.as_str()));
        }
        Held {
            names,
            held,
            emails,
        }
    }
}

fn against_superset(set: &LoadedSet, held: &Held<'_>, index: usize, found: &mut Vec<Diagnostic>) {
    let resource = &set.objects[index].resource;
    let kind = resource.kind();
    let name = resource.superset_name();
    if let Some(names) = held.held.get(&kind) {
        let same = held.names.get(&(kind, folded(name)));
        let clash = same.and_then(|same| same.iter().find(|n| **n != name));
        if let Some(other) = clash.filter(|_| !names.contains(name)) {
            let (why, error) = consequence(kind, name, other);
            found.push(locate(
                set,
                index,
                kind.superset_name_field(),
                diagnostic(
                    error,
                    format!(
                        "{kind} `{}` and `{}`, which Superset already holds, {}: {why}",
                        name.escape_debug(),
                        other.escape_debug(),
                        difference(name, other)
                    ),
                )
                .hint(format!(
                    "declare it as `{}` (and adopt it), or rename one of them",
                    other.escape_debug()
                ))
                .because(Reason::Confusable {
                    existing: (*other).to_owned(),
                }),
            ));
        }
    }
    let Resource::User(user) = resource else {
        return;
    };
    let same = held.emails.get(&folded(&user.spec.email));
    let clash = same.and_then(|same| {
        same.iter()
            .find(|(holder, held)| *holder != name && *held != user.spec.email)
    });
    if let Some((holder, held)) = clash {
        found.push(locate(
            set,
            index,
            "spec.email",
            Diagnostic::error(
                Code::Duplicate,
                format!(
                    "e-mail `{}` is Superset's user `{}`'s `{}` but for letter case or Unicode form: Superset matches e-mails lower-cased, so recipients and logins by e-mail would be ambiguous",
                    user.spec.email.escape_debug(),
                    holder.escape_debug(),
                    held.escape_debug()
                ),
            )
            .hint("give this user its own e-mail address"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn folding_borrows_names_already_folded_and_folds_the_others() {
        assert!(matches!(folded("ana.alves@example.com"), Cow::Borrowed(_)));
        assert_eq!(folded("Ana.Alves"), "ana.alves");
        assert!(matches!(folded("Ana.Alves"), Cow::Owned(_)));
        // Full-width letters fold to their ASCII form, upper case to lower.
        assert_eq!(folded("Ｇａｍｍａ"), "gamma");
        assert_eq!(folded("gamma"), folded("GAMMA"));
    }

    #[test]
    fn held_names_are_grouped_by_folded_name_in_set_order() {
        let existing = Existing {
            users: names(&["bob", "ana.alves", "Ana.Alves"]),
            roles: names(&["Gamma", "gamma", "Ｇａｍｍａ"]),
            user_emails: [
                ("bob".to_owned(), "Ana@Example.com".to_owned()),
                ("ana.alves".to_owned(), "ana@example.com".to_owned()),
            ]
            .into(),
            ..Existing::default()
        };
        let held = Held::of(&existing);
        // The first of each group is what a linear scan of the set would have found first.
        assert_eq!(
            held.names[&(Kind::SupersetUser, Cow::Borrowed("ana.alves"))],
            ["Ana.Alves", "ana.alves"]
        );
        assert_eq!(
            held.names[&(Kind::SupersetUser, Cow::Borrowed("bob"))],
            ["bob"]
        );
        assert_eq!(
            held.names[&(Kind::SupersetRole, Cow::Borrowed("gamma"))],
            ["Gamma", "gamma", "Ｇａｍｍａ"]
        );
        assert!(
            !held
                .names
                .contains_key(&(Kind::SupersetGroup, Cow::Borrowed("gamma")))
        );
        assert_eq!(
            held.emails["ana@example.com"],
            [("ana.alves", "ana@example.com"), ("bob", "Ana@Example.com")]
        );
    }
}
