//! The JSON API under `/api/v1`, one module per business domain. Request and response
//! shapes (`…Dto`) are defined here and converted explicitly from domain records.

mod areas;
mod audit;
mod case_photos;
mod case_supervision;
mod cases;
mod catalogue;
mod disputes;
mod entities;
mod exchange;
mod facilities;
mod houses;
mod knowledge;
mod monitoring;
mod patrol;
mod persons;
mod rentals;
mod sharing;
mod sms;
mod statistics;
mod subscriptions;
mod uploads;

pub use areas::*;
pub use audit::*;
pub use case_photos::*;
pub use case_supervision::*;
pub use cases::*;
pub use catalogue::*;
pub use disputes::*;
pub use entities::*;
pub use exchange::*;
pub use facilities::*;
pub use houses::*;
pub use knowledge::*;
pub use monitoring::*;
pub use patrol::*;
pub use persons::*;
pub use rentals::*;
pub use sharing::*;
pub use sms::*;
pub use statistics::*;
pub use subscriptions::*;
pub use uploads::*;

use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use huimin_domain::provenance::Provenance;
use huimin_domain::storage::{Page, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The dataset upload, which the router gives a body limit and timeout of its own.
pub fn upload_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/catalogue/resources/{classification}/{sequence}/batches",
            axum::routing::post(uploads::upload_batch),
        )
        // A photo is read whole: one byte over the largest photo is refused (413).
        .route(
            "/cases/{id}/photos",
            axum::routing::post(case_photos::upload_photo).layer(
                axum::extract::DefaultBodyLimit::max(huimin_domain::case::photo::MAX_PHOTO_BYTES),
            ),
        )
}

/// The case page's photo upload, under the same limit as the API's (mounted beside the
/// uploads, outside the console's small body limit).
pub fn page_upload_routes() -> Router<AppState> {
    Router::new().route(
        "/console/cases/{id}/photos",
        axum::routing::post(crate::pages::photo_upload).layer(
            axum::extract::DefaultBodyLimit::max(huimin_domain::case::photo::MAX_PHOTO_BYTES),
        ),
    )
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cases", get(cases::list_cases).post(cases::create_case))
        .route(
            "/cases/dispatch-rules",
            get(cases::dispatch_rules).put(cases::replace_dispatch_rules),
        )
        .route(
            "/houses/{id}/tenancies",
            get(rentals::get_tenancies).post(rentals::register_tenant),
        )
        .route(
            "/houses/{id}/tenancies/{tenancy}/end",
            axum::routing::post(rentals::end_tenancy),
        )
        .route("/sms", get(sms::sms_inbox))
        .route("/sms/inbound", axum::routing::post(sms::receive_sms))
        .route("/sms/{id}/ticket", axum::routing::post(sms::ticket_sms))
        .route("/sms/{id}/dismiss", axum::routing::post(sms::dismiss_sms))
        .route("/components", get(facilities::list_components))
        .route(
            "/components/{code}",
            get(facilities::get_component).put(facilities::put_component),
        )
        .route(
            "/buildings/{id}/appraisals",
            get(facilities::building_appraisals).post(facilities::record_appraisal),
        )
        .route("/patrol/tasks", get(patrol::patrol_tasks))
        .route("/patrol/visits", axum::routing::post(patrol::check_in))
        .route(
            "/knowledge",
            get(knowledge::knowledge).post(knowledge::create_article),
        )
        .route(
            "/knowledge/{id}",
            get(knowledge::get_article).put(knowledge::replace_article),
        )
        .route("/cases/warnings", get(case_supervision::case_warnings))
        .route("/cases/map", get(case_supervision::case_map))
        .route("/cases/{id}/photos/{photo}", get(case_photos::get_photo))
        .route("/cases/indicators", get(case_supervision::case_indicators))
        .route("/cases/{id}", get(cases::get_case))
        .route(
            "/cases/{id}/actions",
            axum::routing::post(cases::act_on_case),
        )
        .route(
            "/persons",
            get(persons::search_persons).post(persons::put_person),
        )
        .route("/persons/{citizen_id}", get(persons::get_person))
        .route(
            "/persons/{citizen_id}/history",
            get(persons::person_history),
        )
        .route("/persons/{citizen_id}/360", get(persons::person_360))
        .route("/households", axum::routing::post(persons::put_household))
        .route("/households/{number}", get(persons::get_household))
        .route(
            "/entities",
            get(entities::search_entities).post(entities::put_entity),
        )
        .route("/entities/{credit_code}", get(entities::get_entity))
        .route(
            "/houses",
            get(houses::houses_in_area).post(houses::put_house),
        )
        .route("/houses/{id}", get(houses::get_house))
        .route("/areas", get(areas::area_collection))
        .route("/areas/{code}", get(areas::get_area))
        .route("/grid-at", get(areas::grid_at))
        .route("/statistics/population", get(statistics::population))
        .route("/statistics/enterprises", get(monitoring::enterprises))
        .route("/statistics/education", get(monitoring::education))
        .route("/monitoring/dashboard", get(monitoring::dashboard))
        .route("/audit/checkpoint", get(audit::latest_checkpoint))
        .route("/audit/keys", get(audit::audit_keys))
        .route("/audit/proof/inclusion", get(audit::inclusion_proof))
        .route("/audit/proof/consistency", get(audit::consistency_proof))
        .route(
            "/catalogue/departments",
            get(catalogue::list_departments).post(catalogue::put_department),
        )
        .route(
            "/catalogue/resources",
            get(catalogue::search_resources).post(catalogue::publish_resource),
        )
        .route(
            "/catalogue/resources/{classification}/{sequence}",
            get(catalogue::get_resource),
        )
        .route(
            "/catalogue/resources/{classification}/{sequence}/versions",
            get(catalogue::resource_versions),
        )
        .route("/catalogue/dcat", get(catalogue::dcat_export))
        .route(
            "/catalogue/resources/{classification}/{sequence}/batches",
            get(catalogue::resource_batches),
        )
        .route(
            "/datasets/batches/{batch_id}/problems",
            get(catalogue::batch_problems),
        )
        .route(
            "/sharing/requests",
            get(sharing::list_requests).post(sharing::create_request),
        )
        .route("/sharing/requests/{id}", get(sharing::get_request))
        .route(
            "/sharing/requests/{id}/decision",
            axum::routing::post(sharing::decide_request),
        )
        .route(
            "/sharing/requests/{id}/revocation",
            axum::routing::post(sharing::revoke_request),
        )
        .route(
            "/exchange/resources/{classification}/{sequence}/subjects/{subject}",
            get(exchange::subject_records),
        )
        .route(
            "/exchange/resources/{classification}/{sequence}/lookups",
            axum::routing::post(exchange::lookup),
        )
        .route(
            "/exchange/verifications/{question}/{citizen_id}",
            get(exchange::verify),
        )
        .route(
            "/subscriptions",
            get(subscriptions::list_subscriptions).post(subscriptions::create_subscription),
        )
        .route("/subscriptions/{id}", get(subscriptions::get_subscription))
        .route(
            "/subscriptions/{id}/deliveries",
            get(subscriptions::subscription_deliveries),
        )
        .route(
            "/subscriptions/{id}/replay",
            axum::routing::post(subscriptions::replay_subscription),
        )
        .route(
            "/subscriptions/{id}/cancel",
            axum::routing::post(subscriptions::cancel_subscription),
        )
        .route("/disputes", get(disputes::list_disputes))
        .route("/disputes/{id}", get(disputes::get_dispute))
        .route(
            "/disputes/{id}/answer",
            axum::routing::post(disputes::answer_dispute),
        )
}

/// The caller behind an API request if it is government staff or a department system;
/// residents and enterprises are refused, `what` saying what is not for them.
pub(crate) async fn government_caller(
    state: &AppState,
    parts: &axum::http::request::Parts,
    what: &str,
) -> Result<crate::session::Principal, ApiError> {
    use huimin_domain::identity::AccountKind;
    let principal = crate::session::api_principal(state, &parts.headers, state.clock.now()).await?;
    match principal.account.kind {
        AccountKind::Staff | AccountKind::Service => Ok(principal),
        AccountKind::Resident | AccountKind::Enterprise => Err(ApiError::Forbidden(format!(
            "{what} for government staff and department systems"
        ))),
    }
}

/// Whether the caller holds the city administrator's role.
pub(crate) fn is_city_administrator(principal: &crate::session::Principal) -> bool {
    principal
        .roles
        .iter()
        .any(|held| held.role == huimin_domain::identity::Role::CityAdministrator)
}

/// An instant as RFC 3339 in Asia/Shanghai (+08:00).
pub(crate) fn shanghai_rfc3339(instant: chrono::DateTime<chrono::Utc>) -> String {
    instant
        .with_timezone(&huimin_domain::time::SHANGHAI)
        .to_rfc3339()
}

/// `/readyz`: 200 when the database answers, 503 otherwise.
pub async fn readiness(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state
        .store
        .ping()
        .await
        .map_err(|error| {
            tracing::warn!(%error, "readiness check failed");
            ApiError::Unavailable("the database is not reachable".to_owned())
        })
        .map(|()| "ready")
}

/// The provenance of records written by one API request: the configured source, the
/// request id as the batch (`api:<id>`), and the time of the request.
pub(crate) fn api_provenance(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    recorded_at: chrono::DateTime<chrono::Utc>,
) -> Provenance {
    let request_id = headers
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("unknown");
    Provenance {
        source: state.config.api_source.clone(),
        batch: format!("api:{request_id}"),
        recorded_at,
    }
}

/// The scope an API token needs to write the registries.
pub const REGISTRY_WRITE: &str = "registry:write";

/// Who an API write is by: a department's system whose token holds `registry:write`, or a
/// signed-in department data officer. Anyone else is refused (401 / 403).
pub(crate) async fn registry_writer(
    state: &AppState,
    parts: &axum::http::request::Parts,
) -> Result<huimin_domain::audit::Actor, ApiError> {
    let principal = crate::session::api_principal(state, &parts.headers, state.clock.now()).await?;
    let allowed = match &principal.token_scopes {
        Some(scopes) => scopes.iter().any(|scope| scope == REGISTRY_WRITE),
        None => principal
            .roles
            .iter()
            .any(|held| held.role == huimin_domain::identity::Role::DepartmentDataOfficer),
    };
    if !allowed {
        return Err(ApiError::Forbidden(format!(
            "writing the registries needs an API token with the scope {REGISTRY_WRITE}, or the department data officer role"
        )));
    }
    Ok(principal.actor(parts))
}

/// 201 when a one-record write created it, 200 when it updated or left it alone.
pub(crate) fn write_status(counts: huimin_domain::storage::WriteCounts) -> axum::http::StatusCode {
    if counts.inserted == 1 {
        axum::http::StatusCode::CREATED
    } else {
        axum::http::StatusCode::OK
    }
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("the requested resource")
}

/// Page parameters of every list endpoint.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Items per page, 1–200 (default 20).
    pub per_page: Option<u32>,
}

impl PageParams {
    pub fn request(self) -> PageRequest {
        PageRequest::new(self.page.unwrap_or(1), self.per_page.unwrap_or(20))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PageDto<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

impl<T> PageDto<T> {
    pub fn from_page<S>(page: Page<S>, convert: impl Fn(S) -> T) -> PageDto<T> {
        PageDto {
            items: page.items.into_iter().map(convert).collect(),
            total: page.total,
            page: page.page,
            per_page: page.per_page,
        }
    }
}

/// Where a fact came from.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProvenanceDto {
    pub source: String,
    pub batch: String,
    /// RFC 3339 in Asia/Shanghai (+08:00).
    pub recorded_at: String,
}

impl From<&Provenance> for ProvenanceDto {
    fn from(provenance: &Provenance) -> Self {
        ProvenanceDto {
            source: provenance.source.clone(),
            batch: provenance.batch.clone(),
            recorded_at: provenance
                .recorded_at
                .with_timezone(&huimin_domain::time::SHANGHAI)
                .to_rfc3339(),
        }
    }
}

/// Parses a path identifier or answers 422 naming the field.
pub(crate) fn parse_path<T, E>(
    field: &'static str,
    value: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, ApiError>
where
    E: Into<huimin_domain::identifiers::IdentifierError>,
{
    parse(value).map_err(|error| {
        ApiError::field(huimin_domain::registry::FieldError::identifier(
            field,
            value,
            &error.into(),
        ))
    })
}
