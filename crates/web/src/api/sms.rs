//! SMS intake (issue 5): the hotline's SMS inbox.
//!
//! An SMS gateway delivers each message to the hotline's number with
//! `POST /api/v1/sms/inbound`, as a department system with a token of the scope
//! `sms:inbound`. A message carries no category and no place, so it waits in the inbox
//! until a hotline agent or a dispatcher takes it as a ticket (`…/ticket`: the agent adds
//! the category and location the text gives, the sender's number and the text come from
//! the message) or dismisses it with a reason. A ticket is acknowledged to the sender
//! through the state's [`SmsGateway`](crate::sms::SmsGateway).

use super::cases::{CaseDto, open_case_from_sms};
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use huimin_domain::access::mask_phone;
use huimin_domain::audit::AuditEvent;
use huimin_domain::case::intake::CaseDraft;
use huimin_domain::case::sms::{InboundSmsDraft, SmsMessage, SmsStatus};
use huimin_domain::identity::Role;
use huimin_domain::registry::FieldError;
use huimin_domain::storage::{Page, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The scope a gateway's token needs to deliver messages.
pub const SMS_INBOUND: &str = "sms:inbound";

/// The longest dismissal reason.
const REASON_LIMIT: usize = 200;

/// A message in the inbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct SmsDto {
    pub id: u64,
    pub message_id: String,
    /// In full for hotline agents and dispatchers, masked otherwise.
    pub phone: String,
    pub text: String,
    pub received_at: String,
    /// new, ticketed or dismissed.
    pub status: String,
    pub status_zh: String,
    pub case_id: Option<u64>,
    pub handled_by: Option<String>,
    pub handled_at: Option<String>,
    pub reason: Option<String>,
}

pub(crate) fn sms_dto(message: &SmsMessage, full_phone: bool) -> SmsDto {
    SmsDto {
        id: message.id,
        message_id: message.message_id.clone(),
        phone: if full_phone {
            message.phone.as_str().to_owned()
        } else {
            mask_phone(message.phone.as_str())
        },
        text: message.text.clone(),
        received_at: super::shanghai_rfc3339(message.received_at),
        status: message.status.code().to_owned(),
        status_zh: message.status.name_zh().to_owned(),
        case_id: message.case_id,
        handled_by: message.handled_by.clone(),
        handled_at: message.handled_at.map(super::shanghai_rfc3339),
        reason: message.reason.clone(),
    }
}

/// Whether the caller works the inbox: hotline agents and dispatchers.
fn works_the_inbox(principal: &crate::session::Principal) -> bool {
    principal
        .roles
        .iter()
        .any(|held| matches!(held.role, Role::HotlineAgent | Role::Dispatcher))
}

pub(crate) async fn inbox_worker(
    state: &AppState,
    parts: &Parts,
) -> Result<crate::session::Principal, ApiError> {
    let principal = super::government_caller(state, parts, "the SMS inbox is").await?;
    if !works_the_inbox(&principal) {
        return Err(ApiError::Forbidden(
            "the SMS inbox is for hotline agents and dispatchers".to_owned(),
        ));
    }
    Ok(principal)
}

/// A gateway delivers a message: 201 when new, 200 when the same message id was
/// delivered before (gateways deliver at least once), 409 when that id came with another
/// sender or text.
#[utoipa::path(post, path = "/api/v1/sms/inbound", request_body = InboundSmsBody,
    responses((status = 201, body = SmsDto), (status = 200, body = SmsDto), (status = 403),
        (status = 409), (status = 422)))]
pub async fn receive_sms(
    State(state): State<AppState>,
    parts: Parts,
    ApiJson(draft): ApiJson<InboundSmsDraft>,
) -> Result<(StatusCode, Json<SmsDto>), ApiError> {
    let principal = super::government_caller(&state, &parts, "SMS delivery is").await?;
    if !principal
        .token_scopes
        .as_ref()
        .is_some_and(|scopes| scopes.iter().any(|scope| scope == SMS_INBOUND))
    {
        return Err(ApiError::Forbidden(format!(
            "delivering SMS needs a gateway's token with {SMS_INBOUND}"
        )));
    }
    let now = state.clock.now();
    let sms = draft.validate(now).map_err(ApiError::Validation)?;
    let event = AuditEvent {
        detail: mask_phone(sms.phone.as_str()),
        ..principal.actor(&parts).event("sms.receive", "sms", "")
    };
    match state.cases.receive_sms(&sms, &event, now).await? {
        Ok((kept, fresh)) => {
            let status = if fresh {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((status, Json(sms_dto(&kept, false))))
        }
        Err(kept) => Err(ApiError::Conflict(format!(
            "message {} was delivered before with another sender or text (inbox message {})",
            kept.message_id, kept.id
        ))),
    }
}

/// The body a gateway delivers (documentation of `InboundSmsDraft`).
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct InboundSmsBody {
    /// The gateway's id of the message, 1 to 64 of letters, digits, `-_.:`.
    pub message_id: String,
    /// The sender's mobile number.
    pub phone: String,
    /// At most 1,000 characters.
    pub text: String,
    /// RFC 3339; the delivery time when absent.
    pub received_at: Option<String>,
}

/// The inbox's filter.
#[derive(Debug, Deserialize, IntoParams)]
pub struct SmsQuery {
    /// new (the default, oldest first), ticketed, dismissed or all (newest first).
    pub status: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// A page of the inbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct SmsPageDto {
    pub items: Vec<SmsDto>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// The inbox: by default the messages waiting, oldest first.
#[utoipa::path(get, path = "/api/v1/sms", params(SmsQuery),
    responses((status = 200, body = SmsPageDto), (status = 403), (status = 422)))]
pub async fn sms_inbox(
    State(state): State<AppState>,
    parts: Parts,
    Query(query): Query<SmsQuery>,
) -> Result<Json<SmsPageDto>, ApiError> {
    let principal = inbox_worker(&state, &parts).await?;
    let page = inbox_page(&state, &query).await?;
    audit_list(&state, &parts, &principal, page.items.len()).await?;
    Ok(Json(SmsPageDto {
        items: page
            .items
            .iter()
            .map(|message| sms_dto(message, true))
            .collect(),
        total: page.total,
        page: page.page,
        per_page: page.per_page,
    }))
}

/// A read of the inbox (senders' numbers in full) is audited as one entry, as case lists.
pub(crate) async fn audit_list(
    state: &AppState,
    parts: &Parts,
    principal: &crate::session::Principal,
    count: usize,
) -> Result<(), ApiError> {
    let event = AuditEvent {
        detail: format!("{count} messages"),
        ..principal.actor(parts).event("sms.list", "sms", "")
    };
    state
        .audit
        .append_audit(&[event], state.clock.now())
        .await?;
    Ok(())
}

/// The inbox's page the query asks for, its status checked.
pub(crate) async fn inbox_page(
    state: &AppState,
    query: &SmsQuery,
) -> Result<Page<SmsMessage>, ApiError> {
    let status = match query.status.as_deref().map(str::trim) {
        None | Some("") | Some("new") => Some(SmsStatus::New),
        Some("all") => None,
        Some(text) => Some(SmsStatus::parse(text).ok_or_else(|| {
            ApiError::field(FieldError::new(
                "status",
                text,
                "invalid_status",
                "the status is new, ticketed, dismissed or all",
                "状态须为 new、ticketed、dismissed 或 all",
            ))
        })?),
    };
    let page = PageRequest::new(query.page.unwrap_or(1), query.per_page.unwrap_or(20));
    Ok(state.cases.sms_messages(status, page).await?)
}

/// An inbox message for a hotline agent or dispatcher (the ticket form's prefill).
pub(crate) async fn inbox_sms(
    state: &AppState,
    parts: &Parts,
    id: u64,
) -> Result<SmsMessage, ApiError> {
    let principal = inbox_worker(state, parts).await?;
    let message = inbox_message(state, id).await?;
    let event = principal
        .actor(parts)
        .event("sms.read", "sms", id.to_string());
    state
        .audit
        .append_audit(&[event], state.clock.now())
        .await?;
    Ok(message)
}

async fn inbox_message(state: &AppState, id: u64) -> Result<SmsMessage, ApiError> {
    state
        .cases
        .sms_message(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("SMS {id}")))
}

/// Takes a waiting message as a hotline ticket. The body is a case's (category, location,
/// description, priority, reporter name); the channel is `sms`, the reporter's phone the
/// sender's and the callback `sms` unless given. 409 when the message was taken or
/// dismissed meanwhile.
#[utoipa::path(post, path = "/api/v1/sms/{id}/ticket", request_body = super::CaseDraftBody,
    responses((status = 201, body = CaseDto), (status = 403), (status = 404), (status = 409),
        (status = 422)))]
pub async fn ticket_sms(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<u64>,
    ApiJson(draft): ApiJson<CaseDraft>,
) -> Result<(StatusCode, Json<CaseDto>), ApiError> {
    inbox_worker(&state, &parts).await?;
    let message = inbox_message(&state, id).await?;
    let dto = open_case_from_sms(&state, &parts, draft, &message).await?;
    Ok((StatusCode::CREATED, Json(dto)))
}

/// Why a message is dismissed.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DismissBody {
    /// 1 to 200 characters, e.g. 广告短信.
    pub reason: String,
}

/// Dismisses a waiting message with a reason, audited. 409 when it was taken meanwhile.
#[utoipa::path(post, path = "/api/v1/sms/{id}/dismiss", request_body = DismissBody,
    responses((status = 200, body = SmsDto), (status = 403), (status = 404), (status = 409),
        (status = 422)))]
pub async fn dismiss_sms(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<DismissBody>,
) -> Result<Json<SmsDto>, ApiError> {
    let message = dismiss_message(&state, &parts, id, &body.reason).await?;
    Ok(Json(sms_dto(&message, true)))
}

/// Dismisses a waiting message for an inbox worker; returns it as now kept.
pub(crate) async fn dismiss_message(
    state: &AppState,
    parts: &Parts,
    id: u64,
    reason: &str,
) -> Result<SmsMessage, ApiError> {
    let principal = inbox_worker(state, parts).await?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > REASON_LIMIT {
        return Err(ApiError::field(FieldError::new(
            "reason",
            reason,
            "invalid_reason",
            format!("a dismissal gives a reason of 1 to {REASON_LIMIT} characters"),
            format!("作废须填写 1 至 {REASON_LIMIT} 字的理由"),
        )));
    }
    inbox_message(state, id).await?;
    let event = AuditEvent {
        detail: reason.to_owned(),
        ..principal
            .actor(parts)
            .event("sms.dismiss", "sms", id.to_string())
    };
    if !state
        .cases
        .dismiss_sms(id, reason, &event, state.clock.now())
        .await?
    {
        return Err(already_handled(&inbox_message(state, id).await?));
    }
    inbox_message(state, id).await
}

/// The conflict of a message no longer waiting.
pub(crate) fn already_handled(message: &SmsMessage) -> ApiError {
    ApiError::Conflict(match message.case_id {
        Some(case) => format!("SMS {} was already taken as case {case}", message.id),
        None => format!("SMS {} is {} already", message.id, message.status.code()),
    })
}
