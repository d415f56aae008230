//! Legal entities: search by name, read by credit code, create/update.

use super::{PageDto, PageParams, parse_path};
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
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
    Query(params): Query<EntitySearchParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<PageDto<EntityDto>>, ApiError> {
    let page = state
        .store
        .search_entities(params.name.as_deref().unwrap_or(""), page.request())
        .await?;
    Ok(Json(PageDto::from_page(page, |entity| {
        EntityDto::from(&entity)
    })))
}

/// A legal entity by its unified social credit code.
#[utoipa::path(get, path = "/api/v1/entities/{credit_code}", params(("credit_code" = String, Path)),
    responses((status = 200, body = EntityDto), (status = 404), (status = 422)))]
pub async fn get_entity(
    State(state): State<AppState>,
    Path(credit_code): Path<String>,
) -> Result<Json<EntityDto>, ApiError> {
    let code = parse_path("credit_code", &credit_code, CreditCode::parse)?;
    let entity = state
        .store
        .entity(&code)
        .await?
        .ok_or_else(|| ApiError::not_found("legal entity"))?;
    Ok(Json(EntityDto::from(&entity.record)))
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
