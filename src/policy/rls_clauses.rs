//! RLS clauses: Superset pastes each clause, in parentheses, into the WHERE of every query on the
//! filtered datasets, so a clause must be exactly one SQL boolean expression: no `;`, no comments
//! (which would swallow the closing parenthesis), nothing that closes the parenthesis early
//! (`1=1) OR (1=1`). Jinja is allowed only as bare calls of value macros ([`rls_jinja`]), each
//! standing where its value is safe. Parsed with `sqlparser`.

use std::collections::{BTreeMap, BTreeSet};

use sqlparser::ast::Expr;
use sqlparser::dialect::{Dialect, GenericDialect, dialect_from_str};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

use super::locate;
use super::rls_jinja::{self, MacroUse, Placement};
use crate::diagnostic::{Code, Diagnostic};
use crate::manifests::LoadedSet;
use crate::resources::{Resource, RlsTemplating};

/// What is wrong with a clause, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClauseProblem {
    /// The problem.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

pub(super) fn problem(message: impl Into<String>, hint: impl Into<String>) -> ClauseProblem {
    ClauseProblem {
        message: message.into(),
        hint: hint.into(),
    }
}

/// Checks one clause with `dialect`, with no extra Jinja allowed.
pub fn check_clause(clause: &str, dialect: &dyn Dialect) -> Result<(), ClauseProblem> {
    parse_clause(clause, dialect).map(|_| ())
}

/// Parses one clause with `dialect`, with no extra Jinja allowed, into its expression.
pub fn parse_clause(clause: &str, dialect: &dyn Dialect) -> Result<Expr, ClauseProblem> {
    parse_clause_with(clause, &RlsTemplating::default(), dialect)
}

/// Parses one clause with `dialect` into its expression, each allowed Jinja macro call
/// standing for a value ([`rls_jinja`]).
pub fn parse_clause_with(
    clause: &str,
    allowed: &RlsTemplating,
    dialect: &dyn Dialect,
) -> Result<Expr, ClauseProblem> {
    if clause.trim().is_empty() {
        return Err(problem(
            "the clause is empty",
            "write a condition such as `region = 'EU'`",
        ));
    }
    let rendered = rls_jinja::render(clause, allowed)?;
    let sql = rendered.sql;
    let tokens = Tokenizer::new(dialect, &sql).tokenize().map_err(|e| {
        problem(
            format!("the clause does not tokenize as SQL: {e}"),
            "check quotes and brackets",
        )
    })?;
    for token in &tokens {
        match token {
            Token::SemiColon => {
                return Err(problem(
                    "the clause contains `;`: it would end Superset's query",
                    "an RLS clause is one condition, not a statement",
                ));
            }
            Token::Whitespace(
                Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_),
            ) => {
                return Err(problem(
                    "the clause contains an SQL comment, which can swallow the rest of Superset's query",
                    "remove the comment",
                ));
            }
            _ => {}
        }
    }
    check_placements(&rendered.uses, &tokens)?;
    let mut parser = Parser::new(dialect).try_with_sql(&sql).map_err(|e| {
        problem(
            format!("the clause is not valid SQL: {e}"),
            "check the syntax",
        )
    })?;
    let expr = parser.parse_expr().map_err(|e| {
        problem(
            format!("the clause is not one SQL expression: {e}"),
            "write one condition such as `region = 'EU'`",
        )
    })?;
    let next = parser.peek_token();
    if next.token != Token::EOF {
        return Err(problem(
            format!(
                "the clause goes on after a complete condition, at `{}`",
                next.token
            ),
            "an unbalanced `)` would close Superset's parentheses early; balance them",
        ));
    }
    Ok(expr)
}

/// Checks that each macro call stands where its value is safe: text only inside a
/// single-quoted SQL string, a number there or alone; never glued to other SQL.
fn check_placements(uses: &[MacroUse], tokens: &[Token]) -> Result<(), ClauseProblem> {
    for used in uses {
        let call = format!("{{{{ {}() }}}}", used.name);
        let mut places = tokens.iter().filter_map(|t| {
            let alone =
                matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value == used.marker);
            let quoted = matches!(t, Token::SingleQuotedString(s) if s.contains(&used.marker));
            if alone || quoted {
                Some(Ok(alone))
            } else if t.to_string().contains(&used.marker) {
                Some(Err(t))
            } else {
                None
            }
        });
        let hint =
            format!("write `'{call}'` (inside single quotes) or, for a number, the call alone");
        match (places.next(), places.next()) {
            (Some(Ok(false)), None) => {}
            (Some(Ok(true)), None) if used.placement == Placement::Value => {}
            (Some(Ok(true)), None) => {
                return Err(problem(
                    format!(
                        "`{call}` renders text that Superset does not quote, outside a string: the text itself would become SQL"
                    ),
                    format!("write it inside single quotes: `'{call}'`"),
                ));
            }
            (Some(Err(token)), None) => {
                let token = token.to_string().replace(&used.marker, &call);
                return Err(problem(
                    format!(
                        "`{call}` is glued to other SQL (`{token}`), where its value can change the SQL around it"
                    ),
                    hint,
                ));
            }
            _ => {
                return Err(problem(
                    format!("`{call}` does not stand as one SQL value"),
                    hint,
                ));
            }
        }
    }
    Ok(())
}

/// The sqlparser dialect closest to a SQLAlchemy backend, and its name for messages; `None`
/// for backends sqlparser has no dialect for (the generic one is used).
pub fn dialect_of_backend(backend: &str) -> Option<(Box<dyn Dialect>, &'static str)> {
    let (dialect, name) = match backend {
        "postgresql" | "postgres" | "cockroachdb" => ("postgresql", "PostgreSQL"),
        "mysql" | "mariadb" => ("mysql", "MySQL"),
        "sqlite" => ("sqlite", "SQLite"),
        "mssql" => ("mssql", "SQL Server"),
        "snowflake" => ("snowflake", "Snowflake"),
        "bigquery" => ("bigquery", "BigQuery"),
        "redshift" => ("redshift", "Redshift"),
        "clickhouse" | "clickhousedb" => ("clickhouse", "ClickHouse"),
        "duckdb" => ("duckdb", "DuckDB"),
        "hive" => ("hive", "Hive"),
        "databricks" => ("databricks", "Databricks"),
        _ => return None,
    };
    Some((dialect_from_str(dialect)?, name))
}

/// Checks every declared clause in the dialect of each database its datasets live in (known
/// from Superset's `dbs` when a database is at hand), else in the generic dialect. Returns what
/// `keep` makes of the expression of every clause that parses, by object index.
pub(super) fn check<T>(
    set: &LoadedSet,
    backends: &BTreeMap<String, String>,
    found: &mut Vec<Diagnostic>,
    keep: impl Fn(&Expr) -> T,
) -> BTreeMap<usize, T> {
    let mut parsed = BTreeMap::new();
    for (index, object) in set.objects.iter().enumerate() {
        let Resource::Rls(filter) = &object.resource else {
            continue;
        };
        let databases: BTreeSet<&str> = filter
            .spec
            .datasets
            .iter()
            .filter_map(|d| d.split('.').next())
            .collect();
        let mut dialects: Vec<(Box<dyn Dialect>, String)> = Vec::new();
        let mut generic = databases.is_empty();
        for database in databases {
            match backends.get(database).and_then(|b| dialect_of_backend(b)) {
                Some((dialect, name)) => dialects.push((
                    dialect,
                    format!(" (parsed as {name}, the dialect of database `{database}`)"),
                )),
                None => generic = true,
            }
        }
        if generic {
            dialects.insert(0, (Box::new(GenericDialect {}), String::new()));
        }
        let allowed = filter.spec.templating.clone().unwrap_or_default();
        for (i, p) in rls_jinja::check_allowed(&allowed) {
            found.push(locate(
                set,
                index,
                &format!("spec.templating.allowMacros[{i}]"),
                Diagnostic::error(Code::InvalidRlsClause, p.message).hint(p.hint),
            ));
        }
        let mut expr = None;
        for (dialect, label) in &dialects {
            match parse_clause_with(&filter.spec.clause, &allowed, dialect.as_ref()) {
                Ok(e) => expr = expr.or(Some(e)),
                Err(p) => {
                    found.push(locate(
                        set,
                        index,
                        "spec.clause",
                        Diagnostic::error(Code::InvalidRlsClause, format!("{}{label}", p.message))
                            .hint(p.hint),
                    ));
                    expr = None;
                    break;
                }
            }
        }
        if let Some(expr) = expr {
            parsed.insert(index, keep(&expr));
        }
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;

    const REAL_WORLD: &[&str] = &[
        "region = 'EU'",
        "client_id = 4",
        "department IN ('finance', 'audit')",
        "owner = '{{ current_username() }}'",
        "user_id = {{ current_user_id() }}",
        "lower(email) = lower('{{ current_user_email() }}')",
        "team_id IN (SELECT team_id FROM user_teams WHERE username = '{{ current_username() }}')",
        "NOT confidential",
        "confidential = false",
        "COALESCE(amount, 0) > 5",
        "\"Region Name\" = 'EU'",
        "amount BETWEEN 1 AND 100",
        "name LIKE 'A%'",
        "deleted_at IS NULL",
        "CASE WHEN region = 'EU' THEN 1 ELSE 0 END = 1",
        "region = 'EU' OR region = 'UK'",
        "(region = 'EU' AND year >= 2020) OR public",
        "period_closed",
        "created_at > CURRENT_DATE - 30",
        "status <> 'draft'",
        "account_id IN (1, 2, 3)",
        "manager = '{{ current_username() }}' OR owner = '{{ current_username() }}'",
        "EXISTS (SELECT 1 FROM acl WHERE acl.row_id = id AND acl.user_name = '{{ current_username() }}')",
        "region = 'it''s'",
    ];

    const HOSTILE: &[&str] = &[
        "",
        "   ",
        "1=1) OR (1=1",
        "region = 'EU'); DROP TABLE ab_user; --",
        "region = 'EU'; DELETE FROM logs",
        "1=1 --",
        "1=1 -- ) AND secret = 0",
        "1=1 /* ) OR (1=1 */",
        "region = 'EU' /*",
        "region = 'EU')",
        "(region = 'EU'",
        "((1=1)",
        "1=1)) UNION SELECT password FROM ab_user WHERE ((1=1",
        ") OR 1=1 OR (",
        "OR 1=1",
        "region = 'EU' AND",
        "region = 'EU' OR",
        "region = 'unterminated",
        "region = 'EU';",
        ";",
        "SELECT * FROM ab_user",
        "DROP TABLE tables",
        "region = 'EU' region = 'US'",
        "1=1) OR true OR (1=1",
        "{% if true %}1=1{% endif %}",
        "{# comment #} 1=1",
        "owner = '{{ self.__init__.__globals__ }}'",
        "owner = '{{ config }}'",
        "owner = '{{ current_username() }'",
        "owner = {{ current_username().__class__ }}",
        "country_code = '{{ url_param(\"country\") }}'",
        "id = {{ current_user_id() ~ ') OR (1=1 OR ' ~ current_user_id() }}",
        "x = 1 ; ; y = 2",
        "1=1\n-- trailing comment",
    ];

    #[test]
    fn real_world_clauses_are_accepted() {
        for clause in REAL_WORLD {
            for dialect in [&GenericDialect {} as &dyn Dialect, &PostgreSqlDialect {}] {
                assert_eq!(check_clause(clause, dialect), Ok(()), "{clause}");
            }
        }
    }

    #[test]
    fn every_documented_backend_has_its_dialect() {
        for (backends, name) in [
            (&["postgresql", "postgres", "cockroachdb"][..], "PostgreSQL"),
            (&["mysql", "mariadb"][..], "MySQL"),
            (&["sqlite"][..], "SQLite"),
            (&["mssql"][..], "SQL Server"),
            (&["snowflake"][..], "Snowflake"),
            (&["bigquery"][..], "BigQuery"),
            (&["redshift"][..], "Redshift"),
            (&["clickhouse", "clickhousedb"][..], "ClickHouse"),
            (&["duckdb"][..], "DuckDB"),
            (&["hive"][..], "Hive"),
            (&["databricks"][..], "Databricks"),
        ] {
            for backend in backends {
                let (dialect, shown) = dialect_of_backend(backend)
                    .unwrap_or_else(|| panic!("{backend} has a dialect"));
                assert_eq!(shown, name, "{backend}");
                for clause in ["region = 'EU'", "amount > 100 AND region IN ('EU', 'US')"] {
                    assert!(
                        check_clause(clause, dialect.as_ref()).is_ok(),
                        "{clause} in {name}"
                    );
                }
            }
        }
        // Quoting that one dialect has and another has not.
        let dialect = |b: &str| dialect_of_backend(b).unwrap().0;
        assert!(check_clause("[region] = 'EU'", dialect("mssql").as_ref()).is_ok());
        assert!(check_clause("`region` = 'EU'", dialect("bigquery").as_ref()).is_ok());
        assert!(check_clause("\"region\" = 'EU'", dialect("snowflake").as_ref()).is_ok());
    }

    #[test]
    fn dialects_follow_the_backend() {
        let postgres = dialect_of_backend("postgresql").unwrap();
        let mysql = dialect_of_backend("mysql").unwrap();
        assert_eq!(postgres.1, "PostgreSQL");
        // Backticks quote identifiers in MySQL only.
        assert!(check_clause("`region` = 'EU'", postgres.0.as_ref()).is_err());
        assert!(check_clause("`region` = 'EU'", mysql.0.as_ref()).is_ok());
        assert!(dialect_of_backend("trino").is_none());
    }

    #[test]
    fn hostile_clauses_are_rejected() {
        assert!(HOSTILE.len() >= 30);
        for clause in HOSTILE {
            assert!(
                check_clause(clause, &GenericDialect {}).is_err(),
                "accepted: {clause:?}"
            );
        }
    }
}
