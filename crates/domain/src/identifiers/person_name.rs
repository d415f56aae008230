//! 姓名 (a person's name as registered): Chinese characters, plus the middle
//! dot '·' (U+00B7) that separates the parts of transliterated names of ethnic
//! minorities, e.g. 买买提·艾力.
//!
//! Names arrive from many keyboards, so look-alike dots (・ U+30FB, • U+2022,
//! ． U+FF0E, ‧ U+2027, ･ U+FF65 and '.') are normalised to U+00B7 before
//! validation; otherwise the same person could be registered twice under two
//! spellings. Accepted characters are the CJK unified ideographs (basic block
//! and extensions A–I), the compatibility ideographs, and 〇 (U+3007), which
//! occurs in registered names.

use std::fmt;

use super::error::{Expected, ExpectedLength, IdentifierError, IdentifierKind};
use super::parsing::trimmed_characters;

const KIND: IdentifierKind = IdentifierKind::PersonName;

/// The middle dot every look-alike is normalised to.
const MIDDLE_DOT: char = '\u{00B7}';

const MAXIMUM_LENGTH: usize = 30;

/// Two-character surnames recognised by [`PersonName::surname`].
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "尉迟", "长孙", "宇文", "司徒",
    "夏侯", "公孙", "端木", "澹台", "公冶", "宗政", "濮阳", "淳于", "单于", "太叔", "申屠", "轩辕",
    "呼延", "南宫", "闻人", "西门", "百里", "东郭", "万俟", "独孤", "司空", "赫连", "钟离", "拓跋",
    "第五", "公羊", "闾丘", "亓官", "司寇", "颛孙", "巫马", "公西", "漆雕", "乐正", "谷梁", "左丘",
    "梁丘",
];

fn is_middle_dot_look_alike(character: char) -> bool {
    matches!(
        character,
        '\u{00B7}' | '\u{30FB}' | '\u{2022}' | '\u{FF0E}' | '\u{2027}' | '\u{FF65}' | '.'
    )
}

fn is_chinese_character(character: char) -> bool {
    matches!(
        u32::from(character),
        0x3007                       // 〇
        | 0x3400..=0x4DBF            // extension A
        | 0x4E00..=0x9FFF            // basic block
        | 0xF900..=0xFAFF            // compatibility ideographs
        | 0x20000..=0x2A6DF          // extension B
        | 0x2A700..=0x2EE5F          // extensions C, D, E, F, I
        | 0x2F800..=0x2FA1F          // compatibility supplement
        | 0x30000..=0x323AF // extensions G, H
    )
}

/// A validated, normalised name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonName {
    text: String,
}

impl PersonName {
    /// Trims, normalises middle dots and validates a name of 1–30 characters.
    pub fn parse(input: &str) -> Result<PersonName, IdentifierError> {
        let characters: super::parsing::Characters = trimmed_characters(KIND, input)?
            .into_iter()
            .map(|character| {
                if is_middle_dot_look_alike(character) {
                    MIDDLE_DOT
                } else {
                    character
                }
            })
            .collect();
        if characters.len() > MAXIMUM_LENGTH {
            return Err(IdentifierError::WrongLength {
                kind: KIND,
                expected: ExpectedLength::Between(1, MAXIMUM_LENGTH),
                found: characters.len(),
            });
        }
        for (index, &character) in characters.iter().enumerate() {
            let position = index + 1;
            if character == MIDDLE_DOT {
                let at_edge = index == 0 || index + 1 == characters.len();
                let after_dot = index > 0 && characters[index - 1] == MIDDLE_DOT;
                if at_edge || after_dot {
                    return Err(IdentifierError::MisplacedMiddleDot { position });
                }
            } else if !is_chinese_character(character) {
                return Err(IdentifierError::InvalidCharacter {
                    kind: KIND,
                    position,
                    found: character,
                    expected: Expected::ChineseCharacterOrMiddleDot,
                });
            }
        }
        Ok(PersonName {
            text: characters.into_iter().collect(),
        })
    }

    /// The normalised name.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the name is a transliterated name with middle dots, which has no
    /// surname in the Han sense.
    pub fn has_middle_dot(&self) -> bool {
        self.text.contains(MIDDLE_DOT)
    }

    /// Best-effort surname: a known two-character compound surname (欧阳, 司马 …)
    /// when the name has at least three characters, otherwise the first
    /// character. `None` for a one-character name and for names with middle
    /// dots. Best effort only: 东方红 could be 东方 + 红 or 东 + 方红.
    pub fn surname(&self) -> Option<&str> {
        if self.has_middle_dot() {
            return None;
        }
        let length = self.text.chars().count();
        if length < 2 {
            return None;
        }
        if length >= 3
            && let Some(compound) = COMPOUND_SURNAMES
                .iter()
                .find(|compound| self.text.starts_with(**compound))
        {
            return self.text.get(..compound.len());
        }
        let first_length = self.text.chars().next().map_or(0, char::len_utf8);
        self.text.get(..first_length)
    }

    /// The name after the [`surname`](PersonName::surname), when there is one.
    pub fn given_name(&self) -> Option<&str> {
        let surname = self.surname()?;
        self.text.get(surname.len()..)
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

super::string_serde!(
    PersonName,
    PersonName::parse,
    "a person's name in Chinese characters"
);
