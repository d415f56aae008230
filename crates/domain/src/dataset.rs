//! Department datasets: a provider's records of a catalogued resource, checked against
//! the resource's items on the way in (ingestion), and the quality of each batch.
//!
//! A file's header is matched to the resource's items ([`Layout::from_header`]); each
//! row then becomes a [`Record`] of normalised values — or the list of what is wrong with
//! it, cell by cell ([`CellProblem`]). The record key and the subject come from the
//! catalogue's `record_key` and `subject_item`. [`QualityTally`] counts a batch as it
//! streams by and gives its [`QualityReport`]. Nothing here reads files or the database.

use crate::catalogue::{DataType, IdentifierType, InformationItem, Resource, UpdateFrequency};
use crate::identifiers::{AreaCode, CitizenId, CreditCode, Phone};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// The optional column that marks a row of an incremental load as a deletion.
pub const DELETE_COLUMN: &str = "_delete";

/// How a batch relates to what the store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoadMode {
    /// The batch is the whole resource: records it does not contain are deleted when it
    /// completes.
    Full,
    /// The batch changes some records: upserts, and deletions marked in `_delete`.
    Incremental,
}

impl LoadMode {
    pub fn code(self) -> &'static str {
        match self {
            LoadMode::Full => "full",
            LoadMode::Incremental => "incremental",
        }
    }

    pub fn parse(text: &str) -> Option<LoadMode> {
        match text {
            "full" => Some(LoadMode::Full),
            "incremental" => Some(LoadMode::Incremental),
            _ => None,
        }
    }
}

/// Why a header does not fit the resource; the file is refused whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct HeaderError {
    /// Required items without a column.
    pub missing: Vec<String>,
    /// Columns that name no item.
    pub unknown: Vec<String>,
    /// Items named by two columns.
    pub repeated: Vec<String>,
    /// `_delete` in a full load, where deletions are implied.
    pub delete_in_full_load: bool,
}

impl HeaderError {
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.missing.is_empty() {
            parts.push(format!(
                "required items without a column: {}",
                self.missing.join(", ")
            ));
        }
        if !self.unknown.is_empty() {
            parts.push(format!(
                "columns that are not items of the resource: {}",
                self.unknown.join(", ")
            ));
        }
        if !self.repeated.is_empty() {
            parts.push(format!(
                "items with two columns: {}",
                self.repeated.join(", ")
            ));
        }
        if self.delete_in_full_load {
            parts.push(format!(
                "a full load cannot mark deletions ({DELETE_COLUMN}); records it omits are deleted"
            ));
        }
        format!(
            "the header does not match the catalogue: {}",
            parts.join("; ")
        )
    }

    /// The same in Chinese.
    pub fn message_zh(&self) -> String {
        let mut parts = Vec::new();
        if !self.missing.is_empty() {
            parts.push(format!("缺少必填信息项：{}", self.missing.join("、")));
        }
        if !self.unknown.is_empty() {
            parts.push(format!("目录中没有的列：{}", self.unknown.join("、")));
        }
        if !self.repeated.is_empty() {
            parts.push(format!("重复的列：{}", self.repeated.join("、")));
        }
        if self.delete_in_full_load {
            parts.push("全量加载不能使用删除标记列".to_owned());
        }
        format!("表头与目录不符：{}", parts.join("；"))
    }
}

/// Which item each column of a file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// For each item of the resource, the column that holds it, if any.
    item_columns: Vec<Option<usize>>,
    delete_column: Option<usize>,
    key_items: Vec<usize>,
    subject_item: Option<usize>,
    /// The number of columns a row must have.
    width: usize,
}

impl Layout {
    /// Matches a header to the resource's items, by item name or Chinese title (case and
    /// surrounding blanks ignored; a UTF-8 byte-order mark on the first column too).
    pub fn from_header(
        resource: &Resource,
        header: &[&str],
        mode: LoadMode,
    ) -> Result<Layout, HeaderError> {
        let mut item_columns = vec![None; resource.items.len()];
        let mut delete_column = None;
        let mut error = HeaderError {
            missing: Vec::new(),
            unknown: Vec::new(),
            repeated: Vec::new(),
            delete_in_full_load: false,
        };
        for (column, raw) in header.iter().enumerate() {
            let name = raw.trim().trim_start_matches('\u{feff}').trim();
            if name.eq_ignore_ascii_case(DELETE_COLUMN) {
                if mode == LoadMode::Full {
                    error.delete_in_full_load = true;
                }
                delete_column = Some(column);
                continue;
            }
            let found = resource
                .items
                .iter()
                .position(|item| item.name.eq_ignore_ascii_case(name) || item.title == name);
            match found {
                None => error.unknown.push(name.to_owned()),
                Some(index) if item_columns[index].is_some() => {
                    error.repeated.push(resource.items[index].name.clone());
                }
                Some(index) => item_columns[index] = Some(column),
            }
        }
        for (item, column) in resource.items.iter().zip(&item_columns) {
            if item.required && column.is_none() {
                error
                    .missing
                    .push(format!("{} ({})", item.name, item.title));
            }
        }
        if !error.missing.is_empty()
            || !error.unknown.is_empty()
            || !error.repeated.is_empty()
            || error.delete_in_full_load
        {
            return Err(error);
        }
        let position = |name: &str| {
            resource
                .items
                .iter()
                .position(|item| item.name == name)
                .expect("the catalogue checked that record keys and the subject item are items")
        };
        Ok(Layout {
            item_columns,
            delete_column,
            key_items: resource
                .record_key
                .iter()
                .map(|name| position(name))
                .collect(),
            subject_item: resource.subject_item.as_deref().map(position),
            width: header.len(),
        })
    }

    /// The number of columns of the header.
    pub fn width(&self) -> usize {
        self.width
    }

    /// A row as a record, or every problem of its cells. `cells` are the row's fields in
    /// file order.
    pub fn record(&self, resource: &Resource, cells: &[&str]) -> Result<Record, Vec<CellProblem>> {
        if cells.len() != self.width {
            return Err(vec![CellProblem::new(
                "",
                "",
                "row_width",
                format!(
                    "the row has {} fields; the header has {}",
                    cells.len(),
                    self.width
                ),
                format!("该行有 {} 列，表头有 {} 列", cells.len(), self.width),
            )]);
        }
        let delete = match self.delete_column.map(|column| cells[column].trim()) {
            None | Some("") => false,
            Some(text) => match parse_boolean(text) {
                Some(value) => value,
                None => {
                    return Err(vec![CellProblem::new(
                        DELETE_COLUMN,
                        text,
                        "delete_flag",
                        format!("{DELETE_COLUMN} must be empty, 1/0, true/false or 是/否"),
                        format!("{DELETE_COLUMN} 应为空、1/0、true/false 或 是/否"),
                    )]);
                }
            },
        };
        let mut problems = Vec::new();
        let mut values = Vec::with_capacity(resource.items.len());
        for (item, column) in resource.items.iter().zip(&self.item_columns) {
            let raw = column.map_or("", |column| cells[column]);
            // A deletion needs its key only.
            let checked = if delete && !resource.record_key.iter().any(|key| key == &item.name) {
                Ok(None)
            } else {
                normalise(item, raw)
            };
            match checked {
                Ok(value) => values.push(value),
                Err(problem) => {
                    problems.push(problem);
                    values.push(None);
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let key = self
            .key_items
            .iter()
            .map(|&index| values[index].as_deref().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(KEY_SEPARATOR);
        let subject = self.subject_item.and_then(|index| values[index].clone());
        Ok(Record {
            key,
            subject,
            values,
            delete,
        })
    }
}

/// Joins the values of a composite record key (the ASCII unit separator, which no value
/// holds: cells are text of a file, and control characters are refused).
pub const KEY_SEPARATOR: &str = "\u{1f}";

/// One checked row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record key's values, joined by [`KEY_SEPARATOR`].
    pub key: String,
    /// The subject's identifier (identity number, credit code, house id), if the resource
    /// has subjects.
    pub subject: Option<String>,
    /// One normalised value per item of the resource, in the catalogue's order.
    pub values: Vec<Option<String>>,
    /// An incremental load's deletion of the record with this key.
    pub delete: bool,
}

/// What is wrong with one cell (or, with an empty column, the whole row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellProblem {
    /// The item's name.
    pub column: String,
    /// The value as given, at most 64 characters.
    pub value: String,
    /// A stable snake_case code, e.g. `not_date`, `citizen_id_check_character`.
    pub code: String,
    pub message: String,
    pub message_zh: String,
}

impl CellProblem {
    pub fn new(
        column: &str,
        value: &str,
        code: &'static str,
        message: impl Into<String>,
        message_zh: impl Into<String>,
    ) -> CellProblem {
        CellProblem {
            column: column.to_owned(),
            value: value.chars().take(64).collect(),
            code: code.to_owned(),
            message: message.into(),
            message_zh: message_zh.into(),
        }
    }
}

fn parse_boolean(text: &str) -> Option<bool> {
    match text.trim() {
        "1" | "true" | "TRUE" | "True" | "是" | "Y" | "y" => Some(true),
        "0" | "false" | "FALSE" | "False" | "否" | "N" | "n" => Some(false),
        _ => None,
    }
}

/// Digits of a decimal text, checked: an optional sign, digits, an optional fraction.
fn decimal_parts(text: &str) -> Option<(&str, &str, &str)> {
    let (sign, unsigned) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    (!whole.is_empty() && digits(whole) && digits(fraction) && !(unsigned.ends_with('.')))
        .then_some((sign, whole, fraction))
}

/// A cell checked against its item and written in one canonical form: trimmed; dates as
/// `YYYY-MM-DD`; times as RFC 3339 in +08:00; money with two decimals; booleans as
/// `true`/`false`; identifiers as their validated form. Empty is `None`.
pub fn normalise(item: &InformationItem, raw: &str) -> Result<Option<String>, CellProblem> {
    let text = raw.trim();
    let problem = |code: &'static str, message: String, message_zh: String| {
        CellProblem::new(&item.name, text, code, message, message_zh)
    };
    if text.contains('\u{fffd}') {
        return Err(problem(
            "encoding",
            format!(
                "{}: the bytes are not valid in the file's encoding; declare the file's encoding (UTF-8, GBK or GB18030)",
                item.name
            ),
            format!(
                "{}：内容与文件编码不符，请注明文件编码（UTF-8、GBK 或 GB18030）",
                item.title
            ),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(problem(
            "control_character",
            format!("{}: control characters are not allowed", item.name),
            format!("{}：不能含控制字符", item.title),
        ));
    }
    if text.is_empty() {
        return if item.required {
            Err(problem(
                "required",
                format!("{} ({}) is required", item.name, item.title),
                format!("{}为必填项", item.title),
            ))
        } else {
            Ok(None)
        };
    }
    let too_long = |count: usize| {
        problem(
            "too_long",
            format!(
                "{}: at most {} characters, found {count}",
                item.name, item.length
            ),
            format!(
                "{}：最多 {} 个字符，实有 {count} 个",
                item.title, item.length
            ),
        )
    };
    let value = match item.data_type {
        DataType::Text => {
            let count = text.chars().count();
            if count > item.length as usize {
                return Err(too_long(count));
            }
            match item.identifier {
                None => text.to_owned(),
                Some(kind) => identifier(item, kind, text)?,
            }
        }
        DataType::Integer => {
            let digits = text.trim_start_matches(['-', '+']);
            if digits.is_empty()
                || !digits.bytes().all(|byte| byte.is_ascii_digit())
                || text.parse::<i64>().is_err()
            {
                return Err(problem(
                    "not_integer",
                    format!("{}: '{text}' is not a whole number", item.name),
                    format!("{}：“{text}”不是整数", item.title),
                ));
            }
            text.parse::<i64>()
                .map(|number| number.to_string())
                .unwrap_or_default()
        }
        DataType::Decimal | DataType::Money => {
            let Some((sign, whole, fraction)) = decimal_parts(text) else {
                return Err(problem(
                    "not_decimal",
                    format!(
                        "{}: '{text}' is not a number (digits, one '.', no separators)",
                        item.name
                    ),
                    format!(
                        "{}：“{text}”不是数值（数字和小数点，不用千位分隔符）",
                        item.title
                    ),
                ));
            };
            let whole = whole.trim_start_matches('0');
            let whole = if whole.is_empty() { "0" } else { whole };
            if whole.len() + fraction.len() > item.length as usize {
                return Err(problem(
                    "too_many_digits",
                    format!("{}: at most {} digits", item.name, item.length),
                    format!("{}：最多 {} 位数字", item.title, item.length),
                ));
            }
            if item.data_type == DataType::Money {
                if fraction.len() > 2 {
                    return Err(problem(
                        "money_cents",
                        format!("{}: an amount in yuan has at most two decimals", item.name),
                        format!("{}：金额最多两位小数", item.title),
                    ));
                }
                format!("{sign}{whole}.{fraction:0<2}")
            } else if fraction.is_empty() {
                format!("{sign}{whole}")
            } else {
                format!("{sign}{whole}.{fraction}")
            }
        }
        DataType::Date => match parse_date(text) {
            Some(date) => date.to_string(),
            None => {
                return Err(problem(
                    "not_date",
                    format!(
                        "{}: '{text}' is not a date (YYYY-MM-DD, YYYYMMDD or YYYY/MM/DD)",
                        item.name
                    ),
                    format!("{}：“{text}”不是日期（如 2026-03-01）", item.title),
                ));
            }
        },
        DataType::DateTime => match parse_date_time(text) {
            Some(instant) => instant
                .with_timezone(&crate::time::SHANGHAI)
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false),
            None => {
                return Err(problem(
                    "not_datetime",
                    format!(
                        "{}: '{text}' is not a time (RFC 3339, or YYYY-MM-DD HH:MM:SS in Asia/Shanghai)",
                        item.name
                    ),
                    format!("{}：“{text}”不是时间（如 2026-03-01 08:30:00）", item.title),
                ));
            }
        },
        DataType::Boolean => match parse_boolean(text) {
            Some(value) => value.to_string(),
            None => {
                return Err(problem(
                    "not_boolean",
                    format!("{}: '{text}' must be 是/否, true/false or 1/0", item.name),
                    format!("{}：“{text}”应为 是/否", item.title),
                ));
            }
        },
    };
    Ok(Some(value))
}

fn identifier(
    item: &InformationItem,
    kind: IdentifierType,
    text: &str,
) -> Result<String, CellProblem> {
    let parsed = match kind {
        IdentifierType::CitizenId => CitizenId::parse(text).map(|id| id.as_str().to_owned()),
        IdentifierType::CreditCode => CreditCode::parse(text).map(|code| code.as_str().to_owned()),
        IdentifierType::Phone => Phone::parse(text).map(|phone| phone.as_str().to_owned()),
        IdentifierType::AreaCode => AreaCode::parse(text).map(|code| code.as_str().to_owned()),
    };
    parsed.map_err(|error| {
        CellProblem::new(
            &item.name,
            text,
            error.code(),
            format!("{}: {error}", item.name),
            format!("{}：{}", item.title, error.message_zh()),
        )
    })
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    ["%Y-%m-%d", "%Y%m%d", "%Y/%m/%d"]
        .iter()
        .find_map(|format| NaiveDate::parse_from_str(text, format).ok())
        .filter(|date| (1900..=2100).contains(&chrono::Datelike::year(date)))
}

fn parse_date_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Some(instant.with_timezone(&Utc));
    }
    ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .and_then(|local| local.and_local_timezone(crate::time::SHANGHAI).single())
        .map(|instant| instant.with_timezone(&Utc))
}

/// The five measures of a batch, each a share between 0 and 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityReport {
    /// 完整性: filled cells of the valid rows' optional items, of all such cells (1 when
    /// the resource has no optional items).
    pub completeness: f64,
    /// 有效性: valid rows of all rows.
    pub validity: f64,
    /// 唯一性: rows whose record key the batch had not seen before, of the valid rows.
    pub uniqueness: f64,
    /// 及时性: 1 when the batch came within the update cycle of the previous one, falling
    /// to 0 at three cycles late; 1 without a previous batch or a fixed cycle.
    pub timeliness: f64,
    /// 关联率: records whose subject is in the base registries, of the records with a
    /// subject (1 for resources without subjects).
    pub linkage: f64,
}

impl QualityReport {
    /// The batch's score: the mean of the five measures, 0–100.
    pub fn score(&self) -> f64 {
        (self.completeness + self.validity + self.uniqueness + self.timeliness + self.linkage) / 5.0
            * 100.0
    }
}

/// The counts a batch's quality is computed from, added up as its rows stream by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QualityTally {
    pub rows: u64,
    pub valid_rows: u64,
    pub optional_cells: u64,
    pub filled_optional_cells: u64,
    pub duplicate_keys: u64,
    pub with_subject: u64,
    pub linked: u64,
}

impl QualityTally {
    /// Counts a valid record (its cells' completeness); duplicates and links are counted
    /// by whoever finds them.
    pub fn count_valid(&mut self, resource: &Resource, record: &Record) {
        self.rows += 1;
        self.valid_rows += 1;
        if record.delete {
            return;
        }
        for (item, value) in resource.items.iter().zip(&record.values) {
            if !item.required {
                self.optional_cells += 1;
                self.filled_optional_cells += u64::from(value.is_some());
            }
        }
    }

    pub fn count_rejected(&mut self) {
        self.rows += 1;
    }

    pub fn add(&mut self, other: &QualityTally) {
        self.rows += other.rows;
        self.valid_rows += other.valid_rows;
        self.optional_cells += other.optional_cells;
        self.filled_optional_cells += other.filled_optional_cells;
        self.duplicate_keys += other.duplicate_keys;
        self.with_subject += other.with_subject;
        self.linked += other.linked;
    }

    /// The report of a batch taken at `received`, after a previous batch taken at
    /// `previous` (if any) of a resource updated `frequency`.
    pub fn report(
        &self,
        frequency: UpdateFrequency,
        previous: Option<DateTime<Utc>>,
        received: DateTime<Utc>,
    ) -> QualityReport {
        self.report_with_timeliness(timeliness(frequency, previous, received))
    }

    /// The report, with the timeliness already known.
    pub fn report_with_timeliness(&self, timeliness: f64) -> QualityReport {
        let share = |part: u64, whole: u64| {
            if whole == 0 {
                1.0
            } else {
                part as f64 / whole as f64
            }
        };
        QualityReport {
            completeness: share(self.filled_optional_cells, self.optional_cells),
            validity: share(self.valid_rows, self.rows),
            uniqueness: share(
                self.valid_rows.saturating_sub(self.duplicate_keys),
                self.valid_rows,
            ),
            timeliness,
            linkage: share(self.linked, self.with_subject),
        }
    }
}

/// How many of a resource's latest committed batches its rolling score averages.
pub const ROLLING_BATCHES: usize = 5;

/// A resource's rolling quality score: the mean score of its latest
/// [`ROLLING_BATCHES`] committed batches (`batches` newest first); `None` before the first.
pub fn rolling_score(batches: &[BatchSummary]) -> Option<f64> {
    let scores: Vec<f64> = batches
        .iter()
        .filter_map(|batch| batch.quality)
        .take(ROLLING_BATCHES)
        .map(|quality| quality.score())
        .collect();
    (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64)
}

/// The expected interval between batches of a resource, when it has one.
pub fn update_interval(frequency: UpdateFrequency) -> Option<chrono::Duration> {
    match frequency {
        UpdateFrequency::RealTime | UpdateFrequency::Irregular => None,
        UpdateFrequency::Daily => Some(chrono::Duration::days(1)),
        UpdateFrequency::Weekly => Some(chrono::Duration::days(7)),
        UpdateFrequency::Monthly => Some(chrono::Duration::days(31)),
        UpdateFrequency::Quarterly => Some(chrono::Duration::days(92)),
        UpdateFrequency::Yearly => Some(chrono::Duration::days(366)),
    }
}

/// 及时性 of a batch received at `received` after one at `previous`: 1 within the update
/// cycle, falling linearly to 0 at three cycles; 1 without a previous batch or a cycle.
pub fn timeliness(
    frequency: UpdateFrequency,
    previous: Option<DateTime<Utc>>,
    received: DateTime<Utc>,
) -> f64 {
    let (Some(interval), Some(previous)) = (update_interval(frequency), previous) else {
        return 1.0;
    };
    let gap = (received - previous).num_seconds() as f64;
    let interval = interval.num_seconds() as f64;
    if gap <= interval {
        1.0
    } else {
        // Linear from one cycle (1) to three cycles (0) after the previous batch.
        (1.0 - (gap - interval) / (2.0 * interval)).clamp(0.0, 1.0)
    }
}

/// How a batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchStatus {
    /// Begun and not finished: committed chunks are kept (non-atomic loads), and running
    /// the same file again with the same batch id resumes after them.
    Running,
    /// Finished: every row is written or reported.
    Committed,
}

impl BatchStatus {
    pub fn code(self) -> &'static str {
        match self {
            BatchStatus::Running => "running",
            BatchStatus::Committed => "committed",
        }
    }

    pub fn parse(text: &str) -> Option<BatchStatus> {
        match text {
            "running" => Some(BatchStatus::Running),
            "committed" => Some(BatchStatus::Committed),
            _ => None,
        }
    }
}

/// What a batch is, as its loader starts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchStart {
    /// Chosen by the provider (or a digest of the file): sending a batch twice is
    /// recognised by it.
    pub batch_id: String,
    pub resource: crate::catalogue::ResourceCode,
    /// The catalogue version the rows were checked against.
    pub resource_version: u32,
    pub provider: crate::catalogue::DepartmentId,
    pub mode: LoadMode,
    /// All rows in one transaction, or committed chunk by chunk.
    pub atomic: bool,
    /// A digest of the file: the same batch id with other content is refused.
    pub digest: String,
    /// Who loads it, for the audit entry of every transaction of the batch.
    pub actor: crate::audit::Actor,
    pub started_at: DateTime<Utc>,
}

/// What the store made of a batch id.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchOpening {
    /// A new batch.
    New,
    /// A non-atomic batch that stopped before it finished: rows up to this file row are
    /// written; the loader goes on after them.
    Resume { committed_rows: u64 },
    /// The batch finished before: nothing is written again.
    Committed(Box<BatchSummary>),
    /// The id belongs to another resource or other content.
    Conflict(String),
}

/// One reported row problem of a batch, with the file's row number (the header is row 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    pub row: u64,
    pub problem: CellProblem,
}

/// A stretch of a batch's rows, checked, for the store to write in one step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chunk {
    /// Valid records with their file row numbers.
    pub records: Vec<(u64, Record)>,
    /// The rows refused, cell by cell.
    pub problems: Vec<RowProblem>,
    /// Rows, valid rows and completeness of this stretch (the store adds duplicates and
    /// links).
    pub tally: QualityTally,
    /// The last file row of the stretch.
    pub last_row: u64,
}

/// What a batch did to the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DatasetCounts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub deleted: u64,
    /// Rows refused (invalid or a repeated key).
    pub rejected: u64,
    /// Records kept whose subject is not in the base registries.
    pub unlinked: u64,
}

impl DatasetCounts {
    pub fn add(&mut self, other: &DatasetCounts) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.deleted += other.deleted;
        self.rejected += other.rejected;
        self.unlinked += other.unlinked;
    }
}

/// A batch as the store keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchSummary {
    pub batch_id: String,
    pub resource: crate::catalogue::ResourceCode,
    pub resource_version: u32,
    pub provider: crate::catalogue::DepartmentId,
    pub mode: LoadMode,
    pub atomic: bool,
    pub status: BatchStatus,
    pub started_by: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The last file row written (or reported).
    pub committed_rows: u64,
    pub counts: DatasetCounts,
    pub tally: QualityTally,
    /// Set when the batch finished.
    pub quality: Option<QualityReport>,
}

/// A record as the store keeps it, with where its values came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub resource: crate::catalogue::ResourceCode,
    pub key: String,
    pub subject: Option<String>,
    /// Whether the subject was found in the base registries when the record was written.
    pub linked: bool,
    pub values: Vec<Option<String>>,
    /// Provenance: the batch that last changed the values, its provider and when.
    pub batch_id: String,
    pub provider: crate::catalogue::DepartmentId,
    pub recorded_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{ItemDraft, ResourceDraft};
    use chrono::TimeZone;
    use expect_test::{Expect, expect};

    /// 人社's contributions, reduced: a composite key, money, a date, optional items.
    fn contributions() -> Resource {
        let item = |name: &str, title: &str, data_type: &str, required: bool| ItemDraft {
            name: name.into(),
            title: title.into(),
            data_type: data_type.into(),
            length: Some(20),
            required,
            ..ItemDraft::default()
        };
        ResourceDraft {
            code: "301004/000001".into(),
            name: "社会保险参保缴费信息".into(),
            summary: "缴费".into(),
            provider: "renshe".into(),
            format: "database".into(),
            subject: "person".into(),
            subject_item: Some("citizen_id".into()),
            record_key: vec!["citizen_id".into(), "month".into()],
            items: vec![
                ItemDraft {
                    identifier: Some("citizen_id".into()),
                    personal: true,
                    length: Some(18),
                    ..item("citizen_id", "公民身份号码", "text", true)
                },
                item("month", "缴费月份", "date", true),
                ItemDraft {
                    personal: true,
                    ..item("salary_base", "缴费基数", "money", true)
                },
                ItemDraft {
                    length: Some(4),
                    ..item("employer", "单位", "text", false)
                },
                item("paid_at", "缴费时间", "datetime", false),
                item("suspended", "暂停缴费", "boolean", false),
            ],
            sharing: "conditional".into(),
            sharing_terms: "核对".into(),
            legal_basis: "《社会保险法》".into(),
            open: "not_open".into(),
            update_frequency: "monthly".into(),
            ..ResourceDraft::default()
        }
        .validate()
        .unwrap()
    }

    fn check(header: &[&str], rows: &[&[&str]], mode: LoadMode, expected: Expect) {
        let resource = contributions();
        let rendered = match Layout::from_header(&resource, header, mode) {
            Err(error) => format!("refused: {error}\n{}", error.message_zh()),
            Ok(layout) => rows
                .iter()
                .map(|row| match layout.record(&resource, row) {
                    Ok(record) => format!(
                        "ok key={:?} subject={:?} delete={} values={:?}",
                        record.key, record.subject, record.delete, record.values
                    ),
                    Err(problems) => problems
                        .iter()
                        .map(|p| {
                            format!("{} [{}] {} | {}", p.column, p.code, p.message, p.message_zh)
                        })
                        .collect::<Vec<_>>()
                        .join("\n"),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        };
        expected.assert_eq(&rendered);
    }

    #[test]
    fn rows_become_normalised_records_by_name_or_chinese_title() {
        check(
            &[
                "\u{feff}公民身份号码",
                "MONTH",
                "缴费基数",
                "paid_at",
                "suspended",
            ],
            &[
                &[
                    "11010519491231002x",
                    "20260301",
                    "4500.5",
                    "2026-03-05 09:30:00",
                    "否",
                ],
                &[
                    " 11010519491231002X ",
                    "2026/04/01",
                    "0012",
                    "2026-04-05T01:30:00Z",
                    "",
                ],
            ],
            LoadMode::Full,
            expect![[r#"
                ok key="11010519491231002X\u{1f}2026-03-01" subject=Some("11010519491231002X") delete=false values=[Some("11010519491231002X"), Some("2026-03-01"), Some("4500.50"), None, Some("2026-03-05T09:30:00+08:00"), Some("false")]
                ok key="11010519491231002X\u{1f}2026-04-01" subject=Some("11010519491231002X") delete=false values=[Some("11010519491231002X"), Some("2026-04-01"), Some("12.00"), None, Some("2026-04-05T09:30:00+08:00"), None]"#]],
        );
    }

    #[test]
    fn every_bad_cell_of_a_row_is_reported() {
        check(
            &[
                "citizen_id",
                "month",
                "salary_base",
                "employer",
                "paid_at",
                "suspended",
            ],
            &[
                &[
                    "11010519491231002",
                    "2026-02-30",
                    "4,500",
                    "扬州市某单位",
                    "yesterday",
                    "maybe",
                ],
                &["", "2026-03-01", "1.234", "", "", ""],
                &["11010519491231002X", "2026-03-01"],
                &[
                    "11010519491231002X",
                    "2026-03-01",
                    "10",
                    "\u{fffd}\u{fffd}",
                    "",
                    "",
                ],
            ],
            LoadMode::Full,
            expect![[r#"
                citizen_id [citizen_id_wrong_length] citizen_id: citizen identity number: expected 18 characters, found 17 | 公民身份号码：公民身份号码应为18位，实际为17位
                month [not_date] month: '2026-02-30' is not a date (YYYY-MM-DD, YYYYMMDD or YYYY/MM/DD) | 缴费月份：“2026-02-30”不是日期（如 2026-03-01）
                salary_base [not_decimal] salary_base: '4,500' is not a number (digits, one '.', no separators) | 缴费基数：“4,500”不是数值（数字和小数点，不用千位分隔符）
                employer [too_long] employer: at most 4 characters, found 6 | 单位：最多 4 个字符，实有 6 个
                paid_at [not_datetime] paid_at: 'yesterday' is not a time (RFC 3339, or YYYY-MM-DD HH:MM:SS in Asia/Shanghai) | 缴费时间：“yesterday”不是时间（如 2026-03-01 08:30:00）
                suspended [not_boolean] suspended: 'maybe' must be 是/否, true/false or 1/0 | 暂停缴费：“maybe”应为 是/否
                citizen_id [required] citizen_id (公民身份号码) is required | 公民身份号码为必填项
                salary_base [money_cents] salary_base: an amount in yuan has at most two decimals | 缴费基数：金额最多两位小数
                 [row_width] the row has 2 fields; the header has 6 | 该行有 2 列，表头有 6 列
                employer [encoding] employer: the bytes are not valid in the file's encoding; declare the file's encoding (UTF-8, GBK or GB18030) | 单位：内容与文件编码不符，请注明文件编码（UTF-8、GBK 或 GB18030）"#]],
        );
    }

    #[test]
    fn a_header_that_does_not_fit_is_refused_whole() {
        check(
            &["citizen_id", "month", "month", "colour", "_delete"],
            &[],
            LoadMode::Full,
            expect![[r#"
                refused: the header does not match the catalogue: required items without a column: salary_base (缴费基数); columns that are not items of the resource: colour; items with two columns: month; a full load cannot mark deletions (_delete); records it omits are deleted
                表头与目录不符：缺少必填信息项：salary_base (缴费基数)；目录中没有的列：colour；重复的列：month；全量加载不能使用删除标记列"#]],
        );
    }

    #[test]
    fn an_incremental_deletion_needs_only_its_key() {
        check(
            &["citizen_id", "month", "salary_base", "_delete"],
            &[
                &["11010519491231002X", "2026-03-01", "", "1"],
                &["11010519491231002X", "2026-03-01", "", "x"],
            ],
            LoadMode::Incremental,
            expect![[r#"
                ok key="11010519491231002X\u{1f}2026-03-01" subject=Some("11010519491231002X") delete=true values=[Some("11010519491231002X"), Some("2026-03-01"), None, None, None, None]
                _delete [delete_flag] _delete must be empty, 1/0, true/false or 是/否 | _delete 应为空、1/0、true/false 或 是/否"#]],
        );
    }

    #[test]
    fn the_rolling_score_averages_the_latest_committed_batches() {
        let batch = |score: Option<f64>| BatchSummary {
            batch_id: "b".into(),
            resource: crate::catalogue::ResourceCode::parse("301004/000001").unwrap(),
            resource_version: 1,
            provider: crate::catalogue::DepartmentId::parse("renshe").unwrap(),
            mode: LoadMode::Full,
            atomic: false,
            status: if score.is_some() {
                BatchStatus::Committed
            } else {
                BatchStatus::Running
            },
            started_by: "system:import".into(),
            started_at: Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
            finished_at: None,
            committed_rows: 0,
            counts: DatasetCounts::default(),
            tally: QualityTally::default(),
            // Validity alone varies: score = (4 + validity) / 5 × 100.
            quality: score.map(|validity| QualityReport {
                completeness: 1.0,
                validity,
                uniqueness: 1.0,
                timeliness: 1.0,
                linkage: 1.0,
            }),
        };
        assert_eq!(rolling_score(&[]), None);
        assert_eq!(
            rolling_score(&[batch(None)]),
            None,
            "a running batch has no score yet"
        );
        // Newest first: a running batch is skipped, and only the latest five count.
        let batches = [
            batch(None),
            batch(Some(0.0)),
            batch(Some(0.0)),
            batch(Some(0.0)),
            batch(Some(0.0)),
            batch(Some(0.5)),
            batch(Some(1.0)),
        ];
        let score = rolling_score(&batches).unwrap();
        assert!((score - 82.0).abs() < 1e-9, "{score}");
    }

    #[test]
    fn quality_measures_and_score() {
        let resource = contributions();
        let layout = Layout::from_header(
            &resource,
            &["citizen_id", "month", "salary_base", "employer"],
            LoadMode::Full,
        )
        .unwrap();
        let mut tally = QualityTally::default();
        for row in [
            ["11010519491231002X", "2026-03-01", "1", "甲"],
            ["11010519491231002X", "2026-04-01", "1", ""],
            ["bad", "2026-04-01", "1", ""],
        ] {
            match layout.record(&resource, &row) {
                Ok(record) => tally.count_valid(&resource, &record),
                Err(_) => tally.count_rejected(),
            }
        }
        tally.duplicate_keys = 1;
        tally.with_subject = 2;
        tally.linked = 1;
        let at = |day| Utc.with_ymd_and_hms(2026, 3, day, 0, 0, 0).unwrap();
        let report = tally.report(UpdateFrequency::Monthly, None, at(1));
        // Three optional items per valid row (employer, paid_at, suspended): one filled of six.
        assert_eq!(
            (
                report.completeness,
                report.validity,
                report.uniqueness,
                report.timeliness,
                report.linkage
            ),
            (1.0 / 6.0, 2.0 / 3.0, 0.5, 1.0, 0.5)
        );
        assert!((report.score() - 56.666).abs() < 0.01, "{}", report.score());
        let daily = |previous| {
            tally
                .report(UpdateFrequency::Daily, Some(at(previous)), at(10))
                .timeliness
        };
        assert_eq!(
            (daily(9), daily(8), daily(7), daily(1)),
            (1.0, 0.5, 0.0, 0.0)
        );
        assert_eq!(
            tally
                .report(UpdateFrequency::Irregular, Some(at(1)), at(10))
                .timeliness,
            1.0
        );
        assert_eq!(
            QualityTally::default()
                .report(UpdateFrequency::Daily, None, at(1))
                .score(),
            100.0
        );
    }
}
