//! Houses: read one, list those in an area, create or update one.

use super::{PageDto, PageParams};
use crate::access::Reader;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use huimin_domain::access::mask_citizen_id;
use huimin_domain::audit::Outcome;
use huimin_domain::registry::{House, HouseDraft};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct HouseDto {
    pub id: String,
    pub building_id: String,
    pub address: String,
    pub longitude: Option<f64>,
    pub latitude: Option<f64>,
    pub grid: String,
    pub usage: String,
    pub usage_zh: String,
    pub floor_area_m2: f64,
    pub owners: Vec<String>,
    /// `owner_occupied`, `vacant` or `rented`.
    pub rental: String,
    pub rental_zh: String,
    pub tenants: Vec<String>,
}

impl From<&House> for HouseDto {
    fn from(house: &House) -> Self {
        HouseDto {
            id: house.id.clone(),
            building_id: house.building_id.clone(),
            address: house.address.line(),
            longitude: house.address.point.map(|point| point.longitude),
            latitude: house.address.point.map(|point| point.latitude),
            grid: house.grid.as_str().to_owned(),
            usage: house.usage.code().to_owned(),
            usage_zh: house.usage.label_zh().to_owned(),
            floor_area_m2: house.floor_area_m2,
            owners: house
                .owners
                .iter()
                .map(|owner| owner.as_str().to_owned())
                .collect(),
            rental: house.rental.code().to_owned(),
            rental_zh: house.rental.label_zh().to_owned(),
            tenants: house
                .rental
                .tenants()
                .iter()
                .map(|tenant| tenant.as_str().to_owned())
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HouseAreaParams {
    /// Area code prefix (district, street, community or grid). Required.
    pub area: Option<String>,
}

/// Houses in an area, by grid and id.
#[utoipa::path(get, path = "/api/v1/houses", params(HouseAreaParams, PageParams),
    responses((status = 200, body = PageDto<HouseDto>), (status = 422)))]
pub async fn houses_in_area(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    Query(params): Query<HouseAreaParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<PageDto<HouseDto>>, ApiError> {
    let reader = Reader::of(&state, &parts, None).await?;
    let query = crate::api::persons::person_query(&crate::api::PersonSearchParams {
        name: None,
        initials: None,
        area: params.area.clone(),
    })?;
    let Some(area) = query.area else {
        return Err(ApiError::field(
            huimin_domain::registry::FieldError::missing("area"),
        ));
    };
    // Houses list their owners and tenants: the area must lie inside the caller's scope.
    let inside = reader
        .access
        .scope
        .prefixes()
        .iter()
        .any(|prefix| area.starts_with(prefix.as_str()));
    if !inside {
        return Err(ApiError::Forbidden(format!(
            "the area {area} is not inside your jurisdiction; ask for an area within {}",
            reader.access.scope.prefixes().join(", ")
        )));
    }
    let page = state.store.houses_in_area(&area, page.request()).await?;
    let events: Vec<_> = page
        .items
        .iter()
        .flat_map(|house| house_events(&reader, house))
        .collect();
    reader.record(&state, &events).await?;
    Ok(Json(PageDto::from_page(page, |house| {
        house_for(&reader, &house)
    })))
}

/// The audit entries of showing a house: one per owner and tenant.
fn house_events(reader: &Reader, house: &House) -> Vec<huimin_domain::audit::AuditEvent> {
    let dto = HouseDto::from(house);
    dto.owners
        .iter()
        .chain(&dto.tenants)
        .map(|id| reader.event("house.read", id, Some(dto.grid.as_str()), Outcome::Allowed))
        .collect()
}

/// A house as `reader` may see it: owners' and tenants' numbers masked unless shown in
/// full.
fn house_for(reader: &Reader, house: &House) -> HouseDto {
    let mut dto = HouseDto::from(house);
    if !reader.shows_sensitive(Some(dto.grid.as_str())) {
        for id in dto.owners.iter_mut().chain(dto.tenants.iter_mut()) {
            *id = mask_citizen_id(id);
        }
    }
    dto
}

/// A house by id.
#[utoipa::path(get, path = "/api/v1/houses/{id}", params(("id" = String, Path)),
    responses((status = 200, body = HouseDto), (status = 404)))]
pub async fn get_house(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    Path(id): Path<String>,
) -> Result<Json<HouseDto>, ApiError> {
    let reader = Reader::of(&state, &parts, None).await?;
    let house = state
        .store
        .house(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("house"))?;
    let grid = house.record.grid.as_str().to_owned();
    if !reader.can_read(Some(&grid)) {
        let event = reader.event("house.read", "", Some(&grid), Outcome::Denied);
        reader.record(&state, &[event]).await?;
        return Err(ApiError::not_found("house"));
    }
    reader
        .record(&state, &house_events(&reader, &house.record))
        .await?;
    Ok(Json(house_for(&reader, &house.record)))
}

/// A house as sent to the API.
#[derive(Debug, Deserialize, ToSchema)]
pub struct HouseInputDto {
    pub id: String,
    pub building_id: String,
    /// The 15-digit grid code.
    pub grid: String,
    /// `residential`, `commercial`, `office` or `garage` (or 住宅, 商业, 办公, 车库).
    pub usage: String,
    pub floor_area_m2: f64,
    #[serde(default)]
    pub owners: Vec<String>,
    /// `owner_occupied`, `vacant` or `rented` (or 自住, 空置, 出租).
    pub rental: String,
    #[serde(default)]
    pub tenants: Vec<String>,
    pub district: String,
    pub street: String,
    pub community: String,
    pub road: String,
    pub number: String,
    pub building: Option<String>,
    pub unit: Option<String>,
    pub room: Option<String>,
    pub longitude: Option<f64>,
    pub latitude: Option<f64>,
}

impl From<HouseInputDto> for HouseDraft {
    fn from(input: HouseInputDto) -> Self {
        HouseDraft {
            id: input.id,
            building_id: input.building_id,
            grid: input.grid,
            usage: input.usage,
            floor_area_m2: input.floor_area_m2.to_string(),
            owners: input.owners.join(";"),
            rental: input.rental,
            tenants: input.tenants.join(";"),
            district: input.district,
            street: input.street,
            community: input.community,
            road: input.road,
            number: input.number,
            building: input.building,
            unit: input.unit,
            room: input.room,
            longitude: input.longitude.map(|value| value.to_string()),
            latitude: input.latitude.map(|value| value.to_string()),
        }
    }
}

/// Create or update a house: owners and tenants by identity number. 201 when new.
#[utoipa::path(post, path = "/api/v1/houses", request_body = HouseInputDto,
    responses((status = 201, body = HouseDto), (status = 200, body = HouseDto),
              (status = 422, description = "invalid fields, each named")))]
pub async fn put_house(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    ApiJson(input): ApiJson<HouseInputDto>,
) -> Result<(StatusCode, Json<HouseDto>), ApiError> {
    let house = HouseDraft::from(input)
        .validate()
        .map_err(ApiError::Validation)?;
    let provenance = super::api_provenance(&state, &parts.headers, state.clock.now());
    let counts = state
        .store
        .put_houses(
            std::slice::from_ref(&house),
            &provenance,
            &super::registry_writer(&state, &parts).await?,
        )
        .await?;
    Ok((super::write_status(counts), Json(HouseDto::from(&house))))
}
