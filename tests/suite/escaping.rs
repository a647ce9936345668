//! Untrusted names in every output (issue 10, items 3 and 6): the hostile names of
//! `tests/corpus/hostile/names/` put in every slot of a diff report, then the Markdown PR comment
//! parsed by a GFM renderer (pulldown-cmark with tables: cell counts and cell text must be the
//! names', no `<details>` closed early, no link, image, mention, heading or emphasis made of a
//! name), the terminal outputs checked for raw control characters, and the JSON read back.

use std::borrow::Cow;
use std::path::PathBuf;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use steward::diagnostic::{Code, Diagnostic, SourceLocation};
use steward::escape::{LINK_BREAK, is_hidden, terminal};
use steward::impact::{AccessImpact, DatasetRows, PredicateChange, UserAccess};
use steward::model::ObjectKey;
use steward::plan::{Action, Change, FieldChange, Plan};
use steward::policy::report_rules::{Reason, Violation, render_blocking};
use steward::render::json::render_json;
use steward::render::{Against, DiffReport, render_impact, render_markdown, render_text};
use steward::resources::{Kind, ResourceId};

use crate::repo;
use crate::services::{Db, steward, steward_ok};

/// Every hostile name of the corpus, with its file name.
pub fn hostile_names() -> Vec<(String, String)> {
    let dir = repo().join("tests/corpus/hostile/names");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "name"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "the corpus is in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let label = p.file_stem().unwrap().to_str().unwrap().to_owned();
            (label, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// The predicate the attack in item 3 tried to hide.
const DENY_ALL: &str = "(1 = 0)";

/// A report with `name` in every slot a name can take.
struct Fixture {
    against: Against,
    plan: Plan,
    policy: Vec<Violation>,
    diagnostics: Vec<Diagnostic>,
    impact: AccessImpact,
}

fn fixture(name: &str) -> Fixture {
    let key = |kind: Kind, key: String| ObjectKey { kind, key };
    let value =
        |field: &'static str, before: Option<&str>, after: Option<&str>| FieldChange::Value {
            field: field.into(),
            before: before.map(str::to_owned),
            after: after.map(str::to_owned),
            literal: false,
        };
    let plan = Plan {
        changes: vec![
            Change {
                key: key(Kind::SupersetUser, name.to_owned()),
                resource: None,
                action: Action::Update,
                fields: vec![
                    value("firstName", Some(name), Some("Ana")),
                    // Configuration keys come from the database.
                    FieldChange::Value {
                        field: name.to_owned().into(),
                        before: Some("1".into()),
                        after: Some("2".into()),
                        literal: true,
                    },
                    FieldChange::Members {
                        field: "roles".into(),
                        added: vec![name.to_owned()],
                        removed: vec![format!("{name}-old")],
                    },
                ],
                renamed_from: None,
            },
            Change {
                key: key(Kind::SupersetRole, name.to_owned()),
                resource: None,
                action: Action::Create,
                fields: vec![value("name", None, Some(name))],
                renamed_from: None,
            },
            Change {
                key: key(Kind::ReportSchedule, format!("Alert:{name}")),
                resource: None,
                action: Action::Delete,
                fields: vec![value("name", Some(name), None)],
                renamed_from: None,
            },
        ],
        refusals: vec![
            Diagnostic::error(
                Code::Conflict,
                format!("role `{name}` is managed elsewhere"),
            )
            .on(ResourceId::new(Kind::SupersetRole, None, name)),
        ],
        ..Plan::default()
    };
    let diagnostics = vec![
        Diagnostic::error(Code::UnresolvedReference, format!("unknown role `{name}`"))
            .at(Some(SourceLocation {
                file: "roles.yaml".into(),
                line: 3,
                column: 5,
            }))
            .on(ResourceId::new(Kind::SupersetGroup, None, name))
            .field("spec.roles[0]")
            .hint(format!("declare `{name}` or remove it")),
        Diagnostic::warning(Code::IneffectiveField, format!("`{name}` has no effect")),
    ];
    let policy = vec![Violation {
        schedule: format!("Report:{name}"),
        reason: Reason::Recipient,
        detail: format!("{name} is not in an allowed domain"),
        field: "spec.recipients.email.to[0]".into(),
        hint: format!("allow the domain of {name} or remove the recipient"),
        awaits_user: false,
    }];
    let impact = AccessImpact {
        users: vec![UserAccess {
            username: name.to_owned(),
            roles_gained: vec![name.to_owned()],
            roles_lost: vec![],
            gained: vec![format!("can_read on {name}")],
            lost: vec![],
        }],
        datasets: vec![DatasetRows {
            dataset: name.to_owned(),
            roles: vec![PredicateChange {
                who: name.to_owned(),
                before: Some(DENY_ALL.into()),
                after: None,
                access_before: true,
                access_after: true,
            }],
            users: vec![PredicateChange {
                who: name.to_owned(),
                before: None,
                after: Some(format!("({name})")),
                access_before: true,
                access_after: true,
            }],
            more_users: 0,
        }],
    };
    Fixture {
        against: Against {
            kind: "database",
            name: name.to_owned(),
        },
        plan,
        policy,
        diagnostics,
        impact,
    }
}

impl Fixture {
    fn report(&self) -> DiffReport<'_> {
        DiffReport {
            against: &self.against,
            plan: &self.plan,
            policy: &self.policy,
            diagnostics: &self.diagnostics,
            impact: Some(&self.impact),
        }
    }
}

/// GitHub's flavour as far as pulldown-cmark has it.
fn gfm() -> Options {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_GFM);
    options.insert(Options::ENABLE_MATH);
    options.insert(Options::ENABLE_FOOTNOTES);
    options
}

/// What the rendered comment is made of.
#[derive(Default, Debug)]
struct Rendered {
    /// Every table: rows of cell texts (header first).
    tables: Vec<Vec<Vec<String>>>,
    /// The text of every list item (nested items included in their parent's).
    items: Vec<String>,
    /// Every code span's text.
    code: Vec<String>,
    /// Text outside code as rendered (where GitHub makes mentions and bare-URL links).
    prose: Vec<String>,
    /// Every raw HTML fragment, in order.
    html: Vec<String>,
    /// Text of headings, emphasis and strikethrough.
    styled: Vec<String>,
    links: usize,
}

fn parse(markdown: &str) -> Rendered {
    let mut r = Rendered::default();
    let mut row: Option<Vec<String>> = None;
    let mut cell: Option<String> = None;
    let mut items: Vec<String> = Vec::new();
    let mut styled: Vec<String> = Vec::new();
    let mut in_block = false;
    let push_text = |text: &str,
                     cell: &mut Option<String>,
                     items: &mut Vec<String>,
                     styled: &mut Vec<String>| {
        let text = text.replace(LINK_BREAK, "");
        if let Some(c) = cell.as_mut() {
            c.push_str(&text);
        }
        for i in items.iter_mut().chain(styled.iter_mut()) {
            i.push_str(&text);
        }
    };
    for event in Parser::new_ext(markdown, gfm()) {
        match event {
            Event::Start(Tag::Table(_)) => r.tables.push(Vec::new()),
            Event::Start(Tag::TableHead | Tag::TableRow) => row = Some(Vec::new()),
            Event::End(TagEnd::TableHead | TagEnd::TableRow) => {
                r.tables.last_mut().unwrap().push(row.take().unwrap());
            }
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => row.as_mut().unwrap().push(cell.take().unwrap()),
            Event::Start(Tag::Item) => items.push(String::new()),
            Event::End(TagEnd::Item) => r.items.push(items.pop().unwrap()),
            Event::Start(
                Tag::Heading { .. } | Tag::Emphasis | Tag::Strong | Tag::Strikethrough,
            ) => {
                styled.push(String::new());
            }
            Event::End(
                TagEnd::Heading(_) | TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough,
            ) => {
                r.styled.push(styled.pop().unwrap());
            }
            Event::Start(Tag::Link { .. } | Tag::Image { .. }) => r.links += 1,
            Event::Start(Tag::CodeBlock(_)) => in_block = true,
            Event::End(TagEnd::CodeBlock) => in_block = false,
            Event::Text(text) => {
                if !in_block {
                    r.prose.push(text.to_string());
                }
                push_text(&text, &mut cell, &mut items, &mut styled);
            }
            Event::Code(text) => {
                r.code.push(text.to_string());
                push_text(&format!("`{text}`"), &mut cell, &mut items, &mut styled);
            }
            Event::Html(html) | Event::InlineHtml(html) => {
                r.html.push(html.to_string());
                push_text(&html, &mut cell, &mut items, &mut styled);
            }
            Event::InlineMath(_) | Event::DisplayMath(_) | Event::FootnoteReference(_) => {
                r.links += 1;
            }
            Event::SoftBreak | Event::HardBreak => {
                push_text(" ", &mut cell, &mut items, &mut styled)
            }
            _ => {}
        }
    }
    r
}

/// A name as steward shows it: hidden characters escaped.
fn shown(name: &str) -> String {
    terminal(name).into_owned()
}

/// A code span of `text` as the parser reports it, in a cell's text.
fn span(text: &str) -> String {
    format!("`{}`", shown(text))
}

#[test]
fn markdown_keeps_every_hostile_name_in_its_cell_and_span() {
    for (label, name) in hostile_names() {
        let fixture = fixture(&name);
        let markdown = render_markdown(&fixture.report());
        let r = parse(&markdown);
        let context = format!("{label}: {name:?}\n{markdown}");

        // The summary, the policy table, the users' access, the dataset's row-level security:
        // found by their headers, whatever order the sections come in.
        assert_eq!(r.tables.len(), 4, "{context}");
        let table = |first: &str| {
            let found: Vec<&Vec<Vec<String>>> =
                r.tables.iter().filter(|t| t[0][0] == first).collect();
            assert_eq!(found.len(), 1, "one table headed `{first}`: {context}");
            found[0]
        };
        for table in &r.tables {
            let width = table[0].len();
            for row in table {
                assert_eq!(row.len(), width, "{context}");
            }
        }
        let policy = table("Type");
        assert_eq!(
            policy[0],
            ["Type", "Schedule", "Reason", "Detail"],
            "{context}"
        );
        assert_eq!(
            policy[1],
            [
                "Report".to_owned(),
                span(&name),
                "recipient".to_owned(),
                format!("{} is not in an allowed domain", shown(&name)),
            ],
            "{context}"
        );
        let users = table("User");
        assert_eq!(
            users[1],
            [
                span(&name),
                format!("+{}", span(&name)),
                span(&format!("can_read on {name}")),
                String::new(),
            ],
            "{context}"
        );
        // Item 3: the role's real predicate stays in its column, the name in the "who" cell.
        let rows = table("Who");
        assert_eq!(rows.len(), 3, "{context}");
        assert_eq!(
            rows[1],
            [
                format!("role {}", span(&name)),
                span(DENY_ALL),
                "(every row)".to_owned(),
            ],
            "{context}"
        );
        assert_eq!(
            rows[2],
            [
                format!("user {}", span(&name)),
                "(every row)".to_owned(),
                span(&format!("({name})")),
            ],
            "{context}"
        );

        // Raw HTML is steward's own tags only, and every `<details>` closes where steward
        // closes it: after its section, never inside a name.
        let mut depth = 0i32;
        for html in &r.html {
            let mut rest = html.clone();
            for tag in [
                "<details open>",
                "<details>",
                "</details>",
                "<summary>",
                "</summary>",
                "<b>",
                "</b>",
                "<code>",
                "</code>",
                "<br>",
            ] {
                rest = rest.replace(tag, "");
            }
            let rest = rest.replace(&steward::escape::html_text(&name), "");
            assert!(
                !rest.contains(['<', '>']),
                "foreign HTML {html:?}: {context}"
            );
            depth += html.matches("<details").count() as i32;
            depth -= html.matches("</details>").count() as i32;
            assert!(depth >= 0, "{context}");
        }
        assert_eq!(depth, 0, "{context}");
        assert!(
            r.html.iter().any(|h| h.contains(&format!(
                "Row-level security on <code>{}</code>",
                steward::escape::html_text(&name)
            ))),
            "{context}"
        );

        // No link, image, math or footnote, and nothing GitHub would link in plain text.
        assert_eq!(r.links, 0, "{context}");
        for text in &r.prose {
            let lower = text.to_lowercase();
            assert!(
                !lower.contains("://") && !lower.contains("www."),
                "bare URL in {text:?}: {context}"
            );
            let mut chars = text.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '@' {
                    assert!(
                        !chars.peek().is_some_and(|n| n.is_alphanumeric()),
                        "mention in {text:?}: {context}"
                    );
                }
            }
        }
        // Headings and emphasis are steward's own.
        for styled in &r.styled {
            assert!(
                !styled.contains(&shown(&name)) || shown(&name).trim().is_empty(),
                "styled {styled:?}: {context}"
            );
        }

        // The name is shown exactly where it stands: the compared database, the changes, the
        // members, the diagnostics.
        assert!(r.code.contains(&shown(&name)), "{context}");
        assert!(r.code.contains(&shown(&format!("{name}-old"))), "{context}");
        let unknown = format!("unknown role `{}`", shown(&name));
        assert!(
            r.items.iter().any(|i| i.contains(&unknown)),
            "{unknown:?} in {:?}: {context}",
            r.items
        );
        assert!(
            r.items
                .iter()
                .any(|i| i.contains(&format!("declare `{}` or remove it", shown(&name)))),
            "{context}"
        );
    }
}

/// The exact attack of item 3, written out: a role name that closes its cell and fills the
/// next two with "every row" would show a deny-all filter as opening every row.
#[test]
fn a_role_name_with_pipes_cannot_forge_every_row() {
    let name = "analyst | *(every row)* | *(every row)* |";
    let fixture = fixture(name);
    let markdown = render_markdown(&fixture.report());
    let r = parse(&markdown);
    let rls = r.tables.last().unwrap();
    assert_eq!(rls[1][1], span(DENY_ALL), "{markdown}");
    assert_eq!(rls[1][2], "(every row)", "{markdown}");
    assert_eq!(rls[1][0], format!("role {}", span(name)), "{markdown}");
}

/// Raw characters that drive a terminal or reorder text.
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| is_hidden(*c) && *c != '\n')
        .collect()
}

#[test]
fn terminal_outputs_show_hostile_names_escaped() {
    for (label, name) in hostile_names() {
        let fixture = fixture(&name);
        let strip = |text: String| -> String {
            // The renderers colour with ANSI styles; the CLI strips them off a terminal.
            let mut plain = Vec::new();
            let mut stream = anstream::StripStream::new(&mut plain);
            std::io::Write::write_all(&mut stream, text.as_bytes()).unwrap();
            String::from_utf8(plain).unwrap()
        };
        let outputs = [
            ("plan", strip(render_text(&fixture.plan, true))),
            ("impact", strip(render_impact(&fixture.impact, true))),
            ("blocking", render_blocking(&fixture.policy)),
            (
                "diagnostic",
                steward::diagnostic::render_text(&fixture.diagnostics[0], Some(&name)),
            ),
        ];
        for (what, text) in outputs {
            assert_eq!(
                raw_controls(&text),
                Vec::<char>::new(),
                "{label}: {what}:\n{text}"
            );
            let expected: Cow<str> = terminal(&name);
            assert!(text.contains(&*expected), "{label}: {what}:\n{text}");
        }
        // Every line at the margin is steward's own (the summary and one per change): a name's
        // newline or carriage return starts none.
        let plan = strip(render_text(&fixture.plan, true));
        let margin = plan.lines().filter(|l| !l.starts_with(' ')).count();
        assert_eq!(margin, 4, "{label}:\n{plan}");
        let blocking = render_blocking(&fixture.policy);
        assert_eq!(blocking.lines().count(), 3, "{label}:\n{blocking}");
    }
}

#[test]
fn json_carries_hostile_names_exactly() {
    for (label, name) in hostile_names() {
        let fixture = fixture(&name);
        let json: serde_json::Value = serde_json::from_str(&render_json(&fixture.report()))
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(json["against"]["name"], name.as_str(), "{label}");
        assert_eq!(json["changes"][0]["name"], name.as_str(), "{label}");
        assert_eq!(
            json["changes"][2]["name"],
            format!("Alert:{name}").as_str(),
            "{label}"
        );
        assert_eq!(json["policy"][0]["name"], name.as_str(), "{label}");
        assert_eq!(
            json["impact"]["datasets"][0]["roles"][0]["who"],
            name.as_str(),
            "{label}"
        );
        assert_eq!(
            json["errors"][0]["message"],
            format!("unknown role `{name}`").as_str(),
            "{label}"
        );
    }
}

/// Asserts that `out`'s streams hold no raw control, bidi or invisible character.
fn assert_no_raw_controls(what: &str, out: &std::process::Output) {
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        assert_eq!(
            raw_controls(&text),
            Vec::<char>::new(),
            "{what}: {stream}:\n{text}"
        );
    }
}

/// What a Superset admin can type into its UI: a role name and a first name that redraw the
/// line, ring the bell, send a C1 CSI and reverse the text after them.
const FROM_THE_UI: &str = "evil\u{1b}[2K\r+ SupersetRole \"Admin\"\u{7}\u{9b}\u{202e}";

#[test]
fn names_from_the_database_are_escaped_in_diff_and_apply() {
    let org = crate::repo_path("examples/org");
    let quoted = FROM_THE_UI.replace('\'', "''");
    for db in Db::each_backend("escape") {
        let url = db.url();
        steward_ok(&["init", "--demo", "--database", &url], 0);
        steward_ok(&["apply", &org, "--database", &url], 0);
        db.sql(&format!(
            "UPDATE ab_user SET first_name = '{quoted}' WHERE username = 'ana.alves'"
        ));
        db.sql(&format!(
            "INSERT INTO ab_role (id, name) SELECT MAX(id) + 1, '{quoted}' FROM ab_role"
        ));
        db.sql(&format!(
            "INSERT INTO ab_user_role (id, user_id, role_id) \
             SELECT (SELECT MAX(id) + 1 FROM ab_user_role), u.id, r.id FROM ab_user u, ab_role r \
             WHERE u.username = 'ana.alves' AND r.name = '{quoted}'"
        ));
        let shown = terminal(FROM_THE_UI).into_owned();
        let diff = steward(&["diff", &org, "--database", &url]);
        assert_eq!(diff.status.code(), Some(2), "{}", db.label());
        assert_no_raw_controls(&format!("{}: diff", db.label()), &diff);
        let stdout = String::from_utf8_lossy(&diff.stdout);
        assert!(
            stdout.contains(&format!("- {shown}")),
            "{}: the role leaves: {stdout}",
            db.label()
        );
        assert!(
            stdout.contains(&format!("-role {shown}")),
            "{}: the access impact: {stdout}",
            db.label()
        );
        assert!(
            stdout.contains(
                "\"evil\\u{1b}[2K\\r+ SupersetRole \\\"Admin\\\"\\u{7}\\u{9b}\\u{202e}\" → \"Ana\""
            ),
            "{}: the first name: {stdout}",
            db.label()
        );

        let markdown = steward(&["diff", &org, "--database", &url, "--output", "markdown"]);
        let r = parse(&String::from_utf8_lossy(&markdown.stdout));
        assert!(r.code.contains(&shown), "{}: {:?}", db.label(), r.code);
        assert_eq!(r.links, 0, "{}", db.label());

        let apply = steward(&["apply", &org, "--database", &url]);
        assert_eq!(apply.status.code(), Some(0), "{}", db.label());
        assert_no_raw_controls(&format!("{}: apply", db.label()), &apply);
        assert!(
            String::from_utf8_lossy(&apply.stdout).contains(&format!("- {shown}")),
            "{}",
            db.label()
        );
    }
}

/// `text` as a YAML double-quoted scalar, every character outside printable ASCII escaped.
fn yaml_quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            c => out.push_str(&format!("\\U{:08x}", u32::from(c))),
        }
    }
    out.push('"');
    out
}

/// A role named `name`, given by `scalar`, and a group that refers to it.
fn role_and_group(scalar: &str) -> String {
    format!(
        "apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata:\n  name: hostile\nspec:\n  name: {scalar}\n---\n\
         apiVersion: steward.dev/v1alpha1\nkind: SupersetGroup\nmetadata:\n  name: hostile-group\nspec:\n  roles:\n    - {scalar}\n"
    )
}

#[test]
fn validation_refuses_control_characters_in_names() {
    for (label, name) in hostile_names() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("roles.yaml");
        std::fs::write(&file, role_and_group(&yaml_quoted(&name))).unwrap();
        let path = file.to_str().unwrap();
        let out = steward(&["validate", path]);
        assert_no_raw_controls(&label, &out);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let refused = name.chars().any(is_hidden);
        assert_eq!(
            stderr.contains("error[control-character]"),
            refused,
            "{label}:\n{stderr}"
        );
        if !refused {
            continue;
        }
        assert_eq!(out.status.code(), Some(1), "{label}:\n{stderr}");
        for field in ["= field: spec.name\n", "= field: spec.roles[0]\n"] {
            assert!(stderr.contains(field), "{label}: {field}\n{stderr}");
        }
        assert!(stderr.contains("= hint: names may hold no control characters"));
        assert!(
            stderr.contains(&format!("`{}`", terminal(&name))),
            "{label}:\n{stderr}"
        );
        let json = steward(&["validate", path, "--output", "json"]);
        let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        let found: Vec<(&serde_json::Value, &serde_json::Value)> = report["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["code"] == "control-character")
            .map(|d| (&d["field"], &d["location"]["line"]))
            .collect();
        // The group's reference always; the role's own name unless a longer-than-allowed name
        // already rejected the role (`out-of-range`).
        assert!(
            found.contains(&(&"spec.roles[0]".into(), &14.into())),
            "{label}: {report:#}"
        );
        let too_long = name.chars().count() > 64;
        assert_eq!(
            found.contains(&(&"spec.name".into(), &6.into())),
            !too_long,
            "{label}: {report:#}"
        );
    }
}

/// The names written raw into the manifest: whatever the YAML parser makes of them, nothing
/// reaches the terminal raw, including the echoed source line.
#[test]
fn raw_names_in_manifests_reach_no_terminal_raw() {
    for (label, name) in hostile_names() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("roles.yaml");
        std::fs::write(
            &file,
            role_and_group(&format!("'{}'", name.replace('\'', "''"))),
        )
        .unwrap();
        let out = steward(&["validate", file.to_str().unwrap()]);
        assert_no_raw_controls(&label, &out);
        if name
            .chars()
            .any(|c| is_hidden(c) && !matches!(c, '\n' | '\r'))
        {
            assert_eq!(out.status.code(), Some(1), "{label}");
        }
    }
}

/// Manifests whose error sits on a line holding a secret (`tests/corpus/hostile/source-echo/`,
/// every secret marked `tok3n`): the line is echoed with the secret redacted.
#[test]
fn echoed_source_lines_hold_no_secret() {
    let dir = repo().join("tests/corpus/hostile/source-echo");
    let files = crate::yaml_files(&dir);
    assert!(files.len() >= 5, "{}", dir.display());
    for file in files {
        let out = steward(&["validate", file.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}:\n{stderr}", file.display());
        assert!(!stderr.contains("tok3n"), "{}:\n{stderr}", file.display());
        assert!(
            stderr.contains(steward::excerpt::REDACTED),
            "{}: the line is shown, redacted:\n{stderr}",
            file.display()
        );
    }
}

/// A 10 MB scalar on the line of an error: the echo is cut around the column, the message
/// capped, so standard error stays small.
#[test]
fn a_huge_scalar_is_not_echoed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let huge = "x".repeat(10 << 20);
    let cases = [
        // An unknown field after the scalar, on its line.
        format!(
            "apiVersion: steward.dev/v1alpha1\nkind: SupersetUser\nmetadata:\n  name: ana.alves\n\
             spec: {{firstName: {huge}, lastName: A, email: a@b.example, bogus: 1}}\n"
        ),
        // The scalar itself is the error (a name far too long), quoted in the message.
        format!(
            "apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata:\n  name: r\nspec:\n  name: {huge}\n"
        ),
        // Not YAML at all: the parser's error on the scalar's line.
        format!("apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\n{huge}: [: }}\n"),
    ];
    for (i, text) in cases.iter().enumerate() {
        let file = dir.path().join(format!("huge-{i}.yaml"));
        std::fs::write(&file, text).unwrap();
        let out = steward(&["validate", file.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "case {i}");
        assert!(
            out.stderr.len() < 16 * 1024,
            "case {i}: {} bytes of stderr: {}",
            out.stderr.len(),
            &stderr[..stderr.len().min(2000)]
        );
        assert!(stderr.contains('…'), "case {i}: {stderr}");
    }
}

/// A tampered plan file is untrusted too: its fingerprint, quoted in the refusal, is escaped.
#[test]
fn a_tampered_plan_file_reaches_no_terminal_raw() {
    let db = Db::sqlite();
    let url = db.url();
    let org = crate::repo_path("examples/org");
    steward_ok(&["init", "--demo", "--database", &url], 0);
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let plan_path = plan.to_str().unwrap();
    steward_ok(
        &["diff", &org, "--database", &url, "--out-plan", plan_path],
        2,
    );
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    json["fingerprint"] = FROM_THE_UI.into();
    std::fs::write(&plan, json.to_string()).unwrap();
    let out = steward(&["apply", &org, "--database", &url, "--plan-file", plan_path]);
    assert_ne!(out.status.code(), Some(0));
    assert_no_raw_controls("apply --plan-file", &out);
}

/// Item 3 end to end: the crafted role declared with a deny-all filter, planned against a real
/// database on both backends; the PR comment shows the filter where it is.
#[test]
fn the_pr_comment_shows_a_crafted_roles_real_filter() {
    let name = "x | *(every row)* | *(every row)* |";
    let dir = tempfile::tempdir().unwrap();
    for file in crate::yaml_files(&repo().join("examples/org")) {
        std::fs::copy(&file, dir.path().join(file.file_name().unwrap())).unwrap();
    }
    let scalar = yaml_quoted(name);
    std::fs::write(
        dir.path().join("attack.yaml"),
        format!(
            "apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata:\n  name: attack\n\
             spec:\n  name: {scalar}\n  includes: [Gamma]\n---\n\
             apiVersion: steward.dev/v1alpha1\nkind: RowLevelSecurityFilter\nmetadata:\n  \
             name: deny-all\n  namespace: finance\nspec:\n  name: Deny all\n  filterType: Regular\n  \
             roles: [{scalar}]\n  datasets: [warehouse.finance.invoices]\n  clause: 1 = 0\n"
        ),
    )
    .unwrap();
    let org = crate::repo_path("examples/org");
    for db in Db::each_backend("crafted") {
        let url = db.url();
        steward_ok(&["init", "--demo", "--database", &url], 0);
        steward_ok(&["apply", &org, "--database", &url], 0);
        let out = steward(&[
            "diff",
            dir.path().to_str().unwrap(),
            "--database",
            &url,
            "--output",
            "markdown",
        ]);
        assert_eq!(out.status.code(), Some(2), "{}", db.label());
        let markdown = String::from_utf8(out.stdout).unwrap();
        let r = parse(&markdown);
        let who = format!("role {}", span(name));
        let row = r
            .tables
            .iter()
            .flatten()
            .find(|row| row[0] == who)
            .unwrap_or_else(|| panic!("{}: no row for the role:\n{markdown}", db.label()));
        assert_eq!(
            row,
            &[who.clone(), "(every row)".to_owned(), span("(1 = 0)")],
            "{}:\n{markdown}",
            db.label()
        );
    }
}
