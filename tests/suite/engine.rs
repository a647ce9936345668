//! The library pass (`steward::engine::run`) driven in-process, with resources built in code,
//! on every backend: creates return the ids the database assigned, updates keep them, a blocked
//! plan is never written even when the caller asks to apply, an unmanaged object is a conflict
//! until adopted, and every written object maps back to the resource that declared it.

use steward::diagnostic::{Code, Diagnostic};
use steward::engine::{
    self, Declared, Mode, Observe, Outcome, PassInput, PassOptions, Verdict, Written,
};
use steward::model::ObjectKey;
use steward::plan::{Action, PlanOptions};
use steward::resources::{
    Resource, SupersetGroup, SupersetGroupSpec, SupersetRole, SupersetRoleSpec, SupersetUser,
    SupersetUserSpec,
};
use steward::store::{DatabaseUrl, Store};

use crate::services::{Db, steward_ok};

fn role(name: &str) -> Resource {
    Resource::Role(SupersetRole::new(
        &name.to_lowercase().replace(' ', "-"),
        SupersetRoleSpec {
            name: Some(name.to_owned()),
            includes: vec!["Gamma".to_owned()],
            ..SupersetRoleSpec::default()
        },
    ))
}

fn user(username: &str, last_name: &str, roles: &[&str]) -> Resource {
    Resource::User(SupersetUser::new(
        username,
        SupersetUserSpec {
            first_name: "Eng".to_owned(),
            last_name: last_name.to_owned(),
            email: format!("{username}@corp.example.com"),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            ..SupersetUserSpec::default()
        },
    ))
}

fn group(name: &str, roles: &[&str]) -> Resource {
    Resource::Group(SupersetGroup::new(
        name,
        SupersetGroupSpec {
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            ..SupersetGroupSpec::default()
        },
    ))
}

/// Runs the pass on `db` with `resources`.
fn pass(db: &Db, resources: Vec<Resource>, mode: Mode, plan: PlanOptions) -> Outcome {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = Store::connect(&DatabaseUrl::new(db.url()), false)
            .await
            .unwrap();
        let input = PassInput {
            declared: Declared::Resources(resources),
            observe: Observe::Database(&store),
            options: PassOptions {
                plan,
                mode,
                expected: None,
            },
        };
        let outcome = engine::run(input).await;
        store.close().await;
        outcome.unwrap_or_else(|e| panic!("{}: the pass failed: {e}", db.label()))
    })
}

fn codes(diagnostics: &[Diagnostic]) -> Vec<Code> {
    diagnostics.iter().map(|d| d.code).collect()
}

fn assert_blocked(db: &Db, outcome: &Outcome) {
    assert!(
        matches!(outcome.verdict, Verdict::Blocked),
        "{}: {:?}",
        db.label(),
        outcome.verdict
    );
    assert!(outcome.is_blocked(), "{}", db.label());
}

fn applied(db: &Db, outcome: &Outcome) -> Vec<Written> {
    match &outcome.verdict {
        Verdict::Applied(applied) => applied.objects.clone(),
        other => panic!(
            "{}: not applied: {other:?}; diagnostics {:?}, refusals {:?}",
            db.label(),
            outcome.planned.set.diagnostics,
            outcome.planned.plan.refusals
        ),
    }
}

/// The id Superset's table holds for `name`.
fn id_in(db: &Db, table: &str, column: &str, name: &str) -> i64 {
    let text = db.sql(&format!("SELECT id FROM {table} WHERE {column} = '{name}'"));
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{}: no {table} row `{name}`: {text:?}", db.label()))
}

fn declared() -> Vec<Resource> {
    vec![
        role("Engine Analyst"),
        group("engine-team", &["Engine Analyst"]),
        user("engine.user", "First", &["Engine Analyst"]),
    ]
}

#[test]
fn creates_return_the_ids_the_database_assigned_and_updates_keep_them() {
    for db in Db::each_backend("enginecreate") {
        steward_ok(&["init", "--database", &db.url()], 0);
        let resources = declared();
        let outcome = pass(&db, resources.clone(), Mode::Apply, PlanOptions::default());
        assert!(!outcome.is_blocked(), "{}", db.label());
        let written = applied(&db, &outcome);
        assert_eq!(written.len(), 3, "{}: {written:?}", db.label());
        for (resource, table, column) in [
            (&resources[0], "ab_role", "name"),
            (&resources[1], "ab_group", "name"),
            (&resources[2], "ab_user", "username"),
        ] {
            let name = resource.superset_name();
            let object = written
                .iter()
                .find(|w| w.key == ObjectKey::of(resource))
                .unwrap_or_else(|| panic!("{}: {name} not in {written:?}", db.label()));
            assert_eq!(object.action, Action::Create, "{}: {name}", db.label());
            assert_eq!(
                object.resource.as_ref(),
                Some(&resource.id()),
                "{}: {name} maps back to its resource",
                db.label()
            );
            assert_eq!(
                object.id,
                Some(id_in(&db, table, column, name)),
                "{}: {name}'s id is the database's",
                db.label()
            );
        }
        let user_id = id_in(&db, "ab_user", "username", "engine.user");

        // An update: the same row, its id returned again.
        let mut changed = declared();
        changed[2] = user("engine.user", "Second", &["Engine Analyst"]);
        let outcome = pass(&db, changed.clone(), Mode::Apply, PlanOptions::default());
        let written = applied(&db, &outcome);
        assert_eq!(written.len(), 1, "{}: {written:?}", db.label());
        assert_eq!(written[0].action, Action::Update, "{}", db.label());
        assert_eq!(written[0].id, Some(user_id), "{}", db.label());
        assert_eq!(written[0].resource, Some(changed[2].id()), "{}", db.label());
        let last = db.sql("SELECT last_name FROM ab_user WHERE username = 'engine.user'");
        assert_eq!(last.trim(), "Second", "{}", db.label());

        // A dry run afterwards plans nothing and writes nothing.
        let outcome = pass(&db, changed, Mode::DryRun, PlanOptions::default());
        assert!(
            matches!(outcome.verdict, Verdict::Planned),
            "{}: {:?}",
            db.label(),
            outcome.verdict
        );
        assert!(outcome.planned.plan.is_empty(), "{}", db.label());
        assert!(outcome.identity.is_some(), "{}", db.label());
    }
}

#[test]
fn a_blocked_plan_is_not_applied_even_when_the_caller_asks_to_apply() {
    for db in Db::each_backend("engineblocked") {
        steward_ok(&["init", "--database", &db.url()], 0);
        let before = db.dump();
        // Changing the built-in role Admin is refused; the new role beside it is not written.
        let admin = Resource::Role(SupersetRole::new(
            "admin",
            SupersetRoleSpec {
                name: Some("Admin".to_owned()),
                ..SupersetRoleSpec::default()
            },
        ));
        let outcome = pass(
            &db,
            vec![admin, role("Engine Extra")],
            Mode::Apply,
            PlanOptions::default(),
        );
        assert_blocked(&db, &outcome);
        assert_eq!(
            codes(&outcome.planned.plan.refusals),
            [Code::BuiltinRole],
            "{}",
            db.label()
        );
        assert!(
            !outcome.planned.plan.changes.is_empty(),
            "{}: a refused plan still shows what it would do",
            db.label()
        );
        assert_eq!(db.dump(), before, "{}: nothing was written", db.label());

        // Input errors block too: a user granted an undeclared role, built in code, is named by
        // its resource (it has no file position).
        let outcome = pass(
            &db,
            vec![user("engine.lost", "Lost", &["No Such Role"])],
            Mode::Apply,
            PlanOptions::default(),
        );
        assert_blocked(&db, &outcome);
        let error = outcome
            .planned
            .set
            .diagnostics
            .iter()
            .find(|d| d.is_error())
            .unwrap_or_else(|| panic!("{}: no error", db.label()));
        assert_eq!(error.location, None, "{}: {error:?}", db.label());
        assert!(
            error
                .resource
                .as_ref()
                .is_some_and(|r| r.name.contains("engine.lost")),
            "{}: {error:?}",
            db.label()
        );
        assert_eq!(db.dump(), before, "{}: nothing was written", db.label());

        // No resources at all (an API that returned nothing) would prune everything: an error,
        // not a plan.
        let outcome = pass(&db, Vec::new(), Mode::Apply, PlanOptions::default());
        assert_blocked(&db, &outcome);
        assert_eq!(
            codes(&outcome.planned.set.diagnostics),
            [Code::NoManifests],
            "{}",
            db.label()
        );
    }
}

#[test]
fn an_unmanaged_object_is_a_conflict_until_adopted_and_keeps_its_id() {
    for db in Db::each_backend("engineconflict") {
        steward_ok(&["init", "--database", &db.url()], 0);
        db.sql("INSERT INTO ab_role (id, name) SELECT MAX(id) + 1, 'Engine Found' FROM ab_role");
        let found = id_in(&db, "ab_role", "name", "Engine Found");
        let outcome = pass(
            &db,
            vec![role("Engine Found")],
            Mode::Apply,
            PlanOptions::default(),
        );
        assert_blocked(&db, &outcome);
        let refusal = &outcome.planned.plan.refusals;
        assert_eq!(refusal.len(), 1, "{}: {refusal:?}", db.label());
        assert_eq!(refusal[0].code, Code::Conflict, "{}", db.label());
        let ledger = db.sql("SELECT count(*) FROM steward_ledger");
        assert_eq!(ledger.trim(), "0", "{}: nothing recorded", db.label());

        let adopt = PlanOptions {
            adopt: true,
            ..PlanOptions::default()
        };
        let resource = role("Engine Found");
        let outcome = pass(&db, vec![resource.clone()], Mode::Apply, adopt);
        let written = applied(&db, &outcome);
        assert_eq!(written.len(), 1, "{}: {written:?}", db.label());
        assert_eq!(written[0].action, Action::Adopt, "{}", db.label());
        assert_eq!(written[0].id, Some(found), "{}", db.label());
        assert_eq!(written[0].resource, Some(resource.id()), "{}", db.label());
    }
}

#[test]
fn a_snapshot_is_planned_against_and_never_applied() {
    let bare = || {
        vec![Resource::Role(SupersetRole::new(
            "bare",
            SupersetRoleSpec {
                name: Some("Bare".to_owned()),
                ..SupersetRoleSpec::default()
            },
        ))]
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let input = |mode| PassInput {
        declared: Declared::Resources(bare()),
        observe: Observe::Snapshot(Box::default()),
        options: PassOptions {
            plan: PlanOptions::default(),
            mode,
            expected: None,
        },
    };
    let outcome = runtime.block_on(engine::run(input(Mode::DryRun))).unwrap();
    assert!(matches!(outcome.verdict, Verdict::Planned), "{outcome:?}");
    let changes: Vec<_> = outcome
        .planned
        .plan
        .changes
        .iter()
        .map(|c| (c.key.clone(), c.action))
        .collect();
    assert_eq!(changes, [(ObjectKey::of(&bare()[0]), Action::Create)]);
    assert_eq!(outcome.identity, None);
    let refused = runtime.block_on(engine::run(input(Mode::Apply)));
    assert!(
        matches!(refused, Err(engine::EngineError::ApplyToSnapshot)),
        "{refused:?}"
    );
}
