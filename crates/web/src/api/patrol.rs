//! Grid workers' rounds (issue 5): the visits due in a grid today, from the registries'
//! tags (elderly people living alone, community care, disability), its rented houses,
//! its buildings appraised dangerous and its manhole covers,
//! and check-ins at a location inside the grid — a finding becoming a case in the same
//! step. Task lists carry references, not identity numbers; reads and check-ins are
//! audited.

use super::cases::{CaseDto, case_worker, open_case, scope};
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use huimin_domain::audit::AuditEvent;
use huimin_domain::case::intake::CaseDraft;
use huimin_domain::case::patrol::{PatrolKind, PatrolObject, Visit, due_tasks};
use huimin_domain::identity::Role;
use huimin_domain::registry::{FieldError, GeoPoint, PersonTag, RentalState};
use huimin_domain::storage::PageRequest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The most objects of one kind a grid's round holds.
const MAX_OBJECTS: u32 = 2_000;

/// A visit due.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatrolTaskDto {
    /// Send it back to check in.
    pub reference: String,
    pub kind: String,
    pub kind_zh: String,
    /// A name (with the identity number masked) or a house's address.
    pub label: String,
    pub address: String,
    pub last_visit: Option<String>,
    pub due: String,
    pub overdue_days: i64,
    /// A rented house's id: its page holds the tenants.
    pub house_id: Option<String>,
    /// What the task is about when it is not a person: a house id, a building id or a
    /// manhole cover's component code.
    pub object: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PatrolParams {
    /// A grid code inside the caller's jurisdiction; a grid worker's own grid by default.
    pub grid: Option<String>,
}

/// The grid a caller's round is in: the one named (inside their jurisdiction), or their
/// only grid.
fn grid_of(
    access: &huimin_domain::case::access::CaseAccess,
    grid: Option<String>,
) -> Result<String, ApiError> {
    let (area, _) = scope(
        access,
        grid.map(|grid| grid.trim().to_owned())
            .filter(|grid| !grid.is_empty()),
        None,
    )?;
    match area {
        Some(grid) if grid.len() == 15 && grid.bytes().all(|byte| byte.is_ascii_digit()) => {
            Ok(grid)
        }
        other => Err(ApiError::field(FieldError::new(
            "grid",
            other.as_deref().unwrap_or(""),
            "not_a_grid",
            "name the unit grid of the round (a 15-digit grid code)".to_owned(),
            "请指定网格（15 位网格编码）".to_owned(),
        ))),
    }
}

/// Every object of the grid's round.
async fn round(state: &AppState, grid: &str) -> Result<Vec<PatrolObject>, ApiError> {
    let mut objects = Vec::new();
    for (kind, tag) in [
        (
            PatrolKind::ElderlyLivingAlone,
            PersonTag::ElderlyLivingAlone,
        ),
        (PatrolKind::CommunityCare, PersonTag::CommunityCare),
        (PatrolKind::Disability, PersonTag::Disability),
    ] {
        for person in state.store.tagged_persons(grid, tag, MAX_OBJECTS).await? {
            if !matches!(
                person.life_status,
                huimin_domain::registry::LifeStatus::Alive
            ) {
                continue;
            }
            objects.push(PatrolObject {
                kind,
                label: format!(
                    "{}（{}）",
                    person.name.as_str(),
                    huimin_domain::access::mask_citizen_id(person.citizen_id.as_str())
                ),
                address: person.residence_address.clone(),
                id: person.citizen_id.as_str().to_owned(),
            });
        }
    }
    let mut page = 1;
    loop {
        let houses = state
            .store
            .houses_in_area(grid, PageRequest::new(page, 200))
            .await?;
        for house in &houses.items {
            if matches!(house.rental, RentalState::Rented { .. }) {
                objects.push(PatrolObject {
                    kind: PatrolKind::RentedHouse,
                    id: house.id.clone(),
                    label: house.address.line(),
                    address: house.address.line(),
                });
            }
        }
        if houses.items.len() < 200 {
            break;
        }
        page += 1;
    }
    for (appraisal, address) in state
        .facilities
        .dangerous_buildings(grid, MAX_OBJECTS)
        .await?
    {
        objects.push(PatrolObject {
            kind: PatrolKind::DangerousBuilding,
            label: format!("{address}（{}）", appraisal.grade.name_zh()),
            address,
            id: appraisal.building_id,
        });
    }
    let mut page = 1;
    loop {
        let components = state
            .facilities
            .components_in_area(grid, None, PageRequest::new(page, 200))
            .await?;
        for component in &components.items {
            objects.push(PatrolObject {
                kind: PatrolKind::Manhole,
                id: component.code.as_str().to_owned(),
                label: format!(
                    "{} {}（{}）",
                    component.kind.name_zh(),
                    component.code.as_str(),
                    component.status.name_zh()
                ),
                address: format!(
                    "{:.6}E {:.6}N",
                    component.location.longitude, component.location.latitude
                ),
            });
        }
        if components.items.len() < 200 || page * 200 >= MAX_OBJECTS {
            break;
        }
        page += 1;
    }
    Ok(objects)
}

/// The visits due in a grid today, most overdue first.
#[utoipa::path(get, path = "/api/v1/patrol/tasks", params(PatrolParams),
    responses((status = 200, body = Vec<PatrolTaskDto>), (status = 403), (status = 422)))]
pub async fn patrol_tasks(
    State(state): State<AppState>,
    parts: Parts,
    Query(params): Query<PatrolParams>,
) -> Result<Json<Vec<PatrolTaskDto>>, ApiError> {
    Ok(Json(tasks_of(&state, &parts, params.grid).await?))
}

pub(crate) async fn tasks_of(
    state: &AppState,
    parts: &Parts,
    grid: Option<String>,
) -> Result<Vec<PatrolTaskDto>, ApiError> {
    let (principal, access) = case_worker(state, parts, false).await?;
    let grid = grid_of(&access, grid)?;
    let today = state.clock.today();
    let visits = state
        .patrol
        .visits(&grid, state.clock.now() - chrono::Duration::days(31))
        .await?;
    let tasks = due_tasks(round(state, &grid).await?, &visits, today);
    let event = AuditEvent {
        jurisdiction: grid.clone(),
        detail: format!("{} tasks", tasks.len()),
        ..principal
            .actor(parts)
            .event("patrol.tasks", "grid", grid.clone())
    };
    state
        .audit
        .append_audit(&[event], state.clock.now())
        .await?;
    Ok(tasks
        .into_iter()
        .map(|task| PatrolTaskDto {
            reference: task.object.reference(),
            kind: task.object.kind.code().to_owned(),
            kind_zh: task.object.kind.name_zh().to_owned(),
            label: task.object.label,
            address: task.object.address,
            last_visit: task.last_visit.map(super::shanghai_rfc3339),
            due: task.due.to_string(),
            overdue_days: task.overdue_days,
            house_id: (task.object.kind == PatrolKind::RentedHouse).then(|| task.object.id.clone()),
            object: (!task.object.kind.is_person()).then(|| task.object.id.clone()),
        })
        .collect())
}

/// A finding that becomes a case with the visit.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct FindingBody {
    /// A case subcategory, e.g. `G0501` (特殊人群 / 独居老人).
    pub category: String,
    pub description: String,
    pub priority: Option<String>,
}

/// A check-in.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct VisitBody {
    /// The task's reference.
    pub reference: String,
    pub longitude: f64,
    pub latitude: f64,
    #[serde(default)]
    pub note: String,
    pub finding: Option<FindingBody>,
    /// The grid of the round (a grid worker's own by default).
    pub grid: Option<String>,
}

/// A check-in made.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitDto {
    pub id: u64,
    pub kind: String,
    pub at: String,
    /// The case the finding became.
    pub case: Option<CaseDto>,
}

/// Checks a visit in: the task must be on the grid's round and the location inside the
/// grid (422 naming the grid otherwise); a finding opens a grid case about the person,
/// the rented house or the manhole cover in the same step.
#[utoipa::path(post, path = "/api/v1/patrol/visits", request_body = VisitBody,
    responses((status = 201, body = VisitDto), (status = 403), (status = 404), (status = 422)))]
pub async fn check_in(
    State(state): State<AppState>,
    parts: Parts,
    ApiJson(body): ApiJson<VisitBody>,
) -> Result<(StatusCode, Json<VisitDto>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(record_visit(&state, &parts, body).await?),
    ))
}

pub(crate) async fn record_visit(
    state: &AppState,
    parts: &Parts,
    body: VisitBody,
) -> Result<VisitDto, ApiError> {
    let (principal, access) = case_worker(state, parts, true).await?;
    let now = state.clock.now();
    if !principal
        .roles
        .iter()
        .any(|held| held.role == Role::GridWorker && held.is_valid_at(now))
    {
        return Err(ApiError::Forbidden(
            "grid workers check patrol visits in".to_owned(),
        ));
    }
    let grid = grid_of(&access, body.grid.clone())?;
    let object = round(state, &grid)
        .await?
        .into_iter()
        .find(|object| object.reference() == body.reference.trim())
        .ok_or_else(|| ApiError::not_found("patrol task"))?;
    let location = GeoPoint {
        longitude: body.longitude,
        latitude: body.latitude,
    };
    let here = state.grid_index().grid_at(location).map(str::to_owned);
    if here.as_deref() != Some(grid.as_str()) {
        return Err(ApiError::field(FieldError::new(
            "location",
            &format!("{}, {}", body.longitude, body.latitude),
            "outside_grid",
            format!(
                "the check-in at {}, {} is not inside grid {grid}{}",
                body.longitude,
                body.latitude,
                here.map(|other| format!(" (it is in {other})"))
                    .unwrap_or_default()
            ),
            format!("签到位置不在网格 {grid} 内"),
        )));
    }
    let case = match &body.finding {
        None => None,
        Some(finding) => {
            let draft = CaseDraft {
                channel: "grid_patrol".to_owned(),
                category: finding.category.clone(),
                longitude: Some(body.longitude),
                latitude: Some(body.latitude),
                description: finding.description.clone(),
                priority: finding.priority.clone(),
                person: object.kind.is_person().then(|| object.id.clone()),
                house: (object.kind == PatrolKind::RentedHouse).then(|| object.id.clone()),
                component: (object.kind == PatrolKind::Manhole).then(|| object.id.clone()),
                ..CaseDraft::default()
            };
            Some(open_case(state, parts, draft).await?)
        }
    };
    let mut visit = Visit {
        id: 0,
        grid: grid.clone(),
        kind: object.kind,
        object_id: object.id.clone(),
        worker: principal.account.login.clone(),
        at: now,
        location,
        note: body.note.trim().chars().take(2_000).collect(),
        case_id: case.as_ref().map(|case| case.id),
    };
    let event = AuditEvent {
        jurisdiction: grid,
        detail: format!("{} {}", object.kind.code(), object.reference()),
        ..principal
            .actor(parts)
            .event("patrol.visit", "patrol_visit", "")
    };
    visit.id = state.patrol.record_visit(&visit, &event).await?;
    Ok(VisitDto {
        id: visit.id,
        kind: visit.kind.code().to_owned(),
        at: super::shanghai_rfc3339(visit.at),
        case,
    })
}
