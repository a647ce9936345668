//! Webhook delivery as Superset's `WebhookNotification` sends it: a JSON POST, or a multipart
//! form with the payload's fields and the files when there are attachments. The URL is a
//! secret (it often carries a token): no message ever prints it.

use std::time::Duration;

use reqwest::multipart::{Form, Part};

use super::notice::{Notification, webhook_payload};

/// Sends webhook notifications.
#[derive(Clone)]
pub struct WebhookSender {
    http: reqwest::Client,
    https_only: bool,
}

impl WebhookSender {
    /// A sender; `https_only` refuses plain-HTTP URLs (Superset's
    /// `ALERT_REPORTS_WEBHOOK_HTTPS_ONLY`).
    pub fn new(timeout: Duration, https_only: bool) -> Result<WebhookSender, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot set up the webhook client: {e}"))?;
        Ok(WebhookSender { http, https_only })
    }

    /// POSTs `notification` to `url`.
    pub async fn send(&self, url: &str, notification: &Notification) -> Result<(), String> {
        let parsed =
            url::Url::parse(url).map_err(|_| "the webhook URL is not a URL".to_string())?;
        match parsed.scheme() {
            "https" => {}
            "http" if !self.https_only => {}
            "http" => return Err("the webhook URL is plain HTTP and only HTTPS is allowed".into()),
            _ => return Err("the webhook URL's scheme is not http or https".into()),
        }
        let payload = webhook_payload(notification);
        let request = if notification.attachments.is_empty() && notification.images.is_empty() {
            self.http.post(parsed).json(&payload)
        } else {
            let mut form = Form::new();
            if let Some(fields) = payload.as_object() {
                for (key, value) in fields {
                    let text = match value {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Null => continue,
                        other => other.to_string(),
                    };
                    form = form.text(key.clone(), text);
                }
            }
            for attachment in notification.images.iter().chain(&notification.attachments) {
                let part = Part::bytes(attachment.bytes.clone())
                    .file_name(attachment.file_name.clone())
                    .mime_str(attachment.content_type)
                    .map_err(|e| format!("bad content type: {e}"))?;
                form = form.part("files", part);
            }
            self.http.post(parsed).multipart(form)
        };
        let response = request.send().await.map_err(|e| {
            let kind = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "could not be reached"
            } else {
                "failed"
            };
            format!("the webhook {kind}")
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        Err(format!("the webhook answered HTTP {}", status.as_u16()))
    }
}
