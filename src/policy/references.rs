//! References between declared objects: roles, users and groups named by other objects must be
//! declared (or be one of Superset's built-in roles, or an object Superset holds that this run
//! does not manage), and role `includes` must not form a cycle. A reference to an object this
//! run manages but no longer declares names the danger (it would be pruned); when a document
//! failed to load, references it probably resolved are left to that root cause.

use crate::fast_hash::{FastMap, FastSet};

use super::{Existing, Managed, locate};
use crate::diagnostic::{Code, Diagnostic, closest};
use crate::manifests::LoadedSet;
use crate::reason::Reason;
use crate::resources::{BUILTIN_ROLES, Kind, Resource};

#[derive(Clone, Copy)]
enum Target {
    Role,
    User,
    Group,
}

impl Target {
    fn kind(self) -> Kind {
        match self {
            Target::Role => Kind::SupersetRole,
            Target::User => Kind::SupersetUser,
            Target::Group => Kind::SupersetGroup,
        }
    }
    fn managed(self, managed: &Managed) -> &std::collections::BTreeSet<String> {
        match self {
            Target::Role => &managed.roles,
            Target::User => &managed.users,
            Target::Group => &managed.groups,
        }
    }
    fn noun(self) -> &'static str {
        match self {
            Target::Role => "role",
            Target::User => "user",
            Target::Group => "group",
        }
    }
}

struct Known<'a> {
    roles: FastSet<&'a str>,
    users: FastSet<&'a str>,
    groups: FastSet<&'a str>,
}

impl<'a> Known<'a> {
    fn of(set: &'a LoadedSet, existing: &'a Existing) -> Known<'a> {
        let names = |list: &'a std::collections::BTreeSet<String>| list.iter().map(String::as_str);
        let mut known = Known {
            roles: BUILTIN_ROLES
                .into_iter()
                .chain(names(&existing.roles))
                .collect(),
            users: names(&existing.users).collect(),
            groups: names(&existing.groups).collect(),
        };
        for object in &set.objects {
            let name = object.resource.superset_name();
            match object.resource {
                Resource::Role(_) => known.roles.insert(name),
                Resource::User(_) => known.users.insert(name),
                Resource::Group(_) => known.groups.insert(name),
                _ => false,
            };
        }
        known
    }

    fn names(&self, target: Target) -> &FastSet<&'a str> {
        match target {
            Target::Role => &self.roles,
            Target::User => &self.users,
            Target::Group => &self.groups,
        }
    }
}

pub(super) fn check(set: &LoadedSet, existing: &Existing, found: &mut Vec<Diagnostic>) {
    let known = Known::of(set, existing);
    // Documents that failed to load may hold the declarations references point to.
    let load_failed = set.diagnostics.iter().any(Diagnostic::is_error);
    for (index, object) in set.objects.iter().enumerate() {
        let mut refs: Vec<(String, &str, Target)> = Vec::new();
        match &object.resource {
            Resource::User(u) => refs.extend(named("spec.roles", &u.spec.roles, Target::Role)),
            Resource::Role(r) => {
                refs.extend(named("spec.includes", &r.spec.includes, Target::Role))
            }
            Resource::Group(g) => {
                refs.extend(named("spec.roles", &g.spec.roles, Target::Role));
                refs.extend(named("spec.users", &g.spec.users, Target::User));
            }
            Resource::Rls(f) => refs.extend(named("spec.roles", &f.spec.roles, Target::Role)),
            Resource::Schedule(s) => {
                refs.extend(named("spec.owners", &s.spec.owners, Target::User));
                if let Some(user) = &s.spec.run_as {
                    refs.push(("spec.runAs".into(), user, Target::User));
                }
                if let Some(user) = &s.spec.run_alert_query_as {
                    refs.push(("spec.runAlertQueryAs".into(), user, Target::User));
                }
            }
            Resource::GuestPolicy(_) => {}
            Resource::Config(c) => {
                if let Some(allowed) = &c.spec.run_as_allowed {
                    refs.extend(named(
                        "spec.runAsAllowed.users",
                        &allowed.users,
                        Target::User,
                    ));
                    refs.extend(named(
                        "spec.runAsAllowed.groups",
                        &allowed.groups,
                        Target::Group,
                    ));
                }
            }
        }
        for (field, name, target) in refs {
            if known.names(target).contains(name) {
                continue;
            }
            if let Some(d) = unresolved(name, target, &known, existing, load_failed) {
                found.push(locate(set, index, &field, d));
            }
        }
    }
    include_cycles(set, found);
}

/// The error for a reference to `name` that neither the declared set nor Superset's unmanaged
/// objects hold; `None` when it only follows from a document that failed to load (Superset
/// has the object, and its declaration is most likely in that document).
fn unresolved(
    name: &str,
    target: Target,
    known: &Known,
    existing: &Existing,
    load_failed: bool,
) -> Option<Diagnostic> {
    let managed = target.managed(&existing.managed).contains(name);
    if managed && load_failed {
        return None;
    }
    let noun = target.noun();
    if managed {
        return Some(
            Diagnostic::error(
                Code::UnresolvedReference,
                format!(
                    "{noun} `{name}` is not declared in these manifests, so this apply would delete it from Superset, where steward manages it (manager `{}`)",
                    existing.managed.manager
                ),
            )
            .hint(format!(
                "declare the {} again; if other manifests declare it (another team's), run each set with its own manager",
                target.kind()
            ))
            .because(Reason::NoLongerDeclared { kind: target.kind() }),
        );
    }
    let mut hint = match closest(name, known.names(target).iter().copied()) {
        Some(near) => format!("did you mean `{near}`?"),
        None if existing.from_database => format!(
            "declare a {} named `{name}`; Superset has none by that name",
            target.kind()
        ),
        None => format!("declare a {} named `{name}`", target.kind()),
    };
    if load_failed {
        hint.push_str(
            " (or it is declared in a document that failed to load: see the errors above)",
        );
    }
    let message = match existing.from_database {
        true => format!("{noun} `{name}` is neither declared nor in Superset"),
        false => format!("{noun} `{name}` is not declared"),
    };
    Some(Diagnostic::error(Code::UnresolvedReference, message).hint(hint))
}

fn named<'a>(
    field: &'a str,
    names: &'a [String],
    target: Target,
) -> impl Iterator<Item = (String, &'a str, Target)> + 'a {
    names
        .iter()
        .enumerate()
        .map(move |(i, name)| (format!("{field}[{i}]"), name.as_str(), target))
}

/// Reports each role that takes part in an `includes` cycle, once per cycle.
fn include_cycles(set: &LoadedSet, found: &mut Vec<Diagnostic>) {
    let roles: FastMap<&str, (usize, &[String])> = set
        .objects
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match &o.resource {
            Resource::Role(r) => {
                Some((o.resource.superset_name(), (i, r.spec.includes.as_slice())))
            }
            _ => None,
        })
        .collect();
    let mut reported: FastSet<&str> = FastSet::default();
    let mut names: Vec<&str> = roles.keys().copied().collect();
    names.sort_unstable();
    for start in names {
        if reported.contains(start) {
            continue;
        }
        if let Some(cycle) = find_cycle(start, &roles) {
            let (index, _) = roles[start];
            let shown = cycle.join(" → ");
            found.push(locate(
                set,
                index,
                "spec.includes",
                Diagnostic::error(
                    Code::IncludeCycle,
                    format!("roles include each other in a cycle: {shown}"),
                )
                .hint("remove one of the includes; a role's permissions cannot depend on itself"),
            ));
            reported.extend(cycle.iter().copied());
        }
    }
}

fn find_cycle<'a>(
    start: &'a str,
    roles: &FastMap<&'a str, (usize, &'a [String])>,
) -> Option<Vec<&'a str>> {
    // Depth-first search from `start` looking for a path back to it.
    let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
    let mut on_path: Vec<&str> = vec![start];
    let mut seen: FastSet<&str> = FastSet::default();
    while let Some((role, next)) = stack.pop() {
        let includes = roles.get(role).map_or(&[][..], |(_, inc)| *inc);
        if next < includes.len() {
            stack.push((role, next + 1));
            let child = includes[next].as_str();
            if child == start {
                on_path.push(start);
                return Some(on_path);
            }
            if roles.contains_key(child) && seen.insert(child) {
                stack.push((child, 0));
                on_path.push(child);
            }
        } else {
            on_path.pop();
        }
    }
    None
}
