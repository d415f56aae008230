//! The OpenAPI document (`/api/openapi.json`) and the browsable API page (`/api/docs`).
//!
//! The document is generated from the handlers' annotations; a copy is committed at
//! `docs/openapi.json` and a test fails when it is stale.

use crate::api;
use crate::state::AppState;
use axum::Router;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Huimin API",
        description = "惠民 — shared base registries of the city, and the catalogue of the resources its departments share."
    ),
    paths(
        api::search_persons,
        api::get_person,
        api::person_history,
        api::person_360,
        api::put_person,
        api::get_household,
        api::put_household,
        api::search_entities,
        api::get_entity,
        api::put_entity,
        api::houses_in_area,
        api::get_house,
        api::put_house,
        api::area_collection,
        api::get_area,
        api::grid_at,
        api::population,
        api::latest_checkpoint,
        api::audit_keys,
        api::inclusion_proof,
        api::consistency_proof,
        api::list_departments,
        api::put_department,
        api::search_resources,
        api::publish_resource,
        api::get_resource,
        api::resource_versions,
        api::dcat_export,
        api::resource_batches,
        api::upload_batch,
        api::create_case,
        api::list_cases,
        api::get_case,
        api::act_on_case,
        api::dispatch_rules,
        api::replace_dispatch_rules,
        api::batch_problems,
        api::create_request,
        api::list_requests,
        api::get_request,
        api::decide_request,
        api::revoke_request,
        api::subject_records,
        api::lookup,
        api::verify,
        api::list_disputes,
        api::get_dispute,
        api::answer_dispute,
        api::create_subscription,
        api::list_subscriptions,
        api::get_subscription,
        api::subscription_deliveries,
        api::replay_subscription,
        api::cancel_subscription,
        api::dashboard,
        api::enterprises,
        api::education,
    ),
    components(schemas(
        api::SharingRequestInputDto,
        api::SharingRequestDto,
        api::DecisionInputDto,
        api::RevocationInputDto,
        api::ExchangeRecordDto,
        api::SubjectRecordsDto,
        api::LookupInputDto,
        api::LookupResultDto,
        api::LookupDto,
        api::VerificationDto,
        api::DisputeDto,
        api::DisputeAnswerDto,
        api::SubscriptionInputDto,
        api::SubscriptionDto,
        api::DeliveryDto,
        api::ReplayInputDto,
        api::DashboardDto,
        api::ExchangeDayDto,
        api::ResourceTotalDto,
        api::BatchRowDto,
        api::EnterprisePortraitDto,
        api::EnterpriseCountDto,
        api::EducationPortraitDto,
        api::LevelCountDto,
        api::PersonDto,
        api::PersonSummaryDto,
        api::PersonInputDto,
        api::PersonWriteDto,
        api::Person360Dto,
        api::HouseholdDto,
        api::HouseholdMemberDto,
        api::HouseholdInputDto,
        api::HouseholdMemberInputDto,
        api::EntityDto,
        api::EntityInputDto,
        api::HouseDto,
        api::HouseInputDto,
        api::GridAtDto,
        api::PopulationDto,
        api::AgeBandDto,
        api::AgeingDto,
        api::ProvenanceDto,
        api::CheckpointDto,
        api::AuditKeyDto,
        api::InclusionProofDto,
        api::ConsistencyProofDto,
        api::DepartmentDto,
        api::ItemDto,
        api::ResourceInputDto,
        api::ResourceDto,
        api::ResourceSummaryDto,
        api::PublicationDto,
        api::BatchDto,
        api::BatchCountsDto,
        api::QualityDto,
        api::BatchesDto,
        api::ProblemDto,
        api::UploadForm,
        api::CaseDto,
        api::CaseEventDto,
        api::ClockDto,
        api::CaseDraftBody,
        api::ActionBody,
        api::DispatchRulesBody,
    ))
)]
pub struct ApiDoc;

/// The OpenAPI document as pretty JSON, as committed in `docs/openapi.json`.
pub fn document_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serializes")
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", ApiDoc::openapi()))
}
