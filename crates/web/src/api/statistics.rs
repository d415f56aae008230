//! Population statistics: the age pyramid of an area and ageing per community.

use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatisticsParams {
    /// Area code prefix; the whole registry when absent.
    pub area: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgeBandDto {
    /// `0-4`, `5-9`, … `100+`.
    pub band: String,
    pub male: u64,
    pub female: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgeingDto {
    pub community_code: String,
    pub community_name: String,
    pub residents: u64,
    pub aged_60_and_over: u64,
    /// Share of residents aged 60 and over, 0–1.
    pub ageing_rate: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PopulationDto {
    pub residents: u64,
    pub aged_60_and_over: u64,
    pub ageing_rate: f64,
    pub age_pyramid: Vec<AgeBandDto>,
    pub communities: Vec<AgeingDto>,
}

fn rate(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

pub(crate) async fn load_population(
    state: &AppState,
    area: &str,
) -> Result<PopulationDto, ApiError> {
    let today = state.clock.today();
    let pyramid = state.store.age_pyramid(area, today).await?;
    let communities: Vec<AgeingDto> = state
        .store
        .ageing_by_community(today)
        .await?
        .into_iter()
        .filter(|community| {
            community.area_code.starts_with(area) || area.starts_with(&community.area_code)
        })
        .map(|community| AgeingDto {
            ageing_rate: rate(community.aged_60_and_over, community.residents),
            community_code: community.area_code,
            community_name: community.area_name,
            residents: community.residents,
            aged_60_and_over: community.aged_60_and_over,
        })
        .collect();
    let residents: u64 = pyramid.iter().map(|band| band.male + band.female).sum();
    let aged: u64 = pyramid
        .iter()
        .filter(|band| band.from_age >= 60)
        .map(|band| band.male + band.female)
        .sum();
    Ok(PopulationDto {
        residents,
        aged_60_and_over: aged,
        ageing_rate: rate(aged, residents),
        age_pyramid: pyramid
            .into_iter()
            .map(|band| AgeBandDto {
                band: if band.from_age >= 100 {
                    "100+".to_owned()
                } else {
                    format!("{}-{}", band.from_age, band.from_age + 4)
                },
                male: band.male,
                female: band.female,
            })
            .collect(),
        communities,
    })
}

/// Age pyramid and ageing rates of the living residents of an area.
#[utoipa::path(get, path = "/api/v1/statistics/population", params(StatisticsParams),
    responses((status = 200, body = PopulationDto), (status = 422)))]
pub async fn population(
    State(state): State<AppState>,
    Query(params): Query<StatisticsParams>,
) -> Result<Json<PopulationDto>, ApiError> {
    let area = params.area.unwrap_or_default();
    if !area.chars().all(|c| c.is_ascii_digit()) || area.len() > 15 {
        return Err(ApiError::field(huimin_domain::registry::FieldError::new(
            "area",
            &area,
            "invalid_area_prefix",
            "area must be up to 15 digits",
            "区域应为不超过15位的数字",
        )));
    }
    Ok(Json(load_population(&state, &area).await?))
}
