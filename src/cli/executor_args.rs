//! Flags shared by `steward execute` and `steward scheduler`: where Superset's web API is, the
//! signing secret it accepts, the SMTP server and the wording of messages. Secrets come only
//! from the environment or files (`STEWARD_SUPERSET_SECRET_KEY[_FILE]`,
//! `STEWARD_SMTP_PASSWORD[_FILE]`), never from flags, so they never show in a process list
//! or a Job spec.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

use super::database::DatabaseArgs;
use crate::execute::email::{Mailer, SmtpSecurity, SmtpSettings};
use crate::execute::notice::Wording;
use crate::execute::run::{Executor, Screenshots};
use crate::execute::webhook::WebhookSender;
use crate::secret::Secret;
use crate::superset::SupersetClient;
use crate::superset::screenshot::BrowserSettings;

/// Environment variable of Superset's JWT signing secret (its `JWT_SECRET_KEY`, by default its
/// `SECRET_KEY`); `…_FILE` names a file holding it.
pub const SECRET_KEY_ENV: &str = "STEWARD_SUPERSET_SECRET_KEY";
/// Environment variable of the SMTP password; `…_FILE` names a file holding it.
pub const SMTP_PASSWORD_ENV: &str = "STEWARD_SMTP_PASSWORD";
/// Environment variable of Superset's Flask `SECRET_KEY`, when its `JWT_SECRET_KEY` is set
/// apart; `…_FILE` names a file holding it.
pub const SESSION_KEY_ENV: &str = "STEWARD_SUPERSET_SESSION_KEY";

/// How runs reach Superset and deliver.
#[derive(Args, Debug, Clone)]
pub struct ExecutorArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Superset's web address, e.g. `http://superset:8088`: content and alert queries are
    /// requested there as each run's user. The signing secret is read from
    /// $STEWARD_SUPERSET_SECRET_KEY or the file named by $STEWARD_SUPERSET_SECRET_KEY_FILE.
    #[arg(long, env = "STEWARD_SUPERSET_URL", value_name = "URL")]
    pub superset_url: String,
    /// Seconds one request to Superset, the SMTP server or a webhook may take.
    #[arg(long, default_value_t = 120)]
    pub request_timeout_seconds: u64,
    /// SMTP server host; without it, e-mail recipients make a run fail.
    #[arg(long, env = "STEWARD_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP port [default: 587 for starttls, 465 for tls, 25 for none].
    #[arg(long, env = "STEWARD_SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// Connection security.
    #[arg(long, env = "STEWARD_SMTP_SECURITY", value_enum, default_value_t = SmtpSecurity::Starttls)]
    pub smtp_security: SmtpSecurity,
    /// SMTP user (AUTH); the password is read from $STEWARD_SMTP_PASSWORD or the file named by
    /// $STEWARD_SMTP_PASSWORD_FILE.
    #[arg(long, env = "STEWARD_SMTP_USER")]
    pub smtp_user: Option<String>,
    /// The sender address (Superset's `SMTP_MAIL_FROM`).
    #[arg(long, env = "STEWARD_SMTP_FROM", default_value = "superset@localhost")]
    pub smtp_from: String,
    /// PEM file of a private CA that signed the SMTP server's certificate.
    #[arg(long, env = "STEWARD_SMTP_CA_FILE", value_name = "FILE")]
    pub smtp_ca_file: Option<std::path::PathBuf>,
    /// Prefix of every e-mail subject (Superset's `EMAIL_REPORTS_SUBJECT_PREFIX`).
    #[arg(long, default_value = "[Report] ")]
    pub subject_prefix: String,
    /// Link text in messages (Superset's `EMAIL_REPORTS_CTA`).
    #[arg(long, default_value = "Explore in Superset")]
    pub call_to_action: String,
    /// Refuse plain-HTTP webhook URLs (Superset's `ALERT_REPORTS_WEBHOOK_HTTPS_ONLY`).
    #[arg(long)]
    pub webhook_https_only: bool,
    /// Chromium for PNG and PDF reports (Debian's `/usr/bin/chromium`), logged in as each
    /// run's user with a session signed with Superset's SECRET_KEY (the signing secret, or
    /// $STEWARD_SUPERSET_SESSION_KEY[_FILE] when JWT_SECRET_KEY is set apart). Without it,
    /// PNG and PDF runs fail with that reason.
    #[arg(long, env = "STEWARD_CHROMIUM", value_name = "PATH")]
    pub chromium: Option<std::path::PathBuf>,
    /// Seconds a page may take until every chart has rendered (Superset's
    /// SCREENSHOT_LOAD_WAIT).
    #[arg(long, default_value_t = 60)]
    pub screenshot_timeout_seconds: u64,
    /// Milliseconds left for animations once every chart has rendered (Superset's
    /// SCREENSHOT_SELENIUM_ANIMATION_WAIT is 5 s).
    #[arg(long, default_value_t = 2000)]
    pub screenshot_animation_wait_ms: u64,
    /// Device pixels per CSS pixel of screenshots (Superset's WEBDRIVER_WINDOW pixel_density).
    #[arg(long, default_value_t = 1.0)]
    pub screenshot_device_scale: f64,
    /// Run Chromium without its sandbox (as root it always is): for containers that allow no
    /// user namespaces, where the container isolates the browser instead.
    #[arg(long, env = "STEWARD_CHROMIUM_NO_SANDBOX")]
    pub chromium_no_sandbox: bool,
}

impl ExecutorArgs {
    /// Everything but the database connection, checked: the secret read, the mailer set up.
    pub fn executor(&self, store: crate::store::Store) -> anyhow::Result<Executor> {
        let timeout = Duration::from_secs(self.request_timeout_seconds.max(1));
        let jwt_secret = Secret::from_env(SECRET_KEY_ENV)
            .map_err(anyhow::Error::msg)?
            .with_context(|| {
                format!(
                    "no signing secret: set {SECRET_KEY_ENV} (or {SECRET_KEY_ENV}_FILE) to Superset's JWT_SECRET_KEY (its SECRET_KEY unless set apart)"
                )
            })?;
        let superset = SupersetClient::new(&self.superset_url, timeout)?;
        let screenshots = match &self.chromium {
            None => None,
            Some(path) => {
                if !path.is_file() {
                    bail!(
                        "--chromium {}: no such file (on Debian: apt-get install chromium, then /usr/bin/chromium)",
                        path.display()
                    );
                }
                if !(0.5..=4.0).contains(&self.screenshot_device_scale) {
                    bail!("--screenshot-device-scale must be between 0.5 and 4");
                }
                let session_secret = Secret::from_env(SESSION_KEY_ENV)
                    .map_err(anyhow::Error::msg)?
                    .unwrap_or_else(|| jwt_secret.clone());
                Some(Screenshots {
                    browser: BrowserSettings {
                        executable: path.clone(),
                        load_timeout: Duration::from_secs(self.screenshot_timeout_seconds.max(1)),
                        animation_wait: Duration::from_millis(self.screenshot_animation_wait_ms),
                        device_scale: self.screenshot_device_scale,
                        no_sandbox: self.chromium_no_sandbox,
                    },
                    session_secret,
                })
            }
        };
        let mailer = match &self.smtp_host {
            None => {
                if self.smtp_user.is_some() {
                    bail!("--smtp-user is set but --smtp-host is not");
                }
                None
            }
            Some(host) => {
                let ca_pem = match &self.smtp_ca_file {
                    Some(path) => Some(std::fs::read(path).with_context(|| {
                        format!("cannot read the SMTP CA file {}", path.display())
                    })?),
                    None => None,
                };
                let settings = SmtpSettings {
                    host: host.clone(),
                    port: self.smtp_port.unwrap_or(match self.smtp_security {
                        SmtpSecurity::Starttls => 587,
                        SmtpSecurity::Tls => 465,
                        SmtpSecurity::None => 25,
                    }),
                    security: self.smtp_security,
                    username: self.smtp_user.clone(),
                    password: Secret::from_env(SMTP_PASSWORD_ENV).map_err(anyhow::Error::msg)?,
                    from: self.smtp_from.clone(),
                    ca_pem,
                    timeout,
                };
                Some(Mailer::new(&settings).map_err(anyhow::Error::msg)?)
            }
        };
        Ok(Executor {
            store,
            superset,
            jwt_secret,
            mailer,
            webhooks: WebhookSender::new(timeout, self.webhook_https_only)
                .map_err(anyhow::Error::msg)?,
            wording: Wording {
                subject_prefix: self.subject_prefix.clone(),
                call_to_action: self.call_to_action.clone(),
            },
            screenshots,
        })
    }
}
