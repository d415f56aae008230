//! 公民身份号码 (citizen identity number, GB 11643-1999): the 18-character
//! number on the resident identity card, and the upgrade of the 15-digit
//! numbers issued before 1999.
//!
//! Layout (1-based positions):
//!
//! | positions | meaning                                                   |
//! |-----------|-----------------------------------------------------------|
//! | 1–6       | 地址码: GB/T 2260 code of the place of first registration  |
//! | 7–14      | 出生日期码: YYYYMMDD                                        |
//! | 15–17     | 顺序码: sequence; the 17th digit is odd for men, even for women |
//! | 18        | 校验码: ISO 7064 MOD 11-2 check character, 0–9 or X        |
//!
//! The area code may be historical: numbers are never reissued when a county is
//! abolished, so the lookup accepts every code in the embedded GB/T 2260 table.

use std::fmt;

use chrono::{Datelike, NaiveDate};

use super::area_code::AreaCode;
use super::error::{IdentifierError, IdentifierKind};
use super::parsing::{number, require_digits, require_length, trimmed_characters};

const KIND: IdentifierKind = IdentifierKind::CitizenId;

/// ISO 7064 MOD 11-2 weights for positions 1–17 (2^(18-i) mod 11).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// The earliest birth year accepted. Numbers were first issued in 1984, to
/// living people; 1850 leaves room for historical records without accepting
/// obviously mistyped years such as 0949.
const EARLIEST_BIRTH_YEAR: i32 = 1850;

/// Sex as encoded in the 17th digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// 男 or 女.
    pub fn name_zh(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
}

impl fmt::Display for Sex {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Sex::Male => "male",
            Sex::Female => "female",
        })
    }
}

/// A valid 18-character citizen identity number; an `x` check character is
/// stored upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CitizenId {
    text: String,
    area: AreaCode,
    birth_date: NaiveDate,
}

/// The check character for the first 17 digits (callers pass digits only).
fn check_character(first_seventeen: &[char]) -> char {
    let sum: u32 = first_seventeen
        .iter()
        .zip(WEIGHTS)
        .map(|(&digit, weight)| digit.to_digit(10).unwrap_or(0) * weight)
        .sum();
    match (12 - sum % 11) % 11 {
        10 => 'X',
        value => char::from_digit(value, 10).unwrap_or('0'),
    }
}

/// Looks up the six area digits at 0-based `start` (callers have checked they are
/// digits).
fn area_at(characters: &[char], start: usize) -> Result<AreaCode, IdentifierError> {
    let digits = &characters[start..start + 6];
    AreaCode::lookup_number(number(digits)).ok_or_else(|| IdentifierError::UnknownAreaCode {
        kind: KIND,
        code: digits.iter().collect(),
    })
}

/// Reads YYYYMMDD; `start` is the 0-based index of the first year digit in the
/// caller's input, used for positions in the error.
fn birth_date_from(digits: &[char], start: usize) -> Result<NaiveDate, IdentifierError> {
    let year = number(&digits[0..4]) as i32;
    let month = number(&digits[4..6]);
    let day = number(&digits[6..8]);
    NaiveDate::from_ymd_opt(year, month, day)
        .filter(|date| date.year() >= EARLIEST_BIRTH_YEAR)
        .ok_or_else(|| IdentifierError::InvalidBirthDate {
            start: start + 1,
            end: start + digits.len(),
            text: digits.iter().collect(),
        })
}

impl CitizenId {
    /// Parses an 18-character number without reference to the current date.
    ///
    /// Use [`CitizenId::parse_as_of`] where "born in the future" must also be
    /// rejected; this function is the one used when deserialising, because a
    /// stored value must not become invalid depending on the day it is read.
    pub fn parse(input: &str) -> Result<CitizenId, IdentifierError> {
        let mut characters = trimmed_characters(KIND, input)?;
        require_length(KIND, &characters, 18)?;
        require_digits(KIND, &characters, 0..17)?;
        // Any wrong 18th character, also one that is neither a digit nor X, is
        // reported as a check-character mismatch: naming the expected check
        // character is the most useful thing to tell the person typing.
        if characters[17] == 'x' {
            characters[17] = 'X';
        }

        let area = area_at(&characters, 0)?;
        let birth_date = birth_date_from(&characters[6..14], 6)?;
        let expected = check_character(&characters[..17]);
        if characters[17] != expected {
            return Err(IdentifierError::CheckCharacterMismatch {
                kind: KIND,
                position: 18,
                found: characters[17],
                expected,
            });
        }
        Ok(CitizenId {
            text: characters.into_iter().collect(),
            area,
            birth_date,
        })
    }

    /// Parses like [`CitizenId::parse`] and also rejects a birth date after
    /// `today`. The domain never reads the clock: the caller passes today's
    /// date (in Asia/Shanghai).
    pub fn parse_as_of(input: &str, today: NaiveDate) -> Result<CitizenId, IdentifierError> {
        let citizen_id = CitizenId::parse(input)?;
        if citizen_id.birth_date > today {
            return Err(IdentifierError::BirthDateInFuture {
                date: citizen_id.birth_date,
                today,
            });
        }
        Ok(citizen_id)
    }

    /// Upgrades a 15-digit number issued before GB 11643-1999 (6 area digits,
    /// YYMMDD with an implied "19", 3 sequence digits, no check character) to
    /// its 18-character form, e.g. 110105491231002 → 11010519491231002X.
    ///
    /// The implied century is always 19: the rare 15-digit numbers of people
    /// born before 1900 cannot be told apart and are upgraded as 19YY.
    pub fn upgrade_legacy(input: &str) -> Result<CitizenId, IdentifierError> {
        let characters = trimmed_characters(KIND, input)?;
        require_length(KIND, &characters, 15)?;
        require_digits(KIND, &characters, 0..15)?;
        let area = area_at(&characters, 0)?;
        let mut date_digits = vec!['1', '9'];
        date_digits.extend_from_slice(&characters[6..12]);
        let birth_date =
            birth_date_from(&date_digits, 6).map_err(|_| IdentifierError::InvalidBirthDate {
                start: 7,
                end: 12,
                text: characters[6..12].iter().collect(),
            })?;
        let mut upgraded: Vec<char> = characters[..6].to_vec();
        upgraded.extend_from_slice(&date_digits);
        upgraded.extend_from_slice(&characters[12..15]);
        upgraded.push(check_character(&upgraded));
        Ok(CitizenId {
            text: upgraded.into_iter().collect(),
            area,
            birth_date,
        })
    }

    /// Builds a number from its parts and computes the check character; used by
    /// the synthetic city generator. `sequence` is the three-digit 顺序码
    /// (0–999); its last digit decides the sex (odd = male).
    pub fn from_parts(
        area: &AreaCode,
        birth: NaiveDate,
        sequence: u16,
    ) -> Result<CitizenId, IdentifierError> {
        if sequence > 999 {
            return Err(IdentifierError::SequenceOutOfRange {
                kind: KIND,
                found: u32::from(sequence),
                min: 0,
                max: 999,
            });
        }
        let year = birth.year();
        if !(EARLIEST_BIRTH_YEAR..=9999).contains(&year) {
            return Err(IdentifierError::InvalidBirthDate {
                start: 7,
                end: 14,
                text: birth.format("%Y%m%d").to_string(),
            });
        }
        let body = format!(
            "{}{:04}{:02}{:02}{:03}",
            area.as_str(),
            year,
            birth.month(),
            birth.day(),
            sequence
        );
        let mut characters: Vec<char> = body.chars().collect();
        characters.push(check_character(&characters));
        Ok(CitizenId {
            text: characters.into_iter().collect(),
            area: *area,
            birth_date: birth,
        })
    }

    /// The 18 characters, with an upper-case X.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Date of birth (positions 7–14).
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// Sex from the 17th digit: odd is male, even is female.
    pub fn sex(&self) -> Sex {
        if self.sequence() % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The GB/T 2260 code of the place of first registration (positions 1–6);
    /// possibly a historical code.
    pub fn area_code(&self) -> AreaCode {
        self.area
    }

    /// The three-digit 顺序码 (positions 15–17).
    pub fn sequence(&self) -> u16 {
        // The text is ASCII digits (and a final X) by construction.
        self.text.as_bytes()[14..17]
            .iter()
            .fold(0, |sequence, digit| sequence * 10 + u16::from(digit - b'0'))
    }

    /// The first 17 digits as one number: a compact key for the whole number, whose
    /// check character follows from them (two numbers are equal exactly when their keys
    /// are).
    pub fn key(&self) -> u64 {
        self.text.as_bytes()[..17]
            .iter()
            .fold(0, |key, digit| key * 10 + u64::from(digit - b'0'))
    }

    /// The check character (position 18).
    pub fn check_character(&self) -> char {
        self.text.chars().last().unwrap_or('0')
    }
}

impl fmt::Display for CitizenId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

super::string_serde!(
    CitizenId,
    CitizenId::parse,
    "an 18-character citizen identity number"
);
