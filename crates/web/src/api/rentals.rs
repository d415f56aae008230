//! Rentals and the floating population (issue 5): a house's tenants as the grid registers
//! them — current stays, history, late registrations flagged — read through the registry's
//! access choke point (the house's grid in the reader's jurisdiction, identity numbers
//! masked without a purpose, every tenant read audited) and written by grid workers and
//! community leaders, audited.

use crate::access::Reader;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use huimin_domain::audit::{AuditEvent, Outcome};
use huimin_domain::identity::Role;
use huimin_domain::registry::House;
use huimin_domain::rental::{Tenancy, TenancyDraft, move_out_day};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One stay.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenancyDto {
    pub id: u64,
    /// Masked (`3210**********1234`) unless the reader states a purpose that shows it.
    pub tenant: String,
    pub tenant_name: Option<String>,
    pub moved_in: String,
    pub registered_at: String,
    pub registered_by: String,
    /// Registered more than three days after moving in.
    pub late: bool,
    pub days_late: i64,
    pub moved_out: Option<String>,
    pub current: bool,
}

/// A house's tenants.
#[derive(Debug, Serialize, ToSchema)]
pub struct HouseTenantsDto {
    pub house_id: String,
    pub address: String,
    pub grid: String,
    /// The house registry's rental state (the housing department's source).
    pub rental: String,
    pub rental_zh: String,
    /// Newest first; the current stays and the history.
    pub tenancies: Vec<TenancyDto>,
}

/// The house, if the reader's jurisdiction holds its grid; 404 otherwise, as for a house
/// that does not exist (the refusal audited).
async fn house_in_reach(state: &AppState, reader: &Reader, id: &str) -> Result<House, ApiError> {
    let house = state
        .store
        .house(id)
        .await?
        .ok_or_else(|| ApiError::not_found("house"))?
        .record;
    let grid = house.grid.as_str().to_owned();
    if !reader.can_read(Some(&grid)) {
        let event = reader.event("house.tenants", "", Some(&grid), Outcome::Denied);
        reader.record(state, &[event]).await?;
        return Err(ApiError::not_found("house"));
    }
    Ok(house)
}

fn tenancy_dto(reader: &Reader, tenancy: &Tenancy) -> TenancyDto {
    let days_late = tenancy.days_late();
    TenancyDto {
        id: tenancy.id,
        tenant: reader.citizen_id(tenancy.tenant.as_str(), Some(&tenancy.grid)),
        tenant_name: tenancy.tenant_name.clone(),
        moved_in: tenancy.moved_in.to_string(),
        registered_at: super::shanghai_rfc3339(tenancy.registered_at),
        registered_by: tenancy.registered_by.clone(),
        late: days_late > 0,
        days_late,
        moved_out: tenancy.moved_out.map(|day| day.to_string()),
        current: tenancy.is_current(),
    }
}

pub(crate) async fn house_tenants(
    state: &AppState,
    parts: &Parts,
    id: &str,
    purpose: Option<&str>,
) -> Result<HouseTenantsDto, ApiError> {
    let reader = Reader::of(state, parts, purpose).await?;
    let house = house_in_reach(state, &reader, id).await?;
    let tenancies = state.rentals.tenancies(&house.id).await?;
    let events: Vec<AuditEvent> = tenancies
        .iter()
        .map(|tenancy| {
            reader.event(
                "house.tenants",
                tenancy.tenant.as_str(),
                Some(house.grid.as_str()),
                Outcome::Allowed,
            )
        })
        .collect();
    reader.record(state, &events).await?;
    Ok(HouseTenantsDto {
        house_id: house.id.clone(),
        address: house.address.line(),
        grid: house.grid.as_str().to_owned(),
        rental: house.rental.code().to_owned(),
        rental_zh: house.rental.label_zh().to_owned(),
        tenancies: tenancies
            .iter()
            .map(|tenancy| tenancy_dto(&reader, tenancy))
            .collect(),
    })
}

/// A house's tenants, current and past.
#[utoipa::path(get, path = "/api/v1/houses/{id}/tenancies", params(("id" = String, Path)),
    responses((status = 200, body = HouseTenantsDto), (status = 404)))]
pub async fn get_tenancies(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<String>,
) -> Result<Json<HouseTenantsDto>, ApiError> {
    Ok(Json(house_tenants(&state, &parts, &id, None).await?))
}

/// Whether the reader registers tenants in `grid`: a grid worker or community leader
/// whose jurisdiction holds it.
fn registers(reader: &Reader, state: &AppState) -> bool {
    let now = state.clock.now();
    reader.principal.roles.iter().any(|held| {
        held.is_valid_at(now) && matches!(held.role, Role::GridWorker | Role::CommunityLeader)
    })
}

fn refused(reader: &Reader, action: &str, grid: &str) -> AuditEvent {
    reader.event(action, "", Some(grid), Outcome::Denied)
}

/// Registers a tenant (grid workers, community leaders): 201; 409 when they already live
/// there; 422 naming every wrong field. A registration more than three days after moving
/// in is kept and flagged late.
#[utoipa::path(post, path = "/api/v1/houses/{id}/tenancies", params(("id" = String, Path)),
    request_body = TenancyDraftBody,
    responses((status = 201, body = TenancyDto), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn register_tenant(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<String>,
    ApiJson(draft): ApiJson<TenancyDraft>,
) -> Result<(StatusCode, Json<TenancyDto>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(register(&state, &parts, &id, &draft).await?),
    ))
}

pub(crate) async fn register(
    state: &AppState,
    parts: &Parts,
    id: &str,
    draft: &TenancyDraft,
) -> Result<TenancyDto, ApiError> {
    let reader = Reader::of(state, parts, None).await?;
    let house = house_in_reach(state, &reader, id).await?;
    let grid = house.grid.as_str().to_owned();
    if !registers(&reader, state) {
        reader
            .record(state, &[refused(&reader, "rental.register", &grid)])
            .await?;
        return Err(ApiError::Forbidden(
            "grid workers and community leaders register tenants".to_owned(),
        ));
    }
    let (tenant, name, moved_in) = draft
        .validate(state.clock.today())
        .map_err(ApiError::Validation)?;
    let tenancy = Tenancy {
        id: 0,
        house_id: house.id.clone(),
        grid: grid.clone(),
        tenant: tenant.clone(),
        tenant_name: name,
        moved_in,
        registered_at: state.clock.now(),
        registered_by: reader.principal.account.login.clone(),
        moved_out: None,
        ended_at: None,
        ended_by: None,
    };
    let event = AuditEvent {
        object_kind: "tenancy".to_owned(),
        ..reader.event(
            "rental.register",
            tenant.as_str(),
            Some(&grid),
            Outcome::Allowed,
        )
    };
    let id = state
        .rentals
        .register_tenancy(&tenancy, &event)
        .await?
        .ok_or_else(|| {
            ApiError::Conflict(format!(
                "{} is already registered as living at house {}: register their moving out first",
                reader.citizen_id(tenant.as_str(), Some(&grid)),
                house.id
            ))
        })?;
    Ok(tenancy_dto(&reader, &Tenancy { id, ..tenancy }))
}

/// The body of a registration (documentation of `TenancyDraft`).
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct TenancyDraftBody {
    /// The tenant's identity number (from anywhere in China: floating population).
    pub citizen_id: String,
    pub name: Option<String>,
    /// `YYYY-MM-DD`, not after today.
    pub moved_in: String,
}

/// A tenant's moving out.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MoveOutBody {
    /// `YYYY-MM-DD`, between moving in and today.
    pub moved_out: String,
}

/// Registers a tenant's moving out: 200; 404 for no such current stay at the house.
#[utoipa::path(post, path = "/api/v1/houses/{id}/tenancies/{tenancy}/end",
    params(("id" = String, Path), ("tenancy" = u64, Path)), request_body = MoveOutBody,
    responses((status = 200, body = TenancyDto), (status = 403), (status = 404), (status = 422)))]
pub async fn end_tenancy(
    State(state): State<AppState>,
    parts: Parts,
    Path((id, tenancy)): Path<(String, u64)>,
    ApiJson(body): ApiJson<MoveOutBody>,
) -> Result<Json<TenancyDto>, ApiError> {
    Ok(Json(move_out(&state, &parts, &id, tenancy, &body).await?))
}

pub(crate) async fn move_out(
    state: &AppState,
    parts: &Parts,
    id: &str,
    tenancy_id: u64,
    body: &MoveOutBody,
) -> Result<TenancyDto, ApiError> {
    let reader = Reader::of(state, parts, None).await?;
    let house = house_in_reach(state, &reader, id).await?;
    let grid = house.grid.as_str().to_owned();
    if !registers(&reader, state) {
        reader
            .record(state, &[refused(&reader, "rental.end", &grid)])
            .await?;
        return Err(ApiError::Forbidden(
            "grid workers and community leaders register tenants".to_owned(),
        ));
    }
    let tenancy = state
        .rentals
        .tenancies(&house.id)
        .await?
        .into_iter()
        .find(|tenancy| tenancy.id == tenancy_id && tenancy.is_current())
        .ok_or_else(|| ApiError::not_found("current tenancy"))?;
    let now = state.clock.now();
    let moved_out =
        move_out_day(&tenancy, &body.moved_out, state.clock.today()).map_err(ApiError::field)?;
    let login = reader.principal.account.login.clone();
    let event = AuditEvent {
        object_kind: "tenancy".to_owned(),
        ..reader.event(
            "rental.end",
            tenancy.tenant.as_str(),
            Some(&grid),
            Outcome::Allowed,
        )
    };
    if !state
        .rentals
        .end_tenancy(tenancy.id, moved_out, &login, now, &event)
        .await?
    {
        return Err(ApiError::not_found("current tenancy"));
    }
    Ok(tenancy_dto(
        &reader,
        &Tenancy {
            moved_out: Some(moved_out),
            ended_at: Some(now),
            ended_by: Some(login),
            ..tenancy
        },
    ))
}
