//! One datum, one source (一数一源): each registry field has one authoritative resource,
//! and the registry keeps that source's value. When another department's records carry
//! the same field with a different value — 人社's contact address for a person whose
//! residence address 公安 registered otherwise — the difference is a **dispute** (数据异议),
//! routed to the authoritative department, which answers it within a deadline counted in
//! working days. The registry is never changed by a dispute: the authoritative department
//! corrects its own data (and so the registry) if the other source was right, and its
//! answer closes the dispute either way.

use crate::calendar::{CalendarError, WorkingCalendar};
use crate::catalogue::{DepartmentId, RegistryField, ResourceCode};
use chrono::{DateTime, NaiveDate, Utc};

/// The working days an authoritative department has to answer a dispute.
pub const ANSWER_DAYS: u32 = 5;
const NOTE_LIMIT: usize = 500;

/// Whether a field's values are compared across sources: the fields the base registries
/// hold as text that other departments also record. Codes that departments spell in
/// their own vocabularies (life status, ethnicity, marital status …) are not compared.
pub fn is_compared(field: RegistryField) -> bool {
    matches!(
        field,
        RegistryField::PersonName
            | RegistryField::PersonHukouAddress
            | RegistryField::PersonResidenceAddress
            | RegistryField::PersonPhone
            | RegistryField::EntityName
            | RegistryField::EntityRegisteredAddress
    )
}

/// Whether two sources' values of a field say the same: white space (ASCII and full-width)
/// never counts, and full-width digits and letters equal their ASCII forms, so
/// `文昌中路１号` and `文昌中路 1 号` agree.
pub fn agrees(registry: &str, other: &str) -> bool {
    let normal = |text: &str| -> String {
        text.chars()
            .filter(|character| !character.is_whitespace())
            .map(|character| match character {
                '\u{FF01}'..='\u{FF5E}' => {
                    char::from_u32(u32::from(character) - 0xFEE0).unwrap_or(character)
                }
                other => other,
            })
            .flat_map(char::to_lowercase)
            .collect()
    };
    normal(registry) == normal(other)
}

/// How the authoritative department answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The registry's (authoritative) value is right; the other source should correct its
    /// records.
    RegistryCorrect,
    /// The other source is right; the authoritative department corrects its own data,
    /// which then reaches the registry through its next load.
    SourceCorrect,
}

impl Resolution {
    pub fn code(self) -> &'static str {
        match self {
            Resolution::RegistryCorrect => "registry_correct",
            Resolution::SourceCorrect => "source_correct",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Resolution::RegistryCorrect => "以权威来源为准",
            Resolution::SourceCorrect => "权威来源更正",
        }
    }

    pub fn parse(text: &str) -> Option<Resolution> {
        [Resolution::RegistryCorrect, Resolution::SourceCorrect]
            .into_iter()
            .find(|resolution| resolution.code() == text)
    }
}

/// A dispute's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub resolution: Resolution,
    pub note: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// A disagreement between a registry field's authoritative value and another source's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispute {
    pub id: u64,
    pub field: RegistryField,
    /// Whose record: an identity number or a credit code.
    pub subject: String,
    /// What the registry holds (from the authoritative source); `None` when empty.
    pub registry_value: Option<String>,
    /// What the other source says (its latest value while the dispute is open).
    pub source_value: String,
    pub source_resource: ResourceCode,
    pub source_department: DepartmentId,
    /// The batch that last brought the other value.
    pub batch_id: String,
    pub authority_resource: ResourceCode,
    /// The department that answers.
    pub authority: DepartmentId,
    pub opened_at: DateTime<Utc>,
    /// `None` while open.
    pub answer: Option<Answer>,
}

impl Dispute {
    /// The last day to answer: [`ANSWER_DAYS`] working days after the day it was opened
    /// (Asia/Shanghai).
    pub fn deadline(
        &self,
        calendar: &WorkingCalendar,
        days: u32,
    ) -> Result<NaiveDate, CalendarError> {
        calendar.add_working_days(crate::time::shanghai_date(self.opened_at), days)
    }

    /// Open past its deadline on `today`; `None` when the deadline cannot be counted.
    pub fn is_overdue(
        &self,
        today: NaiveDate,
        calendar: &WorkingCalendar,
        days: u32,
    ) -> Option<bool> {
        if self.answer.is_some() {
            return Some(false);
        }
        self.deadline(calendar, days)
            .ok()
            .map(|deadline| today > deadline)
    }
}

/// Checks an answer's note; the answer needs one when the other source was right (what
/// the authoritative department will correct, and when).
pub fn check_note(resolution: Resolution, note: &str) -> Result<String, String> {
    let note = note.trim();
    if note.chars().count() > NOTE_LIMIT {
        return Err(format!("the note may have at most {NOTE_LIMIT} characters"));
    }
    if resolution == Resolution::SourceCorrect && note.is_empty() {
        return Err("say what will be corrected, and when".to_owned());
    }
    Ok(note.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn white_space_and_full_width_forms_do_not_make_a_dispute() {
        assert!(agrees(
            "扬州市广陵区文昌中路１号",
            "扬州市广陵区 文昌中路 1 号"
        ));
        assert!(agrees("ＡＢ栋 3 室", "ab栋3室"));
        assert!(!agrees(
            "扬州市广陵区文昌中路1号",
            "扬州市邗江区文昌西路1号"
        ));
        assert!(!agrees("13800001111", "13800001112"));
    }

    #[test]
    fn compared_fields_are_the_registries_texts() {
        assert!(is_compared(RegistryField::PersonResidenceAddress));
        assert!(is_compared(RegistryField::EntityRegisteredAddress));
        assert!(!is_compared(RegistryField::PersonLifeStatus));
        assert!(!is_compared(RegistryField::HouseFloorArea));
    }

    #[test]
    fn the_deadline_counts_working_days_from_the_shanghai_day() {
        let calendar = WorkingCalendar::official().unwrap();
        let dispute = Dispute {
            id: 1,
            field: RegistryField::PersonResidenceAddress,
            subject: "11010519491231002X".into(),
            registry_value: Some("甲".into()),
            source_value: "乙".into(),
            source_resource: ResourceCode::parse("301004/000001").unwrap(),
            source_department: DepartmentId::parse("renshe").unwrap(),
            batch_id: "b".into(),
            authority_resource: ResourceCode::parse("301001/000001").unwrap(),
            authority: DepartmentId::parse("gongan").unwrap(),
            // Wednesday 30 September 2026, 17:00 UTC: already 1 October in Shanghai.
            opened_at: Utc.with_ymd_and_hms(2026, 9, 30, 17, 0, 0).unwrap(),
            answer: None,
        };
        // 1–7 October are holidays, Saturday 10 October a make-up workday.
        let deadline = dispute.deadline(calendar, ANSWER_DAYS).unwrap();
        assert_eq!(deadline, NaiveDate::from_ymd_opt(2026, 10, 13).unwrap());
        let day = |d| NaiveDate::from_ymd_opt(2026, 10, d).unwrap();
        assert_eq!(
            dispute.is_overdue(day(13), calendar, ANSWER_DAYS),
            Some(false)
        );
        assert_eq!(
            dispute.is_overdue(day(14), calendar, ANSWER_DAYS),
            Some(true)
        );
    }

    #[test]
    fn correcting_the_authority_needs_a_note() {
        assert!(check_note(Resolution::SourceCorrect, " ").is_err());
        assert_eq!(
            check_note(Resolution::RegistryCorrect, " "),
            Ok(String::new())
        );
        assert_eq!(
            check_note(Resolution::SourceCorrect, " 11 月底前更正 "),
            Ok("11 月底前更正".into())
        );
        assert_eq!(
            Resolution::parse("source_correct"),
            Some(Resolution::SourceCorrect)
        );
        assert_eq!(Resolution::parse("maybe"), None);
    }
}
