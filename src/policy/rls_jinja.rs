//! Jinja in RLS clauses. Superset renders every clause with Jinja2 before pasting it into a
//! query, so a Jinja expression can build any SQL (`{{ current_user_id() ~ ') OR (1=1' }}`).
//! A clause may therefore hold only bare calls of value macros: Superset's user macros, named
//! extra macros the filter's `spec.templating.allowMacros` lists, and the viewer-controlled
//! `url_param`/`filter_values` only with `spec.templating.allowViewerControlled`. No operators,
//! filters, attribute or item access, and no argument that is not a literal; no statements,
//! comments or whitespace control. The clause is lexed and parsed with minijinja (Jinja2's
//! syntax); each allowed call is replaced by a marker whose place in the SQL is checked after.

use minijinja::machinery::ast::{CallArg, Expr, Stmt};
use minijinja::machinery::{Token, WhitespaceConfig, parse, tokenize};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::ValueKind;

use super::rls_clauses::{ClauseProblem, problem};
use crate::resources::RlsTemplating;

/// Superset 6.1's macros that render one value about the current user.
pub const USER_MACROS: [&str; 3] = ["current_user_id", "current_username", "current_user_email"];

/// Superset 6.1's macros whose value comes from the request (URL, form data, filters), which
/// any viewer controls.
pub const VIEWER_CONTROLLED: [&str; 4] = [
    "url_param",
    "filter_values",
    "get_filters",
    "get_time_filter",
];

/// Superset 6.1's user macros that render a Python list (with its own quotes), not a value.
const LIST_MACROS: [&str; 2] = ["current_user_roles", "current_user_rls_rules"];

/// Where a macro's rendered text may stand in the SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// A number: alone as a value, or inside a single-quoted string.
    Value,
    /// Text Superset does not quote: only inside a single-quoted SQL string.
    InString,
}

/// One allowed macro call, replaced by `marker` in the rendered SQL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MacroUse {
    /// The macro's name.
    pub name: String,
    /// Where its value may stand.
    pub placement: Placement,
    /// The identifier that stands for it in the rendered SQL.
    pub marker: String,
}

/// The clause with every macro call replaced by its marker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// SQL as Superset would see it, markers in place of values.
    pub sql: String,
    /// The calls, in order.
    pub uses: Vec<MacroUse>,
}

fn allow_hint(allowed: &RlsTemplating) -> String {
    let mut names: Vec<&str> = USER_MACROS.to_vec();
    names.extend(allowed.allow_macros.iter().map(String::as_str));
    if allowed.allow_viewer_controlled {
        names.extend(["url_param", "filter_values"]);
    }
    let names: Vec<String> = names.iter().map(|n| format!("`{{{{ {n}() }}}}`")).collect();
    format!(
        "write a bare call such as {}; a deployment macro (JINJA_CONTEXT_ADDONS) can be allowed by name in `spec.templating.allowMacros`",
        names.join(", ")
    )
}

/// Checks the names in `spec.templating.allowMacros`: identifiers, and not viewer-controlled.
pub fn check_allowed(allowed: &RlsTemplating) -> Vec<(usize, ClauseProblem)> {
    let mut found = Vec::new();
    for (i, name) in allowed.allow_macros.iter().enumerate() {
        let identifier = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !identifier {
            found.push((
                i,
                problem(
                    format!("`{}` is not a macro name", name.escape_debug()),
                    "list bare names such as `tenant_id`: letters, digits and `_`",
                ),
            ));
        } else if VIEWER_CONTROLLED.contains(&name.as_str()) {
            found.push((
                i,
                problem(
                    format!("`{name}` renders a value any viewer controls and cannot be listed in allowMacros"),
                    "set `spec.templating.allowViewerControlled: true` for `url_param`/`filter_values` if you accept that",
                ),
            ));
        }
    }
    found
}

/// Jinja2's default delimiters, as Superset uses them. (`SyntaxConfig` is a unit struct unless
/// minijinja's `custom_syntax` feature is on; `default()` works either way.)
#[allow(clippy::default_constructed_unit_structs)]
fn jinja_syntax() -> SyntaxConfig {
    SyntaxConfig::default()
}

/// Refuses the Jinja markers a clause may not contain at all.
fn refuse_markers(clause: &str) -> Result<(), ClauseProblem> {
    if clause.contains("{%") {
        return Err(problem(
            "Jinja statements (`{% … %}`) are not allowed in an RLS clause: their conditions are expressions that can build any SQL",
            "express the condition in SQL (`CASE`, `OR`) around bare macro calls such as `{{ current_username() }}`",
        ));
    }
    if clause.contains("{#") {
        return Err(problem(
            "Jinja comments (`{# … #}`) are not allowed in an RLS clause: they hide text from review",
            "remove the comment",
        ));
    }
    Ok(())
}

/// Checks that every `{{`/`}}` is exactly that: no `-`/`+` whitespace control, which changes
/// the SQL around the call (and which Jinja2 and minijinja read differently).
fn refuse_whitespace_control(clause: &str) -> Result<(), ClauseProblem> {
    for token in tokenize(clause, false, jinja_syntax(), WhitespaceConfig::default()) {
        let (token, span) = token.map_err(|e| syntax_problem(&e))?;
        let text = clause
            .get(span.start_offset as usize..span.end_offset as usize)
            .unwrap_or_default();
        let bare = match token {
            Token::VariableStart => text == "{{",
            Token::VariableEnd => text == "}}",
            _ => true,
        };
        if !bare {
            return Err(problem(
                format!("Jinja whitespace control `{text}` is not allowed in an RLS clause"),
                "write `{{` and `}}` without `-` or `+`",
            ));
        }
    }
    Ok(())
}

fn syntax_problem(e: &minijinja::Error) -> ClauseProblem {
    let line = e
        .line()
        .map(|l| format!(" (line {l} of the clause)"))
        .unwrap_or_default();
    problem(
        format!(
            "the clause is not valid Jinja: {}{line}",
            e.detail().unwrap_or("syntax error")
        ),
        "Jinja reads `{{`, `{%` and `{#` anywhere, even inside SQL strings; balance them or remove them",
    )
}

/// A marker that does not occur in `clause`.
fn marker_base(clause: &str) -> String {
    let mut base = String::from("steward_jinja_value");
    while clause.contains(&base) {
        base.push('_');
    }
    base
}

/// Renders `clause` with every macro call replaced by a marker, refusing anything else.
pub fn render(clause: &str, allowed: &RlsTemplating) -> Result<Rendered, ClauseProblem> {
    if !clause.contains('{') {
        return Ok(Rendered {
            sql: clause.to_owned(),
            uses: Vec::new(),
        });
    }
    refuse_markers(clause)?;
    refuse_whitespace_control(clause)?;
    let template = parse(
        clause,
        "clause",
        jinja_syntax(),
        WhitespaceConfig::default(),
    )
    .map_err(|e| syntax_problem(&e))?;
    let Stmt::Template(template) = template else {
        return Err(problem(
            "the clause is not a Jinja template",
            "check `{{` and `}}`",
        ));
    };
    let base = marker_base(clause);
    let mut sql = String::with_capacity(clause.len());
    let mut uses = Vec::new();
    for child in &template.children {
        match child {
            Stmt::EmitRaw(raw) => sql.push_str(raw.raw),
            Stmt::EmitExpr(emit) => {
                let source = clause
                    .get(emit.span().start_offset as usize..emit.span().end_offset as usize)
                    .unwrap_or_default();
                let (name, placement) = allowed_call(&emit.expr, source, allowed)?;
                let marker = format!("{base}_{}", uses.len());
                sql.push_str(&marker);
                uses.push(MacroUse {
                    name,
                    placement,
                    marker,
                });
            }
            _ => {
                return Err(problem(
                    "Jinja statements are not allowed in an RLS clause",
                    allow_hint(allowed),
                ));
            }
        }
    }
    Ok(Rendered { sql, uses })
}

/// The least `spec.templating` under which `clause`'s bare macro calls are allowed: the extra
/// macros it calls and whether it calls a viewer-controlled one. `None` when Superset's user
/// macros suffice, or when the clause is not a template of bare calls (the check then reports
/// it as it is). Export uses it, so a filter made in Superset's UI exports to a manifest that
/// says, for review, which macros it relies on.
pub fn templating_needed(clause: &str) -> Option<RlsTemplating> {
    if !clause.contains('{') || render(clause, &RlsTemplating::default()).is_ok() {
        return None;
    }
    let Ok(Stmt::Template(template)) = parse(
        clause,
        "clause",
        jinja_syntax(),
        WhitespaceConfig::default(),
    ) else {
        return None;
    };
    let mut needed = RlsTemplating::default();
    for child in &template.children {
        let Stmt::EmitExpr(emit) = child else {
            continue;
        };
        let Expr::Call(call) = &emit.expr else {
            continue;
        };
        let Expr::Var(var) = &call.expr else {
            continue;
        };
        match var.id {
            "url_param" | "filter_values" => needed.allow_viewer_controlled = true,
            name if USER_MACROS.contains(&name) || VIEWER_CONTROLLED.contains(&name) => {}
            name => {
                if !needed.allow_macros.iter().any(|m| m == name) {
                    needed.allow_macros.push(name.to_owned());
                }
            }
        }
    }
    (needed != RlsTemplating::default()).then_some(needed)
}

/// The macro `expr` calls and where its value may stand, if `expr` is an allowed bare call.
fn allowed_call(
    expr: &Expr<'_>,
    source: &str,
    allowed: &RlsTemplating,
) -> Result<(String, Placement), ClauseProblem> {
    let shown = source.trim_start_matches("{{").trim();
    let not_bare = || {
        problem(
            format!(
                "Jinja expression `{{{{ {} … }}}}` is not a bare macro call: operators, filters, `~` concatenation, attribute or item access and literals can build any SQL",
                shown.escape_debug()
            ),
            allow_hint(allowed),
        )
    };
    let Expr::Call(call) = expr else {
        return Err(not_bare());
    };
    let Expr::Var(var) = &call.expr else {
        return Err(not_bare());
    };
    let name = var.id;
    let listed = allowed.allow_macros.iter().any(|m| m == name);
    let (placement, arguments) = if USER_MACROS.contains(&name) {
        let placement = match name {
            "current_user_id" => Placement::Value,
            _ => Placement::InString,
        };
        (placement, Arguments::None)
    } else if matches!(name, "url_param" | "filter_values") {
        if !allowed.allow_viewer_controlled {
            return Err(problem(
                format!(
                    "`{name}()` renders a value any viewer controls (a URL parameter or a dashboard filter): a row-level filter built on it lets viewers choose which rows they see"
                ),
                "use a user macro such as `{{ current_username() }}`; if viewers may choose, set `spec.templating.allowViewerControlled: true`",
            ));
        }
        (Placement::InString, Arguments::OneString)
    } else if VIEWER_CONTROLLED.contains(&name) {
        return Err(problem(
            format!("`{name}()` renders objects built from what any viewer sends, not a value"),
            allow_hint(allowed),
        ));
    } else if listed {
        (Placement::Value, Arguments::Literals)
    } else if LIST_MACROS.contains(&name) {
        return Err(problem(
            format!(
                "`{name}()` renders a Python list with its own quotes, not a value an RLS clause can compare with"
            ),
            format!(
                "compare with a single value instead; or, if your deployment relies on it, list `{name}` in `spec.templating.allowMacros`"
            ),
        ));
    } else {
        return Err(problem(
            format!(
                "`{}` is not one of Superset's user macros and is not listed in `spec.templating.allowMacros`",
                name.escape_debug()
            ),
            allow_hint(allowed),
        ));
    };
    arguments.check(name, &call.args)?;
    Ok((name.to_owned(), placement))
}

/// The arguments a macro may take.
#[derive(Clone, Copy)]
enum Arguments {
    /// None: the user macros' only parameter, `add_to_cache_keys`, turned off would let one
    /// user's cached result be served to another.
    None,
    /// Exactly one string literal (a parameter or column name); `default` and `escape_result`
    /// are refused.
    OneString,
    /// Literal strings, numbers, booleans and `none`, positional or by keyword.
    Literals,
}

impl Arguments {
    fn check(self, name: &str, args: &[CallArg<'_>]) -> Result<(), ClauseProblem> {
        let literal = |e: &Expr<'_>, string_only: bool| match e {
            Expr::Const(c) => match c.value.kind() {
                ValueKind::String => true,
                ValueKind::Number | ValueKind::Bool | ValueKind::None => !string_only,
                _ => false,
            },
            _ => false,
        };
        let ok = match self {
            Arguments::None => args.is_empty(),
            Arguments::OneString => {
                matches!(args, [CallArg::Pos(e)] if literal(e, true))
            }
            Arguments::Literals => args.iter().all(|a| match a {
                CallArg::Pos(e) | CallArg::Kwarg(_, e) => literal(e, false),
                CallArg::PosSplat(_) | CallArg::KwargSplat(_) => false,
            }),
        };
        if ok {
            return Ok(());
        }
        let (message, hint) = match self {
            Arguments::None => (
                format!("`{name}()` takes no arguments in an RLS clause"),
                format!(
                    "write `{name}()`: its only parameter, add_to_cache_keys, when false lets Superset serve one user's cached rows to another"
                ),
            ),
            Arguments::OneString => (
                format!("`{name}()` takes exactly one string literal in an RLS clause"),
                format!("write `{name}('name')`; defaults and escape_result are not allowed"),
            ),
            Arguments::Literals => (
                format!("the arguments of `{name}()` must be literal strings, numbers or booleans"),
                "an argument that is an expression can build any SQL".to_owned(),
            ),
        };
        Err(problem(message, hint))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templating_needed_names_exactly_what_a_clause_relies_on() {
        assert_eq!(
            templating_needed("owner = '{{ current_username() }}'"),
            None
        );
        assert_eq!(templating_needed("region = 'EU'"), None);
        let needed = templating_needed(
            "tenant = {{ tenant_id() }} AND team = '{{ url_param('team') }}' AND t2 = {{ tenant_id() }}",
        )
        .expect("extra macros need templating");
        assert_eq!(needed.allow_macros, vec!["tenant_id".to_owned()]);
        assert!(needed.allow_viewer_controlled);
        // The widest templating still refuses expressions: the exported manifest is then
        // reported by validation, not made valid.
        let clause = "id = {{ current_user_id() ~ ') OR (1=1' }}";
        assert_eq!(templating_needed(clause), None);
        let needed = templating_needed("x = {{ tenant_id() }}").expect("needed");
        assert!(render("x = {{ tenant_id() }}", &needed).is_ok());
    }
}
