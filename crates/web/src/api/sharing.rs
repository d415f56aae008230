//! Sharing requests and grants (共享申请与授权) through the API.
//!
//! A consumer department's data officer (or its system, with a token holding
//! `sharing:write`) requests items of a resource; the resource's sharing type decides on
//! arrival (granted, pending until a working-day deadline, refused). The providing
//! department's data officer grants or refuses a pending request and may revoke a grant;
//! the city administrator may do both for any department. A department sees the requests
//! it made or received; anyone else gets 404, as for a request that does not exist.

use super::{PageDto, PageParams, is_city_administrator};
use crate::error::{ApiError, ApiJson};
use crate::session::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use huimin_domain::audit::{AuditEvent, Outcome};
use huimin_domain::calendar::WorkingCalendar;
use huimin_domain::catalogue::{DepartmentId, ResourceCode};
use huimin_domain::identity::Role;
use huimin_domain::registry::FieldError;
use huimin_domain::sharing::{Decision, RequestDraft, SharingRequest, Status, on_arrival};
use huimin_domain::storage::SharingQuery;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use utoipa::{IntoParams, ToSchema};

/// The scope a department system's token needs to request, decide or revoke.
pub const SHARING_WRITE: &str = "sharing:write";

/// A sharing request as a consumer sends it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SharingRequestInputDto {
    /// The resource's code, e.g. `301001/000001`.
    pub resource: String,
    /// The consumer department; by default the one the caller is data officer of.
    pub consumer: Option<String>,
    /// The items wanted, by name.
    pub items: Vec<String>,
    /// A purpose kind, e.g. `household_check`; exchange requests must state it.
    pub purpose: String,
    /// 共享依据: the consumer's duty that needs the data.
    pub legal_basis: String,
    /// The grant's last day, `YYYY-MM-DD` (Asia/Shanghai), at most three years ahead.
    pub valid_until: String,
    /// Requests per minute (default 600).
    pub rate_per_minute: Option<u32>,
    /// How long the consumer keeps what it receives, and how it disposes of it.
    pub retention: String,
}

/// A sharing request with its decision.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SharingRequestDto {
    pub id: u64,
    pub resource: String,
    pub resource_version: u32,
    pub consumer: String,
    pub provider: String,
    pub items: Vec<String>,
    pub purpose: String,
    pub legal_basis: String,
    pub valid_until: String,
    pub rate_per_minute: u32,
    pub retention: String,
    /// RFC 3339 in +08:00.
    pub requested_at: String,
    pub requested_by: String,
    /// pending, granted, refused, revoked.
    pub status: String,
    pub status_zh: String,
    /// The provider's deadline while pending.
    pub deadline: Option<String>,
    /// Pending past its deadline.
    pub overdue: bool,
    /// Granted, but past its last day.
    pub expired: bool,
    /// Why it was refused or revoked.
    pub reason: Option<String>,
    pub decided_at: Option<String>,
    pub decided_by: Option<String>,
}

impl SharingRequestDto {
    pub(crate) fn of(request: &SharingRequest, today: chrono::NaiveDate) -> SharingRequestDto {
        SharingRequestDto {
            id: request.id,
            resource: request.terms.resource.to_string(),
            resource_version: request.resource_version,
            consumer: request.terms.consumer.to_string(),
            provider: request.provider.to_string(),
            items: request.terms.items.clone(),
            purpose: request.terms.purpose.clone(),
            legal_basis: request.terms.legal_basis.clone(),
            valid_until: request.terms.valid_until.to_string(),
            rate_per_minute: request.terms.rate_per_minute,
            retention: request.terms.retention.clone(),
            requested_at: super::shanghai_rfc3339(request.requested_at),
            requested_by: request.requested_by.clone(),
            status: request.status.code().to_owned(),
            status_zh: request.status.label_zh().to_owned(),
            deadline: match request.status {
                Status::Pending { deadline } => Some(deadline.to_string()),
                _ => None,
            },
            overdue: request.is_overdue(today),
            expired: request.is_expired(today),
            reason: Some(request.status.reason().to_owned()).filter(|reason| !reason.is_empty()),
            decided_at: request.decided_at.map(super::shanghai_rfc3339),
            decided_by: request.decided_by.clone(),
        }
    }
}

/// The departments a caller acts for: those of its roles.
pub(crate) fn departments_of(principal: &Principal) -> BTreeSet<String> {
    principal
        .roles
        .iter()
        .filter_map(|held| held.department.clone())
        .collect()
}

fn is_data_officer_of(principal: &Principal, department: &DepartmentId) -> bool {
    principal.roles.iter().any(|held| {
        held.role == Role::DepartmentDataOfficer
            && held.department.as_deref() == Some(department.as_str())
    })
}

fn token_allows_writing(principal: &Principal) -> bool {
    principal
        .token_scopes
        .as_ref()
        .is_none_or(|scopes| scopes.iter().any(|scope| scope == SHARING_WRITE))
}

/// Whether the caller may see the request: the city administrator, or a department that
/// made or received it.
fn may_see(principal: &Principal, request: &SharingRequest) -> bool {
    let held = departments_of(principal);
    is_city_administrator(principal)
        || held.contains(request.terms.consumer.as_str())
        || held.contains(request.provider.as_str())
}

async fn refuse(
    state: &AppState,
    parts: &Parts,
    principal: &Principal,
    action: &str,
    object: &str,
    message: String,
) -> ApiError {
    let event = AuditEvent {
        outcome: Outcome::Denied,
        ..principal
            .actor(parts)
            .event(action, "sharing_request", object)
    };
    match state.audit.append_audit(&[event], state.clock.now()).await {
        Ok(_) => ApiError::Forbidden(message),
        Err(error) => error.into(),
    }
}

fn calendar_unavailable(error: &huimin_domain::calendar::CalendarError) -> ApiError {
    ApiError::Unavailable(format!(
        "the provider's deadline cannot be counted: {error}"
    ))
}

/// Request items of a resource. 201 with the request: granted at once (unconditional),
/// pending with the provider's deadline (conditional), or refused with the reason (not
/// shared).
#[utoipa::path(post, path = "/api/v1/sharing/requests", request_body = SharingRequestInputDto,
    responses((status = 201, body = SharingRequestDto), (status = 403), (status = 422),
              (status = 503, description = "no confirmed holiday calendar for the deadline")))]
pub async fn create_request(
    State(state): State<AppState>,
    parts: Parts,
    ApiJson(input): ApiJson<SharingRequestInputDto>,
) -> Result<(StatusCode, Json<SharingRequestDto>), ApiError> {
    let principal = super::government_caller(&state, &parts, "sharing requests are").await?;
    let consumer = match input
        .consumer
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
    {
        Some(given) => given.to_owned(),
        None => {
            let officer_of: BTreeSet<&str> = principal
                .roles
                .iter()
                .filter(|held| held.role == Role::DepartmentDataOfficer)
                .filter_map(|held| held.department.as_deref())
                .collect();
            match officer_of.into_iter().collect::<Vec<_>>().as_slice() {
                [only] => (*only).to_owned(),
                _ => {
                    return Err(ApiError::field(FieldError::missing("consumer")));
                }
            }
        }
    };
    let allowed = token_allows_writing(&principal)
        && (is_city_administrator(&principal)
            || DepartmentId::parse(&consumer).is_ok_and(|id| is_data_officer_of(&principal, &id)));
    if !allowed {
        return Err(refuse(
            &state,
            &parts,
            &principal,
            "sharing.request",
            &input.resource,
            format!(
                "requesting data for {consumer} needs its department data officer role (a token also needs the scope {SHARING_WRITE})"
            ),
        )
        .await);
    }
    let code = ResourceCode::parse(&input.resource).map_err(|message| {
        ApiError::field(FieldError::new(
            "resource",
            &input.resource,
            "resource_code",
            message,
            "信息资源代码无效",
        ))
    })?;
    let published = state
        .catalogue
        .resource(&code, None)
        .await?
        .ok_or_else(|| {
            ApiError::field(FieldError::new(
                "resource",
                code.as_str(),
                "unknown_resource",
                format!("the catalogue has no resource {code}"),
                format!("目录中没有信息资源 {code}"),
            ))
        })?;
    let now = state.clock.now();
    let today = state.clock.today();
    let terms = RequestDraft {
        consumer: consumer.clone(),
        items: input.items,
        purpose: input.purpose,
        legal_basis: input.legal_basis,
        valid_until: input.valid_until,
        rate_per_minute: input.rate_per_minute,
        retention: input.retention,
    }
    .validate(&published.resource, &state.config.purposes, today)
    .map_err(ApiError::Validation)?;
    if state.catalogue.department(&terms.consumer).await?.is_none() {
        return Err(ApiError::field(FieldError::new(
            "consumer",
            &consumer,
            "unknown_department",
            format!("no department '{consumer}' is registered"),
            format!("部门 {consumer} 未登记"),
        )));
    }
    let calendar = WorkingCalendar::official().map_err(|error| calendar_unavailable(&error))?;
    let status = on_arrival(
        &published.resource,
        today,
        calendar,
        state.config.decision_days,
    )
    .map_err(|error| calendar_unavailable(&error))?;
    let decided = !matches!(status, Status::Pending { .. });
    let mut request = SharingRequest {
        id: 0,
        terms,
        provider: published.resource.provider.clone(),
        resource_version: published.version,
        requested_at: now,
        requested_by: principal.account.login.clone(),
        status,
        decided_at: decided.then_some(now),
        decided_by: decided.then(|| "system".to_owned()),
    };
    let event = AuditEvent {
        detail: format!(
            "{} of {} for {}: {}",
            request.terms.items.join(","),
            code,
            request.terms.consumer,
            request.status.code()
        ),
        ..principal
            .actor(&parts)
            .event("sharing.request", "sharing_request", "")
    };
    request.id = state
        .sharing
        .create_sharing_request(&request, &event)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(SharingRequestDto::of(&request, today)),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SharingListParams {
    pub consumer: Option<String>,
    pub provider: Option<String>,
    /// A resource code.
    pub resource: Option<String>,
    /// pending, granted, refused, revoked.
    pub status: Option<String>,
    /// For a caller acting for several departments: which one's requests (default the
    /// first).
    pub department: Option<String>,
}

fn department_param(
    field: &'static str,
    value: Option<&str>,
) -> Result<Option<DepartmentId>, ApiError> {
    value
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(|text| {
            DepartmentId::parse(text).map_err(|message| {
                ApiError::field(FieldError::new(
                    field,
                    text,
                    "invalid_department",
                    message,
                    "部门标识无效",
                ))
            })
        })
        .transpose()
}

/// Requests the caller's department made or received (every request for the city
/// administrator), newest first.
#[utoipa::path(get, path = "/api/v1/sharing/requests", params(SharingListParams, PageParams),
    responses((status = 200, body = PageDto<SharingRequestDto>), (status = 403), (status = 422)))]
pub async fn list_requests(
    State(state): State<AppState>,
    parts: Parts,
    Query(params): Query<SharingListParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<PageDto<SharingRequestDto>>, ApiError> {
    let principal = super::government_caller(&state, &parts, "sharing requests are").await?;
    let status = params
        .status
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty());
    if let Some(status) = status
        && !["pending", "granted", "refused", "revoked"].contains(&status)
    {
        return Err(ApiError::field(FieldError::not_one_of(
            "status",
            status,
            &["pending", "granted", "refused", "revoked"],
        )));
    }
    let resource = params
        .resource
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(|text| {
            ResourceCode::parse(text).map_err(|message| {
                ApiError::field(FieldError::new(
                    "resource",
                    text,
                    "resource_code",
                    message,
                    "信息资源代码无效",
                ))
            })
        })
        .transpose()?;
    let mut query = SharingQuery {
        consumer: department_param("consumer", params.consumer.as_deref())?,
        provider: department_param("provider", params.provider.as_deref())?,
        resource,
        status: status.map(str::to_owned),
        party: None,
    };
    if !is_city_administrator(&principal) {
        let held = departments_of(&principal);
        let chosen = department_param("department", params.department.as_deref())?;
        let party = match chosen {
            Some(department) if held.contains(department.as_str()) => department,
            Some(department) => {
                return Err(ApiError::Forbidden(format!(
                    "you do not act for {department}"
                )));
            }
            None => match held.iter().next() {
                Some(first) => DepartmentId::parse(first).map_err(|_| {
                    ApiError::Forbidden("your role names no valid department".to_owned())
                })?,
                None => {
                    return Err(ApiError::Forbidden(
                        "sharing requests are shown to the departments that made or received them; your roles name no department".to_owned(),
                    ));
                }
            },
        };
        query.party = Some(party);
    }
    let today = state.clock.today();
    let page = state
        .sharing
        .sharing_requests(&query, page.request())
        .await?;
    Ok(Json(PageDto::from_page(page, |request| {
        SharingRequestDto::of(&request, today)
    })))
}

async fn visible_request(
    state: &AppState,
    principal: &Principal,
    id: u64,
) -> Result<SharingRequest, ApiError> {
    match state.sharing.sharing_request(id).await? {
        Some(request) if may_see(principal, &request) => Ok(request),
        _ => Err(ApiError::not_found("sharing request")),
    }
}

/// One request, to the departments that made or received it.
#[utoipa::path(get, path = "/api/v1/sharing/requests/{id}", params(("id" = u64, Path)),
    responses((status = 200, body = SharingRequestDto), (status = 404)))]
pub async fn get_request(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<u64>,
) -> Result<Json<SharingRequestDto>, ApiError> {
    let principal = super::government_caller(&state, &parts, "sharing requests are").await?;
    let request = visible_request(&state, &principal, id).await?;
    Ok(Json(SharingRequestDto::of(&request, state.clock.today())))
}

/// The provider's answer to a pending request.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DecisionInputDto {
    /// grant or refuse.
    pub decision: String,
    /// Why it is refused (required to refuse).
    pub reason: String,
}

/// Why a grant is withdrawn.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RevocationInputDto {
    pub reason: String,
}

/// Loads a request the caller may see and checks that it may change it as the provider.
async fn provider_request(
    state: &AppState,
    parts: &Parts,
    id: u64,
    action: &str,
) -> Result<(Principal, SharingRequest), ApiError> {
    let principal = super::government_caller(state, parts, "sharing requests are").await?;
    let request = visible_request(state, &principal, id).await?;
    let allowed = token_allows_writing(&principal)
        && (is_city_administrator(&principal) || is_data_officer_of(&principal, &request.provider));
    if !allowed {
        return Err(refuse(
            state,
            parts,
            &principal,
            action,
            &id.to_string(),
            format!(
                "request {id} is decided by {}'s department data officer (a token also needs the scope {SHARING_WRITE})",
                request.provider
            ),
        )
        .await);
    }
    Ok((principal, request))
}

async fn move_request(
    state: &AppState,
    parts: &Parts,
    (principal, request): (Principal, SharingRequest),
    to: Status,
    action: &str,
) -> Result<Json<SharingRequestDto>, ApiError> {
    let now = state.clock.now();
    let event = AuditEvent {
        detail: format!("{} → {} {}", request.status.code(), to.code(), to.reason())
            .trim()
            .to_owned(),
        ..principal
            .actor(parts)
            .event(action, "sharing_request", request.id.to_string())
    };
    let moved = state
        .sharing
        .set_sharing_status(
            request.id,
            request.status.code(),
            &to,
            &principal.account.login,
            now,
            &event,
        )
        .await?;
    if !moved {
        return Err(ApiError::Conflict(format!(
            "request {} changed meanwhile; read it again",
            request.id
        )));
    }
    let updated = SharingRequest {
        status: to,
        decided_at: Some(now),
        decided_by: Some(principal.account.login.clone()),
        ..request
    };
    Ok(Json(SharingRequestDto::of(&updated, state.clock.today())))
}

/// Grant or refuse a pending request (the provider's data officer, or the city
/// administrator). 409 when it is not pending.
#[utoipa::path(post, path = "/api/v1/sharing/requests/{id}/decision", params(("id" = u64, Path)),
    request_body = DecisionInputDto,
    responses((status = 200, body = SharingRequestDto), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn decide_request(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<u64>,
    ApiJson(input): ApiJson<DecisionInputDto>,
) -> Result<Json<SharingRequestDto>, ApiError> {
    decide(&state, &parts, id, &input).await.map(Json)
}

/// Grants or refuses request `id` for the caller behind `parts` (the API and the console's
/// form share it).
pub(crate) async fn decide(
    state: &AppState,
    parts: &Parts,
    id: u64,
    input: &DecisionInputDto,
) -> Result<SharingRequestDto, ApiError> {
    let decision = match input.decision.trim() {
        "grant" => Decision::Grant,
        "refuse" if input.reason.trim().is_empty() => {
            return Err(ApiError::field(FieldError::missing("reason")));
        }
        "refuse" => Decision::Refuse {
            reason: input.reason.clone(),
        },
        other => {
            return Err(ApiError::field(FieldError::not_one_of(
                "decision",
                other,
                &["grant", "refuse"],
            )));
        }
    };
    let (principal, request) = provider_request(state, parts, id, "sharing.decide").await?;
    let to = request
        .decide(decision)
        .map_err(|error| ApiError::Conflict(error.to_string()))?;
    move_request(state, parts, (principal, request), to, "sharing.decide")
        .await
        .map(|Json(dto)| dto)
}

/// Withdraw a grant (the provider's data officer, or the city administrator); exchange
/// requests under it are refused from then on. 409 when it is not granted.
#[utoipa::path(post, path = "/api/v1/sharing/requests/{id}/revocation", params(("id" = u64, Path)),
    request_body = RevocationInputDto,
    responses((status = 200, body = SharingRequestDto), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn revoke_request(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<u64>,
    ApiJson(input): ApiJson<RevocationInputDto>,
) -> Result<Json<SharingRequestDto>, ApiError> {
    if input.reason.trim().is_empty() {
        return Err(ApiError::field(FieldError::missing("reason")));
    }
    let (principal, request) = provider_request(&state, &parts, id, "sharing.revoke").await?;
    let to = request
        .revoke(&input.reason)
        .map_err(|error| ApiError::Conflict(error.to_string()))?;
    move_request(&state, &parts, (principal, request), to, "sharing.revoke").await
}
