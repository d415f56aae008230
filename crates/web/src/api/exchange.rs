//! The consumer API of the exchange (数据共享交换): a department fetches a subject's
//! records of a resource, looks several subjects up at once, or asks a yes-or-no
//! verification question — each time under a grant.
//!
//! Every call states its purpose (`X-Purpose: KIND REFERENCE`) and is checked against the
//! consumer's grants for the resource: granted and not revoked, not past its last day, the
//! purpose's kind the grant's, the items within the grant's, and the grant's rate. Only
//! granted items leave. Every subject returned is recorded in the audit log with the
//! purpose before the answer leaves, so residents see the use on their data-access page;
//! a refusal is recorded as denied.

use crate::error::{ApiError, ApiJson};
use crate::session::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use huimin_domain::access::Purpose;
use huimin_domain::audit::{Actor, AuditEvent, Outcome};
use huimin_domain::catalogue::{DepartmentId, IdentifierType, Resource, ResourceCode, SubjectKind};
use huimin_domain::dataset::StoredRecord;
use huimin_domain::identifiers::{CitizenId, CreditCode};
use huimin_domain::registry::FieldError;
use huimin_domain::sharing::{
    ExchangeRead, GrantRefusal, Question, SharingRequest, TokenBucket, choose_grant,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// The scope a department system's token needs to consume shared data.
pub const EXCHANGE_READ: &str = "exchange:read";

/// A consumer department acting through a person or a system, with its purpose.
struct Consumer {
    department: DepartmentId,
    purpose: Purpose,
    actor: Actor,
}

impl Consumer {
    async fn of(state: &AppState, parts: &Parts) -> Result<Consumer, ApiError> {
        let principal: Principal =
            super::government_caller(state, parts, "the exchange is").await?;
        if principal
            .token_scopes
            .as_ref()
            .is_some_and(|scopes| !scopes.iter().any(|scope| scope == EXCHANGE_READ))
        {
            return Err(ApiError::Forbidden(format!(
                "this token lacks the scope {EXCHANGE_READ}"
            )));
        }
        let held = super::sharing::departments_of(&principal);
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::trim)
                .filter(|text| !text.is_empty())
        };
        let department = match (header("x-consumer"), held.len()) {
            (Some(chosen), _) if held.contains(chosen) => chosen.to_owned(),
            (Some(chosen), _) => {
                return Err(ApiError::Forbidden(format!("you do not act for {chosen}")));
            }
            (None, 1) => held.iter().next().cloned().unwrap_or_default(),
            (None, 0) => {
                return Err(ApiError::Forbidden(
                    "the exchange serves departments; your roles name none".to_owned(),
                ));
            }
            (None, _) => {
                return Err(ApiError::BadRequest {
                    code: "consumer_required",
                    message: format!(
                        "you act for {}; name the consumer in the X-Consumer header",
                        held.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        };
        let department = DepartmentId::parse(&department)
            .map_err(|_| ApiError::Forbidden("your role names no valid department".to_owned()))?;
        let Some(stated) = header("x-purpose") else {
            return Err(ApiError::field(FieldError::new(
                "purpose",
                "",
                "required",
                "state the purpose in the X-Purpose header, KIND REFERENCE (e.g. household_check 2026-0042)".to_owned(),
                "请在 X-Purpose 请求头中说明用途，格式为“类型 编号”".to_owned(),
            )));
        };
        let purpose = Purpose::parse(stated, &state.config.purposes).map_err(|message| {
            ApiError::field(FieldError::new(
                "purpose",
                stated,
                "invalid_purpose",
                &message,
                format!("用途无效：{message}"),
            ))
        })?;
        let mut actor = principal.actor(parts);
        actor.purpose = purpose.text();
        Ok(Consumer {
            department,
            purpose,
            actor,
        })
    }

    fn event(
        &self,
        action: &str,
        resource: &ResourceCode,
        subject: &str,
        outcome: Outcome,
        detail: String,
    ) -> AuditEvent {
        AuditEvent {
            subject: subject.to_owned(),
            outcome,
            detail,
            ..self.actor.event(action, "resource", resource.as_str())
        }
    }

    /// Reads what the call needs in one store call; the resource must be catalogued.
    async fn read(
        &self,
        state: &AppState,
        code: &ResourceCode,
        subjects: &[String],
    ) -> Result<ExchangeRead, ApiError> {
        state
            .sharing
            .exchange_read(&self.department, code, subjects)
            .await?
            .ok_or_else(|| ApiError::not_found("resource"))
    }

    /// Checks the grants read and the rate for `subjects`; a refusal is audited as denied.
    async fn authorize(
        &self,
        state: &AppState,
        read: &ExchangeRead,
        wanted: &[String],
        subjects: &[String],
        action: &str,
    ) -> Result<(SharingRequest, Vec<usize>), ApiError> {
        let resource = &read.resource.resource;
        let today = state.clock.today();
        let outcome = choose_grant(&read.grants, resource, wanted, &self.purpose, today)
            .map(|(grant, positions)| (grant.clone(), positions));
        let refusal = match outcome {
            Ok((grant, positions)) => {
                let cost = u32::try_from(subjects.len()).unwrap_or(u32::MAX).max(1);
                let now = state.clock.now();
                let taken = {
                    let mut buckets = state
                        .rate_limits
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    buckets
                        .entry(grant.id)
                        .or_insert_with(|| TokenBucket::new(grant.terms.rate_per_minute, now))
                        .take(cost, now)
                };
                match taken {
                    Ok(()) => return Ok((grant, positions)),
                    Err(retry_after) => {
                        self.deny(
                            state,
                            action,
                            &resource.code,
                            subjects,
                            format!(
                                "grant {}: over its rate of {} a minute",
                                grant.id, grant.terms.rate_per_minute
                            ),
                        )
                        .await?;
                        return Err(ApiError::TooManyRequests {
                            message: format!(
                                "grant {} allows {} requests a minute; retry in {retry_after} s",
                                grant.id, grant.terms.rate_per_minute
                            ),
                            retry_after,
                        });
                    }
                }
            }
            Err(refusal) => refusal,
        };
        self.deny(state, action, &resource.code, subjects, refusal.to_string())
            .await?;
        Err(ApiError::Forbidden(match refusal {
            GrantRefusal::NoGrant => format!(
                "{} holds no grant for {}; request it at POST /api/v1/sharing/requests",
                self.department, resource.code
            ),
            other => other.to_string(),
        }))
    }

    async fn deny(
        &self,
        state: &AppState,
        action: &str,
        code: &ResourceCode,
        subjects: &[String],
        why: String,
    ) -> Result<(), ApiError> {
        let events: Vec<AuditEvent> = if subjects.is_empty() {
            vec![self.event(action, code, "", Outcome::Denied, why)]
        } else {
            subjects
                .iter()
                .map(|subject| self.event(action, code, subject, Outcome::Denied, why.clone()))
                .collect()
        };
        state.audit.append_audit(&events, state.clock.now()).await?;
        Ok(())
    }
}

/// One record as the grant lets it leave: granted items only, with its provenance.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExchangeRecordDto {
    pub key: String,
    /// Item name → value (null when empty), granted items only.
    #[schema(value_type = Object)]
    pub values: BTreeMap<String, Option<String>>,
    /// The batch that last changed the record.
    pub batch_id: String,
    pub provider: String,
    /// RFC 3339 in +08:00.
    pub recorded_at: String,
}

/// A subject's records of one resource.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubjectRecordsDto {
    pub resource: String,
    pub resource_version: u32,
    pub subject: String,
    /// The grant the records were released under.
    pub grant: u64,
    pub items: Vec<String>,
    pub records: Vec<ExchangeRecordDto>,
}

fn record_dto(resource: &Resource, positions: &[usize], record: StoredRecord) -> ExchangeRecordDto {
    ExchangeRecordDto {
        values: positions
            .iter()
            .map(|&position| {
                (
                    resource.items[position].name.clone(),
                    record.values.get(position).cloned().flatten(),
                )
            })
            .collect(),
        key: record.key,
        batch_id: record.batch_id,
        provider: record.provider.to_string(),
        recorded_at: super::shanghai_rfc3339(record.recorded_at),
    }
}

/// A subject as the resource stores it: identity numbers and credit codes checked and in
/// their canonical form.
fn subject_key(resource: &Resource, field: &'static str, text: &str) -> Result<String, ApiError> {
    let text = text.trim();
    let identifier = resource
        .subject_item
        .as_deref()
        .and_then(|name| resource.item(name))
        .and_then(|item| item.identifier);
    Ok(match (resource.subject, identifier) {
        (SubjectKind::Person, _) | (_, Some(IdentifierType::CitizenId)) => {
            super::parse_path(field, text, CitizenId::parse)?
                .as_str()
                .to_owned()
        }
        (SubjectKind::Entity, _) | (_, Some(IdentifierType::CreditCode)) => {
            super::parse_path(field, text, CreditCode::parse)?
                .as_str()
                .to_owned()
        }
        _ if text.is_empty() => return Err(ApiError::field(FieldError::missing(field))),
        _ => text.to_owned(),
    })
}

/// A subject in its canonical form before the resource says which identifier it holds:
/// an identity number or a credit code if it parses as one, else the text. The read it
/// keys is checked against the resource afterwards ([`subject_key`]).
fn likely_subject(text: &str) -> String {
    let text = text.trim();
    CitizenId::parse(text)
        .map(|id| id.as_str().to_owned())
        .or_else(|_| CreditCode::parse(text).map(|code| code.as_str().to_owned()))
        .unwrap_or_else(|_| text.to_owned())
}

/// Reads for the subjects as given, then checks them against the resource's subject
/// identifier (422 naming `field`); reads again in the rare case the check canonicalises
/// a subject otherwise.
async fn read_for(
    state: &AppState,
    consumer: &Consumer,
    code: &ResourceCode,
    given: &[String],
    field: &'static str,
) -> Result<(ExchangeRead, Vec<String>), ApiError> {
    let likely: Vec<String> = given.iter().map(|text| likely_subject(text)).collect();
    let read = consumer.read(state, code, &likely).await?;
    let mut subjects = Vec::with_capacity(given.len());
    let mut errors = Vec::new();
    for text in given {
        match subject_key(&read.resource.resource, field, text) {
            Ok(subject) => subjects.push(subject),
            Err(ApiError::Validation(found)) => errors.extend(found),
            Err(other) => return Err(other),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if subjects == likely {
        Ok((read, subjects))
    } else {
        Ok((consumer.read(state, code, &subjects).await?, subjects))
    }
}

fn items_param(items: Option<&str>) -> Vec<String> {
    items
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemsParams {
    /// Comma-separated item names; all granted items when absent.
    pub items: Option<String>,
}

/// A subject's records of a resource, under the consumer's grant.
#[utoipa::path(get, path = "/api/v1/exchange/resources/{classification}/{sequence}/subjects/{subject}",
    params(("classification" = String, Path), ("sequence" = String, Path), ("subject" = String, Path),
           ItemsParams,
           ("X-Purpose" = String, Header, description = "KIND REFERENCE, e.g. household_check 2026-0042"),
           ("X-Consumer" = Option<String>, Header, description = "the consumer department, for callers acting for several")),
    responses((status = 200, body = SubjectRecordsDto), (status = 403, description = "no grant permits it"),
              (status = 404), (status = 422), (status = 429, description = "over the grant's rate")))]
pub async fn subject_records(
    State(state): State<AppState>,
    parts: Parts,
    Path((classification, sequence, subject)): Path<(String, String, String)>,
    Query(params): Query<ItemsParams>,
) -> Result<Json<SubjectRecordsDto>, ApiError> {
    let consumer = Consumer::of(&state, &parts).await?;
    let code = super::catalogue::resource_code(&classification, &sequence)?;
    let (mut read, subjects) = read_for(&state, &consumer, &code, &[subject], "subject").await?;
    let wanted = items_param(params.items.as_deref());
    let (grant, positions) = consumer
        .authorize(&state, &read, &wanted, &subjects, "exchange.read")
        .await?;
    let records = read.records.pop().unwrap_or_default();
    let published = &read.resource;
    let resource = &published.resource;
    let subject = subjects.into_iter().next().unwrap_or_default();
    let detail = format!("grant {}: {} record(s)", grant.id, records.len());
    let event = consumer.event(
        "exchange.read",
        &resource.code,
        &subject,
        Outcome::Allowed,
        detail,
    );
    state
        .audit
        .append_audit(&[event], state.clock.now())
        .await?;
    Ok(Json(SubjectRecordsDto {
        resource: resource.code.to_string(),
        resource_version: published.version,
        items: positions
            .iter()
            .map(|&position| resource.items[position].name.clone())
            .collect(),
        records: records
            .into_iter()
            .map(|record| record_dto(resource, &positions, record))
            .collect(),
        subject,
        grant: grant.id,
    }))
}

/// A batch look-up: several subjects of one resource.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LookupInputDto {
    /// The subjects (identity numbers, credit codes …), at most the configured limit.
    pub subjects: Vec<String>,
    /// Item names; all granted items when empty.
    pub items: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LookupResultDto {
    pub subject: String,
    pub records: Vec<ExchangeRecordDto>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LookupDto {
    pub resource: String,
    pub resource_version: u32,
    pub grant: u64,
    pub items: Vec<String>,
    /// In the order asked, each subject once.
    pub results: Vec<LookupResultDto>,
}

/// Several subjects' records of a resource at once; each subject counts against the
/// grant's rate.
#[utoipa::path(post, path = "/api/v1/exchange/resources/{classification}/{sequence}/lookups",
    params(("classification" = String, Path), ("sequence" = String, Path),
           ("X-Purpose" = String, Header, description = "KIND REFERENCE"),
           ("X-Consumer" = Option<String>, Header)),
    request_body = LookupInputDto,
    responses((status = 200, body = LookupDto), (status = 403), (status = 404), (status = 422), (status = 429)))]
pub async fn lookup(
    State(state): State<AppState>,
    parts: Parts,
    Path((classification, sequence)): Path<(String, String)>,
    ApiJson(input): ApiJson<LookupInputDto>,
) -> Result<Json<LookupDto>, ApiError> {
    let consumer = Consumer::of(&state, &parts).await?;
    let code = super::catalogue::resource_code(&classification, &sequence)?;
    let limit = state.config.exchange_batch_limit;
    if input.subjects.is_empty() {
        return Err(ApiError::field(FieldError::missing("subjects")));
    }
    if input.subjects.len() > limit {
        return Err(ApiError::field(FieldError::new(
            "subjects",
            &input.subjects.len().to_string(),
            "too_many",
            format!("a look-up names at most {limit} subjects; split it"),
            format!("一次最多查询 {limit} 个主体"),
        )));
    }
    // Each subject once, in the order first asked.
    let mut given: Vec<String> = Vec::with_capacity(input.subjects.len());
    let mut seen = std::collections::HashSet::new();
    for text in &input.subjects {
        if seen.insert(likely_subject(text)) {
            given.push(text.clone());
        }
    }
    let (read, subjects) = read_for(&state, &consumer, &code, &given, "subjects").await?;
    let (grant, positions) = consumer
        .authorize(&state, &read, &input.items, &subjects, "exchange.lookup")
        .await?;
    let published = &read.resource;
    let resource = &published.resource;
    let mut results = Vec::with_capacity(subjects.len());
    let mut events = Vec::with_capacity(subjects.len());
    for (subject, records) in subjects.into_iter().zip(read.records.iter().cloned()) {
        events.push(consumer.event(
            "exchange.lookup",
            &resource.code,
            &subject,
            Outcome::Allowed,
            format!("grant {}: {} record(s)", grant.id, records.len()),
        ));
        results.push(LookupResultDto {
            records: records
                .into_iter()
                .map(|record| record_dto(resource, &positions, record))
                .collect(),
            subject,
        });
    }
    state.audit.append_audit(&events, state.clock.now()).await?;
    Ok(Json(LookupDto {
        resource: resource.code.to_string(),
        resource_version: published.version,
        grant: grant.id,
        items: positions
            .iter()
            .map(|&position| resource.items[position].name.clone())
            .collect(),
        results,
    }))
}

/// A verification's answer: yes, no, or unknown (no such person in the registry).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VerificationDto {
    /// alive, owns_more_than_one_house, legal_representative.
    pub question: String,
    pub question_zh: String,
    pub subject: String,
    /// yes, no, unknown.
    pub answer: String,
    /// The authoritative resource the grant is for.
    pub source: String,
    pub grant: u64,
}

/// A yes-or-no question about a person, answered from the base registries without
/// disclosing any value. Needs a grant to the authoritative resource of the registry
/// field the question reads, covering the item that feeds it.
#[utoipa::path(get, path = "/api/v1/exchange/verifications/{question}/{citizen_id}",
    params(("question" = String, Path, description = "alive, owns_more_than_one_house, legal_representative"),
           ("citizen_id" = String, Path),
           ("X-Purpose" = String, Header, description = "KIND REFERENCE"),
           ("X-Consumer" = Option<String>, Header)),
    responses((status = 200, body = VerificationDto), (status = 403), (status = 404), (status = 409, description = "the field has no authoritative source"), (status = 422), (status = 429)))]
pub async fn verify(
    State(state): State<AppState>,
    parts: Parts,
    Path((question, citizen_id)): Path<(String, String)>,
) -> Result<Json<VerificationDto>, ApiError> {
    let Some(question) = Question::parse(question.trim()) else {
        return Err(ApiError::not_found("verification question"));
    };
    let consumer = Consumer::of(&state, &parts).await?;
    let citizen_id = super::persons::parse_citizen_id(&citizen_id)?;
    let field = question.field();
    let sources = state.catalogue.authoritative_sources().await?;
    let Some((_, code)) = sources
        .iter()
        .find(|(source_field, _)| *source_field == field)
    else {
        return Err(ApiError::Conflict(format!(
            "the catalogue names no authoritative source of {}; the question cannot be answered",
            field.code()
        )));
    };
    let read = consumer.read(&state, code, &[]).await?;
    let resource = &read.resource.resource;
    let item = huimin_domain::sharing::feeding_item(resource, field)
        .unwrap_or_default()
        .to_owned();
    let subjects = [citizen_id.as_str().to_owned()];
    let (grant, _) = consumer
        .authorize(
            &state,
            &read,
            std::slice::from_ref(&item),
            &subjects,
            "exchange.verify",
        )
        .await?;
    let person = state.store.person(&citizen_id, None).await?;
    let links = match &person {
        Some(_) => state.store.person_links(&citizen_id).await?,
        None => huimin_domain::storage::PersonLinks::default(),
    };
    let answer = question.answer(person.as_ref().map(|versioned| &versioned.record), &links);
    let event = consumer.event(
        "exchange.verify",
        &resource.code,
        citizen_id.as_str(),
        Outcome::Allowed,
        format!(
            "grant {}: {} = {}",
            grant.id,
            question.code(),
            answer.code()
        ),
    );
    state
        .audit
        .append_audit(&[event], state.clock.now())
        .await?;
    Ok(Json(VerificationDto {
        question: question.code().to_owned(),
        question_zh: question.label_zh().to_owned(),
        subject: citizen_id.as_str().to_owned(),
        answer: answer.code().to_owned(),
        source: resource.code.to_string(),
        grant: grant.id,
    }))
}
