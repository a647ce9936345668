//! Targeting (`diff`/`apply --target SELECTOR`): narrows a full plan to the objects a kind/name
//! selector matches, plus the creates and updates of what they depend on, so a partial rollout
//! applies cleanly and nothing outside the selection is ever pruned. Pure code: no IO.
//!
//! A selector is `Kind`, `Kind/Name` or `Kind/GLOB`. Kinds are the kind names or their short
//! names (`ssrole`, `rsched`, or the plural `roles` of `--kinds`), case-insensitively; names are
//! Superset names, byte-exact unless they hold a glob character (`*`, `?`, `[`, `{`). Schedules
//! match by their name (or by `Type:name`), the configuration by its kind alone.

use std::collections::BTreeSet;
use std::str::FromStr;

use globset::{Glob, GlobMatcher};
use serde::Serialize;

use super::changes::deletion_cap;
use super::{Action, Ledger, Plan};
use crate::diagnostic::{Code, Diagnostic, closest};
use crate::model::{ObjectKey, Schedule, State};
use crate::policy::domains::split_addresses;
use crate::reason::Reason;
use crate::resources::Kind;

/// One `--target` selector.
#[derive(Clone, Debug)]
pub struct Selector {
    text: String,
    kind: Kind,
    name: NamePattern,
}

#[derive(Clone, Debug)]
enum NamePattern {
    Any,
    Exact(String),
    Glob(GlobMatcher),
}

/// Why a selector cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    #[error("`{0}` is not a steward kind{1}")]
    UnknownKind(String, String),
    #[error("the name after `{0}/` is empty; write `{0}` to select every object of the kind")]
    EmptyName(String),
    #[error("`{0}` is not a valid glob: {1}")]
    BadGlob(String, String),
    #[error(
        "a selector cannot hold control characters ({0:?}); match names that have them with `?`"
    )]
    ControlCharacter(String),
}

/// Every name a kind goes by: the kind, the short names of its definition, the `--kinds` name.
fn kind_names(kind: Kind) -> Vec<String> {
    let mut names = vec![kind.as_str().to_owned(), kind.short_name().to_owned()];
    names.extend(kind.crd().spec.names.short_names.unwrap_or_default());
    names
}

fn parse_kind(text: &str) -> Result<Kind, SelectorError> {
    let lower = text.to_lowercase();
    if let Some(kind) = Kind::ALL
        .into_iter()
        .find(|k| kind_names(*k).iter().any(|n| n.to_lowercase() == lower))
    {
        return Ok(kind);
    }
    let all: Vec<String> = Kind::ALL.into_iter().flat_map(kind_names).collect();
    let hint = match closest(text, all.iter().map(String::as_str)) {
        Some(near) => format!(" (did you mean `{near}`?)"),
        None => {
            let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            format!(" (kinds are {})", kinds.join(", "))
        }
    };
    Err(SelectorError::UnknownKind(text.to_owned(), hint))
}

impl FromStr for Selector {
    type Err = SelectorError;

    fn from_str(text: &str) -> Result<Selector, SelectorError> {
        if text.chars().any(char::is_control) {
            return Err(SelectorError::ControlCharacter(text.to_owned()));
        }
        let (kind_text, name) = match text.split_once('/') {
            Some((kind, name)) => (kind, Some(name)),
            None => (text, None),
        };
        let kind = parse_kind(kind_text)?;
        let name = match name {
            None => NamePattern::Any,
            Some("") => return Err(SelectorError::EmptyName(kind_text.to_owned())),
            Some(name) if name.contains(['*', '?', '[', '{']) => NamePattern::Glob(
                Glob::new(name)
                    .map_err(|e| SelectorError::BadGlob(name.to_owned(), e.kind().to_string()))?
                    .compile_matcher(),
            ),
            Some(name) => NamePattern::Exact(name.to_owned()),
        };
        Ok(Selector {
            text: text.to_owned(),
            kind,
            name,
        })
    }
}

impl Selector {
    /// The selector as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the selector picks `key`.
    pub fn matches(&self, key: &ObjectKey) -> bool {
        if key.kind != self.kind {
            return false;
        }
        let name = superset_name(key);
        match &self.name {
            NamePattern::Any => true,
            NamePattern::Exact(exact) => exact == name || *exact == key.key,
            NamePattern::Glob(glob) => glob.is_match(name) || glob.is_match(&key.key),
        }
    }
}

/// The Superset name of `key` (a schedule's key is `Type:name`).
fn superset_name(key: &ObjectKey) -> &str {
    match key.kind {
        Kind::ReportSchedule => key.key.split_once(':').map_or(&key.key, |(_, name)| name),
        _ => &key.key,
    }
}

/// What a targeted plan records: the selectors and how many changes of the full plan it leaves
/// out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Targeting {
    /// The selectors, as given.
    pub targets: Vec<String>,
    /// Changes of the full plan that are not in this one.
    pub omitted: usize,
}

/// Narrows `plan` (planned from `desired` against `observed` under `ledger`, without a deletion
/// cap) to the objects `selectors` pick and the creates/updates of what they depend on; the
/// deletion cap `max_deletions` then applies to what is left. Selectors that pick no object
/// (declared, in Superset, or in the ledger) are errors.
pub fn narrow(
    plan: Plan,
    selectors: &[Selector],
    desired: &State,
    observed: &State,
    ledger: &Ledger,
    max_deletions: Option<usize>,
) -> Result<Plan, Vec<Diagnostic>> {
    let universe = universe(desired, observed, ledger);
    let unmatched: Vec<Diagnostic> = selectors
        .iter()
        .filter(|s| !universe.iter().any(|k| s.matches(k)))
        .map(|s| unmatched(s, &universe))
        .collect();
    if !unmatched.is_empty() {
        return Err(unmatched);
    }
    let selected: BTreeSet<ObjectKey> = universe
        .into_iter()
        .filter(|k| selectors.iter().any(|s| s.matches(k)))
        .collect();
    let needed = dependencies(&selected, desired);
    let total = plan.changes.len();
    let changes: Vec<_> = plan
        .changes
        .into_iter()
        .filter(|c| {
            selected.contains(&c.key)
                || (needed.contains(&c.key)
                    && matches!(c.action, Action::Create | Action::Update | Action::Adopt))
        })
        .collect();
    let kinds: BTreeSet<Kind> = selectors.iter().map(|s| s.kind).collect();
    let about = |d: &Diagnostic| match (&d.object, &d.reason) {
        (Some(key), _) => selected.contains(key) || needed.contains(key),
        (None, Some(Reason::EmptyKind { kind, .. })) => kinds.contains(kind),
        (None, _) => true,
    };
    let mut refusals: Vec<Diagnostic> = plan.refusals.into_iter().filter(about).collect();
    let deletions = changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .count();
    refusals.extend(deletion_cap(deletions, max_deletions));
    Ok(Plan {
        targeting: Some(Targeting {
            targets: selectors.iter().map(|s| s.text.clone()).collect(),
            omitted: total - changes.len(),
        }),
        changes,
        refusals,
        ..Plan::default()
    })
}

/// Every object a selector may pick: declared, in Superset, or in the ledger.
fn universe(desired: &State, observed: &State, ledger: &Ledger) -> BTreeSet<ObjectKey> {
    let mut keys: BTreeSet<ObjectKey> = ledger.keys().cloned().collect();
    for kind in Kind::ALL {
        for state in [desired, observed] {
            keys.extend(
                state
                    .keys(kind)
                    .into_iter()
                    .map(|k| ObjectKey::new(kind, k)),
            );
        }
    }
    keys
}

fn unmatched(selector: &Selector, universe: &BTreeSet<ObjectKey>) -> Diagnostic {
    let names: Vec<String> = universe
        .iter()
        .filter(|k| k.kind == selector.kind)
        .map(|k| format!("{}/{}", k.kind, superset_name(k)))
        .collect();
    let hint = match closest(&selector.text, names.iter().map(String::as_str)) {
        Some(near) => format!("did you mean `{near}`?"),
        None if names.is_empty() => format!(
            "no {} is declared or in Superset; check the selector's kind",
            selector.kind
        ),
        None => {
            let some: Vec<String> = names.iter().take(5).map(|n| format!("`{n}`")).collect();
            format!(
                "names are Superset names, matched exactly unless the selector has `*`, `?`, `[` or `{{`; there are {} such as {}",
                names.len(),
                some.join(", ")
            )
        }
    };
    Diagnostic::error(
        Code::TargetUnmatched,
        format!(
            "target `{}` matches no object declared in the manifests or present in Superset",
            selector.text
        ),
    )
    .hint(hint)
    .because(Reason::UnmatchedTarget {
        selector: selector.text.clone(),
    })
}

/// What the `selected` objects need to exist in Superset, transitively, per the declared state:
/// a group's roles and users, a user's roles, an RLS filter's roles, a schedule's owners and
/// run-as users and the declared users it e-mails, the configuration's allowed run-as users and
/// groups. Included roles are not among them: their permissions are copied into the including
/// role's own rows.
fn dependencies(selected: &BTreeSet<ObjectKey>, desired: &State) -> BTreeSet<ObjectKey> {
    let mut needed = BTreeSet::new();
    let mut queue: Vec<ObjectKey> = selected.iter().cloned().collect();
    while let Some(key) = queue.pop() {
        for dependency in direct_dependencies(&key, desired) {
            if !selected.contains(&dependency) && needed.insert(dependency.clone()) {
                queue.push(dependency);
            }
        }
    }
    needed
}

fn direct_dependencies(key: &ObjectKey, desired: &State) -> Vec<ObjectKey> {
    let name = key.key.as_str();
    let users = |names: &mut dyn Iterator<Item = &String>| -> Vec<ObjectKey> {
        names
            .map(|n| ObjectKey::new(Kind::SupersetUser, n.clone()))
            .collect()
    };
    let roles = |names: &[String]| -> Vec<ObjectKey> {
        names
            .iter()
            .map(|n| ObjectKey::new(Kind::SupersetRole, n.clone()))
            .collect()
    };
    match key.kind {
        Kind::SupersetUser => desired.users.get(name).map(|u| roles(&u.roles)),
        Kind::SupersetRole => None,
        Kind::SupersetGroup => desired.groups.get(name).map(|g| {
            let mut out = roles(&g.roles);
            out.extend(users(&mut g.users.iter()));
            out
        }),
        Kind::RowLevelSecurityFilter => desired.rls_filters.get(name).map(|f| roles(&f.roles)),
        Kind::ReportSchedule => desired.schedules.get(name).map(|s| {
            let mailed = mailed_users(s, desired);
            users(
                &mut s
                    .owners
                    .iter()
                    .chain(&s.run_as)
                    .chain(&s.run_alert_query_as)
                    .chain(mailed),
            )
        }),
        Kind::ReportConfiguration => desired.config.as_ref().map(|c| {
            let allowed: serde_json::Value = c
                .entries
                .get("run_as_allowed")
                .and_then(|v| serde_json::from_str(v).ok())
                .unwrap_or_default();
            let list = |field: &str, kind: Kind| -> Vec<ObjectKey> {
                allowed[field]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str())
                    .map(|n| ObjectKey::new(kind, n))
                    .collect()
            };
            let mut out = list("users", Kind::SupersetUser);
            out.extend(list("groups", Kind::SupersetGroup));
            out
        }),
        Kind::GuestTokenPolicy => None,
    }
    .unwrap_or_default()
}

/// The declared users a schedule e-mails (a configuration may limit recipients to users).
fn mailed_users<'a>(schedule: &Schedule, desired: &'a State) -> impl Iterator<Item = &'a String> {
    let addresses: BTreeSet<String> = schedule
        .recipients
        .iter()
        .filter(|r| r.recipient_type == "Email")
        .flat_map(|r| ["target", "ccTarget", "bccTarget"].map(|k| r.config.get(k)))
        .flatten()
        .flat_map(|list| split_addresses(list))
        .map(str::to_ascii_lowercase)
        .collect();
    desired
        .users
        .values()
        .filter(move |u| addresses.contains(&u.email.to_ascii_lowercase()))
        .map(|u| &u.username)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Group, ReportConfig, Role, User};
    use crate::plan::{LedgerEntry, PlanOptions, plan};

    fn selector(text: &str) -> Selector {
        text.parse().unwrap()
    }

    fn user(name: &str, roles: &[&str]) -> User {
        User::active_with_roles(name, roles)
    }

    fn role(name: &str) -> Role {
        Role {
            name: name.into(),
            permissions: BTreeSet::new(),
        }
    }

    fn group(name: &str, roles: &[&str], users: &[&str]) -> Group {
        Group {
            name: name.into(),
            label: None,
            description: None,
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            users: users.iter().map(|u| (*u).to_owned()).collect(),
        }
    }

    fn managed(state: &State) -> Ledger {
        Kind::ALL
            .into_iter()
            .flat_map(|kind| {
                state
                    .keys(kind)
                    .into_iter()
                    .map(move |k| (ObjectKey::new(kind, k), LedgerEntry::new("cli", "")))
            })
            .collect()
    }

    fn keys(plan: &Plan) -> Vec<(Action, String)> {
        plan.changes
            .iter()
            .map(|c| (c.action, c.key.to_string()))
            .collect()
    }

    #[test]
    fn selectors_accept_kind_names_short_names_and_globs() {
        let role = ObjectKey::new(Kind::SupersetRole, "Finance Reader");
        for text in [
            "SupersetRole",
            "supersetrole/Finance Reader",
            "ssrole/Finance*",
            "ROLES/*Reader",
            "SupersetRole/Finance?Reader",
        ] {
            assert!(selector(text).matches(&role), "{text}");
        }
        for text in [
            "SupersetRole/finance reader",
            "SupersetRole/Finance",
            "ssgroup/Finance Reader",
            "SupersetRole/Fin*x",
        ] {
            assert!(!selector(text).matches(&role), "{text}");
        }
        let schedule = ObjectKey::new(Kind::ReportSchedule, Schedule::key("Report", "Weekly"));
        assert!(selector("rsched/*").matches(&schedule));
        assert!(selector("ReportSchedule/Weekly").matches(&schedule));
        assert!(selector("rsched/Report:Weekly").matches(&schedule));
        assert!(selector("rconfig").matches(&ObjectKey::new(
            Kind::ReportConfiguration,
            crate::model::CONFIG_KEY
        )));
        let slash = ObjectKey::new(Kind::SupersetGroup, "a/b");
        assert!(selector("SupersetGroup/a/b").matches(&slash));
    }

    #[test]
    fn bad_selectors_are_explained() {
        let err = "SupersetRol/x".parse::<Selector>().unwrap_err();
        assert!(
            err.to_string().contains("did you mean `SupersetRole`?"),
            "{err}"
        );
        assert_eq!(
            "ssrole/".parse::<Selector>().unwrap_err(),
            SelectorError::EmptyName("ssrole".into())
        );
        assert!(matches!(
            "ssrole/Fin[".parse::<Selector>(),
            Err(SelectorError::BadGlob(..))
        ));
        assert_eq!(
            "ssrole/a\x1b[2Jb"
                .parse::<Selector>()
                .unwrap_err()
                .to_string(),
            "a selector cannot hold control characters (\"ssrole/a\\u{1b}[2Jb\"); match names that have them with `?`"
        );
        assert!(matches!(
            "zzzzzzzzzz".parse::<Selector>(),
            Err(SelectorError::UnknownKind(_, hint)) if hint.contains("kinds are SupersetUser")
        ));
    }

    /// Observed: roles A (managed), G (managed group). Desired: A changed, a new group N with new
    /// role R and new user u (who holds role R2), G removed.
    fn scenario() -> (State, State, Ledger) {
        let mut observed = State::default();
        observed.roles.insert("A".into(), role("A"));
        observed.groups.insert("G".into(), group("G", &["A"], &[]));
        let ledger = managed(&observed);
        let mut desired = State::default();
        let mut changed = role("A");
        changed
            .permissions
            .insert(crate::model::PermissionPair::new("can_read", "Chart"));
        desired.roles.insert("A".into(), changed);
        desired.roles.insert("R".into(), role("R"));
        desired.roles.insert("R2".into(), role("R2"));
        desired.roles.insert("Unrelated".into(), role("Unrelated"));
        desired.users.insert("u".into(), user("u", &["R2"]));
        desired
            .groups
            .insert("N".into(), group("N", &["R", "A"], &["u"]));
        (desired, observed, ledger)
    }

    fn narrowed(targets: &[&str], max: Option<usize>) -> Result<Plan, Vec<Diagnostic>> {
        let (desired, observed, ledger) = scenario();
        let full = plan(&desired, &observed, &ledger, &PlanOptions::default());
        let selectors: Vec<Selector> = targets.iter().map(|t| selector(t)).collect();
        narrow(full, &selectors, &desired, &observed, &ledger, max)
    }

    #[test]
    fn only_the_target_changes_and_nothing_else_is_pruned() {
        let plan = narrowed(&["SupersetRole/A"], None).unwrap();
        assert_eq!(keys(&plan), [(Action::Update, "SupersetRole \"A\"".into())]);
        assert_eq!(
            plan.targeting,
            Some(Targeting {
                targets: vec!["SupersetRole/A".into()],
                omitted: 6
            })
        );
    }

    #[test]
    fn a_new_group_brings_its_roles_users_and_their_roles_along() {
        let plan = narrowed(&["ssgroup/N"], None).unwrap();
        assert_eq!(
            keys(&plan),
            [
                (Action::Create, "SupersetUser \"u\"".into()),
                (Action::Update, "SupersetRole \"A\"".into()),
                (Action::Create, "SupersetRole \"R\"".into()),
                (Action::Create, "SupersetRole \"R2\"".into()),
                (Action::Create, "SupersetGroup \"N\"".into()),
            ]
        );
        assert_eq!(plan.targeting.unwrap().omitted, 2);
    }

    #[test]
    fn deletes_only_for_what_the_selector_picks() {
        let plan = narrowed(&["SupersetGroup/*"], None).unwrap();
        assert!(keys(&plan).contains(&(Action::Delete, "SupersetGroup \"G\"".into())));
        let plan = narrowed(&["SupersetGroup/N"], None).unwrap();
        assert_eq!(plan.count(Action::Delete), 0);
        let capped = narrowed(&["SupersetGroup"], Some(0)).unwrap();
        assert_eq!(capped.refusals.len(), 1);
        assert!(matches!(
            capped.refusals[0].reason,
            Some(Reason::TooManyDeletions { max: 0, .. })
        ));
        assert!(
            narrowed(&["SupersetRole"], Some(0))
                .unwrap()
                .refusals
                .is_empty()
        );
    }

    #[test]
    fn a_selector_that_picks_nothing_is_an_error_with_a_suggestion() {
        let errors = narrowed(&["SupersetRole/A", "SupersetRole/Unrelatd"], None).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].code, Code::TargetUnmatched);
        assert_eq!(
            errors[0].hint.as_deref(),
            Some("did you mean `SupersetRole/Unrelated`?")
        );
        let far = narrowed(&["SupersetGroup/zzzzzzzz"], None).unwrap_err();
        assert!(
            far[0]
                .hint
                .as_deref()
                .unwrap()
                .ends_with("there are 2 such as `SupersetGroup/G`, `SupersetGroup/N`"),
            "{:?}",
            far[0].hint
        );
        let none = narrowed(&["rls/*"], None).unwrap_err();
        assert!(
            none[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("no RowLevelSecurityFilter")
        );
    }

    #[test]
    fn refusals_outside_the_targets_do_not_block() {
        let (desired, mut observed, ledger) = scenario();
        observed.roles.insert("Unrelated".into(), role("Other"));
        let full = plan(&desired, &observed, &ledger, &PlanOptions::default());
        assert_eq!(full.refusals.len(), 1, "an unmanaged role conflicts");
        let pick = |t: &str| {
            narrow(
                full.clone(),
                &[selector(t)],
                &desired,
                &observed,
                &ledger,
                None,
            )
            .unwrap()
        };
        assert!(pick("SupersetRole/A").refusals.is_empty());
        assert_eq!(pick("SupersetRole/Unrelated").refusals.len(), 1);
    }

    #[test]
    fn schedules_and_the_configuration_need_their_users_and_groups() {
        let mut desired = State::default();
        let mut weekly = Schedule::for_test("Weekly", "Email", "a@example.com", Some("runner"));
        weekly.owners.find_or_insert("owner".into());
        desired
            .schedules
            .insert(Schedule::key("Report", "Weekly"), weekly);
        desired
            .users
            .insert("runner".into(), user("runner", &["Gamma2"]));
        desired.users.insert("owner".into(), user("owner", &[]));
        desired.users.insert("other".into(), user("other", &[]));
        let mut mailed = user("mailed", &[]);
        mailed.email = "A@Example.com".into();
        desired.users.insert("mailed".into(), mailed);
        desired.roles.insert("Gamma2".into(), role("Gamma2"));
        desired
            .groups
            .insert("runners".into(), group("runners", &[], &["other"]));
        desired.config = Some(ReportConfig {
            entries: [(
                "run_as_allowed".to_owned(),
                r#"{"users":["owner"],"groups":["runners"]}"#.to_owned(),
            )]
            .into(),
        });
        let needs = |t: &str| -> Vec<String> {
            dependencies(
                &[selector(t)]
                    .iter()
                    .flat_map(|s| {
                        universe(&desired, &State::default(), &Ledger::new())
                            .into_iter()
                            .filter(|k| s.matches(k))
                            .collect::<Vec<_>>()
                    })
                    .collect(),
                &desired,
            )
            .iter()
            .map(|k| k.to_string())
            .collect()
        };
        assert_eq!(
            needs("rsched/Weekly"),
            [
                "SupersetUser \"mailed\"",
                "SupersetUser \"owner\"",
                "SupersetUser \"runner\"",
                "SupersetRole \"Gamma2\""
            ]
        );
        assert_eq!(
            needs("rconfig"),
            [
                "SupersetUser \"other\"",
                "SupersetUser \"owner\"",
                "SupersetGroup \"runners\""
            ]
        );
    }
}
