//! Huimin's HTTP face: the JSON API (`/api/v1`), the server-rendered console pages
//! (`/console`), health, readiness, metrics, the OpenAPI document and embedded assets.
//!
//! Handlers hold an [`AppState`] with `Arc<dyn RegistryStore>` and cannot reach SQL. Request
//! and response shapes (DTOs) live here; domain records are converted explicitly. This
//! crate reads the clock only through [`Clock`], so tests can fix time. It must not
//! contain business rules: validation is the domain's (`PersonDraft::validate`).

pub mod access;
pub mod accounts;
pub mod api;
mod assets;
mod error;
mod i18n;
mod middleware;
pub mod oidc;
mod open311;
pub mod openapi;
mod pages;
mod session;
pub mod sms;
mod state;
pub mod tls;
pub mod webhooks;

pub use error::ApiError;
pub use state::{
    AppState, AuditVerification, CaseSettings, Clock, OidcKeys, SystemClock, WebConfig,
};

use axum::Router;
use axum::routing::get;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// The whole application. `extra` lets tests mount routes of their own (for example one
/// that panics) inside the same middleware stack.
pub fn router(state: AppState, extra: Router<AppState>) -> Router {
    let body_limit = state.config.body_limit_bytes;
    let timeout = Duration::from_secs(state.config.request_timeout_seconds);
    // Dataset uploads carry files of gigabytes and import them before answering: they
    // have a limit and a timeout of their own, not the API's.
    let uploads = Router::new()
        .nest("/api/v1", api::upload_routes())
        .merge(api::page_upload_routes())
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(state.config.upload_timeout_seconds),
        ))
        .layer(RequestBodyLimitLayer::new(state.config.upload_limit_bytes));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(api::readiness))
        .route("/metrics", get(middleware::render_metrics))
        .nest("/api/v1", api::routes())
        .merge(openapi::routes())
        .merge(pages::routes())
        .merge(open311::routes())
        .merge(oidc::routes())
        .merge(assets::routes())
        .merge(extra)
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .merge(uploads)
        .fallback(api::not_found)
        .with_state(state)
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(axum::middleware::from_fn(middleware::render_errors))
        .layer(axum::middleware::from_fn(middleware::record_metrics))
        .layer(TraceLayer::new_for_http().make_span_with(middleware::request_span))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Routes a caller adds to [`router`] (tests mount failure probes this way).
pub type ExtraRoutes = Router<AppState>;

/// Serves the application on a bound listener until `shutdown` completes; in-flight
/// requests finish first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
