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

/// An unvalidated household from an API body or a form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HouseholdDraft {
    pub number: String,
    /// `registered` or `co_resident` (or 户籍户, 共同生活家庭).
    pub kind: String,
    pub address: String,
    pub members: Vec<HouseholdMemberDraft>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HouseholdMemberDraft {
    pub citizen_id: String,
    /// A relationship code (`head`, `spouse`, …) or its Chinese label (户主, 配偶, …).
    pub relationship: String,
}

impl HouseholdDraft {
    /// Every problem at once: the kind, each member's identity number and relationship
    /// (named by position, from 1), then the household's own rules.
    pub fn validate(&self) -> Result<Household, Vec<FieldError>> {
        let mut errors = Vec::new();
        let kind = HouseholdKind::parse(self.kind.trim());
        if kind.is_none() {
            errors.push(FieldError::not_one_of(
                "kind",
                &self.kind,
                &["registered", "co_resident", "户籍户", "共同生活家庭"],
            ));
        }
        if self.members.is_empty() {
            errors.push(FieldError::missing("members"));
        }
        let mut members = Vec::with_capacity(self.members.len());
        for (index, draft) in self.members.iter().enumerate() {
            let position = index + 1;
            let citizen_id = CitizenId::parse(draft.citizen_id.trim()).map_err(|error| {
                errors.push(FieldError::new(
                    "members",
                    &draft.citizen_id,
                    error.code(),
                    format!("member {position}: {error}"),
                    format!("第{position}名成员：{}", error.message_zh()),
                ));
            });
            let relationship = Relationship::parse(draft.relationship.trim());
            if relationship.is_none() {
                let choices: Vec<&str> = Relationship::ALL.iter().map(|r| r.code()).collect();
                errors.push(FieldError::new(
                    "members",
                    &draft.relationship,
                    "not_one_of",
                    format!(
                        "member {position}: the relationship must be one of: {}",
                        choices.join(", ")
                    ),
                    format!(
                        "第{position}名成员：与户主关系应为以下之一：{}",
                        Relationship::ALL.map(|r| r.label_zh()).join("、")
                    ),
                ));
            }
            if let (Ok(citizen_id), Some(relationship)) = (citizen_id, relationship) {
                members.push(HouseholdMember {
                    citizen_id,
                    relationship,
                });
            }
        }
        match (kind, errors.is_empty()) {
            (Some(kind), true) => Household::new(&self.number, kind, &self.address, members),
            _ => {
                // The number is still checked; the head count is not, as members that did
                // not parse are missing from it.
                errors.extend(number_error(&self.number));
                Err(errors)
            }
        }
    }
}

/// What is wrong with a household number (户号), if anything.
fn number_error(number: &str) -> Option<FieldError> {
    let number = number.trim();
    let valid = !number.is_empty()
        && number.len() <= 32
        && number.chars().all(|c| c.is_ascii_alphanumeric());
    (!valid).then(|| {
        FieldError::new(
            "number",
            number,
            "invalid_household_number",
            "the household number must be 1–32 letters or digits",
            "户号应为1至32位字母或数字",
        )
    })
}

impl Household {
    /// A household with exactly one head and no person listed twice.
    pub fn new(
        number: &str,
        kind: HouseholdKind,
        address: &str,
        members: Vec<HouseholdMember>,
    ) -> Result<Household, Vec<FieldError>> {
        let mut errors: Vec<FieldError> = number_error(number).into_iter().collect();
        let number = number.trim();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid identity number born on 1 January 1980 with the given sequence.
    fn valid_id(sequence: u16) -> String {
        let area = crate::identifiers::AreaCode::parse("110105").unwrap();
        let birth = chrono::NaiveDate::from_ymd_opt(1980, 1, 1).unwrap();
        CitizenId::from_parts(&area, birth, sequence)
            .unwrap()
            .as_str()
            .to_owned()
    }

    fn member(citizen_id: &str, relationship: &str) -> HouseholdMemberDraft {
        HouseholdMemberDraft {
            citizen_id: citizen_id.into(),
            relationship: relationship.into(),
        }
    }

    #[test]
    fn a_draft_with_chinese_labels_becomes_a_household() {
        let household = HouseholdDraft {
            number: "321002000123".into(),
            kind: "户籍户".into(),
            address: " 扬州市广陵区文昌中路18号 ".into(),
            members: vec![
                member("11010519491231002X", "户主"),
                member(&valid_id(7), "spouse"),
            ],
        }
        .validate()
        .unwrap();
        assert_eq!(household.kind, HouseholdKind::Registered);
        assert_eq!(household.address, "扬州市广陵区文昌中路18号");
        assert_eq!(
            household.head().unwrap().citizen_id.as_str(),
            "11010519491231002X"
        );
    }

    #[test]
    fn every_problem_is_reported_with_the_member_it_concerns() {
        let errors = HouseholdDraft {
            number: "12-34".into(),
            kind: "family".into(),
            address: String::new(),
            members: vec![
                member("11010519491231002X", "户主"),
                member("110105194912310021", "spouse"),
                member(&valid_id(8), "cousin"),
            ],
        }
        .validate()
        .unwrap_err();
        let codes: Vec<(&str, &str)> = errors.iter().map(|e| (e.field, e.code)).collect();
        assert_eq!(
            codes,
            [
                ("kind", "not_one_of"),
                ("members", "citizen_id_check_character"),
                ("members", "not_one_of"),
                ("number", "invalid_household_number"),
            ]
        );
        assert!(
            errors[1].message.starts_with("member 2: "),
            "{}",
            errors[1].message
        );
        assert!(
            errors[2].message_zh.starts_with("第3名成员："),
            "{}",
            errors[2].message_zh
        );
    }

    #[test]
    fn a_household_needs_one_head_and_members() {
        let two_heads = HouseholdDraft {
            number: "1".into(),
            kind: "co_resident".into(),
            address: "扬州".into(),
            members: vec![
                member("11010519491231002X", "head"),
                member(&valid_id(9), "head"),
            ],
        }
        .validate()
        .unwrap_err();
        assert_eq!(two_heads[0].code, "household_needs_one_head");
        let empty = HouseholdDraft {
            number: "1".into(),
            kind: "co_resident".into(),
            ..HouseholdDraft::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(empty[0].code, "required");
    }
}
