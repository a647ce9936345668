//! `steward operator`: runs the cluster-resident reconciler (see `crate::operator`) with the
//! kubeconfig of the environment (in a pod: its ServiceAccount), JSON logs via `tracing`, and
//! a graceful stop on SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use super::EXIT_OK;
use super::database::block_on;
use crate::operator::OperatorConfig;

/// `steward operator` flags.
#[derive(Args, Debug, Clone)]
pub struct OperatorArgs {
    /// The operator's namespace, where the SupersetInstances' Secrets are read (in a pod: set
    /// from the downward API).
    #[arg(long, env = "STEWARD_NAMESPACE", default_value = "steward-system")]
    namespace: String,
    /// Seconds between full passes when nothing changed (drift correction); 0 turns it off.
    #[arg(long, env = "STEWARD_RESYNC_SECONDS", default_value_t = 600)]
    resync_seconds: u64,
    /// Milliseconds to gather a burst of changes into one pass.
    #[arg(long, env = "STEWARD_DEBOUNCE_MS", default_value_t = 50)]
    debounce_ms: u64,
    /// Seconds a statement waits for a database lock before the pass is retried.
    #[arg(long, default_value_t = 30)]
    lock_timeout_seconds: u64,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, env = "STEWARD_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    http_addr: SocketAddr,
    /// This replica's name in Events and the leader lease (in a pod: its name).
    #[arg(long, env = "STEWARD_POD_NAME")]
    identity: Option<String>,
    /// Seconds the leader Lease stays valid without renewal: how long replicas wait before
    /// taking over from a leader that died.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(2..=300))]
    lease_duration_seconds: u64,
    /// Serve the validating webhook (HTTPS) on this address, e.g. `0.0.0.0:8443`.
    #[arg(long, env = "STEWARD_WEBHOOK_ADDR", requires_all = ["webhook_cert", "webhook_key"])]
    webhook_addr: Option<SocketAddr>,
    /// The webhook's PEM certificate chain (`tls.crt` of a mounted kubernetes.io/tls Secret).
    #[arg(long, env = "STEWARD_WEBHOOK_CERT", requires = "webhook_addr")]
    webhook_cert: Option<std::path::PathBuf>,
    /// The webhook's PEM private key (`tls.key`).
    #[arg(long, env = "STEWARD_WEBHOOK_KEY", requires = "webhook_addr")]
    webhook_key: Option<std::path::PathBuf>,
    /// Accept at `/guest-token` only ServiceAccount tokens issued for this audience (a
    /// projected token, or `kubectl create token SA --audience …`), so a token sent to steward
    /// is useless against the API server; without it, tokens for the API server's own
    /// audience are accepted.
    #[arg(
        long,
        env = "STEWARD_GUEST_TOKEN_REVIEW_AUDIENCE",
        requires = "webhook_addr"
    )]
    guest_token_review_audience: Option<String>,
    /// Log format: `json` (one object per line) or `text`.
    #[arg(long, env = "STEWARD_LOG_FORMAT", default_value = "json", value_parser = ["json", "text"])]
    log_format: String,
}

pub(super) fn run(args: &OperatorArgs) -> anyhow::Result<u8> {
    super::logging::init(&args.log_format);
    // A long-running process: memory freed after a pass goes back to the system.
    crate::allocator::return_freed_memory(100);
    // One TLS provider for kube's client (DESIGN.md: with two, the client cannot pick).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let identity = args.identity.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        format!("{}-{}", host.trim(), std::process::id())
    });
    let config = OperatorConfig {
        namespace: args.namespace.clone(),
        resync: (args.resync_seconds > 0).then(|| Duration::from_secs(args.resync_seconds)),
        debounce: Duration::from_millis(args.debounce_ms),
        lock_timeout: Duration::from_secs(args.lock_timeout_seconds),
        http_addr: args.http_addr,
        identity,
        lease_duration: Duration::from_secs(args.lease_duration_seconds),
        webhook: match (args.webhook_addr, &args.webhook_cert, &args.webhook_key) {
            (Some(addr), Some(cert), Some(key)) => Some(crate::operator::webhook::WebhookConfig {
                addr,
                cert: cert.clone(),
                key: key.clone(),
                guest_token_audience: args.guest_token_review_audience.clone(),
            }),
            _ => None,
        },
    };
    block_on(async move {
        let client = kube::Client::try_default().await.map_err(|e| {
            anyhow::anyhow!(
                "cannot reach Kubernetes: {e} (outside a cluster, KUBECONFIG names the kubeconfig to use)"
            )
        })?;
        crate::operator::run(client, config, shutdown_signal()).await
    })?;
    Ok(EXIT_OK)
}

/// Resolves on SIGTERM (the kubelet stopping the pod) or Ctrl-C.
pub(super) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("stop signal received");
}
