//! The information-resource catalogue (信息资源目录): departments, resources with their
//! versions, search, and the DCAT-AP export in JSON-LD.
//!
//! Any staff member or department system reads the catalogue; it holds metadata, no
//! personal data. The city administrator registers departments and may publish any
//! resource; a department data officer publishes the providing department's. A system
//! holding such a role does the same with a token that holds `catalogue:write`. A refused
//! write is audited as denied.

use super::{PageDto, PageParams, is_city_administrator, shanghai_rfc3339};
use crate::error::{ApiError, ApiJson};
use crate::session::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use huimin_domain::audit::Outcome;
use huimin_domain::catalogue::{
    Department, DepartmentDraft, DepartmentId, ItemDraft, OpenType, Publication, PublishedResource,
    ResourceCode, ResourceDraft, ResourceFormat, ResourceQuery, ResourceSummary, SharingType,
    SubjectKind, UpdateFrequency,
};
use huimin_domain::identity::Role;
use huimin_domain::registry::FieldError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

/// The scope a department system's token needs to publish its department's resources.
pub const CATALOGUE_WRITE: &str = "catalogue:write";

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DepartmentDto {
    /// A short id, e.g. `gongan`.
    pub id: String,
    pub name: String,
    pub credit_code: String,
    #[serde(default)]
    pub systems: Vec<String>,
}

impl From<&Department> for DepartmentDto {
    fn from(department: &Department) -> Self {
        DepartmentDto {
            id: department.id.to_string(),
            name: department.name.clone(),
            credit_code: department.credit_code.as_str().to_owned(),
            systems: department.systems.clone(),
        }
    }
}

/// One information item (信息项).
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ItemDto {
    /// The column name: `[a-z][a-z0-9_]*`.
    pub name: String,
    /// The Chinese name.
    pub title: String,
    /// text, integer, decimal, money, date, datetime, boolean (or 字符型 …).
    pub data_type: String,
    /// Characters (text) or digits; defaults by type except for text.
    pub length: Option<u32>,
    pub required: bool,
    /// citizen_id, credit_code, phone, area_code.
    pub identifier: Option<String>,
    /// public, internal (default), sensitive, secret.
    pub classification: Option<String>,
    pub personal: bool,
    /// The registry field it feeds, e.g. `person.residence_address`.
    pub feeds: Option<String>,
    /// Whether this resource is that field's authoritative source (一数一源).
    pub authoritative: bool,
}

/// A resource as published or read: the GB/T 21063 core metadata and the exchange's.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ResourceInputDto {
    /// 信息资源代码, e.g. `301001/000001`.
    pub code: String,
    pub name: String,
    pub summary: String,
    /// The providing department's id.
    pub provider: String,
    pub system: Option<String>,
    /// database, spreadsheet, document, interface.
    pub format: String,
    /// person, entity, house, none.
    pub subject: String,
    pub subject_item: Option<String>,
    pub record_key: Vec<String>,
    pub items: Vec<ItemDto>,
    /// unconditional, conditional, not_shared (or 无条件共享 …).
    pub sharing: String,
    /// The conditions, or why it is not shared.
    pub sharing_terms: String,
    pub legal_basis: String,
    /// not_open, conditional, unconditional.
    pub open: String,
    /// real_time, daily, weekly, monthly, quarterly, yearly, irregular.
    pub update_frequency: String,
    pub keywords: Vec<String>,
}

impl From<ResourceInputDto> for ResourceDraft {
    fn from(input: ResourceInputDto) -> Self {
        ResourceDraft {
            code: input.code,
            name: input.name,
            summary: input.summary,
            provider: input.provider,
            system: input.system,
            format: input.format,
            subject: input.subject,
            subject_item: input.subject_item,
            record_key: input.record_key,
            items: input
                .items
                .into_iter()
                .map(|item| ItemDraft {
                    name: item.name,
                    title: item.title,
                    data_type: item.data_type,
                    length: item.length,
                    required: item.required,
                    identifier: item.identifier,
                    classification: item.classification,
                    personal: item.personal,
                    feeds: item.feeds,
                    authoritative: item.authoritative,
                })
                .collect(),
            sharing: input.sharing,
            sharing_terms: input.sharing_terms,
            legal_basis: input.legal_basis,
            open: input.open,
            update_frequency: input.update_frequency,
            keywords: input.keywords,
        }
    }
}

impl From<ResourceDraft> for ResourceInputDto {
    fn from(draft: ResourceDraft) -> Self {
        ResourceInputDto {
            code: draft.code,
            name: draft.name,
            summary: draft.summary,
            provider: draft.provider,
            system: draft.system,
            format: draft.format,
            subject: draft.subject,
            subject_item: draft.subject_item,
            record_key: draft.record_key,
            items: draft
                .items
                .into_iter()
                .map(|item| ItemDto {
                    name: item.name,
                    title: item.title,
                    data_type: item.data_type,
                    length: item.length,
                    required: item.required,
                    identifier: item.identifier,
                    classification: item.classification,
                    personal: item.personal,
                    feeds: item.feeds,
                    authoritative: item.authoritative,
                })
                .collect(),
            sharing: draft.sharing,
            sharing_terms: draft.sharing_terms,
            legal_basis: draft.legal_basis,
            open: draft.open,
            update_frequency: draft.update_frequency,
            keywords: draft.keywords,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceDto {
    pub version: u32,
    /// RFC 3339 in Asia/Shanghai.
    pub published_at: String,
    pub published_by: String,
    pub resource: ResourceInputDto,
}

impl From<&PublishedResource> for ResourceDto {
    fn from(published: &PublishedResource) -> Self {
        ResourceDto {
            version: published.version,
            published_at: shanghai_rfc3339(published.published_at),
            published_by: published.published_by.clone(),
            resource: published.resource.to_draft().into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceSummaryDto {
    pub code: String,
    pub name: String,
    pub provider: String,
    pub provider_name: String,
    pub sharing: String,
    pub sharing_zh: String,
    pub subject: String,
    pub version: u32,
    pub published_at: String,
}

impl From<ResourceSummary> for ResourceSummaryDto {
    fn from(summary: ResourceSummary) -> Self {
        ResourceSummaryDto {
            code: summary.code.to_string(),
            name: summary.name,
            provider: summary.provider.to_string(),
            provider_name: summary.provider_name,
            sharing: summary.sharing.code().to_owned(),
            sharing_zh: summary.sharing.label_zh().to_owned(),
            subject: summary.subject.code().to_owned(),
            version: summary.version,
            published_at: shanghai_rfc3339(summary.published_at),
        }
    }
}

/// What a publication did.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicationDto {
    /// `published` or `unchanged`.
    pub outcome: String,
    pub version: u32,
    pub resource: ResourceDto,
}

/// A signed-in session may write what its roles allow; a token only when it also holds
/// `catalogue:write`.
fn token_allows_writing(principal: &Principal) -> bool {
    principal
        .token_scopes
        .as_ref()
        .is_none_or(|scopes| scopes.iter().any(|scope| scope == CATALOGUE_WRITE))
}

/// Whether `principal` may publish the catalogue entries of `provider`: the city
/// administrator, or a data officer of that department (a person or its system).
pub(super) fn may_publish(principal: &Principal, provider: &DepartmentId) -> bool {
    token_allows_writing(principal)
        && (is_city_administrator(principal)
            || principal.roles.iter().any(|held| {
                held.role == Role::DepartmentDataOfficer
                    && held.department.as_deref() == Some(provider.as_str())
            }))
}

pub(super) async fn refuse(
    state: &AppState,
    parts: &Parts,
    principal: &Principal,
    (action, object_kind, object): (&str, &str, &str),
    message: String,
) -> ApiError {
    let event = huimin_domain::audit::AuditEvent {
        outcome: Outcome::Denied,
        ..principal.actor(parts).event(action, object_kind, object)
    };
    match state.audit.append_audit(&[event], state.clock.now()).await {
        Ok(_) => ApiError::Forbidden(message),
        Err(error) => error.into(),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResourceSearchParams {
    /// Words that must all appear (name, summary, keywords, item titles, provider).
    pub q: Option<String>,
    /// A department id.
    pub provider: Option<String>,
    /// unconditional, conditional, not_shared.
    pub sharing: Option<String>,
    /// person, entity, house, none.
    pub subject: Option<String>,
}

impl ResourceSearchParams {
    pub(crate) fn query(&self) -> Result<ResourceQuery, ApiError> {
        let mut errors = Vec::new();
        let given = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|text| !text.is_empty())
                .map(str::to_owned)
        };
        let provider = given(&self.provider).and_then(|text| {
            DepartmentId::parse(&text)
                .map_err(|message| {
                    errors.push(FieldError::new(
                        "provider",
                        &text,
                        "department_id",
                        message,
                        "部门标识无效",
                    ))
                })
                .ok()
        });
        let sharing = given(&self.sharing).and_then(|text| {
            let parsed = SharingType::parse(&text);
            if parsed.is_none() {
                errors.push(FieldError::not_one_of("sharing", &text, SharingType::CODES));
            }
            parsed
        });
        let subject = given(&self.subject).and_then(|text| {
            let parsed = SubjectKind::parse(&text);
            if parsed.is_none() {
                errors.push(FieldError::not_one_of("subject", &text, SubjectKind::CODES));
            }
            parsed
        });
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(ResourceQuery {
            text: given(&self.q),
            provider,
            sharing,
            subject,
        })
    }
}

/// The departments, in the pinyin order of their names.
#[utoipa::path(get, path = "/api/v1/catalogue/departments",
    responses((status = 200, body = [DepartmentDto]), (status = 401), (status = 403)))]
pub async fn list_departments(
    State(state): State<AppState>,
    parts: Parts,
) -> Result<Json<Vec<DepartmentDto>>, ApiError> {
    super::government_caller(&state, &parts, "the resource catalogue is").await?;
    let departments = state.catalogue.departments().await?;
    Ok(Json(departments.iter().map(DepartmentDto::from).collect()))
}

/// Create or update a department (city administrator). 201 when new, 200 when updated.
#[utoipa::path(post, path = "/api/v1/catalogue/departments", request_body = DepartmentDto,
    responses((status = 201, body = DepartmentDto), (status = 200, body = DepartmentDto),
              (status = 403), (status = 422, description = "invalid fields, each named")))]
pub async fn put_department(
    State(state): State<AppState>,
    parts: Parts,
    ApiJson(input): ApiJson<DepartmentDto>,
) -> Result<(StatusCode, Json<DepartmentDto>), ApiError> {
    let principal = super::government_caller(&state, &parts, "the resource catalogue is").await?;
    if !(token_allows_writing(&principal) && is_city_administrator(&principal)) {
        return Err(refuse(
            &state,
            &parts,
            &principal,
            ("department.put", "department", &input.id),
            "only the city administrator (or the city's system, with a token holding catalogue:write) registers departments".to_owned(),
        )
        .await);
    }
    let department = DepartmentDraft {
        id: input.id,
        name: input.name,
        credit_code: input.credit_code,
        systems: input.systems,
    }
    .validate()
    .map_err(ApiError::Validation)?;
    let event =
        principal
            .actor(&parts)
            .event("department.put", "department", department.id.as_str());
    let created = state
        .catalogue
        .put_department(&department, &event, state.clock.now())
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(DepartmentDto::from(&department))))
}

/// Search the catalogue, by code.
#[utoipa::path(get, path = "/api/v1/catalogue/resources", params(ResourceSearchParams, PageParams),
    responses((status = 200, body = PageDto<ResourceSummaryDto>), (status = 401), (status = 422)))]
pub async fn search_resources(
    State(state): State<AppState>,
    parts: Parts,
    Query(search): Query<ResourceSearchParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<PageDto<ResourceSummaryDto>>, ApiError> {
    super::government_caller(&state, &parts, "the resource catalogue is").await?;
    let query = search.query()?;
    let found = state.catalogue.resources(&query, page.request()).await?;
    Ok(Json(PageDto::from_page(found, ResourceSummaryDto::from)))
}

/// Publish a resource: its first version (201), a new version (200, `published`), or
/// nothing when it is the same as the current version (200, `unchanged`).
#[utoipa::path(post, path = "/api/v1/catalogue/resources", request_body = ResourceInputDto,
    responses((status = 201, body = PublicationDto), (status = 200, body = PublicationDto),
              (status = 403), (status = 409, description = "another department's code, or another authoritative source"),
              (status = 422, description = "invalid fields, each named")))]
pub async fn publish_resource(
    State(state): State<AppState>,
    parts: Parts,
    ApiJson(input): ApiJson<ResourceInputDto>,
) -> Result<(StatusCode, Json<PublicationDto>), ApiError> {
    let principal = super::government_caller(&state, &parts, "the resource catalogue is").await?;
    let resource = ResourceDraft::from(input)
        .validate()
        .map_err(ApiError::Validation)?;
    if !may_publish(&principal, &resource.provider) {
        return Err(refuse(
            &state,
            &parts,
            &principal,
            ("resource.publish", "resource", resource.code.as_str()),
            format!(
                "publishing {}'s resources needs the city administrator role, the department data officer role for {0}, or a token of {0} with the scope {CATALOGUE_WRITE}",
                resource.provider
            ),
        )
        .await);
    }
    let event = huimin_domain::audit::AuditEvent {
        detail: format!("provider {}", resource.provider),
        ..principal
            .actor(&parts)
            .event("resource.publish", "resource", resource.code.as_str())
    };
    let now = state.clock.now();
    let (status, outcome, version) = match state
        .catalogue
        .publish_resource(&resource, &event, now)
        .await?
    {
        Publication::Published { version: 1 } => (StatusCode::CREATED, "published", 1),
        Publication::Published { version } => (StatusCode::OK, "published", version),
        Publication::Unchanged { version } => (StatusCode::OK, "unchanged", version),
        Publication::UnknownProvider => {
            return Err(ApiError::field(FieldError::new(
                "provider",
                resource.provider.as_str(),
                "unknown_department",
                format!(
                    "no department '{}' is registered; register it first",
                    resource.provider
                ),
                format!("部门“{}”尚未登记", resource.provider),
            )));
        }
        Publication::ProvidedByAnother { provider } => {
            return Err(ApiError::Conflict(format!(
                "resource {} is provided by {provider}; choose another code",
                resource.code
            )));
        }
        Publication::AuthorityTaken {
            field,
            resource: holder,
        } => {
            return Err(ApiError::Conflict(format!(
                "{holder} is already the authoritative source of {} (一数一源); publish this item as a compared source, or release it there first",
                field.code()
            )));
        }
    };
    let stored = state
        .catalogue
        .resource(&resource.code, Some(version))
        .await?
        .ok_or_else(|| {
            ApiError::Unavailable("the resource was published but cannot be read back".to_owned())
        })?;
    Ok((
        status,
        Json(PublicationDto {
            outcome: outcome.to_owned(),
            version,
            resource: ResourceDto::from(&stored),
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionParams {
    /// A past version; the current one when absent.
    pub version: Option<u32>,
}

/// The path's two halves of a resource code (`301001` and `000001`).
pub(crate) fn resource_code(
    classification: &str,
    sequence: &str,
) -> Result<ResourceCode, ApiError> {
    let text = format!("{classification}/{sequence}");
    ResourceCode::parse(&text).map_err(|message| {
        ApiError::field(FieldError::new(
            "code",
            &text,
            "resource_code",
            message,
            "信息资源代码无效",
        ))
    })
}

/// One resource, current or as of a version.
#[utoipa::path(get, path = "/api/v1/catalogue/resources/{classification}/{sequence}",
    params(("classification" = String, Path), ("sequence" = String, Path), VersionParams),
    responses((status = 200, body = ResourceDto), (status = 404)))]
pub async fn get_resource(
    State(state): State<AppState>,
    parts: Parts,
    Path((classification, sequence)): Path<(String, String)>,
    Query(params): Query<VersionParams>,
) -> Result<Json<ResourceDto>, ApiError> {
    super::government_caller(&state, &parts, "the resource catalogue is").await?;
    let code = resource_code(&classification, &sequence)?;
    let published = state
        .catalogue
        .resource(&code, params.version)
        .await?
        .ok_or_else(|| ApiError::not_found("resource"))?;
    Ok(Json(ResourceDto::from(&published)))
}

/// Every version of a resource, newest first.
#[utoipa::path(get, path = "/api/v1/catalogue/resources/{classification}/{sequence}/versions",
    params(("classification" = String, Path), ("sequence" = String, Path)),
    responses((status = 200, body = [ResourceDto]), (status = 404)))]
pub async fn resource_versions(
    State(state): State<AppState>,
    parts: Parts,
    Path((classification, sequence)): Path<(String, String)>,
) -> Result<Json<Vec<ResourceDto>>, ApiError> {
    super::government_caller(&state, &parts, "the resource catalogue is").await?;
    let code = resource_code(&classification, &sequence)?;
    let versions = state.catalogue.resource_versions(&code).await?;
    if versions.is_empty() {
        return Err(ApiError::not_found("resource"));
    }
    Ok(Json(versions.iter().map(ResourceDto::from).collect()))
}

/// The catalogue as DCAT-AP (JSON-LD): a `dcat:Catalog` whose datasets are the current
/// versions, with their items as a CSVW table schema.
#[utoipa::path(get, path = "/api/v1/catalogue/dcat",
    responses((status = 200, content_type = "application/ld+json", description = "a dcat:Catalog")))]
pub async fn dcat_export(
    State(state): State<AppState>,
    parts: Parts,
) -> Result<Response, ApiError> {
    super::government_caller(&state, &parts, "the resource catalogue is").await?;
    let departments = state.catalogue.departments().await?;
    let resources = state.catalogue.all_resources().await?;
    let document = dcat_catalogue(&state.config.issuer, &departments, &resources);
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/ld+json")],
        Json(document),
    )
        .into_response())
}

/// EU Publications Office vocabularies that DCAT-AP prescribes.
const FREQUENCY: &str = "http://publications.europa.eu/resource/authority/frequency/";
const ACCESS_RIGHT: &str = "http://publications.europa.eu/resource/authority/access-right/";
const FILE_TYPE: &str = "http://publications.europa.eu/resource/authority/file-type/";

fn chinese(text: &str) -> Value {
    json!({ "@value": text, "@language": "zh" })
}

fn frequency(frequency: UpdateFrequency) -> &'static str {
    match frequency {
        UpdateFrequency::RealTime => "CONT",
        UpdateFrequency::Daily => "DAILY",
        UpdateFrequency::Weekly => "WEEKLY",
        UpdateFrequency::Monthly => "MONTHLY",
        UpdateFrequency::Quarterly => "QUARTERLY",
        UpdateFrequency::Yearly => "ANNUAL",
        UpdateFrequency::Irregular => "IRREG",
    }
}

/// Access by the public follows the open type; sharing between departments is stated
/// in `dct:rights`.
fn access_right(open: OpenType) -> &'static str {
    match open {
        OpenType::Unconditional => "PUBLIC",
        OpenType::Conditional => "RESTRICTED",
        OpenType::NotOpen => "NON_PUBLIC",
    }
}

fn xsd_type(data_type: huimin_domain::catalogue::DataType) -> &'static str {
    use huimin_domain::catalogue::DataType;
    match data_type {
        DataType::Text => "string",
        DataType::Integer => "integer",
        DataType::Decimal | DataType::Money => "decimal",
        DataType::Date => "date",
        DataType::DateTime => "dateTime",
        DataType::Boolean => "boolean",
    }
}

/// The sharing terms in words: `有条件共享：conditions（依据：legal basis）`.
fn rights_statement(resource: &huimin_domain::catalogue::Resource) -> String {
    let mut statement = resource.sharing.kind().label_zh().to_owned();
    if !resource.sharing.terms().is_empty() {
        statement.push('：');
        statement.push_str(resource.sharing.terms());
    }
    if !resource.legal_basis.is_empty() {
        statement.push_str(&format!("（依据：{}）", resource.legal_basis));
    }
    statement
}

/// The DCAT-AP document of a catalogue. `base` is the address other systems reach
/// Huimin at; every IRI is under it.
pub fn dcat_catalogue(
    base: &str,
    departments: &[Department],
    resources: &[PublishedResource],
) -> Value {
    let agent = |id: &DepartmentId| {
        let department = departments.iter().find(|department| &department.id == id);
        json!({
            "@id": format!("{base}/api/v1/catalogue/departments#{id}"),
            "@type": "foaf:Agent",
            "foaf:name": chinese(department.map_or(id.as_str(), |department| department.name.as_str())),
            "dct:identifier": department.map(|department| department.credit_code.as_str().to_owned()),
        })
    };
    let datasets: Vec<Value> = resources
        .iter()
        .map(|published| {
            let resource = &published.resource;
            let address = format!("{base}/api/v1/catalogue/resources/{}", resource.code);
            let columns: Vec<Value> = resource
                .items
                .iter()
                .map(|item| {
                    json!({
                        "@type": "csvw:Column",
                        "csvw:name": item.name,
                        "csvw:title": chinese(&item.title),
                        "csvw:datatype": { "@id": format!("xsd:{}", xsd_type(item.data_type)) },
                        "csvw:required": item.required,
                    })
                })
                .collect();
            let format = match resource.format {
                ResourceFormat::Spreadsheet => "CSV",
                ResourceFormat::Document => "PDF",
                ResourceFormat::Database | ResourceFormat::Interface => "JSON",
            };
            json!({
                "@id": address,
                "@type": "dcat:Dataset",
                "dct:identifier": resource.code.as_str(),
                "dct:title": chinese(&resource.name),
                "dct:description": chinese(&resource.summary),
                "dct:publisher": agent(&resource.provider),
                "dcat:keyword": resource.keywords.iter().map(|keyword| chinese(keyword)).collect::<Vec<_>>(),
                "dct:accrualPeriodicity": { "@id": format!("{FREQUENCY}{}", frequency(resource.update_frequency)) },
                "dct:accessRights": { "@id": format!("{ACCESS_RIGHT}{}", access_right(resource.open)) },
                "dct:rights": {
                    "@type": "dct:RightsStatement",
                    "rdfs:label": chinese(&rights_statement(resource)),
                },
                "owl:versionInfo": published.version.to_string(),
                "dct:modified": { "@value": shanghai_rfc3339(published.published_at), "@type": "xsd:dateTime" },
                "dcat:distribution": [{
                    "@id": format!("{address}#distribution"),
                    "@type": "dcat:Distribution",
                    "dcat:accessURL": { "@id": address },
                    "dct:format": { "@id": format!("{FILE_TYPE}{format}") },
                }],
                "csvw:tableSchema": {
                    "@type": "csvw:Schema",
                    "csvw:column": columns,
                    "csvw:primaryKey": resource.record_key,
                },
            })
        })
        .collect();
    json!({
        "@context": {
            "dcat": "http://www.w3.org/ns/dcat#",
            "dct": "http://purl.org/dc/terms/",
            "foaf": "http://xmlns.com/foaf/0.1/",
            "owl": "http://www.w3.org/2002/07/owl#",
            "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
            "csvw": "http://www.w3.org/ns/csvw#",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
        },
        "@id": format!("{base}/api/v1/catalogue/dcat"),
        "@type": "dcat:Catalog",
        "dct:title": chinese("政务信息资源目录"),
        "dct:description": chinese("本市各部门共享的政务信息资源，按 GB/T 21063 核心元数据编目。"),
        "dct:publisher": {
            "@id": format!("{base}/"),
            "@type": "foaf:Agent",
            "foaf:name": chinese("惠民数据共享交换平台"),
        },
        "dcat:dataset": datasets,
    })
}

/// What a batch did to the store.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchCountsDto {
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub deleted: u64,
    pub rejected: u64,
    pub unlinked: u64,
}

/// A finished batch's quality: each measure a share from 0 to 1, the score 0–100.
#[derive(Debug, Serialize, ToSchema)]
pub struct QualityDto {
    pub completeness: f64,
    pub validity: f64,
    pub uniqueness: f64,
    pub timeliness: f64,
    pub linkage: f64,
    pub score: f64,
}

/// A resource's rolling quality score (`dataset::rolling_score`) over its latest batches.
pub(crate) async fn rolling_score(
    state: &AppState,
    code: &ResourceCode,
) -> Result<Option<f64>, ApiError> {
    let latest = state
        .datasets
        .batches(code, huimin_domain::storage::PageRequest::new(1, 50))
        .await?;
    Ok(huimin_domain::dataset::rolling_score(&latest.items))
}

/// One batch of a department dataset.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchDto {
    pub batch_id: String,
    pub resource: String,
    pub resource_version: u32,
    pub provider: String,
    /// `full` or `incremental`.
    pub mode: String,
    pub atomic: bool,
    /// `running` or `committed`.
    pub status: String,
    pub started_by: String,
    /// RFC 3339 in Asia/Shanghai.
    pub started_at: String,
    pub finished_at: Option<String>,
    /// The last file row written or reported.
    pub committed_rows: u64,
    pub counts: BatchCountsDto,
    /// Set when the batch has finished.
    pub quality: Option<QualityDto>,
}

impl From<&huimin_domain::dataset::BatchSummary> for BatchDto {
    fn from(batch: &huimin_domain::dataset::BatchSummary) -> Self {
        BatchDto {
            batch_id: batch.batch_id.clone(),
            resource: batch.resource.to_string(),
            resource_version: batch.resource_version,
            provider: batch.provider.to_string(),
            mode: batch.mode.code().to_owned(),
            atomic: batch.atomic,
            status: batch.status.code().to_owned(),
            started_by: batch.started_by.clone(),
            started_at: shanghai_rfc3339(batch.started_at),
            finished_at: batch.finished_at.map(shanghai_rfc3339),
            committed_rows: batch.committed_rows,
            counts: BatchCountsDto {
                rows: batch.tally.rows,
                inserted: batch.counts.inserted,
                updated: batch.counts.updated,
                unchanged: batch.counts.unchanged,
                deleted: batch.counts.deleted,
                rejected: batch.counts.rejected,
                unlinked: batch.counts.unlinked,
            },
            quality: batch.quality.map(|quality| QualityDto {
                completeness: quality.completeness,
                validity: quality.validity,
                uniqueness: quality.uniqueness,
                timeliness: quality.timeliness,
                linkage: quality.linkage,
                score: quality.score(),
            }),
        }
    }
}

/// A resource's batches, newest first, with its rolling quality score.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchesDto {
    /// The mean score of the latest five committed batches; null before the first.
    pub rolling_score: Option<f64>,
    pub batches: PageDto<BatchDto>,
}

/// A row a batch refused or reported.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemDto {
    /// The file's row (the CSV header is row 1).
    pub row: u64,
    /// The item's name; empty for the whole row.
    pub column: String,
    pub value: String,
    pub code: String,
    pub message: String,
    pub message_zh: String,
}

/// A resource's dataset batches, newest first, with the rolling quality score.
#[utoipa::path(get, path = "/api/v1/catalogue/resources/{classification}/{sequence}/batches",
    params(("classification" = String, Path), ("sequence" = String, Path), PageParams),
    responses((status = 200, body = BatchesDto), (status = 404)))]
pub async fn resource_batches(
    State(state): State<AppState>,
    parts: Parts,
    Path((classification, sequence)): Path<(String, String)>,
    Query(page): Query<PageParams>,
) -> Result<Json<BatchesDto>, ApiError> {
    super::government_caller(&state, &parts, "the resource catalogue is").await?;
    let code = resource_code(&classification, &sequence)?;
    if state.catalogue.resource(&code, None).await?.is_none() {
        return Err(ApiError::not_found("resource"));
    }
    let found = state.datasets.batches(&code, page.request()).await?;
    Ok(Json(BatchesDto {
        rolling_score: rolling_score(&state, &code).await?,
        batches: PageDto::from_page(found, |batch| BatchDto::from(&batch)),
    }))
}

/// A batch's problems, by row. Their values may be personal data, so only the city
/// administrator and the providing department's data officers (or its systems, with
/// `catalogue:write`) see them; to anyone else the batch does not exist.
#[utoipa::path(get, path = "/api/v1/datasets/batches/{batch_id}/problems",
    params(("batch_id" = String, Path), PageParams),
    responses((status = 200, body = PageDto<ProblemDto>), (status = 404)))]
pub async fn batch_problems(
    State(state): State<AppState>,
    parts: Parts,
    Path(batch_id): Path<String>,
    Query(page): Query<PageParams>,
) -> Result<Json<PageDto<ProblemDto>>, ApiError> {
    let principal = super::government_caller(&state, &parts, "the resource catalogue is").await?;
    let batch = state.datasets.batch(&batch_id).await?;
    let allowed = batch
        .as_ref()
        .is_some_and(|batch| may_publish(&principal, &batch.provider));
    let event = huimin_domain::audit::AuditEvent {
        outcome: if allowed {
            Outcome::Allowed
        } else {
            Outcome::Denied
        },
        ..principal
            .actor(&parts)
            .event("batch.problems", "batch", batch_id.as_str())
    };
    state
        .audit
        .append_audit(&[event], state.clock.now())
        .await?;
    let Some(batch) = batch.filter(|_| allowed) else {
        return Err(ApiError::not_found("batch"));
    };
    let found = state
        .datasets
        .batch_problems(&batch.batch_id, page.request())
        .await?;
    Ok(Json(PageDto::from_page(found, ProblemDto::from)))
}

impl From<huimin_domain::dataset::RowProblem> for ProblemDto {
    fn from(problem: huimin_domain::dataset::RowProblem) -> Self {
        ProblemDto {
            row: problem.row,
            column: problem.problem.column,
            value: problem.problem.value,
            code: problem.problem.code,
            message: problem.problem.message,
            message_zh: problem.problem.message_zh,
        }
    }
}
