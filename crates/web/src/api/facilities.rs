//! Manhole covers and buildings' safety appraisals (issue 5 §6): what grid workers patrol
//! besides people and rented houses.
//!
//! - A manhole cover is registered (or its record replaced) by its owner department's
//!   officers or the city administrator, under its 16-digit component code; its location
//!   places it in its grid, whose county must be the code's.
//! - A building's safety appraisal is recorded by a department officer or the city
//!   administrator; the latest one decides whether the building is dangerous (C or D).
//!
//! Both are read by everyone who works with cases in the area. Writes and reads are
//! audited.

use super::cases::{audit, case_worker, read_event, require_cases_write, scope};
use super::{PageParams, shanghai_rfc3339};
use crate::error::{ApiError, ApiJson};
use crate::session::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use huimin_domain::audit::{AuditEvent, Outcome};
use huimin_domain::facility::{
    Appraisal, AppraisalDraft, Component, ComponentDraft, county_matches,
};
use huimin_domain::identity::Role;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A manhole cover.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentDto {
    pub code: String,
    /// The class and subclass, e.g. `0111`.
    pub kind: String,
    /// e.g. 燃气井盖.
    pub kind_zh: String,
    pub longitude: f64,
    pub latitude: f64,
    pub grid: String,
    /// The owner department's id.
    pub owner: String,
    /// intact, damaged or missing.
    pub status: String,
    pub status_zh: String,
    pub note: String,
    pub updated_at: String,
    pub updated_by: String,
}

fn component_dto(component: &Component) -> ComponentDto {
    ComponentDto {
        code: component.code.as_str().to_owned(),
        kind: component.kind.code().to_owned(),
        kind_zh: component.kind.name_zh().to_owned(),
        longitude: component.location.longitude,
        latitude: component.location.latitude,
        grid: component.grid.clone(),
        owner: component.owner.clone(),
        status: component.status.code().to_owned(),
        status_zh: component.status.name_zh().to_owned(),
        note: component.note.clone(),
        updated_at: shanghai_rfc3339(component.updated_at),
        updated_by: component.updated_by.clone(),
    }
}

/// A manhole cover as its owner sends it.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct ComponentDraftBody {
    pub longitude: f64,
    pub latitude: f64,
    /// The owner department's id.
    pub owner: String,
    /// intact (default), damaged or missing.
    pub status: Option<String>,
    /// At most 500 characters.
    pub note: Option<String>,
}

/// The caller's roles valid now.
fn held(principal: &Principal, now: chrono::DateTime<chrono::Utc>) -> Vec<(Role, Option<String>)> {
    principal
        .roles
        .iter()
        .filter(|held| held.is_valid_at(now))
        .map(|held| (held.role, held.department.clone()))
        .collect()
}

/// The caller as a writer of facilities: staff, or a system whose token has
/// `cases:write`.
async fn writer(state: &AppState, parts: &Parts) -> Result<Principal, ApiError> {
    let principal = super::government_caller(state, parts, "facilities are").await?;
    require_cases_write(&principal, "registering facilities")?;
    Ok(principal)
}

async fn refuse(
    state: &AppState,
    principal: &Principal,
    parts: &Parts,
    action: &str,
    object: (&str, &str),
    why: String,
) -> ApiError {
    let event = AuditEvent {
        outcome: Outcome::Denied,
        ..principal.actor(parts).event(action, object.0, object.1)
    };
    match audit(state, event).await {
        Ok(()) => ApiError::Forbidden(why),
        Err(error) => error,
    }
}

/// Registers a manhole cover, or replaces its record: 201 when new, 200 when replaced;
/// 403 unless the caller is an officer of the owner department or the city
/// administrator; 422 naming every wrong field.
#[utoipa::path(put, path = "/api/v1/components/{code}", params(("code" = String, Path)),
    request_body = ComponentDraftBody,
    responses((status = 201, body = ComponentDto), (status = 200, body = ComponentDto),
        (status = 403), (status = 422)))]
pub async fn put_component(
    State(state): State<AppState>,
    parts: Parts,
    Path(code): Path<String>,
    ApiJson(draft): ApiJson<ComponentDraft>,
) -> Result<(StatusCode, Json<ComponentDto>), ApiError> {
    let principal = writer(&state, &parts).await?;
    let index = state.grid_index();
    let bounds = index.bounds().ok_or_else(|| {
        ApiError::Unavailable("the city has no grids yet, so no component can be placed".to_owned())
    })?;
    let (code, kind, location, owner, status, note) = draft
        .validate(&code, bounds)
        .map_err(ApiError::Validation)?;
    let grid = index.grid_at(location).map(str::to_owned).ok_or_else(|| {
        ApiError::Unavailable("no grid holds the component's location".to_owned())
    })?;
    county_matches(&code, &grid).map_err(ApiError::field)?;
    let now = state.clock.now();
    let allowed = held(&principal, now).iter().any(|(role, department)| {
        *role == Role::CityAdministrator
            || (*role == Role::DepartmentOfficer && department.as_deref() == Some(owner.as_str()))
    });
    if !allowed {
        return Err(refuse(
            &state,
            &principal,
            &parts,
            "component.put",
            ("component", code.as_str()),
            format!(
                "manhole covers of {owner} are registered by its officers or the city administrator"
            ),
        )
        .await);
    }
    let component = Component {
        code,
        kind,
        location,
        grid,
        owner,
        status,
        note,
        updated_at: now,
        updated_by: principal.account.login.clone(),
    };
    let event = AuditEvent {
        jurisdiction: component.grid.clone(),
        detail: format!("{} {}", component.kind.name_zh(), component.status.code()),
        ..principal
            .actor(&parts)
            .event("component.put", "component", component.code.as_str())
    };
    let created = state
        .facilities
        .put_components(std::slice::from_ref(&component), &event)
        .await?;
    let status = if created == 1 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(component_dto(&component))))
}

/// A page of manhole covers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentPageDto {
    pub items: Vec<ComponentDto>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComponentParams {
    /// An area code (a prefix of grid codes) inside the caller's jurisdiction; the
    /// caller's only area by default.
    pub area: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// The manhole covers of an area, by grid and code; for a department's officers without
/// an area, their department's covers.
#[utoipa::path(get, path = "/api/v1/components", params(ComponentParams),
    responses((status = 200, body = ComponentPageDto), (status = 403)))]
pub async fn list_components(
    State(state): State<AppState>,
    parts: Parts,
    Query(params): Query<ComponentParams>,
) -> Result<Json<ComponentPageDto>, ApiError> {
    let (principal, access) = case_worker(&state, &parts, false).await?;
    // An area of the caller's, or, for a department's officers, their department's
    // covers across the city.
    let (area, owner) = scope(
        &access,
        params.area.filter(|area| !area.trim().is_empty()),
        None,
    )?;
    let area = area.unwrap_or_default();
    let page = PageParams {
        page: params.page,
        per_page: params.per_page,
    }
    .request();
    let found = state
        .facilities
        .components_in_area(&area, owner.as_deref(), page)
        .await?;
    let event = AuditEvent {
        jurisdiction: area.clone(),
        detail: format!("{} of {}", found.items.len(), found.total),
        ..principal
            .actor(&parts)
            .event("component.list", "area", area.as_str())
    };
    audit(&state, event).await?;
    Ok(Json(ComponentPageDto {
        items: found.items.iter().map(component_dto).collect(),
        total: found.total,
        page: found.page,
        per_page: found.per_page,
    }))
}

/// One manhole cover; 404 when it is not registered or outside the caller's view (their
/// area, or their department's covers).
#[utoipa::path(get, path = "/api/v1/components/{code}", params(("code" = String, Path)),
    responses((status = 200, body = ComponentDto), (status = 404)))]
pub async fn get_component(
    State(state): State<AppState>,
    parts: Parts,
    Path(code): Path<String>,
) -> Result<Json<ComponentDto>, ApiError> {
    let (principal, access) = case_worker(&state, &parts, false).await?;
    let found = state
        .facilities
        .component(code.trim())
        .await?
        .filter(|component| {
            access.scope.contains(Some(&component.grid))
                || access.departments.contains(&component.owner)
        });
    let event = read_event(
        &principal,
        &parts,
        ("component.read", "component", code.trim()),
        found.as_ref().map(|component| component.grid.as_str()),
    );
    audit(&state, event).await?;
    found
        .as_ref()
        .map(|component| Json(component_dto(component)))
        .ok_or_else(|| ApiError::not_found("component"))
}

/// One safety appraisal.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppraisalDto {
    pub id: u64,
    /// A, B, C or D (JGJ 125-2016).
    pub grade: String,
    pub grade_zh: String,
    /// Grade C or D.
    pub dangerous: bool,
    pub appraised_on: String,
    pub agency: String,
    pub report_no: String,
    pub recorded_by: String,
    pub recorded_at: String,
}

fn appraisal_dto(appraisal: &Appraisal) -> AppraisalDto {
    AppraisalDto {
        id: appraisal.id,
        grade: appraisal.grade.code().to_owned(),
        grade_zh: appraisal.grade.name_zh().to_owned(),
        dangerous: appraisal.grade.is_dangerous(),
        appraised_on: appraisal.appraised_on.to_string(),
        agency: appraisal.agency.clone(),
        report_no: appraisal.report_no.clone(),
        recorded_by: appraisal.recorded_by.clone(),
        recorded_at: shanghai_rfc3339(appraisal.recorded_at),
    }
}

/// A building's safety record.
#[derive(Debug, Serialize, ToSchema)]
pub struct BuildingSafetyDto {
    pub building_id: String,
    pub address: String,
    pub grid: String,
    /// The latest appraisal grades it C or D.
    pub dangerous: bool,
    /// The latest first.
    pub appraisals: Vec<AppraisalDto>,
}

/// An appraisal as recorded from its report.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct AppraisalDraftBody {
    /// A, B, C or D.
    pub grade: String,
    /// `YYYY-MM-DD`, not in the future.
    pub appraised_on: String,
    /// The appraisal body (鉴定机构).
    pub agency: String,
    /// The report's number.
    pub report_no: String,
}

/// Records a building's safety appraisal (department officers, the city administrator):
/// 201; 404 for a building not registered; 422 naming every wrong field.
#[utoipa::path(post, path = "/api/v1/buildings/{id}/appraisals", params(("id" = String, Path)),
    request_body = AppraisalDraftBody,
    responses((status = 201, body = AppraisalDto), (status = 403), (status = 404), (status = 422)))]
pub async fn record_appraisal(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<String>,
    ApiJson(draft): ApiJson<AppraisalDraft>,
) -> Result<(StatusCode, Json<AppraisalDto>), ApiError> {
    let principal = writer(&state, &parts).await?;
    let now = state.clock.now();
    let allowed = held(&principal, now)
        .iter()
        .any(|(role, _)| matches!(role, Role::CityAdministrator | Role::DepartmentOfficer));
    if !allowed {
        return Err(refuse(
            &state,
            &principal,
            &parts,
            "appraisal.record",
            ("building", id.as_str()),
            "safety appraisals are recorded by department officers or the city administrator"
                .to_owned(),
        )
        .await);
    }
    let (grade, appraised_on, agency, report_no) = draft
        .validate(state.clock.today())
        .map_err(ApiError::Validation)?;
    let Some((grid, _)) = state.facilities.building_place(&id).await? else {
        return Err(ApiError::not_found("building"));
    };
    let mut appraisal = Appraisal {
        id: 0,
        building_id: id.clone(),
        grade,
        appraised_on,
        agency,
        report_no,
        recorded_by: principal.account.login.clone(),
        recorded_at: now,
    };
    let event = AuditEvent {
        jurisdiction: grid,
        detail: format!("{} {}", appraisal.grade.code(), appraisal.report_no),
        ..principal
            .actor(&parts)
            .event("appraisal.record", "building_appraisal", "")
    };
    let ids = state
        .facilities
        .record_appraisals(std::slice::from_ref(&appraisal), &event)
        .await?
        .ok_or_else(|| ApiError::not_found("building"))?;
    appraisal.id = ids.first().copied().unwrap_or(0);
    Ok((StatusCode::CREATED, Json(appraisal_dto(&appraisal))))
}

/// A building's appraisals, the latest first; 404 when it is not registered or outside
/// the caller's view.
#[utoipa::path(get, path = "/api/v1/buildings/{id}/appraisals", params(("id" = String, Path)),
    responses((status = 200, body = BuildingSafetyDto), (status = 404)))]
pub async fn building_appraisals(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<String>,
) -> Result<Json<BuildingSafetyDto>, ApiError> {
    let (principal, access) = case_worker(&state, &parts, false).await?;
    let place = state
        .facilities
        .building_place(&id)
        .await?
        .filter(|(grid, _)| access.scope.contains(Some(grid)));
    let event = read_event(
        &principal,
        &parts,
        ("appraisal.read", "building", id.as_str()),
        place.as_ref().map(|(grid, _)| grid.as_str()),
    );
    audit(&state, event).await?;
    let (grid, address) = place.ok_or_else(|| ApiError::not_found("building"))?;
    let appraisals = state.facilities.appraisals(&id).await?;
    Ok(Json(BuildingSafetyDto {
        building_id: id,
        address,
        grid,
        dangerous: appraisals
            .first()
            .is_some_and(|latest| latest.grade.is_dangerous()),
        appraisals: appraisals.iter().map(appraisal_dto).collect(),
    }))
}
