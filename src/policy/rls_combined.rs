//! RLS filters that meet on one (role, dataset). Superset ORs the clauses of the filters that
//! reach a query and share a group key, and ANDs the rest, so two sound filters can together let
//! no row through: `client_id = 4` AND `client_id = 5`, the example in Superset's own docs. Such
//! combinations get a warning. "Obviously empty" means: equalities and `IN` lists on one column
//! that cannot all hold, or a literal false; anything subtler is left alone.

use std::collections::{BTreeMap, BTreeSet};

use sqlparser::ast::{BinaryOperator, Expr, Value};

use super::locate;
use crate::diagnostic::{Code, Diagnostic};
use crate::manifests::LoadedSet;
use crate::resources::{FilterType, Resource, RowLevelSecurityFilterSpec};

/// The rows a condition lets through, as far as this check can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Rows {
    /// None at all.
    Nothing,
    /// Only rows whose columns hold one of these values (no entry: any value).
    Only(BTreeMap<String, BTreeSet<String>>),
}

impl Rows {
    fn any() -> Rows {
        Rows::Only(BTreeMap::new())
    }

    fn and(self, other: Rows) -> Rows {
        let (Rows::Only(mut a), Rows::Only(b)) = (self, other) else {
            return Rows::Nothing;
        };
        for (column, values) in b {
            let merged = match a.remove(&column) {
                Some(existing) => existing.intersection(&values).cloned().collect(),
                None => values,
            };
            if merged.is_empty() {
                return Rows::Nothing;
            }
            a.insert(column, merged);
        }
        Rows::Only(a)
    }

    fn or(self, other: Rows) -> Rows {
        match (self, other) {
            (Rows::Nothing, x) | (x, Rows::Nothing) => x,
            (Rows::Only(a), Rows::Only(mut b)) => Rows::Only(
                a.into_iter()
                    .filter_map(|(column, values)| {
                        let more = b.remove(&column)?;
                        Some((column, values.union(&more).cloned().collect()))
                    })
                    .collect(),
            ),
        }
    }
}

/// What a clause lets through; any row when it does not parse.
#[cfg(test)]
fn rows_of_clause(clause: &str) -> Rows {
    super::rls_clauses::parse_clause(clause, &sqlparser::dialect::GenericDialect {})
        .map_or_else(|_| Rows::any(), |e| rows_of(&e))
}

pub(super) fn rows_of(expr: &Expr) -> Rows {
    match expr {
        Expr::Nested(inner) => rows_of(inner),
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::And => rows_of(left).and(rows_of(right)),
            BinaryOperator::Or => rows_of(left).or(rows_of(right)),
            BinaryOperator::Eq => {
                match (column(left), literal(right), literal(left), column(right)) {
                    (Some(c), Some(v), _, _) | (_, _, Some(v), Some(c)) => {
                        Rows::Only(BTreeMap::from([(c, BTreeSet::from([v]))]))
                    }
                    (None, Some(a), Some(b), None) if a != b => Rows::Nothing,
                    _ => Rows::any(),
                }
            }
            _ => Rows::any(),
        },
        Expr::InList {
            expr,
            list,
            negated: false,
        } => match (
            column(expr),
            list.iter().map(literal).collect::<Option<_>>(),
        ) {
            (Some(c), Some(values)) => Rows::Only(BTreeMap::from([(c, values)])),
            _ => Rows::any(),
        },
        Expr::Value(v) if v.value == Value::Boolean(false) => Rows::Nothing,
        _ => Rows::any(),
    }
}

fn column(expr: &Expr) -> Option<String> {
    let name = |ident: &sqlparser::ast::Ident| match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_ascii_lowercase(),
    };
    match expr {
        Expr::Identifier(ident) if ident.value != "jinja_value" => Some(name(ident)),
        Expr::CompoundIdentifier(parts) => {
            Some(parts.iter().map(name).collect::<Vec<_>>().join("."))
        }
        _ => None,
    }
}

/// A literal's value; numbers and number-like strings compare by number (`4`, `'4'`, `4.0`),
/// as databases coerce them. Values rendered from Jinja are unknown.
fn literal(expr: &Expr) -> Option<String> {
    let Expr::Value(v) = expr else {
        return None;
    };
    let text = match &v.value {
        Value::Number(n, _) => n.clone(),
        Value::SingleQuotedString(s) if !s.contains("jinja_value") => s.clone(),
        _ => return None,
    };
    Some(match text.trim().parse::<f64>() {
        Ok(n) => n.to_string(),
        Err(_) => text,
    })
}

/// One declared filter, as the combination sees it.
struct Filter<'a> {
    index: usize,
    spec: &'a RowLevelSecurityFilterSpec,
    name: &'a str,
    rows: Rows,
}

impl Filter<'_> {
    /// Whether the filter reaches the queries of `role` (`None`: a role no filter names).
    fn reaches(&self, role: Option<&str>) -> bool {
        let listed = role.is_some_and(|r| self.spec.roles.iter().any(|x| x == r));
        match self.spec.filter_type {
            FilterType::Regular => listed,
            FilterType::Base => !listed,
        }
    }
}

/// Superset's combination: OR within a group key, AND across keys and ungrouped filters.
fn combined(filters: &[&Filter]) -> Rows {
    let mut groups: BTreeMap<&str, Rows> = BTreeMap::new();
    let mut all = Rows::any();
    for f in filters {
        match f.spec.group_key.as_deref().filter(|k| !k.is_empty()) {
            Some(key) => {
                let joined = match groups.remove(key) {
                    Some(rows) => rows.or(f.rows.clone()),
                    None => f.rows.clone(),
                };
                groups.insert(key, joined);
            }
            None => all = all.and(f.rows.clone()),
        }
    }
    groups.into_values().fold(all, Rows::and)
}

/// `parsed` holds the expression of every clause that parses (the others, reported by the
/// clause check, let any row through here).
pub(super) fn check(
    set: &LoadedSet,
    mut parsed: BTreeMap<usize, Rows>,
    found: &mut Vec<Diagnostic>,
) {
    let filters: Vec<Filter> = set
        .objects
        .iter()
        .enumerate()
        .filter_map(|(index, o)| match &o.resource {
            Resource::Rls(f) => Some(Filter {
                index,
                spec: &f.spec,
                name: o.resource.superset_name(),
                rows: parsed.remove(&index).unwrap_or_else(Rows::any),
            }),
            _ => None,
        })
        .collect();
    let mut by_dataset: BTreeMap<&str, Vec<&Filter>> = BTreeMap::new();
    for f in &filters {
        for dataset in &f.spec.datasets {
            by_dataset.entry(dataset).or_default().push(f);
        }
    }
    // (dataset, the filters that meet) → the roles they meet on.
    let mut empty: BTreeMap<(&str, Vec<usize>), Vec<String>> = BTreeMap::new();
    for (dataset, on_dataset) in &by_dataset {
        if on_dataset.len() < 2 {
            continue;
        }
        let roles: BTreeSet<&str> = on_dataset
            .iter()
            .flat_map(|f| f.spec.roles.iter().map(String::as_str))
            .collect();
        let roles = roles.into_iter().map(Some).chain([None]);
        for role in roles {
            let reaching: Vec<&Filter> = on_dataset
                .iter()
                .copied()
                .filter(|f| f.reaches(role))
                .collect();
            if reaching.len() >= 2 && combined(&reaching) == Rows::Nothing {
                let who = role.map_or("every role no filter names".to_owned(), |r| {
                    format!("role `{r}`")
                });
                empty
                    .entry((dataset, reaching.iter().map(|f| f.index).collect()))
                    .or_default()
                    .push(who);
            }
        }
    }
    for ((dataset, indices), roles) in empty {
        let names: Vec<String> = indices
            .iter()
            .filter_map(|i| filters.iter().find(|f| f.index == *i))
            .map(|f| format!("`{}` ({})", f.name, f.spec.clause))
            .collect();
        found.push(locate(
            set,
            indices[0],
            "spec.clause",
            Diagnostic::warning(
                Code::EmptyRlsCombination,
                format!(
                    "on dataset `{dataset}`, {} meet{} filters {}, which together let no row through",
                    roles.join(", "),
                    if roles.len() == 1 { "s" } else { "" },
                    names.join(" and "),
                ),
            )
            .hint("give filters that are alternatives the same groupKey (Superset ORs them), or split their roles"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contradictions_are_found() {
        let empty = |clauses: &[&str]| {
            clauses
                .iter()
                .map(|c| rows_of_clause(c))
                .fold(Rows::any(), Rows::and)
                == Rows::Nothing
        };
        assert!(empty(&["client_id = 4", "client_id = 5"]));
        assert!(empty(&["region IN ('EU', 'UK')", "region = 'US'"]));
        assert!(empty(&[
            "(region = 'EU' OR region = 'UK') AND year > 2020",
            "region = 'US'"
        ]));
        assert!(empty(&["1 = 0"]));
        assert!(empty(&["false"]));
        assert!(!empty(&["client_id = 4", "client_id = '4'"]));
        assert!(!empty(&["client_id = 4", "client_id = 4.0"]));
        assert!(!empty(&["region = 'EU' OR region = 'US'", "region = 'US'"]));
        assert!(!empty(&["region = 'EU'", "country = 'US'"]));
        assert!(!empty(&[
            "owner = '{{ current_username() }}'",
            "owner = 'bob'"
        ]));
        assert!(!empty(&["region <> 'EU'", "region = 'EU' OR public"]));
        assert!(!empty(&["Region = 'EU'", "\"Region\" = 'US'"]));
        assert!(empty(&["Region = 'EU'", "region = 'US'"]));
    }
}
