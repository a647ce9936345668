//! Screenshots of Superset's charts and dashboards as one user: Debian's headless Chromium,
//! driven over the DevTools protocol (chromiumoxide), logged in with a Flask session cookie
//! minted for the run's user ([`crate::token::session`]), the way Superset's machine
//! authentication logs its own executor in. The page is captured only once every chart has
//! rendered ([`super::render_state`]); a failed chart, the login page or a timeout fails the
//! capture with the reason. PNG is the page's content; PDF is one page per capture.

use std::path::PathBuf;
use std::time::Duration;

use chromiumoxide::cdp::browser_protocol::network::CookieParam;
use chromiumoxide::cdp::browser_protocol::page::{CaptureScreenshotFormat, PrintToPdfParams};
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{Browser, BrowserConfig};
use futures_util::StreamExt;

use super::render_state::{Decision, PROBE, Seen, decide};
use crate::secret::Secret;
use crate::token::session::{SESSION_COOKIE, session_cookie};

/// How the browser runs.
#[derive(Clone, Debug)]
pub struct BrowserSettings {
    /// The Chromium binary (Debian's `/usr/bin/chromium`).
    pub executable: PathBuf,
    /// The longest wait for every chart to render (Superset's `SCREENSHOT_LOAD_WAIT`, 60 s).
    pub load_timeout: Duration,
    /// Time left for animations once every chart is drawn (Superset's
    /// `SCREENSHOT_SELENIUM_ANIMATION_WAIT`, 5 s).
    pub animation_wait: Duration,
    /// Device pixels per CSS pixel (Superset's `WEBDRIVER_WINDOW["pixel_density"]`, 1).
    pub device_scale: f64,
    /// Run Chromium without its sandbox (always as root, where Chromium refuses it; in a
    /// container that allows no user namespaces, the container isolates it instead).
    pub no_sandbox: bool,
}

/// What to capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// A chart, alone (`/explore/?slice_id=…&standalone=true`).
    Chart(i64),
    /// A dashboard in report mode (`/superset/dashboard/…/?standalone=3`).
    Dashboard(i64),
}

impl Subject {
    /// The page's path and query on Superset.
    pub fn path(self) -> String {
        match self {
            Subject::Chart(id) => format!("/explore/?slice_id={id}&standalone=true"),
            Subject::Dashboard(id) => format!("/superset/dashboard/{id}/?standalone=3"),
        }
    }

    /// Superset's window for reports (`WEBDRIVER_WINDOW`: slice 3000 × 1200, dashboard
    /// 1600 × 2000), a schedule's custom width and height replacing it, the width at most
    /// `ALERT_REPORTS_MAX_CUSTOM_SCREENSHOT_WIDTH` (2400) as Superset caps it.
    pub fn window(self, custom_width: Option<i64>, custom_height: Option<i64>) -> (u32, u32) {
        let (width, height) = match self {
            Subject::Chart(_) => (3000, 1200),
            Subject::Dashboard(_) => (1600, 2000),
        };
        let fit = |v: i64, max: i64| u32::try_from(v.clamp(100, max)).unwrap_or(100);
        (
            fit(custom_width.unwrap_or(width), 2400),
            fit(custom_height.unwrap_or(height), 20_000),
        )
    }

    fn root_selector(self) -> &'static str {
        match self {
            Subject::Chart(_) => ".chart-container",
            Subject::Dashboard(_) => ".standalone",
        }
    }
}

/// The file format of a capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Pdf,
}

/// Why a capture failed.
#[derive(Debug, thiserror::Error)]
pub enum ScreenshotError {
    #[error("cannot start the browser {executable}: {reason}")]
    Launch { executable: String, reason: String },
    #[error("the browser failed: {0}")]
    Browser(String),
    #[error("{0}")]
    NotRendered(String),
    #[error("the page did not finish rendering within {seconds} s ({still})")]
    Timeout { seconds: u64, still: String },
}

fn browser_error(e: impl std::fmt::Display) -> ScreenshotError {
    ScreenshotError::Browser(e.to_string())
}

/// Captures `subject` on Superset at `base_url` as the user `user_id` (its session signed with
/// Superset's `SECRET_KEY`), in a window of `window` CSS pixels.
pub async fn capture(
    settings: &BrowserSettings,
    base_url: &str,
    secret_key: &Secret,
    user_id: i64,
    subject: Subject,
    window: (u32, u32),
    format: ImageFormat,
) -> Result<Vec<u8>, ScreenshotError> {
    let profile = tempfile::tempdir().map_err(browser_error)?;
    let mut config = BrowserConfig::builder()
        .chrome_executable(&settings.executable)
        .new_headless_mode()
        .window_size(window.0, window.1)
        .viewport(None)
        .user_data_dir(profile.path())
        .request_timeout(settings.load_timeout)
        .args([
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--hide-scrollbars".to_owned(),
            "--mute-audio".to_owned(),
            // No crash handler (it needs a database directory some containers lack) and no
            // first-run work.
            "--disable-crash-reporter".to_owned(),
            "--no-first-run".to_owned(),
            format!("--force-device-scale-factor={}", settings.device_scale),
        ]);
    if settings.no_sandbox || rustix::process::geteuid().is_root() {
        config = config.no_sandbox();
    }
    let config = config.build().map_err(|reason| ScreenshotError::Launch {
        executable: settings.executable.display().to_string(),
        reason,
    })?;
    let (mut browser, mut handler) =
        Browser::launch(config)
            .await
            .map_err(|e| ScreenshotError::Launch {
                executable: settings.executable.display().to_string(),
                reason: e.to_string(),
            })?;
    let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
    let result = capture_in(
        &browser, settings, base_url, secret_key, user_id, subject, format,
    )
    .await;
    let _ = browser.close().await;
    let _ = browser.wait().await;
    events.abort();
    result
}

async fn capture_in(
    browser: &Browser,
    settings: &BrowserSettings,
    base_url: &str,
    secret_key: &Secret,
    user_id: i64,
    subject: Subject,
    format: ImageFormat,
) -> Result<Vec<u8>, ScreenshotError> {
    let base = base_url.trim_end_matches('/');
    let page = browser
        .new_page("about:blank")
        .await
        .map_err(browser_error)?;
    let now = chrono::Utc::now().timestamp();
    let mut cookie = CookieParam::new(SESSION_COOKIE, session_cookie(secret_key, user_id, now));
    cookie.url = Some(format!("{base}/"));
    cookie.http_only = Some(true);
    page.set_cookie(cookie).await.map_err(browser_error)?;
    page.goto(format!("{base}{}", subject.path()))
        .await
        .map_err(browser_error)?;
    let probe = PROBE.replace("ROOT", subject.root_selector());
    let deadline = tokio::time::Instant::now() + settings.load_timeout;
    let dashboard = matches!(subject, Subject::Dashboard(_));
    // Ready twice, the animation wait apart: a chart that fails late still fails the capture.
    let mut ready_once = false;
    loop {
        let seen: Seen = match page.evaluate(probe.as_str()).await {
            Ok(result) => result
                .into_value::<String>()
                .ok()
                .and_then(|json| serde_json::from_str(&json).ok())
                .unwrap_or_default(),
            // A navigation in progress destroys the context: look again.
            Err(_) => Seen::default(),
        };
        match decide(&seen, dashboard) {
            Decision::Ready if ready_once => break,
            Decision::Ready => {
                ready_once = true;
                tokio::time::sleep(settings.animation_wait).await;
            }
            Decision::Fail(reason) => return Err(ScreenshotError::NotRendered(reason)),
            Decision::Wait(still) => {
                ready_once = false;
                if tokio::time::Instant::now() >= deadline {
                    return Err(ScreenshotError::Timeout {
                        seconds: settings.load_timeout.as_secs(),
                        still,
                    });
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
    match format {
        ImageFormat::Png => page
            .screenshot(
                ScreenshotParams::builder()
                    .format(CaptureScreenshotFormat::Png)
                    .full_page(true)
                    .build(),
            )
            .await
            .map_err(browser_error),
        ImageFormat::Pdf => {
            // One page holding the whole content, as Superset's PDF puts each screenshot on
            // a page of its own.
            let size: (f64, f64) = page
                .evaluate(
                    "JSON.stringify([document.documentElement.scrollWidth, document.documentElement.scrollHeight])",
                )
                .await
                .ok()
                .and_then(|r| r.into_value::<String>().ok())
                .and_then(|json| serde_json::from_str(&json).ok())
                .unwrap_or((1600.0, 2000.0));
            let params = PrintToPdfParams {
                print_background: Some(true),
                paper_width: Some(size.0 / 96.0),
                paper_height: Some(size.1 / 96.0 + 0.01),
                margin_top: Some(0.0),
                margin_bottom: Some(0.0),
                margin_left: Some(0.0),
                margin_right: Some(0.0),
                prefer_css_page_size: Some(false),
                ..PrintToPdfParams::default()
            };
            page.pdf(params).await.map_err(browser_error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_follow_supersets_report_settings() {
        assert_eq!(Subject::Chart(1).window(None, None), (2400, 1200));
        assert_eq!(Subject::Dashboard(1).window(None, None), (1600, 2000));
        assert_eq!(
            Subject::Dashboard(1).window(Some(5000), Some(900)),
            (2400, 900)
        );
        assert_eq!(Subject::Dashboard(1).window(Some(10), None), (100, 2000));
        assert_eq!(
            Subject::Dashboard(9).path(),
            "/superset/dashboard/9/?standalone=3"
        );
    }
}
