//! Syntax of references to Superset content steward does not manage: schemas, datasets, chart
//! and dashboard uuids. Whether they exist is checked against the database.

use super::locate;
use crate::diagnostic::{Code, Diagnostic};
use crate::manifests::LoadedSet;
use crate::resources::refs::{DatasetRef, SchemaRef};
use crate::resources::{FilterType, Resource};

pub(super) fn check(set: &LoadedSet, found: &mut Vec<Diagnostic>) {
    for (index, object) in set.objects.iter().enumerate() {
        let mut malformed = |field: String, message: String, hint: &str| {
            found.push(locate(
                set,
                index,
                &field,
                Diagnostic::error(Code::MalformedReference, message).hint(hint),
            ));
        };
        match &object.resource {
            Resource::Role(role) => {
                let Some(access) = &role.spec.data_access else {
                    continue;
                };
                for (i, schema) in access.schemas.iter().enumerate() {
                    if let Err(e) = SchemaRef::parse(schema) {
                        malformed(
                            format!("spec.dataAccess.schemas[{i}]"),
                            e,
                            "write schemas as `database.schema`",
                        );
                    }
                }
                for (i, dataset) in access.datasets.iter().enumerate() {
                    if let Err(e) = DatasetRef::parse(dataset) {
                        malformed(
                            format!("spec.dataAccess.datasets[{i}]"),
                            e,
                            "write datasets as `database.schema.table`",
                        );
                    }
                }
                for (i, database) in access.databases.iter().enumerate() {
                    if database.trim().is_empty() {
                        malformed(
                            format!("spec.dataAccess.databases[{i}]"),
                            "empty database name".into(),
                            "name the database as Superset shows it",
                        );
                    }
                }
            }
            Resource::Rls(filter) => {
                for (i, dataset) in filter.spec.datasets.iter().enumerate() {
                    if let Err(e) = DatasetRef::parse(dataset) {
                        malformed(
                            format!("spec.datasets[{i}]"),
                            e,
                            "write datasets as `database.schema.table`",
                        );
                    }
                }
                if filter.spec.datasets.is_empty() {
                    found.push(locate(
                        set,
                        index,
                        "spec",
                        Diagnostic::warning(
                            Code::IneffectiveField,
                            "the filter lists no datasets, so it applies nowhere",
                        )
                        .hint("add spec.datasets"),
                    ));
                }
                if filter.spec.filter_type == FilterType::Regular && filter.spec.roles.is_empty() {
                    found.push(locate(
                        set,
                        index,
                        "spec",
                        Diagnostic::warning(Code::IneffectiveField, "a Regular filter without roles applies to nobody")
                            .hint("add spec.roles, or make it a Base filter (applies to everyone but its roles)"),
                    ));
                }
            }
            Resource::Schedule(schedule) => {
                let uuids = [
                    (
                        "spec.chart.uuid",
                        schedule.spec.chart.as_ref().and_then(|c| c.uuid.as_ref()),
                    ),
                    (
                        "spec.dashboard.uuid",
                        schedule
                            .spec
                            .dashboard
                            .as_ref()
                            .and_then(|d| d.uuid.as_ref()),
                    ),
                ];
                for (field, uuid) in uuids {
                    if let Some(uuid) = uuid
                        && uuid::Uuid::parse_str(uuid).is_err()
                    {
                        malformed(
                            field.to_owned(),
                            format!("`{uuid}` is not a uuid"),
                            "use the uuid Superset shows, or refer by name/slug",
                        );
                    }
                }
            }
            _ => {}
        }
    }
}
