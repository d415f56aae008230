//! Subscriptions through the API: a consumer department subscribes to a resource's
//! changes (or some life events) under one of its grants, with an `http://` callback; the
//! secret that signs deliveries is shown once. It reads its delivery log, replays from a
//! cursor and cancels. Other departments do not see its subscriptions (404).

use super::{PageDto, PageParams, is_city_administrator};
use crate::error::{ApiError, ApiJson};
use crate::session::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use huimin_domain::audit::AuditEvent;
use huimin_domain::registry::FieldError;
use huimin_domain::subscription::{
    Delivery, LifeEvent, Subscription, SubscriptionStatus, check_callback,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SubscriptionInputDto {
    /// The granted sharing request the subscription delivers under.
    pub grant: u64,
    /// Where deliveries are POSTed: an `http://` address.
    pub callback_url: String,
    /// Only these life events: birth, death, move, marital_status, deregistration (every
    /// change of the resource's records when empty).
    pub events: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubscriptionDto {
    pub id: u64,
    pub grant: u64,
    pub consumer: String,
    pub resource: String,
    pub callback_url: String,
    pub events: Vec<String>,
    /// active, suspended (its grant is no longer in force), cancelled.
    pub status: String,
    /// The last outbox number delivered.
    pub cursor: u64,
    pub failures: u32,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub created_at: String,
    pub created_by: String,
    /// The signing secret: only in the answer that creates the subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl From<&Subscription> for SubscriptionDto {
    fn from(subscription: &Subscription) -> Self {
        SubscriptionDto {
            id: subscription.id,
            grant: subscription.grant_id,
            consumer: subscription.consumer.to_string(),
            resource: subscription.resource.to_string(),
            callback_url: subscription.callback_url.clone(),
            events: subscription
                .events
                .iter()
                .map(|event| event.code().to_owned())
                .collect(),
            status: subscription.status.code().to_owned(),
            cursor: subscription.cursor,
            failures: subscription.failures,
            next_attempt_at: super::shanghai_rfc3339(subscription.next_attempt_at),
            last_error: subscription.last_error.clone(),
            created_at: super::shanghai_rfc3339(subscription.created_at),
            created_by: subscription.created_by.clone(),
            secret: None,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryDto {
    pub attempted_at: String,
    pub first_seq: u64,
    pub last_seq: u64,
    pub events: u32,
    pub status_code: Option<u16>,
    pub delivered: bool,
    pub error: Option<String>,
    pub duration_ms: u64,
}

impl From<Delivery> for DeliveryDto {
    fn from(delivery: Delivery) -> Self {
        DeliveryDto {
            attempted_at: super::shanghai_rfc3339(delivery.attempted_at),
            first_seq: delivery.first_seq,
            last_seq: delivery.last_seq,
            events: delivery.events,
            status_code: delivery.status_code,
            delivered: delivery.delivered,
            error: delivery.error,
            duration_ms: delivery.duration_ms,
        }
    }
}

fn writes(principal: &Principal) -> bool {
    principal
        .token_scopes
        .as_ref()
        .is_none_or(|scopes| scopes.iter().any(|scope| scope == super::SHARING_WRITE))
}

async fn visible(
    state: &AppState,
    principal: &Principal,
    id: u64,
) -> Result<Subscription, ApiError> {
    let held = super::sharing::departments_of(principal);
    match state.subscriptions.subscription(id).await? {
        Some(subscription)
            if is_city_administrator(principal)
                || held.contains(subscription.consumer.as_str()) =>
        {
            Ok(subscription)
        }
        _ => Err(ApiError::not_found("subscription")),
    }
}

/// Subscribe to a granted resource's changes. 201 with the subscription and, once, its
/// signing secret; delivery starts with the changes committed after now.
#[utoipa::path(post, path = "/api/v1/subscriptions", request_body = SubscriptionInputDto,
    responses((status = 201, body = SubscriptionDto), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn create_subscription(
    State(state): State<AppState>,
    parts: Parts,
    ApiJson(input): ApiJson<SubscriptionInputDto>,
) -> Result<(StatusCode, Json<SubscriptionDto>), ApiError> {
    let principal = super::government_caller(&state, &parts, "subscriptions are").await?;
    let mut errors = Vec::new();
    let callback = check_callback(&input.callback_url)
        .map_err(|message| {
            errors.push(FieldError::new(
                "callback_url",
                &input.callback_url,
                "invalid_callback",
                &message,
                "回调地址无效",
            ));
        })
        .ok();
    let mut events = Vec::new();
    for code in &input.events {
        match LifeEvent::parse(code.trim()) {
            Some(event) if !events.contains(&event) => events.push(event),
            Some(_) => {}
            None => errors.push(FieldError::not_one_of(
                "events",
                code,
                &LifeEvent::ALL.map(LifeEvent::code),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let held = super::sharing::departments_of(&principal);
    let grant = match state.sharing.sharing_request(input.grant).await? {
        Some(grant) if held.contains(grant.terms.consumer.as_str()) => grant,
        _ => return Err(ApiError::not_found("grant")),
    };
    if !writes(&principal) {
        return Err(ApiError::Forbidden(format!(
            "subscribing needs a token with the scope {}",
            super::SHARING_WRITE
        )));
    }
    let today = state.clock.today();
    if grant.status != huimin_domain::sharing::Status::Granted || grant.is_expired(today) {
        return Err(ApiError::Conflict(format!(
            "request {} is {}; only a grant in force can be subscribed to",
            grant.id,
            if grant.is_expired(today) {
                "expired"
            } else {
                grant.status.code()
            }
        )));
    }
    let now = state.clock.now();
    let secret = crate::session::random_token()?;
    let draft = Subscription {
        id: 0,
        grant_id: grant.id,
        consumer: grant.terms.consumer.clone(),
        resource: grant.terms.resource.clone(),
        callback_url: callback.unwrap_or_default(),
        secret: secret.clone(),
        events,
        status: SubscriptionStatus::Active,
        cursor: 0,
        failures: 0,
        next_attempt_at: now,
        last_error: None,
        created_at: now,
        created_by: principal.account.login.clone(),
    };
    let event = AuditEvent {
        detail: format!("grant {} of {}", grant.id, grant.terms.resource),
        ..principal
            .actor(&parts)
            .event("subscription.create", "subscription", "")
    };
    let created = state
        .subscriptions
        .create_subscription(&draft, &event)
        .await?;
    let mut dto = SubscriptionDto::from(&created);
    dto.secret = Some(secret);
    Ok((StatusCode::CREATED, Json(dto)))
}

/// The caller's departments' subscriptions (every one for the city administrator).
#[utoipa::path(get, path = "/api/v1/subscriptions", params(PageParams),
    responses((status = 200, body = PageDto<SubscriptionDto>), (status = 403)))]
pub async fn list_subscriptions(
    State(state): State<AppState>,
    parts: Parts,
    Query(page): Query<PageParams>,
) -> Result<Json<PageDto<SubscriptionDto>>, ApiError> {
    let principal = super::government_caller(&state, &parts, "subscriptions are").await?;
    let consumer = if is_city_administrator(&principal) {
        None
    } else {
        let held = super::sharing::departments_of(&principal);
        let first = held.iter().next().ok_or_else(|| {
            ApiError::Forbidden(
                "subscriptions belong to departments; your roles name none".to_owned(),
            )
        })?;
        Some(
            huimin_domain::catalogue::DepartmentId::parse(first).map_err(|_| {
                ApiError::Forbidden("your role names no valid department".to_owned())
            })?,
        )
    };
    let found = state
        .subscriptions
        .subscriptions(consumer.as_ref(), page.request())
        .await?;
    Ok(Json(PageDto::from_page(found, |subscription| {
        SubscriptionDto::from(&subscription)
    })))
}

/// One subscription, to its consumer.
#[utoipa::path(get, path = "/api/v1/subscriptions/{id}", params(("id" = u64, Path)),
    responses((status = 200, body = SubscriptionDto), (status = 404)))]
pub async fn get_subscription(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<u64>,
) -> Result<Json<SubscriptionDto>, ApiError> {
    let principal = super::government_caller(&state, &parts, "subscriptions are").await?;
    Ok(Json(SubscriptionDto::from(
        &visible(&state, &principal, id).await?,
    )))
}

/// A subscription's delivery log, newest first.
#[utoipa::path(get, path = "/api/v1/subscriptions/{id}/deliveries", params(("id" = u64, Path), PageParams),
    responses((status = 200, body = PageDto<DeliveryDto>), (status = 404)))]
pub async fn subscription_deliveries(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<u64>,
    Query(page): Query<PageParams>,
) -> Result<Json<PageDto<DeliveryDto>>, ApiError> {
    let principal = super::government_caller(&state, &parts, "subscriptions are").await?;
    let subscription = visible(&state, &principal, id).await?;
    let found = state
        .subscriptions
        .deliveries(subscription.id, page.request())
        .await?;
    Ok(Json(PageDto::from_page(found, DeliveryDto::from)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ReplayInputDto {
    /// Deliver again from this outbox number on (1 is the resource's first change).
    pub from: u64,
}

/// Deliver again from an outbox number (the receiver lost events, or is new). 200 with the
/// subscription, its cursor moved back.
#[utoipa::path(post, path = "/api/v1/subscriptions/{id}/replay", params(("id" = u64, Path)), request_body = ReplayInputDto,
    responses((status = 200, body = SubscriptionDto), (status = 403), (status = 404), (status = 422)))]
pub async fn replay_subscription(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<u64>,
    ApiJson(input): ApiJson<ReplayInputDto>,
) -> Result<Json<SubscriptionDto>, ApiError> {
    let principal = super::government_caller(&state, &parts, "subscriptions are").await?;
    let subscription = visible(&state, &principal, id).await?;
    if !writes(&principal) {
        return Err(ApiError::Forbidden(format!(
            "replaying needs a token with the scope {}",
            super::SHARING_WRITE
        )));
    }
    if input.from == 0 || input.from > subscription.cursor + 1 {
        return Err(ApiError::field(FieldError::new(
            "from",
            &input.from.to_string(),
            "out_of_range",
            format!(
                "replay starts at an outbox number from 1 to {}",
                subscription.cursor + 1
            ),
            "重放起点超出范围".to_owned(),
        )));
    }
    let now = state.clock.now();
    let event = AuditEvent {
        detail: format!("from {}", input.from),
        ..principal
            .actor(&parts)
            .event("subscription.replay", "subscription", id.to_string())
    };
    state
        .subscriptions
        .replay_subscription(id, input.from - 1, now, &event)
        .await?;
    let replayed = visible(&state, &principal, id).await?;
    Ok(Json(SubscriptionDto::from(&replayed)))
}

/// Stop a subscription for good.
#[utoipa::path(post, path = "/api/v1/subscriptions/{id}/cancel", params(("id" = u64, Path)),
    responses((status = 200, body = SubscriptionDto), (status = 403), (status = 404)))]
pub async fn cancel_subscription(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<u64>,
) -> Result<Json<SubscriptionDto>, ApiError> {
    let principal = super::government_caller(&state, &parts, "subscriptions are").await?;
    let subscription = visible(&state, &principal, id).await?;
    if !writes(&principal) {
        return Err(ApiError::Forbidden(format!(
            "cancelling needs a token with the scope {}",
            super::SHARING_WRITE
        )));
    }
    let event =
        principal
            .actor(&parts)
            .event("subscription.cancel", "subscription", id.to_string());
    state
        .subscriptions
        .set_subscription_status(
            subscription.id,
            SubscriptionStatus::Cancelled,
            None,
            state.clock.now(),
            Some(&event),
        )
        .await?;
    Ok(Json(SubscriptionDto::from(
        &visible(&state, &principal, id).await?,
    )))
}
