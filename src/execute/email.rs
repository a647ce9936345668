//! E-mail delivery over SMTP with lettre: plain, STARTTLS or implicit TLS, optional AUTH with a
//! password from a secret, a private CA for servers with their own certificates. The message
//! is Superset's: HTML body with a plain-text alternative, the CSV attached.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment as MailAttachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::notice::{Notification, Wording, email_html, email_text, image_content_id};
use crate::secret::Secret;

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SmtpSecurity {
    /// No TLS (a relay on the same host only).
    None,
    /// Plain connection upgraded with STARTTLS; refused if the server does not offer it.
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

/// Where and how e-mail is sent.
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// The sender (`SMTP_MAIL_FROM`).
    pub from: String,
    /// PEM certificates of a private CA the server's certificate is signed by.
    pub ca_pem: Option<Vec<u8>>,
    pub timeout: Duration,
}

/// The recipients of one e-mail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Addressees {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
}

/// A connected-on-demand SMTP sender (lettre pools connections).
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    host: String,
}

impl Mailer {
    /// Prepares a sender; nothing is connected yet.
    pub fn new(settings: &SmtpSettings) -> Result<Mailer, String> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| format!("the sender address {:?} is not valid: {e}", settings.from))?;
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.clone())
                .port(settings.port)
                .timeout(Some(settings.timeout));
        if settings.security != SmtpSecurity::None {
            let mut tls = TlsParameters::builder(settings.host.clone());
            if let Some(pem) = &settings.ca_pem {
                let cert = Certificate::from_pem(pem)
                    .map_err(|e| format!("the SMTP CA certificate is not PEM: {e}"))?;
                tls = tls.add_root_certificate(cert);
            }
            let tls = tls
                .build_rustls()
                .map_err(|e| format!("cannot set up TLS for {}: {e}", settings.host))?;
            builder = builder.tls(match settings.security {
                SmtpSecurity::Starttls => Tls::Required(tls),
                _ => Tls::Wrapper(tls),
            });
        }
        match (&settings.username, &settings.password) {
            (Some(user), Some(password)) => {
                let password = password
                    .expose_text()
                    .ok_or("the SMTP password is not UTF-8 text")?;
                builder = builder.credentials(Credentials::new(user.clone(), password.to_owned()));
            }
            (Some(_), None) => {
                return Err("an SMTP user is set but no password (STEWARD_SMTP_PASSWORD or STEWARD_SMTP_PASSWORD_FILE)".into());
            }
            (None, Some(_)) => {
                return Err("an SMTP password is set but no user (--smtp-user)".into());
            }
            (None, None) => {}
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
            host: format!("{}:{}", settings.host, settings.port),
        })
    }

    /// Sends `notification` with `subject` to `addressees`.
    pub async fn send(
        &self,
        subject: &str,
        notification: &Notification,
        wording: &Wording,
        addressees: &Addressees,
    ) -> Result<(), String> {
        let message = build_message(&self.from, subject, notification, wording, addressees)?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("the SMTP server {} refused the message: {e}", self.host))
    }
}

fn mailbox(address: &str) -> Result<Mailbox, String> {
    address
        .trim()
        .parse()
        .map_err(|e| format!("the recipient address {address:?} is not valid: {e}"))
}

/// A file name safe in any mail client: no path separators or control characters.
fn file_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let clean = clean.trim().trim_start_matches('.').to_owned();
    if clean.is_empty() {
        "report".into()
    } else {
        clean
    }
}

/// The message: a plain-text and an HTML alternative, then the attachments.
pub fn build_message(
    from: &Mailbox,
    subject: &str,
    notification: &Notification,
    wording: &Wording,
    addressees: &Addressees,
) -> Result<Message, String> {
    if addressees.to.is_empty() {
        return Err("the e-mail has no To address".into());
    }
    let mut builder = Message::builder().from(from.clone()).subject(subject);
    for a in &addressees.to {
        builder = builder.to(mailbox(a)?);
    }
    for a in &addressees.cc {
        builder = builder.cc(mailbox(a)?);
    }
    for a in &addressees.bcc {
        builder = builder.bcc(mailbox(a)?);
    }
    let html = SinglePart::html(email_html(notification, wording));
    let html_part = if notification.images.is_empty() {
        MultiPart::alternative()
            .singlepart(SinglePart::plain(email_text(notification, wording)))
            .singlepart(html)
    } else {
        // The screenshots travel with the HTML that shows them (multipart/related).
        let mut related = MultiPart::related().singlepart(html);
        for (i, image) in notification.images.iter().enumerate() {
            let content_type = ContentType::parse(image.content_type)
                .map_err(|e| format!("bad content type {}: {e}", image.content_type))?;
            related = related.singlepart(
                MailAttachment::new_inline(image_content_id(i))
                    .body(image.bytes.clone(), content_type),
            );
        }
        MultiPart::alternative()
            .singlepart(SinglePart::plain(email_text(notification, wording)))
            .multipart(related)
    };
    let mut mixed = MultiPart::mixed().multipart(html_part);
    for attachment in notification.images.iter().chain(&notification.attachments) {
        let content_type = ContentType::parse(attachment.content_type)
            .map_err(|e| format!("bad content type {}: {e}", attachment.content_type))?;
        mixed = mixed.singlepart(
            MailAttachment::new(file_name(&attachment.file_name))
                .body(attachment.bytes.clone(), content_type),
        );
    }
    builder
        .multipart(mixed)
        .map_err(|e| format!("cannot build the e-mail: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execute::notice::Attachment;

    #[test]
    fn builds_a_message_with_bcc_kept_out_of_the_headers() {
        let from: Mailbox = "steward@example.com".parse().unwrap();
        let n = Notification {
            name: "Sales".into(),
            url: "http://superset/explore/?slice_id=1".into(),
            attachments: vec![Attachment {
                file_name: "../Sales: weekly.csv".into(),
                content_type: "text/csv",
                bytes: b"a,b\n1,2\n".to_vec(),
            }],
            ..Notification::default()
        };
        let to = Addressees {
            to: vec!["a@example.com".into()],
            cc: vec!["c@example.com".into()],
            bcc: vec!["hidden@example.com".into()],
        };
        let message = build_message(&from, "[Report] Sales", &n, &Wording::default(), &to).unwrap();
        let envelope = message.envelope();
        assert_eq!(envelope.to().len(), 3);
        let text = String::from_utf8(message.formatted()).unwrap();
        assert!(!text.contains("hidden@example.com"));
        assert!(text.contains("Cc: c@example.com"));
        assert!(text.contains("_Sales_ weekly.csv"));
        assert!(!text.contains("../"));
    }

    #[test]
    fn bad_addresses_are_named() {
        let from: Mailbox = "steward@example.com".parse().unwrap();
        let to = Addressees {
            to: vec!["not an address".into()],
            ..Addressees::default()
        };
        let e = build_message(
            &from,
            "s",
            &Notification::default(),
            &Wording::default(),
            &to,
        )
        .unwrap_err();
        assert!(e.contains("not an address"));
    }
}
