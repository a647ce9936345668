//! Database URLs as users write them: steward's own (`sqlite://FILE`, `postgres://…`) and
//! SQLAlchemy's, copied from `superset_config.py` (`postgresql+psycopg2://…`,
//! `sqlite:////abs/path.db`). Parsing them into what the driver needs, and showing them without
//! their secrets: the password (which may hold `/`, `@`, `?`, `#` or spaces unencoded, as
//! SQLAlchemy allows), `password=` and `sslpassword=` parameters. A URL that cannot be parsed is
//! shown with everything that could be a secret masked.

use std::borrow::Cow;
use std::path::PathBuf;

use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// The URL forms steward accepts, for error messages.
pub const SUPPORTED_FORMS: &str = "sqlite://FILE, sqlite:////ABS/PATH, \
    postgresql://USER:PASSWORD@HOST:PORT/DB (also postgres://, and SQLAlchemy's \
    postgresql+psycopg2:// or sqlite+pysqlite:// forms)";

/// Query parameters of a PostgreSQL URL the driver understands.
const PG_PARAMS: [&str; 18] = [
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
];

/// Query parameters of a SQLite URL the driver understands.
const SQLITE_PARAMS: [&str; 4] = ["mode", "cache", "immutable", "vfs"];

/// Whether a query parameter holds a secret (its value is never shown).
fn is_secret_param(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password") || key.contains("secret") || key.contains("token")
}

/// Why a database URL cannot be used (never holds a secret).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("has no scheme; write it as one of {SUPPORTED_FORMS}")]
    NoScheme,
    #[error(
        "uses `{0}`, which steward does not support: steward writes Superset's metadata database on SQLite or PostgreSQL; use one of {SUPPORTED_FORMS}"
    )]
    UnsupportedScheme(String),
    #[error("names no SQLite file; use sqlite://FILE")]
    NoFile,
    #[error(
        "has the parameter `{0}`, which steward's database driver does not support; supported: {1}"
    )]
    UnsupportedParameter(String, String),
    #[error("has a port that is not a number from 1 to 65535")]
    BadPort,
    #[error("has a {0} that is not valid UTF-8 once percent-decoded")]
    NotUtf8(&'static str),
    #[error("has a host with a character a host name cannot hold (`{0}`)")]
    BadHost(char),
}

/// What a URL points at, ready for the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A SQLite file (or `:memory:`), with the driver's URL.
    Sqlite { file: PathBuf, driver_url: String },
    /// A PostgreSQL database, with the driver's URL (every part percent-encoded).
    Postgres { driver_url: String },
}

/// The parts of a `scheme://…` URL, split as SQLAlchemy splits them: the user information ends
/// at the last `@`, so a password may hold `/`, `?`, `#`, `@` or spaces unencoded.
struct Parts<'a> {
    user: Option<&'a str>,
    password: Option<&'a str>,
    host: &'a str,
    database: &'a str,
    query: Option<&'a str>,
}

fn split(url: &str) -> Option<Parts<'_>> {
    let (_, rest) = url.split_once("://")?;
    let (userinfo, after) = match rest.rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let (user, password) = match userinfo.map(|u| u.split_once(':')) {
        Some(Some((user, password))) => (Some(user), Some(password)),
        Some(None) => (userinfo, None),
        None => (None, None),
    };
    let (before_query, query) = match after.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (after, None),
    };
    let (host, database) = before_query.split_once('/').unwrap_or((before_query, ""));
    Some(Parts {
        user,
        password,
        host,
        database,
        query,
    })
}

fn decode<'a>(text: &'a str, what: &'static str) -> Result<Cow<'a, str>, UrlError> {
    percent_decode_str(text)
        .decode_utf8()
        .map_err(|_| UrlError::NotUtf8(what))
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

/// The backend a scheme names, with SQLAlchemy's `+driver` suffix dropped, and whether the
/// suffix was there.
fn backend(scheme: &str) -> Result<(&'static str, bool), UrlError> {
    let lower = scheme.to_ascii_lowercase();
    let (base, driver) = match lower.split_once('+') {
        Some((base, _)) => (base.to_owned(), true),
        None => (lower, false),
    };
    match base.as_str() {
        "postgres" | "postgresql" => Ok(("postgres", driver)),
        "sqlite" => Ok(("sqlite", driver)),
        _ => Err(UrlError::UnsupportedScheme(scheme.to_owned())),
    }
}

fn check_params(query: Option<&str>, allowed: &[&str]) -> Result<(), UrlError> {
    for (key, _) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let known = allowed.contains(&key.as_ref())
            || (key.starts_with("options[") && key.ends_with(']') && allowed.contains(&"options"));
        if !known {
            return Err(UrlError::UnsupportedParameter(
                show_text(&key),
                allowed.join(", "),
            ));
        }
    }
    Ok(())
}

/// Parses a URL into what the driver needs.
pub fn parse(url: &str) -> Result<Target, UrlError> {
    let url = url.trim();
    if let Some(rest) = url.strip_prefix("sqlite:").filter(|r| !r.starts_with("//")) {
        // `sqlite:FILE` and `sqlite::memory:`.
        return sqlite(rest, false, true);
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(UrlError::NoScheme);
    };
    match backend(scheme)? {
        ("sqlite", driver) => sqlite(rest, driver, false),
        _ => postgres(split(url).expect("the URL has a scheme")),
    }
}

/// A SQLite URL's file. `sqlite://FILE` is relative, `sqlite:///ABS` and `sqlite:////ABS`
/// absolute; with a SQLAlchemy driver (`sqlite+pysqlite:///FILE`) three slashes mean a
/// relative file, as in SQLAlchemy.
fn sqlite(rest: &str, sqlalchemy: bool, bare: bool) -> Result<Target, UrlError> {
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    check_params(query, &SQLITE_PARAMS)?;
    let path = match (bare, sqlalchemy) {
        (true, _) => path,
        (false, true) => path.strip_prefix('/').unwrap_or(path),
        (false, false) if path.starts_with("//") => &path[1..],
        (false, false) => path,
    };
    if path.is_empty() {
        return Err(UrlError::NoFile);
    }
    let file = PathBuf::from(decode(path, "file name")?.as_ref());
    let driver_url = match query {
        Some(q) => format!("sqlite://{path}?{q}"),
        None => format!("sqlite://{path}"),
    };
    Ok(Target::Sqlite { file, driver_url })
}

fn postgres(parts: Parts<'_>) -> Result<Target, UrlError> {
    check_params(parts.query, &PG_PARAMS)?;
    let (host, port) = split_host_port(parts.host)?;
    if let Some(bad) = host
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "/?#@%".contains(*c))
    {
        return Err(UrlError::BadHost(bad));
    }
    let mut out = String::from("postgres://");
    if let Some(user) = parts.user {
        out.push_str(&encode(&decode(user, "user name")?));
        if let Some(password) = parts.password {
            out.push(':');
            out.push_str(&encode(&decode(password, "password")?));
        }
        out.push('@');
    }
    out.push_str(host);
    if let Some(port) = port {
        out.push_str(&format!(":{port}"));
    }
    let database = decode(parts.database, "database name")?;
    if !database.is_empty() {
        out.push('/');
        out.push_str(&encode(&database));
    }
    if let Some(query) = parts.query.filter(|q| !q.is_empty()) {
        out.push('?');
        out.push_str(query);
    }
    Ok(Target::Postgres { driver_url: out })
}

fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), UrlError> {
    let (host, port) = if let Some(end) = authority.strip_prefix('[').and_then(|a| a.find(']')) {
        let (host, tail) = authority.split_at(end + 2);
        (host, tail.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or(UrlError::BadPort)?,
        ),
        None => None,
    };
    Ok((host, port))
}

/// Every secret a URL holds, as written and percent-decoded: what must never be printed.
pub fn secrets(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut add = |s: &str| {
        if !s.is_empty() {
            found.push(s.to_owned());
            if let Ok(decoded) = percent_decode_str(s).decode_utf8()
                && decoded != s
            {
                found.push(decoded.into_owned());
            }
        }
    };
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    if let Some(at) = rest.rfind('@') {
        let userinfo = &rest[..at];
        if let Some((_, password)) = userinfo.split_once(':') {
            add(password);
        }
    }
    if let Some((_, query)) = url.split_once('?') {
        for pair in query.split('&') {
            if let Some((key, value)) = pair.split_once('=')
                && is_secret_param(key)
            {
                add(value);
                add(&url::form_urlencoded::parse(pair.as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default());
            }
        }
    }
    // Longest first, so that a secret holding another is replaced whole.
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    found.dedup();
    found
}

/// `text` with every secret of `url` replaced by `***`.
pub fn scrub(url: &str, text: &str) -> String {
    secrets(url)
        .iter()
        .fold(text.to_owned(), |text, secret| text.replace(secret, "***"))
}

/// The URL as it may be shown: the password and secret parameters replaced by `***`. Whatever
/// stands before the last `@` past the user name is masked, so a password holding `/`, `?` or
/// `#` never shows, and neither does a URL without a scheme.
pub fn redact(url: &str) -> String {
    let url = url.trim();
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let mut out = scheme.map(|s| format!("{s}://")).unwrap_or_default();
    let after = match rest.rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let end = userinfo
                .find([':', '/', '?', '#'])
                .unwrap_or(userinfo.len());
            out.push_str(&userinfo[..end]);
            if end < userinfo.len() {
                out.push_str(":***");
            }
            out.push('@');
            &rest[at + 1..]
        }
        None => rest,
    };
    match after.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            let params: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if is_secret_param(key) => format!("{key}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            out.push_str(&params.join("&"));
        }
        None => out.push_str(after),
    }
    show_text(&scrub(url, &out))
}

/// Text from a URL as it may land on a terminal: control characters escaped.
fn show_text(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c.is_control() {
            true => c.escape_default().collect::<Vec<_>>(),
            false => vec![c],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn driver_url(url: &str) -> String {
        match parse(url).unwrap() {
            Target::Postgres { driver_url } | Target::Sqlite { driver_url, .. } => driver_url,
        }
    }

    #[test]
    fn sqlalchemy_urls_are_accepted() {
        assert_eq!(
            driver_url("postgresql+psycopg2://superset:s3/cret@db:5432/superset"),
            "postgres://superset:s3%2Fcret@db:5432/superset"
        );
        assert_eq!(
            driver_url("postgresql+psycopg://u:p%40ss@db/superset?sslmode=require"),
            "postgres://u:p%40ss@db/superset?sslmode=require"
        );
        assert_eq!(
            driver_url("postgres://u@[::1]:5433/x"),
            "postgres://u@[::1]:5433/x"
        );
        let file = |url: &str| match parse(url).unwrap() {
            Target::Sqlite { file, .. } => file,
            other => panic!("{other:?}"),
        };
        assert_eq!(file("sqlite://steward.db"), PathBuf::from("steward.db"));
        assert_eq!(file("sqlite:///tmp/s.db"), PathBuf::from("/tmp/s.db"));
        assert_eq!(file("sqlite:////tmp/s.db"), PathBuf::from("/tmp/s.db"));
        assert_eq!(file("sqlite+pysqlite:///s.db"), PathBuf::from("s.db"));
        assert_eq!(
            file("sqlite+pysqlite:////tmp/s.db"),
            PathBuf::from("/tmp/s.db")
        );
        assert_eq!(file("sqlite:s.db"), PathBuf::from("s.db"));
    }

    #[test]
    fn other_urls_are_refused_clearly() {
        assert_eq!(
            parse("mysql+mysqldb://u:p@h/db"),
            Err(UrlError::UnsupportedScheme("mysql+mysqldb".into()))
        );
        assert_eq!(parse("u:p@h/db"), Err(UrlError::NoScheme));
        assert_eq!(parse("sqlite://"), Err(UrlError::NoFile));
        assert_eq!(parse("postgres://h:99999/db"), Err(UrlError::BadPort));
        assert!(matches!(
            parse("postgres://u:p@h/db?sslpassword=x"),
            Err(UrlError::UnsupportedParameter(key, _)) if key == "sslpassword"
        ));
    }

    #[test]
    fn secrets_never_show() {
        for (url, secret) in [
            ("postgres://user:s3/cret@host/db", "s3/cret"),
            ("postgres://user:p@ss@host/db", "p@ss"),
            ("postgres://user:p?ss@host/db", "p?ss"),
            ("postgres://user:p#ss@host/db", "p#ss"),
            ("postgres://user:my secret@host/db", "my secret"),
            ("postgres://user:s3%2Fcret@host/db", "s3/cret"),
            ("postgres://host/db?user=u&sslpassword=k3y", "k3y"),
            ("postgres://host/db?password=pw%21", "pw!"),
            ("user:s3cret@host/db", "s3cret"),
        ] {
            let shown = redact(url);
            assert!(!shown.contains(secret), "{url} → {shown}");
            assert!(shown.contains("***"), "{url} → {shown}");
            assert!(!scrub(url, &format!("x {url} y")).contains(secret));
        }
        assert_eq!(
            redact("postgres://steward:s3cret@127.0.0.1:5432/superset"),
            "postgres://steward:***@127.0.0.1:5432/superset"
        );
        assert_eq!(redact("sqlite://steward.db"), "sqlite://steward.db");
    }
}
