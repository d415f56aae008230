//! Department datasets, written once for both backends (`dataset_store!`): batches with
//! their counters, records with their provenance, and each batch's problems.
//!
//! A record is looked up by key before it is written, which tells an insert from an
//! update, an unchanged record, and a key the batch has already seen (a repeat, reported
//! and not written). A full load deletes at its end the records it did not see. A
//! non-atomic batch commits chunk by chunk and keeps the last row it committed, so the
//! same file and batch id resume after it; an atomic batch is one transaction.

use foldhash::HashSet;
use huimin_domain::catalogue::SubjectKind;
use huimin_domain::storage::StorageError;

pub(crate) const BATCH_COLUMNS: &str = "batch_id, resource_code, resource_version, provider, mode, atomic, digest, status, \
     started_by, started_at_us, finished_at_us, committed_rows, rows_read, valid_rows, optional_cells, \
     filled_optional_cells, duplicate_keys, with_subject, linked, inserted, updated, unchanged, deleted, rejected, \
     unlinked, timeliness_ppm";

/// The registry table and key column a subject kind links to.
pub(crate) fn subject_table(kind: SubjectKind) -> Option<(&'static str, &'static str)> {
    match kind {
        SubjectKind::Person => Some(("person", "citizen_id")),
        SubjectKind::Entity => Some(("legal_entity", "credit_code")),
        SubjectKind::House => Some(("house", "id")),
        SubjectKind::None => None,
    }
}

/// `count` numbered placeholders from `$first`, comma-separated, for an `IN` list.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Subjects are linked in look-ups of this many at a time.
pub(crate) const LINK_LOOKUP: usize = 100;

/// What a loader remembers from chunk to chunk to spare the database look-ups, bounded
/// whatever the file's size. Without it the look-ups were the larger part of an import's
/// database work (on SQLite more than the writes).
#[derive(Default)]
pub(crate) struct LoaderMemory {
    /// Subjects the registry was found to hold. Registry rows are superseded in place,
    /// never removed, so a subject once found stays found; one not found is asked again.
    linked: HashSet<String>,
    /// The keys this batch has written, when its resource held no records as it began:
    /// then a key the filter has not seen is certainly not stored, and is not looked up.
    written: Option<KeyFilter>,
}

impl LoaderMemory {
    /// At most this many linked subjects are remembered; past it the set starts again.
    const LINKED: usize = 1 << 18;

    /// A loader's memory, for a batch whose resource held no records when it began
    /// (`fresh`) or not.
    pub(crate) fn new(fresh: bool) -> Self {
        Self {
            linked: HashSet::default(),
            written: fresh.then(KeyFilter::new),
        }
    }

    /// Which of `subjects` still need asking of the registry.
    pub(crate) fn unknown_subjects<'s>(&self, subjects: &[&'s str]) -> Vec<&'s str> {
        subjects
            .iter()
            .copied()
            .filter(|subject| !self.linked.contains(*subject))
            .collect()
    }

    /// Whether the registry holds `subject`, from memory and the `found` of this chunk's
    /// look-up, which are remembered.
    pub(crate) fn is_linked(&self, subject: &str, found: &HashSet<String>) -> bool {
        self.linked.contains(subject) || found.contains(subject)
    }

    /// Remembers subjects the registry was found to hold.
    pub(crate) fn remember_linked(&mut self, found: HashSet<String>) {
        if self.linked.len() + found.len() > Self::LINKED {
            self.linked.clear();
        }
        self.linked.extend(found);
    }

    /// Which of `keys` may be stored and so need looking up.
    pub(crate) fn keys_to_look_up<'k>(&self, keys: Vec<&'k str>) -> Vec<&'k str> {
        match &self.written {
            Some(filter) => keys
                .into_iter()
                .filter(|key| filter.may_contain(key))
                .collect(),
            None => keys,
        }
    }

    /// Remembers that the batch wrote `key`.
    pub(crate) fn remember_written(&mut self, key: &str) {
        if let Some(filter) = &mut self.written {
            filter.insert(key);
        }
    }
}

/// A Bloom filter of record keys in a fixed 8 MiB: no false negatives, and about one
/// false positive in 200 at five million keys (each costs only a look-up).
pub(crate) struct KeyFilter {
    bits: Vec<u64>,
}

impl KeyFilter {
    const BITS: u64 = 1 << 26;
    const PROBES: u64 = 4;

    pub(crate) fn new() -> Self {
        Self {
            bits: vec![0; (Self::BITS / 64) as usize],
        }
    }

    /// The filter's bits for `key`, by double hashing from the halves of one 64-bit hash.
    fn positions(key: &str) -> impl Iterator<Item = u64> {
        use std::hash::BuildHasher;
        let hash = foldhash::quality::FixedState::with_seed(0x4875_696d_696e).hash_one(key);
        let (first, second) = (hash & 0xffff_ffff, (hash >> 32) | 1);
        (0..Self::PROBES)
            .map(move |probe| first.wrapping_add(probe.wrapping_mul(second)) % Self::BITS)
    }

    pub(crate) fn insert(&mut self, key: &str) {
        for bit in Self::positions(key) {
            self.bits[(bit / 64) as usize] |= 1 << (bit % 64);
        }
    }

    pub(crate) fn may_contain(&self, key: &str) -> bool {
        Self::positions(key).all(|bit| self.bits[(bit / 64) as usize] & (1 << (bit % 64)) != 0)
    }
}

/// What the store holds of a key: its values and the batch and row that last contained it.
pub(crate) struct Known {
    pub(crate) values: String,
    pub(crate) seen_batch: String,
    pub(crate) seen_row: i64,
}

/// One change a chunk makes to its resource's records, applied in the chunk's order by
/// the backend's `dataset_writes::apply` (a key's deletion and its insert again may follow
/// each other in one chunk).
pub(crate) enum RecordWrite<'a> {
    /// A new record, from this batch.
    Insert {
        key: &'a str,
        subject: Option<&'a str>,
        linked: bool,
        values: String,
        row: i64,
    },
    /// A record this batch contains unchanged: only when it was seen, and its linking.
    Seen {
        key: &'a str,
        linked: bool,
        row: i64,
    },
    /// A record whose values this batch changes.
    Update {
        key: &'a str,
        subject: Option<&'a str>,
        linked: bool,
        values: String,
        row: i64,
    },
    /// A stored record this batch deletes.
    Delete { key: &'a str },
}

impl RecordWrite<'_> {
    /// Which kind of write: consecutive writes of one kind may go in one statement.
    pub(crate) fn kind(&self) -> u8 {
        match self {
            RecordWrite::Insert { .. } => 0,
            RecordWrite::Seen { .. } => 1,
            RecordWrite::Update { .. } => 2,
            RecordWrite::Delete { .. } => 3,
        }
    }
}

pub(crate) fn encode_values(values: &[Option<String>]) -> Result<String, StorageError> {
    serde_json::to_string(values)
        .map_err(|error| StorageError::new(format!("encoding record values: {error}")))
}

/// A subject's records of a resource (`$1` the subject, `$2` the resource), unsorted: with
/// `ORDER BY record_key` SQLite's planner walked the primary key (it yields that order)
/// over the resource's every record instead of the subject index — 21 look-ups a second
/// instead of thousands on 200,000 records. Callers sort.
pub(crate) const SUBJECT_RECORDS_SQL: &str = "SELECT r.record_key, r.subject, r.linked, r.record_values, r.batch_id, \
     r.recorded_at_us, b.provider FROM dataset_record r JOIN dataset_batch b ON b.batch_id = r.batch_id \
     WHERE r.subject = $1 AND r.resource_code = $2";

/// A stored record from its columns.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decode_record(
    resource: &huimin_domain::catalogue::ResourceCode,
    key: String,
    subject: Option<String>,
    linked: i64,
    values: &str,
    batch_id: String,
    provider: &str,
    recorded_at_us: i64,
) -> Result<huimin_domain::dataset::StoredRecord, StorageError> {
    Ok(huimin_domain::dataset::StoredRecord {
        resource: resource.clone(),
        values: decode_values(&key, values)?,
        subject,
        linked: linked != 0,
        batch_id,
        provider: huimin_domain::catalogue::DepartmentId::parse(provider).map_err(|_| {
            crate::codec::corrupt("dataset_batch.provider", provider, "not a department id")
        })?,
        recorded_at: crate::codec::from_micros(recorded_at_us)?,
        key,
    })
}

pub(crate) fn decode_values(key: &str, text: &str) -> Result<Vec<Option<String>>, StorageError> {
    serde_json::from_str(text)
        .map_err(|error| crate::codec::corrupt("dataset_record.record_values", key, error))
}

/// Parts per million of a share between 0 and 1.
pub(crate) fn ppm(share: f64) -> i64 {
    (share.clamp(0.0, 1.0) * 1_000_000.0).round() as i64
}

macro_rules! dataset_store {
    ($store:ty, $database:ty, $row:ty) => {
        pub(crate) mod dataset_queries {
            use super::audit_queries::append_in;
            use crate::codec::{from_micros, micros};
            use crate::dataset::{BATCH_COLUMNS, Known, LINK_LOOKUP, LoaderMemory, RecordWrite, encode_values, placeholders, ppm, subject_table};
            use crate::storage_error;
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use huimin_domain::audit::AuditEvent;
            use huimin_domain::catalogue::{DepartmentId, ResourceCode, SubjectKind};
            use huimin_domain::dataset::{
                BatchOpening, BatchStart, BatchStatus, BatchSummary, CellProblem, Chunk, DatasetCounts,
                LoadMode, QualityTally, RowProblem, StoredRecord,
            };
            use huimin_domain::storage::{
                CatalogueStore, DatasetLoad, DatasetStore, Page, PageRequest, StorageError, StorageResult,
            };
            use sqlx::Row;
            use foldhash::HashSet;

            type DatabaseRow = $row;
            type Transaction = sqlx::Transaction<'static, $database>;
            type Pool = sqlx::Pool<$database>;

            fn get<'r, T>(row: &'r DatabaseRow, column: &str) -> StorageResult<T>
            where
                T: sqlx::Decode<'r, $database> + sqlx::Type<$database>,
            {
                row.try_get(column).map_err(|e| storage_error(column, e))
            }

            fn count(row: &DatabaseRow, column: &str) -> StorageResult<u64> {
                let value: i64 = get(row, column)?;
                u64::try_from(value).map_err(|e| storage_error(column, e))
            }

            fn read_batch(row: &DatabaseRow) -> StorageResult<BatchSummary> {
                let batch_id: String = get(row, "batch_id")?;
                let corrupt = |column: &str, value: &str| crate::codec::corrupt(column, value, "not a known value");
                let resource: String = get(row, "resource_code")?;
                let provider: String = get(row, "provider")?;
                let mode: String = get(row, "mode")?;
                let status: String = get(row, "status")?;
                let finished: Option<i64> = get(row, "finished_at_us")?;
                let tally = QualityTally {
                    rows: count(row, "rows_read")?,
                    valid_rows: count(row, "valid_rows")?,
                    optional_cells: count(row, "optional_cells")?,
                    filled_optional_cells: count(row, "filled_optional_cells")?,
                    duplicate_keys: count(row, "duplicate_keys")?,
                    with_subject: count(row, "with_subject")?,
                    linked: count(row, "linked")?,
                };
                let status = BatchStatus::parse(&status).ok_or_else(|| corrupt("dataset_batch.status", &status))?;
                let timeliness: i64 = get(row, "timeliness_ppm")?;
                let atomic: i64 = get(row, "atomic")?;
                let version: i64 = get(row, "resource_version")?;
                Ok(BatchSummary {
                    resource: ResourceCode::parse(&resource).map_err(|_| corrupt("dataset_batch.resource_code", &resource))?,
                    resource_version: u32::try_from(version).map_err(|e| storage_error("resource_version", e))?,
                    provider: DepartmentId::parse(&provider).map_err(|_| corrupt("dataset_batch.provider", &provider))?,
                    mode: LoadMode::parse(&mode).ok_or_else(|| corrupt("dataset_batch.mode", &mode))?,
                    atomic: atomic != 0,
                    status,
                    started_by: get(row, "started_by")?,
                    started_at: from_micros(get(row, "started_at_us")?)?,
                    finished_at: finished.map(from_micros).transpose()?,
                    committed_rows: count(row, "committed_rows")?,
                    counts: DatasetCounts {
                        inserted: count(row, "inserted")?,
                        updated: count(row, "updated")?,
                        unchanged: count(row, "unchanged")?,
                        deleted: count(row, "deleted")?,
                        rejected: count(row, "rejected")?,
                        unlinked: count(row, "unlinked")?,
                    },
                    tally,
                    quality: (status == BatchStatus::Committed)
                        .then(|| tally.report_with_timeliness(timeliness as f64 / 1_000_000.0)),
                    batch_id,
                })
            }

            async fn batch_in(
                executor: impl sqlx::Executor<'_, Database = $database>,
                batch_id: &str,
            ) -> StorageResult<Option<BatchSummary>> {
                let row = sqlx::query(sql!("SELECT {BATCH_COLUMNS} FROM dataset_batch WHERE batch_id = $1"))
                    .bind(batch_id)
                    .fetch_optional(executor)
                    .await
                    .map_err(|e| storage_error("reading a batch", e))?;
                row.as_ref().map(read_batch).transpose()
            }

            /// The loader of one batch.
            pub(crate) struct Loader {
                pool: Pool,
                /// An atomic batch's one transaction.
                transaction: Option<Transaction>,
                start: BatchStart,
                subject: SubjectKind,
                /// The resource's non-authoritative feeds of registry fields, compared with
                /// the registry (一数一源).
                compared: Vec<crate::dispute::ComparedFeed>,
                /// Whether changes go to the resource's outbox (it has subscriptions).
                outbox: bool,
                /// What the chunks so far tell the next one.
                memory: LoaderMemory,
            }

            impl Loader {
                fn event(&self, action: &str, detail: String) -> AuditEvent {
                    AuditEvent {
                        detail,
                        ..self.start.actor.event(action, "batch", self.start.batch_id.as_str())
                    }
                }

                /// Compares the written records' values of each non-authoritative feed with
                /// the registry; a different value opens a dispute for the authoritative
                /// department, or brings the open one of that field, subject and source up
                /// to date. An empty registry value is a gap, not a disagreement.
                async fn compare(&self, transaction: &mut Transaction, written: &[(&str, &[Option<String>])]) -> StorageResult<()> {
                    for feed in &self.compared {
                        let mut offered: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
                        for (subject, values) in written {
                            if let Some(Some(value)) = values.get(feed.position) {
                                offered.insert(subject, value.as_str());
                            }
                        }
                        let mut subjects: Vec<&str> = offered.keys().copied().collect();
                        subjects.sort_unstable();
                        for group in subjects.chunks(LINK_LOOKUP) {
                            let mut query = sqlx::query(sql!(
                                "SELECT {key} AS subject, {column} AS value FROM {table} WHERE {key} IN ({})",
                                placeholders(1, group.len()),
                                key = feed.key,
                                column = feed.column,
                                table = feed.table,
                            ))
                            .persistent(false);
                            for subject in group {
                                query = query.bind(*subject);
                            }
                            let rows = query
                                .fetch_all(&mut **transaction)
                                .await
                                .map_err(|e| storage_error("reading registry values to compare", e))?;
                            let mut differing: Vec<(String, String, &str)> = Vec::new();
                            for row in &rows {
                                let subject: String = get(row, "subject")?;
                                let registry: Option<String> = get(row, "value")?;
                                let Some(other) = offered.get(subject.as_str()) else { continue };
                                match registry {
                                    Some(registry) if !registry.trim().is_empty()
                                        && !huimin_domain::dispute::agrees(&registry, other) =>
                                    {
                                        differing.push((subject, registry, other));
                                    }
                                    _ => {}
                                }
                            }
                            if differing.is_empty() {
                                continue;
                            }
                            let mut open = sqlx::query(sql!(
                                "SELECT id, subject FROM registry_dispute WHERE field = $1 AND source_resource = $2 \
                                 AND status = 'open' AND subject IN ({})",
                                placeholders(3, differing.len())
                            ))
                            .persistent(false)
                            .bind(feed.field.code())
                            .bind(self.start.resource.as_str());
                            for (subject, _, _) in &differing {
                                open = open.bind(subject.as_str());
                            }
                            let open: std::collections::HashMap<String, i64> = open
                                .fetch_all(&mut **transaction)
                                .await
                                .map_err(|e| storage_error("reading open disputes", e))?
                                .iter()
                                .map(|row| Ok((get::<String>(row, "subject")?, get::<i64>(row, "id")?)))
                                .collect::<StorageResult<_>>()?;
                            for (subject, registry, other) in &differing {
                                if let Some(id) = open.get(subject) {
                                    sqlx::query(
                                        "UPDATE registry_dispute SET registry_value = $1, source_value = $2, batch_id = $3 WHERE id = $4",
                                    )
                                    .bind(registry.as_str())
                                    .bind(*other)
                                    .bind(self.start.batch_id.as_str())
                                    .bind(*id)
                                    .execute(&mut **transaction)
                                    .await
                                    .map_err(|e| storage_error("updating a dispute", e))?;
                                } else {
                                    sqlx::query(
                                        "INSERT INTO registry_dispute (field, subject, registry_value, source_value, source_resource, \
                                         source_department, batch_id, authority_resource, authority, opened_at_us, status) \
                                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open')",
                                    )
                                    .bind(feed.field.code())
                                    .bind(subject.as_str())
                                    .bind(registry.as_str())
                                    .bind(*other)
                                    .bind(self.start.resource.as_str())
                                    .bind(self.start.provider.as_str())
                                    .bind(self.start.batch_id.as_str())
                                    .bind(feed.authority_resource.as_str())
                                    .bind(feed.authority.as_str())
                                    .bind(micros(self.start.started_at))
                                    .execute(&mut **transaction)
                                    .await
                                    .map_err(|e| storage_error("opening a dispute", e))?;
                                }
                            }
                        }
                    }
                    Ok(())
                }

                async fn write_in(
                    &self,
                    transaction: &mut Transaction,
                    chunk: Chunk,
                    memory: &mut LoaderMemory,
                ) -> StorageResult<DatasetCounts> {
                    let batch = self.start.batch_id.as_str();
                    let resource = self.start.resource.as_str();
                    let recorded_at = micros(self.start.started_at);
                    let mut subjects: Vec<&str> = chunk
                        .records
                        .iter()
                        .filter(|(_, record)| !record.delete)
                        .filter_map(|(_, record)| record.subject.as_deref())
                        .collect();
                    subjects.sort_unstable();
                    subjects.dedup();
                    let registered = match subject_table(self.subject) {
                        Some((table, column)) => {
                            let unknown = memory.unknown_subjects(&subjects);
                            super::dataset_writes::linked(transaction, table, column, &unknown).await?
                        }
                        None => HashSet::default(),
                    };
                    let mut counts = DatasetCounts::default();
                    let mut tally = chunk.tally;
                    let mut problems = chunk.problems;
                    let mut rejected_rows: HashSet<u64> = problems.iter().map(|problem| problem.row).collect();
                    // What the store holds of the chunk's keys, looked up together; kept up
                    // to date as the chunk is decided, so a key repeated within the chunk
                    // is found too.
                    let mut keys: Vec<&str> = chunk.records.iter().map(|(_, record)| record.key.as_str()).collect();
                    keys.sort_unstable();
                    keys.dedup();
                    let mut known = super::dataset_writes::known(transaction, resource, &memory.keys_to_look_up(keys)).await?;
                    let mut writes: Vec<RecordWrite<'_>> = Vec::with_capacity(chunk.records.len());
                    // Linked records inserted or changed, to compare with the registry.
                    let mut written: Vec<(&str, &[Option<String>])> = Vec::new();
                    // Every change, for the outbox when the resource has subscriptions.
                    let mut changes: Vec<crate::subscription::OutboxChange<'_>> = Vec::new();
                    for (row, record) in &chunk.records {
                        let row_number = i64::try_from(*row).map_err(|e| storage_error("row number", e))?;
                        if record.delete {
                            // `known` holds every key of the chunk the store has, as the
                            // writes decided so far leave it.
                            if known.remove(record.key.as_str()).is_some() {
                                counts.deleted += 1;
                                writes.push(RecordWrite::Delete { key: &record.key });
                                if self.outbox {
                                    changes.push(crate::subscription::OutboxChange {
                                        key: &record.key,
                                        subject: record.subject.as_deref(),
                                        change: huimin_domain::subscription::Change::Deleted,
                                        values: None,
                                    });
                                }
                            }
                            continue;
                        }
                        if let Some(existing) = known.get(record.key.as_str())
                            && existing.seen_batch == batch
                        {
                            let first = existing.seen_row;
                            tally.duplicate_keys += 1;
                            rejected_rows.insert(*row);
                            problems.push(RowProblem {
                                row: *row,
                                problem: CellProblem::new(
                                    "",
                                    &record.key.replace(huimin_domain::dataset::KEY_SEPARATOR, " "),
                                    "duplicate_key",
                                    format!("the record key repeats row {first}; the row is not written"),
                                    format!("记录键与第 {first} 行重复，该行未写入"),
                                ),
                            });
                            continue;
                        }
                        let is_linked = match record.subject.as_deref() {
                            Some(subject) if self.subject != SubjectKind::None => {
                                tally.with_subject += 1;
                                let found = memory.is_linked(subject, &registered);
                                if found {
                                    tally.linked += 1;
                                } else {
                                    counts.unlinked += 1;
                                    problems.push(RowProblem {
                                        row: *row,
                                        problem: CellProblem::new(
                                            "",
                                            subject,
                                            "subject_unlinked",
                                            format!("the subject {subject} is not in the base registries; the record is kept, unlinked"),
                                            format!("主体 {subject} 不在基础库中；记录已保存，未关联"),
                                        ),
                                    });
                                }
                                found
                            }
                            _ => false,
                        };
                        let values = encode_values(&record.values)?;
                        // A later row of the key in this chunk is a repeat: its values are
                        // never compared with these.
                        let seen = Known { values: String::new(), seen_batch: batch.to_owned(), seen_row: row_number };
                        let previous = known.insert(record.key.as_str(), seen);
                        if is_linked
                            && !self.compared.is_empty()
                            && previous.as_ref().is_none_or(|stored| stored.values != values)
                            && let Some(subject) = record.subject.as_deref()
                        {
                            written.push((subject, record.values.as_slice()));
                        }
                        if self.outbox && previous.as_ref().is_none_or(|stored| stored.values != values) {
                            changes.push(crate::subscription::OutboxChange {
                                key: &record.key,
                                subject: record.subject.as_deref(),
                                change: if previous.is_none() {
                                    huimin_domain::subscription::Change::Inserted
                                } else {
                                    huimin_domain::subscription::Change::Updated
                                },
                                values: Some(values.clone()),
                            });
                        }
                        let (key, subject, linked) = (record.key.as_str(), record.subject.as_deref(), is_linked);
                        memory.remember_written(key);
                        writes.push(match previous {
                            None => {
                                counts.inserted += 1;
                                RecordWrite::Insert { key, subject, linked, values, row: row_number }
                            }
                            Some(stored) if stored.values == values => {
                                counts.unchanged += 1;
                                RecordWrite::Seen { key, linked, row: row_number }
                            }
                            Some(_) => {
                                counts.updated += 1;
                                RecordWrite::Update { key, subject, linked, values, row: row_number }
                            }
                        });
                    }
                    super::dataset_writes::apply(transaction, resource, batch, recorded_at, &writes).await?;
                    memory.remember_linked(registered);
                    self.compare(transaction, &written).await?;
                    super::subscription_queries::append_outbox(transaction, resource, batch, self.start.started_at, &changes).await?;
                    counts.rejected = rejected_rows.len() as u64;
                    let mut position_in_row: foldhash::HashMap<u64, i64> = foldhash::HashMap::default();
                    for problem in &problems {
                        let position: &mut i64 = position_in_row.entry(problem.row).or_insert(0);
                        sqlx::query(
                            "INSERT INTO dataset_problem (batch_id, row_number, position, column_name, value, code, message, message_zh) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (batch_id, row_number, position) DO NOTHING",
                        )
                        .bind(batch)
                        .bind(i64::try_from(problem.row).map_err(|e| storage_error("row number", e))?)
                        .bind(*position)
                        .bind(problem.problem.column.as_str())
                        .bind(problem.problem.value.as_str())
                        .bind(problem.problem.code.as_str())
                        .bind(problem.problem.message.as_str())
                        .bind(problem.problem.message_zh.as_str())
                        .execute(&mut **transaction)
                        .await
                        .map_err(|e| storage_error("keeping a problem", e))?;
                        *position += 1;
                    }
                    let as_i64 = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
                    sqlx::query(
                        "UPDATE dataset_batch SET committed_rows = $2, rows_read = rows_read + $3, valid_rows = valid_rows + $4, \
                         optional_cells = optional_cells + $5, filled_optional_cells = filled_optional_cells + $6, \
                         duplicate_keys = duplicate_keys + $7, with_subject = with_subject + $8, linked = linked + $9, \
                         inserted = inserted + $10, updated = updated + $11, unchanged = unchanged + $12, deleted = deleted + $13, \
                         rejected = rejected + $14, unlinked = unlinked + $15 WHERE batch_id = $1",
                    )
                    .bind(batch)
                    .bind(as_i64(chunk.last_row))
                    .bind(as_i64(tally.rows))
                    .bind(as_i64(tally.valid_rows))
                    .bind(as_i64(tally.optional_cells))
                    .bind(as_i64(tally.filled_optional_cells))
                    .bind(as_i64(tally.duplicate_keys))
                    .bind(as_i64(tally.with_subject))
                    .bind(as_i64(tally.linked))
                    .bind(as_i64(counts.inserted))
                    .bind(as_i64(counts.updated))
                    .bind(as_i64(counts.unchanged))
                    .bind(as_i64(counts.deleted))
                    .bind(as_i64(counts.rejected))
                    .bind(as_i64(counts.unlinked))
                    .execute(&mut **transaction)
                    .await
                    .map_err(|e| storage_error("counting a chunk", e))?;
                    Ok(counts)
                }
            }

            /// The items of `resource` that feed a compared registry field whose
            /// authoritative source is another resource.
            async fn compared_feeds(
                store: &$store,
                resource: &huimin_domain::catalogue::Resource,
            ) -> StorageResult<Vec<crate::dispute::ComparedFeed>> {
                let candidates: Vec<(usize, huimin_domain::catalogue::RegistryField)> = resource
                    .items
                    .iter()
                    .enumerate()
                    .filter_map(|(position, item)| item.feeds.filter(|feed| !feed.authoritative).map(|feed| (position, feed.field)))
                    .collect();
                let mut feeds = Vec::new();
                if candidates.is_empty() {
                    return Ok(feeds);
                }
                let sources = CatalogueStore::authoritative_sources(store).await?;
                for (position, field) in candidates {
                    let Some((table, key, column)) = crate::dispute::registry_column(field, resource.subject) else { continue };
                    let Some((_, code)) = sources.iter().find(|(source, code)| *source == field && *code != resource.code) else {
                        continue;
                    };
                    let Some(authority) = CatalogueStore::resource(store, code, None).await? else { continue };
                    feeds.push(crate::dispute::ComparedFeed {
                        position,
                        field,
                        table,
                        key,
                        column,
                        authority_resource: code.clone(),
                        authority: authority.resource.provider,
                    });
                }
                Ok(feeds)
            }

            fn describe(counts: &DatasetCounts, last_row: u64) -> String {
                format!(
                    "through row {last_row}: {} inserted, {} updated, {} unchanged, {} deleted, {} rejected, {} unlinked",
                    counts.inserted, counts.updated, counts.unchanged, counts.deleted, counts.rejected, counts.unlinked
                )
            }

            #[async_trait]
            impl DatasetLoad for Loader {
                async fn write(&mut self, chunk: Chunk) -> StorageResult<DatasetCounts> {
                    let last_row = chunk.last_row;
                    let mut memory = std::mem::take(&mut self.memory);
                    if let Some(mut transaction) = self.transaction.take() {
                        let counts = self.write_in(&mut transaction, chunk, &mut memory).await;
                        self.transaction = Some(transaction);
                        self.memory = memory;
                        return counts;
                    }
                    let mut transaction = <$store>::begin_write_on(&self.pool).await?;
                    let counts = self.write_in(&mut transaction, chunk, &mut memory).await;
                    self.memory = memory;
                    let counts = counts?;
                    let event = self.event("dataset.load", describe(&counts, last_row));
                    append_in(&mut transaction, std::slice::from_ref(&event), self.start.started_at).await?;
                    transaction.commit().await.map_err(|e| storage_error("committing a chunk", e))?;
                    Ok(counts)
                }

                async fn finish(mut self: Box<Self>, finished_at: DateTime<Utc>) -> StorageResult<BatchSummary> {
                    let mut transaction = match self.transaction.take() {
                        Some(transaction) => transaction,
                        None => <$store>::begin_write_on(&self.pool).await?,
                    };
                    let batch = self.start.batch_id.as_str();
                    if self.outbox && self.start.mode == LoadMode::Full {
                        let omitted = sqlx::query(
                            "SELECT record_key, subject FROM dataset_record WHERE resource_code = $1 AND seen_batch <> $2 ORDER BY record_key",
                        )
                        .bind(self.start.resource.as_str())
                        .bind(batch)
                        .fetch_all(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("reading records the full load omitted", e))?;
                        let omitted: Vec<(String, Option<String>)> = omitted
                            .iter()
                            .map(|row| Ok((get::<String>(row, "record_key")?, get::<Option<String>>(row, "subject")?)))
                            .collect::<StorageResult<_>>()?;
                        let changes: Vec<crate::subscription::OutboxChange<'_>> = omitted
                            .iter()
                            .map(|(key, subject)| crate::subscription::OutboxChange {
                                key,
                                subject: subject.as_deref(),
                                change: huimin_domain::subscription::Change::Deleted,
                                values: None,
                            })
                            .collect();
                        super::subscription_queries::append_outbox(&mut transaction, self.start.resource.as_str(), batch, finished_at, &changes).await?;
                    }
                    let deleted = if self.start.mode == LoadMode::Full {
                        sqlx::query("DELETE FROM dataset_record WHERE resource_code = $1 AND seen_batch <> $2")
                            .bind(self.start.resource.as_str())
                            .bind(batch)
                            .execute(&mut *transaction)
                            .await
                            .map_err(|e| storage_error("deleting records the full load omitted", e))?
                            .rows_affected()
                    } else {
                        0
                    };
                    sqlx::query(
                        "UPDATE dataset_batch SET status = 'committed', finished_at_us = $2, deleted = deleted + $3 WHERE batch_id = $1",
                    )
                    .bind(batch)
                    .bind(micros(finished_at))
                    .bind(i64::try_from(deleted).unwrap_or(i64::MAX))
                    .execute(&mut *transaction)
                    .await
                    .map_err(|e| storage_error("committing a batch", e))?;
                    let summary = batch_in(&mut *transaction, batch)
                        .await?
                        .ok_or_else(|| StorageError::new(format!("batch {batch} vanished while it was committed")))?;
                    let score = summary.quality.map_or(0.0, |quality| quality.score());
                    let event = AuditEvent {
                        jurisdiction: String::new(),
                        ..self.event(
                            "dataset.commit",
                            format!("{}; quality {score:.1}", describe(&summary.counts, summary.committed_rows)),
                        )
                    };
                    append_in(&mut transaction, std::slice::from_ref(&event), finished_at).await?;
                    transaction.commit().await.map_err(|e| storage_error("committing a batch", e))?;
                    Ok(summary)
                }
            }

            #[async_trait]
            impl DatasetStore for $store {
                async fn open_batch(&self, start: &BatchStart) -> StorageResult<(BatchOpening, Option<Box<dyn DatasetLoad>>)> {
                    let Some(resource) = CatalogueStore::resource(self, &start.resource, None).await? else {
                        return Ok((BatchOpening::Conflict(format!("resource {} is not in the catalogue", start.resource)), None));
                    };
                    let subject = resource.resource.subject;
                    let compared = compared_feeds(self, &resource.resource).await?;
                    let outbox = super::subscription_queries::outbox_wanted(&self.pool, start.resource.as_str()).await?;
                    let loader = |transaction: Option<Transaction>, fresh: bool| -> Box<dyn DatasetLoad> {
                        Box::new(Loader {
                            pool: self.pool.clone(),
                            transaction,
                            start: start.clone(),
                            subject,
                            compared: compared.clone(),
                            outbox,
                            memory: LoaderMemory::new(fresh),
                        })
                    };
                    let stored = sqlx::query(sql!("SELECT {BATCH_COLUMNS} FROM dataset_batch WHERE batch_id = $1"))
                        .bind(start.batch_id.as_str())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(|e| storage_error("reading a batch", e))?;
                    if let Some(stored) = stored {
                        let existing = read_batch(&stored)?;
                        let stored_digest: String = get(&stored, "digest")?;
                        if existing.resource != start.resource {
                            return Ok((BatchOpening::Conflict(format!(
                                "batch {} belongs to resource {}", start.batch_id, existing.resource
                            )), None));
                        }
                        if existing.mode != start.mode || existing.atomic != start.atomic {
                            return Ok((BatchOpening::Conflict(format!(
                                "batch {} was begun as a{} {} load; run it again the same way, or give this one another batch id",
                                start.batch_id,
                                if existing.atomic { "n atomic" } else { " chunked" },
                                existing.mode.code()
                            )), None));
                        }
                        if stored_digest != start.digest {
                            return Ok((BatchOpening::Conflict(format!(
                                "batch {} was sent before with other content; give this one another batch id", start.batch_id
                            )), None));
                        }
                        return Ok(match existing.status {
                            BatchStatus::Committed => (BatchOpening::Committed(Box::new(existing)), None),
                            BatchStatus::Running => (
                                BatchOpening::Resume { committed_rows: existing.committed_rows },
                                // What the run before wrote is not remembered: every key is looked up.
                                Some(loader(None, false)),
                            ),
                        });
                    }
                    let previous: Option<i64> = sqlx::query_scalar(
                        "SELECT MAX(started_at_us) FROM dataset_batch WHERE resource_code = $1 AND status = 'committed'",
                    )
                    .bind(start.resource.as_str())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading the previous batch", e))?;
                    let timeliness = huimin_domain::dataset::timeliness(
                        resource.resource.update_frequency,
                        previous.map(from_micros).transpose()?,
                        start.started_at,
                    );
                    let mut transaction = <$store>::begin_write_on(&self.pool).await?;
                    // A resource with no records and no other load under way: this batch's
                    // keys are stored only if it wrote them.
                    let fresh: bool = sqlx::query_scalar(
                        "SELECT NOT EXISTS (SELECT 1 FROM dataset_record WHERE resource_code = $1) \
                         AND NOT EXISTS (SELECT 1 FROM dataset_batch WHERE resource_code = $1 AND status = 'running')",
                    )
                    .bind(start.resource.as_str())
                    .fetch_one(&mut *transaction)
                    .await
                    .map_err(|e| storage_error("reading whether the resource has records", e))?;
                    sqlx::query(sql!(
                        "INSERT INTO dataset_batch ({BATCH_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', $8, $9, NULL, \
                         0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, $10)"
                    ))
                    .bind(start.batch_id.as_str())
                    .bind(start.resource.as_str())
                    .bind(i64::from(start.resource_version))
                    .bind(start.provider.as_str())
                    .bind(start.mode.code())
                    .bind(i64::from(start.atomic))
                    .bind(start.digest.as_str())
                    .bind(start.actor.account.as_str())
                    .bind(micros(start.started_at))
                    .bind(ppm(timeliness))
                    .execute(&mut *transaction)
                    .await
                    .map_err(|e| storage_error("opening a batch", e))?;
                    if start.atomic {
                        return Ok((BatchOpening::New, Some(loader(Some(transaction), fresh))));
                    }
                    let event = AuditEvent {
                        detail: format!("{} load of {}", start.mode.code(), start.resource),
                        ..start.actor.event("dataset.open", "batch", start.batch_id.as_str())
                    };
                    append_in(&mut transaction, std::slice::from_ref(&event), start.started_at).await?;
                    transaction.commit().await.map_err(|e| storage_error("opening a batch", e))?;
                    Ok((BatchOpening::New, Some(loader(None, fresh))))
                }

                async fn batch(&self, batch_id: &str) -> StorageResult<Option<BatchSummary>> {
                    batch_in(&self.pool, batch_id).await
                }

                async fn batches(&self, resource: &ResourceCode, page: PageRequest) -> StorageResult<Page<BatchSummary>> {
                    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dataset_batch WHERE resource_code = $1")
                        .bind(resource.as_str())
                        .fetch_one(&self.pool)
                        .await
                        .map_err(|e| storage_error("counting batches", e))?;
                    let rows = sqlx::query(sql!(
                        "SELECT {BATCH_COLUMNS} FROM dataset_batch WHERE resource_code = $1 \
                         ORDER BY started_at_us DESC, batch_id LIMIT {} OFFSET {}",
                        page.per_page,
                        page.offset()
                    ))
                    .bind(resource.as_str())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("listing batches", e))?;
                    Ok(Page {
                        items: rows.iter().map(read_batch).collect::<StorageResult<Vec<_>>>()?,
                        total: u64::try_from(total).unwrap_or(0),
                        page: page.page,
                        per_page: page.per_page,
                    })
                }

                async fn record_totals(&self) -> StorageResult<Vec<(ResourceCode, u64)>> {
                    let rows = sqlx::query(
                        "SELECT resource_code, COUNT(*) AS records FROM dataset_record GROUP BY resource_code ORDER BY resource_code",
                    )
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("counting records per resource", e))?;
                    rows.iter()
                        .map(|row| {
                            let code: String = get(row, "resource_code")?;
                            let records: i64 = get(row, "records")?;
                            Ok((
                                ResourceCode::parse(&code)
                                    .map_err(|_| crate::codec::corrupt("dataset_record.resource_code", &code, "not a resource code"))?,
                                u64::try_from(records).unwrap_or(0),
                            ))
                        })
                        .collect()
                }

                async fn value_counts(&self, resource: &ResourceCode, position: usize) -> StorageResult<Vec<(String, u64)>> {
                    use futures_util::TryStreamExt;
                    // The values are a JSON array per record (no portable SQL reads into it),
                    // so the records stream through once and are counted here.
                    let mut rows = sqlx::query("SELECT record_key, record_values FROM dataset_record WHERE resource_code = $1")
                        .bind(resource.as_str())
                        .fetch(&self.pool);
                    let mut counts: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
                    while let Some(row) = rows.try_next().await.map_err(|e| storage_error("reading records to count", e))? {
                        let key: String = get(&row, "record_key")?;
                        let values: String = get(&row, "record_values")?;
                        if let Some(Some(value)) = crate::dataset::decode_values(&key, &values)?.into_iter().nth(position) {
                            *counts.entry(value).or_default() += 1;
                        }
                    }
                    let mut counts: Vec<(String, u64)> = counts.into_iter().collect();
                    counts.sort_by(|one, other| other.1.cmp(&one.1).then_with(|| one.0.cmp(&other.0)));
                    Ok(counts)
                }

                async fn recent_batches(&self, limit: u32) -> StorageResult<Vec<BatchSummary>> {
                    let rows = sqlx::query(sql!(
                        "SELECT {BATCH_COLUMNS} FROM dataset_batch ORDER BY started_at_us DESC, batch_id LIMIT {limit}"
                    ))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("listing recent batches", e))?;
                    rows.iter().map(read_batch).collect()
                }

                async fn batch_problems(&self, batch_id: &str, page: PageRequest) -> StorageResult<Page<RowProblem>> {
                    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dataset_problem WHERE batch_id = $1")
                        .bind(batch_id)
                        .fetch_one(&self.pool)
                        .await
                        .map_err(|e| storage_error("counting problems", e))?;
                    let rows = sqlx::query(sql!(
                        "SELECT row_number, column_name, value, code, message, message_zh FROM dataset_problem \
                         WHERE batch_id = $1 ORDER BY row_number, position LIMIT {} OFFSET {}",
                        page.per_page,
                        page.offset()
                    ))
                    .bind(batch_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading problems", e))?;
                    let items = rows
                        .iter()
                        .map(|row| {
                            let code: String = get(row, "code")?;
                            Ok(RowProblem {
                                row: count(row, "row_number")?,
                                problem: CellProblem {
                                    column: get(row, "column_name")?,
                                    value: get(row, "value")?,
                                    code,
                                    message: get(row, "message")?,
                                    message_zh: get(row, "message_zh")?,
                                },
                            })
                        })
                        .collect::<StorageResult<Vec<_>>>()?;
                    Ok(Page { items, total: u64::try_from(total).unwrap_or(0), page: page.page, per_page: page.per_page })
                }

                async fn subject_records(&self, resource: &ResourceCode, subject: &str) -> StorageResult<Vec<StoredRecord>> {
                    let rows = sqlx::query(crate::dataset::SUBJECT_RECORDS_SQL)
                        .bind(subject)
                        .bind(resource.as_str())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(|e| storage_error("reading a subject's records", e))?;
                    let mut records = rows
                        .iter()
                        .map(|row| {
                            let values: String = get(row, "record_values")?;
                            let provider: String = get(row, "provider")?;
                            crate::dataset::decode_record(
                                resource,
                                get(row, "record_key")?,
                                get(row, "subject")?,
                                get(row, "linked")?,
                                &values,
                                get(row, "batch_id")?,
                                &provider,
                                get(row, "recorded_at_us")?,
                            )
                        })
                        .collect::<StorageResult<Vec<_>>>()?;
                    records.sort_by(|one, other| one.key.cmp(&other.key));
                    Ok(records)
                }

                async fn count_records(&self, resource: &ResourceCode) -> StorageResult<u64> {
                    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dataset_record WHERE resource_code = $1")
                        .bind(resource.as_str())
                        .fetch_one(&self.pool)
                        .await
                        .map_err(|e| storage_error("counting records", e))?;
                    Ok(u64::try_from(total).unwrap_or(0))
                }
            }

        }
    };
}

pub(crate) use dataset_store;

#[cfg(test)]
mod tests {
    use super::{KeyFilter, LoaderMemory};
    use foldhash::HashSet;

    fn key(n: u32) -> String {
        format!(
            "1301021932120801{n:02}\u{1f}养老保险\u{1f}2026-{:02}-01",
            n % 12 + 1
        )
    }

    #[test]
    fn a_key_filter_never_forgets_a_key_and_rarely_imagines_one() {
        let mut filter = KeyFilter::new();
        for n in 0..200_000 {
            filter.insert(&key(n));
        }
        assert!((0..200_000).all(|n| filter.may_contain(&key(n))));
        let imagined = (200_000..400_000)
            .filter(|n| filter.may_contain(&key(*n)))
            .count();
        // At 200,000 keys in 2^26 bits with four probes the rate is about 2e-7.
        assert!(imagined < 10, "{imagined} false positives in 200,000");
    }

    #[test]
    fn a_fresh_loaders_memory_looks_up_only_keys_it_wrote() {
        let mut memory = LoaderMemory::new(true);
        memory.remember_written("a");
        assert_eq!(memory.keys_to_look_up(vec!["a", "b"]), ["a"]);
        let mut resumed = LoaderMemory::new(false);
        resumed.remember_written("a");
        assert_eq!(resumed.keys_to_look_up(vec!["a", "b"]), ["a", "b"]);
    }

    #[test]
    fn a_loader_asks_the_registry_once_for_a_subject_it_found() {
        let mut memory = LoaderMemory::new(false);
        assert_eq!(memory.unknown_subjects(&["x", "y"]), ["x", "y"]);
        let found: HashSet<String> = ["x".to_owned()].into_iter().collect();
        assert!(memory.is_linked("x", &found) && !memory.is_linked("y", &found));
        memory.remember_linked(found);
        assert_eq!(memory.unknown_subjects(&["x", "y"]), ["y"]);
        assert!(memory.is_linked("x", &HashSet::default()));
    }

    #[test]
    fn a_loaders_memory_of_subjects_is_bounded() {
        let mut memory = LoaderMemory::new(false);
        let many: HashSet<String> = (0..LoaderMemory::LINKED).map(|n| n.to_string()).collect();
        memory.remember_linked(many);
        memory.remember_linked(["past the bound".to_owned()].into_iter().collect());
        assert_eq!(memory.linked.len(), 1);
        assert_eq!(
            memory.unknown_subjects(&["0"]),
            ["0"],
            "asked again after the reset"
        );
    }
}
