//! Which declared resource an object, a change or a diagnostic belongs to: kind, namespace
//! (namespaced kinds only, `default` when omitted), `metadata.name`, and the Kubernetes uid when
//! the resource came from the API server. The Superset side's identity is `model::ObjectKey`.

use serde::Serialize;

use super::kinds::{Kind, Resource, object_id};

/// A declared resource's identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceId {
    /// The kind.
    pub kind: Kind,
    /// The namespace, for namespaced kinds (`default` when the manifest omits it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.uid`, for resources read from the Kubernetes API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
}

impl ResourceId {
    /// The identity of a resource of `kind` named `name` in `namespace`.
    pub fn new(kind: Kind, namespace: Option<&str>, name: impl Into<String>) -> ResourceId {
        ResourceId {
            kind,
            namespace: kind
                .namespaced()
                .then(|| namespace.unwrap_or("default").to_owned()),
            name: name.into(),
            uid: None,
        }
    }
}

impl std::fmt::Display for ResourceId {
    /// `Kind/name` or `Kind/namespace/name`, as messages name objects.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&object_id(self.kind, self.namespace.as_deref(), &self.name))
    }
}

impl Resource {
    /// This resource's identity.
    pub fn id(&self) -> ResourceId {
        let meta = self.meta();
        ResourceId {
            uid: meta.uid.clone(),
            ..ResourceId::new(self.kind(), meta.namespace.as_deref(), self.metadata_name())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaced_kinds_carry_their_namespace_and_others_none() {
        let schedule = ResourceId::new(Kind::ReportSchedule, None, "weekly");
        assert_eq!(schedule.namespace.as_deref(), Some("default"));
        assert_eq!(schedule.to_string(), "ReportSchedule/default/weekly");
        let role = ResourceId::new(Kind::SupersetRole, Some("team-a"), "analyst");
        assert_eq!(role.namespace, None);
        assert_eq!(role.to_string(), "SupersetRole/analyst");
        assert_eq!(
            serde_json::to_value(&role).unwrap(),
            serde_json::json!({"kind": "SupersetRole", "name": "analyst"})
        );
    }
}
