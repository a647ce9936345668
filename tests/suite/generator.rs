//! The synthetic organisation is valid (without a warning), deterministic by seed, and the size
//! asked for.

use steward::generate::{OrgSize, write_organisation};
use steward::resources::Kind;
use steward::validation::validate_paths;

fn read_tree(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = walk(dir)
        .into_iter()
        .map(|p| {
            (
                p.strip_prefix(dir).unwrap().display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path))
        } else {
            out.push(path)
        }
    }
    out
}

#[test]
fn generated_organisation_is_valid_deterministic_and_sized() {
    let size = OrgSize::scaled(0.05);
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    write_organisation(a.path(), 7, &size).unwrap();
    write_organisation(b.path(), 7, &size).unwrap();
    write_organisation(c.path(), 8, &size).unwrap();
    assert_eq!(
        read_tree(a.path()),
        read_tree(b.path()),
        "same seed, same files"
    );
    assert_ne!(
        read_tree(a.path()),
        read_tree(c.path()),
        "another seed, other files"
    );

    let set = validate_paths(&[a.path().display().to_string()]);
    // Not a warning either: the organisation is a clean example to measure and demo with.
    let findings: Vec<_> = set.diagnostics.iter().take(5).collect();
    assert!(findings.is_empty(), "{findings:#?}");
    let count = |kind: Kind| {
        set.objects
            .iter()
            .filter(|o| o.resource.kind() == kind)
            .count()
    };
    assert_eq!(count(Kind::SupersetRole), size.roles);
    assert_eq!(count(Kind::SupersetGroup), size.groups);
    assert_eq!(count(Kind::SupersetUser), size.users);
    assert_eq!(count(Kind::RowLevelSecurityFilter), size.rls_filters);
    assert_eq!(count(Kind::ReportSchedule), size.schedules);
    assert_eq!(count(Kind::ReportConfiguration), 1);
}

#[test]
fn org_10k_has_the_design_counts() {
    let size = OrgSize::scaled(1.0);
    assert_eq!(
        (
            size.roles,
            size.groups,
            size.users,
            size.rls_filters,
            size.schedules
        ),
        (1000, 300, 5000, 2000, 2000)
    );
    let org = steward::generate::build_organisation(1, &OrgSize::scaled(0.1));
    let pairs: usize = org
        .roles
        .iter()
        .map(|r| {
            let views: usize = r.spec.permissions.iter().map(|p| p.actions.len()).sum();
            let data = r.spec.data_access.as_ref().map_or(0, |d| {
                d.databases.len() + d.schemas.len() + d.datasets.len()
            });
            views + r.spec.raw_permissions.len() + data
        })
        .sum();
    let mean = pairs as f64 / org.roles.len() as f64;
    assert!(
        (25.0..=35.0).contains(&mean),
        "about 30 permission pairs per role, got {mean:.1}"
    );
}
