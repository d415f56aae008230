//! Starting and stopping the HTTP server: logging, the store, the listener, graceful
//! shutdown on SIGTERM or Ctrl-C (in-flight requests finish; new connections are refused).

use crate::config::{Config, LogFormat};
use anyhow::Context;
use huimin_domain::storage::Store;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Installs the global tracing subscriber once; later calls do nothing.
pub fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Binds the configured address and serves until a shutdown signal. `on_ready` receives the
/// bound address (port 0 picks a free one) once the listener accepts connections.
pub async fn serve(
    config: &Config,
    store: Arc<dyn Store>,
    on_ready: impl FnOnce(std::net::SocketAddr),
) -> anyhow::Result<()> {
    let keys = crate::audit::KeyDirectory::new(&config.audit.key_directory);
    let signer = keys
        .signer_or_create()
        .context("opening the audit signing key")?;
    // Sign what is in the log before serving, so the first answer already has a
    // checkpoint to prove entries against.
    store
        .checkpoint_audit(&signer, huimin_web::Clock::now(&huimin_web::SystemClock))
        .await
        .context("signing the audit log's checkpoint")?;
    let listener = TcpListener::bind(&config.server.listen)
        .await
        .with_context(|| format!("binding {}", config.server.listen))?;
    let address = listener.local_addr().context("reading the bound address")?;
    let tls = config.tls.server_config()?;
    let clock: Arc<dyn huimin_web::Clock> = Arc::new(huimin_web::SystemClock);
    let mut web = config.web();
    let scheme = if tls.is_some() { "https" } else { "http" };
    web.issuer = if config.oidc.issuer.is_empty() {
        format!("{scheme}://{address}")
    } else {
        config.oidc.issuer.trim_end_matches('/').to_owned()
    };
    let oidc_keys = crate::audit::KeyDirectory::new(&config.oidc.key_directory)
        .oidc_keys()
        .context("opening the single sign-on signing key")?;
    let state = huimin_web::AppState::new(store.clone(), clock.clone(), web)
        .await
        .context("loading the area index")?
        .with_audit_keys(keys.public_keys()?)
        .with_sms_gateway(config.sms.gateway()?)
        .with_oidc_keys(oidc_keys);
    let checkpoints = tokio::spawn(crate::audit::run_checkpoints(
        store.clone(),
        keys.clone(),
        std::time::Duration::from_secs(config.audit.checkpoint_interval_seconds.max(1)),
        || huimin_web::Clock::now(&huimin_web::SystemClock),
    ));
    // Subscriptions' webhooks: delivered from the outbox while the server runs.
    let webhooks = tokio::spawn(huimin_web::webhooks::run(
        state.clone(),
        std::time::Duration::from_millis(100),
    ));
    // Stages over their limits are escalated (督办) while the server runs.
    let escalation = tokio::spawn(huimin_web::api::run_escalation(
        state.clone(),
        std::time::Duration::from_secs(config.cases.escalation_interval_seconds),
    ));
    let app = huimin_web::router(state, axum_router());
    tracing::info!(%address, "serving");
    on_ready(address);
    let served = match tls {
        Some(tls) => {
            huimin_web::tls::serve_tls(listener, app, tls, store.clone(), clock, shutdown_signal())
                .await
        }
        None => huimin_web::serve(listener, app, shutdown_signal()).await,
    };
    checkpoints.abort();
    webhooks.abort();
    escalation.abort();
    served.context("serving HTTP")?;
    // Sign what the last requests appended, so a clean stop leaves nothing unsigned.
    let signer = keys.signer()?;
    store
        .checkpoint_audit(&signer, huimin_web::Clock::now(&huimin_web::SystemClock))
        .await
        .context("signing the final audit checkpoint")?;
    tracing::info!("stopped");
    Ok(())
}

fn axum_router() -> huimin_web::ExtraRoutes {
    huimin_web::ExtraRoutes::new()
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
