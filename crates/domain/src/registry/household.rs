//! Households (户): the registered household (户籍户) and the co-resident family
//! (共同生活家庭) — both are a head plus members with their relationship to the head.
//!
//! The two differ in law (household checks for assistance use the co-resident family), so
//! they are the same shape with a `kind`, and one person may belong to one of each.

use crate::identifiers::CitizenId;
use crate::registry::FieldError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq)]
pub struct Household {
    /// 户号 — the household number, unique per kind.
    pub number: String,
    pub kind: HouseholdKind,
    pub address: String,
    pub members: Vec<HouseholdMember>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HouseholdKind {
    /// 户籍户
    Registered,
    /// 共同生活家庭
    CoResident,
}

impl HouseholdKind {
    pub fn code(self) -> &'static str {
        match self {
            HouseholdKind::Registered => "registered",
            HouseholdKind::CoResident => "co_resident",
        }
    }

    pub fn parse(text: &str) -> Option<HouseholdKind> {
        match text {
            "registered" | "户籍户" => Some(HouseholdKind::Registered),
            "co_resident" | "共同生活家庭" => Some(HouseholdKind::CoResident),
            _ => None,
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            HouseholdKind::Registered => "户籍户",
            HouseholdKind::CoResident => "共同生活家庭",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdMember {
    pub citizen_id: CitizenId,
    pub relationship: Relationship,
}

/// Relationship to the head of household (与户主关系), after GB/T 4761's groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    Head,
    Spouse,
    Son,
    Daughter,
    Father,
    Mother,
    Grandchild,
    Grandparent,
    SonOrDaughterInLaw,
    Sibling,
    Other,
}

impl Relationship {
    const ALL: [Relationship; 11] = [
        Relationship::Head,
        Relationship::Spouse,
        Relationship::Son,
        Relationship::Daughter,
        Relationship::Father,
        Relationship::Mother,
        Relationship::Grandchild,
        Relationship::Grandparent,
        Relationship::SonOrDaughterInLaw,
        Relationship::Sibling,
        Relationship::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Relationship::Head => "head",
            Relationship::Spouse => "spouse",
            Relationship::Son => "son",
            Relationship::Daughter => "daughter",
            Relationship::Father => "father",
            Relationship::Mother => "mother",
            Relationship::Grandchild => "grandchild",
            Relationship::Grandparent => "grandparent",
            Relationship::SonOrDaughterInLaw => "son_or_daughter_in_law",
            Relationship::Sibling => "sibling",
            Relationship::Other => "other",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Relationship::Head => "户主",
            Relationship::Spouse => "配偶",
            Relationship::Son => "子",
            Relationship::Daughter => "女",
            Relationship::Father => "父亲",
            Relationship::Mother => "母亲",
            Relationship::Grandchild => "孙子女",
            Relationship::Grandparent => "祖父母",
            Relationship::SonOrDaughterInLaw => "儿媳/女婿",
            Relationship::Sibling => "兄弟姐妹",
            Relationship::Other => "其他",
        }
    }

    pub fn parse(text: &str) -> Option<Relationship> {
        Relationship::ALL
            .into_iter()
            .find(|relationship| relationship.code() == text || relationship.label_zh() == text)
    }
}

impl Household {
    /// A household with exactly one head and no person listed twice.
    pub fn new(
        number: &str,
        kind: HouseholdKind,
        address: &str,
        members: Vec<HouseholdMember>,
    ) -> Result<Household, Vec<FieldError>> {
        let mut errors = Vec::new();
        let number = number.trim();
        if number.is_empty()
            || number.len() > 32
            || !number.chars().all(|c| c.is_ascii_alphanumeric())
        {
            errors.push(FieldError::new(
                "number",
                number,
                "invalid_household_number",
                "the household number must be 1–32 letters or digits",
                "户号应为1至32位字母或数字",
            ));
        }
        let heads = members
            .iter()
            .filter(|member| member.relationship == Relationship::Head)
            .count();
        if heads != 1 {
            errors.push(FieldError::new(
                "members",
                &heads.to_string(),
                "household_needs_one_head",
                format!("a household needs exactly one head, found {heads}"),
                format!("一户应有且仅有一名户主，实际为{heads}名"),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for member in &members {
            if !seen.insert(member.citizen_id.as_str()) {
                errors.push(FieldError::new(
                    "members",
                    member.citizen_id.as_str(),
                    "duplicate_member",
                    "a person is listed twice in the household",
                    "同一人在户内重复登记",
                ));
            }
        }
        if errors.is_empty() {
            Ok(Household {
                number: number.to_owned(),
                kind,
                address: address.trim().to_owned(),
                members,
            })
        } else {
            Err(errors)
        }
    }

    pub fn head(&self) -> Option<&HouseholdMember> {
        self.members
            .iter()
            .find(|member| member.relationship == Relationship::Head)
    }
}
