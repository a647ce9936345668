//! Whether an alert fires, from the rows its query returned, with Superset's semantics
//! (`superset/commands/report/alert.py`): at most one row of one column; an empty result or a
//! NULL never fires; `not null` fires on any value that is not 0 or NaN; `operator` compares
//! the value, read as a number, with the threshold.

use serde_json::Value as Json;

/// How an alert's value is judged.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Validator {
    /// `not null`.
    NotNull,
    /// `operator` with its comparison and threshold.
    Operator { op: Comparison, threshold: f64 },
}

/// An operator validator's comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Equal,
    NotEqual,
}

impl Validator {
    /// Reads `validator_type` and `validator_config_json` as Superset stores them.
    pub fn from_stored(kind: &str, config: Option<&str>) -> Result<Validator, String> {
        match kind {
            "not null" => Ok(Validator::NotNull),
            "operator" => {
                let bad = || {
                    format!(
                        "the alert's validator configuration {:?} is not Superset's {{\"op\": …, \"threshold\": …}}",
                        config.unwrap_or("")
                    )
                };
                let json: Json = serde_json::from_str(config.unwrap_or("")).map_err(|_| bad())?;
                let op = match json.get("op").and_then(Json::as_str) {
                    Some("<") => Comparison::Less,
                    Some("<=") => Comparison::LessOrEqual,
                    Some(">") => Comparison::Greater,
                    Some(">=") => Comparison::GreaterOrEqual,
                    Some("==") => Comparison::Equal,
                    Some("!=") => Comparison::NotEqual,
                    _ => return Err(bad()),
                };
                let threshold = json
                    .get("threshold")
                    .and_then(Json::as_f64)
                    .ok_or_else(bad)?;
                Ok(Validator::Operator { op, threshold })
            }
            other => Err(format!("unknown alert validator type {other:?}")),
        }
    }
}

/// What the query returned, judged.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub fired: bool,
    /// `report_schedule.last_value` (operator validators).
    pub value: Option<f64>,
    /// `report_schedule.last_value_row_json` (not-null validators: the value as text).
    pub value_row_json: Option<String>,
    /// Why it did not fire, when Superset says so.
    pub message: Option<String>,
}

/// Judges `rows` (each a list of column values) with `validator`. Errors are Superset's.
pub fn judge(validator: Validator, rows: &[Vec<Json>]) -> Result<Verdict, String> {
    if rows.len() > 1 {
        return Err(format!(
            "Alert query returned more than one row. {} rows returned",
            rows.len()
        ));
    }
    let Some(row) = rows.first() else {
        return Ok(match validator {
            Validator::NotNull => Verdict {
                fired: false,
                value: None,
                value_row_json: Some("None".into()),
                message: None,
            },
            Validator::Operator { .. } => Verdict {
                fired: false,
                value: None,
                value_row_json: None,
                message: Some("Query returned no rows (empty result set)".into()),
            },
        });
    };
    if row.len() > 1 {
        return Err(format!(
            "Alert query returned more than one column. {} columns returned",
            row.len()
        ));
    }
    let cell = row.first().unwrap_or(&Json::Null);
    let null = cell.is_null() || cell.as_f64().is_some_and(f64::is_nan);
    match validator {
        Validator::NotNull => {
            if null {
                return Ok(Verdict {
                    fired: false,
                    value: None,
                    value_row_json: Some("None".into()),
                    message: Some("Query returned NULL value".into()),
                });
            }
            let zero = cell.as_f64() == Some(0.0) || cell.as_bool() == Some(false);
            Ok(Verdict {
                fired: !zero,
                value: None,
                value_row_json: Some(python_text(cell)),
                message: None,
            })
        }
        Validator::Operator { op, threshold } => {
            if null {
                return Ok(Verdict {
                    fired: false,
                    value: None,
                    value_row_json: None,
                    message: Some("Query returned NULL value".into()),
                });
            }
            let value = number(cell)
                .ok_or_else(|| "Alert query returned a non-number value.".to_string())?;
            let fired = match op {
                Comparison::Less => value < threshold,
                Comparison::LessOrEqual => value <= threshold,
                Comparison::Greater => value > threshold,
                Comparison::GreaterOrEqual => value >= threshold,
                Comparison::Equal => value == threshold,
                Comparison::NotEqual => value != threshold,
            };
            Ok(Verdict {
                fired,
                value: Some(value),
                value_row_json: None,
                message: None,
            })
        }
    }
}

/// Python's `float(value)` for what a query can return: numbers, booleans and numeric text.
fn number(cell: &Json) -> Option<f64> {
    match cell {
        Json::Number(n) => n.as_f64(),
        Json::Bool(b) => Some(f64::from(u8::from(*b))),
        Json::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

/// Python's `str(value)` for a JSON scalar, as Superset stores a not-null alert's value.
fn python_text(cell: &Json) -> String {
    match cell {
        Json::String(s) => s.clone(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(v: Json) -> Vec<Vec<Json>> {
        vec![vec![v]]
    }

    #[test]
    fn operator_compares_with_the_threshold() {
        let gt =
            Validator::from_stored("operator", Some(r#"{"op": ">", "threshold": 10}"#)).unwrap();
        assert!(judge(gt, &one(json!(11))).unwrap().fired);
        assert!(!judge(gt, &one(json!(10))).unwrap().fired);
        assert!(judge(gt, &one(json!("10.5"))).unwrap().fired);
        assert_eq!(judge(gt, &one(json!(12.5))).unwrap().value, Some(12.5));
        let ne =
            Validator::from_stored("operator", Some(r#"{"op": "!=", "threshold": 0}"#)).unwrap();
        assert!(!judge(ne, &one(json!(0))).unwrap().fired);
        assert!(judge(gt, &one(json!("abc"))).is_err());
    }

    #[test]
    fn empty_and_null_never_fire() {
        for v in [
            Validator::NotNull,
            Validator::Operator {
                op: Comparison::GreaterOrEqual,
                threshold: 0.0,
            },
        ] {
            assert!(!judge(v, &[]).unwrap().fired);
            assert!(!judge(v, &one(Json::Null)).unwrap().fired);
        }
        assert_eq!(
            judge(Validator::NotNull, &one(Json::Null))
                .unwrap()
                .message
                .as_deref(),
            Some("Query returned NULL value")
        );
    }

    #[test]
    fn not_null_fires_on_anything_but_zero() {
        assert!(judge(Validator::NotNull, &one(json!(3))).unwrap().fired);
        assert!(judge(Validator::NotNull, &one(json!("x"))).unwrap().fired);
        assert!(!judge(Validator::NotNull, &one(json!(0))).unwrap().fired);
        assert!(!judge(Validator::NotNull, &one(json!(0.0))).unwrap().fired);
        assert_eq!(
            judge(Validator::NotNull, &one(json!(true)))
                .unwrap()
                .value_row_json
                .as_deref(),
            Some("True")
        );
    }

    #[test]
    fn shape_errors_are_superset_s() {
        let two_rows = vec![vec![json!(1)], vec![json!(2)]];
        assert!(
            judge(Validator::NotNull, &two_rows)
                .unwrap_err()
                .contains("more than one row")
        );
        let two_cols = vec![vec![json!(1), json!(2)]];
        assert!(
            judge(Validator::NotNull, &two_cols)
                .unwrap_err()
                .contains("more than one column")
        );
        assert!(Validator::from_stored("operator", Some("{}")).is_err());
        assert!(Validator::from_stored("regex", None).is_err());
    }
}
