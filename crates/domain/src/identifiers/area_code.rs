//! 行政区划代码 (GB/T 2260): six-digit codes of provinces, prefectures and
//! counties, with their names, parents and whether they are still in use.
//!
//! The table is `data/gbt2260.tsv`, embedded at compile time (the domain does no
//! I/O) and indexed once on first use. It holds current codes *and* codes that
//! have been abolished since 1980, because a citizen identity number keeps the
//! area code of the place where it was first issued: someone born in 崇文区
//! (110103, merged into 东城区 in 2010) still carries 110103. See
//! `data/SOURCES.md` for where the table comes from and its known gaps.

use std::fmt;
use std::sync::LazyLock;

use super::error::{IdentifierError, IdentifierKind};
use super::parsing::{require_digits, require_length, trimmed_characters};

/// The level of an administrative division, read from the shape of its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaLevel {
    /// 省级: province, autonomous region, municipality, SAR (`XX0000`).
    Province,
    /// 地级: prefecture-level city, prefecture, league, autonomous prefecture (`XXYY00`).
    Prefecture,
    /// 县级: district, county, county-level city, banner (`XXYYZZ`).
    County,
}

impl AreaLevel {
    /// 省级, 地级 or 县级.
    pub fn name_zh(self) -> &'static str {
        match self {
            AreaLevel::Province => "省级",
            AreaLevel::Prefecture => "地级",
            AreaLevel::County => "县级",
        }
    }

    fn of_code(code: &str) -> AreaLevel {
        if code.ends_with("0000") {
            AreaLevel::Province
        } else if code.ends_with("00") {
            AreaLevel::Prefecture
        } else {
            AreaLevel::County
        }
    }
}

/// One row of `gbt2260.tsv`; the strings borrow from the embedded file.
#[derive(Debug)]
struct AreaRecord {
    code: &'static str,
    /// The code as a number, the key of the table's binary search: six-digit codes sort
    /// the same as text and as numbers.
    number: u32,
    name: &'static str,
    parent: Option<&'static str>,
    current: bool,
    /// Whether any county-level code shares this code's first four digits;
    /// prefecture-level cities without counties (东莞, 中山, 儋州, 嘉峪关) have
    /// towns and streets directly below them.
    has_county_level_codes: bool,
}

const TABLE_TEXT: &str = include_str!("../../data/gbt2260.tsv");

static TABLE: LazyLock<Vec<AreaRecord>> = LazyLock::new(load_table);

fn load_table() -> Vec<AreaRecord> {
    let mut records: Vec<AreaRecord> = TABLE_TEXT
        .lines()
        .skip(1) // header
        .filter(|line| !line.is_empty())
        .map(|line| {
            let mut fields = line.split('\t');
            let mut next = || {
                fields
                    .next()
                    .expect("gbt2260.tsv rows have four tab-separated fields")
            };
            let code = next();
            let name = next();
            let parent = next();
            let status = next();
            AreaRecord {
                code,
                number: code.parse().expect("gbt2260.tsv codes are six digits"),
                name,
                parent: (!parent.is_empty()).then_some(parent),
                current: status == "current",
                has_county_level_codes: false,
            }
        })
        .collect();
    // The file is sorted by the derivation script; sorting again keeps the
    // binary search correct even if someone edits the file by hand.
    records.sort_by_key(|record| record.number);

    let county_prefixes: std::collections::HashSet<&'static str> = records
        .iter()
        .filter(|record| AreaLevel::of_code(record.code) == AreaLevel::County)
        .map(|record| &record.code[..4])
        .collect();
    for record in &mut records {
        record.has_county_level_codes = county_prefixes.contains(&record.code[..4]);
    }
    records
}

fn find(code: &str) -> Option<&'static AreaRecord> {
    let digits = code.as_bytes();
    if digits.len() != 6 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    find_number(
        digits
            .iter()
            .fold(0, |number, digit| number * 10 + u32::from(digit - b'0')),
    )
}

/// The record of the code whose six digits spell `number`.
fn find_number(number: u32) -> Option<&'static AreaRecord> {
    let table: &'static Vec<AreaRecord> = &TABLE;
    table
        .binary_search_by_key(&number, |record| record.number)
        .ok()
        .and_then(|index| table.get(index))
}

/// A GB/T 2260 administrative division code known to Huimin, current or
/// historical. The only way to get one is [`AreaCode::parse`] (or a lookup
/// through another identifier), so every `AreaCode` has a name and a level.
#[derive(Clone, Copy)]
pub struct AreaCode {
    record: &'static AreaRecord,
}

impl AreaCode {
    /// Parses a six-digit code and looks it up in the embedded table.
    pub fn parse(input: &str) -> Result<AreaCode, IdentifierError> {
        let kind = IdentifierKind::AreaCode;
        let characters = trimmed_characters(kind, input)?;
        require_length(kind, &characters, 6)?;
        require_digits(kind, &characters, 0..6)?;
        let code: String = characters.iter().collect();
        AreaCode::lookup(&code).ok_or(IdentifierError::UnknownAreaCode { kind, code })
    }

    /// Looks up six ASCII digits that another parser has already checked.
    pub(crate) fn lookup(code: &str) -> Option<AreaCode> {
        find(code).map(|record| AreaCode { record })
    }

    /// Looks up the code whose six digits spell `number` (e.g. 110101).
    pub(crate) fn lookup_number(number: u32) -> Option<AreaCode> {
        find_number(number).map(|record| AreaCode { record })
    }

    /// The six digits, e.g. "110101".
    pub fn as_str(&self) -> &'static str {
        self.record.code
    }

    /// The division's own name, e.g. "东城区" for 110101.
    pub fn name(&self) -> &'static str {
        self.record.name
    }

    /// The name with its ancestors, e.g. "北京市东城区", "广东省广州市天河区".
    pub fn full_name(&self) -> String {
        let mut chain = vec![self.name()];
        let mut current = *self;
        while let Some(parent) = current.parent() {
            chain.push(parent.name());
            current = parent;
        }
        chain.reverse();
        chain.concat()
    }

    /// The enclosing division, skipping grouping codes such as 110100 市辖区 or
    /// 429000 省直辖县级行政区划 that exist only to hold counties; `None` for a
    /// province.
    pub fn parent(&self) -> Option<AreaCode> {
        self.record.parent.and_then(AreaCode::lookup)
    }

    /// The province-level division this code belongs to (itself for a province).
    pub fn province(&self) -> AreaCode {
        let province_code = format!("{}0000", &self.as_str()[..2]);
        AreaCode::lookup(&province_code).unwrap_or(*self)
    }

    /// Province, prefecture or county, from the shape of the code.
    pub fn level(&self) -> AreaLevel {
        AreaLevel::of_code(self.as_str())
    }

    /// Whether the code is in the current table (as opposed to abolished).
    pub fn is_current(&self) -> bool {
        self.record.current
    }

    /// The divisions whose [`parent`](AreaCode::parent) is `parent`, current and
    /// historical, sorted by code.
    pub fn children_of(parent: &AreaCode) -> Vec<AreaCode> {
        TABLE
            .iter()
            .filter(|record| record.parent == Some(parent.as_str()))
            .map(|record| AreaCode { record })
            .collect()
    }

    /// The divisions directly below this one; see [`AreaCode::children_of`].
    pub fn children(&self) -> Vec<AreaCode> {
        AreaCode::children_of(self)
    }

    /// Every code in the table, sorted; used by the synthetic city generator
    /// and by property tests to pick real areas.
    pub fn all() -> impl Iterator<Item = AreaCode> {
        TABLE.iter().map(|record| AreaCode { record })
    }

    /// Whether streets and towns hang directly below this code: any county-level
    /// code, or a prefecture-level city that has no counties (东莞市 441900).
    pub fn is_county_level_unit(&self) -> bool {
        match self.level() {
            AreaLevel::County => true,
            AreaLevel::Prefecture => !self.record.has_county_level_codes,
            AreaLevel::Province => false,
        }
    }
}

impl PartialEq for AreaCode {
    fn eq(&self, other: &AreaCode) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for AreaCode {}

impl std::hash::Hash for AreaCode {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for AreaCode {
    fn partial_cmp(&self, other: &AreaCode) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for AreaCode {
    fn cmp(&self, other: &AreaCode) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Debug for AreaCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "AreaCode({} {})", self.as_str(), self.name())
    }
}

impl fmt::Display for AreaCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

super::string_serde!(
    AreaCode,
    AreaCode::parse,
    "a GB/T 2260 administrative division code"
);
