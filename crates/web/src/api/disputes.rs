//! Disputes of one datum, one source (一数一源) through the API: the authoritative
//! department lists the disagreements routed to it and answers them; the department whose
//! records disagree sees them too. Disputes carry personal values (an address, a phone),
//! so every dispute shown is an audit entry under its subject; to anyone else a dispute
//! does not exist (404).

use super::{PageDto, PageParams, is_city_administrator};
use crate::error::{ApiError, ApiJson};
use crate::session::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use huimin_domain::audit::{AuditEvent, Outcome};
use huimin_domain::calendar::WorkingCalendar;
use huimin_domain::catalogue::{DepartmentId, RegistryField};
use huimin_domain::dispute::{Answer, Dispute, Resolution, check_note};
use huimin_domain::identity::Role;
use huimin_domain::registry::FieldError;
use huimin_domain::storage::DisputeQuery;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DisputeDto {
    pub id: u64,
    /// The registry field, e.g. `person.residence_address`.
    pub field: String,
    pub field_zh: String,
    pub subject: String,
    /// What the registry keeps, from the authoritative source.
    pub registry_value: Option<String>,
    /// What the other source says.
    pub source_value: String,
    pub source_resource: String,
    pub source_department: String,
    pub batch_id: String,
    pub authority_resource: String,
    /// The department that answers.
    pub authority: String,
    pub opened_at: String,
    /// The last day to answer; `None` when the holiday calendar does not reach it.
    pub deadline: Option<String>,
    pub overdue: bool,
    /// open or closed.
    pub status: String,
    pub resolution: Option<String>,
    pub resolution_zh: Option<String>,
    pub note: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<String>,
}

impl DisputeDto {
    pub(crate) fn of(dispute: &Dispute, today: chrono::NaiveDate, days: u32) -> DisputeDto {
        let calendar = WorkingCalendar::official().ok();
        let deadline = calendar.and_then(|calendar| dispute.deadline(calendar, days).ok());
        DisputeDto {
            id: dispute.id,
            field: dispute.field.code().to_owned(),
            field_zh: dispute.field.label_zh().to_owned(),
            subject: dispute.subject.clone(),
            registry_value: dispute.registry_value.clone(),
            source_value: dispute.source_value.clone(),
            source_resource: dispute.source_resource.to_string(),
            source_department: dispute.source_department.to_string(),
            batch_id: dispute.batch_id.clone(),
            authority_resource: dispute.authority_resource.to_string(),
            authority: dispute.authority.to_string(),
            opened_at: super::shanghai_rfc3339(dispute.opened_at),
            deadline: deadline.map(|date| date.to_string()),
            overdue: dispute.answer.is_none() && deadline.is_some_and(|deadline| today > deadline),
            status: if dispute.answer.is_some() {
                "closed"
            } else {
                "open"
            }
            .to_owned(),
            resolution: dispute
                .answer
                .as_ref()
                .map(|answer| answer.resolution.code().to_owned()),
            resolution_zh: dispute
                .answer
                .as_ref()
                .map(|answer| answer.resolution.label_zh().to_owned()),
            note: dispute.answer.as_ref().map(|answer| answer.note.clone()),
            answered_by: dispute.answer.as_ref().map(|answer| answer.by.clone()),
            answered_at: dispute
                .answer
                .as_ref()
                .map(|answer| super::shanghai_rfc3339(answer.at)),
        }
    }
}

fn may_see(principal: &Principal, dispute: &Dispute) -> bool {
    let held = super::sharing::departments_of(principal);
    is_city_administrator(principal)
        || held.contains(dispute.authority.as_str())
        || held.contains(dispute.source_department.as_str())
}

/// Records that the disputes were shown, each under its subject, before the answer leaves.
pub(crate) async fn record_reads(
    state: &AppState,
    parts: &Parts,
    principal: &Principal,
    disputes: &[Dispute],
) -> Result<(), ApiError> {
    let actor = principal.actor(parts);
    let events: Vec<AuditEvent> = disputes
        .iter()
        .map(|dispute| AuditEvent {
            subject: if dispute.field.code().starts_with("person.") {
                dispute.subject.clone()
            } else {
                String::new()
            },
            detail: dispute.field.code().to_owned(),
            ..actor.event("dispute.read", "dispute", dispute.id.to_string())
        })
        .collect();
    if !events.is_empty() {
        state.audit.append_audit(&events, state.clock.now()).await?;
    }
    Ok(())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DisputeListParams {
    /// open or closed.
    pub status: Option<String>,
    /// A registry field, e.g. `person.residence_address`.
    pub field: Option<String>,
    pub subject: Option<String>,
    /// The batch that brought the other value.
    pub batch: Option<String>,
    /// For a caller acting for several departments: which one's disputes (default the first).
    pub department: Option<String>,
}

/// Disputes routed to the caller's department or raised by its records (all of them for
/// the city administrator), newest first.
#[utoipa::path(get, path = "/api/v1/disputes", params(DisputeListParams, PageParams),
    responses((status = 200, body = PageDto<DisputeDto>), (status = 403), (status = 422)))]
pub async fn list_disputes(
    State(state): State<AppState>,
    parts: Parts,
    Query(params): Query<DisputeListParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<PageDto<DisputeDto>>, ApiError> {
    let principal = super::government_caller(&state, &parts, "disputes are").await?;
    let open = match params
        .status
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
    {
        None => None,
        Some("open") => Some(true),
        Some("closed") => Some(false),
        Some(other) => {
            return Err(ApiError::field(FieldError::not_one_of(
                "status",
                other,
                &["open", "closed"],
            )));
        }
    };
    let field = match params
        .field
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
    {
        None => None,
        Some(text) => Some(RegistryField::parse(text).ok_or_else(|| {
            ApiError::field(FieldError::new(
                "field",
                text,
                "unknown_field",
                format!("'{text}' is not a registry field, e.g. person.residence_address"),
                format!("{text} 不是基础库字段"),
            ))
        })?),
    };
    let mut query = DisputeQuery {
        subject: params
            .subject
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty()),
        batch_id: params
            .batch
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty()),
        field,
        open,
        ..DisputeQuery::default()
    };
    if !is_city_administrator(&principal) {
        let held = super::sharing::departments_of(&principal);
        let chosen = params
            .department
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty());
        let party = match chosen {
            Some(department) if held.contains(department) => department.to_owned(),
            Some(department) => return Err(ApiError::Forbidden(format!("you do not act for {department}"))),
            None => held.iter().next().cloned().ok_or_else(|| {
                ApiError::Forbidden("disputes are shown to the departments on either side; your roles name no department".to_owned())
            })?,
        };
        query.party =
            Some(DepartmentId::parse(&party).map_err(|_| {
                ApiError::Forbidden("your role names no valid department".to_owned())
            })?);
    }
    let found = state.disputes.disputes(&query, page.request()).await?;
    record_reads(&state, &parts, &principal, &found.items).await?;
    let today = state.clock.today();
    let days = state.config.decision_days;
    Ok(Json(PageDto::from_page(found, |dispute| {
        DisputeDto::of(&dispute, today, days)
    })))
}

async fn visible_dispute(
    state: &AppState,
    principal: &Principal,
    id: u64,
) -> Result<Dispute, ApiError> {
    match state.disputes.dispute(id).await? {
        Some(dispute) if may_see(principal, &dispute) => Ok(dispute),
        _ => Err(ApiError::not_found("dispute")),
    }
}

/// One dispute, to the departments on either side.
#[utoipa::path(get, path = "/api/v1/disputes/{id}", params(("id" = u64, Path)),
    responses((status = 200, body = DisputeDto), (status = 404)))]
pub async fn get_dispute(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<u64>,
) -> Result<Json<DisputeDto>, ApiError> {
    let principal = super::government_caller(&state, &parts, "disputes are").await?;
    let dispute = visible_dispute(&state, &principal, id).await?;
    record_reads(&state, &parts, &principal, std::slice::from_ref(&dispute)).await?;
    Ok(Json(DisputeDto::of(
        &dispute,
        state.clock.today(),
        state.config.decision_days,
    )))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DisputeAnswerDto {
    /// registry_correct (the authoritative value stands) or source_correct (the
    /// authoritative department will correct its own data).
    pub resolution: String,
    /// Required for source_correct: what will be corrected, and when.
    pub note: String,
}

/// Answer a dispute, closing it (the authoritative department's data officer, or the city
/// administrator). 409 when it is already answered.
#[utoipa::path(post, path = "/api/v1/disputes/{id}/answer", params(("id" = u64, Path)),
    request_body = DisputeAnswerDto,
    responses((status = 200, body = DisputeDto), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn answer_dispute(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<u64>,
    ApiJson(input): ApiJson<DisputeAnswerDto>,
) -> Result<Json<DisputeDto>, ApiError> {
    answer(&state, &parts, id, &input).await.map(Json)
}

/// Answers dispute `id` for the caller behind `parts` (the API and the console's form
/// share it).
pub(crate) async fn answer(
    state: &AppState,
    parts: &Parts,
    id: u64,
    input: &DisputeAnswerDto,
) -> Result<DisputeDto, ApiError> {
    let resolution = Resolution::parse(input.resolution.trim()).ok_or_else(|| {
        ApiError::field(FieldError::not_one_of(
            "resolution",
            input.resolution.trim(),
            &["registry_correct", "source_correct"],
        ))
    })?;
    let note = check_note(resolution, &input.note).map_err(|message| {
        ApiError::field(FieldError::new(
            "note",
            &input.note,
            "invalid_note",
            &message,
            "说明无效或缺失",
        ))
    })?;
    let principal = super::government_caller(state, parts, "disputes are").await?;
    let dispute = visible_dispute(state, &principal, id).await?;
    let writes = principal
        .token_scopes
        .as_ref()
        .is_none_or(|scopes| scopes.iter().any(|scope| scope == super::CATALOGUE_WRITE));
    let answers = is_city_administrator(&principal)
        || principal.roles.iter().any(|held| {
            held.role == Role::DepartmentDataOfficer
                && held.department.as_deref() == Some(dispute.authority.as_str())
        });
    if !(writes && answers) {
        let event = AuditEvent {
            outcome: Outcome::Denied,
            ..principal
                .actor(parts)
                .event("dispute.answer", "dispute", id.to_string())
        };
        state
            .audit
            .append_audit(&[event], state.clock.now())
            .await?;
        return Err(ApiError::Forbidden(format!(
            "dispute {id} is answered by {}'s department data officer (a token also needs the scope {})",
            dispute.authority,
            super::CATALOGUE_WRITE
        )));
    }
    let answer = Answer {
        resolution,
        note,
        by: principal.account.login.clone(),
        at: state.clock.now(),
    };
    let event = AuditEvent {
        detail: format!("{}: {}", dispute.field.code(), resolution.code()),
        subject: if dispute.field.code().starts_with("person.") {
            dispute.subject.clone()
        } else {
            String::new()
        },
        ..principal
            .actor(parts)
            .event("dispute.answer", "dispute", id.to_string())
    };
    if !state.disputes.answer_dispute(id, &answer, &event).await? {
        return Err(ApiError::Conflict(format!(
            "dispute {id} is already answered"
        )));
    }
    let answered = Dispute {
        answer: Some(answer),
        ..dispute
    };
    Ok(DisputeDto::of(
        &answered,
        state.clock.today(),
        state.config.decision_days,
    ))
}
