//! The one error type shared by every identifier parser (标识符校验错误).
//!
//! Every variant says *which* character (1-based, counted after trimming
//! surrounding whitespace) is wrong and *what* was expected, because these
//! messages end up in front of clerks correcting an import file: "character 18
//! is '5', expected check character 'X'" is actionable, "invalid ID" is not.
//! Each error also has a stable snake_case [`IdentifierError::code`] for the API
//! and import reports, and a Chinese rendering [`IdentifierError::message_zh`].

use std::fmt;

use chrono::NaiveDate;

/// Which identifier an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierKind {
    /// 公民身份号码 (GB 11643-1999).
    CitizenId,
    /// 统一社会信用代码 (GB 32100-2015).
    CreditCode,
    /// 行政区划代码 (GB/T 2260).
    AreaCode,
    /// 统计用区划代码 below county level (street 9 digits, community 12 digits).
    DivisionCode,
    /// 单元网格代码.
    GridCode,
    /// 手机号码.
    Phone,
    /// 姓名.
    PersonName,
}

impl IdentifierKind {
    /// Stable snake_case name, the prefix of every [`IdentifierError::code`].
    pub fn as_str(self) -> &'static str {
        match self {
            IdentifierKind::CitizenId => "citizen_id",
            IdentifierKind::CreditCode => "credit_code",
            IdentifierKind::AreaCode => "area_code",
            IdentifierKind::DivisionCode => "division_code",
            IdentifierKind::GridCode => "grid_code",
            IdentifierKind::Phone => "phone",
            IdentifierKind::PersonName => "person_name",
        }
    }

    /// The Chinese name used on forms and certificates.
    pub fn name_zh(self) -> &'static str {
        match self {
            IdentifierKind::CitizenId => "公民身份号码",
            IdentifierKind::CreditCode => "统一社会信用代码",
            IdentifierKind::AreaCode => "行政区划代码",
            IdentifierKind::DivisionCode => "乡级/村级区划代码",
            IdentifierKind::GridCode => "单元网格代码",
            IdentifierKind::Phone => "手机号码",
            IdentifierKind::PersonName => "姓名",
        }
    }
}

impl fmt::Display for IdentifierKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            IdentifierKind::CitizenId => "citizen identity number",
            IdentifierKind::CreditCode => "unified social credit code",
            IdentifierKind::AreaCode => "administrative division code",
            IdentifierKind::DivisionCode => "township or community division code",
            IdentifierKind::GridCode => "unit grid code",
            IdentifierKind::Phone => "mobile phone number",
            IdentifierKind::PersonName => "person name",
        })
    }
}

/// How long an identifier must be, in characters (for a phone number: in
/// digits once the country prefix and separators are removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedLength {
    Exactly(usize),
    /// One of a few lengths, e.g. 9 or 12 for a division code.
    OneOf(&'static [usize]),
    /// An inclusive range, e.g. 1 to 30 characters for a name.
    Between(usize, usize),
}

impl ExpectedLength {
    fn render(self, or: &str, to: &str) -> String {
        match self {
            ExpectedLength::Exactly(length) => length.to_string(),
            ExpectedLength::OneOf(lengths) => {
                let parts: Vec<String> = lengths.iter().map(usize::to_string).collect();
                parts.join(or)
            }
            ExpectedLength::Between(low, high) => format!("{low}{to}{high}"),
        }
    }

    /// The expectation in Chinese, e.g. "9或12", "1至30".
    pub fn text_zh(self) -> String {
        self.render("或", "至")
    }
}

impl fmt::Display for ExpectedLength {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.render(" or ", " to "))
    }
}

/// What should have been found at a position. An enum rather than a string so
/// that the English and the Chinese message say exactly the same thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// 0–9.
    Digit,
    /// The GB 32100 alphabet: digits and upper-case letters except I, O, Z, S, V.
    CreditCodeCharacter,
    /// A registration-management-department code of GB 32100 (1–9, A, N, Y).
    RegistrationAuthorityCode,
    /// A province code known to GB/T 2260, or 10 for national registration.
    ProvinceOfRegistration,
    /// A county-level GB/T 2260 code (or a prefecture-level city without counties).
    CountyLevelAreaCode,
    /// A street/town number 001–999.
    NonZeroStreetNumber,
    /// A community/village number 001–999.
    NonZeroCommunityNumber,
    /// A grid sequence number 001–999.
    NonZeroGridSequence,
    /// A 12-digit community code (not a 9-digit street code).
    CommunityCode,
    /// A digit, a space or a hyphen (or a leading '+').
    PhoneCharacter,
    /// The country code 86 after '+'.
    ChinaCountryCode,
    /// Mainland mobile numbers start with 1.
    MobileFirstDigit,
    /// The second digit of a mainland mobile number is 3–9.
    MobileSecondDigit,
    /// A Chinese character or the middle dot '·'.
    ChineseCharacterOrMiddleDot,
}

impl Expected {
    /// The expectation in Chinese.
    pub fn text_zh(self) -> &'static str {
        match self {
            Expected::Digit => "数字0–9",
            Expected::CreditCodeCharacter => "数字或除I、O、Z、S、V以外的大写字母",
            Expected::RegistrationAuthorityCode => "登记管理部门代码（1–9、A、N或Y）",
            Expected::ProvinceOfRegistration => "已知的省级行政区划代码（或国家级登记的10）",
            Expected::CountyLevelAreaCode => "县级行政区划代码（或不设区县的地级市代码）",
            Expected::NonZeroStreetNumber => "乡级区划顺序号001–999",
            Expected::NonZeroCommunityNumber => "村级区划顺序号001–999",
            Expected::NonZeroGridSequence => "单元网格顺序码001–999",
            Expected::CommunityCode => "12位社区（村）级区划代码",
            Expected::PhoneCharacter => "数字、空格或连字符",
            Expected::ChinaCountryCode => "国家代码86",
            Expected::MobileFirstDigit => "数字1",
            Expected::MobileSecondDigit => "数字3–9",
            Expected::ChineseCharacterOrMiddleDot => "汉字或间隔号'·'",
        }
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Expected::Digit => "a digit 0-9",
            Expected::CreditCodeCharacter => {
                "a digit or an upper-case letter other than I, O, Z, S, V"
            }
            Expected::RegistrationAuthorityCode => "a registration authority code (1-9, A, N or Y)",
            Expected::ProvinceOfRegistration => {
                "a known province code (or 10 for national registration)"
            }
            Expected::CountyLevelAreaCode => {
                "a county-level area code (or a prefecture-level city without counties)"
            }
            Expected::NonZeroStreetNumber => "a street or town number 001-999",
            Expected::NonZeroCommunityNumber => "a community or village number 001-999",
            Expected::NonZeroGridSequence => "a grid sequence number 001-999",
            Expected::CommunityCode => "a 12-digit community code",
            Expected::PhoneCharacter => "a digit, a space or a hyphen",
            Expected::ChinaCountryCode => "the country code 86",
            Expected::MobileFirstDigit => "the digit 1",
            Expected::MobileSecondDigit => "a digit 3-9",
            Expected::ChineseCharacterOrMiddleDot => "a Chinese character or the middle dot '·'",
        })
    }
}

/// Why an identifier was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    /// Nothing but whitespace was given.
    #[error("{kind}: empty input")]
    Empty { kind: IdentifierKind },

    /// The identifier has the wrong number of characters.
    #[error("{kind}: expected {expected} characters, found {found}")]
    WrongLength {
        kind: IdentifierKind,
        expected: ExpectedLength,
        found: usize,
    },

    /// A character that cannot stand at this position.
    #[error("{kind}: character {position} is '{}', expected {expected}", .found.escape_debug())]
    InvalidCharacter {
        kind: IdentifierKind,
        position: usize,
        found: char,
        expected: Expected,
    },

    /// A run of characters that is well-formed but not acceptable as a whole.
    #[error("{kind}: characters {start}-{end} are '{found}', expected {expected}")]
    InvalidSegment {
        kind: IdentifierKind,
        start: usize,
        end: usize,
        found: String,
        expected: Expected,
    },

    /// The six-digit administrative division code is in no GB/T 2260 revision
    /// Huimin knows (current or historical).
    #[error("{kind}: '{code}' is not a known GB/T 2260 administrative division code")]
    UnknownAreaCode { kind: IdentifierKind, code: String },

    /// The birth-date digits are not a calendar date on or after 1850-01-01.
    #[error(
        "citizen identity number: characters {start}-{end} are '{text}', \
         which is not a real birth date (YYYYMMDD, year 1850 or later)"
    )]
    InvalidBirthDate {
        start: usize,
        end: usize,
        text: String,
    },

    /// The birth date lies after the `today` the caller passed in.
    #[error("citizen identity number: birth date {date} is after today ({today})")]
    BirthDateInFuture { date: NaiveDate, today: NaiveDate },

    /// The check character does not match the one computed from the others.
    #[error("{kind}: character {position} is '{found}', expected check character '{expected}'")]
    CheckCharacterMismatch {
        kind: IdentifierKind,
        position: usize,
        found: char,
        expected: char,
    },

    /// A character that is valid on its own but not after the character that
    /// precedes it (a GB 32100 organisation type the registration authority
    /// does not issue).
    #[error(
        "{kind}: character {position} is '{found}', which is not valid after '{preceding}'; \
         expected one of {}",
        join_characters(.expected, ", ")
    )]
    InvalidCombination {
        kind: IdentifierKind,
        position: usize,
        found: char,
        preceding: char,
        expected: &'static [char],
    },

    /// A name's middle dot at the start, at the end, or next to another dot.
    #[error(
        "person name: the middle dot at character {position} may not start or end \
         the name or follow another dot"
    )]
    MisplacedMiddleDot { position: usize },

    /// A sequence number passed to a `from_parts` constructor is out of range.
    #[error("{kind}: sequence number {found} is outside {min} to {max}")]
    SequenceOutOfRange {
        kind: IdentifierKind,
        found: u32,
        min: u32,
        max: u32,
    },
}

fn join_characters(characters: &[char], separator: &str) -> String {
    let parts: Vec<String> = characters.iter().map(char::to_string).collect();
    parts.join(separator)
}

/// `concat!` only takes literals, so the stable codes are spelled out per kind.
macro_rules! code_for_kind {
    ($kind:expr, $suffix:literal) => {
        match $kind {
            IdentifierKind::CitizenId => concat!("citizen_id_", $suffix),
            IdentifierKind::CreditCode => concat!("credit_code_", $suffix),
            IdentifierKind::AreaCode => concat!("area_code_", $suffix),
            IdentifierKind::DivisionCode => concat!("division_code_", $suffix),
            IdentifierKind::GridCode => concat!("grid_code_", $suffix),
            IdentifierKind::Phone => concat!("phone_", $suffix),
            IdentifierKind::PersonName => concat!("person_name_", $suffix),
        }
    };
}

impl IdentifierError {
    /// Which identifier the error is about.
    pub fn kind(&self) -> IdentifierKind {
        match self {
            IdentifierError::Empty { kind }
            | IdentifierError::WrongLength { kind, .. }
            | IdentifierError::InvalidCharacter { kind, .. }
            | IdentifierError::InvalidSegment { kind, .. }
            | IdentifierError::UnknownAreaCode { kind, .. }
            | IdentifierError::CheckCharacterMismatch { kind, .. }
            | IdentifierError::InvalidCombination { kind, .. }
            | IdentifierError::SequenceOutOfRange { kind, .. } => *kind,
            IdentifierError::InvalidBirthDate { .. }
            | IdentifierError::BirthDateInFuture { .. } => IdentifierKind::CitizenId,
            IdentifierError::MisplacedMiddleDot { .. } => IdentifierKind::PersonName,
        }
    }

    /// A stable snake_case code such as `citizen_id_check_character`, for the
    /// API and import reports. Never change an existing code: clients match on it.
    pub fn code(&self) -> &'static str {
        match self {
            IdentifierError::Empty { kind } => code_for_kind!(kind, "empty"),
            IdentifierError::WrongLength { kind, .. } => code_for_kind!(kind, "wrong_length"),
            IdentifierError::InvalidCharacter { kind, .. } => {
                code_for_kind!(kind, "invalid_character")
            }
            IdentifierError::InvalidSegment { kind, .. } => code_for_kind!(kind, "invalid_segment"),
            IdentifierError::UnknownAreaCode { kind, .. } => {
                code_for_kind!(kind, "unknown_area_code")
            }
            IdentifierError::InvalidBirthDate { .. } => "citizen_id_invalid_birth_date",
            IdentifierError::BirthDateInFuture { .. } => "citizen_id_birth_date_in_future",
            IdentifierError::CheckCharacterMismatch { kind, .. } => {
                code_for_kind!(kind, "check_character")
            }
            IdentifierError::InvalidCombination { kind, .. } => {
                code_for_kind!(kind, "invalid_combination")
            }
            IdentifierError::MisplacedMiddleDot { .. } => "person_name_misplaced_middle_dot",
            IdentifierError::SequenceOutOfRange { kind, .. } => {
                code_for_kind!(kind, "sequence_out_of_range")
            }
        }
    }

    /// The same message in Chinese, e.g. "公民身份号码第18位为'5'，校验码应为'X'".
    pub fn message_zh(&self) -> String {
        match self {
            IdentifierError::Empty { kind } => format!("{}为空", kind.name_zh()),
            IdentifierError::WrongLength {
                kind,
                expected,
                found,
            } => {
                // Names are counted in characters (字), codes in positions (位).
                let unit = if *kind == IdentifierKind::PersonName {
                    "个字"
                } else {
                    "位"
                };
                format!(
                    "{}应为{}{unit}，实际为{found}{unit}",
                    kind.name_zh(),
                    expected.text_zh()
                )
            }
            IdentifierError::InvalidCharacter {
                kind,
                position,
                found,
                expected,
            } => format!(
                "{}第{position}位为'{}'，应为{}",
                kind.name_zh(),
                found.escape_debug(),
                expected.text_zh()
            ),
            IdentifierError::InvalidSegment {
                kind,
                start,
                end,
                found,
                expected,
            } => format!(
                "{}第{start}至{end}位为'{found}'，应为{}",
                kind.name_zh(),
                expected.text_zh()
            ),
            IdentifierError::UnknownAreaCode { kind, code } => {
                format!(
                    "{}中的'{code}'不是已知的GB/T 2260行政区划代码",
                    kind.name_zh()
                )
            }
            IdentifierError::InvalidBirthDate { start, end, text } => format!(
                "公民身份号码第{start}至{end}位为'{text}'，不是有效的出生日期（YYYYMMDD，1850年及以后）"
            ),
            IdentifierError::BirthDateInFuture { date, today } => {
                format!("公民身份号码的出生日期{date}晚于今天（{today}）")
            }
            IdentifierError::CheckCharacterMismatch {
                kind,
                position,
                found,
                expected,
            } => format!(
                "{}第{position}位为'{found}'，校验码应为'{expected}'",
                kind.name_zh()
            ),
            IdentifierError::InvalidCombination {
                kind,
                position,
                found,
                preceding,
                expected,
            } => format!(
                "{}第{position}位为'{found}'，不能跟在'{preceding}'之后，应为{}之一",
                kind.name_zh(),
                join_characters(expected, "、")
            ),
            IdentifierError::MisplacedMiddleDot { position } => {
                format!("姓名第{position}位的间隔号'·'不能位于开头或结尾，也不能与另一间隔号相连")
            }
            IdentifierError::SequenceOutOfRange {
                kind,
                found,
                min,
                max,
            } => format!("{}的顺序码{found}超出范围{min}至{max}", kind.name_zh()),
        }
    }
}
