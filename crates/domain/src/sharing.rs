//! Sharing requests and grants (共享申请与授权): a consumer department asks for chosen
//! items of a catalogued resource, for a purpose, under a legal basis, for a period. The
//! resource's sharing type decides what happens on arrival — unconditional resources are
//! granted at once, conditional ones wait for the provider's decision within a deadline
//! counted in Chinese working days, resources that are not shared are refused with their
//! reason. A grant is then the policy every exchange request is checked against: its
//! items, its purpose, its expiry and its rate.
//!
//! Verification questions (核验) answer yes or no from the base registries without
//! disclosing a value; each needs a grant to the resource that is the authoritative
//! source of the registry field it reads (一数一源).

use crate::access::Purpose;
use crate::calendar::{CalendarError, WorkingCalendar};
use crate::catalogue::{DepartmentId, RegistryField, Resource, ResourceCode, Sharing, SubjectKind};
use crate::registry::{FieldError, LifeStatus, Person};
use crate::storage::PersonLinks;
use chrono::{DateTime, Days, NaiveDate, Utc};

/// The longest period a grant may run, from the day it is requested.
pub const MAX_GRANT_DAYS: u64 = 3 * 366;
/// The rate a grant allows when the request names none, in requests per minute.
pub const DEFAULT_RATE_PER_MINUTE: u32 = 600;
/// The highest rate a grant may allow, in requests per minute.
pub const MAX_RATE_PER_MINUTE: u32 = 600_000;
/// The provider's deadline for a conditional request, in working days, unless the city
/// configures another.
pub const DEFAULT_DECISION_DAYS: u32 = 5;
const TEXT_LIMIT: usize = 500;

/// A sharing request as a form or an API body gives it, unvalidated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestDraft {
    /// The consumer department's id.
    pub consumer: String,
    /// The items wanted, by name; at least one.
    pub items: Vec<String>,
    /// The kind of purpose, one of the city's configured kinds, e.g. `household_check`.
    pub purpose: String,
    /// 共享依据 on the consumer's side: the duty the data serves.
    pub legal_basis: String,
    /// The last day (Asia/Shanghai) the grant may be used, `YYYY-MM-DD`.
    pub valid_until: String,
    /// Requests per minute; [`DEFAULT_RATE_PER_MINUTE`] when `None`.
    pub rate_per_minute: Option<u32>,
    /// How long the consumer keeps what it receives, and how it disposes of it.
    pub retention: String,
}

/// A validated sharing request for one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTerms {
    pub consumer: DepartmentId,
    pub resource: ResourceCode,
    /// In the resource's order, each once.
    pub items: Vec<String>,
    pub purpose: String,
    pub legal_basis: String,
    pub valid_until: NaiveDate,
    pub rate_per_minute: u32,
    pub retention: String,
}

fn text_field(errors: &mut Vec<FieldError>, field: &'static str, value: &str) -> String {
    let value = value.trim();
    if value.is_empty() {
        errors.push(FieldError::missing(field));
    } else if value.chars().count() > TEXT_LIMIT {
        errors.push(FieldError::new(
            field,
            value,
            "too_long",
            format!("{field} may have at most {TEXT_LIMIT} characters"),
            format!("{field} 最多 {TEXT_LIMIT} 个字符"),
        ));
    }
    value.to_owned()
}

impl RequestDraft {
    /// Checks the request against the resource it asks for, the city's purposes and
    /// today's date; every wrong field is named.
    pub fn validate(
        self,
        resource: &Resource,
        purposes: &[String],
        today: NaiveDate,
    ) -> Result<RequestTerms, Vec<FieldError>> {
        let mut errors = Vec::new();
        let consumer = match DepartmentId::parse(&self.consumer) {
            Ok(id) if id == resource.provider => {
                errors.push(FieldError::new(
                    "consumer",
                    &self.consumer,
                    "own_resource",
                    format!(
                        "{id} provides {} itself; a department needs no grant for its own data",
                        resource.code
                    ),
                    format!(
                        "{id} 是 {} 的提供部门，使用本部门数据无需申请",
                        resource.code
                    ),
                ));
                None
            }
            Ok(id) => Some(id),
            Err(message) => {
                errors.push(FieldError::new(
                    "consumer",
                    &self.consumer,
                    "invalid_department",
                    message,
                    "部门标识无效".to_owned(),
                ));
                None
            }
        };
        if resource.subject == SubjectKind::None {
            errors.push(FieldError::new(
                "resource",
                resource.code.as_str(),
                "no_subject",
                format!(
                    "{} has no subject; the exchange serves records by subject (person, entity or house)",
                    resource.code
                ),
                format!("{} 没有主体项，交换接口按主体提供数据", resource.code),
            ));
        }
        let unknown: Vec<&str> = self
            .items
            .iter()
            .map(|name| name.trim())
            .filter(|name| resource.item(name).is_none())
            .collect();
        if self.items.is_empty() {
            errors.push(FieldError::missing("items"));
        } else if !unknown.is_empty() {
            let known: Vec<&str> = resource
                .items
                .iter()
                .map(|item| item.name.as_str())
                .collect();
            errors.push(FieldError::new(
                "items",
                &unknown.join(","),
                "unknown_item",
                format!(
                    "{} has no item {}; its items are {}",
                    resource.code,
                    unknown.join(", "),
                    known.join(", ")
                ),
                format!("{} 没有信息项 {}", resource.code, unknown.join("、")),
            ));
        }
        let items: Vec<String> = resource
            .items
            .iter()
            .filter(|item| self.items.iter().any(|name| name.trim() == item.name))
            .map(|item| item.name.clone())
            .collect();
        let purpose = self.purpose.trim().to_owned();
        if purpose.is_empty() {
            errors.push(FieldError::missing("purpose"));
        } else if !purposes.contains(&purpose) {
            errors.push(FieldError::not_one_of(
                "purpose",
                &purpose,
                &purposes.iter().map(String::as_str).collect::<Vec<_>>(),
            ));
        }
        let legal_basis = text_field(&mut errors, "legal_basis", &self.legal_basis);
        let retention = text_field(&mut errors, "retention", &self.retention);
        let latest = today.checked_add_days(Days::new(MAX_GRANT_DAYS));
        let valid_until = match NaiveDate::parse_from_str(self.valid_until.trim(), "%Y-%m-%d") {
            Ok(date) if date < today => {
                errors.push(FieldError::new(
                    "valid_until",
                    &self.valid_until,
                    "in_the_past",
                    format!("valid_until must be today ({today}) or later"),
                    format!("有效期不得早于今天（{today}）"),
                ));
                None
            }
            Ok(date) if latest.is_some_and(|latest| date > latest) => {
                errors.push(FieldError::new(
                    "valid_until",
                    &self.valid_until,
                    "too_long",
                    format!(
                        "a grant runs at most {MAX_GRANT_DAYS} days, until {}",
                        latest.unwrap_or(today)
                    ),
                    format!("授权期限最长 {MAX_GRANT_DAYS} 天"),
                ));
                None
            }
            Ok(date) => Some(date),
            Err(_) if self.valid_until.trim().is_empty() => {
                errors.push(FieldError::missing("valid_until"));
                None
            }
            Err(_) => {
                errors.push(FieldError::new(
                    "valid_until",
                    &self.valid_until,
                    "invalid_date",
                    "valid_until must be a date, YYYY-MM-DD".to_owned(),
                    "有效期应为日期，格式 YYYY-MM-DD".to_owned(),
                ));
                None
            }
        };
        let rate_per_minute = self.rate_per_minute.unwrap_or(DEFAULT_RATE_PER_MINUTE);
        if !(1..=MAX_RATE_PER_MINUTE).contains(&rate_per_minute) {
            errors.push(FieldError::new(
                "rate_per_minute",
                &rate_per_minute.to_string(),
                "out_of_range",
                format!("rate_per_minute must be between 1 and {MAX_RATE_PER_MINUTE}"),
                format!("每分钟请求数应在 1 到 {MAX_RATE_PER_MINUTE} 之间"),
            ));
        }
        match (consumer, valid_until) {
            (Some(consumer), Some(valid_until)) if errors.is_empty() => Ok(RequestTerms {
                consumer,
                resource: resource.code.clone(),
                items,
                purpose,
                legal_basis,
                valid_until,
                rate_per_minute,
                retention,
            }),
            _ => Err(errors),
        }
    }
}

/// Where a request stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Waiting for the provider, who must decide by the end of `deadline`.
    Pending {
        deadline: NaiveDate,
    },
    Granted,
    Refused {
        reason: String,
    },
    /// A grant withdrawn by the provider (or the city administrator).
    Revoked {
        reason: String,
    },
}

impl Status {
    pub fn code(&self) -> &'static str {
        match self {
            Status::Pending { .. } => "pending",
            Status::Granted => "granted",
            Status::Refused { .. } => "refused",
            Status::Revoked { .. } => "revoked",
        }
    }

    pub fn label_zh(&self) -> &'static str {
        match self {
            Status::Pending { .. } => "待审核",
            Status::Granted => "已授权",
            Status::Refused { .. } => "不予共享",
            Status::Revoked { .. } => "已撤销",
        }
    }

    /// The refusal's or revocation's reason; empty otherwise.
    pub fn reason(&self) -> &str {
        match self {
            Status::Refused { reason } | Status::Revoked { reason } => reason,
            Status::Pending { .. } | Status::Granted => "",
        }
    }

    /// A stored status back from its code, deadline and reason.
    pub fn from_parts(code: &str, deadline: Option<NaiveDate>, reason: &str) -> Option<Status> {
        Some(match (code, deadline) {
            ("pending", Some(deadline)) => Status::Pending { deadline },
            ("granted", _) => Status::Granted,
            ("refused", _) => Status::Refused {
                reason: reason.to_owned(),
            },
            ("revoked", _) => Status::Revoked {
                reason: reason.to_owned(),
            },
            _ => return None,
        })
    }
}

/// What a request's arrival decides from the resource's sharing type: granted at once,
/// waiting for the provider until `decision_days` working days after `today`, or refused
/// with the resource's reason.
pub fn on_arrival(
    resource: &Resource,
    today: NaiveDate,
    calendar: &WorkingCalendar,
    decision_days: u32,
) -> Result<Status, CalendarError> {
    Ok(match &resource.sharing {
        Sharing::Unconditional => Status::Granted,
        Sharing::Conditional { .. } => Status::Pending {
            deadline: calendar.add_working_days(today, decision_days)?,
        },
        Sharing::NotShared { reason } => Status::Refused {
            reason: format!("{}（{}）", reason, resource.legal_basis),
        },
    })
}

/// A stored sharing request, with its decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharingRequest {
    pub id: u64,
    pub terms: RequestTerms,
    /// The provider of the resource when the request was made.
    pub provider: DepartmentId,
    /// The catalogue version the request was made against.
    pub resource_version: u32,
    pub requested_at: DateTime<Utc>,
    pub requested_by: String,
    pub status: Status,
    /// When and by whom it was last decided (granted, refused, revoked); a request
    /// granted or refused on arrival is decided by `system`.
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
}

/// What one exchange call needs, read together: the resource's current version, the
/// consumer's grants for it, and each asked subject's records (in the order asked).
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeRead {
    pub resource: crate::catalogue::PublishedResource,
    pub grants: Vec<SharingRequest>,
    pub records: Vec<Vec<crate::dataset::StoredRecord>>,
}

/// What a provider answers to a pending request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Grant,
    Refuse { reason: String },
}

/// Why a request cannot move as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("request {id} is {status}, not pending; only a pending request is decided")]
    NotPending { id: u64, status: &'static str },
    #[error("request {id} is {status}, not granted; only a grant is revoked")]
    NotGranted { id: u64, status: &'static str },
    #[error("a refusal or revocation needs its reason")]
    NoReason,
}

impl SharingRequest {
    /// The status a provider's decision leads to.
    pub fn decide(&self, decision: Decision) -> Result<Status, TransitionError> {
        if !matches!(self.status, Status::Pending { .. }) {
            return Err(TransitionError::NotPending {
                id: self.id,
                status: self.status.code(),
            });
        }
        match decision {
            Decision::Grant => Ok(Status::Granted),
            Decision::Refuse { reason } if reason.trim().is_empty() => {
                Err(TransitionError::NoReason)
            }
            Decision::Refuse { reason } => Ok(Status::Refused {
                reason: reason.trim().to_owned(),
            }),
        }
    }

    /// The status revoking the grant leads to.
    pub fn revoke(&self, reason: &str) -> Result<Status, TransitionError> {
        if self.status != Status::Granted {
            return Err(TransitionError::NotGranted {
                id: self.id,
                status: self.status.code(),
            });
        }
        if reason.trim().is_empty() {
            return Err(TransitionError::NoReason);
        }
        Ok(Status::Revoked {
            reason: reason.trim().to_owned(),
        })
    }

    /// A pending request past its deadline on `today`.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        matches!(self.status, Status::Pending { deadline } if today > deadline)
    }

    /// A grant past its last day on `today`.
    pub fn is_expired(&self, today: NaiveDate) -> bool {
        self.status == Status::Granted && today > self.terms.valid_until
    }

    /// Whether this grant lets its consumer read `wanted` items (all granted items when
    /// empty) of `resource` for `purpose` on `today`. Returns the positions, in the
    /// resource's items, of what may be returned.
    pub fn permits(
        &self,
        resource: &Resource,
        wanted: &[String],
        purpose: &Purpose,
        today: NaiveDate,
    ) -> Result<Vec<usize>, GrantRefusal> {
        if self.status != Status::Granted {
            return Err(GrantRefusal::NotGranted {
                id: self.id,
                status: self.status.code(),
            });
        }
        if today > self.terms.valid_until {
            return Err(GrantRefusal::Expired {
                id: self.id,
                until: self.terms.valid_until,
            });
        }
        if purpose.kind != self.terms.purpose {
            return Err(GrantRefusal::WrongPurpose {
                granted: self.terms.purpose.clone(),
                stated: purpose.kind.clone(),
            });
        }
        let wanted: Vec<&str> = if wanted.is_empty() {
            self.terms.items.iter().map(String::as_str).collect()
        } else {
            wanted.iter().map(|name| name.trim()).collect()
        };
        let outside: Vec<String> = wanted
            .iter()
            .filter(|name| !self.terms.items.iter().any(|granted| granted == *name))
            .map(|name| (*name).to_owned())
            .collect();
        if !outside.is_empty() {
            return Err(GrantRefusal::ItemsNotGranted {
                items: outside,
                granted: self.terms.items.clone(),
            });
        }
        Ok(resource
            .items
            .iter()
            .enumerate()
            .filter(|(_, item)| wanted.contains(&item.name.as_str()))
            .map(|(position, _)| position)
            .collect())
    }
}

/// Why an exchange request is refused by its grant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantRefusal {
    #[error("no grant: the consumer holds no granted request for this resource")]
    NoGrant,
    #[error("request {id} is {status}, not granted")]
    NotGranted { id: u64, status: &'static str },
    #[error("grant {id} expired after {until}")]
    Expired { id: u64, until: NaiveDate },
    #[error("the grant is for the purpose '{granted}', not '{stated}'")]
    WrongPurpose { granted: String, stated: String },
    #[error("the grant does not cover {}; it covers {}", items.join(", "), granted.join(", "))]
    ItemsNotGranted {
        items: Vec<String>,
        granted: Vec<String>,
    },
}

/// Picks, among a consumer's requests for one resource, the grant that permits the
/// exchange; when none does, the most telling refusal (a wrong purpose or items outside
/// a live grant before an expired or ungranted request).
pub fn choose_grant<'a>(
    requests: &'a [SharingRequest],
    resource: &Resource,
    wanted: &[String],
    purpose: &Purpose,
    today: NaiveDate,
) -> Result<(&'a SharingRequest, Vec<usize>), GrantRefusal> {
    let mut best: Option<(u8, GrantRefusal)> = None;
    for request in requests {
        match request.permits(resource, wanted, purpose, today) {
            Ok(positions) => return Ok((request, positions)),
            Err(refusal) => {
                let rank = match refusal {
                    GrantRefusal::ItemsNotGranted { .. } => 4,
                    GrantRefusal::WrongPurpose { .. } => 3,
                    GrantRefusal::Expired { .. } => 2,
                    GrantRefusal::NotGranted { .. } | GrantRefusal::NoGrant => 1,
                };
                if best.as_ref().is_none_or(|(held, _)| rank > *held) {
                    best = Some((rank, refusal));
                }
            }
        }
    }
    Err(best.map_or(GrantRefusal::NoGrant, |(_, refusal)| refusal))
}

/// A grant's rate limit: a bucket of `rate_per_minute` requests that refills evenly over
/// the minute. Kept per grant by the server.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    tokens: f64,
    per_second: f64,
    last: DateTime<Utc>,
}

impl TokenBucket {
    pub fn new(rate_per_minute: u32, now: DateTime<Utc>) -> TokenBucket {
        let capacity = f64::from(rate_per_minute.max(1));
        TokenBucket {
            capacity,
            tokens: capacity,
            per_second: capacity / 60.0,
            last: now,
        }
    }

    /// Takes `cost` requests' worth; when the bucket holds too few, takes nothing and
    /// says how many whole seconds until it would hold enough.
    pub fn take(&mut self, cost: u32, now: DateTime<Utc>) -> Result<(), u64> {
        let elapsed = (now - self.last)
            .num_microseconds()
            .unwrap_or(i64::MAX)
            .max(0);
        #[allow(clippy::cast_precision_loss)]
        let refill = elapsed as f64 / 1e6 * self.per_second;
        self.tokens = (self.tokens + refill).min(self.capacity);
        self.last = now;
        let cost = f64::from(cost);
        if cost > self.capacity {
            return Err(60);
        }
        if self.tokens >= cost {
            self.tokens -= cost;
            Ok(())
        } else {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let wait = ((cost - self.tokens) / self.per_second).ceil() as u64;
            Err(wait.max(1))
        }
    }
}

/// The yes-or-no questions the exchange answers without disclosing values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question {
    /// 是否健在: the population registry's life status is "alive".
    Alive,
    /// 是否拥有一套以上住房: owns more than one house in the house registry.
    OwnsMoreThanOneHouse,
    /// 是否登记为法定代表人: represents at least one registered legal entity.
    LegalRepresentative,
}

/// A verification's answer; `Unknown` when the registry holds no such person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    Unknown,
}

impl Answer {
    pub fn code(self) -> &'static str {
        match self {
            Answer::Yes => "yes",
            Answer::No => "no",
            Answer::Unknown => "unknown",
        }
    }
}

impl Question {
    pub const ALL: [Question; 3] = [
        Question::Alive,
        Question::OwnsMoreThanOneHouse,
        Question::LegalRepresentative,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Question::Alive => "alive",
            Question::OwnsMoreThanOneHouse => "owns_more_than_one_house",
            Question::LegalRepresentative => "legal_representative",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Question::Alive => "是否健在",
            Question::OwnsMoreThanOneHouse => "是否拥有一套以上住房",
            Question::LegalRepresentative => "是否登记为法定代表人",
        }
    }

    pub fn parse(text: &str) -> Option<Question> {
        Question::ALL
            .into_iter()
            .find(|question| question.code() == text)
    }

    /// The registry field the answer reads; a consumer needs a grant to that field's
    /// authoritative resource, covering the item that feeds it.
    pub fn field(self) -> RegistryField {
        match self {
            Question::Alive => RegistryField::PersonLifeStatus,
            Question::OwnsMoreThanOneHouse => RegistryField::HouseOwners,
            Question::LegalRepresentative => RegistryField::EntityLegalRepresentative,
        }
    }

    /// The answer from the registry's record of the person and their links.
    pub fn answer(self, person: Option<&Person>, links: &PersonLinks) -> Answer {
        let Some(person) = person else {
            return Answer::Unknown;
        };
        let yes = match self {
            Question::Alive => person.life_status == LifeStatus::Alive,
            Question::OwnsMoreThanOneHouse => links.owned_houses.len() > 1,
            Question::LegalRepresentative => !links.represented_entities.is_empty(),
        };
        if yes { Answer::Yes } else { Answer::No }
    }
}

/// The item of `resource` that feeds `field`, if any.
pub fn feeding_item(resource: &Resource, field: RegistryField) -> Option<&str> {
    resource
        .items
        .iter()
        .find(|item| item.feeds.is_some_and(|feed| feed.field == field))
        .map(|item| item.name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{ItemDraft, ResourceDraft};
    use chrono::TimeZone;

    /// 公安's residence registrations, reduced; `sharing` as the test needs.
    fn residence(sharing: &str, terms: &str) -> Resource {
        let item = |name: &str, title: &str| ItemDraft {
            name: name.into(),
            title: title.into(),
            data_type: "text".into(),
            length: Some(200),
            required: true,
            personal: true,
            ..ItemDraft::default()
        };
        ResourceDraft {
            code: "301001/000001".into(),
            name: "居住登记信息".into(),
            summary: "居住登记".into(),
            provider: "gongan".into(),
            format: "database".into(),
            subject: "person".into(),
            subject_item: Some("citizen_id".into()),
            record_key: vec!["citizen_id".into()],
            items: vec![
                ItemDraft {
                    identifier: Some("citizen_id".into()),
                    length: Some(18),
                    ..item("citizen_id", "公民身份号码")
                },
                ItemDraft {
                    classification: Some("sensitive".into()),
                    ..item("residence_address", "居住地址")
                },
                item("registered_on", "登记日期"),
            ],
            sharing: sharing.into(),
            sharing_terms: terms.into(),
            legal_basis: "《居住证暂行条例》".into(),
            open: "not_open".into(),
            update_frequency: "daily".into(),
            ..ResourceDraft::default()
        }
        .validate()
        .unwrap()
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn draft() -> RequestDraft {
        RequestDraft {
            consumer: "minzheng".into(),
            items: vec!["residence_address".into(), "citizen_id".into()],
            purpose: "household_check".into(),
            legal_basis: "《社会救助暂行办法》第十一条".into(),
            valid_until: "2027-06-30".into(),
            rate_per_minute: None,
            retention: "核对结束后 30 日内删除".into(),
        }
    }

    fn purposes() -> Vec<String> {
        crate::access::default_purpose_kinds()
    }

    fn granted(terms: RequestTerms) -> SharingRequest {
        SharingRequest {
            id: 7,
            provider: DepartmentId::parse("gongan").unwrap(),
            terms,
            resource_version: 1,
            requested_at: Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap(),
            requested_by: "minzheng.officer".into(),
            status: Status::Granted,
            decided_at: None,
            decided_by: None,
        }
    }

    fn purpose(text: &str) -> Purpose {
        Purpose::parse(text, &purposes()).unwrap()
    }

    #[test]
    fn a_valid_request_keeps_the_resources_item_order() {
        let resource = residence("conditional", "救助核对");
        let terms = draft()
            .validate(&resource, &purposes(), date("2026-12-01"))
            .unwrap();
        assert_eq!(terms.items, ["citizen_id", "residence_address"]);
        assert_eq!(terms.rate_per_minute, DEFAULT_RATE_PER_MINUTE);
        assert_eq!(terms.valid_until, date("2027-06-30"));
    }

    #[test]
    fn every_wrong_field_is_named() {
        let resource = residence("conditional", "救助核对");
        let errors = RequestDraft {
            consumer: "gongan".into(),
            items: vec!["residence_address".into(), "salary".into()],
            purpose: "curiosity".into(),
            legal_basis: " ".into(),
            valid_until: "2026-11-30".into(),
            rate_per_minute: Some(0),
            retention: String::new(),
        }
        .validate(&resource, &purposes(), date("2026-12-01"))
        .unwrap_err();
        let named: Vec<(&str, &str)> = errors.iter().map(|e| (e.field, e.code)).collect();
        assert_eq!(
            named,
            [
                ("consumer", "own_resource"),
                ("items", "unknown_item"),
                ("purpose", "not_one_of"),
                ("legal_basis", "required"),
                ("retention", "required"),
                ("valid_until", "in_the_past"),
                ("rate_per_minute", "out_of_range"),
            ]
        );
        assert!(
            errors[1].message.contains("salary"),
            "{}",
            errors[1].message
        );
        let too_long = RequestDraft {
            valid_until: "2030-01-01".into(),
            ..draft()
        }
        .validate(&resource, &purposes(), date("2026-12-01"))
        .unwrap_err();
        assert_eq!(too_long[0].code, "too_long");
        let garbled = RequestDraft {
            valid_until: "30/06/2027".into(),
            items: Vec::new(),
            ..draft()
        }
        .validate(&resource, &purposes(), date("2026-12-01"))
        .unwrap_err();
        let named: Vec<(&str, &str)> = garbled.iter().map(|e| (e.field, e.code)).collect();
        assert_eq!(
            named,
            [("items", "required"), ("valid_until", "invalid_date")]
        );
    }

    #[test]
    fn arrival_follows_the_sharing_type_and_counts_working_days() {
        let calendar = WorkingCalendar::official().unwrap();
        let on = |sharing: &str, terms: &str, day: &str| {
            on_arrival(&residence(sharing, terms), date(day), calendar, 5).unwrap()
        };
        assert_eq!(on("unconditional", "", "2026-12-01"), Status::Granted);
        // An ordinary week: Tuesday + 5 working days is the next Tuesday.
        assert_eq!(
            on("conditional", "救助核对", "2026-12-01"),
            Status::Pending {
                deadline: date("2026-12-08")
            }
        );
        // The eve of National Day 2026 (国务院办公厅 2025-11-04): 1–7 October off, Saturday
        // 10 October a make-up workday — 8, 9, 10, 12, 13 October.
        assert_eq!(
            on("conditional", "救助核对", "2026-09-30"),
            Status::Pending {
                deadline: date("2026-10-13")
            }
        );
        assert_eq!(
            on("not_shared", "涉及国家秘密", "2026-12-01"),
            Status::Refused {
                reason: "涉及国家秘密（《居住证暂行条例》）".into()
            }
        );
        // No notice for 2027 yet: the deadline is not guessed.
        assert!(matches!(
            on_arrival(
                &residence("conditional", "核对"),
                date("2026-12-28"),
                calendar,
                5
            ),
            Err(CalendarError::Unconfirmed { year: 2027, .. })
        ));
    }

    #[test]
    fn only_pending_requests_are_decided_and_only_grants_revoked() {
        let resource = residence("conditional", "救助核对");
        let terms = draft()
            .validate(&resource, &purposes(), date("2026-12-01"))
            .unwrap();
        let mut request = granted(terms);
        request.status = Status::Pending {
            deadline: date("2026-12-08"),
        };
        assert_eq!(request.decide(Decision::Grant), Ok(Status::Granted));
        assert_eq!(
            request.decide(Decision::Refuse {
                reason: "  ".into()
            }),
            Err(TransitionError::NoReason)
        );
        assert!(!request.is_overdue(date("2026-12-08")));
        assert!(request.is_overdue(date("2026-12-09")));
        assert!(matches!(
            request.revoke("不再需要"),
            Err(TransitionError::NotGranted {
                status: "pending",
                ..
            })
        ));
        request.status = Status::Granted;
        assert!(matches!(
            request.decide(Decision::Grant),
            Err(TransitionError::NotPending {
                status: "granted",
                ..
            })
        ));
        assert_eq!(
            request.revoke(" 核对已结束 "),
            Ok(Status::Revoked {
                reason: "核对已结束".into()
            })
        );
    }

    #[test]
    fn a_grant_permits_its_items_purpose_and_period_only() {
        let resource = residence("conditional", "救助核对");
        let terms = RequestDraft {
            items: vec!["residence_address".into()],
            ..draft()
        }
        .validate(&resource, &purposes(), date("2026-12-01"))
        .unwrap();
        let grant = granted(terms);
        let check = purpose("household_check 2026-0042");
        assert_eq!(
            grant.permits(&resource, &[], &check, date("2027-06-30")),
            Ok(vec![1])
        );
        assert_eq!(
            grant.permits(
                &resource,
                &["residence_address".into()],
                &check,
                date("2026-12-01")
            ),
            Ok(vec![1])
        );
        assert_eq!(
            grant.permits(
                &resource,
                &["registered_on".into()],
                &check,
                date("2026-12-01")
            ),
            Err(GrantRefusal::ItemsNotGranted {
                items: vec!["registered_on".into()],
                granted: vec!["residence_address".into()],
            })
        );
        assert_eq!(
            grant.permits(&resource, &[], &purpose("case 9"), date("2026-12-01")),
            Err(GrantRefusal::WrongPurpose {
                granted: "household_check".into(),
                stated: "case".into()
            })
        );
        assert_eq!(
            grant.permits(&resource, &[], &check, date("2027-07-01")),
            Err(GrantRefusal::Expired {
                id: 7,
                until: date("2027-06-30")
            })
        );
        assert!(grant.is_expired(date("2027-07-01")));
        let revoked = SharingRequest {
            status: Status::Revoked { reason: "x".into() },
            ..grant.clone()
        };
        assert_eq!(
            revoked.permits(&resource, &[], &check, date("2026-12-01")),
            Err(GrantRefusal::NotGranted {
                id: 7,
                status: "revoked"
            })
        );
        // Among several requests the one that permits wins; otherwise the most telling refusal.
        let requests = [revoked.clone(), grant.clone()];
        let (chosen, _) =
            choose_grant(&requests, &resource, &[], &check, date("2026-12-01")).unwrap();
        assert_eq!(chosen.status, Status::Granted);
        assert!(matches!(
            choose_grant(
                &requests,
                &resource,
                &[],
                &purpose("case 1"),
                date("2026-12-01")
            ),
            Err(GrantRefusal::WrongPurpose { .. })
        ));
        assert_eq!(
            choose_grant(&[], &resource, &[], &check, date("2026-12-01")),
            Err(GrantRefusal::NoGrant)
        );
    }

    #[test]
    fn the_bucket_allows_the_rate_and_says_when_to_come_back() {
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap();
        let mut bucket = TokenBucket::new(60, start);
        for _ in 0..60 {
            assert_eq!(bucket.take(1, start), Ok(()));
        }
        assert_eq!(bucket.take(1, start), Err(1));
        assert_eq!(bucket.take(10, start), Err(10));
        let later = start + chrono::Duration::milliseconds(2_500);
        assert_eq!(bucket.take(2, later), Ok(()));
        assert_eq!(bucket.take(1, later), Err(1));
        // A batch larger than a minute's rate never fits.
        assert_eq!(bucket.take(61, start + chrono::Duration::hours(1)), Err(60));
        // Refilling stops at the rate.
        let idle = start + chrono::Duration::hours(2);
        for _ in 0..60 {
            assert_eq!(bucket.take(1, idle), Ok(()));
        }
        assert!(bucket.take(1, idle).is_err());
    }

    #[test]
    fn questions_parse_and_name_their_registry_field() {
        for question in Question::ALL {
            assert_eq!(Question::parse(question.code()), Some(question));
        }
        assert_eq!(Question::parse("income"), None);
        assert_eq!(
            Question::Alive.answer(None, &PersonLinks::default()),
            Answer::Unknown
        );
        assert_eq!(
            Question::OwnsMoreThanOneHouse.field(),
            RegistryField::HouseOwners
        );
    }
}
