//! 统计用区划代码 below county level (乡级/村级区划代码): the 9-digit code of a
//! street office, town or township (街道/镇/乡) and the 12-digit code of a
//! community or village committee (社区居委会/村委会), built on a county-level
//! GB/T 2260 code as in the National Bureau of Statistics' division codes
//! (GB/T 10114 for the township segment).
//!
//! Layout: 6 digits county-level GB/T 2260 code + 3 digits street/town number
//! (001–999) [+ 3 digits community/village number (001–999)].
//!
//! Validation is structural: the six-digit prefix must be a known county-level
//! code (or a prefecture-level city without counties, like 东莞市 441900, whose
//! towns hang directly below it) and neither number may be 000. Huimin does
//! not embed the ~700 000 street and community names, so it cannot tell
//! whether a particular street number has actually been assigned. Codes of
//! development zones that exist only in the statistical table (e.g. 130171)
//! are rejected because their prefix is not a GB/T 2260 code.

use std::fmt;

use super::area_code::AreaCode;
use super::error::{Expected, ExpectedLength, IdentifierError, IdentifierKind};
use super::parsing::{number, require_digits, trimmed_characters};

const KIND: IdentifierKind = IdentifierKind::DivisionCode;

/// Street (9 digits) or community (12 digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DivisionLevel {
    /// 乡级: street office, town or township.
    Street,
    /// 村级: community residents' committee or village committee.
    Community,
}

/// A structurally valid 9-digit street or 12-digit community code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DivisionCode {
    text: String,
    county: AreaCode,
}

/// Checks the county-level prefix (0-based indices 0..6 of `characters`,
/// already known to be digits). `kind` lets the grid code reuse the check.
pub(crate) fn county_prefix(
    kind: IdentifierKind,
    characters: &[char],
) -> Result<AreaCode, IdentifierError> {
    let code: String = characters[..6].iter().collect();
    let Some(county) = AreaCode::lookup(&code) else {
        return Err(IdentifierError::UnknownAreaCode { kind, code });
    };
    if !county.is_county_level_unit() {
        return Err(IdentifierError::InvalidSegment {
            kind,
            start: 1,
            end: 6,
            found: code,
            expected: Expected::CountyLevelAreaCode,
        });
    }
    Ok(county)
}

/// Rejects an all-zero three-digit number at 0-based `start`.
pub(crate) fn require_nonzero(
    kind: IdentifierKind,
    characters: &[char],
    start: usize,
    expected: Expected,
) -> Result<(), IdentifierError> {
    let segment = &characters[start..start + 3];
    if number(segment) == 0 {
        return Err(IdentifierError::InvalidSegment {
            kind,
            start: start + 1,
            end: start + 3,
            found: segment.iter().collect(),
            expected,
        });
    }
    Ok(())
}

fn require_sequence(value: u16) -> Result<(), IdentifierError> {
    if (1..=999).contains(&value) {
        Ok(())
    } else {
        Err(IdentifierError::SequenceOutOfRange {
            kind: KIND,
            found: u32::from(value),
            min: 1,
            max: 999,
        })
    }
}

impl DivisionCode {
    /// Wraps digits another parser has validated with the same rules.
    pub(crate) fn from_validated(text: String, county: AreaCode) -> DivisionCode {
        DivisionCode { text, county }
    }

    /// Parses a 9-digit street or 12-digit community code.
    pub fn parse(input: &str) -> Result<DivisionCode, IdentifierError> {
        let characters = trimmed_characters(KIND, input)?;
        if characters.len() != 9 && characters.len() != 12 {
            return Err(IdentifierError::WrongLength {
                kind: KIND,
                expected: ExpectedLength::OneOf(&[9, 12]),
                found: characters.len(),
            });
        }
        require_digits(KIND, &characters, 0..characters.len())?;
        let county = county_prefix(KIND, &characters)?;
        require_nonzero(KIND, &characters, 6, Expected::NonZeroStreetNumber)?;
        if characters.len() == 12 {
            require_nonzero(KIND, &characters, 9, Expected::NonZeroCommunityNumber)?;
        }
        Ok(DivisionCode {
            text: characters.into_iter().collect(),
            county,
        })
    }

    /// Builds a street code (`community == None`) or a community code from a
    /// county-level area and numbers 1–999; used by the synthetic city generator.
    pub fn from_parts(
        county: &AreaCode,
        street: u16,
        community: Option<u16>,
    ) -> Result<DivisionCode, IdentifierError> {
        let county_characters: Vec<char> = county.as_str().chars().collect();
        let county = county_prefix(KIND, &county_characters)?;
        require_sequence(street)?;
        let mut text = format!("{}{street:03}", county.as_str());
        if let Some(community) = community {
            require_sequence(community)?;
            text.push_str(&format!("{community:03}"));
        }
        Ok(DivisionCode { text, county })
    }

    /// The 9 or 12 digits.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Street (9 digits) or community (12 digits).
    pub fn level(&self) -> DivisionLevel {
        if self.text.len() == 12 {
            DivisionLevel::Community
        } else {
            DivisionLevel::Street
        }
    }

    /// The county-level GB/T 2260 division (digits 1–6).
    pub fn county(&self) -> AreaCode {
        self.county
    }

    /// For a community, the street it belongs to (digits 1–9); `None` for a street.
    pub fn street(&self) -> Option<DivisionCode> {
        match self.level() {
            DivisionLevel::Community => Some(DivisionCode {
                text: self.text.get(..9).unwrap_or_default().to_owned(),
                county: self.county,
            }),
            DivisionLevel::Street => None,
        }
    }

    /// The street/town number (digits 7–9). Its first digit is the GB/T 10114
    /// category: 0 street office, 1 town, 2–3 township, 4–5 farm or similar.
    pub fn street_number(&self) -> u16 {
        let digits: Vec<char> = self.text.chars().skip(6).take(3).collect();
        number(&digits) as u16
    }

    /// The community/village number (digits 10–12), `None` for a street.
    pub fn community_number(&self) -> Option<u16> {
        (self.level() == DivisionLevel::Community).then(|| {
            let digits: Vec<char> = self.text.chars().skip(9).take(3).collect();
            number(&digits) as u16
        })
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

super::string_serde!(
    DivisionCode,
    DivisionCode::parse,
    "a 9-digit street or 12-digit community code"
);
