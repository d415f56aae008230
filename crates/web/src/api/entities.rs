//! Legal entities: search by name, read by credit code, create/update.

use super::{PageDto, PageParams, parse_path};
use crate::access::Reader;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use huimin_domain::access::mask_citizen_id;
use huimin_domain::audit::Outcome;
use huimin_domain::identifiers::CreditCode;
use huimin_domain::registry::{EntityDraft, LegalEntity};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct EntityDto {
    pub credit_code: String,
    pub name: String,
    pub kind: String,
    pub kind_zh: String,
    /// Decoded from the credit code: the registration authority (登记管理部门).
    pub registration_authority: String,
    pub legal_representative: String,
    pub registered_address: String,
    pub status: String,
    pub established_on: Option<String>,
}

impl From<&LegalEntity> for EntityDto {
    fn from(entity: &LegalEntity) -> Self {
        EntityDto {
            credit_code: entity.credit_code.as_str().to_owned(),
            name: entity.name.clone(),
            kind: entity.kind.code().to_owned(),
            kind_zh: entity.kind.label_zh().to_owned(),
            registration_authority: entity
                .credit_code
                .registration_authority()
                .name_zh()
                .to_owned(),
            legal_representative: entity.legal_representative.as_str().to_owned(),
            registered_address: entity.registered_address.clone(),
            status: entity.status.code().to_owned(),
            established_on: entity.established_on.map(|date| date.to_string()),
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EntityInputDto {
    pub credit_code: String,
    pub name: String,
    /// enterprise, individual_business, institution, social_organisation
    pub kind: String,
    pub legal_representative: String,
    pub registered_address: String,
    pub status: Option<String>,
    pub established_on: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntitySearchParams {
    /// Text the name contains, e.g. 贸易.
    pub name: Option<String>,
}

/// Entities whose name contains a text, by name.
#[utoipa::path(get, path = "/api/v1/entities", params(EntitySearchParams, PageParams),
    responses((status = 200, body = PageDto<EntityDto>)))]
pub async fn search_entities(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    Query(params): Query<EntitySearchParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<PageDto<EntityDto>>, ApiError> {
    let reader = Reader::of(&state, &parts, None).await?;
    let page = state
        .store
        .search_entities(params.name.as_deref().unwrap_or(""), page.request())
        .await?;
    let events: Vec<_> = page
        .items
        .iter()
        .map(|entity| entity_event(&reader, entity))
        .collect();
    reader.record(&state, &events).await?;
    Ok(Json(PageDto::from_page(page, |entity| {
        entity_for(&reader, &entity)
    })))
}

/// Entities are public registrations, but their legal representative's identity number
/// is personal: it is shown in full only to a city-wide reader of sensitive fields with a
/// purpose, and each showing is audited with the representative as subject.
fn entity_for(reader: &Reader, entity: &LegalEntity) -> EntityDto {
    let mut dto = EntityDto::from(entity);
    if !reader.shows_sensitive(None) {
        dto.legal_representative = mask_citizen_id(&dto.legal_representative);
    }
    dto
}

fn entity_event(reader: &Reader, entity: &LegalEntity) -> huimin_domain::audit::AuditEvent {
    reader.event(
        "entity.read",
        entity.legal_representative.as_str(),
        None,
        Outcome::Allowed,
    )
}

/// A legal entity by its unified social credit code.
#[utoipa::path(get, path = "/api/v1/entities/{credit_code}", params(("credit_code" = String, Path)),
    responses((status = 200, body = EntityDto), (status = 404), (status = 422)))]
pub async fn get_entity(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    Path(credit_code): Path<String>,
) -> Result<Json<EntityDto>, ApiError> {
    let reader = Reader::of(&state, &parts, None).await?;
    let code = parse_path("credit_code", &credit_code, CreditCode::parse)?;
    let entity = state
        .store
        .entity(&code)
        .await?
        .ok_or_else(|| ApiError::not_found("legal entity"))?;
    reader
        .record(&state, &[entity_event(&reader, &entity.record)])
        .await?;
    Ok(Json(entity_for(&reader, &entity.record)))
}

/// Create or update a legal entity. 201 when new.
#[utoipa::path(post, path = "/api/v1/entities", request_body = EntityInputDto,
    responses((status = 201, body = EntityDto), (status = 200, body = EntityDto), (status = 422)))]
pub async fn put_entity(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    ApiJson(input): ApiJson<EntityInputDto>,
) -> Result<(StatusCode, Json<EntityDto>), ApiError> {
    let draft = EntityDraft {
        credit_code: input.credit_code,
        name: input.name,
        kind: input.kind,
        legal_representative: input.legal_representative,
        registered_address: input.registered_address,
        status: input.status,
        established_on: input.established_on,
    };
    let entity = draft.validate().map_err(ApiError::Validation)?;
    let provenance = super::api_provenance(&state, &parts.headers, state.clock.now());
    let counts = state
        .store
        .put_entities(
            std::slice::from_ref(&entity),
            &provenance,
            &super::registry_writer(&state, &parts).await?,
        )
        .await?;
    Ok((super::write_status(counts), Json(EntityDto::from(&entity))))
}
