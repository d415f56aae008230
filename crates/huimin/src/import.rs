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
use std::collections::HashMap;
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
    /// Records per transaction when not atomic.
    pub batch_rows: usize,
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

type Fields = HashMap<&'static str, String>;

fn validate(
    kind: RecordKind,
    fields: &Fields,
    today: NaiveDate,
) -> Result<Record, Vec<FieldError>> {
    let text = |name: &str| fields.get(name).cloned().unwrap_or_default();
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

/// Decodes the file's bytes. Undecodable bytes become U+FFFD, and the rows holding them
/// are reported instead of guessed at.
fn decode(bytes: &[u8], encoding: TextEncoding) -> (String, &'static str) {
    let without_bom = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let use_gb18030 = match encoding {
        TextEncoding::Utf8 => false,
        TextEncoding::Gbk | TextEncoding::Gb18030 => true,
        TextEncoding::Auto => std::str::from_utf8(without_bom).is_err(),
    };
    if use_gb18030 {
        let decoder = if encoding == TextEncoding::Gbk {
            encoding_rs::GBK
        } else {
            encoding_rs::GB18030
        };
        let (text, _) = decoder.decode_without_bom_handling(bytes);
        (
            text.into_owned(),
            if encoding == TextEncoding::Gbk {
                "gbk"
            } else {
                "gb18030"
            },
        )
    } else {
        (String::from_utf8_lossy(without_bom).into_owned(), "utf-8")
    }
}

/// A 64-bit FNV-1a digest: a stable batch id for a file's content (not a security hash).
fn content_digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Rows of the file as field maps, each with its line number, or a row-level error.
type ParsedRow = (u64, Result<Fields, RowError>);

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

fn encoding_error(row: u64, fields: &Fields) -> Option<RowError> {
    fields
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

/// Splits CSV text into field maps; returns the ignored column names too.
fn csv_rows(kind: RecordKind, text: &str) -> Result<(Vec<ParsedRow>, Vec<String>), ImportError> {
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
    let mut rows = Vec::new();
    for record in reader.records() {
        match record {
            Ok(record) => {
                let line = record
                    .position()
                    .map(|position| position.line())
                    .unwrap_or(0);
                if record.len() != headers.len() {
                    rows.push((
                        line,
                        Err(row_error(
                            line,
                            "",
                            "",
                            "ragged_row",
                            format!(
                                "expected {} fields as in the header, found {}",
                                headers.len(),
                                record.len()
                            ),
                            format!("表头有{}列，该行有{}列", headers.len(), record.len()),
                        )),
                    ));
                    continue;
                }
                let fields: Fields = mapping
                    .iter()
                    .zip(record.iter())
                    .filter_map(|(canonical, value)| canonical.map(|name| (name, value.to_owned())))
                    .collect();
                rows.push((line, Ok(fields)));
            }
            Err(error) => {
                let line = error
                    .position()
                    .map(|position| position.line())
                    .unwrap_or(0);
                rows.push((
                    line,
                    Err(row_error(
                        line,
                        "",
                        "",
                        "unreadable_row",
                        format!("the row cannot be read as CSV: {error}"),
                        "该行不是有效的 CSV".to_owned(),
                    )),
                ));
            }
        }
    }
    Ok((rows, ignored))
}

fn ndjson_rows(kind: RecordKind, text: &str) -> (Vec<ParsedRow>, Vec<String>) {
    let mut ignored = std::collections::BTreeSet::new();
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let row = index as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let object = match serde_json::from_str::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(object)) => object,
            Ok(_) => {
                rows.push((
                    row,
                    Err(row_error(
                        row,
                        "",
                        line,
                        "not_an_object",
                        "each line must be a JSON object".to_owned(),
                        "每行应为一个 JSON 对象".to_owned(),
                    )),
                ));
                continue;
            }
            Err(error) => {
                rows.push((
                    row,
                    Err(row_error(
                        row,
                        "",
                        line,
                        "malformed_json",
                        format!("the line is not valid JSON: {error}"),
                        "该行不是有效的 JSON".to_owned(),
                    )),
                ));
                continue;
            }
        };
        let mut fields = Fields::new();
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
            fields.insert(name, text);
        }
        let missing: Vec<&str> = kind
            .columns()
            .iter()
            .filter(|column| column.required && !fields.contains_key(column.name))
            .map(|column| column.name)
            .collect();
        if let Some(first) = missing.first() {
            rows.push((
                row,
                Err(row_error(
                    row,
                    first,
                    "",
                    "missing_field",
                    format!("required fields are missing: {}", missing.join(", ")),
                    format!("缺少必填字段：{}", missing.join("、")),
                )),
            ));
            continue;
        }
        rows.push((row, Ok(fields)));
    }
    (rows, ignored.into_iter().collect())
}

async fn write_records(
    store: &dyn RegistryStore,
    kind: RecordKind,
    records: Vec<Record>,
    provenance: &Provenance,
) -> Result<WriteCounts, StorageError> {
    /// The records of one variant (a batch holds one kind only, so nothing is dropped).
    fn only<T>(records: Vec<Record>, pick: fn(Record) -> Option<T>) -> Vec<T> {
        records.into_iter().filter_map(pick).collect()
    }
    if records.is_empty() {
        return Ok(WriteCounts::default());
    }
    match kind {
        RecordKind::Persons => {
            let persons = only(records, |record| {
                if let Record::Person(person) = record {
                    Some(person)
                } else {
                    None
                }
            });
            store.put_persons(&persons, provenance).await
        }
        RecordKind::Entities => {
            let entities = only(records, |record| {
                if let Record::Entity(entity) = record {
                    Some(entity)
                } else {
                    None
                }
            });
            store.put_entities(&entities, provenance).await
        }
        RecordKind::Houses => {
            let houses = only(records, |record| {
                if let Record::House(house) = record {
                    Some(house)
                } else {
                    None
                }
            });
            store.put_houses(&houses, provenance).await
        }
    }
}

/// Imports a file's bytes. `report` receives one JSON line per rejected value; `progress`
/// is called with (rows done, rows in the file) after every batch.
#[allow(clippy::too_many_arguments)]
pub async fn import_bytes(
    store: &dyn RegistryStore,
    bytes: &[u8],
    options: &ImportOptions,
    today: NaiveDate,
    now: DateTime<Utc>,
    report: &mut dyn Write,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ImportSummary, ImportError> {
    let (text, encoding) = decode(bytes, options.encoding);
    let kind_name = match options.kind {
        RecordKind::Persons => "persons",
        RecordKind::Entities => "entities",
        RecordKind::Houses => "houses",
    };
    let batch = format!("import:{kind_name}:{:016x}", content_digest(bytes));
    let (rows, ignored_columns) = match options.format {
        InputFormat::Csv => csv_rows(options.kind, &text)?,
        InputFormat::Ndjson => ndjson_rows(options.kind, &text),
    };
    let provenance = Provenance {
        source: options.source.clone(),
        batch: batch.clone(),
        recorded_at: now,
    };
    let mut summary = ImportSummary {
        encoding,
        batch,
        ignored_columns,
        ..ImportSummary::default()
    };
    let total = rows.len() as u64;
    let mut pending = Vec::new();
    for (line, parsed) in rows {
        summary.rows += 1;
        let errors: Vec<RowError> =
            match parsed.map(|fields| (encoding_error(line, &fields), fields)) {
                Err(error) => vec![error],
                Ok((Some(error), _)) => vec![error],
                Ok((None, fields)) => match validate(options.kind, &fields, today) {
                    Ok(record) => {
                        pending.push(record);
                        Vec::new()
                    }
                    Err(field_errors) => field_errors
                        .into_iter()
                        .map(|error| RowError {
                            row: line,
                            column: error.field.to_owned(),
                            value: error.value,
                            code: error.code.to_owned(),
                            message: error.message,
                            message_zh: error.message_zh,
                        })
                        .collect(),
                },
            };
        if !errors.is_empty() {
            summary.rejected_rows += 1;
            for error in &errors {
                serde_json::to_writer(&mut *report, error).map_err(std::io::Error::other)?;
                report.write_all(b"\n")?;
            }
        }
        if !options.atomic && pending.len() >= options.batch_rows {
            summary.counts.add(
                write_records(
                    store,
                    options.kind,
                    std::mem::take(&mut pending),
                    &provenance,
                )
                .await?,
            );
            progress(summary.rows, total);
        }
    }
    if options.atomic && summary.rejected_rows > 0 {
        summary.aborted = true;
    } else {
        summary
            .counts
            .add(write_records(store, options.kind, pending, &provenance).await?);
    }
    if summary.counts.inserted + summary.counts.updated > 0 {
        store.refresh_statistics().await?;
    }
    progress(summary.rows, total);
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
        assert_eq!((text.as_str(), name), ("姓名\n", "utf-8"));
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

    #[test]
    fn the_digest_is_stable() {
        assert_eq!(content_digest(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(content_digest(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
