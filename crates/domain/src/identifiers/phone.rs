//! 手机号码 (mainland China mobile phone number): eleven digits starting with
//! 1 and a second digit 3–9, as allocated under the national numbering plan.
//!
//! People write numbers in many ways — "+86 138 1234 5678", "0086-138…",
//! "13812345678" — so the parser accepts a leading +86, 0086 or 86 and spaces
//! or hyphens between digits, and stores only the eleven national digits.
//! Positions in errors count characters of the input as typed (after trimming),
//! so a clerk can find the offending character; a wrong length counts the
//! national digits that remain after removing the prefix and separators.

use std::fmt;

use super::error::{Expected, ExpectedLength, IdentifierError, IdentifierKind};
use super::parsing::trimmed_characters;

const KIND: IdentifierKind = IdentifierKind::Phone;

/// A mainland mobile number, stored as its eleven national digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone {
    digits: String,
}

impl Phone {
    /// Parses a mobile number with an optional +86 / 0086 / 86 prefix and
    /// optional spaces or hyphens.
    pub fn parse(input: &str) -> Result<Phone, IdentifierError> {
        let characters = trimmed_characters(KIND, input)?;
        let mut has_plus = false;
        // Each digit with its 1-based position in the trimmed input.
        let mut digits: Vec<(char, usize)> = Vec::with_capacity(characters.len());
        for (index, &character) in characters.iter().enumerate() {
            let position = index + 1;
            match character {
                '0'..='9' => digits.push((character, position)),
                ' ' | '-' => {}
                '+' if index == 0 => has_plus = true,
                _ => {
                    return Err(IdentifierError::InvalidCharacter {
                        kind: KIND,
                        position,
                        found: character,
                        expected: Expected::PhoneCharacter,
                    });
                }
            }
        }

        let starts_with = |prefix: &str| {
            digits.len() >= prefix.len()
                && digits
                    .iter()
                    .zip(prefix.chars())
                    .all(|(&(digit, _), wanted)| digit == wanted)
        };
        let prefix_length = if has_plus {
            if !starts_with("86") {
                // Report the first digit after '+' that differs from "86".
                let (found, position) = digits
                    .iter()
                    .zip("86".chars())
                    .find(|&(&(digit, _), wanted)| digit != wanted)
                    .map(|(&pair, _)| pair)
                    .or_else(|| digits.last().copied())
                    .unwrap_or(('+', 1));
                return Err(IdentifierError::InvalidCharacter {
                    kind: KIND,
                    position,
                    found,
                    expected: Expected::ChinaCountryCode,
                });
            }
            2
        } else if starts_with("0086") {
            4
        } else if digits.len() == 13 && starts_with("86") {
            2
        } else {
            0
        };
        let national = digits.get(prefix_length..).unwrap_or_default();

        if national.len() != 11 {
            return Err(IdentifierError::WrongLength {
                kind: KIND,
                expected: ExpectedLength::Exactly(11),
                found: national.len(),
            });
        }
        let (first, first_position) = national[0];
        if first != '1' {
            return Err(IdentifierError::InvalidCharacter {
                kind: KIND,
                position: first_position,
                found: first,
                expected: Expected::MobileFirstDigit,
            });
        }
        let (second, second_position) = national[1];
        if !('3'..='9').contains(&second) {
            return Err(IdentifierError::InvalidCharacter {
                kind: KIND,
                position: second_position,
                found: second,
                expected: Expected::MobileSecondDigit,
            });
        }
        Ok(Phone {
            digits: national.iter().map(|&(digit, _)| digit).collect(),
        })
    }

    /// The eleven national digits, e.g. "13812345678".
    pub fn as_str(&self) -> &str {
        &self.digits
    }

    /// The number for display where privacy matters: "138****5678".
    pub fn masked(&self) -> String {
        format!(
            "{}****{}",
            self.digits.get(..3).unwrap_or_default(),
            self.digits.get(7..).unwrap_or_default()
        )
    }

    /// The number in international E.164 form, "+8613812345678".
    pub fn e164(&self) -> String {
        format!("+86{}", self.digits)
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.digits)
    }
}

super::string_serde!(Phone, Phone::parse, "a mainland mobile phone number");
