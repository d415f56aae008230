//! The population registry's record (人口基础信息): one person keyed by the 18-character
//! citizen identity number.
//!
//! Sex and birth date are derived from the identity number; a draft that states them must
//! agree with it. Ethnicity follows GB 3304 (names and two-digit codes).

use crate::identifiers::{CitizenId, GridCode, PersonName, Phone, Sex};
use crate::registry::FieldError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A person in the population registry.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub citizen_id: CitizenId,
    pub name: PersonName,
    pub ethnicity: Ethnicity,
    /// 户籍地址 — the household-registration address.
    pub hukou_address: String,
    /// 居住地址 — where the person actually lives.
    pub residence_address: String,
    pub phone: Option<Phone>,
    pub life_status: LifeStatus,
    pub tags: BTreeSet<PersonTag>,
    /// The unit grid of the residence, when known.
    pub grid: Option<GridCode>,
}

impl Person {
    pub fn sex(&self) -> Sex {
        self.citizen_id.sex()
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.citizen_id.birth_date()
    }
}

/// What a form, an API body or an import row says about a person, unvalidated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PersonDraft {
    pub citizen_id: String,
    pub name: String,
    /// Optional; when given it must agree with the identity number (`male`/`female`/男/女).
    pub sex: Option<String>,
    /// Optional; when given (`YYYY-MM-DD`) it must agree with the identity number.
    pub birth_date: Option<String>,
    /// A GB 3304 name (`汉族`, `汉`) or two-digit code (`01`). Defaults to 汉族 when empty.
    pub ethnicity: Option<String>,
    pub hukou_address: String,
    pub residence_address: String,
    pub phone: Option<String>,
    /// `alive` (default), `deceased`, `emigrated`.
    pub life_status: Option<String>,
    pub tags: Vec<String>,
    pub grid: Option<String>,
}

impl PersonDraft {
    /// Validates every field and returns the person, or every error found (not just the
    /// first), so an import report can list them all. `today` is the Shanghai date of the
    /// request: birth dates after it are refused.
    pub fn validate(&self, today: NaiveDate) -> Result<Person, Vec<FieldError>> {
        let mut errors = Vec::new();
        let citizen_id = match CitizenId::parse_as_of(&self.citizen_id, today) {
            Ok(id) => Some(id),
            Err(error) => {
                errors.push(FieldError::identifier(
                    "citizen_id",
                    &self.citizen_id,
                    &error,
                ));
                None
            }
        };
        let name = PersonName::parse(&self.name)
            .map_err(|error| errors.push(FieldError::identifier("name", &self.name, &error)))
            .ok();
        if let (Some(id), Some(sex)) = (&citizen_id, non_empty(&self.sex)) {
            match parse_sex(sex) {
                Some(stated) if stated == id.sex() => {}
                Some(_) => errors.push(FieldError::new(
                    "sex",
                    sex,
                    "sex_disagrees_with_citizen_id",
                    format!(
                        "sex '{sex}' disagrees with the identity number, which says {}",
                        sex_en(id.sex())
                    ),
                    format!(
                        "性别“{sex}”与公民身份号码不符（号码显示为{}）",
                        sex_zh(id.sex())
                    ),
                )),
                None => errors.push(FieldError::not_one_of(
                    "sex",
                    sex,
                    &["male", "female", "男", "女"],
                )),
            }
        }
        if let (Some(id), Some(text)) = (&citizen_id, non_empty(&self.birth_date)) {
            match parse_iso_date(text) {
                Ok(date) if date == id.birth_date() => {}
                Ok(_) => errors.push(FieldError::new(
                    "birth_date",
                    text,
                    "birth_date_disagrees_with_citizen_id",
                    format!(
                        "birth date {text} disagrees with the identity number, which says {}",
                        id.birth_date()
                    ),
                    format!(
                        "出生日期{text}与公民身份号码不符（号码显示为{}）",
                        id.birth_date()
                    ),
                )),
                Err(_) => errors.push(FieldError::new(
                    "birth_date",
                    text,
                    "invalid_date",
                    format!("birth date '{text}' is not a date in the form YYYY-MM-DD"),
                    format!("出生日期“{text}”不是 YYYY-MM-DD 格式的日期"),
                )),
            }
        }
        let ethnicity = match non_empty(&self.ethnicity) {
            None => Some(Ethnicity::HAN),
            Some(text) => Ethnicity::parse(text).or_else(|| {
                errors.push(FieldError::new(
                    "ethnicity",
                    text,
                    "unknown_ethnicity",
                    format!("'{text}' is not an ethnic group of GB 3304 (a name such as 汉族 or a code 01–56, 97, 98)"),
                    format!("“{text}”不是 GB 3304 中的民族名称或代码"),
                ));
                None
            }),
        };
        let phone = match non_empty(&self.phone) {
            None => None,
            Some(text) => match Phone::parse(text) {
                Ok(phone) => Some(phone),
                Err(error) => {
                    errors.push(FieldError::identifier("phone", text, &error));
                    None
                }
            },
        };
        let life_status = match non_empty(&self.life_status) {
            None => Some(LifeStatus::Alive),
            Some(text) => LifeStatus::parse(text).or_else(|| {
                errors.push(FieldError::not_one_of(
                    "life_status",
                    text,
                    LifeStatus::CODES,
                ));
                None
            }),
        };
        let mut tags = BTreeSet::new();
        for text in self
            .tags
            .iter()
            .map(|tag| tag.trim())
            .filter(|tag| !tag.is_empty())
        {
            match PersonTag::parse(text) {
                Some(tag) => {
                    tags.insert(tag);
                }
                None => errors.push(FieldError::not_one_of("tags", text, PersonTag::CODES)),
            }
        }
        let grid = match non_empty(&self.grid) {
            None => None,
            Some(text) => match GridCode::parse(text) {
                Ok(grid) => Some(grid),
                Err(error) => {
                    errors.push(FieldError::identifier("grid", text, &error));
                    None
                }
            },
        };
        for (field, value) in [
            ("hukou_address", &self.hukou_address),
            ("residence_address", &self.residence_address),
        ] {
            if value.chars().count() > 200 {
                errors.push(FieldError::new(
                    field,
                    value,
                    "too_long",
                    format!("{field} has more than 200 characters"),
                    format!("{field} 超过200个字符"),
                ));
            }
        }
        match (citizen_id, name, ethnicity, life_status) {
            (Some(citizen_id), Some(name), Some(ethnicity), Some(life_status))
                if errors.is_empty() =>
            {
                Ok(Person {
                    citizen_id,
                    name,
                    ethnicity,
                    hukou_address: self.hukou_address.trim().to_owned(),
                    residence_address: self.residence_address.trim().to_owned(),
                    phone,
                    life_status,
                    tags,
                    grid,
                })
            }
            _ => Err(errors),
        }
    }
}

impl From<&Person> for PersonDraft {
    fn from(person: &Person) -> Self {
        PersonDraft {
            citizen_id: person.citizen_id.as_str().to_owned(),
            name: person.name.as_str().to_owned(),
            sex: Some(sex_en(person.sex()).to_owned()),
            birth_date: Some(person.birth_date().to_string()),
            ethnicity: Some(person.ethnicity.name().to_owned()),
            hukou_address: person.hukou_address.clone(),
            residence_address: person.residence_address.clone(),
            phone: person.phone.as_ref().map(|phone| phone.as_str().to_owned()),
            life_status: Some(person.life_status.code().to_owned()),
            tags: person
                .tags
                .iter()
                .map(|tag| tag.code().to_owned())
                .collect(),
            grid: person.grid.as_ref().map(|grid| grid.as_str().to_owned()),
        }
    }
}

/// A date written `YYYY-MM-DD`. The common exact form is read directly; anything else
/// goes to chrono's parser, whose answer it is in either case.
fn parse_iso_date(text: &str) -> chrono::ParseResult<NaiveDate> {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes[range].iter().try_fold(0_u32, |number, byte| {
            byte.is_ascii_digit()
                .then(|| number * 10 + u32::from(byte - b'0'))
        })
    };
    if bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10))
        && let Some(date) = NaiveDate::from_ymd_opt(year as i32, month, day)
    {
        return Ok(date);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

fn parse_sex(text: &str) -> Option<Sex> {
    match text {
        "male" | "m" | "M" | "男" | "1" => Some(Sex::Male),
        "female" | "f" | "F" | "女" | "2" => Some(Sex::Female),
        _ => None,
    }
}

fn sex_en(sex: Sex) -> &'static str {
    match sex {
        Sex::Male => "male",
        Sex::Female => "female",
    }
}

fn sex_zh(sex: Sex) -> &'static str {
    match sex {
        Sex::Male => "男",
        Sex::Female => "女",
    }
}

/// Life status (人员状态).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LifeStatus {
    Alive,
    Deceased,
    Emigrated,
}

impl LifeStatus {
    pub const CODES: &'static [&'static str] = &["alive", "deceased", "emigrated"];

    pub fn parse(text: &str) -> Option<LifeStatus> {
        match text {
            "alive" | "正常" | "在世" => Some(LifeStatus::Alive),
            "deceased" | "死亡" => Some(LifeStatus::Deceased),
            "emigrated" | "迁出" | "出国" => Some(LifeStatus::Emigrated),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            LifeStatus::Alive => "alive",
            LifeStatus::Deceased => "deceased",
            LifeStatus::Emigrated => "emigrated",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            LifeStatus::Alive => "正常",
            LifeStatus::Deceased => "死亡",
            LifeStatus::Emigrated => "迁出",
        }
    }
}

/// Tags that grid workers and departments put on people who need attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PersonTag {
    /// 独居老人
    ElderlyLivingAlone,
    /// 残疾人
    Disability,
    /// 社区关爱对象
    CommunityCare,
    /// 流动人口
    FloatingPopulation,
    /// 退役军人
    Veteran,
}

impl PersonTag {
    pub const CODES: &'static [&'static str] = &[
        "elderly_living_alone",
        "disability",
        "community_care",
        "floating_population",
        "veteran",
    ];
    const ALL: [PersonTag; 5] = [
        PersonTag::ElderlyLivingAlone,
        PersonTag::Disability,
        PersonTag::CommunityCare,
        PersonTag::FloatingPopulation,
        PersonTag::Veteran,
    ];

    pub fn parse(text: &str) -> Option<PersonTag> {
        PersonTag::ALL
            .into_iter()
            .find(|tag| tag.code() == text || tag.label_zh() == text)
    }

    pub fn code(self) -> &'static str {
        match self {
            PersonTag::ElderlyLivingAlone => "elderly_living_alone",
            PersonTag::Disability => "disability",
            PersonTag::CommunityCare => "community_care",
            PersonTag::FloatingPopulation => "floating_population",
            PersonTag::Veteran => "veteran",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            PersonTag::ElderlyLivingAlone => "独居老人",
            PersonTag::Disability => "残疾人",
            PersonTag::CommunityCare => "社区关爱对象",
            PersonTag::FloatingPopulation => "流动人口",
            PersonTag::Veteran => "退役军人",
        }
    }
}

/// An ethnic group of GB 3304-1991 (中国各民族名称的罗马字母拼写法和代码), stored by its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ethnicity(u8);

/// GB 3304 names in code order: index + 1 is the code.
const ETHNIC_GROUPS: [&str; 56] = [
    "汉",
    "蒙古",
    "回",
    "藏",
    "维吾尔",
    "苗",
    "彝",
    "壮",
    "布依",
    "朝鲜",
    "满",
    "侗",
    "瑶",
    "白",
    "土家",
    "哈尼",
    "哈萨克",
    "傣",
    "黎",
    "傈僳",
    "佤",
    "畲",
    "高山",
    "拉祜",
    "水",
    "东乡",
    "纳西",
    "景颇",
    "柯尔克孜",
    "土",
    "达斡尔",
    "仫佬",
    "羌",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "塔吉克",
    "怒",
    "乌孜别克",
    "俄罗斯",
    "鄂温克",
    "德昂",
    "保安",
    "裕固",
    "京",
    "塔塔尔",
    "独龙",
    "鄂伦春",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
];

impl Ethnicity {
    pub const HAN: Ethnicity = Ethnicity(1);
    const UNRECOGNISED: u8 = 97;
    const FOREIGN_ORIGIN: u8 = 98;

    /// From a GB 3304 code (`01`, `1`), a name with or without 族 (`蒙古族`, `蒙古`).
    pub fn parse(text: &str) -> Option<Ethnicity> {
        let text = text.trim();
        if let Ok(code) = text.parse::<u8>() {
            return Ethnicity::from_code(code);
        }
        match text {
            "其他" | "未识别民族" | "其他未识别民族" => {
                return Some(Ethnicity(Self::UNRECOGNISED));
            }
            "外国血统" | "外国血统中国籍人士" => {
                return Some(Ethnicity(Self::FOREIGN_ORIGIN));
            }
            _ => {}
        }
        let bare = text.strip_suffix('族').unwrap_or(text);
        ETHNIC_GROUPS
            .iter()
            .position(|name| *name == bare)
            .and_then(|index| u8::try_from(index + 1).ok())
            .map(Ethnicity)
    }

    pub fn from_code(code: u8) -> Option<Ethnicity> {
        let known =
            (1..=56).contains(&code) || code == Self::UNRECOGNISED || code == Self::FOREIGN_ORIGIN;
        known.then_some(Ethnicity(code))
    }

    pub fn code(self) -> u8 {
        self.0
    }

    /// The full name, e.g. `蒙古族`.
    pub fn name(self) -> &'static str {
        const FULL_NAMES: [&str; 56] = [
            "汉族",
            "蒙古族",
            "回族",
            "藏族",
            "维吾尔族",
            "苗族",
            "彝族",
            "壮族",
            "布依族",
            "朝鲜族",
            "满族",
            "侗族",
            "瑶族",
            "白族",
            "土家族",
            "哈尼族",
            "哈萨克族",
            "傣族",
            "黎族",
            "傈僳族",
            "佤族",
            "畲族",
            "高山族",
            "拉祜族",
            "水族",
            "东乡族",
            "纳西族",
            "景颇族",
            "柯尔克孜族",
            "土族",
            "达斡尔族",
            "仫佬族",
            "羌族",
            "布朗族",
            "撒拉族",
            "毛南族",
            "仡佬族",
            "锡伯族",
            "阿昌族",
            "普米族",
            "塔吉克族",
            "怒族",
            "乌孜别克族",
            "俄罗斯族",
            "鄂温克族",
            "德昂族",
            "保安族",
            "裕固族",
            "京族",
            "塔塔尔族",
            "独龙族",
            "鄂伦春族",
            "赫哲族",
            "门巴族",
            "珞巴族",
            "基诺族",
        ];
        match self.0 {
            Self::UNRECOGNISED => "其他未识别民族",
            Self::FOREIGN_ORIGIN => "外国血统中国籍人士",
            code => FULL_NAMES
                .get(usize::from(code).saturating_sub(1))
                .copied()
                .unwrap_or("其他未识别民族"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The direct reading of `YYYY-MM-DD` agrees with chrono's parser on every input:
        /// well-formed dates, impossible ones (month 13, 30 February) and near misses.
        #[test]
        fn iso_dates_read_as_chrono_reads_them(
            text in proptest::prop_oneof![
                "[0-9]{4}-[0-1][0-9]-[0-3][0-9]",
                "[0-9]{4}-[0-9]{2}-[0-9]{2}",
                "[0-9+ -]{1,12}",
                "[0-9]{4}-[0-9]-[0-9]{1,2}",
            ]
        ) {
            proptest::prop_assert_eq!(
                parse_iso_date(&text).ok(),
                NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok()
            );
        }
    }

    #[test]
    fn ethnicity_accepts_names_codes_and_bare_names() {
        assert_eq!(Ethnicity::parse("汉族"), Some(Ethnicity::HAN));
        assert_eq!(Ethnicity::parse("01"), Some(Ethnicity::HAN));
        assert_eq!(
            Ethnicity::parse("蒙古").map(Ethnicity::name),
            Some("蒙古族")
        );
        assert_eq!(Ethnicity::parse("56").map(Ethnicity::name), Some("基诺族"));
        assert_eq!(
            Ethnicity::parse("98").map(Ethnicity::name),
            Some("外国血统中国籍人士")
        );
        assert_eq!(Ethnicity::parse("57"), None);
        assert_eq!(Ethnicity::parse("火星族"), None);
    }

    #[test]
    fn tags_round_trip_through_codes_and_chinese_labels() {
        for code in PersonTag::CODES {
            let tag = PersonTag::parse(code).expect("every listed code parses");
            assert_eq!(tag.code(), *code);
            assert_eq!(PersonTag::parse(tag.label_zh()), Some(tag));
        }
    }
}
