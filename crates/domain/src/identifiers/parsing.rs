//! Small shared steps of the identifier parsers: trimming, length and digit
//! checks that produce position-carrying [`IdentifierError`]s.
//!
//! Parsers work on characters rather than bytes so that a position in an
//! error is the position a person sees on screen, also when the input holds
//! full-width or other non-ASCII characters. The characters of an input of
//! ordinary length stay on the stack ([`Characters`]).

use super::error::{Expected, ExpectedLength, IdentifierError, IdentifierKind};

/// An input's characters: on the stack up to 32 of them (every identifier is shorter),
/// on the heap beyond.
pub(crate) type Characters = smallvec::SmallVec<[char; 32]>;

/// Trims surrounding whitespace and rejects empty input.
pub(crate) fn trimmed_characters(
    kind: IdentifierKind,
    input: &str,
) -> Result<Characters, IdentifierError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(IdentifierError::Empty { kind });
    }
    Ok(trimmed.chars().collect())
}

/// Rejects input whose length is not exactly `expected`.
pub(crate) fn require_length(
    kind: IdentifierKind,
    characters: &[char],
    expected: usize,
) -> Result<(), IdentifierError> {
    if characters.len() != expected {
        return Err(IdentifierError::WrongLength {
            kind,
            expected: ExpectedLength::Exactly(expected),
            found: characters.len(),
        });
    }
    Ok(())
}

/// Requires ASCII digits at the 0-based indices `range`; the error reports the
/// first offending character with its 1-based position.
pub(crate) fn require_digits(
    kind: IdentifierKind,
    characters: &[char],
    range: std::ops::Range<usize>,
) -> Result<(), IdentifierError> {
    for index in range {
        let Some(&character) = characters.get(index) else {
            continue;
        };
        if !character.is_ascii_digit() {
            return Err(IdentifierError::InvalidCharacter {
                kind,
                position: index + 1,
                found: character,
                expected: Expected::Digit,
            });
        }
    }
    Ok(())
}

/// The numeric value of an ASCII digit (callers have checked with
/// [`require_digits`]; anything else counts as 0 rather than panicking).
pub(crate) fn digit_value(character: char) -> u32 {
    character.to_digit(10).unwrap_or(0)
}

/// The number spelled by a run of ASCII digits.
pub(crate) fn number(characters: &[char]) -> u32 {
    characters
        .iter()
        .fold(0, |total, &character| total * 10 + digit_value(character))
}
