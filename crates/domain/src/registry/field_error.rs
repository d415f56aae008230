//! One wrong field of a draft: which field, a stable code, and a message a person reads.

use crate::identifiers::IdentifierError;
use serde::Serialize;

/// A validation failure tied to one field of the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name as the API and import columns spell it, e.g. `citizen_id`.
    pub field: &'static str,
    /// The value as given (truncated to 64 characters).
    pub value: String,
    /// A stable snake_case code, e.g. `citizen_id_check_character`.
    pub code: &'static str,
    /// What was wrong and what was expected, in English.
    pub message: String,
    /// The same in Chinese.
    pub message_zh: String,
}

impl FieldError {
    pub fn new(
        field: &'static str,
        value: &str,
        code: &'static str,
        message: impl Into<String>,
        message_zh: impl Into<String>,
    ) -> Self {
        FieldError {
            field,
            value: value.chars().take(64).collect(),
            code,
            message: message.into(),
            message_zh: message_zh.into(),
        }
    }

    /// A field whose identifier failed to parse.
    pub fn identifier(field: &'static str, value: &str, error: &IdentifierError) -> Self {
        FieldError::new(
            field,
            value,
            error.code(),
            error.to_string(),
            error.message_zh(),
        )
    }

    /// A required field that was empty.
    pub fn missing(field: &'static str) -> Self {
        FieldError::new(
            field,
            "",
            "required",
            format!("{field} is required"),
            format!("{field} 为必填项"),
        )
    }

    /// A value outside a closed list of choices.
    pub fn not_one_of(field: &'static str, value: &str, choices: &[&str]) -> Self {
        FieldError::new(
            field,
            value,
            "not_one_of",
            format!("{field} must be one of: {}", choices.join(", ")),
            format!("{field} 应为以下之一：{}", choices.join("、")),
        )
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}: {}", self.field, self.message)
    }
}
