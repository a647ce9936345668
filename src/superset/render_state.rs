//! When a Superset page is ready to be captured, from what a probe script sees in it: the page's
//! root element present, no loading spinner left, every chart rendered or failed. Upstream
//! captures after fixed waits and sends blank or half-drawn images; here a page is captured
//! only once every chart is drawn, and a chart that failed fails the run with its name. Pure:
//! the probe's JSON in, a decision out.

use serde::Deserialize;

/// The probe script: what the page shows now, as JSON text. `ROOT` is replaced by the CSS
/// selector of the element captured (`.standalone` for dashboards, `.chart-container` for
/// charts).
pub const PROBE: &str = r#"(() => {
  const all = (s, root) => Array.from((root || document).querySelectorAll(s));
  const text = (el) => (el && (el.innerText || el.textContent) || '').trim().slice(0, 300);
  const root = document.querySelector('ROOT');
  const holders = all('[data-test-chart-id]');
  const charts = holders.map((h) => {
    const body = h.querySelector('.dashboard-chart') || h;
    const error = body.querySelector('.ant-alert-error, [role="alert"]');
    const drawn = body.querySelector('svg, canvas, table, [data-test="empty-state"]');
    return {
      id: Number(h.getAttribute('data-test-chart-id')),
      name: h.getAttribute('data-test-chart-name') || text(h.querySelector('.header-title')),
      loading: all('.loading', body).length > 0,
      error: error ? text(error) : null,
      drawn: !!drawn,
    };
  });
  const pageErrors = all('.ant-alert-error').filter((e) => !holders.some((h) => h.contains(e))).map(text);
  return JSON.stringify({
    path: location.pathname,
    root: !!root,
    grid: !!document.querySelector('[data-test="grid-container"]'),
    loading: all('.loading').length,
    charts,
    pageErrors,
  });
})()"#;

/// What the probe saw.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seen {
    pub path: String,
    pub root: bool,
    /// A dashboard's layout grid is on the page (its charts mount into it).
    #[serde(default)]
    pub grid: bool,
    pub loading: usize,
    #[serde(default)]
    pub charts: Vec<ChartSeen>,
    #[serde(default)]
    pub page_errors: Vec<String>,
}

/// One chart on the page.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ChartSeen {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub name: String,
    pub loading: bool,
    pub error: Option<String>,
    pub drawn: bool,
}

/// What to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Every chart drawn: capture.
    Ready,
    /// Still rendering: look again (what is still missing, for the timeout's message).
    Wait(String),
    /// The page cannot be captured as the user would see it.
    Fail(String),
}

/// Decides from what the probe saw; `dashboard` says whether chart holders are expected.
pub fn decide(seen: &Seen, dashboard: bool) -> Decision {
    if seen.path.starts_with("/login") {
        return Decision::Fail(
            "Superset showed its login page: the run's user is inactive or unknown, or the signing key is not Superset's SECRET_KEY".into(),
        );
    }
    let failed: Vec<String> = seen
        .charts
        .iter()
        .filter_map(|c| {
            let error = c.error.as_deref()?;
            Some(format!(
                "chart {}{} failed: {}",
                quoted(&c.name),
                c.id.map(|id| format!(" (id {id})")).unwrap_or_default(),
                one_line(error)
            ))
        })
        .collect();
    if !failed.is_empty() {
        return Decision::Fail(failed.join("; "));
    }
    if let Some(error) = seen.page_errors.first() {
        return Decision::Fail(format!("the page shows an error: {}", one_line(error)));
    }
    if !seen.root || (dashboard && !seen.grid) {
        return Decision::Wait("the page has not drawn its content yet".into());
    }
    let pending: Vec<String> = seen
        .charts
        .iter()
        .filter(|c| c.loading || !c.drawn)
        .map(|c| quoted(&c.name))
        .collect();
    if !pending.is_empty() {
        return Decision::Wait(format!("charts still rendering: {}", pending.join(", ")));
    }
    if seen.loading > 0 {
        return Decision::Wait(format!("{} loading indicator(s) still shown", seen.loading));
    }
    // A dashboard without charts (text only) is ready once its grid is there and nothing loads.
    Decision::Ready
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", crate::escape::terminal(name))
}

fn one_line(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::escape::terminal(&flat).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(name: &str, drawn: bool, loading: bool, error: Option<&str>) -> ChartSeen {
        ChartSeen {
            id: Some(7),
            name: name.into(),
            loading,
            error: error.map(str::to_owned),
            drawn,
        }
    }

    fn seen(charts: Vec<ChartSeen>) -> Seen {
        Seen {
            path: "/superset/dashboard/3/".into(),
            root: true,
            grid: true,
            loading: 0,
            charts,
            page_errors: Vec::new(),
        }
    }

    #[test]
    fn ready_only_when_every_chart_is_drawn() {
        assert_eq!(
            decide(&seen(vec![chart("A", true, false, None)]), true),
            Decision::Ready
        );
        let waiting = decide(
            &seen(vec![
                chart("A", true, false, None),
                chart("B", false, true, None),
            ]),
            true,
        );
        assert_eq!(
            waiting,
            Decision::Wait("charts still rendering: \"B\"".into())
        );
        let mut spinner = seen(vec![chart("A", true, false, None)]);
        spinner.loading = 1;
        assert!(matches!(decide(&spinner, true), Decision::Wait(_)));
        let mut empty = seen(Vec::new());
        empty.root = false;
        assert!(matches!(decide(&empty, true), Decision::Wait(_)));
        // The root before the dashboard's grid: not ready, even with no chart yet.
        let mut no_grid = seen(Vec::new());
        no_grid.grid = false;
        assert!(matches!(decide(&no_grid, true), Decision::Wait(_)));
        no_grid.grid = true;
        assert_eq!(decide(&no_grid, true), Decision::Ready);
        // A chart page has no grid.
        no_grid.grid = false;
        assert_eq!(decide(&no_grid, false), Decision::Ready);
    }

    #[test]
    fn a_failed_chart_fails_the_capture_naming_it() {
        let failed = decide(
            &seen(vec![
                chart("Revenue", true, false, None),
                chart(
                    "Broken\u{1b}[2J",
                    false,
                    false,
                    Some("Unexpected error:\n column \"nope\" does not exist"),
                ),
            ]),
            true,
        );
        assert_eq!(
            failed,
            Decision::Fail(
                "chart \"Broken\\u{1b}[2J\" (id 7) failed: Unexpected error: column \"nope\" does not exist".into()
            )
        );
    }

    #[test]
    fn the_login_page_is_a_failure_not_a_wait() {
        let mut login = seen(Vec::new());
        login.path = "/login/".into();
        assert!(matches!(decide(&login, true), Decision::Fail(m) if m.contains("login page")));
    }
}
