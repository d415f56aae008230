//! City components and building safety (城市部件与房屋安全, issue 5 §6): the objects on a
//! grid worker's round besides people and rented houses.
//!
//! - **Manhole covers (井盖)**: the city-management components of class 01 公用设施 in
//!   CJ/T 214-2007 (数字化城市管理信息系统 管理部件和事件). Each is registered by its
//!   owner department with its 16-digit component code and its location, and patrolled
//!   monthly.
//! - **Dangerous buildings (危房)**: a building's safety appraisal (房屋安全鉴定) grades it
//!   A to D under JGJ 125-2016 (危险房屋鉴定标准) §6.1.4. C (局部危房) and D (整幢危房)
//!   are dangerous and patrolled weekly until a later appraisal grades the building safe.
//!
//! Provenance of the component code: CJ/T 214-2007 could not be consulted directly. The
//! layout used — 6 digits of the county-level division (GB/T 2260), 2 of the class, 2 of
//! the subclass and a 6-digit sequence — and the subclass list of manhole covers are the
//! ones the standard's implementations publish (城市管理部件标识码). Check them against the
//! standard's text before a city relies on them; a wider code would widen this type.

use crate::case::intake::Bounds;
use crate::registry::{FieldError, GeoPoint};
use chrono::{DateTime, NaiveDate, Utc};

/// A manhole cover's subclass in class 01 公用设施.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManholeKind {
    Water,
    Sewage,
    Rain,
    RainGrate,
    Power,
    StreetLight,
    Telecom,
    Television,
    Network,
    Heating,
    Gas,
    Police,
    Unowned,
}

impl ManholeKind {
    pub const ALL: [ManholeKind; 13] = [
        ManholeKind::Water,
        ManholeKind::Sewage,
        ManholeKind::Rain,
        ManholeKind::RainGrate,
        ManholeKind::Power,
        ManholeKind::StreetLight,
        ManholeKind::Telecom,
        ManholeKind::Television,
        ManholeKind::Network,
        ManholeKind::Heating,
        ManholeKind::Gas,
        ManholeKind::Police,
        ManholeKind::Unowned,
    ];

    /// The class and subclass digits of the component code, e.g. `0101`.
    pub fn code(self) -> &'static str {
        match self {
            ManholeKind::Water => "0101",
            ManholeKind::Sewage => "0102",
            ManholeKind::Rain => "0103",
            ManholeKind::RainGrate => "0104",
            ManholeKind::Power => "0105",
            ManholeKind::StreetLight => "0106",
            ManholeKind::Telecom => "0107",
            ManholeKind::Television => "0108",
            ManholeKind::Network => "0109",
            ManholeKind::Heating => "0110",
            ManholeKind::Gas => "0111",
            ManholeKind::Police => "0112",
            ManholeKind::Unowned => "0113",
        }
    }

    pub fn parse(code: &str) -> Option<ManholeKind> {
        ManholeKind::ALL
            .into_iter()
            .find(|kind| kind.code() == code)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            ManholeKind::Water => "上水井盖",
            ManholeKind::Sewage => "污水井盖",
            ManholeKind::Rain => "雨水井盖",
            ManholeKind::RainGrate => "雨水箅子",
            ManholeKind::Power => "电力井盖",
            ManholeKind::StreetLight => "路灯井盖",
            ManholeKind::Telecom => "通信井盖",
            ManholeKind::Television => "电视井盖",
            ManholeKind::Network => "网络井盖",
            ManholeKind::Heating => "热力井盖",
            ManholeKind::Gas => "燃气井盖",
            ManholeKind::Police => "公安井盖",
            ManholeKind::Unowned => "无主井盖",
        }
    }
}

/// A component's 16-digit code (部件标识码): county, class, subclass, sequence.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ComponentCode(String);

impl ComponentCode {
    /// The code of a manhole cover, or the `code` error saying what was expected.
    pub fn parse(text: &str) -> Result<(ComponentCode, ManholeKind), FieldError> {
        let text = text.trim();
        let wrong = |code: &'static str, message: String, message_zh: String| {
            FieldError::new("code", text, code, message, message_zh)
        };
        if text.len() != 16 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(wrong(
                "component_code_format",
                "a component code is 16 digits: 6 of the county, 2 of the class, 2 of the subclass, 6 of the sequence".to_owned(),
                "部件标识码为 16 位数字：6 位县级行政区划代码、2 位大类、2 位小类、6 位流水号".to_owned(),
            ));
        }
        let Some(kind) = ManholeKind::parse(&text[6..10]) else {
            return Err(wrong(
                "not_a_manhole",
                format!(
                    "class and subclass {} are not a manhole cover: Huimin keeps class 01 subclasses 0101–0113",
                    &text[6..10]
                ),
                format!("{} 不是井盖类部件（应为 0101–0113）", &text[6..10]),
            ));
        };
        if &text[10..] == "000000" || text[..6].ends_with("00") {
            return Err(wrong(
                "component_code_format",
                "the county digits name a county-level division and the sequence starts at 000001"
                    .to_owned(),
                "前 6 位应为县级行政区划代码，流水号从 000001 起".to_owned(),
            ));
        }
        Ok((ComponentCode(text.to_owned()), kind))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The county-level division's six digits.
    pub fn county(&self) -> &str {
        &self.0[..6]
    }
}

/// A component's state as last reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    Intact,
    Damaged,
    Missing,
}

impl ComponentStatus {
    pub const CODES: [&'static str; 3] = ["intact", "damaged", "missing"];

    pub fn code(self) -> &'static str {
        match self {
            ComponentStatus::Intact => "intact",
            ComponentStatus::Damaged => "damaged",
            ComponentStatus::Missing => "missing",
        }
    }

    pub fn parse(text: &str) -> Option<ComponentStatus> {
        [
            ComponentStatus::Intact,
            ComponentStatus::Damaged,
            ComponentStatus::Missing,
        ]
        .into_iter()
        .find(|status| status.code() == text)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            ComponentStatus::Intact => "完好",
            ComponentStatus::Damaged => "破损",
            ComponentStatus::Missing => "缺失",
        }
    }
}

/// A registered manhole cover.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Component {
    pub code: ComponentCode,
    pub kind: ManholeKind,
    pub location: GeoPoint,
    /// The unit grid the location lies in.
    pub grid: String,
    /// The owner (权属) department's id.
    pub owner: String,
    pub status: ComponentStatus,
    pub note: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

/// A component as sent by its owner department (the code comes from the path).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ComponentDraft {
    pub longitude: Option<f64>,
    pub latitude: Option<f64>,
    pub owner: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// What a valid draft holds: code, kind, location, owner, status, note.
pub type ValidComponent = (
    ComponentCode,
    ManholeKind,
    GeoPoint,
    String,
    ComponentStatus,
    String,
);

/// The longest note kept.
pub const NOTE_LIMIT: usize = 500;

impl ComponentDraft {
    /// The component, or every field at fault. The grid is found by the caller, who
    /// checks the code's county against it ([`county_matches`]).
    pub fn validate(&self, code: &str, city: Bounds) -> Result<ValidComponent, Vec<FieldError>> {
        let mut errors = Vec::new();
        let code = ComponentCode::parse(code)
            .map_err(|error| errors.push(error))
            .ok();
        let location = city
            .place(self.longitude, self.latitude, ("component", "部件"))
            .map_err(|error| errors.push(error))
            .ok();
        let owner = self.owner.trim();
        if owner.is_empty() || owner.chars().count() > 64 {
            errors.push(FieldError::new(
                "owner",
                owner,
                "owner",
                "owner is the id of the department the component belongs to (1 to 64 characters)",
                "owner 为部件权属部门编号（1–64 个字符）",
            ));
        }
        let status_text = self.status.as_deref().map_or("intact", str::trim);
        let status = ComponentStatus::parse(status_text);
        if status.is_none() {
            errors.push(FieldError::not_one_of(
                "status",
                status_text,
                &ComponentStatus::CODES,
            ));
        }
        let note = self.note.as_deref().unwrap_or("").trim();
        if note.chars().count() > NOTE_LIMIT {
            errors.push(FieldError::new(
                "note",
                note,
                "too_long",
                format!("note is at most {NOTE_LIMIT} characters"),
                format!("note 最多 {NOTE_LIMIT} 个字符"),
            ));
        }
        match (code, location, status) {
            (Some((code, kind)), Some(location), Some(status)) if errors.is_empty() => Ok((
                code,
                kind,
                location,
                owner.to_owned(),
                status,
                note.to_owned(),
            )),
            _ => Err(errors),
        }
    }
}

/// Whether a component code's county is the one of the grid its location lies in; the
/// `code` error otherwise.
pub fn county_matches(code: &ComponentCode, grid: &str) -> Result<(), FieldError> {
    if grid.get(..6) == Some(code.county()) {
        return Ok(());
    }
    Err(FieldError::new(
        "code",
        code.as_str(),
        "county_mismatch",
        format!(
            "the code's county {} is not the county of the location's grid {grid}",
            code.county()
        ),
        format!(
            "部件标识码的县级代码 {} 与所在网格 {grid} 不符",
            code.county()
        ),
    ))
}

/// A building's safety grade (房屋危险性等级, JGJ 125-2016 §6.1.4).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum SafetyGrade {
    /// No dangerous member; the structure is safe to use.
    A,
    /// A few dangerous members that do not affect the main structure.
    B,
    /// Part of the load-bearing structure is unsafe: 局部危房.
    C,
    /// The load-bearing structure as a whole is unsafe: 整幢危房.
    D,
}

impl SafetyGrade {
    pub const CODES: [&'static str; 4] = ["A", "B", "C", "D"];

    pub fn code(self) -> &'static str {
        match self {
            SafetyGrade::A => "A",
            SafetyGrade::B => "B",
            SafetyGrade::C => "C",
            SafetyGrade::D => "D",
        }
    }

    pub fn parse(text: &str) -> Option<SafetyGrade> {
        match text.trim().to_ascii_uppercase().as_str() {
            "A" => Some(SafetyGrade::A),
            "B" => Some(SafetyGrade::B),
            "C" => Some(SafetyGrade::C),
            "D" => Some(SafetyGrade::D),
            _ => None,
        }
    }

    /// C and D are dangerous houses (危房).
    pub fn is_dangerous(self) -> bool {
        self >= SafetyGrade::C
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            SafetyGrade::A => "A级（安全）",
            SafetyGrade::B => "B级（基本安全）",
            SafetyGrade::C => "C级（局部危房）",
            SafetyGrade::D => "D级（整幢危房）",
        }
    }
}

/// A building's safety appraisal, as recorded.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Appraisal {
    /// Given by the store; 0 before.
    pub id: u64,
    pub building_id: String,
    pub grade: SafetyGrade,
    pub appraised_on: NaiveDate,
    /// The appraisal body (鉴定机构).
    pub agency: String,
    /// The report's number (鉴定报告编号).
    pub report_no: String,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// An appraisal as sent (the building comes from the path).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AppraisalDraft {
    pub grade: String,
    /// `YYYY-MM-DD`.
    pub appraised_on: String,
    pub agency: String,
    pub report_no: String,
}

impl AppraisalDraft {
    /// Grade, day (not after `today`, not before 1949), agency and report number, or
    /// every field at fault.
    pub fn validate(
        &self,
        today: NaiveDate,
    ) -> Result<(SafetyGrade, NaiveDate, String, String), Vec<FieldError>> {
        let mut errors = Vec::new();
        let grade = SafetyGrade::parse(&self.grade);
        if grade.is_none() {
            errors.push(FieldError::not_one_of(
                "grade",
                &self.grade,
                &SafetyGrade::CODES,
            ));
        }
        let earliest = NaiveDate::from_ymd_opt(1949, 10, 1).unwrap_or(NaiveDate::MIN);
        let day = NaiveDate::parse_from_str(self.appraised_on.trim(), "%Y-%m-%d")
            .ok()
            .filter(|day| (earliest..=today).contains(day));
        if day.is_none() {
            errors.push(FieldError::new(
                "appraised_on",
                &self.appraised_on,
                "invalid_date",
                format!("appraised_on is the day of the appraisal, such as 2026-11-30, not after {today}"),
                format!("appraised_on 为鉴定日期（如 2026-11-30），不得晚于 {today}"),
            ));
        }
        let mut text = |field: &'static str, value: &str, name_zh: &str| {
            let value = value.trim();
            if value.is_empty() || value.chars().count() > 100 {
                errors.push(FieldError::new(
                    field,
                    value,
                    "required",
                    format!("{field} is required (at most 100 characters)"),
                    format!("须填写{name_zh}（最多 100 个字符）"),
                ));
            }
            value.to_owned()
        };
        let agency = text("agency", &self.agency, "鉴定机构");
        let report_no = text("report_no", &self.report_no, "鉴定报告编号");
        match (grade, day) {
            (Some(grade), Some(day)) if errors.is_empty() => Ok((grade, day, agency, report_no)),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds() -> Bounds {
        Bounds {
            min_longitude: 119.2,
            min_latitude: 32.2,
            max_longitude: 119.6,
            max_latitude: 32.5,
        }
    }

    #[test]
    fn a_manhole_code_names_its_county_and_subclass() {
        let (code, kind) = ComponentCode::parse(" 3210020111000042 ").unwrap();
        assert_eq!(code.as_str(), "3210020111000042");
        assert_eq!(code.county(), "321002");
        assert_eq!(kind, ManholeKind::Gas);
        assert_eq!(kind.name_zh(), "燃气井盖");
        for kind in ManholeKind::ALL {
            assert_eq!(ManholeKind::parse(kind.code()), Some(kind));
        }
    }

    #[test]
    fn wrong_component_codes_say_what_was_expected() {
        let code = |text: &str| ComponentCode::parse(text).unwrap_err().code;
        assert_eq!(code("321002011100004"), "component_code_format");
        assert_eq!(code("32100201110000AB"), "component_code_format");
        // 0201 is a road component, not a manhole cover.
        assert_eq!(code("3210020201000001"), "not_a_manhole");
        assert_eq!(code("3210020114000001"), "not_a_manhole");
        assert_eq!(code("3210020101000000"), "component_code_format");
        assert_eq!(code("3210000101000001"), "component_code_format");
    }

    #[test]
    fn a_component_draft_reports_every_wrong_field() {
        let draft = ComponentDraft {
            longitude: Some(120.5),
            latitude: Some(32.3),
            owner: " ".to_owned(),
            status: Some("broken".to_owned()),
            note: Some("井".repeat(NOTE_LIMIT + 1)),
        };
        let errors = draft.validate("32100202", bounds()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|error| error.field).collect();
        assert_eq!(fields, ["code", "location", "owner", "status", "note"]);
        assert!(errors[1].message.contains("longitude 119.2000–119.6000"));

        let good = ComponentDraft {
            longitude: Some(119.4),
            latitude: Some(32.4),
            owner: "gongshui".to_owned(),
            status: None,
            note: None,
        };
        let (code, kind, location, owner, status, note) =
            good.validate("3210020101000007", bounds()).unwrap();
        assert_eq!(
            (kind, status),
            (ManholeKind::Water, ComponentStatus::Intact)
        );
        assert_eq!((owner.as_str(), note.as_str()), ("gongshui", ""));
        assert_eq!(location.longitude, 119.4);
        assert!(county_matches(&code, "321002001001001").is_ok());
        assert_eq!(
            county_matches(&code, "321003001001001").unwrap_err().code,
            "county_mismatch"
        );
    }

    #[test]
    fn grades_c_and_d_are_dangerous() {
        let dangerous: Vec<_> = SafetyGrade::CODES
            .iter()
            .filter_map(|code| SafetyGrade::parse(code))
            .filter(|grade| grade.is_dangerous())
            .collect();
        assert_eq!(dangerous, [SafetyGrade::C, SafetyGrade::D]);
        assert_eq!(SafetyGrade::parse("d"), Some(SafetyGrade::D));
        assert_eq!(SafetyGrade::D.name_zh(), "D级（整幢危房）");
    }

    #[test]
    fn an_appraisal_is_dated_and_sourced() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let draft = AppraisalDraft {
            grade: "C".to_owned(),
            appraised_on: "2026-11-20".to_owned(),
            agency: "扬州市房屋安全鉴定中心".to_owned(),
            report_no: "扬房鉴（2026）第118号".to_owned(),
        };
        let (grade, day, agency, _) = draft.validate(today).unwrap();
        assert_eq!(
            (grade, day.to_string()),
            (SafetyGrade::C, "2026-11-20".to_owned())
        );
        assert_eq!(agency, "扬州市房屋安全鉴定中心");

        let wrong = AppraisalDraft {
            grade: "E".to_owned(),
            appraised_on: "2026-12-03".to_owned(),
            agency: String::new(),
            report_no: "x".repeat(101),
        };
        let fields: Vec<_> = wrong
            .validate(today)
            .unwrap_err()
            .iter()
            .map(|error| error.field)
            .collect();
        assert_eq!(fields, ["grade", "appraised_on", "agency", "report_no"]);
    }
}
