//! Which `SupersetInstance` each resource targets, pure: the instance its
//! `steward.dev/instance` annotation names, else the single instance marked default. A resource
//! whose target does not exist, or that has no annotation when no (or more than one) default
//! exists, is not reconciled and says why.

use std::collections::BTreeMap;

use crate::resources::instance::INSTANCE_ANNOTATION;

/// The instances known, by name, with whether each is marked default.
pub struct Instances<'a> {
    defaults: Vec<&'a str>,
    names: Vec<&'a str>,
}

impl<'a> Instances<'a> {
    /// The instances from (name, default) pairs.
    pub fn new(instances: impl IntoIterator<Item = (&'a str, bool)>) -> Instances<'a> {
        let mut out = Instances {
            defaults: Vec::new(),
            names: Vec::new(),
        };
        for (name, default) in instances {
            out.names.push(name);
            if default {
                out.defaults.push(name);
            }
        }
        out.names.sort_unstable();
        out.defaults.sort_unstable();
        out
    }

    /// The instance a resource with `annotations` targets, or why it has none.
    pub fn target_of(
        &self,
        annotations: Option<&BTreeMap<String, String>>,
    ) -> Result<&'a str, String> {
        match annotations.and_then(|a| a.get(INSTANCE_ANNOTATION)) {
            Some(named) => self
                .names
                .iter()
                .find(|n| **n == named.as_str())
                .copied()
                .ok_or_else(|| {
                    format!(
                        "annotation {INSTANCE_ANNOTATION} names SupersetInstance {named:?}, which does not exist (instances: {})",
                        self.list()
                    )
                }),
            None => match self.defaults.as_slice() {
                [one] => Ok(one),
                [] => Err(format!(
                    "no {INSTANCE_ANNOTATION} annotation and no SupersetInstance is marked default (instances: {}); annotate the resource or mark one instance `spec.default: true`",
                    self.list()
                )),
                several => Err(format!(
                    "no {INSTANCE_ANNOTATION} annotation and {} SupersetInstances are marked default ({}); mark only one",
                    several.len(),
                    several.join(", ")
                )),
            },
        }
    }

    fn list(&self) -> String {
        match self.names.is_empty() {
            true => "none".to_owned(),
            false => self.names.join(", "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotated(instance: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(INSTANCE_ANNOTATION.to_owned(), instance.to_owned())])
    }

    #[test]
    fn the_annotation_wins_else_the_single_default() {
        let instances = Instances::new([("prod", true), ("staging", false)]);
        assert_eq!(instances.target_of(None), Ok("prod"));
        assert_eq!(
            instances.target_of(Some(&annotated("staging"))),
            Ok("staging")
        );
        let missing = instances.target_of(Some(&annotated("qa"))).unwrap_err();
        assert!(
            missing.contains("\"qa\", which does not exist (instances: prod, staging)"),
            "{missing}"
        );
    }

    #[test]
    fn without_a_single_default_an_unannotated_resource_has_no_target() {
        let none = Instances::new([("a", false)]);
        assert!(
            none.target_of(None)
                .unwrap_err()
                .contains("no SupersetInstance is marked default")
        );
        let two = Instances::new([("a", true), ("b", true)]);
        assert!(
            two.target_of(None)
                .unwrap_err()
                .contains("2 SupersetInstances are marked default (a, b)")
        );
        assert!(
            Instances::new([])
                .target_of(None)
                .unwrap_err()
                .contains("(instances: none)")
        );
    }
}
