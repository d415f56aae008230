//! The area tree as GeoJSON, and point-in-grid lookup.

use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use huimin_domain::area::{Area, AreaLevel};
use huimin_domain::registry::{FieldError, GeoPoint};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AreaParams {
    /// Only areas of these levels, comma-separated: city, district, street, community, grid.
    pub level: Option<String>,
}

fn feature(area: &Area) -> serde_json::Value {
    serde_json::json!({
        "type": "Feature",
        "id": area.code,
        "geometry": area.boundary.as_ref().and_then(|boundary| serde_json::to_value(geojson::Geometry::from(boundary)).ok()),
        "properties": {
            "code": area.code,
            "name": area.name,
            "level": area.level.code(),
            "parent": area.parent,
        }
    })
}

/// The area tree as a GeoJSON FeatureCollection (every node carries its parent code).
#[utoipa::path(get, path = "/api/v1/areas", params(AreaParams),
    responses((status = 200, description = "GeoJSON FeatureCollection"), (status = 422)))]
pub async fn area_collection(
    State(state): State<AppState>,
    Query(params): Query<AreaParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut levels = Vec::new();
    for text in params
        .level
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        levels.push(AreaLevel::parse(text).ok_or_else(|| {
            ApiError::field(FieldError::not_one_of(
                "level",
                text,
                &["city", "district", "street", "community", "grid"],
            ))
        })?);
    }
    let areas = state.store.areas(&levels).await?;
    Ok(Json(serde_json::json!({
        "type": "FeatureCollection",
        "features": areas.iter().map(feature).collect::<Vec<_>>(),
    })))
}

/// One area as a GeoJSON Feature.
#[utoipa::path(get, path = "/api/v1/areas/{code}", params(("code" = String, Path)),
    responses((status = 200, description = "GeoJSON Feature"), (status = 404)))]
pub async fn get_area(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let area = state
        .store
        .area(&code)
        .await?
        .ok_or_else(|| ApiError::not_found("area"))?;
    Ok(Json(feature(&area)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PointParams {
    /// WGS84 longitude.
    pub longitude: f64,
    /// WGS84 latitude.
    pub latitude: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GridAtDto {
    pub grid: String,
}

/// The unit grid containing a WGS84 point.
#[utoipa::path(get, path = "/api/v1/grid-at", params(PointParams),
    responses((status = 200, body = GridAtDto), (status = 404, description = "no grid contains the point")))]
pub async fn grid_at(
    State(state): State<AppState>,
    Query(params): Query<PointParams>,
) -> Result<Json<GridAtDto>, ApiError> {
    let point = GeoPoint::new(params.longitude, params.latitude).ok_or_else(|| {
        ApiError::field(FieldError::new(
            "longitude",
            &format!("{},{}", params.longitude, params.latitude),
            "invalid_point",
            "longitude must be within ±180 and latitude within ±90 (WGS84)",
            "经度应在±180之间、纬度应在±90之间（WGS84）",
        ))
    })?;
    let index = state.grid_index();
    let grid = index
        .grid_at(point)
        .ok_or_else(|| ApiError::not_found("a grid containing this point"))?;
    Ok(Json(GridAtDto {
        grid: grid.to_owned(),
    }))
}
