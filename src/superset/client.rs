//! The HTTP client: one `reqwest` client per process, sessions per user and token.

use std::time::Duration;

use serde_json::{Value as Json, json};
use url::Url;

use crate::execute::notice::Table;

/// What can go wrong asking Superset.
#[derive(Debug, thiserror::Error)]
pub enum SupersetError {
    /// The base URL cannot be used.
    #[error("the Superset URL `{url}` is not usable: {why}")]
    BadUrl { url: String, why: String },
    /// Superset could not be reached or did not answer in time.
    #[error("Superset at {base} did not answer {what}: {why}")]
    Unreachable {
        base: String,
        what: String,
        why: String,
    },
    /// Superset refused the user (inactive, wrong signing key) or the permission.
    #[error("Superset refused {what} as {user} (HTTP {status}): {message}{hint}")]
    Refused {
        what: String,
        user: String,
        status: u16,
        message: String,
        hint: &'static str,
    },
    /// An answer steward cannot read.
    #[error("Superset's answer to {what} is not what it should be: {why}")]
    Unexpected { what: String, why: String },
}

/// A client for one Superset.
#[derive(Clone, Debug)]
pub struct SupersetClient {
    http: reqwest::Client,
    base: Url,
}

/// Requests as one user.
pub struct UserSession<'a> {
    client: &'a SupersetClient,
    token: String,
    username: String,
}

/// At most this much of an error body goes into a message.
const BODY_EXCERPT: usize = 300;

/// Tries per request when Superset answers 5xx or 429, or cannot be connected to.
const ATTEMPTS: u32 = 4;
/// The pause before the first retry, doubled before each next one.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

impl SupersetClient {
    /// A client for the Superset at `base_url` (its web address, e.g. `http://superset:8088`).
    pub fn new(base_url: &str, timeout: Duration) -> Result<SupersetClient, SupersetError> {
        let bad = |why: String| SupersetError::BadUrl {
            url: crate::store::redact_url(base_url),
            why,
        };
        let mut base = Url::parse(base_url).map_err(|e| bad(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(bad("the scheme must be http or https".into()));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(bad(
                "credentials do not belong in the URL; steward authenticates with tokens".into(),
            ));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| bad(e.to_string()))?;
        Ok(SupersetClient { http, base })
    }

    /// The base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// A link to a page of Superset's (`explore/?slice_id=3`).
    pub fn link(&self, path: &str) -> String {
        self.base
            .join(path)
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    /// Requests as `username`, authenticated by `token`.
    pub fn as_user(&self, username: &str, token: String) -> UserSession<'_> {
        UserSession {
            client: self,
            token,
            username: username.to_owned(),
        }
    }
}

impl UserSession<'_> {
    async fn send(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, SupersetError> {
        let request = request.bearer_auth(&self.token);
        let mut attempt = 0;
        let response = loop {
            attempt += 1;
            // Bodies here are JSON or empty: a request can always be sent again.
            let this = request
                .try_clone()
                .expect("requests without streaming bodies clone");
            let last = attempt == ATTEMPTS;
            match this.send().await {
                // Superset overloaded (a worker or its connection pool busy) or restarting:
                // wait and try again, as Superset itself retries alert queries.
                Ok(r) if !last && (r.status().is_server_error() || r.status().as_u16() == 429) => {}
                Ok(r) => break r,
                Err(e) if !last && (e.is_connect() || e.is_timeout()) => {}
                Err(e) => {
                    return Err(SupersetError::Unreachable {
                        base: self.client.base.to_string(),
                        what: what.to_owned(),
                        why: without_url(&e),
                    });
                }
            }
            tokio::time::sleep(RETRY_PAUSE * 2u32.pow(attempt - 1)).await;
        };
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        let message = error_message(&body);
        let hint = match status.as_u16() {
            401 => " (the user is inactive or unknown, or the token was refused)",
            422 => {
                " (the token's signature was refused: is the signing secret Superset's JWT_SECRET_KEY?)"
            }
            403 => " (the user lacks the permission; grant it through its roles)",
            404 => " (it does not exist in Superset, or the user may not see it)",
            _ => "",
        };
        Err(SupersetError::Refused {
            what: what.to_owned(),
            user: self.username.clone(),
            status: status.as_u16(),
            message,
            hint,
        })
    }

    fn url(&self, path: &str) -> Url {
        self.client
            .base
            .join(path)
            .expect("relative API paths join")
    }

    /// The chart's data as CSV, computed from its saved query context.
    pub async fn chart_csv(&self, chart_id: i64) -> Result<Vec<u8>, SupersetError> {
        let what = format!("the CSV data of chart {chart_id}");
        let url = self.url(&format!(
            "api/v1/chart/{chart_id}/data/?format=csv&type=full"
        ));
        let response = self.send(&what, self.client.http.get(url)).await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| SupersetError::Unreachable {
                base: self.client.base.to_string(),
                what: what.clone(),
                why: without_url(&e),
            })?;
        Ok(bytes.to_vec())
    }

    /// The chart's data as a table, computed from its saved query context.
    pub async fn chart_table(&self, chart_id: i64) -> Result<Table, SupersetError> {
        let what = format!("the data of chart {chart_id}");
        let url = self.url(&format!(
            "api/v1/chart/{chart_id}/data/?format=json&type=full"
        ));
        let json = self.json(&what, self.client.http.get(url)).await?;
        let result = json
            .get("result")
            .and_then(|r| r.get(0))
            .ok_or_else(|| unexpected(&what, "no `result[0]`"))?;
        let columns: Vec<String> = result
            .get("colnames")
            .and_then(Json::as_array)
            .ok_or_else(|| unexpected(&what, "no `colnames`"))?
            .iter()
            .map(|c| {
                c.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| c.to_string())
            })
            .collect();
        let rows = rows_by_columns(&columns, result.get("data"))
            .ok_or_else(|| unexpected(&what, "`data` is not a list of rows"))?;
        Ok(Table { columns, rows })
    }

    /// Runs `sql` on database `database_id` through SQL Lab and returns at most `limit` rows,
    /// each a list of its column values.
    pub async fn run_sql(
        &self,
        database_id: i64,
        sql: &str,
        limit: u32,
    ) -> Result<Vec<Vec<Json>>, SupersetError> {
        let what = format!("the alert query on database {database_id}");
        let body = json!({
            "database_id": database_id,
            "sql": sql,
            "runAsync": false,
            "select_as_cta": false,
            "queryLimit": limit,
            "client_id": &uuid::Uuid::new_v4().simple().to_string()[..10],
        });
        let json = self
            .json(
                &what,
                self.client
                    .http
                    .post(self.url("api/v1/sqllab/execute/"))
                    .json(&body),
            )
            .await?;
        if json.get("status").and_then(Json::as_str) != Some("success") {
            return Err(unexpected(
                &what,
                &format!("status {}", json.get("status").unwrap_or(&Json::Null)),
            ));
        }
        let columns: Vec<String> = json
            .get("columns")
            .and_then(Json::as_array)
            .map(|cols| {
                cols.iter()
                    .filter_map(|c| {
                        c.get("column_name")
                            .or_else(|| c.get("name"))
                            .and_then(Json::as_str)
                            .map(str::to_owned)
                    })
                    .collect()
            })
            .unwrap_or_default();
        rows_by_columns(&columns, json.get("data"))
            .ok_or_else(|| unexpected(&what, "`data` is not a list of rows"))
    }

    async fn json(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Json, SupersetError> {
        let response = self.send(what, request).await?;
        response
            .json::<Json>()
            .await
            .map_err(|e| unexpected(what, &without_url(&e)))
    }
}

/// Rows given as objects keyed by column name (or as lists), in `columns`' order.
fn rows_by_columns(columns: &[String], data: Option<&Json>) -> Option<Vec<Vec<Json>>> {
    let data = data?.as_array()?;
    data.iter()
        .map(|row| match row {
            Json::Object(map) => Some(
                columns
                    .iter()
                    .map(|c| map.get(c).cloned().unwrap_or(Json::Null))
                    .collect(),
            ),
            Json::Array(values) => Some(values.clone()),
            _ => None,
        })
        .collect()
}

fn unexpected(what: &str, why: &str) -> SupersetError {
    SupersetError::Unexpected {
        what: what.to_owned(),
        why: why.to_owned(),
    }
}

/// A reqwest error without its URL (which is ours, but keeps messages short).
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(&format!(" for url ({url})"), "");
        text = text.replace(url.as_str(), "");
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Superset's error message from an error body (`{"message": …}` or `{"errors": [{"message"}]}`),
/// shortened.
fn error_message(body: &str) -> String {
    let from_json = serde_json::from_str::<Json>(body).ok().and_then(|json| {
        json.get("message")
            .map(|m| {
                m.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| m.to_string())
            })
            .or_else(|| {
                json.get("errors")?
                    .as_array()?
                    .iter()
                    .filter_map(|e| e.get("message")?.as_str().map(str::to_owned))
                    .reduce(|a, b| format!("{a}; {b}"))
            })
            .or_else(|| json.get("msg")?.as_str().map(str::to_owned))
    });
    let text = match from_json {
        Some(text) => text,
        // Superset's error page for an unhandled error, not a message.
        None if body.trim_start().starts_with('<') => "an HTML error page".to_owned(),
        None => body.trim().to_owned(),
    };
    let mut short: String = text.chars().take(BODY_EXCERPT).collect();
    if text.chars().count() > BODY_EXCERPT {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_urls_with_credentials_or_other_schemes() {
        let t = Duration::from_secs(1);
        assert!(SupersetClient::new("http://u:p@host:8088", t).is_err());
        let e = SupersetClient::new("ftp://host", t)
            .unwrap_err()
            .to_string();
        assert!(e.contains("http or https"));
        let c = SupersetClient::new("http://host:8088/base", t).unwrap();
        assert_eq!(
            c.link("explore/?slice_id=3"),
            "http://host:8088/base/explore/?slice_id=3"
        );
    }

    #[test]
    fn reads_superset_error_bodies() {
        assert_eq!(error_message(r#"{"message": "Forbidden"}"#), "Forbidden");
        assert_eq!(
            error_message(r#"{"errors": [{"message": "a"}, {"message": "b"}]}"#),
            "a; b"
        );
        assert_eq!(
            error_message(r#"{"msg": "Signature verification failed"}"#),
            "Signature verification failed"
        );
        assert!(error_message(&"x".repeat(1000)).ends_with('…'));
        assert_eq!(
            error_message("<!doctype html><html><script>x</script></html>"),
            "an HTML error page"
        );
    }

    #[test]
    fn rows_follow_the_column_order() {
        let data = json!([{"b": 2, "a": 1}, {"a": 3}]);
        let rows = rows_by_columns(&["a".into(), "b".into()], Some(&data)).unwrap();
        assert_eq!(
            rows,
            vec![vec![json!(1), json!(2)], vec![json!(3), Json::Null]]
        );
    }
}
