//! A state read through pending changes, without copying it: what Superset will hold after a
//! plan is the observed state with the plan's few objects replaced or removed. At org-100k a
//! copy of the observed state took 106 MB for a plan that touches 1 % of it; a view borrows the
//! observed objects and the desired ones the plan writes.

use std::collections::BTreeMap;

use super::{Group, ReportConfig, RlsFilter, Role, Schedule, State, User, merge_by_key};

/// One kind's objects by natural key: a base map with some keys replaced (`Some`) or removed
/// (`None`).
#[derive(Clone, Debug)]
pub struct Entries<'a, T> {
    base: &'a BTreeMap<String, T>,
    changed: BTreeMap<&'a str, Option<&'a T>>,
}

impl<'a, T> Entries<'a, T> {
    /// The objects of `base`, unchanged.
    pub fn of(base: &'a BTreeMap<String, T>) -> Entries<'a, T> {
        Entries {
            base,
            changed: BTreeMap::new(),
        }
    }

    /// Replaces the object at `key` with `value`, or removes it (`None`).
    pub fn set(&mut self, key: &'a str, value: Option<&'a T>) {
        self.changed.insert(key, value);
    }

    /// The object at `key`.
    pub fn get(&self, key: &str) -> Option<&'a T> {
        match self.changed.get(key) {
            Some(changed) => *changed,
            None => self.base.get(key),
        }
    }

    /// Whether an object is at `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Every object with its key, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a T)> + '_ {
        let base = self.base.iter().map(|(k, v)| (k.as_str(), v));
        let changed = self.changed.iter().map(|(k, v)| (*k, *v));
        merge_by_key(base, changed).filter_map(|(key, base, changed)| match changed {
            Some(changed) => changed.map(|v| (key, v)),
            None => base.map(|v| (key, v)),
        })
    }

    /// Every object, in key order.
    pub fn values(&self) -> impl Iterator<Item = &'a T> + '_ {
        self.iter().map(|(_, v)| v)
    }
}

/// Every object of the kinds steward manages, as a [`State`] holds them, read through changes.
#[derive(Clone, Debug)]
pub struct StateView<'a> {
    pub users: Entries<'a, User>,
    pub roles: Entries<'a, Role>,
    pub groups: Entries<'a, Group>,
    pub rls_filters: Entries<'a, RlsFilter>,
    pub schedules: Entries<'a, Schedule>,
    pub config: Option<&'a ReportConfig>,
}

impl State {
    /// This state, unchanged, as a view that changes can be laid over.
    pub fn view(&self) -> StateView<'_> {
        StateView {
            users: Entries::of(&self.users),
            roles: Entries::of(&self.roles),
            groups: Entries::of(&self.groups),
            rls_filters: Entries::of(&self.rls_filters),
            schedules: Entries::of(&self.schedules),
            config: self.config.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_replace_remove_and_add_objects_in_key_order() {
        let base: BTreeMap<String, i32> = [("a", 1), ("b", 2), ("d", 4)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        let (twenty, thirty) = (20, 30);
        let mut entries = Entries::of(&base);
        assert_eq!(
            entries.iter().collect::<Vec<_>>(),
            [("a", &1), ("b", &2), ("d", &4)]
        );
        entries.set("b", Some(&twenty));
        entries.set("c", Some(&thirty));
        entries.set("d", None);
        entries.set("e", None);
        assert_eq!(
            entries.iter().collect::<Vec<_>>(),
            [("a", &1), ("b", &20), ("c", &30)]
        );
        assert_eq!(entries.get("b"), Some(&20));
        assert_eq!(entries.get("d"), None);
        assert!(entries.contains_key("c") && !entries.contains_key("e"));
        assert_eq!(base.len(), 3, "the base is never changed");
    }
}
