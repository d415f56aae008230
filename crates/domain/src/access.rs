//! Who may read which people's records: the one policy that every read of personal data
//! passes, written as a role table (see ARCHITECTURE.md for why not a policy engine).
//!
//! A role held over a jurisdiction (an area code) lets its holder read the people whose
//! grid lies in that area: a grid worker their grid, a community leader their community, a
//! district leader their district. The three administrators (三员) read no one: they run
//! the system, its accounts and its audit, not its data. Sensitive fields (the full
//! identity number, the phone number) are masked unless the role may read them **and** a
//! purpose is stated; the purpose is recorded with the access.

use crate::identity::{Role, RoleAssignment};
use chrono::{DateTime, Utc};

/// How a role reads people's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonReading {
    /// Not at all.
    None,
    /// Within the jurisdiction, sensitive fields masked.
    Masked,
    /// Within the jurisdiction, sensitive fields in full when a purpose is stated.
    Sensitive,
}

/// The role table for people's records.
pub fn person_reading(role: Role) -> PersonReading {
    match role {
        Role::CityAdministrator
        | Role::DistrictLeader
        | Role::StreetLeader
        | Role::CommunityLeader
        | Role::Dispatcher
        | Role::HotlineAgent
        | Role::DepartmentOfficer => PersonReading::Masked,
        Role::GridWorker
        | Role::WindowClerk
        | Role::CivilAffairsOfficer
        | Role::DepartmentDataOfficer => PersonReading::Sensitive,
        Role::SystemAdministrator
        | Role::SecurityAdministrator
        | Role::AuditAdministrator
        | Role::Resident
        | Role::EnterpriseUser => PersonReading::None,
    }
}

/// The area codes (prefixes of grid codes) whose people a caller may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    prefixes: Vec<String>,
}

impl Scope {
    /// A scope over these jurisdictions (area codes); one that contains another is kept
    /// alone. A city's code `321000` covers every code that begins `3210`, a province's
    /// `320000` every code that begins `32` (GB/T 2260).
    pub fn new(jurisdictions: Vec<String>) -> Scope {
        let mut prefixes: Vec<String> =
            jurisdictions.iter().map(|code| area_prefix(code)).collect();
        prefixes.sort();
        prefixes.dedup();
        let kept: Vec<String> = prefixes
            .iter()
            .filter(|prefix| {
                !prefixes
                    .iter()
                    .any(|other| other != *prefix && prefix.starts_with(other.as_str()))
            })
            .cloned()
            .collect();
        Scope { prefixes: kept }
    }

    pub fn nothing() -> Scope {
        Scope {
            prefixes: Vec::new(),
        }
    }

    pub fn is_nothing(&self) -> bool {
        self.prefixes.is_empty()
    }

    /// The jurisdictions, none inside another.
    pub fn prefixes(&self) -> &[String] {
        &self.prefixes
    }

    /// Whether a person registered in `grid` is in scope; a person without a grid is in
    /// nobody's jurisdiction below the city, so only a city-wide scope reaches them.
    pub fn contains(&self, grid: Option<&str>) -> bool {
        match grid {
            Some(grid) => self
                .prefixes
                .iter()
                .any(|prefix| grid.starts_with(prefix.as_str())),
            None => self.prefixes.iter().any(|prefix| prefix.len() <= 4),
        }
    }
}

/// The prefix of the codes inside an area: a province's `320000` → `32`, a city's
/// `321000` → `3210`; a county, street, community or grid code is its own prefix.
fn area_prefix(code: &str) -> String {
    if code.len() == 6 && code.ends_with("0000") {
        code[..2].to_owned()
    } else if code.len() == 6 && code.ends_with("00") {
        code[..4].to_owned()
    } else {
        code.to_owned()
    }
}

/// What a caller may do with people's records, from the roles it holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonAccess {
    pub scope: Scope,
    /// Jurisdictions where a role may read sensitive fields (with a purpose).
    pub sensitive_scope: Scope,
}

impl PersonAccess {
    pub fn of(roles: &[RoleAssignment], now: DateTime<Utc>) -> PersonAccess {
        let valid = || roles.iter().filter(move |held| held.is_valid_at(now));
        let scope = valid()
            .filter(|held| person_reading(held.role) != PersonReading::None)
            .map(|held| held.jurisdiction.clone())
            .collect();
        let sensitive = valid()
            .filter(|held| person_reading(held.role) == PersonReading::Sensitive)
            .map(|held| held.jurisdiction.clone())
            .collect();
        PersonAccess {
            scope: Scope::new(scope),
            sensitive_scope: Scope::new(sensitive),
        }
    }

    /// Whether sensitive fields of a person in `grid` are shown, given the stated purpose.
    pub fn shows_sensitive(&self, grid: Option<&str>, purpose: Option<&Purpose>) -> bool {
        purpose.is_some() && self.sensitive_scope.contains(grid)
    }
}

/// A stated purpose: a kind from the configured list and the reference of the matter,
/// e.g. `household_check 123` (家庭经济状况核对) or `case 456`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purpose {
    pub kind: String,
    pub reference: String,
}

impl Purpose {
    /// Parses `KIND REFERENCE` against the allowed kinds.
    pub fn parse(text: &str, kinds: &[String]) -> Result<Purpose, String> {
        let text = text.trim();
        let (kind, reference) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let reference = reference.trim();
        if !kinds.iter().any(|allowed| allowed == kind) {
            return Err(format!(
                "the purpose must be one of {} followed by the matter's reference, e.g. '{} 123'; found '{text}'",
                kinds.join(", "),
                kinds.first().map_or("case", String::as_str)
            ));
        }
        if reference.is_empty() || reference.chars().count() > 64 {
            return Err(format!(
                "the purpose '{kind}' needs the matter's reference (1–64 characters), e.g. '{kind} 123'"
            ));
        }
        Ok(Purpose {
            kind: kind.to_owned(),
            reference: reference.to_owned(),
        })
    }

    pub fn text(&self) -> String {
        format!("{} {}", self.kind, self.reference)
    }
}

/// The purposes a city allows by default.
pub fn default_purpose_kinds() -> Vec<String> {
    [
        "household_check",
        "case",
        "hotline_ticket",
        "service_application",
        "investigation",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// An identity number with all but its first four and last four characters hidden:
/// `4401**********123X`.
pub fn mask_citizen_id(id: &str) -> String {
    mask(id, 4, 4)
}

/// A phone number with its middle four digits hidden: `138****5678`.
pub fn mask_phone(phone: &str) -> String {
    let length = phone.chars().count();
    if length >= 11 {
        mask(phone, 3, length - 7)
    } else {
        mask(phone, 0, length.min(2))
    }
}

fn mask(text: &str, head: usize, tail: usize) -> String {
    let characters: Vec<char> = text.chars().collect();
    if characters.len() <= head + tail {
        return "*".repeat(characters.len());
    }
    let hidden = characters.len() - head - tail;
    characters[..head]
        .iter()
        .chain(std::iter::repeat_n(&'*', hidden))
        .chain(&characters[characters.len() - tail..])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn held(role: Role, jurisdiction: &str) -> RoleAssignment {
        RoleAssignment {
            role,
            jurisdiction: jurisdiction.into(),
            department: None,
            valid_from: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            valid_until: Some(Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()),
        }
    }

    #[test]
    fn jurisdictions_nest_and_the_three_administrators_read_no_one() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let worker = PersonAccess::of(&[held(Role::GridWorker, "321002001001001")], now);
        assert!(worker.scope.contains(Some("321002001001001")));
        assert!(!worker.scope.contains(Some("321002001001002")));
        assert!(!worker.scope.contains(None));
        let leader = PersonAccess::of(
            &[
                held(Role::DistrictLeader, "321002"),
                held(Role::CommunityLeader, "321002001001"),
            ],
            now,
        );
        assert_eq!(leader.scope.prefixes(), ["321002"]);
        assert!(leader.sensitive_scope.is_nothing());
        let city = PersonAccess::of(&[held(Role::CityAdministrator, "321000")], now);
        assert!(
            city.scope.contains(None),
            "people without a grid are the city's"
        );
        assert!(
            city.scope.contains(Some("321002001001001"))
                && city.scope.contains(Some("321084001001001"))
        );
        assert!(
            !city.scope.contains(Some("320102001001001")),
            "Nanjing is another city"
        );
        assert_eq!(city.scope.prefixes(), ["3210"]);
        for role in [
            Role::SystemAdministrator,
            Role::SecurityAdministrator,
            Role::AuditAdministrator,
        ] {
            assert!(
                PersonAccess::of(&[held(role, "321000")], now)
                    .scope
                    .is_nothing()
            );
        }
        let expired = PersonAccess::of(
            &[held(Role::GridWorker, "321002001001001")],
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
        );
        assert!(expired.scope.is_nothing());
    }

    #[test]
    fn sensitive_fields_need_the_role_and_a_purpose() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let kinds = default_purpose_kinds();
        let purpose = Purpose::parse("household_check 2026-0042", &kinds).unwrap();
        assert_eq!(purpose.text(), "household_check 2026-0042");
        assert!(
            Purpose::parse("curiosity 1", &kinds)
                .unwrap_err()
                .contains("must be one of")
        );
        assert!(
            Purpose::parse("case", &kinds)
                .unwrap_err()
                .contains("reference")
        );
        let officer = PersonAccess::of(&[held(Role::CivilAffairsOfficer, "321002")], now);
        assert!(officer.shows_sensitive(Some("321002001001001"), Some(&purpose)));
        assert!(!officer.shows_sensitive(Some("321002001001001"), None));
        assert!(!officer.shows_sensitive(Some("321003001001001"), Some(&purpose)));
        let dispatcher = PersonAccess::of(&[held(Role::Dispatcher, "321000")], now);
        assert!(!dispatcher.shows_sensitive(Some("321002001001001"), Some(&purpose)));
    }

    #[test]
    fn masks_keep_what_identifies_nobody() {
        assert_eq!(mask_citizen_id("44010619900101123X"), "4401**********123X");
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(
            mask_phone("051487654321"),
            "051****54321",
            "landlines keep their area code"
        );
        assert_eq!(mask_citizen_id("123"), "***");
    }
}
