//! The notification a run sends, as Superset words it (`superset/reports/notifications/`): the
//! subject with its prefix and optional date format, the HTML body with the description, the
//! call to action, a TEXT report's table, or an error text; the webhook's JSON payload. Every
//! string from Superset's database is escaped for HTML here.

use chrono::{DateTime, Utc};
use serde_json::{Value as Json, json};

use crate::escape::html_text;

/// Data shown as a table in the message (TEXT reports).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Json>>,
}

/// A file attached to the notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub file_name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// What a notification says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Notification {
    /// The title: the e-mail subject's base (`name: chart` or the schedule's subject).
    pub name: String,
    /// Superset's link to the chart or dashboard.
    pub url: String,
    pub description: Option<String>,
    /// An error text instead of content (error notices to owners).
    pub error_text: Option<String>,
    pub table: Option<Table>,
    pub attachments: Vec<Attachment>,
    /// Screenshots shown in the e-mail's body (Content-ID `image-N`), also attached.
    pub images: Vec<Attachment>,
    /// Webhook header fields (`notification_type`, `notification_source`, …).
    pub header: Json,
}

/// Wording settings (Superset's `EMAIL_REPORTS_SUBJECT_PREFIX` and `EMAIL_REPORTS_CTA`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wording {
    pub subject_prefix: String,
    pub call_to_action: String,
}

impl Default for Wording {
    fn default() -> Wording {
        Wording {
            subject_prefix: "[Report] ".into(),
            call_to_action: "Explore in Superset".into(),
        }
    }
}

/// The title with the date, as the configuration's `date_format_in_email_subject` asks: `true`
/// applies strftime to the title itself (Superset's `_parse_name`; an invalid format leaves the
/// title as written); a format string appends the date in that format; absent or `false`
/// leaves the title alone.
pub fn dated_name(name: &str, setting: Option<&Json>, now: DateTime<Utc>) -> String {
    use chrono::format::{Item, StrftimeItems};
    let format = |pattern: &str| -> Option<String> {
        let items: Vec<Item> = StrftimeItems::new(pattern).collect();
        if items.iter().any(|i| matches!(i, Item::Error)) {
            return None;
        }
        Some(now.format_with_items(items.into_iter()).to_string())
    };
    match setting {
        Some(Json::Bool(true)) if name.contains('%') => {
            format(name).unwrap_or_else(|| name.to_owned())
        }
        Some(Json::String(pattern)) if !pattern.is_empty() => match format(pattern) {
            Some(date) => format!("{name} {date}"),
            None => name.to_owned(),
        },
        _ => name.to_owned(),
    }
}

/// The e-mail subject: `"{prefix} {title}"` as Superset's template, on one line.
pub fn subject(wording: &Wording, title: &str) -> String {
    let line = format!("{} {}", wording.subject_prefix, title);
    line.split(['\r', '\n']).collect::<Vec<_>>().join(" ")
}

/// The HTML body of the e-mail.
pub fn email_html(notification: &Notification, wording: &Wording) -> String {
    let url = html_text(&notification.url);
    let cta = html_text(&wording.call_to_action);
    if let Some(error) = &notification.error_text {
        return format!(
            "<html><body>\n<p>Your report/alert was unable to be generated because of the following error: {}</p>\n<p>Please check your dashboard/chart for errors.</p>\n<p><b><a href=\"{url}\">{cta}</a></b></p>\n</body></html>\n",
            html_text(error)
        );
    }
    let description = notification
        .description
        .as_deref()
        .map(html_text)
        .unwrap_or_default();
    let mut table = notification
        .table
        .as_ref()
        .map(html_table)
        .unwrap_or_default();
    for i in 0..notification.images.len() {
        table.push_str(&format!(
            "<img width=\"1000\" src=\"cid:{}\">\n",
            image_content_id(i)
        ));
    }
    format!(
        "<html>\n<head><style type=\"text/css\">table, th, td {{ border-collapse: collapse; border-color: rgb(200, 212, 227); color: rgb(42, 63, 95); padding: 4px 8px; }}</style></head>\n<body>\n<div>{description}</div>\n<br>\n<b><a href=\"{url}\">{cta}</a></b><p></p>\n{table}</body>\n</html>\n"
    )
}

/// The Content-ID of the `index`th screenshot shown in the body.
pub fn image_content_id(index: usize) -> String {
    format!("image-{index}")
}

/// The plain-text alternative of the e-mail.
pub fn email_text(notification: &Notification, wording: &Wording) -> String {
    let mut out = String::new();
    if let Some(error) = &notification.error_text {
        out.push_str(&format!(
            "Your report/alert was unable to be generated because of the following error: {error}\nPlease check your dashboard/chart for errors.\n"
        ));
    } else if let Some(description) = &notification.description {
        out.push_str(description);
        out.push('\n');
    }
    out.push_str(&format!(
        "{}: {}\n",
        wording.call_to_action, notification.url
    ));
    if let Some(table) = &notification.table {
        out.push('\n');
        out.push_str(&text_table(table));
    }
    out
}

fn cell_text(value: &Json) -> String {
    match value {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A table as HTML, every cell escaped.
pub fn html_table(table: &Table) -> String {
    let mut out = String::from("<table border=\"1\" class=\"dataframe\">\n<thead><tr>");
    for column in &table.columns {
        out.push_str(&format!("<th>{}</th>", html_text(column)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &table.rows {
        out.push_str("<tr>");
        for value in row {
            out.push_str(&format!("<td>{}</td>", html_text(&cell_text(value))));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// A table as aligned plain text (tabs and line breaks in cells shown as spaces).
pub fn text_table(table: &Table) -> String {
    let clean = |s: String| s.replace(['\t', '\r', '\n'], " ");
    let header: Vec<String> = table.columns.iter().cloned().map(clean).collect();
    let rows: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|r| r.iter().map(|v| clean(cell_text(v))).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: &[String]| -> String {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths.get(i).copied().unwrap_or(0)))
            .collect();
        format!("{}\n", padded.join(" | ").trim_end())
    };
    let mut out = line(&header);
    out.push_str(&format!(
        "{}\n",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-+-")
    ));
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}

/// The JSON a webhook receives, as Superset's `WebhookNotification` sends it.
pub fn webhook_payload(notification: &Notification) -> Json {
    json!({
        "name": notification.name,
        "header": notification.header,
        "text": notification.error_text,
        "description": notification.description,
        "url": notification.url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn subject_prefix_date_and_one_line() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap();
        let on = Json::Bool(true);
        assert_eq!(
            dated_name("Sales %Y-%m-%d", Some(&on), now),
            "Sales 2026-11-30"
        );
        assert_eq!(dated_name("Sales %Y-%m-%d", None, now), "Sales %Y-%m-%d");
        assert_eq!(dated_name("100%", Some(&on), now), "100%");
        assert_eq!(
            dated_name("Sales", Some(&json!("%d.%m.%Y")), now),
            "Sales 30.11.2026"
        );
        assert_eq!(dated_name("Sales", Some(&json!("%Q")), now), "Sales");
        let s = subject(&Wording::default(), "a\r\nBcc: evil@x.com");
        assert!(!s.contains('\n') && !s.contains('\r'));
        assert!(s.starts_with("[Report]  a"));
    }

    #[test]
    fn html_escapes_everything_from_the_database() {
        let n = Notification {
            name: "n".into(),
            url: "http://x/?a=1&b=\"2\"".into(),
            description: Some("<script>alert(1)</script>".into()),
            table: Some(Table {
                columns: vec!["<b>region</b>".into()],
                rows: vec![
                    vec![json!("<img src=x onerror=alert(1)>")],
                    vec![Json::Null],
                ],
            }),
            ..Notification::default()
        };
        let html = email_html(&n, &Wording::default());
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<img"));
        assert!(!html.contains("<b>region"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("a=1&amp;b=&quot;2&quot;"));
        let text = email_text(&n, &Wording::default());
        assert!(text.contains("<b>region</b>"));
    }

    #[test]
    fn text_table_aligns() {
        let t = Table {
            columns: vec!["region".into(), "amount".into()],
            rows: vec![
                vec![json!("EMEA"), json!(1200.5)],
                vec![json!("A\nB"), Json::Null],
            ],
        };
        let out = text_table(&t);
        assert_eq!(out.lines().count(), 4);
        assert!(out.lines().nth(3).unwrap().starts_with("A B"));
    }
}
