//! A department's file of a catalogued resource, streamed into the store as one batch.
//!
//! The file is read twice, never held whole: once for its SHA-256 (the batch's content
//! digest, and its default id), once to check and write its rows in chunks. CSV is
//! decoded on the fly from UTF-8, GBK or GB18030 (detected from the first 64 KiB, or
//! declared); NDJSON is one JSON object per line; XLSX is its first worksheet (`xlsx`). Rows are checked by the domain
//! (`dataset::Layout`); rejected rows are written to the report as they are found, and the
//! store adds repeated keys and unlinked subjects. A non-atomic batch commits each chunk
//! and says so on standard output (`committed through row N`), so a killed import keeps
//! exactly those rows and the same command resumes after them; an atomic batch says
//! `checked through row N` and keeps nothing until it finishes.

use crate::IngestError;
use huimin_domain::audit::Actor;
use huimin_domain::catalogue::{PublishedResource, ResourceCode};
use huimin_domain::dataset::{
    BatchOpening, BatchStart, BatchSummary, CellProblem, Chunk, DELETE_COLUMN, Layout, LoadMode,
    RowProblem,
};
use huimin_domain::storage::{CatalogueStore, DatasetLoad, DatasetStore, PageRequest};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use crate::xlsx::SheetRow;
use crate::{FileFormat, TextEncoding};
use chrono::{DateTime, Utc};

/// What to import, and how.
#[derive(Debug, Clone)]
pub struct DatasetImport {
    pub resource: String,
    pub file: PathBuf,
    pub format: FileFormat,
    pub encoding: TextEncoding,
    pub mode: LoadMode,
    pub atomic: bool,
    /// The batch id; by default `sha256:` and the first 16 hex digits of the file's digest.
    pub batch: Option<String>,
    /// Where rejected rows and the store's findings go as JSON lines; none for an upload,
    /// whose problems are read from the store.
    pub report: Option<PathBuf>,
    pub chunk_rows: usize,
    pub actor: Actor,
}

/// How an import ended.
#[derive(Debug, Clone, PartialEq)]
pub enum DatasetOutcome {
    /// The batch is committed (now, or before: `again`).
    Committed {
        summary: Box<BatchSummary>,
        again: bool,
    },
    /// An atomic batch had rejected rows: nothing was written. `problems` are the file's
    /// first problems (at most [`ABORTED_PROBLEMS`]), for a caller without the report.
    Aborted {
        rejected: u64,
        problems: Vec<RowProblem>,
    },
}

/// The most problems an aborted batch's outcome carries.
pub const ABORTED_PROBLEMS: usize = 100;

/// The file's SHA-256, hex, read in blocks.
fn file_digest(path: &Path) -> Result<String, IngestError> {
    use sha2::Digest;
    let failed = |error| IngestError::io(format!("reading {}", path.display()), error);
    let mut file = std::fs::File::open(path).map_err(failed)?;
    let mut hasher = sha2::Sha256::new();
    let mut block = vec![0_u8; 1 << 16];
    loop {
        let read = file.read(&mut block).map_err(failed)?;
        if read == 0 {
            break;
        }
        hasher.update(&block[..read]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

/// The encoding of a file whose first bytes are `head`: UTF-8 when they are (allowing a
/// character cut at the end), otherwise GB18030, which contains GBK.
fn sniff(head: &[u8], declared: TextEncoding) -> &'static encoding_rs::Encoding {
    match declared {
        TextEncoding::Utf8 => encoding_rs::UTF_8,
        TextEncoding::Gbk => encoding_rs::GBK,
        TextEncoding::Gb18030 => encoding_rs::GB18030,
        TextEncoding::Auto => match std::str::from_utf8(head) {
            Ok(_) => encoding_rs::UTF_8,
            Err(error) if error.error_len().is_none() => encoding_rs::UTF_8,
            Err(_) => encoding_rs::GB18030,
        },
    }
}

/// A reader of UTF-8 decoded on the fly from `inner` in `encoding` (a UTF-8 byte-order
/// mark is dropped; bytes invalid in the encoding become U+FFFD, which the row checks
/// report as an encoding problem).
struct DecodingReader<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    output: Vec<u8>,
    position: usize,
    finished: bool,
}

impl<R: Read> DecodingReader<R> {
    fn new(inner: R, encoding: &'static encoding_rs::Encoding) -> Self {
        DecodingReader {
            inner,
            decoder: encoding.new_decoder_with_bom_removal(),
            input: vec![0; 1 << 16],
            output: Vec::new(),
            position: 0,
            finished: false,
        }
    }
}

impl<R: Read> Read for DecodingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        while self.position == self.output.len() && !self.finished {
            let read = self.inner.read(&mut self.input)?;
            let last = read == 0;
            let mut text = String::with_capacity(
                self.decoder
                    .max_utf8_buffer_length(read)
                    .unwrap_or(read * 3 + 16),
            );
            let (_, _, _) = self
                .decoder
                .decode_to_string(&self.input[..read], &mut text, last);
            self.output = text.into_bytes();
            self.position = 0;
            self.finished = last;
        }
        let available = &self.output[self.position..];
        let count = available.len().min(buffer.len());
        buffer[..count].copy_from_slice(&available[..count]);
        self.position += count;
        Ok(count)
    }
}

/// A row source: the header's names, then each row's cells with its file row number.
enum Rows {
    Csv(
        csv::StringRecordsIntoIter<DecodingReader<std::fs::File>>,
        Vec<String>,
    ),
    /// The lines, the items' names (the header), their titles, the line number.
    Ndjson(
        std::io::Lines<BufReader<DecodingReader<std::fs::File>>>,
        Vec<String>,
        Vec<String>,
        u64,
    ),
    /// The first worksheet's rows, from its reader thread, and its header.
    Sheet(std::sync::mpsc::Receiver<SheetRow>, Vec<String>),
}

/// One row of a file: its cells, or why it could not be read at all.
type RowCells = Result<Vec<String>, Box<RowProblem>>;

impl Rows {
    fn open(
        path: &Path,
        format: FileFormat,
        encoding: TextEncoding,
        published: &PublishedResource,
        mode: LoadMode,
    ) -> Result<(Rows, &'static str), IngestError> {
        let failed = |error| IngestError::io(format!("reading {}", path.display()), error);
        // A text file, decoded as declared or as its first 64 KiB suggest.
        let decoded = || -> Result<(DecodingReader<std::fs::File>, &'static str), IngestError> {
            let mut head = vec![0_u8; 1 << 16];
            let mut file = std::fs::File::open(path).map_err(failed)?;
            let read = read_up_to(&mut file, &mut head).map_err(failed)?;
            let encoding = sniff(&head[..read], encoding);
            let file = std::fs::File::open(path).map_err(failed)?;
            Ok((DecodingReader::new(file, encoding), encoding.name()))
        };
        Ok(match format {
            FileFormat::Csv => {
                let (decoded, encoding) = decoded()?;
                let mut reader = csv::ReaderBuilder::new()
                    .flexible(true)
                    .from_reader(decoded);
                let header: Vec<String> = reader
                    .headers()
                    .map_err(|error| IngestError::Unreadable {
                        message: format!("the CSV header cannot be read: {error}"),
                        message_zh: "无法读取 CSV 表头".to_owned(),
                    })?
                    .iter()
                    .map(str::to_owned)
                    .collect();
                (Rows::Csv(reader.into_records(), header), encoding)
            }
            FileFormat::Ndjson => {
                let (decoded, encoding) = decoded()?;
                let items = &published.resource.items;
                let mut header: Vec<String> = items.iter().map(|item| item.name.clone()).collect();
                let mut titles: Vec<String> = items.iter().map(|item| item.title.clone()).collect();
                if mode == LoadMode::Incremental {
                    header.push(DELETE_COLUMN.to_owned());
                    titles.push(DELETE_COLUMN.to_owned());
                }
                (
                    Rows::Ndjson(BufReader::new(decoded).lines(), header, titles, 0),
                    encoding,
                )
            }
            FileFormat::Xlsx => {
                let (header, rows) = crate::xlsx::open(path)?;
                (Rows::Sheet(rows, header), "XLSX")
            }
        })
    }

    fn header(&self) -> &[String] {
        match self {
            Rows::Csv(_, header) | Rows::Ndjson(_, header, _, _) | Rows::Sheet(_, header) => header,
        }
    }

    /// The next row with its number: the file line it starts on (the CSV header is line
    /// 1); an empty line gives no cells.
    fn next_row(&mut self) -> Option<(u64, RowCells)> {
        match self {
            Rows::Csv(records, _) => {
                let record = records.next()?;
                Some(match record {
                    Ok(record) => (
                        record.position().map_or(0, csv::Position::line),
                        Ok(record.iter().map(str::to_owned).collect()),
                    ),
                    Err(error) => {
                        let row = error.position().map_or(0, csv::Position::line);
                        (
                            row,
                            Err(unreadable(
                                row,
                                format!("the row cannot be read as CSV: {error}"),
                                "该行不是有效的 CSV".into(),
                            )),
                        )
                    }
                })
            }
            Rows::Ndjson(lines, header, titles, line_number) => {
                let line = lines.next()?;
                *line_number += 1;
                let row = *line_number;
                Some(match line {
                    Err(error) => (
                        row,
                        Err(unreadable(
                            row,
                            format!("reading the file: {error}"),
                            "读取文件失败".into(),
                        )),
                    ),
                    Ok(line) if line.trim().is_empty() => (row, Ok(Vec::new())),
                    Ok(line) => (row, ndjson_cells(row, &line, header, titles)),
                })
            }
            Rows::Sheet(rows, _) => rows.recv().ok(),
        }
    }
}

fn read_up_to(file: &mut std::fs::File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        let read = file.read(&mut buffer[filled..])?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    Ok(filled)
}

fn unreadable(row: u64, message: String, message_zh: String) -> Box<RowProblem> {
    Box::new(RowProblem {
        row,
        problem: CellProblem::new("", "", "unreadable_row", message, message_zh),
    })
}

/// An NDJSON object's values in the header's order; keys may be item names or titles.
fn ndjson_cells(row: u64, line: &str, header: &[String], titles: &[String]) -> RowCells {
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(line).map_err(|error| {
            unreadable(
                row,
                format!("the line is not a JSON object: {error}"),
                "该行不是 JSON 对象".into(),
            )
        })?;
    let mut cells = vec![String::new(); header.len()];
    for (key, value) in object {
        let key_name = key.trim();
        let column = header
            .iter()
            .zip(titles)
            .position(|(name, title)| name.eq_ignore_ascii_case(key_name) || title == key_name);
        let Some(column) = column else {
            return Err(unreadable(
                row,
                format!("'{key}' is not an item of the resource"),
                format!("“{key}”不是该资源的信息项"),
            ));
        };
        cells[column] = match value {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(text) => text,
            serde_json::Value::Bool(flag) => flag.to_string(),
            serde_json::Value::Number(number) => number.to_string(),
            other => {
                return Err(unreadable(
                    row,
                    format!("'{key}' holds {other}, not a single value"),
                    format!("“{key}”的值不是单个值"),
                ));
            }
        };
    }
    Ok(cells)
}

/// Where a batch's problems go: the report, one JSON object per line, and the first few
/// kept for the outcome.
struct Problems {
    report: std::io::BufWriter<Box<dyn Write + Send>>,
    first: Vec<RowProblem>,
}

impl Problems {
    fn add(&mut self, problem: &RowProblem) -> Result<(), IngestError> {
        let line = serde_json::json!({
            "row": problem.row,
            "column": problem.problem.column,
            "value": problem.problem.value,
            "code": problem.problem.code,
            "message": problem.problem.message,
            "message_zh": problem.problem.message_zh,
        });
        writeln!(self.report, "{line}").map_err(IngestError::report)?;
        if self.first.len() < ABORTED_PROBLEMS {
            self.first.push(problem.clone());
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), IngestError> {
        self.report.flush().map_err(IngestError::report)
    }
}

/// Imports the file as one batch; `progress` hears of each committed chunk.
pub async fn import_dataset(
    catalogue: &dyn CatalogueStore,
    store: &dyn DatasetStore,
    import: &DatasetImport,
    clock: &(dyn Fn() -> DateTime<Utc> + Send + Sync),
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<DatasetOutcome, IngestError> {
    let now = clock();
    let code = ResourceCode::parse(&import.resource).map_err(IngestError::UnknownResource)?;
    let published = catalogue.resource(&code, None).await?.ok_or_else(|| {
        IngestError::UnknownResource(format!("resource {code} is not in the catalogue"))
    })?;
    let digest = file_digest(&import.file)?;
    let batch_id = import
        .batch
        .clone()
        .unwrap_or_else(|| format!("sha256:{}", &digest[..16]));
    let (mut rows, encoding) = Rows::open(
        &import.file,
        import.format,
        import.encoding,
        &published,
        import.mode,
    )?;
    let header: Vec<&str> = rows.header().iter().map(String::as_str).collect();
    let layout =
        Layout::from_header(&published.resource, &header, import.mode).map_err(|error| {
            IngestError::Header {
                message: error.to_string(),
                message_zh: error.message_zh(),
            }
        })?;
    let start = BatchStart {
        batch_id: batch_id.clone(),
        resource: code.clone(),
        resource_version: published.version,
        provider: published.resource.provider.clone(),
        mode: import.mode,
        atomic: import.atomic,
        digest,
        actor: import.actor.clone(),
        started_at: now,
    };
    let (opening, loader) = store.open_batch(&start).await?;
    let (mut loader, skip_through): (Box<dyn DatasetLoad>, u64) = match (opening, loader) {
        (BatchOpening::Committed(summary), _) => {
            return Ok(DatasetOutcome::Committed {
                summary,
                again: true,
            });
        }
        (BatchOpening::Conflict(reason), _) => return Err(IngestError::Conflict(reason)),
        (BatchOpening::New, Some(loader)) => (loader, 0),
        (BatchOpening::Resume { committed_rows }, Some(loader)) => {
            progress(&format!(
                "resuming batch {batch_id} after row {committed_rows}"
            ));
            (loader, committed_rows)
        }
        (opening, None) => {
            return Err(IngestError::Storage(
                huimin_domain::storage::StorageError::new(format!(
                    "the store opened batch {batch_id} ({opening:?}) without a loader"
                )),
            ));
        }
    };
    progress(&format!(
        "batch {batch_id}: {} load of {code} ({encoding})",
        import.mode.code()
    ));
    let mut report =
        Problems {
            report: std::io::BufWriter::new(match &import.report {
                Some(path) => Box::new(std::fs::File::create(path).map_err(|error| {
                    IngestError::io(format!("creating {}", path.display()), error)
                })?),
                None => Box::new(std::io::sink()),
            }),
            first: Vec::new(),
        };
    // Rows are read and checked on a thread of their own while the store writes the
    // chunk before: the two halves of the work overlap (two chunks in flight at most).
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Chunk>(1);
    let checking = {
        let resource = published.resource.clone();
        let chunk_rows = import.chunk_rows;
        tokio::task::spawn_blocking(move || {
            check_rows(
                &mut rows,
                &layout,
                &resource,
                skip_through,
                chunk_rows,
                &mut report,
                |chunk| sender.blocking_send(chunk).is_ok(),
            )
            .map(|valid_rows| (valid_rows, report))
        })
    };
    // Rows refused by the checks or by the store (repeated keys).
    let mut rejected = 0_u64;
    let mut written = Ok(());
    while let Some(chunk) = receiver.recv().await {
        let last = chunk.last_row;
        match loader.write(chunk).await {
            Ok(counts) => rejected += counts.rejected,
            Err(error) => {
                written = Err(error);
                break;
            }
        }
        progress(&format!(
            "{} through row {last}",
            if import.atomic {
                "checked"
            } else {
                "committed"
            }
        ));
    }
    drop(receiver);
    let checked = checking.await.map_err(|error| {
        IngestError::io("checking rows", std::io::Error::other(error.to_string()))
    })?;
    written?;
    let (valid_rows, mut report) = checked?;
    report.flush()?;
    if import.mode == LoadMode::Full && valid_rows == 0 {
        return Err(IngestError::NoValidRow {
            resource: code.to_string(),
            batch: batch_id,
        });
    }
    if import.atomic && rejected > 0 {
        // All of the batch or none of it: dropping the loader rolls its transaction back.
        drop(loader);
        return Ok(DatasetOutcome::Aborted {
            rejected,
            problems: report.first,
        });
    }
    let summary = loader.finish(clock().max(now)).await?;
    append_store_problems(store, &batch_id, &mut report).await?;
    report.flush()?;
    Ok(DatasetOutcome::Committed {
        summary: Box::new(summary),
        again: false,
    })
}

/// Reads and checks the rows after `skip_through`, handing each chunk of `chunk_rows`
/// to `send` (which answers false when nobody takes them any more); problems go to the
/// report as they are found. Returns the number of valid rows.
fn check_rows(
    rows: &mut Rows,
    layout: &Layout,
    resource: &huimin_domain::catalogue::Resource,
    skip_through: u64,
    chunk_rows: usize,
    report: &mut Problems,
    mut send: impl FnMut(Chunk) -> bool,
) -> Result<u64, IngestError> {
    let mut chunk = Chunk::default();
    let mut valid_rows = 0_u64;
    while let Some((row, cells)) = rows.next_row() {
        if row <= skip_through {
            continue;
        }
        match cells {
            Ok(cells) if cells.is_empty() => continue,
            Ok(cells) => {
                let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
                match layout.record(resource, &cells) {
                    Ok(record) => {
                        valid_rows += 1;
                        chunk.tally.count_valid(resource, &record);
                        chunk.records.push((row, record));
                    }
                    Err(problems) => {
                        chunk.tally.count_rejected();
                        for problem in problems {
                            let problem = RowProblem { row, problem };
                            report.add(&problem)?;
                            chunk.problems.push(problem);
                        }
                    }
                }
            }
            Err(problem) => {
                chunk.tally.count_rejected();
                report.add(&problem)?;
                chunk.problems.push(*problem);
            }
        }
        chunk.last_row = row;
        if chunk.records.len() + chunk.problems.len() >= chunk_rows
            && !send(std::mem::take(&mut chunk))
        {
            return Ok(valid_rows);
        }
    }
    if chunk.last_row > 0 {
        send(chunk);
    }
    Ok(valid_rows)
}

/// The problems the store found (repeated keys, unlinked subjects), after the file's own.
async fn append_store_problems(
    store: &dyn DatasetStore,
    batch_id: &str,
    report: &mut Problems,
) -> Result<(), IngestError> {
    let mut page = 1;
    loop {
        let problems = store
            .batch_problems(batch_id, PageRequest::new(page, 200))
            .await?;
        for problem in &problems.items {
            if matches!(
                problem.problem.code.as_str(),
                "duplicate_key" | "subject_unlinked"
            ) {
                report.add(problem)?;
            }
        }
        if u64::from(page) * 200 >= problems.total {
            return Ok(());
        }
        page += 1;
    }
}
