//! Schedule checks one object's CEL rules cannot express: crontab and timezone syntax, content
//! formats that do not fit the content, alert-only fields on reports, alert attachments the
//! configuration turns off, and schedules that notify nobody.

use crate::fast_hash::FastMap;

use super::locate;
use crate::diagnostic::{Code, Diagnostic};
use crate::manifests::LoadedSet;
use crate::resources::{ReportFormat, Resource, ScheduleType};
use crate::schedule::crontab::{closest_timezone, parse_crontab, parse_timezone};
use crate::schedule::min_gap::never_fires;

pub(super) fn check(set: &LoadedSet, found: &mut Vec<Diagnostic>) {
    // SIP-209: with attachments for alerts off, an alert asking for one is kept and ignored.
    let attachments_off = set.objects.iter().any(|o| {
        matches!(&o.resource, Resource::Config(c) if c.spec.alerts_attach_reports == Some(false))
    });
    // Organisations reuse a handful of crontabs; parse each distinct one once.
    let mut crontabs: FastMap<&str, Result<(), (String, &str)>> = FastMap::default();
    for (index, object) in set.objects.iter().enumerate() {
        let Resource::Schedule(schedule) = &object.resource else {
            continue;
        };
        let spec = &schedule.spec;
        let parsed = crontabs.entry(spec.crontab.as_str()).or_insert_with(|| {
            let cron = parse_crontab(&spec.crontab)
                .map_err(|m| (m, "use five fields, e.g. `0 8 * * 1` for Mondays at 08:00"))?;
            match never_fires(&cron) {
                true => Err((
                    format!("`{}` never fires: no calendar day matches it", spec.crontab),
                    "name a day that exists, e.g. `L` for the last day of the month",
                )),
                false => Ok(()),
            }
        });
        if let Err((message, hint)) = parsed.clone() {
            found.push(locate(
                set,
                index,
                "spec.crontab",
                Diagnostic::error(Code::InvalidCron, message).hint(hint),
            ));
        }
        if let Some(tz) = &spec.timezone
            && let Err(message) = parse_timezone(tz)
        {
            let hint = closest_timezone(tz)
                .map(|near| format!("did you mean `{near}`?"))
                .unwrap_or_else(|| "use an IANA name such as `Europe/Berlin` or `UTC`".to_owned());
            found.push(locate(
                set,
                index,
                "spec.timezone",
                Diagnostic::error(Code::InvalidTimezone, message).hint(hint),
            ));
        }
        if let (Some(format @ (ReportFormat::Csv | ReportFormat::Text)), Some(_)) =
            (spec.report_format, &spec.dashboard)
        {
            found.push(locate(
                set,
                index,
                "spec.reportFormat",
                Diagnostic::error(
                    Code::BadValue,
                    format!(
                        "reportFormat {} needs a chart; dashboards are sent as PNG or PDF",
                        format.as_str()
                    ),
                )
                .hint("use PNG or PDF, or send a chart"),
            ));
        }
        if spec.report_format == Some(ReportFormat::None)
            && spec.chart.is_none()
            && spec.dashboard.is_none()
        {
            found.push(locate(
                set,
                index,
                "spec.reportFormat",
                Diagnostic::warning(
                    Code::BadValue,
                    "an alert with reportFormat NONE and neither chart nor dashboard: Superset 6.1's own scheduler fails every run of it (it names the message after the content); a Superset with SIP-209 runs it",
                )
                .hint("add a chart or dashboard while Superset 6.1 runs this alert"),
            ));
        }
        if spec.schedule_type == ScheduleType::Report {
            for (field, set_here) in [
                ("spec.runAlertQueryAs", spec.run_alert_query_as.is_some()),
                (
                    "spec.gracePeriodSeconds",
                    spec.grace_period_seconds.is_some(),
                ),
                ("spec.attachContent", spec.attach_content.is_some()),
            ] {
                if set_here {
                    found.push(locate(
                        set,
                        index,
                        field,
                        Diagnostic::warning(
                            Code::IneffectiveField,
                            format!("`{field}` applies to alerts only; this is a Report"),
                        )
                        .hint("remove it, or make the schedule an Alert"),
                    ));
                }
            }
        }
        if attachments_off
            && spec.schedule_type == ScheduleType::Alert
            && spec.attach_content == Some(true)
        {
            found.push(locate(
                set,
                index,
                "spec.attachContent",
                Diagnostic::warning(
                    Code::IneffectiveField,
                    "attachments for alerts are off in the ReportConfiguration: this alert is sent without its content",
                )
                .hint("remove attachContent, or set alertsAttachReports: true"),
            ));
        }
        if spec.recipients.is_empty() {
            found.push(locate(
                set,
                index,
                "spec",
                Diagnostic::warning(
                    Code::IneffectiveField,
                    "the schedule has no recipients; only its owners hear of failures",
                )
                .hint("add spec.recipients.email.to (or slack / webhook)"),
            ));
        }
    }
}
