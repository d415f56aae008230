//! The audit log's queries, written once for both backends.
//!
//! `audit_store!` expands to an implementation of [`AuditStore`] for a store type with a
//! concrete sqlx `pool`, like `registry_store!`. Appends number entries through the one
//! row of `audit_head`, whose update takes the write lock (SQLite) or holds a row lock to
//! commit (PostgreSQL): entries are numbered, timed and committed in one order, and
//! [`append_in`](self) is what registry writes call in their own transaction, last,
//! so the lock is held as briefly as possible.
//!
//! [`AuditStore`]: huimin_domain::storage::AuditStore

use crate::codec::{Columns, from_micros};
use chrono::{DateTime, Utc};
use huimin_domain::audit::{
    AuditEntry, AuditEvent, EventFields, HashedEntry, Outcome, StoredEntry,
};
use huimin_domain::merkle::Hash;
use huimin_domain::storage::{StorageError, StorageResult};
use std::sync::{Arc, LazyLock};

pub(crate) const ENTRY_COLUMNS: &str = "seq, at_us, actor, role, action, object_kind, object_id, \
     jurisdiction, subject, purpose, outcome, request_id, client, detail, leaf_hash";

/// Entries per multi-row insert: 15 columns × 500 rows stays under both databases' limits
/// on bound parameters.
pub(crate) const ENTRY_ROWS_PER_STATEMENT: usize = 500;

/// One entry, its values bound as `$1` … `$15` in [`ENTRY_COLUMNS`] order.
pub(crate) static INSERT_ENTRY_SQL: LazyLock<String> = LazyLock::new(|| {
    let values: Vec<String> = (1..=15).map(|n| format!("${n}")).collect();
    format!(
        "INSERT INTO audit_entry ({ENTRY_COLUMNS}) VALUES ({})",
        values.join(", ")
    )
});

pub(crate) const NUMBER_ENTRIES_SQL: &str = "UPDATE audit_head SET size = size + $1, \
     last_at_us = CASE WHEN last_at_us > $2 THEN last_at_us ELSE $2 END WHERE id = 1 \
     RETURNING size, last_at_us";

/// Sequence numbers per range when the whole log is scanned (verification, a first
/// checkpoint): two ranges are read and hashed at once, memory stays bounded, and the
/// caller's task yields between them.
pub(crate) const SCAN_BATCH: u64 = 50_000;

/// `$1` after, `$2` through.
pub(crate) static AUDIT_RANGE_SQL: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {ENTRY_COLUMNS} FROM audit_entry WHERE seq > $1 AND seq <= $2 ORDER BY seq")
});

/// A scanned entry, hashed where it was read; or — when a stored value does not decode —
/// its number and whatever stored hash it has (verification reports it as changed).
pub(crate) type ScannedLeaf = Result<HashedEntry, (u64, Option<Hash>)>;

/// Hashes an entry row from its columns as the row lends them, by position in
/// [`ENTRY_COLUMNS`]: no value is copied out of the row.
pub(crate) fn hash_columns<'r>(
    int64: impl Fn(usize) -> Option<i64>,
    text: impl Fn(usize) -> Option<&'r str>,
    bytes: impl Fn(usize) -> Option<&'r [u8]>,
) -> ScannedLeaf {
    let seq = int64(0)
        .and_then(|seq| u64::try_from(seq).ok())
        .unwrap_or(0);
    let stored_leaf = bytes(14).and_then(|bytes| Hash::try_from(bytes).ok());
    let decoded = (|| -> Option<HashedEntry> {
        let at = from_micros(int64(1)?).ok()?;
        let mut fields: EventFields<'r> = [""; 12];
        for (index, field) in fields.iter_mut().enumerate() {
            *field = text(2 + index)?;
        }
        Outcome::parse(fields[8])?;
        Some(HashedEntry::new(seq, at, &fields, stored_leaf?))
    })();
    decoded.ok_or((seq, stored_leaf))
}

/// An entry row: the entry, or — when a stored value does not decode — its number and
/// whatever stored hash it has (verification reports it as changed).
pub(crate) type ScannedEntry = Result<StoredEntry, (u64, Option<Hash>)>;

pub(crate) fn as_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(crate) fn entry_from_columns(row: &impl Columns) -> ScannedEntry {
    let seq = row
        .int64("seq")
        .ok()
        .and_then(|seq| u64::try_from(seq).ok())
        .unwrap_or(0);
    let stored_leaf = row
        .bytes("leaf_hash")
        .ok()
        .and_then(|bytes| hash_from("leaf_hash", &bytes).ok());
    let decoded = (|| -> Option<StoredEntry> {
        let text = |column: &str| row.text(column).ok();
        let at = from_micros(row.int64("at_us").ok()?).ok()?;
        let event = AuditEvent {
            actor: text("actor")?,
            role: text("role")?,
            action: text("action")?,
            object_kind: text("object_kind")?,
            object_id: text("object_id")?,
            jurisdiction: text("jurisdiction")?,
            subject: text("subject")?,
            purpose: text("purpose")?,
            outcome: Outcome::parse(&text("outcome")?)?,
            request_id: text("request_id")?,
            client: text("client")?,
            detail: text("detail")?,
        };
        Some(StoredEntry {
            entry: AuditEntry { seq, at, event },
            stored_leaf: stored_leaf?,
        })
    })();
    decoded.ok_or((seq, stored_leaf))
}

pub(crate) fn hash_from(column: &str, bytes: &[u8]) -> Result<Hash, StorageError> {
    Hash::try_from(bytes).map_err(|_| {
        StorageError::new(format!(
            "{column}: expected a 32-byte hash, found {} bytes",
            bytes.len()
        ))
    })
}

pub(crate) fn encode_frontier(heads: &[Hash]) -> Vec<u8> {
    heads.concat()
}

pub(crate) fn decode_frontier(bytes: &[u8]) -> Result<Vec<Hash>, StorageError> {
    if !bytes.len().is_multiple_of(32) {
        return Err(StorageError::new(
            "audit_checkpoint.frontier: not a list of 32-byte hashes",
        ));
    }
    bytes
        .chunks(32)
        .map(|chunk| hash_from("audit_checkpoint.frontier", chunk))
        .collect()
}

/// Runs `$body` in a transaction of `$self.pool`, appends the audit event `$audit` (timed
/// `$at`) last in it, and commits: the change and its entry land together or not at all.
/// An early `return` from the body drops the transaction, which rolls it back. The store
/// modules that expand it have `append_in` and `storage_error` in scope.
macro_rules! audited {
    ($self:expr, $audit:expr, $at:expr, |$transaction:ident| $body:expr) => {{
        let mut $transaction = $self.begin_write().await?;
        let result = $body;
        append_in(&mut $transaction, std::slice::from_ref($audit), $at).await?;
        $transaction
            .commit()
            .await
            .map_err(|e| storage_error("commit", e))?;
        result
    }};
}

pub(crate) use audited;

/// How many events one group commit writes at most.
const GROUP_COMMIT_MAX_EVENTS: usize = 2_000;

/// How long the writer waits for company before taking a group, at most, while appends
/// arrive concurrently (the last group had more than one). Every commit makes each SQLite
/// connection empty its page cache at its next read, and an audited read commits an
/// entry, so fewer, larger groups spare the readers. Measured (`cargo xtask bench --only
/// read-audit`): audited/unaudited 360 reads 0.68 without it, 0.77, 0.70 and 0.72 with
/// 2 ms, 0.62 with 5 ms (each run three rounds; the machine's drift is large). Alone, an
/// append does not wait.
const GROUP_COMMIT_LINGER: std::time::Duration = std::time::Duration::from_millis(2);

/// The wait ends early once the group has this many appends, or as many as the last
/// group had if that was more: writers that append one entry after another (32 of them
/// in the audit benchmark) are all back within microseconds, and a fixed wait cut them
/// from 48,700 to 8,600 entries/s.
const GROUP_COMMIT_COMPANY: usize = 16;

/// Appends of this many events or more are written directly, in a transaction of their
/// own: they gain nothing from company, and copying them to the writer costs.
pub(crate) const GROUP_COMMIT_DIRECT_EVENTS: usize = 256;

/// The append a group commit runs: events in one transaction, numbered from the
/// returned sequence number.
pub(crate) type AppendBatch = Arc<
    dyn Fn(
            Vec<AuditEvent>,
            DateTime<Utc>,
        ) -> futures_util::future::BoxFuture<'static, StorageResult<u64>>
        + Send
        + Sync,
>;

struct PendingAppend {
    events: Vec<AuditEvent>,
    at: DateTime<Utc>,
    done: tokio::sync::oneshot::Sender<StorageResult<u64>>,
}

/// Group commit of the audit log's stand-alone appends (reads, sign-ins, refusals): one
/// writer task takes every append waiting at the moment and writes them in one
/// transaction, so a burst of audited requests costs one commit, not one each. Every
/// caller still waits for its own entries to be committed, and learns if they were not,
/// so "no answer without its audit entry" holds. Entries of one group share the time of
/// the latest among them (entry times never go backwards). Appends inside a registry
/// write's own transaction (`append_in`) do not come here.
#[derive(Clone)]
pub(crate) struct GroupCommit {
    sender: tokio::sync::mpsc::UnboundedSender<PendingAppend>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("GroupCommit")
    }
}

impl GroupCommit {
    /// Starts the writer task on the current Tokio runtime.
    pub(crate) fn start(append: AppendBatch) -> GroupCommit {
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<PendingAppend>();
        tokio::spawn(async move {
            // How many appends the last group had: more than one means they are arriving
            // concurrently.
            let mut last_group = 0usize;
            while let Some(first) = receiver.recv().await {
                let mut count = first.events.len();
                let mut group = vec![first];
                let wanted = if last_group > 1 {
                    last_group.max(GROUP_COMMIT_COMPANY)
                } else {
                    1
                };
                let deadline = tokio::time::Instant::now() + GROUP_COMMIT_LINGER;
                while count < GROUP_COMMIT_MAX_EVENTS {
                    let next = match receiver.try_recv() {
                        Ok(next) => Some(next),
                        Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => None,
                        Err(tokio::sync::mpsc::error::TryRecvError::Empty)
                            if group.len() < wanted =>
                        {
                            tokio::time::timeout_at(deadline, receiver.recv())
                                .await
                                .ok()
                                .flatten()
                        }
                        Err(tokio::sync::mpsc::error::TryRecvError::Empty) => None,
                    };
                    let Some(next) = next else { break };
                    count += next.events.len();
                    group.push(next);
                }
                last_group = group.len();
                let at = group
                    .iter()
                    .map(|pending| pending.at)
                    .max()
                    .unwrap_or_default();
                let mut events = Vec::with_capacity(count);
                let mut waiters = Vec::with_capacity(group.len());
                for pending in group {
                    waiters.push((pending.events.len() as u64, pending.done));
                    events.extend(pending.events);
                }
                match append(events, at).await {
                    Ok(mut next) => {
                        for (len, done) in waiters {
                            let _ = done.send(Ok(next));
                            next += len;
                        }
                    }
                    Err(error) => {
                        for (_, done) in waiters {
                            let _ = done.send(Err(StorageError::new(error.message.clone())));
                        }
                    }
                }
            }
        });
        GroupCommit { sender }
    }

    /// Appends `events` with the next group; returns the first sequence number given.
    pub(crate) async fn append(
        &self,
        events: Vec<AuditEvent>,
        at: DateTime<Utc>,
    ) -> StorageResult<u64> {
        let (done, committed) = tokio::sync::oneshot::channel();
        let stopped = || StorageError::new("the audit log's writer has stopped");
        self.sender
            .send(PendingAppend { events, at, done })
            .map_err(|_| stopped())?;
        committed.await.map_err(|_| stopped())?
    }
}

/// Expands to the `AuditStore` implementation for `$store` over `$database`, and to
/// `append_in`, the append that registry writes run inside their transactions.
macro_rules! audit_store {
    ($store:ty, $database:ty, $row:ty) => {
        pub(crate) mod audit_queries {
            use crate::audit::{
                AUDIT_RANGE_SQL, ENTRY_COLUMNS, ENTRY_ROWS_PER_STATEMENT, GROUP_COMMIT_DIRECT_EVENTS, NUMBER_ENTRIES_SQL,
                SCAN_BATCH, ScannedEntry, ScannedLeaf,
                as_i64, decode_frontier, encode_frontier, entry_from_columns, hash_from,
            };
            use crate::codec::{from_micros, micros, prefix_range};
            use crate::storage_error;
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use huimin_domain::audit::{
                AuditEntry, AuditEvent, AuditSigner, Checkpoint, KeyRing, Placement, Seal, StoredEntry, Verifier,
                VerifyReport, is_stored_subtree,
            };
            use huimin_domain::merkle::{self, Frontier, Hash, Span};
            use huimin_domain::storage::{
                AuditQuery, AuditStore, InclusionProof, Page, PageRequest, ProofError, StorageError, StorageResult,
            };
            use sqlx::{QueryBuilder, Row};

            type DatabaseRow = $row;
            type Transaction<'a> = sqlx::Transaction<'a, $database>;

            /// Appends `events` inside `transaction`; returns the first sequence number.
            pub(crate) async fn append_in(
                transaction: &mut Transaction<'_>,
                events: &[AuditEvent],
                at: DateTime<Utc>,
            ) -> StorageResult<u64> {
                let count = i64::try_from(events.len()).map_err(|e| storage_error("audit batch", e))?;
                let (size, at_us): (i64, i64) = sqlx::query_as(NUMBER_ENTRIES_SQL)
                    .bind(count)
                    .bind(micros(at))
                    .fetch_one(&mut **transaction)
                    .await
                    .map_err(|e| storage_error("numbering audit entries", e))?;
                let first = size - count + 1;
                let at = from_micros(at_us)?;
                for (chunk_number, chunk) in events.chunks(ENTRY_ROWS_PER_STATEMENT).enumerate() {
                    let chunk_first = first + (chunk_number * ENTRY_ROWS_PER_STATEMENT) as i64;
                    let mut insert = QueryBuilder::<$database>::new(format!("INSERT INTO audit_entry ({ENTRY_COLUMNS}) "));
                    insert.push_values(chunk.iter().enumerate(), |mut row, (offset, event)| {
                        let seq = chunk_first + offset as i64;
                        let leaf = AuditEntry::leaf_hash_of(seq as u64, at, event);
                        row.push_bind(seq)
                            .push_bind(at_us)
                            .push_bind(event.actor.as_str())
                            .push_bind(event.role.as_str())
                            .push_bind(event.action.as_str())
                            .push_bind(event.object_kind.as_str())
                            .push_bind(event.object_id.as_str())
                            .push_bind(event.jurisdiction.as_str())
                            .push_bind(event.subject.as_str())
                            .push_bind(event.purpose.as_str())
                            .push_bind(event.outcome.as_str())
                            .push_bind(event.request_id.as_str())
                            .push_bind(event.client.as_str())
                            .push_bind(event.detail.as_str())
                            .push_bind(leaf.to_vec());
                    });
                    insert
                        .build()
                        .execute(&mut **transaction)
                        .await
                        .map_err(|e| storage_error("appending audit entries", e))?;
                }
                Ok(u64::try_from(first).unwrap_or(0))
            }

            /// `events` in a transaction of their own.
            pub(crate) async fn append_alone(
                pool: &sqlx::Pool<$database>,
                events: &[AuditEvent],
                at: DateTime<Utc>,
            ) -> StorageResult<u64> {
                let mut transaction = <$store>::begin_write_on(pool).await?;
                let first = append_in(&mut transaction, events, at).await?;
                transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                Ok(first)
            }

            /// The group commit's append.
            pub(crate) fn append_batch(pool: sqlx::Pool<$database>) -> crate::audit::AppendBatch {
                std::sync::Arc::new(move |events: Vec<AuditEvent>, at: DateTime<Utc>| {
                    let pool = pool.clone();
                    Box::pin(async move { append_alone(&pool, &events, at).await })
                })
            }

            fn read_entry(row: &DatabaseRow) -> ScannedEntry {
                entry_from_columns(row)
            }

            /// Hashes rows of [`AUDIT_RANGE_SQL`] borrowed, off the async workers.
            pub(crate) async fn hash_rows(rows: Vec<DatabaseRow>) -> StorageResult<Vec<ScannedLeaf>> {
                tokio::task::spawn_blocking(move || {
                    rows.iter()
                        .map(|row| {
                            crate::audit::hash_columns(
                                |index| row.try_get::<i64, _>(index).ok(),
                                |index| row.try_get::<&str, _>(index).ok(),
                                |index| row.try_get::<&[u8], _>(index).ok(),
                            )
                        })
                        .collect()
                })
                .await
                .map_err(|e| storage_error("hashing audit entries", e))
            }

            /// The per-backend range read's portable form: one query through sqlx, then
            /// the rows hashed.
            pub(crate) async fn read_audit_range_by_query(
                store: $store,
                after: u64,
                through: u64,
            ) -> StorageResult<Vec<ScannedLeaf>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(AUDIT_RANGE_SQL.as_str()))
                    .bind(as_i64(after))
                    .bind(as_i64(through))
                    .fetch_all(&store.pool)
                    .await
                    .map_err(|e| storage_error("reading audit entries", e))?;
                hash_rows(rows).await
            }

            /// Two ranges of `SCAN_BATCH` numbers after `after`, none past `last`, read and
            /// hashed at once.
            fn read_two_ranges(
                store: &$store,
                after: u64,
                last: u64,
            ) -> tokio::task::JoinHandle<StorageResult<(Vec<ScannedLeaf>, Vec<ScannedLeaf>)>> {
                let middle = (after + SCAN_BATCH).min(last);
                let end = (middle + SCAN_BATCH).min(last);
                let first = tokio::spawn(super::read_audit_range(store.clone(), after, middle));
                let second = tokio::spawn(super::read_audit_range(store.clone(), middle, end));
                tokio::spawn(async move {
                    let joined = |e| storage_error("reading audit entries", e);
                    Ok((first.await.map_err(joined)??, second.await.map_err(joined)??))
                })
            }

            /// Visits the entries numbered after `after` through `through`, hashed, in
            /// order. The next two ranges are read and hashed while these are visited.
            async fn scan(
                store: &$store,
                after: u64,
                through: u64,
                mut visit: impl FnMut(ScannedLeaf) -> StorageResult<()>,
            ) -> StorageResult<()> {
                let last: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_entry WHERE seq <= $1")
                    .bind(as_i64(through))
                    .fetch_one(&store.pool)
                    .await
                    .map_err(|e| storage_error("reading the audit log's last entry", e))?;
                let Some(last) = last.and_then(|last| u64::try_from(last).ok()).filter(|&last| last > after) else {
                    return Ok(());
                };
                let mut from = after;
                let mut reading = Some(read_two_ranges(store, from, last));
                while let Some(read) = reading.take() {
                    let (first, second) = read.await.map_err(|e| storage_error("reading audit entries", e))??;
                    from = (from + 2 * SCAN_BATCH).min(last);
                    if first.is_empty() && second.is_empty() && from < last {
                        // A gap of deleted entries: resume at the next entry there is.
                        let next: Option<i64> = sqlx::query_scalar("SELECT MIN(seq) FROM audit_entry WHERE seq > $1")
                            .bind(as_i64(from))
                            .fetch_one(&store.pool)
                            .await
                            .map_err(|e| storage_error("reading audit entries", e))?;
                        from = next.and_then(|next| u64::try_from(next - 1).ok()).unwrap_or(last).min(last);
                    }
                    if from < last {
                        reading = Some(read_two_ranges(store, from, last));
                    }
                    for scanned in first.into_iter().chain(second) {
                        visit(scanned)?;
                    }
                    tokio::task::yield_now().await;
                }
                Ok(())
            }

            fn read_checkpoint(row: &DatabaseRow) -> StorageResult<Checkpoint> {
                let size: i64 = row.try_get("size").map_err(|e| storage_error("audit_checkpoint.size", e))?;
                let root: Vec<u8> = row.try_get("root").map_err(|e| storage_error("audit_checkpoint.root", e))?;
                let signature: Vec<u8> =
                    row.try_get("signature").map_err(|e| storage_error("audit_checkpoint.signature", e))?;
                let signed_at: i64 =
                    row.try_get("signed_at_us").map_err(|e| storage_error("audit_checkpoint.signed_at_us", e))?;
                // A damaged root or signature is kept as a checkpoint whose signature
                // fails, so verification reports it rather than stopping.
                Ok(Checkpoint {
                    size: u64::try_from(size).unwrap_or(0),
                    root: Hash::try_from(root.as_slice()).unwrap_or_default(),
                    signed_at: from_micros(signed_at)?,
                    key_id: row.try_get("key_id").map_err(|e| storage_error("audit_checkpoint.key_id", e))?,
                    signature: <[u8; 64]>::try_from(signature.as_slice()).unwrap_or([0; 64]),
                })
            }

            const CHECKPOINT_COLUMNS: &str = "size, root, signed_at_us, key_id, signature";

            async fn checkpoint_root(store: &$store, size: u64) -> Result<Hash, ProofError> {
                let row: Option<(Vec<u8>,)> = sqlx::query_as("SELECT root FROM audit_checkpoint WHERE size = $1")
                    .bind(size as i64)
                    .fetch_optional(&store.pool)
                    .await
                    .map_err(|e| storage_error("reading a checkpoint", e))?;
                match row {
                    Some((root,)) => Ok(hash_from("audit_checkpoint.root", &root)?),
                    None => Err(ProofError::NoSuchCheckpoint(size)),
                }
            }

            /// The head of a span of the tree, from stored subtree heads where the store
            /// keeps them and from leaf hashes for the rest.
            async fn span_head(store: &$store, span: Span) -> StorageResult<Hash> {
                let mut heads = Vec::new();
                for piece in merkle::pieces(span) {
                    if is_stored_subtree(piece) {
                        let stored: Option<(Vec<u8>,)> =
                            sqlx::query_as("SELECT head FROM audit_subtree WHERE start = $1 AND len = $2")
                                .bind(piece.start as i64)
                                .bind(piece.len as i64)
                                .fetch_optional(&store.pool)
                                .await
                                .map_err(|e| storage_error("reading a subtree head", e))?;
                        if let Some((head,)) = stored {
                            heads.push(hash_from("audit_subtree.head", &head)?);
                            continue;
                        }
                    }
                    let leaves: Vec<(Vec<u8>,)> = sqlx::query_as(
                        "SELECT leaf_hash FROM audit_entry WHERE seq > $1 AND seq <= $2 ORDER BY seq",
                    )
                    .bind(piece.start as i64)
                    .bind(piece.end() as i64)
                    .fetch_all(&store.pool)
                    .await
                    .map_err(|e| storage_error("reading leaf hashes", e))?;
                    if leaves.len() as u64 != piece.len {
                        return Err(StorageError::new(format!(
                            "the audit log is missing entries between {} and {}; run `huimin audit verify`",
                            piece.start + 1,
                            piece.end()
                        )));
                    }
                    let leaves: Vec<Hash> = leaves
                        .iter()
                        .map(|(bytes,)| hash_from("audit_entry.leaf_hash", bytes))
                        .collect::<StorageResult<_>>()?;
                    heads.push(merkle::root(&leaves));
                }
                Ok(merkle::combine(&heads))
            }

            #[async_trait]
            impl AuditStore for $store {
                async fn append_audit(&self, events: &[AuditEvent], at: DateTime<Utc>) -> StorageResult<u64> {
                    if events.is_empty() {
                        return Ok(self.audit_size().await? + 1);
                    }
                    if events.len() >= GROUP_COMMIT_DIRECT_EVENTS {
                        // A large batch is a group of its own: written directly, without
                        // copying it to the writer task.
                        return super::append_stand_alone(self, events, at).await;
                    }
                    self.group_commit.append(events.to_vec(), at).await
                }

                async fn audit_size(&self) -> StorageResult<u64> {
                    let size: i64 = sqlx::query_scalar("SELECT size FROM audit_head WHERE id = 1")
                        .fetch_one(&self.pool)
                        .await
                        .map_err(|e| storage_error("reading the audit log's size", e))?;
                    Ok(u64::try_from(size).unwrap_or(0))
                }

                async fn daily_counts(
                    &self,
                    action_prefix: &str,
                    since: DateTime<Utc>,
                ) -> StorageResult<Vec<(chrono::NaiveDate, huimin_domain::audit::Outcome, u64)>> {
                    // Entry times never go backwards, so the first entry at or after `since`
                    // is found by halving the numbers (the log has no index on time), and
                    // only the entries after it are counted.
                    let at_or_after = |seq: i64| async move {
                        sqlx::query_scalar::<_, i64>("SELECT at_us FROM audit_entry WHERE seq >= $1 ORDER BY seq LIMIT 1")
                            .bind(seq)
                            .fetch_optional(&self.pool)
                            .await
                            .map_err(|e| storage_error("finding a time in the audit log", e))
                    };
                    let size = i64::try_from(self.audit_size().await?).unwrap_or(i64::MAX);
                    let (mut low, mut high) = (1_i64, size + 1);
                    while low < high {
                        let middle = low + (high - low) / 2;
                        match at_or_after(middle).await? {
                            Some(at) if at >= micros(since) => high = middle,
                            Some(_) => low = middle + 1,
                            None => high = middle,
                        }
                    }
                    let (from, until) = prefix_range(action_prefix);
                    // Days in Asia/Shanghai: microseconds shifted by eight hours, divided by
                    // a day (integer division on both backends).
                    let rows = sqlx::query(
                        "SELECT (at_us + 28800000000) / 86400000000 AS day, outcome, COUNT(*) AS entries FROM audit_entry \
                         WHERE seq >= $1 AND action >= $2 AND action < $3 GROUP BY (at_us + 28800000000) / 86400000000, outcome",
                    )
                    .bind(low)
                    .bind(from)
                    .bind(until)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("counting audit entries per day", e))?;
                    let mut counts = Vec::with_capacity(rows.len());
                    for row in &rows {
                        let day: i64 = row.try_get("day").map_err(|e| storage_error("day", e))?;
                        let outcome: String = row.try_get("outcome").map_err(|e| storage_error("outcome", e))?;
                        let entries: i64 = row.try_get("entries").map_err(|e| storage_error("entries", e))?;
                        let Some(day) = huimin_domain::time::shanghai_day_number(day) else { continue };
                        counts.push((
                            day,
                            huimin_domain::audit::Outcome::parse(&outcome)
                                .ok_or_else(|| crate::codec::corrupt("audit_entry.outcome", &outcome, "not an outcome"))?,
                            u64::try_from(entries).unwrap_or(0),
                        ));
                    }
                    Ok(counts)
                }

                async fn audit_entries(&self, query: &AuditQuery, page: PageRequest) -> StorageResult<Page<AuditEntry>> {
                    let mut conditions = Vec::new();
                    let mut texts: Vec<String> = Vec::new();
                    let mut times: Vec<i64> = Vec::new();
                    if let Some(actor) = &query.actor {
                        texts.push(actor.clone());
                        conditions.push(format!("actor = ${}", texts.len()));
                    }
                    if let Some(action) = &query.action {
                        let (low, high) = prefix_range(action);
                        texts.push(low);
                        conditions.push(format!("action >= ${}", texts.len()));
                        texts.push(high);
                        conditions.push(format!("action < ${}", texts.len()));
                    }
                    if let Some(subject) = &query.subject {
                        texts.push(subject.clone());
                        conditions.push(format!("subject = ${}", texts.len()));
                    }
                    if let Some(outcome) = query.outcome {
                        texts.push(outcome.as_str().to_owned());
                        conditions.push(format!("outcome = ${}", texts.len()));
                    }
                    for (bound, operator) in [(query.from, ">="), (query.until, "<")] {
                        if let Some(bound) = bound {
                            times.push(micros(bound));
                            conditions.push(format!("at_us {operator} ${}", texts.len() + times.len()));
                        }
                    }
                    if let Some(now) = query.unsealed_at {
                        times.push(micros(now));
                        conditions.push(format!(
                            "NOT EXISTS (SELECT 1 FROM audit_seal WHERE audit_seal.subject = audit_entry.subject \
                             AND audit_seal.purpose = audit_entry.purpose AND audit_seal.release_at_us > ${})",
                            texts.len() + times.len()
                        ));
                    }
                    let filter = if conditions.is_empty() {
                        String::new()
                    } else {
                        format!("WHERE {}", conditions.join(" AND "))
                    };
                    let parameters = texts.len() + times.len();
                    let count_sql = format!("SELECT COUNT(*) FROM audit_entry {filter}");
                    let mut count = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql.as_str()));
                    for text in &texts {
                        count = count.bind(text.as_str());
                    }
                    for time in &times {
                        count = count.bind(*time);
                    }
                    let total = count
                        .fetch_one(&self.pool)
                        .await
                        .map_err(|e| storage_error("counting audit entries", e))?;
                    let rows_sql = format!(
                        "SELECT {ENTRY_COLUMNS} FROM audit_entry {filter} ORDER BY seq DESC LIMIT ${} OFFSET ${}",
                        parameters + 1,
                        parameters + 2
                    );
                    let mut rows = sqlx::query(sqlx::AssertSqlSafe(rows_sql.as_str()));
                    for text in &texts {
                        rows = rows.bind(text.as_str());
                    }
                    for time in &times {
                        rows = rows.bind(*time);
                    }
                    let rows = rows
                        .bind(i64::from(page.per_page))
                        .bind(as_i64(page.offset()))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(|e| storage_error("searching audit entries", e))?;
                    let items = rows
                        .iter()
                        .map(|row| {
                            read_entry(row).map(|stored| stored.entry).map_err(|(seq, _)| {
                                StorageError::new(format!("audit entry {seq} does not decode; run `huimin audit verify`"))
                            })
                        })
                        .collect::<StorageResult<_>>()?;
                    Ok(Page { items, total: u64::try_from(total).unwrap_or(0), page: page.page, per_page: page.per_page })
                }

                async fn audit_entry(&self, seq: u64) -> StorageResult<Option<StoredEntry>> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {ENTRY_COLUMNS} FROM audit_entry WHERE seq = $1"
                    )))
                    .bind(seq as i64)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading an audit entry", e))?;
                    row.map(|row| {
                        read_entry(&row).map_err(|(seq, _)| {
                            StorageError::new(format!("audit entry {seq} does not decode; run `huimin audit verify`"))
                        })
                    })
                    .transpose()
                }

                async fn checkpoint_audit(
                    &self,
                    signer: &AuditSigner,
                    at: DateTime<Utc>,
                ) -> StorageResult<Option<Checkpoint>> {
                    let latest: Option<DatabaseRow> = sqlx::query(
                        "SELECT size, root, signed_at_us, key_id, signature, frontier FROM audit_checkpoint \
                         ORDER BY size DESC LIMIT 1",
                    )
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading the newest checkpoint", e))?;
                    let (mut frontier, latest) = match &latest {
                        None => (Frontier::new(), None),
                        Some(row) => {
                            let checkpoint = read_checkpoint(row)?;
                            let heads: Vec<u8> =
                                row.try_get("frontier").map_err(|e| storage_error("audit_checkpoint.frontier", e))?;
                            let frontier = Frontier::from_parts(checkpoint.size, decode_frontier(&heads)?)
                                .ok_or_else(|| StorageError::new("audit_checkpoint.frontier: wrong number of heads"))?;
                            (frontier, Some(checkpoint))
                        }
                    };
                    let (size, last_at_us): (i64, i64) =
                        sqlx::query_as("SELECT size, last_at_us FROM audit_head WHERE id = 1")
                            .fetch_one(&self.pool)
                            .await
                            .map_err(|e| storage_error("reading the audit log's size", e))?;
                    let size = u64::try_from(size).unwrap_or(0);
                    if size == 0 || latest.as_ref().is_some_and(|checkpoint| checkpoint.size >= size) {
                        return Ok(latest);
                    }
                    let mut subtrees = Vec::new();
                    scan(self, frontier.size(), size, |scanned| {
                        let expected = frontier.size() + 1;
                        let stored = scanned.map_err(|(seq, _)| {
                            StorageError::new(format!(
                                "audit entry {seq} does not decode; not signing — run `huimin audit verify`"
                            ))
                        })?;
                        if stored.seq != expected || stored.placement != Placement::InPlace {
                            return Err(StorageError::new(format!(
                                "audit entry {expected} does not match its record; not signing — run `huimin audit verify`"
                            )));
                        }
                        for (span, head) in frontier.push(stored.stored_leaf) {
                            if is_stored_subtree(span) {
                                subtrees.push((span, head));
                            }
                        }
                        Ok(())
                    })
                    .await?;
                    if frontier.size() != size {
                        return Err(StorageError::new(format!(
                            "the audit log should hold {size} entries and holds {}; not signing — run `huimin audit verify`",
                            frontier.size()
                        )));
                    }
                    let signed_at = at.max(from_micros(last_at_us)?);
                    let checkpoint = signer.sign(size, frontier.root(), signed_at);
                    let mut transaction = self.begin_write().await?;
                    for (span, head) in &subtrees {
                        sqlx::query("INSERT INTO audit_subtree (start, len, head) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                            .bind(span.start as i64)
                            .bind(span.len as i64)
                            .bind(head.to_vec())
                            .execute(&mut *transaction)
                            .await
                            .map_err(|e| storage_error("keeping a subtree head", e))?;
                    }
                    sqlx::query(
                        "INSERT INTO audit_checkpoint (size, root, signed_at_us, key_id, signature, frontier) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                    )
                    .bind(size as i64)
                    .bind(checkpoint.root.to_vec())
                    .bind(micros(checkpoint.signed_at))
                    .bind(checkpoint.key_id.as_str())
                    .bind(checkpoint.signature.to_vec())
                    .bind(encode_frontier(&frontier.heads()))
                    .execute(&mut *transaction)
                    .await
                    .map_err(|e| storage_error("keeping a checkpoint", e))?;
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    self.latest_audit_checkpoint().await
                }

                async fn audit_checkpoints(&self) -> StorageResult<Vec<Checkpoint>> {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoint ORDER BY size"
                    )))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading checkpoints", e))?;
                    rows.iter().map(read_checkpoint).collect()
                }

                async fn latest_audit_checkpoint(&self) -> StorageResult<Option<Checkpoint>> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoint ORDER BY size DESC LIMIT 1"
                    )))
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading the newest checkpoint", e))?;
                    row.as_ref().map(read_checkpoint).transpose()
                }

                async fn audit_inclusion_proof(&self, seq: u64, tree_size: u64) -> Result<InclusionProof, ProofError> {
                    checkpoint_root(self, tree_size).await?;
                    let spans = merkle::inclusion_spans(seq.wrapping_sub(1), tree_size)
                        .filter(|_| seq >= 1)
                        .ok_or(ProofError::OutOfRange { seq, tree_size })?;
                    let leaf_hash = span_head(self, Span { start: seq - 1, len: 1 }).await?;
                    let mut path = Vec::with_capacity(spans.len());
                    for span in spans {
                        path.push(span_head(self, span).await?);
                    }
                    Ok(InclusionProof { seq, tree_size, leaf_hash, path })
                }

                async fn audit_consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, ProofError> {
                    if first > second {
                        return Err(ProofError::Order { first, second });
                    }
                    if first > 0 {
                        checkpoint_root(self, first).await?;
                    }
                    checkpoint_root(self, second).await?;
                    let spans = merkle::consistency_spans(first, second).ok_or(ProofError::Order { first, second })?;
                    let mut proof = Vec::with_capacity(spans.len());
                    for span in spans {
                        proof.push(span_head(self, span).await?);
                    }
                    Ok(proof)
                }

                async fn seal_audit(&self, seal: &Seal, audit: &AuditEvent) -> StorageResult<u64> {
                    let id: i64 = crate::audit::audited!(self, audit, seal.sealed_at, |transaction| {
                        sqlx::query_scalar(
                            "INSERT INTO audit_seal (subject, purpose, reason, release_at_us, sealed_by, sealed_at_us) \
                             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                        )
                        .bind(seal.subject.as_str())
                        .bind(seal.purpose.as_str())
                        .bind(seal.reason.as_str())
                        .bind(micros(seal.release_at))
                        .bind(seal.sealed_by.as_str())
                        .bind(micros(seal.sealed_at))
                        .fetch_one(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("keeping a seal", e))?
                    });
                    Ok(u64::try_from(id).unwrap_or(0))
                }

                async fn audit_seals(&self, page: PageRequest) -> StorageResult<Page<Seal>> {
                    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_seal")
                        .fetch_one(&self.pool)
                        .await
                        .map_err(|e| storage_error("counting seals", e))?;
                    let rows = sqlx::query(
                        "SELECT id, subject, purpose, reason, release_at_us, sealed_by, sealed_at_us FROM audit_seal \
                         ORDER BY id DESC LIMIT $1 OFFSET $2",
                    )
                    .bind(i64::from(page.per_page))
                    .bind(as_i64(page.offset()))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading seals", e))?;
                    let items = rows
                        .iter()
                        .map(|row| -> StorageResult<Seal> {
                            let text = |column: &str| -> StorageResult<String> {
                                row.try_get(column).map_err(|e| storage_error(column, e))
                            };
                            let time = |column: &str| -> StorageResult<DateTime<Utc>> {
                                from_micros(row.try_get(column).map_err(|e| storage_error(column, e))?)
                            };
                            let id: i64 = row.try_get("id").map_err(|e| storage_error("id", e))?;
                            Ok(Seal {
                                id: u64::try_from(id).unwrap_or(0),
                                subject: text("subject")?,
                                purpose: text("purpose")?,
                                reason: text("reason")?,
                                release_at: time("release_at_us")?,
                                sealed_by: text("sealed_by")?,
                                sealed_at: time("sealed_at_us")?,
                            })
                        })
                        .collect::<StorageResult<_>>()?;
                    Ok(Page { items, total: u64::try_from(total).unwrap_or(0), page: page.page, per_page: page.per_page })
                }

                async fn verify_audit(&self, keys: &KeyRing) -> StorageResult<VerifyReport> {
                    let checkpoints = self.audit_checkpoints().await?;
                    let subtrees: Vec<(i64, i64, Vec<u8>)> =
                        sqlx::query_as("SELECT start, len, head FROM audit_subtree")
                            .fetch_all(&self.pool)
                            .await
                            .map_err(|e| storage_error("reading subtree heads", e))?;
                    let subtrees = subtrees
                        .into_iter()
                        .map(|(start, len, head)| {
                            let span = Span { start: start as u64, len: len as u64 };
                            (span, Hash::try_from(head.as_slice()).unwrap_or_default())
                        })
                        .collect();
                    let mut verifier = Verifier::new(checkpoints, subtrees, keys);
                    scan(self, 0, u64::MAX, |scanned| {
                        match scanned {
                            Ok(hashed) => verifier.feed_hashed(&hashed),
                            Err((seq, stored_leaf)) => verifier.feed_unreadable(seq, stored_leaf),
                        }
                        Ok(())
                    })
                    .await?;
                    Ok(verifier.finish())
                }
            }
        }
    };
}

pub(crate) use audit_store;
