//! Case photos (issue 5): a JPEG or PNG sent as the request body, its metadata — EXIF with
//! the GPS position among it — stripped before it is kept, so nobody downloads where the
//! reporter stood; too large 413, not an image 415, damaged 422. Uploads and downloads are
//! audited, and a photo is there only for those who see its case.

use super::cases::{case_worker, visible_case};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use huimin_domain::audit::AuditEvent;
use huimin_domain::case::photo::{ImageKind, PhotoError, PhotoMeta, strip_metadata};
use huimin_domain::registry::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

/// A kept photo.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhotoDto {
    pub id: u64,
    pub content_type: String,
    pub size_bytes: u64,
    /// Of the kept bytes.
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: String,
    /// Where to download it.
    pub url: String,
}

pub(crate) fn photo_dto(meta: &PhotoMeta) -> PhotoDto {
    PhotoDto {
        id: meta.id,
        content_type: meta.content_type.clone(),
        size_bytes: meta.size_bytes,
        sha256: meta.sha256.clone(),
        uploaded_by: meta.uploaded_by.clone(),
        uploaded_at: super::shanghai_rfc3339(meta.uploaded_at),
        url: format!("/api/v1/cases/{}/photos/{}", meta.case_id, meta.id),
    }
}

/// Adds a photo to a case: the body is the image, `Content-Type: image/jpeg` or
/// `image/png`; its metadata is stripped before it is kept.
#[utoipa::path(post, path = "/api/v1/cases/{id}/photos", params(("id" = u64, Path)),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 201, body = PhotoDto), (status = 404), (status = 413), (status = 415), (status = 422)))]
pub async fn upload_photo(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<u64>,
    body: Bytes,
) -> Result<(StatusCode, Json<PhotoDto>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(add_case_photo(&state, &parts, id, &body).await?),
    ))
}

/// Strips and keeps a photo of case `id` sent by the caller of `parts`.
pub(crate) async fn add_case_photo(
    state: &AppState,
    parts: &Parts,
    id: u64,
    body: &[u8],
) -> Result<PhotoDto, ApiError> {
    let (principal, access) = case_worker(state, parts, true).await?;
    let case = visible_case(state, &access, id).await?;
    let declared = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if !matches!(declared.as_str(), "image/jpeg" | "image/png") {
        return Err(ApiError::UnsupportedMediaType(format!(
            "send the photo as image/jpeg or image/png, not '{declared}'"
        )));
    }
    let (kind, kept) = strip_metadata(body).map_err(|error| match error {
        PhotoError::TooLarge(_) => ApiError::PayloadTooLarge(error.to_string()),
        PhotoError::NotAnImage => ApiError::UnsupportedMediaType(error.to_string()),
        PhotoError::Damaged(_) => ApiError::field(FieldError::new(
            "photo",
            "",
            "damaged_image",
            error.to_string(),
            "图片已损坏",
        )),
    })?;
    if kind.content_type() != declared {
        return Err(ApiError::UnsupportedMediaType(format!(
            "the body is {}, not the {declared} it says",
            kind.content_type()
        )));
    }
    let now = state.clock.now();
    let meta = PhotoMeta {
        id: 0,
        case_id: case.id,
        content_type: kind.content_type().to_owned(),
        size_bytes: kept.len() as u64,
        sha256: huimin_domain::case::photo::sha256_hex(&kept),
        uploaded_by: principal.account.login.clone(),
        uploaded_at: now,
    };
    let event = AuditEvent {
        jurisdiction: case.grid.clone().unwrap_or_default(),
        detail: format!("{} bytes kept of {}", kept.len(), body.len()),
        ..principal.actor(parts).event("case.photo", "case_photo", "")
    };
    let id = state.cases.add_photo(&meta, &kept, &event).await?;
    Ok(photo_dto(&PhotoMeta { id, ..meta }))
}

/// A case's photo, as kept (without its metadata).
#[utoipa::path(get, path = "/api/v1/cases/{id}/photos/{photo}",
    params(("id" = u64, Path), ("photo" = u64, Path)),
    responses((status = 200, content_type = "image/jpeg"), (status = 404)))]
pub async fn get_photo(
    State(state): State<AppState>,
    parts: Parts,
    Path((id, photo)): Path<(u64, u64)>,
) -> Result<Response, ApiError> {
    let (principal, access) = case_worker(&state, &parts, false).await?;
    let case = visible_case(&state, &access, id).await?;
    let (meta, bytes) = state
        .cases
        .photo(case.id, photo)
        .await?
        .ok_or_else(|| ApiError::not_found("photo"))?;
    let event = AuditEvent {
        jurisdiction: case.grid.clone().unwrap_or_default(),
        ..principal
            .actor(&parts)
            .event("case.photo_read", "case_photo", format!("{id}/{photo}"))
    };
    state
        .audit
        .append_audit(&[event], state.clock.now())
        .await?;
    let content_type = match meta.content_type.as_str() {
        "image/png" => ImageKind::Png.content_type(),
        _ => ImageKind::Jpeg.content_type(),
    };
    let mut response = bytes.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
}
