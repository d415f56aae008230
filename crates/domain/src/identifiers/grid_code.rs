//! 单元网格代码 (unit grid code): the identifier of a unit grid (单元网格), the
//! smallest area of grid-based city management (网格化城市管理).
//!
//! Layout, 15 digits: the 12-digit community code (6 county-level GB/T 2260
//! digits + 3 street/town digits + 3 community/village digits, see
//! [`DivisionCode`]) followed by a 3-digit grid sequence number 001–999,
//! numbered within the community.
//!
//! Provenance of the layout: the national standard GB/T 30428.1-2013
//! (数字化城市管理信息系统 第1部分：单元网格) could not be consulted directly.
//! The 6 + 3 + 3 + 3 layout is the one of Beijing's local standard for unit
//! grids (DB11, 网格化城市管理系统单元网格划分: "单元网格标识码由15位数字组成：
//! 6位区级及区级以上行政区划代码、3位街道（乡镇）代码、3位社区（村）代码和3位单元网格顺序码"),
//! which implements the national one. If GB/T 30428.1 turns out to allow a
//! four-digit sequence, widen this type rather than truncating sequences.

use std::fmt;

use super::division_code::{DivisionCode, DivisionLevel, county_prefix, require_nonzero};
use super::error::{Expected, IdentifierError, IdentifierKind};
use super::parsing::{require_digits, require_length, trimmed_characters};

const KIND: IdentifierKind = IdentifierKind::GridCode;

/// A structurally valid 15-digit unit grid code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GridCode {
    text: String,
    community: DivisionCode,
}

impl GridCode {
    /// Parses a 15-digit unit grid code.
    pub fn parse(input: &str) -> Result<GridCode, IdentifierError> {
        let characters = trimmed_characters(KIND, input)?;
        require_length(KIND, &characters, 15)?;
        require_digits(KIND, &characters, 0..15)?;
        let county = county_prefix(KIND, &characters)?;
        require_nonzero(KIND, &characters, 6, Expected::NonZeroStreetNumber)?;
        require_nonzero(KIND, &characters, 9, Expected::NonZeroCommunityNumber)?;
        require_nonzero(KIND, &characters, 12, Expected::NonZeroGridSequence)?;
        let community = DivisionCode::from_validated(characters[..12].iter().collect(), county);
        Ok(GridCode {
            text: characters.into_iter().collect(),
            community,
        })
    }

    /// Builds the code of grid `sequence` (1–999) in `community`, which must be
    /// a 12-digit community code; used by the synthetic city generator.
    pub fn from_parts(
        community: &DivisionCode,
        sequence: u16,
    ) -> Result<GridCode, IdentifierError> {
        if community.level() != DivisionLevel::Community {
            return Err(IdentifierError::InvalidSegment {
                kind: KIND,
                start: 1,
                end: community.as_str().len(),
                found: community.as_str().to_owned(),
                expected: Expected::CommunityCode,
            });
        }
        if !(1..=999).contains(&sequence) {
            return Err(IdentifierError::SequenceOutOfRange {
                kind: KIND,
                found: u32::from(sequence),
                min: 1,
                max: 999,
            });
        }
        Ok(GridCode {
            text: format!("{}{sequence:03}", community.as_str()),
            community: community.clone(),
        })
    }

    /// The 15 digits.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The community the grid lies in (digits 1–12).
    pub fn community(&self) -> &DivisionCode {
        &self.community
    }

    /// The grid sequence number within the community (digits 13–15).
    pub fn sequence(&self) -> u16 {
        self.text
            .get(12..)
            .and_then(|digits| digits.parse().ok())
            .unwrap_or(0)
    }
}

impl fmt::Display for GridCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

super::string_serde!(GridCode, GridCode::parse, "a 15-digit unit grid code");
