//! Superset versions: a schema whose alembic revision is no supported release's head is
//! refused for writes (the database left byte for byte as it was) and read with a warning, or
//! refused for reads too when a table steward reads is gone (as Subjects, after 6.1, drop them).

use crate::reconcile::with_content;
use crate::repo_path;
use crate::services::{Db, steward, steward_ok};

/// The database as bytes (SQLite) or rows (PostgreSQL), to show nothing was written.
fn snapshot(db: &Db) -> Vec<String> {
    match db {
        Db::Sqlite { file, .. } => vec![format!("{:?}", std::fs::read(file).unwrap())],
        Db::Pg(_) => db.dump(),
    }
}

#[test]
fn an_unknown_superset_schema_is_refused_for_writes_and_read_with_a_warning() {
    let head_of_6_1 = "4b2a8c9d3e1f";
    for db in with_content("unknown_revision") {
        let url = db.url();
        steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
        if db.label() == "sqlite" {
            // steward's own SQLite schema has no alembic_version: it is 6.1.0's.
            continue;
        }
        assert_eq!(
            db.sql("SELECT version_num FROM alembic_version").trim(),
            head_of_6_1
        );
        for (revision, relation) in [
            (
                "f00dfeedbeef",
                "a revision of no supported release: newer than Superset 6.1.0 (the nearest supported release) or from an unreleased branch",
            ),
            ("c233f5365c9e", ""),
        ] {
            db.sql(&format!(
                "UPDATE alembic_version SET version_num = '{revision}'"
            ));
            if relation.is_empty() {
                // 6.0.0's head is a supported release: steward goes on.
                steward_ok(&["diff", &repo_path("examples"), "--database", &url], 0);
                continue;
            }
            let before = snapshot(&db);
            let out = steward(&["apply", &repo_path("examples"), "--database", &url]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{}: {stderr}", db.label());
            assert!(
                stderr.contains(&format!(
                    "error: this Superset schema is at alembic revision `{revision}`, {relation}"
                )) && stderr.contains(
                    "steward supports Superset 5.0.0, 6.0.0 and 6.1.0; nothing was written"
                ),
                "{stderr}"
            );
            assert!(
                before == snapshot(&db),
                "{}: a refused apply wrote",
                db.label()
            );
            // Reads go on, with the warning.
            let out = steward(&["diff", &repo_path("examples"), "--database", &url]);
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.status.code(), Some(0), "{text}");
            assert!(text.contains("warning[superset-version]"), "{text}");
            let export = tempfile::tempdir().unwrap();
            let out = steward(&[
                "export",
                &crate::reconcile::path_str(export.path()),
                "--database",
                &url,
            ]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{stderr}");
            assert!(stderr.contains("warning[superset-version]: this Superset schema is at alembic revision `f00dfeedbeef`"), "{stderr}");
        }
        // A revision between two releases (a pre-release, an unfinished upgrade), named with both.
        let revisions =
            std::fs::read_to_string(repo_path("src/store/schema/superset-alembic-revisions.txt"))
                .unwrap();
        let between = revisions
            .lines()
            .filter_map(|l| l.split_once(' '))
            .find(|(r, release)| *release == "6.1.0" && *r != head_of_6_1)
            .map(|(r, _)| r)
            .unwrap();
        db.sql(&format!(
            "UPDATE alembic_version SET version_num = '{between}'"
        ));
        let out = steward(&["apply", &repo_path("examples"), "--database", &url]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("alembic revision `{between}`, between Superset 6.0.0 and 6.1.0 (a pre-release or an unfinished upgrade; nearest supported release: 6.1.0)")),
            "{stderr}"
        );
        // Subjects (after 6.1) drop tables steward reads: then reads are refused too.
        db.sql("UPDATE alembic_version SET version_num = 'f00dfeedbeef'");
        db.sql("DROP TABLE rls_filter_roles");
        let out = steward(&["diff", &repo_path("examples"), "--database", &url]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("it has no rls_filter_roles table, which steward reads"),
            "{stderr}"
        );
    }
}
