//! `steward guest-token`: mints a guest token for embedded dashboards under a guest-token
//! policy as applied to the metadata database; `steward token verify`: checks one as Superset
//! would (signature and algorithm, expiry, not-before, audience, type) and prints its claims.
//! The secret comes only from `STEWARD_GUEST_TOKEN_SECRET` or the file named by
//! `STEWARD_GUEST_TOKEN_SECRET_FILE`.

use std::io::Read as _;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use super::database::{DatabaseArgs, block_on, store_failure};
use super::{EXIT_INVALID, EXIT_OK};
use crate::escape::{json_for_terminal, terminal};
use crate::secret::Secret;
use crate::token::guest_policy::GuestTokenRequest;
use crate::token::issue::{IssueError, Signer, issue};
use crate::token::{GuestAlgorithm, GuestExpectation, verify_guest_token};

/// Environment variable of Superset's `GUEST_TOKEN_JWT_SECRET`; `…_FILE` names a file holding it.
pub const GUEST_SECRET_ENV: &str = "STEWARD_GUEST_TOKEN_SECRET";

/// `steward token …`
#[derive(Subcommand, Debug, Clone)]
pub enum TokenCommand {
    /// Verify a guest token (signature, algorithm, exp, iat/nbf, aud, type) with the secret from
    /// $STEWARD_GUEST_TOKEN_SECRET or the file named by $STEWARD_GUEST_TOKEN_SECRET_FILE, and
    /// print its claims as JSON. Exit 0 valid, 1 refused (the reason on standard error).
    Verify(VerifyArgs),
}

/// `steward token verify` flags.
#[derive(Args, Debug, Clone)]
pub struct VerifyArgs {
    /// The token, or `-` (the default) to read it from standard input; a token on the command
    /// line shows in the process list, standard input does not.
    #[arg(default_value = "-")]
    pub token: String,
    /// The audience Superset expects (its GUEST_TOKEN_JWT_AUDIENCE, else WEBDRIVER_BASEURL).
    #[arg(long, env = "STEWARD_GUEST_TOKEN_AUDIENCE")]
    pub audience: Option<String>,
    /// Accept a token without checking its audience (says so on standard error).
    #[arg(long, conflicts_with = "audience")]
    pub any_audience: bool,
    /// The signing algorithm Superset is configured with (GUEST_TOKEN_JWT_ALGO).
    #[arg(long, value_enum, default_value_t = GuestAlgorithm::Hs256)]
    pub algorithm: GuestAlgorithm,
    /// Seconds of clock skew tolerated on exp, iat and nbf (Superset tolerates none).
    #[arg(long, default_value_t = 0)]
    pub leeway_seconds: u32,
}

/// `steward guest-token` flags.
#[derive(Args, Debug, Clone)]
pub struct GuestTokenArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The GuestTokenPolicy (its metadata.name) the token must fit, as applied to the database.
    #[arg(long)]
    pub policy: String,
    /// A dashboard to grant, by id, uuid, embedded uuid, slug or title (repeat for more).
    #[arg(long = "dashboard", value_name = "DASHBOARD", required = true)]
    pub dashboards: Vec<String>,
    /// The guest's username (Superset shows it and `current_username()` returns it).
    #[arg(long)]
    pub username: String,
    /// The guest's first name.
    #[arg(long, default_value = "")]
    pub first_name: String,
    /// The guest's last name.
    #[arg(long, default_value = "")]
    pub last_name: String,
    /// A guest attribute, `KEY=VALUE` (repeat for more); the policy names the keys and the
    /// patterns their values must match.
    #[arg(long = "attribute", value_name = "KEY=VALUE", value_parser = parse_attribute)]
    pub attributes: Vec<(String, String)>,
    /// Seconds the token is valid [default: the policy's maximum].
    #[arg(long)]
    pub lifetime_seconds: Option<u32>,
    /// The audience Superset checks (its GUEST_TOKEN_JWT_AUDIENCE, else WEBDRIVER_BASEURL).
    #[arg(long, env = "STEWARD_GUEST_TOKEN_AUDIENCE")]
    pub audience: String,
    /// The signing algorithm Superset is configured with (GUEST_TOKEN_JWT_ALGO).
    #[arg(long, value_enum, default_value_t = GuestAlgorithm::Hs256)]
    pub algorithm: GuestAlgorithm,
}

fn parse_attribute(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

/// `steward guest-token`: the token on standard output, what it grants on standard error.
pub(super) fn guest_token(args: &GuestTokenArgs) -> anyhow::Result<u8> {
    let mut attributes = std::collections::BTreeMap::new();
    for (key, value) in &args.attributes {
        if attributes.insert(key.clone(), value.clone()).is_some() {
            bail!("--attribute {key}=… is given twice");
        }
    }
    let request = GuestTokenRequest {
        dashboards: args.dashboards.clone(),
        username: args.username.clone(),
        first_name: args.first_name.clone(),
        last_name: args.last_name.clone(),
        attributes,
        lifetime_seconds: args.lifetime_seconds,
    };
    let signer = Signer {
        secret: guest_secret()?,
        algorithm: args.algorithm,
        audience: args.audience.clone(),
    };
    let now = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
    block_on(async {
        let store = match args.database.connect(false).await {
            Ok(store) => store,
            Err(e) => return Ok(store_failure(&e)),
        };
        match issue(&store, &args.policy, &request, &signer, now, None).await {
            Ok(issued) => {
                dataln!("{}", issued.token);
                let dashboards = issued.dashboard_ids();
                errln!(
                    "minted a guest token for {} under policy {}: dashboards {} (embedded uuids), {} RLS rule(s), valid until {}",
                    terminal(&issued.grant.user.username),
                    terminal(&issued.policy),
                    dashboards.join(", "),
                    issued.grant.rls_rules.len(),
                    chrono::DateTime::from_timestamp(issued.expires_at as i64, 0)
                        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                        .unwrap_or_default()
                );
                Ok(EXIT_OK)
            }
            Err(IssueError::Store(e)) => Ok(store_failure(&store.explain(e).await)),
            Err(e) => {
                errln!("error: no token: {e}");
                Ok(EXIT_INVALID)
            }
        }
    })
}

pub(super) fn run(command: &TokenCommand) -> anyhow::Result<u8> {
    match command {
        TokenCommand::Verify(args) => verify(args),
    }
}

/// The guest-token secret from the environment or its file, or a clear error.
pub(super) fn guest_secret() -> anyhow::Result<Secret> {
    match Secret::from_env(GUEST_SECRET_ENV).map_err(anyhow::Error::msg)? {
        Some(secret) => Ok(secret),
        None => bail!(
            "no guest-token secret: set {GUEST_SECRET_ENV} or {GUEST_SECRET_ENV}_FILE (Superset's GUEST_TOKEN_JWT_SECRET); it is never taken from a flag"
        ),
    }
}

fn verify(args: &VerifyArgs) -> anyhow::Result<u8> {
    if args.audience.is_none() && !args.any_audience {
        bail!(
            "say which audience the token must be for: --audience (or $STEWARD_GUEST_TOKEN_AUDIENCE), or --any-audience to skip that check"
        );
    }
    let secret = guest_secret()?;
    let token = match args.token.as_str() {
        "-" => {
            let mut text = String::new();
            std::io::stdin()
                .take(1 << 20)
                .read_to_string(&mut text)
                .context("reading the token from standard input")?;
            text
        }
        token => token.to_owned(),
    };
    let expectation = GuestExpectation {
        algorithm: args.algorithm,
        audience: args.audience.clone(),
        leeway_seconds: f64::from(args.leeway_seconds),
    };
    let now = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
    match verify_guest_token(&token, &secret, &expectation, now) {
        Ok(verified) => {
            if args.any_audience {
                errln!("warning: the audience was not checked (--any-audience)");
            }
            let text = serde_json::to_string_pretty(&verified.claims)
                .context("writing the claims as JSON")?;
            dataln!("{}", json_for_terminal(&text));
            Ok(EXIT_OK)
        }
        Err(reason) => {
            errln!(
                "error: the guest token is refused: {}",
                terminal(&reason.to_string())
            );
            Ok(EXIT_INVALID)
        }
    }
}
