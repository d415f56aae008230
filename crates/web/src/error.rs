//! The web layer's one error type, and how every error becomes a response.
//!
//! Each case maps to an HTTP status and a stable snake_case `code` that clients may branch
//! on. The body is rendered by `middleware::render_errors`, which adds the request id; a
//! storage failure or a panic gets an opaque body and its cause goes to the log only.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use huimin_domain::registry::FieldError;
use huimin_domain::storage::StorageError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// One or more fields are invalid (422).
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    /// The named object does not exist (404).
    #[error("{what} not found")]
    NotFound { what: String },
    /// The request cannot be understood (400).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// The database failed (500, opaque).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A dependency is not ready (503).
    #[error("{0}")]
    Unavailable(String),
    /// Nobody is signed in, or the token is unknown, expired or revoked (401).
    #[error("sign in, or send a valid API token (Authorization: Bearer …)")]
    Unauthenticated,
    /// The request contradicts what is stored (409): another department's code, a
    /// second authoritative source.
    #[error("{0}")]
    Conflict(String),
    /// Signed in, but not allowed (403): a token without the scope, a filter on a field
    /// the caller may not read.
    #[error("{0}")]
    Forbidden(String),
    /// Over a grant's rate (429), with the seconds to wait (`Retry-After`).
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    /// The body is larger than the route accepts (413).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The body is not of a kind the route takes (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// An atomic batch upload had rows with problems, so nothing was written (422); the
    /// first rows' problems go with the answer.
    #[error("{message}")]
    BatchRejected {
        message: String,
        rows: Vec<serde_json::Value>,
    },
    /// A change made against an older version of the object (409); the answer carries
    /// the object as it now is.
    #[error("{message}")]
    Stale {
        message: String,
        current: serde_json::Value,
    },
}

/// What `render_errors` turns into the JSON body; carried as a response extension.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ErrorBody {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldError>,
    /// A member the error adds beside `details`: a refused batch's `rows`, a stale
    /// change's `current` state.
    #[serde(skip)]
    pub extra: Option<(&'static str, serde_json::Value)>,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::BatchRejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Stale { .. } => StatusCode::CONFLICT,
        }
    }

    pub fn not_found(what: impl Into<String>) -> ApiError {
        ApiError::NotFound { what: what.into() }
    }

    pub fn field(error: FieldError) -> ApiError {
        ApiError::Validation(vec![error])
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after, .. } => Some(*retry_after),
            _ => None,
        };
        let body = match self {
            ApiError::Validation(details) => ErrorBody {
                code: "validation_failed",
                message: match details.as_slice() {
                    [only] => only.to_string(),
                    many => format!("{} fields are invalid", many.len()),
                },
                details,
                extra: None,
            },
            ApiError::NotFound { what } => ErrorBody {
                code: "not_found",
                message: format!("{what} not found"),
                details: Vec::new(),
                extra: None,
            },
            ApiError::BadRequest { code, message } => ErrorBody {
                code,
                message,
                details: Vec::new(),
                extra: None,
            },
            ApiError::Storage(error) => {
                tracing::error!(%error, "storage failure while serving a request");
                internal_error_body()
            }
            ApiError::Unavailable(message) => ErrorBody {
                code: "unavailable",
                message,
                details: Vec::new(),
                extra: None,
            },
            ApiError::Unauthenticated => ErrorBody {
                code: "unauthenticated",
                message: ApiError::Unauthenticated.to_string(),
                details: Vec::new(),
                extra: None,
            },
            ApiError::Conflict(message) => ErrorBody {
                code: "conflict",
                message,
                details: Vec::new(),
                extra: None,
            },
            ApiError::Forbidden(message) => ErrorBody {
                code: "forbidden",
                message,
                details: Vec::new(),
                extra: None,
            },
            ApiError::TooManyRequests { message, .. } => ErrorBody {
                code: "rate_limited",
                message,
                details: Vec::new(),
                extra: None,
            },
            ApiError::PayloadTooLarge(message) => ErrorBody {
                code: "payload_too_large",
                message,
                details: Vec::new(),
                extra: None,
            },
            ApiError::UnsupportedMediaType(message) => ErrorBody {
                code: "unsupported_media_type",
                message,
                details: Vec::new(),
                extra: None,
            },
            ApiError::BatchRejected { message, rows } => ErrorBody {
                code: "batch_rejected",
                message,
                details: Vec::new(),
                extra: Some(("rows", serde_json::Value::Array(rows))),
            },
            ApiError::Stale { message, current } => ErrorBody {
                code: "stale_version",
                message,
                details: Vec::new(),
                extra: Some(("current", current)),
            },
        };
        let mut response = status.into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        response.extensions_mut().insert(body);
        response
    }
}

pub(crate) fn internal_error_body() -> ErrorBody {
    ErrorBody {
        code: "internal_error",
        message: "an internal error occurred; it has been logged with this request's id".to_owned(),
        details: Vec::new(),
        extra: None,
    }
}

/// What a panic inside a handler becomes: a logged 500 with an opaque body.
pub(crate) fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("non-string panic payload");
    tracing::error!(panic = detail, "a request handler panicked");
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    response.extensions_mut().insert(internal_error_body());
    response
}

/// `Json<T>` whose rejections are `ApiError`s: malformed JSON is 400, well-formed JSON of
/// the wrong shape 422, a missing content type 415, an oversized body 413.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => {
                let (status, code) = match &rejection {
                    JsonRejection::JsonDataError(_) => {
                        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body")
                    }
                    JsonRejection::JsonSyntaxError(_) => {
                        (StatusCode::BAD_REQUEST, "malformed_json")
                    }
                    JsonRejection::MissingJsonContentType(_) => {
                        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
                    }
                    other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
                    }
                    other => (other.status(), "bad_request"),
                };
                let mut response = status.into_response();
                response.extensions_mut().insert(ErrorBody {
                    code,
                    message: rejection.body_text(),
                    details: Vec::new(),
                    extra: None,
                });
                Err(response)
            }
        }
    }
}
