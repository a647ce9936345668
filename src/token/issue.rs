//! Issuing a guest token under a policy as applied: the policy read from steward's table in
//! the metadata database, resolved against Superset's dashboards and datasets as they are now,
//! the request decided, the token minted. Shared by `steward guest-token` and the operator's
//! minting endpoint.

use super::guest::{GuestAlgorithm, GuestGrant, GuestTokenError, mint_guest_token};
use super::guest_policy::{GuestTokenRequest, decide, resolve};
use crate::secret::Secret;
use crate::store::{Store, StoreError, guest_policy};

/// How tokens are signed and for whom.
#[derive(Clone, Debug)]
pub struct Signer {
    pub secret: Secret,
    pub algorithm: GuestAlgorithm,
    /// Superset's `GUEST_TOKEN_JWT_AUDIENCE` (else its `WEBDRIVER_BASEURL`).
    pub audience: String,
}

/// A minted token and what it grants (the grant is safe to log; the token is not, and its
/// `Debug` leaves it out).
#[derive(Clone)]
pub struct Issued {
    pub token: String,
    pub grant: GuestGrant,
    pub policy: String,
    pub expires_at: f64,
}

impl Issued {
    /// The embedded dashboards' uuids the token grants, for messages and logs.
    pub fn dashboard_ids(&self) -> Vec<&str> {
        self.grant.resources.iter().map(|r| r.id.as_str()).collect()
    }
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("token", &"(redacted)")
            .field("grant", &self.grant)
            .field("policy", &self.policy)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why no token was minted.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("no guest-token policy named `{name}` is applied to this database{hint}")]
    UnknownPolicy { name: String, hint: String },
    #[error("the request is outside the policy `{policy}`:\n  - {}", .reasons.join("\n  - "))]
    Refused {
        policy: String,
        reasons: Vec<String>,
    },
    #[error(
        "ServiceAccount {caller} may not mint under the policy `{policy}` (its spec.serviceAccounts does not list it)"
    )]
    NotAllowed { caller: String, policy: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Token(#[from] GuestTokenError),
}

/// Reads policy `name`, decides `request` under it and mints the token. `caller` is the
/// ServiceAccount (`namespace/name`) asking, which the policy must list; `None` for the
/// command line, which holds the secret itself.
pub async fn issue(
    store: &Store,
    name: &str,
    request: &GuestTokenRequest,
    signer: &Signer,
    now: f64,
    caller: Option<&str>,
) -> Result<Issued, IssueError> {
    let mut tx = store.read().await?;
    let policies = guest_policy::read(&mut tx).await?;
    let Some(policy) = policies.get(name) else {
        tx.rollback().await?;
        let known: Vec<&str> = policies.keys().map(String::as_str).collect();
        let hint = match known.as_slice() {
            [] => " (none is; declare a GuestTokenPolicy and apply it)".to_owned(),
            known => format!(" (applied: {})", known.join(", ")),
        };
        return Err(IssueError::UnknownPolicy {
            name: crate::escape::terminal(name).into_owned(),
            hint,
        });
    };
    if let Some(caller) = caller
        && !policy.service_accounts.contains(caller)
    {
        tx.rollback().await?;
        return Err(IssueError::NotAllowed {
            caller: crate::escape::terminal(caller).into_owned(),
            policy: crate::escape::terminal(name).into_owned(),
        });
    }
    let dashboards = guest_policy::dashboards(&mut tx).await?;
    let datasets = guest_policy::dataset_ids(&mut tx).await?;
    tx.rollback().await?;
    let refused = |reasons| IssueError::Refused {
        policy: crate::escape::terminal(name).into_owned(),
        reasons,
    };
    let resolved = resolve(policy, &dashboards, &datasets).map_err(refused)?;
    let decision = decide(&resolved, request).map_err(refused)?;
    let token = mint_guest_token(
        &signer.secret,
        signer.algorithm,
        &decision.grant,
        &signer.audience,
        now,
        decision.lifetime_seconds,
    )?;
    Ok(Issued {
        token,
        grant: decision.grant,
        policy: name.to_owned(),
        expires_at: now + f64::from(decision.lifetime_seconds),
    })
}
