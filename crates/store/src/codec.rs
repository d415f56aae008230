//! Encoding of domain values into columns and back: timestamps as microseconds, lists as
//! delimited text, identifiers re-parsed on the way out.
//!
//! Rows were validated on the way in, so a value that no longer parses means the database
//! was changed behind Huimin's back; it is reported as a storage error naming the column,
//! never a panic.

use chrono::{DateTime, Utc};
use huimin_domain::identifiers::CitizenId;
use huimin_domain::registry::{HouseholdMember, PersonTag, Relationship};
use huimin_domain::storage::StorageError;
use std::collections::BTreeSet;

pub(crate) fn micros(instant: DateTime<Utc>) -> i64 {
    instant.timestamp_micros()
}

pub(crate) fn from_micros(micros: i64) -> Result<DateTime<Utc>, StorageError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| StorageError::new(format!("timestamp {micros} µs is out of range")))
}

/// The clock, read only to stamp applied migrations (bookkeeping, not a registry fact).
#[allow(clippy::disallowed_methods)]
pub(crate) fn now_micros() -> i64 {
    micros(Utc::now())
}

pub(crate) fn corrupt(column: &str, value: &str, error: impl std::fmt::Display) -> StorageError {
    StorageError::new(format!("stored {column} '{value}' is invalid: {error}"))
}

pub(crate) fn encode_tags(tags: &BTreeSet<PersonTag>) -> String {
    tags.iter()
        .map(|tag| tag.code())
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn decode_tags(text: &str) -> Result<BTreeSet<PersonTag>, StorageError> {
    text.split(',')
        .filter(|code| !code.is_empty())
        .map(|code| PersonTag::parse(code).ok_or_else(|| corrupt("tags", text, "unknown tag")))
        .collect()
}

pub(crate) fn encode_ids(ids: &[CitizenId]) -> String {
    ids.iter()
        .map(CitizenId::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn decode_ids(column: &str, text: &str) -> Result<Vec<CitizenId>, StorageError> {
    text.split(',')
        .filter(|id| !id.is_empty())
        .map(|id| CitizenId::parse(id).map_err(|error| corrupt(column, id, error)))
        .collect()
}

pub(crate) fn encode_members(members: &[HouseholdMember]) -> String {
    members
        .iter()
        .map(|member| {
            format!(
                "{}:{}",
                member.citizen_id.as_str(),
                member.relationship.code()
            )
        })
        .collect::<Vec<_>>()
        .join(";")
}

pub(crate) fn decode_members(text: &str) -> Result<Vec<HouseholdMember>, StorageError> {
    text.split(';')
        .filter(|member| !member.is_empty())
        .map(|member| {
            let (id, relationship) = member
                .split_once(':')
                .ok_or_else(|| corrupt("members", member, "expected id:relationship"))?;
            Ok(HouseholdMember {
                citizen_id: CitizenId::parse(id).map_err(|error| corrupt("members", id, error))?,
                relationship: Relationship::parse(relationship)
                    .ok_or_else(|| corrupt("members", relationship, "unknown relationship"))?,
            })
        })
        .collect()
}

/// `[low, high)` bounds matching every text that starts with `prefix`, for an indexed range
/// scan instead of `LIKE` (whose index use differs between backends and collations). Code
/// columns are ASCII and use the "C" collation on PostgreSQL, so byte order is the order.
pub(crate) fn prefix_range(prefix: &str) -> (String, String) {
    let mut high = prefix.to_owned();
    high.push(char::MAX);
    (prefix.to_owned(), high)
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub(crate) fn like_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

/// The values of one `person` row before its provenance, in `PERSON_COLUMNS` order: the
/// derived columns (pinyin, sex, birth date) computed once for whichever writer sends it.
pub(crate) struct PersonRow<'a> {
    pub citizen_id: &'a str,
    pub name: &'a str,
    pub name_initials: String,
    pub name_pinyin: String,
    pub sex: &'static str,
    pub birth_date: chrono::NaiveDate,
    pub ethnicity: i32,
    pub hukou_address: &'a str,
    pub residence_address: &'a str,
    pub phone: Option<&'a str>,
    pub life_status: &'static str,
    pub tags: String,
    pub grid: Option<&'a str>,
}

impl<'a> PersonRow<'a> {
    /// The birth date as `YYYY-MM-DD`, the text both databases store and parse.
    pub fn birth_date_text(&self) -> String {
        use chrono::Datelike;
        format!(
            "{:04}-{:02}-{:02}",
            self.birth_date.year(),
            self.birth_date.month(),
            self.birth_date.day()
        )
    }

    pub fn new(person: &'a huimin_domain::registry::Person) -> PersonRow<'a> {
        let name = person.name.as_str();
        PersonRow {
            citizen_id: person.citizen_id.as_str(),
            name,
            name_initials: huimin_domain::search::pinyin_initials(name),
            name_pinyin: huimin_domain::search::pinyin_full(name),
            sex: match person.sex() {
                huimin_domain::identifiers::Sex::Male => "male",
                huimin_domain::identifiers::Sex::Female => "female",
            },
            birth_date: person.birth_date(),
            ethnicity: i32::from(person.ethnicity.code()),
            hukou_address: &person.hukou_address,
            residence_address: &person.residence_address,
            phone: person.phone.as_ref().map(|phone| phone.as_str()),
            life_status: person.life_status.code(),
            tags: encode_tags(&person.tags),
            grid: person.grid.as_ref().map(|grid| grid.as_str()),
        }
    }
}

/// A result row's columns by name, whichever driver read it (sqlx for both backends,
/// rusqlite for SQLite's read path): the registry's decoders are written once against it.
pub(crate) trait Columns {
    fn text(&self, column: &str) -> Result<String, StorageError>;
    fn optional_text(&self, column: &str) -> Result<Option<String>, StorageError>;
    fn int32(&self, column: &str) -> Result<i32, StorageError>;
    fn int64(&self, column: &str) -> Result<i64, StorageError>;
    /// The value, or `None` when it is NULL or the row has no such column.
    fn int64_if_present(&self, column: &str) -> Option<i64>;
    fn real(&self, column: &str) -> Result<f64, StorageError>;
    fn optional_real(&self, column: &str) -> Result<Option<f64>, StorageError>;
    fn optional_date(&self, column: &str) -> Result<Option<chrono::NaiveDate>, StorageError>;
    fn bytes(&self, column: &str) -> Result<Vec<u8>, StorageError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_round_trip() {
        let tags: BTreeSet<PersonTag> = [PersonTag::Disability, PersonTag::Veteran]
            .into_iter()
            .collect();
        assert_eq!(decode_tags(&encode_tags(&tags)).unwrap(), tags);
        assert!(decode_tags("").unwrap().is_empty());
        assert!(decode_tags("bogus").is_err());
        let id = CitizenId::parse("11010519491231002X").unwrap();
        let members = vec![HouseholdMember {
            citizen_id: id.clone(),
            relationship: Relationship::Head,
        }];
        assert_eq!(decode_members(&encode_members(&members)).unwrap(), members);
        assert_eq!(
            decode_ids("owners", &encode_ids(std::slice::from_ref(&id))).unwrap(),
            vec![id]
        );
        assert_eq!(like_escape("50%_a\\"), "50\\%\\_a\\\\");
        let (low, high) = prefix_range("321002");
        assert!(low.as_str() <= "321002001001001" && "321002001001001" < high.as_str());
        assert!("321003" >= high.as_str());
    }
}
