//! An alert or report as a schedule manifest: charts and dashboards by uuid, recipients by
//! channel, and only the settings that differ from Superset's defaults.

use serde_json::{Map, Value, json};

use super::put;
use crate::model::{Catalog, Schedule};
use crate::plan::desired::defaults;

pub(super) fn spec(s: &Schedule, _catalog: &Catalog) -> Value {
    let mut spec = Map::new();
    spec.insert("type".into(), json!(s.schedule_type));
    put(
        &mut spec,
        "description",
        s.description.as_ref().map(|v| json!(v)),
    );
    if !s.active {
        spec.insert("active".into(), json!(false));
    }
    spec.insert("crontab".into(), json!(s.crontab));
    if s.timezone != defaults::TIMEZONE {
        spec.insert("timezone".into(), json!(s.timezone));
    }
    put(
        &mut spec,
        "chart",
        s.chart.as_ref().map(|u| json!({"uuid": u})),
    );
    put(
        &mut spec,
        "dashboard",
        s.dashboard.as_ref().map(|u| json!({"uuid": u})),
    );
    put(&mut spec, "database", s.database.as_ref().map(|v| json!(v)));
    put(&mut spec, "sql", s.sql.as_ref().map(|v| json!(v)));
    if let Some(v) = &s.validator {
        let mut validator = Map::new();
        let kind = if v.validator_type == "not null" {
            "NotNull"
        } else {
            "Operator"
        };
        validator.insert("type".into(), json!(kind));
        put(&mut validator, "operator", v.op.as_ref().map(|o| json!(o)));
        put(&mut validator, "threshold", v.threshold.map(|t| json!(t)));
        spec.insert("validator".into(), Value::Object(validator));
    }
    let recipients = recipients(s);
    if !recipients.is_empty() {
        spec.insert("recipients".into(), Value::Object(recipients));
    }
    spec.insert("owners".into(), json!(s.owners));
    put(&mut spec, "runAs", s.run_as.as_ref().map(|v| json!(v)));
    put(
        &mut spec,
        "runAlertQueryAs",
        s.run_alert_query_as.as_ref().map(|v| json!(v)),
    );
    if s.report_format != defaults::REPORT_FORMAT {
        spec.insert("reportFormat".into(), json!(s.report_format));
    }
    let extra: Value = serde_json::from_str(&s.extra).unwrap_or(Value::Null);
    put(
        &mut spec,
        "attachContent",
        extra.get("attach_content").cloned(),
    );
    for (field, value, default) in [
        (
            "workingTimeoutSeconds",
            s.working_timeout,
            defaults::WORKING_TIMEOUT,
        ),
        ("gracePeriodSeconds", s.grace_period, defaults::GRACE_PERIOD),
        ("logRetentionDays", s.log_retention, defaults::LOG_RETENTION),
    ] {
        if value != default {
            spec.insert(field.into(), json!(value));
        }
    }
    put(
        &mut spec,
        "emailSubject",
        s.email_subject.as_ref().map(|v| json!(v)),
    );
    put(&mut spec, "message", s.message.as_ref().map(|v| json!(v)));
    let mut screenshot = Map::new();
    put(&mut screenshot, "width", s.custom_width.map(|v| json!(v)));
    put(&mut screenshot, "height", s.custom_height.map(|v| json!(v)));
    if s.force_screenshot {
        screenshot.insert("force".into(), json!(true));
    }
    if !screenshot.is_empty() {
        spec.insert("screenshot".into(), Value::Object(screenshot));
    }
    Value::Object(spec)
}

fn recipients(s: &Schedule) -> Map<String, Value> {
    let list = |text: Option<&String>| -> Vec<String> {
        text.map(|t| {
            t.split([',', ';'])
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
    };
    let mut out = Map::new();
    for r in &s.recipients {
        let target = list(r.config.get("target"));
        match r.recipient_type.as_str() {
            "Email" => {
                let mut email = Map::new();
                for (field, key) in [("to", "target"), ("cc", "ccTarget"), ("bcc", "bccTarget")] {
                    let items = list(r.config.get(key));
                    if !items.is_empty() {
                        email.insert(field.into(), json!(items));
                    }
                }
                out.insert("email".into(), Value::Object(email));
            }
            "Slack" | "SlackV2" => {
                out.insert("slack".into(), json!({"channels": target}));
            }
            "Webhook" => {
                let url = r.config.get("target").cloned().unwrap_or_default();
                out.insert("webhook".into(), json!({"url": url}));
            }
            _ => {}
        }
    }
    out
}
