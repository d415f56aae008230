//! `huimin import persons|entities|houses FILE`: department files into the registries.
//!
//! Files are CSV (UTF-8, GBK or GB18030, detected or given) or NDJSON, with English or
//! Chinese column names. Every row is validated by the domain's draft rules; good rows are
//! written in batches, bad rows go to a JSON-lines report (row, column, value, code,
//! message), and nothing panics on a broken file. `--atomic` writes all rows in one
//! transaction only when every row is good. The batch id is a digest of the file, and the
//! store leaves identical records alone, so importing the same file twice changes nothing.

use chrono::{DateTime, NaiveDate, Utc};
use huimin_domain::provenance::Provenance;
use huimin_domain::registry::{EntityDraft, FieldError, HouseDraft, PersonDraft};
use huimin_domain::storage::{RegistryStore, StorageError, WriteCounts};
use serde::Serialize;
use std::borrow::Cow;
use std::io::Write;
use std::sync::mpsc;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TextEncoding {
    /// UTF-8 when the file is valid UTF-8, otherwise GB18030 (a superset of GBK).
    Auto,
    Utf8,
    Gbk,
    Gb18030,
}

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

/// Decodes the file's bytes, borrowing them when they are UTF-8 already. Undecodable
/// bytes become U+FFFD, and the rows holding them are reported instead of guessed at.
fn decode(bytes: &[u8], encoding: TextEncoding) -> (Cow<'_, str>, &'static str) {
    let without_bom = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if encoding != TextEncoding::Gbk && encoding != TextEncoding::Gb18030 {
        if let Ok(text) = std::str::from_utf8(without_bom) {
            return (Cow::Borrowed(text), "utf-8");
        }
        if encoding == TextEncoding::Utf8 {
            return (String::from_utf8_lossy(without_bom), "utf-8");
        }
    }
    let (decoder, name) = if encoding == TextEncoding::Gbk {
        (encoding_rs::GBK, "gbk")
    } else {
        (encoding_rs::GB18030, "gb18030")
    };
    (decoder.decode_without_bom_handling(bytes).0, name)
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

/// Reads a CSV header: the layout, the text after the header, and that text's first line
/// number. A header that lacks a required column refuses the whole file.
fn csv_layout(kind: RecordKind, text: &str) -> Result<(Layout, &str, u64), ImportError> {
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
    let body = text
        .get(usize::try_from(body_start.byte()).unwrap_or(usize::MAX)..)
        .unwrap_or_default();
    Ok((Layout::Csv { mapping, ignored }, body, body_start.line()))
}

/// A run of whole rows of the file, handed to one checking thread.
struct Piece<'t> {
    sequence: usize,
    /// The file's line number of the piece's first line.
    first_line: u64,
    /// Line breaks in the piece: about its number of rows.
    lines: u64,
    text: &'t str,
}

/// Bytes a piece holds at least (it then runs on to the end of its last row).
const PIECE_BYTES: usize = 256 * 1024;

/// Cuts text into pieces that end where a row ends: at a line break, outside a quoted CSV
/// field (a quote toggles quoting, which holds for doubled quotes too).
struct Pieces<'t> {
    /// Bytes a piece holds at least: `PIECE_BYTES` outside tests.
    min_bytes: usize,
    rest: &'t str,
    next_line: u64,
    sequence: usize,
    quoted_fields: bool,
}

impl<'t> Iterator for Pieces<'t> {
    type Item = Piece<'t>;

    fn next(&mut self) -> Option<Piece<'t>> {
        if self.rest.is_empty() {
            return None;
        }
        let bytes = self.rest.as_bytes();
        let mut quoted = false;
        let mut lines = 0;
        let mut end = bytes.len();
        for (index, byte) in bytes.iter().enumerate() {
            match byte {
                b'"' if self.quoted_fields => quoted = !quoted,
                b'\n' => {
                    lines += 1;
                    if !quoted && index + 1 >= self.min_bytes {
                        end = index + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        // `end` follows a line break (ASCII) or is the end of the text: a char boundary.
        let (text, rest) = self.rest.split_at(end);
        let piece = Piece {
            sequence: self.sequence,
            first_line: self.next_line,
            lines,
            text,
        };
        self.rest = rest;
        self.next_line += lines;
        self.sequence += 1;
        Some(piece)
    }
}

/// A row's outcome: the record to write, or what is wrong with it.
type CheckedRow = (u64, Result<Record, Vec<RowError>>);

/// Checks one row's fields.
fn check(kind: RecordKind, line: u64, fields: &Fields<'_>, today: NaiveDate) -> CheckedRow {
    if let Some(error) = encoding_error(line, fields) {
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
    piece: &Piece<'_>,
    today: NaiveDate,
) -> Vec<CheckedRow> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(piece.text.as_bytes());
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
                        .filter_map(|(canonical, value)| canonical.map(|name| (name, value)))
                        .collect(),
                );
                checked.push(check(kind, line, &fields, today));
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
    piece: &Piece<'_>,
    today: NaiveDate,
    ignored: &mut std::collections::BTreeSet<String>,
) -> Vec<CheckedRow> {
    let mut checked = Vec::new();
    for (index, line) in piece.text.lines().enumerate() {
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
                checked.push(check(kind, row, &fields, today));
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

/// Reads and validates every row on one thread per core, and hands the outcomes to
/// `on_chunk` in file order on the calling thread. Returns the ignored columns.
fn check_rows(
    kind: RecordKind,
    format: InputFormat,
    text: &str,
    today: NaiveDate,
    on_chunk: &mut dyn FnMut(Vec<CheckedRow>) -> Result<(), ImportError>,
) -> Result<Vec<String>, ImportError> {
    let (layout, body, first_line) = match format {
        InputFormat::Csv => csv_layout(kind, text)?,
        InputFormat::Ndjson => (Layout::Ndjson, text, 1),
    };
    let pieces = std::sync::Mutex::new(Pieces {
        min_bytes: PIECE_BYTES,
        rest: body,
        next_line: first_line,
        sequence: 0,
        quoted_fields: matches!(layout, Layout::Csv { .. }),
    });
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let (done_sender, done_receiver) = mpsc::sync_channel::<(usize, Vec<CheckedRow>)>(workers * 2);
    let layout = &layout;
    let pieces = &pieces;
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..workers)
            .map(|_| {
                let done_sender = done_sender.clone();
                scope.spawn(move || {
                    let mut ignored = std::collections::BTreeSet::new();
                    // A poisoned lock means a sibling panicked; the scope re-raises it.
                    while let Some(piece) = pieces.lock().ok().and_then(|mut pieces| pieces.next())
                    {
                        let checked = match layout {
                            Layout::Csv { mapping, .. } => {
                                check_csv_piece(kind, mapping, &piece, today)
                            }
                            Layout::Ndjson => check_ndjson_piece(kind, &piece, today, &mut ignored),
                        };
                        if done_sender.send((piece.sequence, checked)).is_err() {
                            break;
                        }
                    }
                    ignored
                })
            })
            .collect();
        drop(done_sender);
        // Pieces finish out of order; hold the early ones until their turn.
        let mut waiting = std::collections::BTreeMap::new();
        let mut next = 0;
        let mut outcome = Ok(());
        for (sequence, checked) in done_receiver {
            waiting.insert(sequence, checked);
            while let Some(checked) = waiting.remove(&next) {
                next += 1;
                outcome = on_chunk(checked);
                if outcome.is_err() {
                    break;
                }
            }
            if outcome.is_err() {
                // Dropping the receiver stops the threads at their next piece.
                break;
            }
        }
        let mut ignored = std::collections::BTreeSet::new();
        for thread in threads {
            match thread.join() {
                Ok(seen) => ignored.extend(seen),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        outcome.map(|()| match layout {
            Layout::Csv { ignored, .. } => ignored.clone(),
            Layout::Ndjson => ignored.into_iter().collect(),
        })
    })
}

/// The good records of a file, kept per kind so that batches are slices of them.
enum Records {
    Persons(Vec<huimin_domain::registry::Person>),
    Entities(Vec<huimin_domain::registry::LegalEntity>),
    Houses(Vec<huimin_domain::registry::House>),
}

impl Records {
    fn with_capacity(kind: RecordKind, capacity: usize) -> Records {
        match kind {
            RecordKind::Persons => Records::Persons(Vec::with_capacity(capacity)),
            RecordKind::Entities => Records::Entities(Vec::with_capacity(capacity)),
            RecordKind::Houses => Records::Houses(Vec::with_capacity(capacity)),
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

    /// Writes records `range` in one transaction.
    async fn write(
        &self,
        store: &dyn RegistryStore,
        range: std::ops::Range<usize>,
        provenance: &Provenance,
    ) -> Result<WriteCounts, StorageError> {
        match self {
            Records::Persons(persons) => store.put_persons(&persons[range], provenance).await,
            Records::Entities(entities) => store.put_entities(&entities[range], provenance).await,
            Records::Houses(houses) => store.put_houses(&houses[range], provenance).await,
        }
    }
}

/// Imports a file's bytes. `report` receives one JSON line per rejected value; `progress`
/// is called with each [`ImportPhase`]'s progress.
///
/// Reading and validation run on their own threads and block the caller until the whole
/// file is checked; records are then written in transactions of `batch_rows`.
#[allow(clippy::too_many_arguments)]
pub async fn import_bytes(
    store: &dyn RegistryStore,
    bytes: &[u8],
    options: &ImportOptions,
    today: NaiveDate,
    now: DateTime<Utc>,
    report: &mut dyn Write,
    progress: &mut dyn FnMut(ImportPhase, u64, u64),
) -> Result<ImportSummary, ImportError> {
    let (text, encoding) = decode(bytes, options.encoding);
    let kind_name = match options.kind {
        RecordKind::Persons => "persons",
        RecordKind::Entities => "entities",
        RecordKind::Houses => "houses",
    };
    let batch = format!("import:{kind_name}:{:016x}", content_digest(bytes));
    let mut summary = ImportSummary {
        encoding,
        batch: batch.clone(),
        ..ImportSummary::default()
    };
    let total_lines = text.bytes().filter(|byte| *byte == b'\n').count() as u64;
    // One allocation for the records, instead of a copy of all of them at every doubling.
    let mut records =
        Records::with_capacity(options.kind, usize::try_from(total_lines).unwrap_or(0));
    summary.ignored_columns =
        check_rows(options.kind, options.format, &text, today, &mut |checked| {
            let mut last_line = 0;
            for (line, outcome) in checked {
                summary.rows += 1;
                last_line = line;
                match outcome {
                    Ok(record) => records.push(record),
                    Err(errors) => {
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
            Ok(())
        })?;
    if options.atomic && summary.rejected_rows > 0 {
        summary.aborted = true;
        report.flush()?;
        return Ok(summary);
    }
    let provenance = Provenance {
        source: options.source.clone(),
        batch,
        recorded_at: now,
    };
    let to_write = records.len() as u64;
    let batch_rows = if options.atomic {
        records.len().max(1)
    } else {
        options.batch_rows.max(1)
    };
    let mut written = 0;
    while written < records.len() {
        let end = (written + batch_rows).min(records.len());
        summary
            .counts
            .add(records.write(store, written..end, &provenance).await?);
        written = end;
        progress(ImportPhase::Writing, written as u64, to_write);
    }
    if summary.counts.inserted + summary.counts.updated > 0 {
        store.refresh_statistics().await?;
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
        let (text, name) = decode(&gbk, TextEncoding::Auto);
        assert_eq!(name, "gb18030");
        assert!(text.contains("张三"));
        let (text, name) = decode("\u{feff}姓名\n".as_bytes(), TextEncoding::Auto);
        assert_eq!((text.as_ref(), name), ("姓名\n", "utf-8"));
        let (text, _) = decode(b"a,\xff\n", TextEncoding::Utf8);
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
        let pieces = Pieces {
            min_bytes,
            rest: body,
            next_line: 2,
            sequence: 0,
            quoted_fields: true,
        };
        let mut records = Vec::new();
        for piece in pieces {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(piece.text.as_bytes());
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
