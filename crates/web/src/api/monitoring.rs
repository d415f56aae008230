//! Monitoring of the exchange and the portraits over the registries: the dashboard's
//! figures (sources, batches, exchange volumes per day, failures, quality, record totals
//! per resource, the live population) for staff, and the enterprise portrait (by kind and
//! district) beside the population statistics. Aggregates only: no person is named.

use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::request::Parts;
use chrono::Duration;
use huimin_domain::audit::Outcome;
use huimin_domain::storage::{DisputeQuery, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Days of exchange volume the dashboard shows.
const DAYS: i64 = 14;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExchangeDayDto {
    /// `YYYY-MM-DD` in Asia/Shanghai.
    pub day: String,
    /// Consumer calls answered, by subject.
    pub allowed: u64,
    /// Consumer calls refused (no grant, another purpose, over the rate …).
    pub denied: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ResourceTotalDto {
    pub code: String,
    pub name: String,
    pub provider: String,
    pub records: u64,
    /// The mean quality score of the latest five committed batches.
    pub rolling_score: Option<f64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchRowDto {
    pub batch_id: String,
    pub resource: String,
    pub provider: String,
    pub status: String,
    pub started_at: String,
    pub rows: u64,
    pub rejected: u64,
    pub unlinked: u64,
    pub score: Option<f64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DashboardDto {
    /// People in the population registry now.
    pub population: u64,
    pub departments: usize,
    pub resources: usize,
    /// Records held across every resource.
    pub records: u64,
    pub open_disputes: u64,
    pub pending_requests: u64,
    /// Webhook deliveries that failed in the last 24 hours.
    pub failed_deliveries: u64,
    pub exchange_per_day: Vec<ExchangeDayDto>,
    pub resource_totals: Vec<ResourceTotalDto>,
    pub recent_batches: Vec<BatchRowDto>,
}

/// The dashboard's figures, for staff and department systems.
pub(crate) async fn load_dashboard(state: &AppState) -> Result<DashboardDto, ApiError> {
    let now = state.clock.now();
    let today = state.clock.today();
    let population = state.store.count_persons().await?;
    let departments = state.catalogue.departments().await?;
    let resources = state.catalogue.all_resources().await?;
    let totals = state.datasets.record_totals().await?;
    let mut resource_totals = Vec::with_capacity(resources.len());
    for published in &resources {
        let code = &published.resource.code;
        resource_totals.push(ResourceTotalDto {
            code: code.to_string(),
            name: published.resource.name.clone(),
            provider: published.resource.provider.to_string(),
            records: totals
                .iter()
                .find(|(total, _)| total == code)
                .map_or(0, |(_, count)| *count),
            rolling_score: super::catalogue::rolling_score(state, code).await?,
        });
    }
    let since = huimin_domain::time::shanghai_midnight(today - Duration::days(DAYS - 1));
    let counts = state.audit.daily_counts("exchange.", since).await?;
    let exchange_per_day = (0..DAYS)
        .map(|back| today - Duration::days(DAYS - 1 - back))
        .map(|day| {
            let count = |outcome: Outcome| {
                counts
                    .iter()
                    .filter(|(counted, counted_outcome, _)| {
                        *counted == day && *counted_outcome == outcome
                    })
                    .map(|(_, _, count)| *count)
                    .sum()
            };
            ExchangeDayDto {
                day: day.to_string(),
                allowed: count(Outcome::Allowed),
                denied: count(Outcome::Denied),
            }
        })
        .collect();
    let open_disputes = state
        .disputes
        .disputes(
            &DisputeQuery {
                open: Some(true),
                ..DisputeQuery::default()
            },
            PageRequest::new(1, 1),
        )
        .await?
        .total;
    let pending_requests = state
        .sharing
        .sharing_requests(
            &huimin_domain::storage::SharingQuery {
                status: Some("pending".into()),
                ..Default::default()
            },
            PageRequest::new(1, 1),
        )
        .await?
        .total;
    let failed_deliveries = state
        .subscriptions
        .failed_deliveries_since(now - Duration::hours(24))
        .await?;
    let recent_batches = state
        .datasets
        .recent_batches(20)
        .await?
        .into_iter()
        .map(|batch| BatchRowDto {
            batch_id: batch.batch_id.clone(),
            resource: batch.resource.to_string(),
            provider: batch.provider.to_string(),
            status: batch.status.code().to_owned(),
            started_at: super::shanghai_rfc3339(batch.started_at),
            rows: batch.tally.rows,
            rejected: batch.counts.rejected,
            unlinked: batch.counts.unlinked,
            score: batch.quality.map(|quality| quality.score()),
        })
        .collect();
    Ok(DashboardDto {
        population,
        departments: departments.len(),
        resources: resources.len(),
        records: totals.iter().map(|(_, count)| count).sum(),
        open_disputes,
        pending_requests,
        failed_deliveries,
        exchange_per_day,
        resource_totals,
        recent_batches,
    })
}

/// The exchange's dashboard: sources, batches, volumes per day, failures, quality,
/// record totals, the live population.
#[utoipa::path(get, path = "/api/v1/monitoring/dashboard",
    responses((status = 200, body = DashboardDto), (status = 401), (status = 403)))]
pub async fn dashboard(
    State(state): State<AppState>,
    parts: Parts,
) -> Result<Json<DashboardDto>, ApiError> {
    super::government_caller(&state, &parts, "the exchange's monitoring is").await?;
    Ok(Json(load_dashboard(&state).await?))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LevelCountDto {
    /// 学历, as 教育 records it (e.g. 本科).
    pub level: String,
    pub people: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EducationPortraitDto {
    /// The resource the portrait is drawn from: 教育's education records.
    pub source: String,
    pub people: u64,
    pub levels: Vec<LevelCountDto>,
}

/// The education resource and the item holding the level.
const EDUCATION: (&str, &str) = ("301010/000001", "education_level");

pub(crate) async fn load_education(state: &AppState) -> Result<EducationPortraitDto, ApiError> {
    let code = huimin_domain::catalogue::ResourceCode::parse(EDUCATION.0).map_err(|message| {
        ApiError::Unavailable(format!("the education resource's code: {message}"))
    })?;
    let levels = match state.catalogue.resource(&code, None).await? {
        Some(published) => match published
            .resource
            .items
            .iter()
            .position(|item| item.name == EDUCATION.1)
        {
            Some(position) => state.datasets.value_counts(&code, position).await?,
            None => Vec::new(),
        },
        None => Vec::new(),
    };
    Ok(EducationPortraitDto {
        source: EDUCATION.0.to_owned(),
        people: levels.iter().map(|(_, count)| count).sum(),
        levels: levels
            .into_iter()
            .map(|(level, people)| LevelCountDto { level, people })
            .collect(),
    })
}

/// The education portrait: people by their highest education, from 教育's records (empty
/// until 教育 has sent them).
#[utoipa::path(get, path = "/api/v1/statistics/education",
    responses((status = 200, body = EducationPortraitDto)))]
pub async fn education(
    State(state): State<AppState>,
) -> Result<Json<EducationPortraitDto>, ApiError> {
    Ok(Json(load_education(&state).await?))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EnterpriseCountDto {
    /// The district's code (from the registering authority in the credit code).
    pub district_code: String,
    pub district_name: String,
    /// enterprise, individual_business, institution, social_organisation.
    pub kind: String,
    pub kind_zh: String,
    pub count: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EnterprisePortraitDto {
    pub total: u64,
    /// Registered legal entities by district and kind, districts by code.
    pub counts: Vec<EnterpriseCountDto>,
}

pub(crate) async fn load_enterprises(state: &AppState) -> Result<EnterprisePortraitDto, ApiError> {
    let districts = state
        .store
        .areas(&[huimin_domain::area::AreaLevel::District])
        .await?;
    let counts: Vec<EnterpriseCountDto> = state
        .store
        .entity_counts()
        .await?
        .into_iter()
        .map(|(kind, district, count)| EnterpriseCountDto {
            district_name: districts
                .iter()
                .find(|area| area.code == district)
                .map_or_else(|| district.clone(), |area| area.name.clone()),
            district_code: district,
            kind_zh: kind.label_zh().to_owned(),
            kind: kind.code().to_owned(),
            count,
        })
        .collect();
    Ok(EnterprisePortraitDto {
        total: counts.iter().map(|count| count.count).sum(),
        counts,
    })
}

/// The enterprise portrait: registered legal entities by district and kind.
#[utoipa::path(get, path = "/api/v1/statistics/enterprises",
    responses((status = 200, body = EnterprisePortraitDto)))]
pub async fn enterprises(
    State(state): State<AppState>,
) -> Result<Json<EnterprisePortraitDto>, ApiError> {
    Ok(Json(load_enterprises(&state).await?))
}
