//! `huimin import persons|entities|houses FILE`: department files into the registries.
//!
//! Files are CSV (UTF-8, GBK or GB18030, detected or given) or NDJSON, with English or
//! Chinese column names. Every row is validated by the domain's draft rules; good rows are
//! written in batches, bad rows go to a JSON-lines report (row, column, value, code,
//! message), and nothing panics on a broken file. `--atomic` writes all rows in one
//! transaction only when every row is good. The batch id is a digest of the file, and the
//! store leaves identical records alone, so importing the same file twice changes nothing.

use chrono::{DateTime, NaiveDate, Utc};
use huimin_domain::audit::Actor;
use huimin_domain::provenance::Provenance;
use huimin_domain::registry::{EntityDraft, FieldError, HouseDraft, PersonDraft};
use huimin_domain::storage::{PersonBulkLoad, RegistryStore, StorageError, WriteCounts};
use serde::Serialize;
use std::io::Write;

/// Which registry a file feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RecordKind {
    Persons,
    Entities,
    Houses,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    Csv,
    Ndjson,
}

pub use huimin_ingest::TextEncoding;

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub kind: RecordKind,
    pub format: InputFormat,
    pub encoding: TextEncoding,
    pub atomic: bool,
    /// The supplying department, recorded as provenance.
    pub source: String,
    /// Records per transaction when not atomic. The first transaction into an empty
    /// registry loads in bulk, so one large transaction is fastest for a first load.
    pub batch_rows: usize,
    /// Who runs the import, for the audit log: every transaction of it appends an entry.
    pub actor: Actor,
}

/// What an import is doing when it reports progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportPhase {
    /// Reading and validating rows: progress is (lines read, lines in the file).
    Checking,
    /// Writing records: progress is (records written, records to write).
    Writing,
}

/// One rejected value (or row) of the file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowError {
    /// The file's line number for CSV (the header is line 1) and NDJSON.
    pub row: u64,
    pub column: String,
    pub value: String,
    pub code: String,
    pub message: String,
    pub message_zh: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportSummary {
    pub rows: u64,
    pub rejected_rows: u64,
    pub counts: WriteCounts,
    pub encoding: &'static str,
    pub batch: String,
    pub ignored_columns: Vec<String>,
    /// True when `--atomic` refused to write because some rows were bad.
    pub aborted: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file is missing required columns: {0}")]
    MissingColumns(String),
    #[error("the file could not be read as {format}: {message}")]
    Unreadable {
        format: &'static str,
        message: String,
    },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("writing the report: {0}")]
    Report(#[from] std::io::Error),
}

/// A column: its canonical name and the Chinese headers departments use for it.
struct Column {
    name: &'static str,
    aliases: &'static [&'static str],
    required: bool,
}

const fn column(name: &'static str, aliases: &'static [&'static str], required: bool) -> Column {
    Column {
        name,
        aliases,
        required,
    }
}

const PERSON_COLUMNS: &[Column] = &[
    column(
        "citizen_id",
        &["公民身份号码", "身份证号", "身份证号码"],
        true,
    ),
    column("name", &["姓名"], true),
    column("sex", &["性别"], false),
    column("birth_date", &["出生日期"], false),
    column("ethnicity", &["民族"], false),
    column("hukou_address", &["户籍地址", "户籍地"], false),
    column("residence_address", &["居住地址", "现住址"], false),
    column("phone", &["联系电话", "手机号码", "电话"], false),
    column("life_status", &["人员状态"], false),
    column("tags", &["标签", "关注标签"], false),
    column("grid", &["网格", "所属网格", "网格编码"], false),
];

const ENTITY_COLUMNS: &[Column] = &[
    column("credit_code", &["统一社会信用代码"], true),
    column("name", &["名称", "单位名称", "企业名称"], true),
    column("kind", &["类型", "主体类型"], true),
    column(
        "legal_representative",
        &["法定代表人", "法定代表人身份证号"],
        true,
    ),
    column("registered_address", &["注册地址", "住所"], false),
    column("status", &["状态", "登记状态"], false),
    column("established_on", &["成立日期"], false),
];

const HOUSE_COLUMNS: &[Column] = &[
    column("id", &["房屋编号"], true),
    column("building_id", &["楼栋编号"], true),
    column("grid", &["网格", "网格编码"], true),
    column("usage", &["用途"], true),
    column("floor_area_m2", &["面积", "建筑面积"], true),
    column("owners", &["产权人", "所有权人"], false),
    column("rental", &["使用状态", "出租状态"], true),
    column("tenants", &["承租人"], false),
    column("district", &["区", "区县"], false),
    column("street", &["街道"], false),
    column("community", &["社区"], false),
    column("road", &["路", "道路"], false),
    column("number", &["门牌号"], false),
    column("building", &["幢", "楼栋"], false),
    column("unit", &["单元"], false),
    column("room", &["室", "房号"], false),
    column("longitude", &["经度"], false),
    column("latitude", &["纬度"], false),
];

impl RecordKind {
    fn columns(self) -> &'static [Column] {
        match self {
            RecordKind::Persons => PERSON_COLUMNS,
            RecordKind::Entities => ENTITY_COLUMNS,
            RecordKind::Houses => HOUSE_COLUMNS,
        }
    }

    fn canonical(self, header: &str) -> Option<&'static str> {
        let header = header.trim().trim_start_matches('\u{feff}');
        self.columns()
            .iter()
            .find(|column| {
                column.name.eq_ignore_ascii_case(header) || column.aliases.contains(&header)
            })
            .map(|column| column.name)
    }
}

/// A validated record of any kind, ready to write.
enum Record {
    Person(huimin_domain::registry::Person),
    Entity(huimin_domain::registry::LegalEntity),
    House(huimin_domain::registry::House),
}

/// One row's values by canonical column name, in file order, borrowed from the file. A
/// row has a dozen columns at most, so a list is faster to build and search than a map.
#[derive(Debug, Default)]
struct Fields<'a>(Vec<(&'static str, &'a str)>);

impl<'a> Fields<'a> {
    fn get(&self, name: &str) -> Option<&'a str> {
        self.0
            .iter()
            .find(|(column, _)| *column == name)
            .map(|(_, value)| *value)
    }
}

fn validate(
    kind: RecordKind,
    fields: &Fields<'_>,
    today: NaiveDate,
) -> Result<Record, Vec<FieldError>> {
    let text = |name: &str| fields.get(name).unwrap_or_default().to_owned();
    let optional = |name: &str| {
        fields
            .get(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    };
    match kind {
        RecordKind::Persons => PersonDraft {
            citizen_id: text("citizen_id"),
            name: text("name"),
            sex: optional("sex"),
            birth_date: optional("birth_date"),
            ethnicity: optional("ethnicity"),
            hukou_address: text("hukou_address"),
            residence_address: text("residence_address"),
            phone: optional("phone"),
            life_status: optional("life_status"),
            tags: text("tags")
                .split([';', ',', '、', '|'])
                .map(str::to_owned)
                .collect(),
            grid: optional("grid"),
        }
        .validate(today)
        .map(Record::Person),
        RecordKind::Entities => EntityDraft {
            credit_code: text("credit_code"),
            name: text("name"),
            kind: text("kind"),
            legal_representative: text("legal_representative"),
            registered_address: text("registered_address"),
            status: optional("status"),
            established_on: optional("established_on"),
        }
        .validate()
        .map(Record::Entity),
        RecordKind::Houses => HouseDraft {
            id: text("id"),
            building_id: text("building_id"),
            grid: text("grid"),
            usage: text("usage"),
            floor_area_m2: text("floor_area_m2"),
            owners: text("owners"),
            rental: text("rental"),
            tenants: text("tenants"),
            district: text("district"),
            street: text("street"),
            community: text("community"),
            road: text("road"),
            number: text("number"),
            building: optional("building"),
            unit: optional("unit"),
            room: optional("room"),
            longitude: optional("longitude"),
            latitude: optional("latitude"),
        }
        .validate()
        .map(Record::House),
    }
}

/// Decodes the file's bytes, keeping them (without a copy) when they are UTF-8 already.
/// Undecodable bytes become U+FFFD, and the rows holding them are reported instead of
/// guessed at.
fn decode(mut bytes: Vec<u8>, encoding: TextEncoding) -> (String, &'static str) {
    let bom = bytes.starts_with(b"\xEF\xBB\xBF");
    if encoding != TextEncoding::Gbk && encoding != TextEncoding::Gb18030 {
        if bom {
            bytes.drain(..3);
        }
        return match String::from_utf8(bytes) {
            Ok(text) => (text, "utf-8"),
            Err(error) if encoding == TextEncoding::Utf8 => (
                String::from_utf8_lossy(error.as_bytes()).into_owned(),
                "utf-8",
            ),
            Err(error) => {
                let bytes = error.into_bytes();
                (
                    encoding_rs::GB18030
                        .decode_without_bom_handling(&bytes)
                        .0
                        .into_owned(),
                    "gb18030",
                )
            }
        };
    }
    let (decoder, name) = if encoding == TextEncoding::Gbk {
        (encoding_rs::GBK, "gbk")
    } else {
        (encoding_rs::GB18030, "gb18030")
    };
    (
        decoder.decode_without_bom_handling(&bytes).0.into_owned(),
        name,
    )
}

/// The first 64 bits of the file's SHA-256: a stable batch id for its content. (SHA-256
/// runs on the CPU's SHA instructions, several times faster than a byte-wise FNV-1a.)
fn content_digest(bytes: &[u8]) -> u64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest
        .iter()
        .take(8)
        .fold(0, |id, byte| (id << 8) | u64::from(*byte))
}

fn row_error(
    row: u64,
    column: &str,
    value: &str,
    code: &str,
    message: String,
    message_zh: String,
) -> RowError {
    RowError {
        row,
        column: column.to_owned(),
        value: value.chars().take(64).collect(),
        code: code.to_owned(),
        message,
        message_zh,
    }
}

fn encoding_error(row: u64, fields: &Fields<'_>) -> Option<RowError> {
    fields
        .0
        .iter()
        .find(|(_, value)| value.contains('\u{fffd}'))
        .map(|(column, value)| {
            row_error(
                row,
                column,
                value,
                "invalid_encoding",
                "the value contains bytes that are not valid in the file's encoding".to_owned(),
                "该值包含不符合文件编码的字节".to_owned(),
            )
        })
}

/// How the rows of a file are read: its format, and for CSV which column is which.
enum Layout {
    Csv {
        /// The canonical column of each of the header's columns, if any.
        mapping: Vec<Option<&'static str>>,
        ignored: Vec<String>,
    },
    Ndjson,
}

/// Reads a CSV header: the layout, where the text after the header starts, and that
/// text's first line number. A header that lacks a required column refuses the whole file.
fn csv_layout(kind: RecordKind, text: &str) -> Result<(Layout, usize, u64), ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|error| ImportError::Unreadable {
            format: "CSV",
            message: error.to_string(),
        })?
        .clone();
    let body_start = reader.position().clone();
    let mapping: Vec<Option<&'static str>> = headers
        .iter()
        .map(|header| kind.canonical(header))
        .collect();
    let missing: Vec<&str> = kind
        .columns()
        .iter()
        .filter(|column| column.required && !mapping.contains(&Some(column.name)))
        .map(|column| column.name)
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::MissingColumns(missing.join(", ")));
    }
    let ignored = headers
        .iter()
        .zip(&mapping)
        .filter(|(_, canonical)| canonical.is_none())
        .map(|(header, _)| header.to_owned())
        .collect();
    let body = usize::try_from(body_start.byte())
        .unwrap_or(usize::MAX)
        .min(text.len());
    Ok((Layout::Csv { mapping, ignored }, body, body_start.line()))
}

/// A run of whole rows of the file, handed to one checking thread.
struct Piece {
    sequence: usize,
    /// The file's line number of the piece's first line.
    first_line: u64,
    /// Line breaks in the piece: about its number of rows.
    lines: u64,
    /// Where the piece lies in the text.
    range: std::ops::Range<usize>,
}

/// Bytes a piece holds at least (it then runs on to the end of its last row).
const PIECE_BYTES: usize = 256 * 1024;

/// Cuts text into pieces that end where a row ends: at a line break, outside a quoted CSV
/// field (a quote toggles quoting, which holds for doubled quotes too).
struct Pieces {
    /// Bytes a piece holds at least: `PIECE_BYTES` outside tests.
    min_bytes: usize,
    /// Where the next piece starts, and where the text ends.
    start: usize,
    end: usize,
    next_line: u64,
    sequence: usize,
    quoted_fields: bool,
}

impl Pieces {
    /// The next piece of `text` (the text the pieces were made for).
    fn next(&mut self, text: &str) -> Option<Piece> {
        if self.start >= self.end {
            return None;
        }
        let bytes = &text.as_bytes()[self.start..self.end];
        let mut quoted = false;
        let mut lines = 0;
        let mut length = bytes.len();
        for (index, byte) in bytes.iter().enumerate() {
            match byte {
                b'"' if self.quoted_fields => quoted = !quoted,
                b'\n' => {
                    lines += 1;
                    if !quoted && index + 1 >= self.min_bytes {
                        length = index + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        // The piece ends after a line break (ASCII) or at the end of the text: a char
        // boundary.
        let piece = Piece {
            sequence: self.sequence,
            first_line: self.next_line,
            lines,
            range: self.start..self.start + length,
        };
        self.start += length;
        self.next_line += lines;
        self.sequence += 1;
        Some(piece)
    }
}

/// A row's outcome: the record to write, or what is wrong with it.
type CheckedRow = (u64, Result<Record, Vec<RowError>>);

/// Checks one row's fields. `undecodable` says whether the row's piece holds U+FFFD at
/// all, so that rows of a cleanly decoded file are not searched for it field by field.
fn check(
    kind: RecordKind,
    line: u64,
    fields: &Fields<'_>,
    today: NaiveDate,
    undecodable: bool,
) -> CheckedRow {
    if let Some(error) = encoding_error(line, fields).filter(|_| undecodable) {
        return (line, Err(vec![error]));
    }
    let outcome = validate(kind, fields, today).map_err(|field_errors| {
        field_errors
            .into_iter()
            .map(|error| RowError {
                row: line,
                column: error.field.to_owned(),
                value: error.value,
                code: error.code.to_owned(),
                message: error.message,
                message_zh: error.message_zh,
            })
            .collect()
    });
    (line, outcome)
}

/// Reads and checks the rows of one CSV piece.
fn check_csv_piece(
    kind: RecordKind,
    mapping: &[Option<&'static str>],
    piece: &Piece,
    text: &str,
    today: NaiveDate,
) -> Vec<CheckedRow> {
    // Fields are trimmed here rather than by the reader, which copies every record to
    // trim it.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let undecodable = text.contains('\u{fffd}');
    let mut record = csv::StringRecord::new();
    let mut checked = Vec::with_capacity(usize::try_from(piece.lines).unwrap_or(0));
    loop {
        let read = reader.read_record(&mut record);
        let line = piece.first_line
            + record
                .position()
                .map_or(0, |position| position.line().saturating_sub(1));
        match read {
            Ok(false) => break,
            Ok(true) if record.len() != mapping.len() => checked.push((
                line,
                Err(vec![row_error(
                    line,
                    "",
                    "",
                    "ragged_row",
                    format!(
                        "expected {} fields as in the header, found {}",
                        mapping.len(),
                        record.len()
                    ),
                    format!("表头有{}列，该行有{}列", mapping.len(), record.len()),
                )]),
            )),
            Ok(true) => {
                let fields = Fields(
                    mapping
                        .iter()
                        .zip(record.iter())
                        .filter_map(|(canonical, value)| canonical.map(|name| (name, value.trim())))
                        .collect(),
                );
                checked.push(check(kind, line, &fields, today, undecodable));
            }
            Err(error) => checked.push((
                line,
                Err(vec![row_error(
                    line,
                    "",
                    "",
                    "unreadable_row",
                    format!("the row cannot be read as CSV: {error}"),
                    "该行不是有效的 CSV".to_owned(),
                )]),
            )),
        }
    }
    checked
}

/// Reads and checks the lines of one NDJSON piece, noting keys no column takes.
fn check_ndjson_piece(
    kind: RecordKind,
    piece: &Piece,
    text: &str,
    today: NaiveDate,
    ignored: &mut std::collections::BTreeSet<String>,
) -> Vec<CheckedRow> {
    let mut checked = Vec::new();
    let undecodable = text.contains('\u{fffd}');
    for (index, line) in text.lines().enumerate() {
        let row = piece.first_line + index as u64;
        if line.trim().is_empty() {
            continue;
        }
        match ndjson_values(kind, row, line, ignored) {
            Ok(values) => {
                let fields = Fields(
                    values
                        .iter()
                        .map(|(name, value)| (*name, value.as_str()))
                        .collect(),
                );
                checked.push(check(kind, row, &fields, today, undecodable));
            }
            Err(error) => checked.push((row, Err(vec![*error]))),
        }
    }
    checked
}

/// One NDJSON line's values by canonical column.
fn ndjson_values(
    kind: RecordKind,
    row: u64,
    line: &str,
    ignored: &mut std::collections::BTreeSet<String>,
) -> Result<Vec<(&'static str, String)>, Box<RowError>> {
    let object = match serde_json::from_str::<serde_json::Value>(line) {
        Ok(serde_json::Value::Object(object)) => object,
        Ok(_) => {
            return Err(Box::new(row_error(
                row,
                "",
                line,
                "not_an_object",
                "each line must be a JSON object".to_owned(),
                "每行应为一个 JSON 对象".to_owned(),
            )));
        }
        Err(error) => {
            return Err(Box::new(row_error(
                row,
                "",
                line,
                "malformed_json",
                format!("the line is not valid JSON: {error}"),
                "该行不是有效的 JSON".to_owned(),
            )));
        }
    };
    let mut values: Vec<(&'static str, String)> = Vec::new();
    for (key, value) in object {
        let Some(name) = kind.canonical(&key) else {
            ignored.insert(key);
            continue;
        };
        let text = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(text) => text,
            serde_json::Value::Array(items) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| item.to_string())
                })
                .collect::<Vec<_>>()
                .join(";"),
            other => other.to_string(),
        };
        // Two keys naming one column (say `name` and `姓名`): the later one wins.
        values.retain(|(column, _)| *column != name);
        values.push((name, text));
    }
    let missing: Vec<&str> = kind
        .columns()
        .iter()
        .filter(|column| column.required && !values.iter().any(|(name, _)| *name == column.name))
        .map(|column| column.name)
        .collect();
    match missing.first() {
        Some(first) => Err(Box::new(row_error(
            row,
            first,
            "",
            "missing_field",
            format!("required fields are missing: {}", missing.join(", ")),
            format!("缺少必填字段：{}", missing.join("、")),
        ))),
        None => Ok(values),
    }
}

/// Checked pieces waiting in the channel at most, per checking thread: room for the
/// threads to run ahead while a chunk is being written.
const PIECES_AHEAD: usize = 16;

/// The checking threads of one file: they send each piece's outcomes, numbered, as they
/// finish them (out of order), and return the NDJSON keys that no column takes.
struct Checking {
    outcomes: tokio::sync::mpsc::Receiver<(usize, Vec<CheckedRow>)>,
    threads: Vec<std::thread::JoinHandle<std::collections::BTreeSet<String>>>,
    /// The CSV header's columns that no column takes.
    ignored: Vec<String>,
    /// Pieces that finished before their turn, and the number of the next in file order.
    waiting: std::collections::BTreeMap<usize, Vec<CheckedRow>>,
    next: usize,
}

/// Reads the header and starts one checking thread per core on the rest of `text`.
/// Dropping the receiver stops the threads at their next piece.
fn start_checking(
    kind: RecordKind,
    format: InputFormat,
    text: &std::sync::Arc<String>,
    today: NaiveDate,
) -> Result<Checking, ImportError> {
    let (layout, body_start, first_line) = match format {
        InputFormat::Csv => csv_layout(kind, text)?,
        InputFormat::Ndjson => (Layout::Ndjson, 0, 1),
    };
    let ignored = match &layout {
        Layout::Csv { ignored, .. } => ignored.clone(),
        Layout::Ndjson => Vec::new(),
    };
    let layout = std::sync::Arc::new(layout);
    let pieces = std::sync::Arc::new(std::sync::Mutex::new(Pieces {
        min_bytes: PIECE_BYTES,
        start: body_start,
        end: text.len(),
        next_line: first_line,
        sequence: 0,
        quoted_fields: matches!(*layout, Layout::Csv { .. }),
    }));
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let (sender, outcomes) = tokio::sync::mpsc::channel(workers * PIECES_AHEAD);
    let threads = (0..workers)
        .map(|_| {
            let (sender, text, layout, pieces) = (
                sender.clone(),
                std::sync::Arc::clone(text),
                std::sync::Arc::clone(&layout),
                std::sync::Arc::clone(&pieces),
            );
            std::thread::spawn(move || {
                let mut ignored = std::collections::BTreeSet::new();
                // A poisoned lock means a sibling panicked; its join re-raises it.
                while let Some(piece) = pieces.lock().ok().and_then(|mut pieces| pieces.next(&text))
                {
                    let piece_text = &text[piece.range.clone()];
                    let checked = match &*layout {
                        Layout::Csv { mapping, .. } => {
                            check_csv_piece(kind, mapping, &piece, piece_text, today)
                        }
                        Layout::Ndjson => {
                            check_ndjson_piece(kind, &piece, piece_text, today, &mut ignored)
                        }
                    };
                    if sender.blocking_send((piece.sequence, checked)).is_err() {
                        break;
                    }
                }
                ignored
            })
        })
        .collect();
    Ok(Checking {
        outcomes,
        threads,
        ignored,
        waiting: std::collections::BTreeMap::new(),
        next: 0,
    })
}

impl Checking {
    /// The next piece's outcomes in file order, or `None` after the last piece. Pieces
    /// that finish early wait until their turn.
    async fn next_in_order(&mut self) -> Option<Vec<CheckedRow>> {
        loop {
            if let Some(checked) = self.waiting.remove(&self.next) {
                self.next += 1;
                return Some(checked);
            }
            let (sequence, checked) = self.outcomes.recv().await?;
            self.waiting.insert(sequence, checked);
        }
    }

    /// Waits for the threads (they have sent their last piece) and returns the ignored
    /// columns of the file.
    fn finish(self) -> Vec<String> {
        drop(self.outcomes);
        let mut seen = std::collections::BTreeSet::new();
        for thread in self.threads {
            match thread.join() {
                Ok(keys) => seen.extend(keys),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        // A CSV file's in header order; an NDJSON file's (seen by the threads) sorted.
        let mut ignored = self.ignored;
        ignored.extend(seen);
        ignored
    }
}

/// The good records of a file, kept per kind so that batches are slices of them.
enum Records {
    Persons(Vec<huimin_domain::registry::Person>),
    Entities(Vec<huimin_domain::registry::LegalEntity>),
    Houses(Vec<huimin_domain::registry::House>),
}

impl Records {
    fn new(kind: RecordKind) -> Records {
        match kind {
            RecordKind::Persons => Records::Persons(Vec::new()),
            RecordKind::Entities => Records::Entities(Vec::new()),
            RecordKind::Houses => Records::Houses(Vec::new()),
        }
    }

    /// Keeps a record; the checker only makes records of the file's kind.
    fn push(&mut self, record: Record) {
        match (self, record) {
            (Records::Persons(persons), Record::Person(person)) => persons.push(person),
            (Records::Entities(entities), Record::Entity(entity)) => entities.push(entity),
            (Records::Houses(houses), Record::House(house)) => houses.push(house),
            _ => debug_assert!(false, "a record of another kind than the file's"),
        }
    }

    fn len(&self) -> usize {
        match self {
            Records::Persons(persons) => persons.len(),
            Records::Entities(entities) => entities.len(),
            Records::Houses(houses) => houses.len(),
        }
    }

    /// Writes the first `count` records in one transaction and forgets them.
    async fn write_front(
        &mut self,
        store: &dyn RegistryStore,
        count: usize,
        provenance: &Provenance,
        actor: &Actor,
    ) -> Result<WriteCounts, StorageError> {
        match self {
            Records::Persons(persons) => {
                let counts = store
                    .put_persons(&persons[..count], provenance, actor)
                    .await?;
                persons.drain(..count);
                Ok(counts)
            }
            Records::Entities(entities) => {
                let counts = store
                    .put_entities(&entities[..count], provenance, actor)
                    .await?;
                entities.drain(..count);
                Ok(counts)
            }
            Records::Houses(houses) => {
                let counts = store
                    .put_houses(&houses[..count], provenance, actor)
                    .await?;
                houses.drain(..count);
                Ok(counts)
            }
        }
    }
}

/// Files with at least this many lines into an empty person registry are bulk loaded.
const BULK_LOAD_MIN_LINES: u64 = 10_000;

/// People appended to a bulk load at a time.
const APPEND_ROWS: usize = 16_384;

/// A first load of people, fed while the file is still being checked.
struct BulkSink {
    load: Box<dyn PersonBulkLoad>,
    pending: Vec<huimin_domain::registry::Person>,
    /// The identity numbers in the load ([`CitizenId::key`]); a person whose number is
    /// already there is a repeat, written as an update after the load.
    ///
    /// [`CitizenId::key`]: huimin_domain::identifiers::CitizenId::key
    seen: std::collections::HashSet<u64>,
    repeats: Vec<huimin_domain::registry::Person>,
    /// Records taken so far (appended, pending and repeats).
    taken: usize,
}

/// Where checked records go.
enum Sink {
    /// The first `batch_rows` people into an empty registry.
    Bulk(BulkSink),
    /// Records kept until a transaction of `batch_rows` is full (or, with `--atomic`,
    /// until the file is checked).
    Batches(Records),
}

/// Writes checked records while the file is still being checked: a bulk load when the
/// registry is empty and the file large, else transactions of `batch_rows`.
struct Writer<'s> {
    store: &'s dyn RegistryStore,
    sink: Sink,
    kind: RecordKind,
    batch_rows: usize,
    provenance: Provenance,
    actor: Actor,
    counts: WriteCounts,
    written: u64,
}

impl<'s> Writer<'s> {
    async fn new(
        store: &'s dyn RegistryStore,
        options: &ImportOptions,
        provenance: Provenance,
        lines: u64,
    ) -> Result<Writer<'s>, StorageError> {
        let batch_rows = if options.atomic {
            usize::MAX
        } else {
            options.batch_rows.max(1)
        };
        let bulk = options.kind == RecordKind::Persons
            && lines >= BULK_LOAD_MIN_LINES
            && batch_rows as u64 >= BULK_LOAD_MIN_LINES;
        let load = if bulk {
            store
                .begin_person_bulk_load(&provenance, &options.actor)
                .await?
        } else {
            None
        };
        let sink = match load {
            Some(load) => Sink::Bulk(BulkSink {
                load,
                pending: Vec::with_capacity(APPEND_ROWS),
                seen: std::collections::HashSet::with_capacity(usize::try_from(lines).unwrap_or(0)),
                repeats: Vec::new(),
                taken: 0,
            }),
            None => Sink::Batches(Records::new(options.kind)),
        };
        Ok(Writer {
            store,
            sink,
            kind: options.kind,
            batch_rows,
            provenance,
            actor: options.actor.clone(),
            counts: WriteCounts::default(),
            written: 0,
        })
    }

    /// Takes a good record; writes whatever is due.
    async fn push(&mut self, record: Record) -> Result<(), StorageError> {
        match &mut self.sink {
            Sink::Bulk(bulk) => {
                let Record::Person(person) = record else {
                    debug_assert!(false, "a bulk load takes people only");
                    return Ok(());
                };
                bulk.taken += 1;
                if bulk.seen.insert(person.citizen_id.key()) {
                    bulk.pending.push(person);
                } else {
                    bulk.repeats.push(person);
                }
                if bulk.pending.len() >= APPEND_ROWS {
                    bulk.load.append(&bulk.pending).await?;
                    bulk.pending.clear();
                }
                if bulk.taken >= self.batch_rows {
                    // The first transaction is full: commit it, and write the rest of the
                    // file in ordinary transactions.
                    self.finish_bulk().await?;
                }
            }
            Sink::Batches(records) => {
                records.push(record);
                if records.len() >= self.batch_rows {
                    let counts = records
                        .write_front(self.store, self.batch_rows, &self.provenance, &self.actor)
                        .await?;
                    self.counts.add(counts);
                    self.written += self.batch_rows as u64;
                }
            }
        }
        Ok(())
    }

    /// Appends what is pending, builds the indexes and commits the bulk load; later
    /// records go to ordinary transactions.
    async fn finish_bulk(&mut self) -> Result<(), StorageError> {
        if !matches!(self.sink, Sink::Bulk(_)) {
            return Ok(());
        }
        let sink = std::mem::replace(&mut self.sink, Sink::Batches(Records::new(self.kind)));
        if let Sink::Bulk(BulkSink {
            mut load,
            pending,
            repeats,
            ..
        }) = sink
        {
            load.append(&pending).await?;
            let counts = load.commit(&repeats).await?;
            self.written += counts.inserted + counts.updated + counts.unchanged;
            self.counts.add(counts);
        }
        Ok(())
    }

    /// Writes everything still held, in transactions of `batch_rows`.
    async fn finish(mut self) -> Result<WriteCounts, StorageError> {
        self.finish_bulk().await?;
        if let Sink::Batches(records) = &mut self.sink {
            while records.len() > 0 {
                let count = records.len().min(self.batch_rows);
                let counts = records
                    .write_front(self.store, count, &self.provenance, &self.actor)
                    .await?;
                self.counts.add(counts);
                self.written += count as u64;
            }
        }
        Ok(self.counts)
    }
}

/// Imports a file's bytes. `report` receives one JSON line per rejected value; `progress`
/// is called with each [`ImportPhase`]'s progress.
///
/// Reading and validation run on one thread per core; their outcomes come back in file
/// order and good records are written while later rows are still being checked: into a
/// first bulk load of an empty person registry, or in transactions of `batch_rows`. With
/// `--atomic`, records are written in one transaction, committed only when every row is
/// good.
#[allow(clippy::too_many_arguments)]
pub async fn import_bytes(
    store: &dyn RegistryStore,
    bytes: Vec<u8>,
    options: &ImportOptions,
    today: NaiveDate,
    now: DateTime<Utc>,
    report: &mut dyn Write,
    progress: &mut dyn FnMut(ImportPhase, u64, u64),
) -> Result<ImportSummary, ImportError> {
    let kind_name = match options.kind {
        RecordKind::Persons => "persons",
        RecordKind::Entities => "entities",
        RecordKind::Houses => "houses",
    };
    let batch = format!("import:{kind_name}:{:016x}", content_digest(&bytes));
    let (text, encoding) = decode(bytes, options.encoding);
    let text = std::sync::Arc::new(text);
    let mut summary = ImportSummary {
        encoding,
        batch: batch.clone(),
        ..ImportSummary::default()
    };
    let total_lines = text.bytes().filter(|byte| *byte == b'\n').count() as u64;
    let started = std::time::Instant::now();
    let mut checking = start_checking(options.kind, options.format, &text, today)?;
    let provenance = Provenance {
        source: options.source.clone(),
        batch,
        recorded_at: now,
    };
    // `None` once an `--atomic` import has met a bad row: dropping the writer rolls back
    // what it had begun, and nothing more is written.
    let mut writer = Some(Writer::new(store, options, provenance, total_lines).await?);
    while let Some(checked) = checking.next_in_order().await {
        let mut last_line = 0;
        for (line, outcome) in checked {
            summary.rows += 1;
            last_line = line;
            match outcome {
                Ok(record) => {
                    if let Some(writer) = &mut writer {
                        writer.push(record).await?;
                    }
                }
                Err(errors) => {
                    if options.atomic {
                        writer = None;
                    }
                    summary.rejected_rows += 1;
                    for error in &errors {
                        serde_json::to_writer(&mut *report, error)
                            .map_err(std::io::Error::other)?;
                        report.write_all(b"\n")?;
                    }
                }
            }
        }
        progress(ImportPhase::Checking, last_line, total_lines);
    }
    summary.ignored_columns = checking.finish();
    tracing::debug!(
        rows = summary.rows,
        elapsed_ms = started.elapsed().as_millis(),
        "import: rows checked"
    );
    if options.atomic && summary.rejected_rows > 0 {
        summary.aborted = true;
        report.flush()?;
        return Ok(summary);
    }
    if let Some(writer) = writer {
        let good = summary.rows - summary.rejected_rows;
        progress(ImportPhase::Writing, writer.written, good);
        summary.counts = writer.finish().await?;
        progress(ImportPhase::Writing, good, good);
    }
    if summary.counts.inserted + summary.counts.updated > 0 {
        let started = std::time::Instant::now();
        store.refresh_statistics().await?;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis(),
            "import: statistics refreshed"
        );
    }
    report.flush()?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_detected_and_bad_bytes_become_replacement_characters() {
        let (gbk, _, _) = encoding_rs::GBK.encode("姓名,公民身份号码\n张三,11010519491231002X\n");
        let (text, name) = decode(gbk.to_vec(), TextEncoding::Auto);
        assert_eq!(name, "gb18030");
        assert!(text.contains("张三"));
        let (text, name) = decode(gbk.to_vec(), TextEncoding::Gbk);
        assert_eq!(name, "gbk");
        assert!(text.contains("张三"));
        let (text, name) = decode("\u{feff}姓名\n".as_bytes().to_vec(), TextEncoding::Auto);
        assert_eq!((text.as_str(), name), ("姓名\n", "utf-8"));
        let (text, _) = decode(b"a,\xff\n".to_vec(), TextEncoding::Utf8);
        assert!(text.contains('\u{fffd}'));
    }

    #[test]
    fn chinese_and_english_headers_map_to_the_same_columns() {
        assert_eq!(
            RecordKind::Persons.canonical("公民身份号码"),
            Some("citizen_id")
        );
        assert_eq!(
            RecordKind::Persons.canonical("\u{feff}Citizen_ID"),
            Some("citizen_id")
        );
        assert_eq!(
            RecordKind::Entities.canonical("统一社会信用代码"),
            Some("credit_code")
        );
        assert_eq!(RecordKind::Persons.canonical("血型"), None);
    }

    /// Records and their line numbers, read piece by piece as the checking threads do.
    fn records_by_piece(body: &str, min_bytes: usize) -> Vec<(u64, Vec<String>)> {
        let mut pieces = Pieces {
            min_bytes,
            start: 0,
            end: body.len(),
            next_line: 2,
            sequence: 0,
            quoted_fields: true,
        };
        let mut records = Vec::new();
        while let Some(piece) = pieces.next(body) {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(body[piece.range].as_bytes());
            for record in reader.records() {
                let record = record.unwrap();
                let line = piece.first_line + record.position().unwrap().line() - 1;
                records.push((line, record.iter().map(str::to_owned).collect()));
            }
        }
        records
    }

    proptest::proptest! {
        /// However small the pieces, cutting never splits a row: quoted fields with line
        /// breaks and doubled quotes read the same, on the same lines, as one pass does.
        #[test]
        fn pieces_end_where_rows_end(
            rows in proptest::collection::vec(
                proptest::collection::vec("[a-z\"\n,]{0,6}", 1..4),
                1..30,
            ),
            min_bytes in 1usize..40,
        ) {
            let mut body = String::new();
            for row in &rows {
                let fields: Vec<String> =
                    row.iter().map(|field| format!("\"{}\"", field.replace('"', "\"\""))).collect();
                body.push_str(&fields.join(","));
                body.push('\n');
            }
            let whole = records_by_piece(&body, usize::MAX);
            proptest::prop_assert_eq!(whole.len(), rows.len());
            proptest::prop_assert_eq!(records_by_piece(&body, min_bytes), whole);
        }
    }

    #[test]
    fn the_digest_is_stable() {
        // The first eight bytes of SHA-256("") and SHA-256("a").
        assert_eq!(content_digest(b""), 0xe3b0_c442_98fc_1c14);
        assert_eq!(content_digest(b"a"), 0xca97_8112_ca1b_bdca);
    }
}
