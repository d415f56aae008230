//! A provider's batch upload: `POST /api/v1/catalogue/resources/{class}/{seq}/batches`
//! with a `multipart/form-data` body, imported exactly as `huimin import dataset` imports
//! a file (the `huimin-ingest` crate).
//!
//! The file part is streamed to a temporary file as it arrives, never held in memory; the
//! import starts only once the whole body has arrived, so a truncated upload writes
//! nothing. The route has its own body limit and timeout (`WebConfig::upload_limit_bytes`,
//! `upload_timeout_seconds`) instead of the API's small ones. While a long batch runs,
//! its progress shows in the resource's batch list (`committed_rows`, for a non-atomic
//! batch).

use super::catalogue::{BatchDto, ProblemDto, may_publish, refuse, resource_code};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::multipart::MultipartError;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use huimin_domain::dataset::LoadMode;
use huimin_domain::registry::FieldError;
use huimin_ingest::{DatasetImport, DatasetOutcome, FileFormat, IngestError, TextEncoding};
use std::io::Write;
use utoipa::ToSchema;

/// The form of an upload (documentation of the multipart body).
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct UploadForm {
    /// The department file: CSV (UTF-8, GBK or GB18030), NDJSON or XLSX.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// `full` (records the file lacks are deleted at its end) or `incremental` (the
    /// default; a `_delete` column deletes by key).
    pub mode: Option<String>,
    /// `true`: all rows or none. Otherwise each chunk commits, and the same upload again
    /// resumes after the last committed row.
    pub atomic: Option<bool>,
    /// `csv`, `ndjson` or `xlsx`; by default from the file part's name, else CSV.
    pub format: Option<String>,
    /// `auto` (the default), `utf8`, `gbk` or `gb18030`.
    pub encoding: Option<String>,
    /// The batch id; by default `sha256:` and the first 16 hex digits of the file's digest.
    /// The same batch sent twice is recognised and not written again.
    pub batch: Option<String>,
}

/// The form's fields once the body has arrived.
struct Upload {
    file: tempfile::NamedTempFile,
    file_name: Option<String>,
    mode: LoadMode,
    atomic: bool,
    format: Option<FileFormat>,
    encoding: TextEncoding,
    batch: Option<String>,
}

fn invalid(
    field: &'static str,
    value: &str,
    code: &'static str,
    message: String,
    zh: String,
) -> ApiError {
    ApiError::field(FieldError::new(field, value, code, message, zh))
}

/// A broken body: cut short, malformed, or over the limit (413).
fn body_error(error: MultipartError) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge(format!(
            "the upload is larger than this server accepts: {error}"
        ));
    }
    ApiError::BadRequest {
        code: "unreadable_upload",
        message: format!(
            "the upload could not be read to its end, so nothing was imported: {error}"
        ),
    }
}

/// Reads the form, spooling the file part to a temporary file.
async fn read_form(multipart: &mut Multipart) -> Result<Upload, ApiError> {
    let mut file = None;
    let mut file_name = None;
    let mut mode = LoadMode::Incremental;
    let mut atomic = false;
    let mut format = None;
    let mut encoding = TextEncoding::Auto;
    let mut batch = None;
    while let Some(mut field) = multipart.next_field().await.map_err(body_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            file_name = field.file_name().map(str::to_owned);
            let spool = tempfile::Builder::new()
                .prefix("huimin-upload-")
                .tempfile()
                .map_err(|error| {
                    ApiError::Unavailable(format!("no room for the upload: {error}"))
                })?;
            let mut writer = std::io::BufWriter::new(spool.as_file());
            while let Some(bytes) = field.chunk().await.map_err(body_error)? {
                writer.write_all(&bytes).map_err(|error| {
                    ApiError::Unavailable(format!("no room for the upload: {error}"))
                })?;
            }
            writer.flush().map_err(|error| {
                ApiError::Unavailable(format!("no room for the upload: {error}"))
            })?;
            drop(writer);
            file = Some(spool);
            continue;
        }
        let value = field.text().await.map_err(body_error)?;
        let value = value.trim();
        match name.as_str() {
            "mode" => {
                mode = LoadMode::parse(value).ok_or_else(|| {
                    invalid(
                        "mode",
                        value,
                        "invalid_mode",
                        "the mode is full or incremental".to_owned(),
                        "模式为 full（全量）或 incremental（增量）".to_owned(),
                    )
                })?;
            }
            "atomic" => {
                atomic = match value {
                    "true" | "1" | "yes" => true,
                    "false" | "0" | "no" | "" => false,
                    _ => {
                        return Err(invalid(
                            "atomic",
                            value,
                            "invalid_flag",
                            "atomic is true or false".to_owned(),
                            "atomic 取值为 true 或 false".to_owned(),
                        ));
                    }
                };
            }
            "format" => {
                format = Some(FileFormat::parse(value).ok_or_else(|| {
                    invalid(
                        "format",
                        value,
                        "invalid_format",
                        "the format is csv, ndjson or xlsx".to_owned(),
                        "格式为 csv、ndjson 或 xlsx".to_owned(),
                    )
                })?);
            }
            "encoding" => {
                encoding = TextEncoding::parse(value).ok_or_else(|| {
                    invalid(
                        "encoding",
                        value,
                        "invalid_encoding",
                        "the encoding is auto, utf8, gbk or gb18030".to_owned(),
                        "编码为 auto、utf8、gbk 或 gb18030".to_owned(),
                    )
                })?;
            }
            "batch" => {
                if value.is_empty()
                    || value.chars().count() > 100
                    || value.chars().any(char::is_control)
                {
                    return Err(invalid(
                        "batch",
                        value,
                        "invalid_batch",
                        "the batch id is 1 to 100 printable characters".to_owned(),
                        "批次号为 1 至 100 个可打印字符".to_owned(),
                    ));
                }
                batch = Some(value.to_owned());
            }
            other => {
                return Err(invalid(
                    "form",
                    other,
                    "unknown_field",
                    format!(
                        "the form has no field {other}; it takes file, mode, atomic, format, encoding and batch"
                    ),
                    format!(
                        "表单没有字段 {other}；可用字段为 file、mode、atomic、format、encoding、batch"
                    ),
                ));
            }
        }
    }
    let Some(file) = file else {
        return Err(invalid(
            "file",
            "",
            "required",
            "the form has no file part".to_owned(),
            "表单中没有 file 文件".to_owned(),
        ));
    };
    Ok(Upload {
        file,
        file_name,
        mode,
        atomic,
        format,
        encoding,
        batch,
    })
}

/// Uploads a batch of a resource's records (the provider's data officers, their systems
/// with `catalogue:write`, or the city administrator). 201 with the committed batch; 200
/// with the earlier batch when the same one was sent before; 422 when the file does not
/// fit the resource, or when an atomic batch had rejected rows (nothing written; the
/// first rows' problems are in `error.rows`).
#[utoipa::path(post, path = "/api/v1/catalogue/resources/{classification}/{sequence}/batches",
    params(("classification" = String, Path), ("sequence" = String, Path)),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = BatchDto), (status = 200, body = BatchDto, description = "sent before"),
        (status = 400), (status = 403), (status = 404), (status = 409), (status = 413),
        (status = 422, description = "the file does not fit the resource, or an atomic batch had rejected rows \
            (error code batch_rejected, the first 100 rows' problems in error.rows): nothing was written")))]
pub async fn upload_batch(
    State(state): State<AppState>,
    parts: Parts,
    Path((classification, sequence)): Path<(String, String)>,
    mut multipart: Multipart,
) -> Result<Response, ApiError> {
    let principal = super::government_caller(&state, &parts, "uploading a dataset is").await?;
    let code = resource_code(&classification, &sequence)?;
    let Some(published) = state.catalogue.resource(&code, None).await? else {
        return Err(ApiError::not_found("resource"));
    };
    if !may_publish(&principal, &published.resource.provider) {
        return Err(refuse(
            &state,
            &parts,
            &principal,
            ("dataset.upload", "resource", code.as_str()),
            format!(
                "only {}'s data officers (or its systems, with catalogue:write) upload its batches",
                published.resource.provider
            ),
        )
        .await);
    }
    let upload = read_form(&mut multipart).await?;
    let format = upload
        .format
        .or_else(|| {
            upload
                .file_name
                .as_deref()
                .and_then(FileFormat::from_file_name)
        })
        .unwrap_or(FileFormat::Csv);
    let import = DatasetImport {
        resource: code.to_string(),
        file: upload.file.path().to_path_buf(),
        format,
        encoding: upload.encoding,
        mode: upload.mode,
        atomic: upload.atomic,
        batch: upload.batch,
        report: None,
        chunk_rows: 10_000,
        actor: principal.actor(&parts),
    };
    let clock = state.clock.clone();
    let outcome = huimin_ingest::import_dataset(
        state.catalogue.as_ref(),
        state.datasets.as_ref(),
        &import,
        &move || clock.now(),
        &mut |_| {},
    )
    .await;
    drop(upload.file);
    match outcome.map_err(ingest_error)? {
        DatasetOutcome::Committed { summary, again } => Ok((
            if again {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            },
            Json(BatchDto::from(summary.as_ref())),
        )
            .into_response()),
        DatasetOutcome::Aborted { rejected, problems } => Err(ApiError::BatchRejected {
            message: format!(
                "{rejected} rows were rejected, so the atomic batch wrote nothing (有 {rejected} 行被拒绝，原子批次未写入任何记录)"
            ),
            rows: problems
                .into_iter()
                .map(|problem| serde_json::to_value(ProblemDto::from(problem)).unwrap_or_default())
                .collect(),
        }),
    }
}

/// An import's failure as the API answers it.
fn ingest_error(error: IngestError) -> ApiError {
    let zh = error.message_zh();
    match error {
        IngestError::UnknownResource(_) => ApiError::not_found("resource"),
        IngestError::Unreadable { message, .. } => {
            invalid("file", "", "unreadable_file", message, zh)
        }
        IngestError::Header { message, .. } => invalid("file", "", "header_mismatch", message, zh),
        IngestError::NoValidRow { .. } => {
            let message = error.to_string();
            invalid("file", "", "no_valid_row", message, zh)
        }
        IngestError::Conflict(message) => ApiError::Conflict(message),
        IngestError::Storage(error) => ApiError::Storage(error),
        IngestError::Io { .. } => ApiError::Unavailable(error.to_string()),
    }
}
