//! People: search, read (current or as of a time), history, the 360 view, create/update.

use super::{PageDto, PageParams, ProvenanceDto, parse_path};
use crate::access::Reader;
use crate::api::{EntityDto, HouseDto};
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use chrono::DateTime;
use huimin_domain::access::{mask_citizen_id, mask_phone};
use huimin_domain::audit::Outcome;
use huimin_domain::identifiers::{CitizenId, Sex};
use huimin_domain::registry::{
    FieldError, Household, HouseholdDraft, HouseholdMemberDraft, Person, PersonDraft,
};
use huimin_domain::search::normalise_initials;
use huimin_domain::storage::{PersonQuery, PersonSummary, Versioned};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonDto {
    pub citizen_id: String,
    pub name: String,
    /// `male` or `female`, derived from the identity number.
    pub sex: String,
    pub birth_date: String,
    /// Whole years on today's date in Asia/Shanghai.
    pub age: u32,
    pub ethnicity: String,
    pub hukou_address: String,
    pub residence_address: String,
    pub phone: Option<String>,
    pub life_status: String,
    pub tags: Vec<String>,
    pub grid: Option<String>,
    pub provenance: ProvenanceDto,
    /// When this version stopped being current; absent for the current version.
    pub superseded_at: Option<String>,
}

impl PersonDto {
    pub fn from_versioned(versioned: &Versioned<Person>, today: chrono::NaiveDate) -> PersonDto {
        let person = &versioned.record;
        PersonDto {
            citizen_id: person.citizen_id.as_str().to_owned(),
            name: person.name.as_str().to_owned(),
            sex: match person.sex() {
                Sex::Male => "male".to_owned(),
                Sex::Female => "female".to_owned(),
            },
            birth_date: person.birth_date().to_string(),
            age: huimin_domain::time::age_on(person.birth_date(), today),
            ethnicity: person.ethnicity.name().to_owned(),
            hukou_address: person.hukou_address.clone(),
            residence_address: person.residence_address.clone(),
            phone: person.phone.as_ref().map(|phone| phone.as_str().to_owned()),
            life_status: person.life_status.code().to_owned(),
            tags: person
                .tags
                .iter()
                .map(|tag| tag.code().to_owned())
                .collect(),
            grid: person.grid.as_ref().map(|grid| grid.as_str().to_owned()),
            provenance: ProvenanceDto::from(&versioned.provenance),
            superseded_at: versioned.superseded_at.map(|instant| {
                instant
                    .with_timezone(&huimin_domain::time::SHANGHAI)
                    .to_rfc3339()
            }),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonSummaryDto {
    pub citizen_id: String,
    pub name: String,
    pub grid: Option<String>,
    pub life_status: String,
}

impl From<PersonSummary> for PersonSummaryDto {
    fn from(summary: PersonSummary) -> Self {
        PersonSummaryDto {
            citizen_id: summary.citizen_id.as_str().to_owned(),
            name: summary.name,
            grid: summary.grid,
            life_status: summary.life_status,
        }
    }
}

/// A person to create or update. Sex and birth date are optional; when given they must
/// agree with the identity number.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PersonInputDto {
    pub citizen_id: String,
    pub name: String,
    pub sex: Option<String>,
    pub birth_date: Option<String>,
    pub ethnicity: Option<String>,
    pub hukou_address: String,
    pub residence_address: String,
    pub phone: Option<String>,
    pub life_status: Option<String>,
    pub tags: Vec<String>,
    pub grid: Option<String>,
}

impl From<PersonInputDto> for PersonDraft {
    fn from(input: PersonInputDto) -> Self {
        PersonDraft {
            citizen_id: input.citizen_id,
            name: input.name,
            sex: input.sex,
            birth_date: input.birth_date,
            ethnicity: input.ethnicity,
            hukou_address: input.hukou_address,
            residence_address: input.residence_address,
            phone: input.phone,
            life_status: input.life_status,
            tags: input.tags,
            grid: input.grid,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonWriteDto {
    /// `inserted`, `updated` or `unchanged`.
    pub outcome: String,
    pub person: PersonDto,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PersonSearchParams {
    /// Exact name, e.g. 张三.
    pub name: Option<String>,
    /// Prefix of the name's pinyin initials, e.g. `zs`.
    pub initials: Option<String>,
    /// Area code prefix: district (6), street (9), community (12) or grid (15 digits).
    pub area: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AsOfParams {
    /// Read the version current at this instant (RFC 3339, e.g. 2026-11-01T08:00:00+08:00).
    pub as_of: Option<String>,
}

/// Households, houses and entities around one person, with the person's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct Person360Dto {
    pub person: PersonDto,
    pub households: Vec<HouseholdDto>,
    pub owned_houses: Vec<HouseDto>,
    pub rented_houses: Vec<HouseDto>,
    pub represented_entities: Vec<EntityDto>,
    pub history: Vec<PersonDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HouseholdDto {
    pub number: String,
    /// `registered` (户籍户) or `co_resident` (共同生活家庭).
    pub kind: String,
    pub address: String,
    pub members: Vec<HouseholdMemberDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HouseholdMemberDto {
    pub citizen_id: String,
    /// The member's name from the population registry (absent when not registered).
    pub name: Option<String>,
    pub relationship: String,
    pub relationship_zh: String,
}

impl From<&Household> for HouseholdDto {
    fn from(household: &Household) -> Self {
        HouseholdDto {
            number: household.number.clone(),
            kind: household.kind.code().to_owned(),
            address: household.address.clone(),
            members: household
                .members
                .iter()
                .map(|member| HouseholdMemberDto {
                    citizen_id: member.citizen_id.as_str().to_owned(),
                    name: None,
                    relationship: member.relationship.code().to_owned(),
                    relationship_zh: member.relationship.label_zh().to_owned(),
                })
                .collect(),
        }
    }
}

pub(crate) fn parse_citizen_id(value: &str) -> Result<CitizenId, ApiError> {
    parse_path("citizen_id", value, CitizenId::parse)
}

pub(crate) fn person_query(params: &PersonSearchParams) -> Result<PersonQuery, ApiError> {
    let area = match params
        .area
        .as_deref()
        .map(str::trim)
        .filter(|area| !area.is_empty())
    {
        None => None,
        Some(area) if area.len() <= 15 && area.chars().all(|c| c.is_ascii_digit()) => {
            Some(area.to_owned())
        }
        Some(area) => {
            return Err(ApiError::field(FieldError::new(
                "area",
                area,
                "invalid_area_prefix",
                "area must be 1–15 digits: a district, street, community or grid code",
                "区域应为1至15位数字：区县、街道、社区或网格代码",
            )));
        }
    };
    Ok(PersonQuery {
        name: params
            .name
            .as_deref()
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned),
        initials: params.initials.as_deref().and_then(normalise_initials),
        area,
        within: None,
    })
}

/// Find people by name, pinyin initials and area; sorted by pinyin.
#[utoipa::path(get, path = "/api/v1/persons", params(PersonSearchParams, PageParams),
    responses((status = 200, body = PageDto<PersonSummaryDto>), (status = 422, description = "invalid filter")))]
pub async fn search_persons(
    State(state): State<AppState>,
    parts: Parts,
    Query(params): Query<PersonSearchParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<PageDto<PersonSummaryDto>>, ApiError> {
    let reader = Reader::of(&state, &parts, None).await?;
    let mut query = person_query(&params)?;
    query.within = Some(reader.access.scope.clone());
    let page = state.store.search_persons(&query, page.request()).await?;
    let events: Vec<_> = page
        .items
        .iter()
        .map(|item| {
            reader.event(
                "person.search",
                item.citizen_id.as_str(),
                item.grid.as_deref(),
                Outcome::Allowed,
            )
        })
        .collect();
    reader.record(&state, &events).await?;
    Ok(Json(PageDto::from_page(page, |summary| {
        let mut dto = PersonSummaryDto::from(summary);
        dto.citizen_id = reader.citizen_id(&dto.citizen_id, dto.grid.as_deref());
        dto
    })))
}

/// Reads one person's current record for `reader`: the record when it exists and is in
/// scope (the read audited), else not found — the same answer for both, the refusal
/// audited as denied.
pub(crate) async fn read_person(
    state: &AppState,
    reader: &Reader,
    action: &str,
    id: &CitizenId,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Versioned<Person>, ApiError> {
    let found = state.store.person(id, as_of).await?;
    let grid = found.as_ref().and_then(|versioned| {
        versioned
            .record
            .grid
            .as_ref()
            .map(|grid| grid.as_str().to_owned())
    });
    match found {
        Some(versioned) if reader.can_read(grid.as_deref()) => {
            reader
                .record(
                    state,
                    &[reader.event(action, id.as_str(), grid.as_deref(), Outcome::Allowed)],
                )
                .await?;
            Ok(versioned)
        }
        Some(_) => {
            reader
                .record(
                    state,
                    &[reader.event(action, id.as_str(), grid.as_deref(), Outcome::Denied)],
                )
                .await?;
            Err(ApiError::not_found("person"))
        }
        None => Err(ApiError::not_found("person")),
    }
}

/// A person, current or as of a past instant.
#[utoipa::path(get, path = "/api/v1/persons/{citizen_id}", params(("citizen_id" = String, Path), AsOfParams),
    responses((status = 200, body = PersonDto), (status = 404), (status = 422)))]
pub async fn get_person(
    State(state): State<AppState>,
    parts: Parts,
    Path(citizen_id): Path<String>,
    Query(params): Query<AsOfParams>,
) -> Result<Json<PersonDto>, ApiError> {
    let reader = Reader::of(&state, &parts, None).await?;
    let id = parse_citizen_id(&citizen_id)?;
    let as_of = match params.as_of.as_deref() {
        None => None,
        Some(text) => Some(
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.to_utc())
                .map_err(|_| {
                    ApiError::field(FieldError::new(
                        "as_of",
                        text,
                        "invalid_timestamp",
                        "as_of must be an RFC 3339 timestamp such as 2026-11-01T08:00:00+08:00",
                        "as_of 应为 RFC 3339 时间，例如 2026-11-01T08:00:00+08:00",
                    ))
                })?,
        ),
    };
    let versioned = read_person(&state, &reader, "person.read", &id, as_of).await?;
    Ok(Json(
        PersonDto::from_versioned(&versioned, state.clock.today()).masked_for(&reader),
    ))
}

/// Every version of a person, newest first.
#[utoipa::path(get, path = "/api/v1/persons/{citizen_id}/history", params(("citizen_id" = String, Path)),
    responses((status = 200, body = Vec<PersonDto>), (status = 404)))]
pub async fn person_history(
    State(state): State<AppState>,
    parts: Parts,
    Path(citizen_id): Path<String>,
) -> Result<Json<Vec<PersonDto>>, ApiError> {
    let reader = Reader::of(&state, &parts, None).await?;
    let id = parse_citizen_id(&citizen_id)?;
    read_person(&state, &reader, "person.history", &id, None).await?;
    let history = state.store.person_history(&id).await?;
    let today = state.clock.today();
    Ok(Json(
        history
            .iter()
            .map(|version| PersonDto::from_versioned(version, today).masked_for(&reader))
            .collect(),
    ))
}

/// The person 360 view: the person with households, houses, represented entities, history.
#[utoipa::path(get, path = "/api/v1/persons/{citizen_id}/360", params(("citizen_id" = String, Path)),
    responses((status = 200, body = Person360Dto), (status = 404)))]
pub async fn person_360(
    State(state): State<AppState>,
    parts: Parts,
    Path(citizen_id): Path<String>,
) -> Result<Json<Person360Dto>, ApiError> {
    let reader = Reader::of(&state, &parts, None).await?;
    let id = parse_citizen_id(&citizen_id)?;
    Ok(Json(load_person_360(&state, &reader, &id).await?))
}

pub(crate) async fn load_person_360(
    state: &AppState,
    reader: &Reader,
    id: &CitizenId,
) -> Result<Person360Dto, ApiError> {
    let Some(view) = state.store.person_view(id).await? else {
        return Err(ApiError::not_found("person"));
    };
    let (history, links) = (view.history, view.links);
    let Some(current) = history.first() else {
        return Err(ApiError::not_found("person"));
    };
    let grid = current
        .record
        .grid
        .as_ref()
        .map(|grid| grid.as_str().to_owned());
    let grid = grid.as_deref();
    if !reader.can_read(grid) {
        reader
            .record(
                state,
                &[reader.event("person.view", id.as_str(), grid, Outcome::Denied)],
            )
            .await?;
        return Err(ApiError::not_found("person"));
    }
    reader
        .record(
            state,
            &[reader.event("person.view", id.as_str(), grid, Outcome::Allowed)],
        )
        .await?;
    let today = state.clock.today();
    let mut households: Vec<HouseholdDto> =
        links.households.iter().map(HouseholdDto::from).collect();
    let names: std::collections::HashMap<String, String> = view
        .member_names
        .into_iter()
        .map(|(id, name)| (id.as_str().to_owned(), name))
        .collect();
    for member in households
        .iter_mut()
        .flat_map(|household| household.members.iter_mut())
    {
        member.name = names.get(&member.citizen_id).cloned();
    }
    let mut view = Person360Dto {
        person: PersonDto::from_versioned(current, today),
        households,
        owned_houses: links.owned_houses.iter().map(HouseDto::from).collect(),
        rented_houses: links.rented_houses.iter().map(HouseDto::from).collect(),
        represented_entities: links
            .represented_entities
            .iter()
            .map(EntityDto::from)
            .collect(),
        history: history
            .iter()
            .map(|version| PersonDto::from_versioned(version, today))
            .collect(),
    };
    if !reader.shows_sensitive(grid) {
        view.mask();
    }
    Ok(view)
}

impl PersonDto {
    /// The record as `reader` may see it.
    pub(crate) fn masked_for(mut self, reader: &Reader) -> PersonDto {
        if !reader.shows_sensitive(self.grid.as_deref()) {
            self.mask();
        }
        self
    }

    fn mask(&mut self) {
        self.citizen_id = mask_citizen_id(&self.citizen_id);
        self.phone = self.phone.as_deref().map(mask_phone);
    }
}

impl Person360Dto {
    /// Every identity number and phone number in the view, masked.
    pub(crate) fn mask(&mut self) {
        self.person.mask();
        for version in &mut self.history {
            version.mask();
        }
        for member in self
            .households
            .iter_mut()
            .flat_map(|household| household.members.iter_mut())
        {
            member.citizen_id = mask_citizen_id(&member.citizen_id);
        }
        for house in self
            .owned_houses
            .iter_mut()
            .chain(self.rented_houses.iter_mut())
        {
            for id in house.owners.iter_mut().chain(house.tenants.iter_mut()) {
                *id = mask_citizen_id(id);
            }
        }
        for entity in &mut self.represented_entities {
            entity.legal_representative = mask_citizen_id(&entity.legal_representative);
        }
    }
}

/// Create or update a person. 201 when new; 200 when updated or unchanged.
#[utoipa::path(post, path = "/api/v1/persons", request_body = PersonInputDto,
    responses((status = 201, body = PersonWriteDto), (status = 200, body = PersonWriteDto),
              (status = 422, description = "invalid fields, each named")))]
pub async fn put_person(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    ApiJson(input): ApiJson<PersonInputDto>,
) -> Result<(StatusCode, Json<PersonWriteDto>), ApiError> {
    let now = state.clock.now();
    let person = PersonDraft::from(input)
        .validate(huimin_domain::time::shanghai_date(now))
        .map_err(ApiError::Validation)?;
    let provenance = super::api_provenance(&state, &parts.headers, now);
    let counts = state
        .store
        .put_persons(
            std::slice::from_ref(&person),
            &provenance,
            &super::registry_writer(&state, &parts).await?,
        )
        .await?;
    let (status, outcome) = if counts.inserted == 1 {
        (StatusCode::CREATED, "inserted")
    } else if counts.updated == 1 {
        (StatusCode::OK, "updated")
    } else {
        (StatusCode::OK, "unchanged")
    };
    let stored = state
        .store
        .person(&person.citizen_id, None)
        .await?
        .ok_or_else(|| {
            ApiError::Unavailable("the person was written but cannot be read back".to_owned())
        })?;
    Ok((
        status,
        Json(PersonWriteDto {
            outcome: outcome.to_owned(),
            person: PersonDto::from_versioned(&stored, state.clock.today()),
        }),
    ))
}

/// A household as sent to the API.
#[derive(Debug, Deserialize, ToSchema)]
pub struct HouseholdInputDto {
    /// 户号: 1–32 letters or digits.
    pub number: String,
    /// `registered` (户籍户) or `co_resident` (共同生活家庭).
    pub kind: String,
    pub address: String,
    pub members: Vec<HouseholdMemberInputDto>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct HouseholdMemberInputDto {
    pub citizen_id: String,
    /// `head`, `spouse`, `son`, … or the Chinese label (户主, 配偶, 子, …).
    pub relationship: String,
}

/// Create or update a household, with exactly one head. 201 when new.
#[utoipa::path(post, path = "/api/v1/households", request_body = HouseholdInputDto,
    responses((status = 201, body = HouseholdDto), (status = 200, body = HouseholdDto),
              (status = 422, description = "invalid fields, each named")))]
pub async fn put_household(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    ApiJson(input): ApiJson<HouseholdInputDto>,
) -> Result<(StatusCode, Json<HouseholdDto>), ApiError> {
    let household = HouseholdDraft {
        number: input.number,
        kind: input.kind,
        address: input.address,
        members: input
            .members
            .into_iter()
            .map(|member| HouseholdMemberDraft {
                citizen_id: member.citizen_id,
                relationship: member.relationship,
            })
            .collect(),
    }
    .validate()
    .map_err(ApiError::Validation)?;
    let provenance = super::api_provenance(&state, &parts.headers, state.clock.now());
    let counts = state
        .store
        .put_households(
            std::slice::from_ref(&household),
            &provenance,
            &super::registry_writer(&state, &parts).await?,
        )
        .await?;
    Ok((
        super::write_status(counts),
        Json(HouseholdDto::from(&household)),
    ))
}

/// A household by its number.
#[utoipa::path(get, path = "/api/v1/households/{number}", params(("number" = String, Path)),
    responses((status = 200, body = HouseholdDto), (status = 404)))]
pub async fn get_household(
    State(state): State<AppState>,
    parts: Parts,
    Path(number): Path<String>,
) -> Result<Json<HouseholdDto>, ApiError> {
    let reader = Reader::of(&state, &parts, None).await?;
    let household = state
        .store
        .household(&number)
        .await?
        .ok_or_else(|| ApiError::not_found("household"))?;
    // A household is in scope when its head (its first member) is.
    let head = household
        .record
        .members
        .first()
        .map(|member| member.citizen_id.clone());
    let Some(head) = head else {
        return Err(ApiError::not_found("household"));
    };
    let person = state.store.person(&head, None).await?;
    let grid = person.as_ref().and_then(|person| {
        person
            .record
            .grid
            .as_ref()
            .map(|grid| grid.as_str().to_owned())
    });
    let grid = grid.as_deref();
    if person.is_none() || !reader.can_read(grid) {
        reader
            .record(
                &state,
                &[reader.event("household.read", head.as_str(), grid, Outcome::Denied)],
            )
            .await?;
        return Err(ApiError::not_found("household"));
    }
    let events: Vec<_> = household
        .record
        .members
        .iter()
        .map(|member| {
            reader.event(
                "household.read",
                member.citizen_id.as_str(),
                grid,
                Outcome::Allowed,
            )
        })
        .collect();
    reader.record(&state, &events).await?;
    let mut dto = HouseholdDto::from(&household.record);
    if !reader.shows_sensitive(grid) {
        for member in &mut dto.members {
            member.citizen_id = mask_citizen_id(&member.citizen_id);
        }
    }
    Ok(Json(dto))
}
