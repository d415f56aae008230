//! Legal entities (法人基础信息): enterprises, individual businesses, institutions and
//! social organisations, keyed by the unified social credit code.

use crate::identifiers::{CitizenId, CreditCode};
use crate::registry::FieldError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq)]
pub struct LegalEntity {
    pub credit_code: CreditCode,
    pub name: String,
    pub kind: EntityKind,
    /// 法定代表人 (or 经营者 of an individual business): a person of the registry.
    pub legal_representative: CitizenId,
    pub registered_address: String,
    pub status: EntityStatus,
    pub established_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityKind {
    /// 企业
    Enterprise,
    /// 个体工商户
    IndividualBusiness,
    /// 事业单位
    Institution,
    /// 社会组织
    SocialOrganisation,
}

impl EntityKind {
    pub const CODES: &'static [&'static str] = &[
        "enterprise",
        "individual_business",
        "institution",
        "social_organisation",
    ];

    pub fn code(self) -> &'static str {
        match self {
            EntityKind::Enterprise => "enterprise",
            EntityKind::IndividualBusiness => "individual_business",
            EntityKind::Institution => "institution",
            EntityKind::SocialOrganisation => "social_organisation",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            EntityKind::Enterprise => "企业",
            EntityKind::IndividualBusiness => "个体工商户",
            EntityKind::Institution => "事业单位",
            EntityKind::SocialOrganisation => "社会组织",
        }
    }

    pub fn parse(text: &str) -> Option<EntityKind> {
        [
            EntityKind::Enterprise,
            EntityKind::IndividualBusiness,
            EntityKind::Institution,
            EntityKind::SocialOrganisation,
        ]
        .into_iter()
        .find(|kind| kind.code() == text || kind.label_zh() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityStatus {
    /// 存续
    Active,
    /// 吊销
    Revoked,
    /// 注销
    Deregistered,
}

impl EntityStatus {
    pub const CODES: &'static [&'static str] = &["active", "revoked", "deregistered"];

    pub fn code(self) -> &'static str {
        match self {
            EntityStatus::Active => "active",
            EntityStatus::Revoked => "revoked",
            EntityStatus::Deregistered => "deregistered",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            EntityStatus::Active => "存续",
            EntityStatus::Revoked => "吊销",
            EntityStatus::Deregistered => "注销",
        }
    }

    pub fn parse(text: &str) -> Option<EntityStatus> {
        [
            EntityStatus::Active,
            EntityStatus::Revoked,
            EntityStatus::Deregistered,
        ]
        .into_iter()
        .find(|status| status.code() == text || status.label_zh() == text)
    }
}

/// An unvalidated legal entity from a form, the API or an import row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EntityDraft {
    pub credit_code: String,
    pub name: String,
    pub kind: String,
    pub legal_representative: String,
    pub registered_address: String,
    pub status: Option<String>,
    pub established_on: Option<String>,
}

impl EntityDraft {
    pub fn validate(&self) -> Result<LegalEntity, Vec<FieldError>> {
        let mut errors = Vec::new();
        let credit_code = CreditCode::parse(&self.credit_code)
            .map_err(|error| {
                errors.push(FieldError::identifier(
                    "credit_code",
                    &self.credit_code,
                    &error,
                ))
            })
            .ok();
        let name = self.name.trim();
        if name.is_empty() {
            errors.push(FieldError::missing("name"));
        } else if name.chars().count() > 100 {
            errors.push(FieldError::new(
                "name",
                name,
                "too_long",
                "the name has more than 100 characters",
                "名称超过100个字符",
            ));
        }
        let kind = EntityKind::parse(self.kind.trim()).or_else(|| {
            errors.push(FieldError::not_one_of(
                "kind",
                &self.kind,
                EntityKind::CODES,
            ));
            None
        });
        let legal_representative = CitizenId::parse(&self.legal_representative)
            .map_err(|error| {
                errors.push(FieldError::identifier(
                    "legal_representative",
                    &self.legal_representative,
                    &error,
                ))
            })
            .ok();
        let status = match self
            .status
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
        {
            None => Some(EntityStatus::Active),
            Some(text) => EntityStatus::parse(text).or_else(|| {
                errors.push(FieldError::not_one_of("status", text, EntityStatus::CODES));
                None
            }),
        };
        let established_on = match self
            .established_on
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            None => None,
            Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| {
                    errors.push(FieldError::new(
                        "established_on",
                        text,
                        "invalid_date",
                        format!("'{text}' is not a date in the form YYYY-MM-DD"),
                        format!("“{text}”不是 YYYY-MM-DD 格式的日期"),
                    ))
                })
                .ok(),
        };
        match (credit_code, kind, legal_representative, status) {
            (Some(credit_code), Some(kind), Some(legal_representative), Some(status))
                if errors.is_empty() =>
            {
                Ok(LegalEntity {
                    credit_code,
                    name: name.to_owned(),
                    kind,
                    legal_representative,
                    registered_address: self.registered_address.trim().to_owned(),
                    status,
                    established_on,
                })
            }
            _ => Err(errors),
        }
    }
}
