//! Cross-cutting request handling: JSON error bodies with request ids, request spans,
//! Prometheus metrics.

use crate::error::ErrorBody;
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

fn request_id_of(request: &Request) -> String {
    request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// Gives every error response a JSON body `{"error": {code, message, details, request_id}}`:
/// those our handlers made (an `ErrorBody` extension) and those a layer or axum made with a
/// plain-text body (413 from the body limit, 405, 408, …). HTML error pages pass through.
/// Marks an error response whose body a protocol defines (OAuth's `{"error": …}`), which
/// `render_errors` leaves as it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProtocolError;

pub(crate) async fn render_errors(request: Request, next: Next) -> Response {
    let request_id = request_id_of(&request);
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.extensions().get::<ProtocolError>().is_some()
    {
        return response;
    }
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    let body = match response.extensions().get::<ErrorBody>() {
        Some(body) => body.clone(),
        None if is_html => return response,
        None => ErrorBody {
            code: code_for_status(status),
            message: status_message(status),
            details: Vec::new(),
            extra: None,
        },
    };
    let mut json = serde_json::json!({
        "error": {
            "code": body.code,
            "message": body.message,
            "details": body.details,
            "request_id": request_id,
        }
    });
    if let Some((name, value)) = body.extra {
        json["error"][name] = value;
    }
    let (mut parts, _) = response.into_parts();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(json.to_string()))
}

fn code_for_status(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        status if status.is_server_error() => "internal_error",
        _ => "client_error",
    }
}

fn status_message(status: StatusCode) -> String {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            "the request body is larger than this server accepts".to_owned()
        }
        StatusCode::REQUEST_TIMEOUT => "the request took longer than this server allows".to_owned(),
        status if status.is_server_error() => crate::error::internal_error_body().message,
        status => status.canonical_reason().unwrap_or("error").to_lowercase(),
    }
}

/// The tracing span of a request: method, route and request id (never the query string,
/// which may carry identity numbers).
pub(crate) fn request_span(request: &Request) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or("unmatched");
    tracing::info_span!("request", method = %request.method(), route, request_id = %request_id_of(request))
}

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide Prometheus recorder (installed on first use; tests start many apps).
pub(crate) fn prometheus() -> &'static PrometheusHandle {
    PROMETHEUS.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed by an embedding program; then our
        // handle renders only what it sees, which is still correct for Huimin's metrics.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

pub(crate) async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    prometheus();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("huimin_http_requests_total", &labels).increment(1);
    metrics::histogram!("huimin_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

pub(crate) async fn render_metrics() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        prometheus().render(),
    )
}
