//! The SQLite backend: one file, WAL journal, the embedded default for a county or a demo.

use crate::codec::PersonRow;
use crate::migrate::apply_migrations;
use huimin_domain::storage::StorageError;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The registries in a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    /// The one connection that `begin_write` takes (the pool itself for an in-memory
    /// database). SQLite lets one connection write at a time; with several pool
    /// connections asking at once, the losers sleep in SQLite's busy handler (1, 2, 5,
    /// 10 … 100 ms) while the CPU idles. Waiting for this connection instead is a queue
    /// in sqlx's pool, woken the moment the last writer lets go.
    write_pool: SqlitePool,
    /// Read-only rusqlite connections to the same file for the person 360 view; `None`
    /// for an in-memory database, which a second connection would not see.
    readers: Option<Arc<Readers>>,
    /// The connection of stand-alone audit appends; `None` for an in-memory database,
    /// whose appends go through sqlx.
    audit_writer: Option<Arc<AuditWriter>>,
    /// The writer of stand-alone audit appends.
    pub(crate) group_commit: crate::audit::GroupCommit,
}

/// Idle read-only connections kept for the 360 view at most.
const IDLE_READERS: usize = 8;

/// Read-only connections to the database file, used synchronously on the calling thread.
///
/// sqlx runs each SQLite connection on a worker thread and hands every query and every
/// row across threads; the 360 view's five queries spent most of their time in those
/// hand-offs (11,100 req/s with one query, 3,100 with five). These connections run the
/// view's queries in one read transaction with cached statements, taking about as long
/// as one hand-off would. WAL lets them read while sqlx's connections write. Scans of
/// the audit log use them too, on blocking threads (`read_audit_range`).
#[derive(Debug)]
struct Readers {
    path: std::path::PathBuf,
    idle: std::sync::Mutex<Vec<rusqlite::Connection>>,
}

impl Readers {
    fn open(&self) -> rusqlite::Result<rusqlite::Connection> {
        let connection = rusqlite::Connection::open_with_flags(
            &self.path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(Duration::from_secs(10))?;
        // No memory map, as for the pool (see `SqliteStore::connect`). A small cache:
        // SQLite empties a connection's cache at the start of every read transaction
        // after a write, in time that grows with the cache's size, and audited reads
        // write an entry each.
        connection.execute_batch("PRAGMA mmap_size = 0; PRAGMA cache_size = -1024;")?;
        Ok(connection)
    }

    /// Runs `read` in a read transaction on an idle connection (or a new one).
    fn read<T>(
        &self,
        read: impl FnOnce(&rusqlite::Connection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let failed = |error: rusqlite::Error| crate::storage_error("reading", error);
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let connection = match idle {
            Some(connection) => connection,
            None => self.open().map_err(failed)?,
        };
        // One snapshot for all the queries; a read-only transaction just ends when dropped.
        let transaction = connection.unchecked_transaction().map_err(failed)?;
        let result = read(&transaction);
        drop(transaction);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE_READERS
        {
            idle.push(connection);
        }
        result
    }
}

/// The read-write connection that writes the audit log's stand-alone appends (the group
/// commit's groups and large batches), used on a blocking thread.
///
/// Through sqlx, each append was four statements handed one by one to a connection's
/// worker thread, and a multi-row INSERT whose text — different for every group size —
/// SQLite parsed anew each time. Here an append is one cached single-row INSERT stepped
/// once per entry, in a transaction that takes the write lock at its start. Registry
/// writes still append inside their own sqlx transactions; SQLite's write lock orders
/// the two.
#[derive(Debug)]
struct AuditWriter {
    connection: std::sync::Mutex<rusqlite::Connection>,
}

impl AuditWriter {
    fn open(path: &std::path::Path) -> rusqlite::Result<AuditWriter> {
        let connection = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(Duration::from_secs(10))?;
        // As the pool's connections: see `SqliteStore::connect`.
        connection.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
        Ok(AuditWriter {
            connection: std::sync::Mutex::new(connection),
        })
    }

    /// Appends `events` in one transaction; returns the first sequence number.
    fn append(
        &self,
        events: &[huimin_domain::audit::AuditEvent],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, StorageError> {
        let failed =
            |error: rusqlite::Error| crate::storage_error("appending audit entries", error);
        let mut connection = self
            .connection
            .lock()
            .map_err(|_| StorageError::new("the audit writer's connection was poisoned"))?;
        let transaction = connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(failed)?;
        let count =
            i64::try_from(events.len()).map_err(|e| crate::storage_error("audit batch", e))?;
        let (size, at_us): (i64, i64) = transaction
            .prepare_cached(crate::audit::NUMBER_ENTRIES_SQL)
            .and_then(|mut statement| {
                statement.query_row(rusqlite::params![count, crate::codec::micros(at)], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
            })
            .map_err(failed)?;
        let first = size - count + 1;
        let at = crate::codec::from_micros(at_us)?;
        {
            let mut insert = transaction
                .prepare_cached(&crate::audit::INSERT_ENTRY_SQL)
                .map_err(failed)?;
            for (seq, event) in (first..).zip(events) {
                let leaf = huimin_domain::audit::AuditEntry::leaf_hash_of(seq as u64, at, event);
                insert
                    .execute(rusqlite::params![
                        seq,
                        at_us,
                        event.actor,
                        event.role,
                        event.action,
                        event.object_kind,
                        event.object_id,
                        event.jurisdiction,
                        event.subject,
                        event.purpose,
                        event.outcome.as_str(),
                        event.request_id,
                        event.client,
                        event.detail,
                        &leaf[..],
                    ])
                    .map_err(failed)?;
            }
        }
        transaction.commit().map_err(failed)?;
        Ok(u64::try_from(first).unwrap_or(0))
    }
}

/// Audit events appended in a transaction of their own: on the writer connection of a
/// blocking thread, or through sqlx for an in-memory database.
pub(crate) async fn append_stand_alone(
    store: &SqliteStore,
    events: &[huimin_domain::audit::AuditEvent],
    at: chrono::DateTime<chrono::Utc>,
) -> Result<u64, StorageError> {
    match &store.audit_writer {
        Some(writer) => append_on(writer.clone(), events.to_vec(), at).await,
        None => audit_queries::append_alone(&store.pool, events, at).await,
    }
}

async fn append_on(
    writer: Arc<AuditWriter>,
    events: Vec<huimin_domain::audit::AuditEvent>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<u64, StorageError> {
    tokio::task::spawn_blocking(move || writer.append(&events, at))
        .await
        .map_err(|error| crate::storage_error("appending audit entries", error))?
}

/// A column of a rusqlite row, with the column named in the error.
fn column<T: rusqlite::types::FromSql>(
    row: &rusqlite::Row<'_>,
    name: &str,
) -> Result<T, StorageError> {
    row.get(name)
        .map_err(|error| crate::storage_error(name, error))
}

impl crate::codec::Columns for rusqlite::Row<'_> {
    fn text(&self, name: &str) -> Result<String, StorageError> {
        column(self, name)
    }
    fn optional_text(&self, name: &str) -> Result<Option<String>, StorageError> {
        column(self, name)
    }
    fn int32(&self, name: &str) -> Result<i32, StorageError> {
        column(self, name)
    }
    fn int64(&self, name: &str) -> Result<i64, StorageError> {
        column(self, name)
    }
    fn int64_if_present(&self, name: &str) -> Option<i64> {
        column::<Option<i64>>(self, name).ok().flatten()
    }
    fn real(&self, name: &str) -> Result<f64, StorageError> {
        column(self, name)
    }
    fn optional_real(&self, name: &str) -> Result<Option<f64>, StorageError> {
        column(self, name)
    }
    fn bytes(&self, name: &str) -> Result<Vec<u8>, StorageError> {
        column(self, name)
    }
    fn optional_date(&self, column: &str) -> Result<Option<chrono::NaiveDate>, StorageError> {
        // sqlx stores dates in SQLite as `YYYY-MM-DD` text.
        let Some(text) = self.optional_text(column)? else {
            return Ok(None);
        };
        chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map(Some)
            .map_err(|error| crate::codec::corrupt(column, &text, error))
    }
}

/// Decodes every row of a cached statement run with the identity number as `$1`.
fn rows_of<T>(
    connection: &rusqlite::Connection,
    sql: &str,
    citizen_id: &str,
    decode: impl Fn(&rusqlite::Row<'_>) -> Result<T, StorageError>,
) -> Result<Vec<T>, StorageError> {
    let failed = |error: rusqlite::Error| crate::storage_error("reading", error);
    let mut statement = connection.prepare_cached(sql).map_err(failed)?;
    let mut rows = statement.query([citizen_id]).map_err(failed)?;
    let mut decoded = Vec::new();
    while let Some(row) = rows.next().map_err(failed)? {
        decoded.push(decode(row)?);
    }
    Ok(decoded)
}

/// The rows of `sql` with `parameters` bound in order.
fn rows_with<T>(
    connection: &rusqlite::Connection,
    sql: &str,
    parameters: &[&str],
    decode: impl Fn(&rusqlite::Row<'_>) -> Result<T, StorageError>,
) -> Result<Vec<T>, StorageError> {
    let failed = |error: rusqlite::Error| crate::storage_error("reading", error);
    let mut statement = connection.prepare_cached(sql).map_err(failed)?;
    let mut rows = statement
        .query(rusqlite::params_from_iter(parameters.iter()))
        .map_err(failed)?;
    let mut decoded = Vec::new();
    while let Some(row) = rows.next().map_err(failed)? {
        decoded.push(decode(row)?);
    }
    Ok(decoded)
}

/// An exchange call's reads — the resource, the consumer's grants, each subject's
/// records — in one snapshot on a read-only connection: through sqlx they were three
/// hand-offs to a worker thread each.
async fn read_exchange(
    store: &SqliteStore,
    consumer: &huimin_domain::catalogue::DepartmentId,
    code: &huimin_domain::catalogue::ResourceCode,
    subjects: &[String],
) -> Result<Option<huimin_domain::sharing::ExchangeRead>, StorageError> {
    let Some(readers) = &store.readers else {
        return crate::sharing::exchange_by_queries(store, consumer, code, subjects).await;
    };
    readers.read(|connection| {
        let resource = rows_with(
            connection,
            crate::catalogue::CURRENT_RESOURCE_SQL,
            &[code.as_str()],
            |row| {
                let body: String = column(row, "body")?;
                crate::catalogue::decode_resource(
                    code.as_str(),
                    column(row, "version")?,
                    &body,
                    crate::codec::from_micros(column(row, "published_at_us")?)?,
                    column(row, "published_by")?,
                )
            },
        )?;
        let Some(resource) = resource.into_iter().next() else {
            return Ok(None);
        };
        let grants = rows_with(
            connection,
            crate::sharing::GRANTS_SQL.as_str(),
            &[consumer.as_str(), code.as_str()],
            |row| {
                let decided_at: Option<i64> = column(row, "decided_at_us")?;
                crate::sharing::RequestRow {
                    id: column(row, "id")?,
                    consumer: column(row, "consumer")?,
                    provider: column(row, "provider")?,
                    resource_code: column(row, "resource_code")?,
                    resource_version: column(row, "resource_version")?,
                    items: column(row, "items")?,
                    purpose: column(row, "purpose")?,
                    legal_basis: column(row, "legal_basis")?,
                    valid_until: column(row, "valid_until")?,
                    rate_per_minute: column(row, "rate_per_minute")?,
                    retention: column(row, "retention")?,
                    requested_at: crate::codec::from_micros(column(row, "requested_at_us")?)?,
                    requested_by: column(row, "requested_by")?,
                    status: column(row, "status")?,
                    deadline: column(row, "deadline")?,
                    reason: column(row, "reason")?,
                    decided_at: decided_at.map(crate::codec::from_micros).transpose()?,
                    decided_by: column(row, "decided_by")?,
                }
                .decode()
            },
        )?;
        let mut records = Vec::with_capacity(subjects.len());
        for subject in subjects {
            let mut found = rows_with(
                connection,
                crate::dataset::SUBJECT_RECORDS_SQL,
                &[subject.as_str(), code.as_str()],
                |row| {
                    let values: String = column(row, "record_values")?;
                    let provider: String = column(row, "provider")?;
                    crate::dataset::decode_record(
                        code,
                        column(row, "record_key")?,
                        column(row, "subject")?,
                        column(row, "linked")?,
                        &values,
                        column(row, "batch_id")?,
                        &provider,
                        column(row, "recorded_at_us")?,
                    )
                },
            )?;
            found.sort_by(|one, other| one.key.cmp(&other.key));
            records.push(found);
        }
        Ok(Some(huimin_domain::sharing::ExchangeRead {
            resource,
            grants,
            records,
        }))
    })
}

/// The 360 view: on a read-only connection in one snapshot, or through the ordinary
/// queries for an in-memory database.
async fn read_person_view(
    store: &SqliteStore,
    citizen_id: &huimin_domain::identifiers::CitizenId,
) -> Result<Option<huimin_domain::storage::PersonView>, StorageError> {
    let Some(readers) = &store.readers else {
        return person_view_by_queries(store, citizen_id).await;
    };
    let id = citizen_id.as_str();
    readers.read(|connection| {
        let history = rows_of(
            connection,
            &crate::registry::PERSON_VERSIONS_SQL,
            id,
            |row| person_from_row(row),
        )?;
        if history.is_empty() {
            return Ok(None);
        }
        let households = rows_of(
            connection,
            &crate::registry::HOUSEHOLDS_OF_PERSON_SQL,
            id,
            |row| household_from_row(row).map(|versioned| versioned.record),
        )?;
        let houses = rows_of(
            connection,
            &crate::registry::HOUSES_OF_PERSON_SQL,
            id,
            |row| house_and_role(row),
        )?;
        let (owned_houses, rented_houses) = houses_by_role(houses);
        let represented_entities = rows_of(
            connection,
            &crate::registry::ENTITIES_OF_PERSON_SQL,
            id,
            |row| entity_from_row(row).map(|versioned| versioned.record),
        )?;
        let member_names = rows_of(
            connection,
            crate::registry::HOUSEHOLD_MEMBER_NAMES_SQL,
            id,
            |row| member_name(row),
        )?;
        Ok(Some(huimin_domain::storage::PersonView {
            history,
            links: huimin_domain::storage::PersonLinks {
                households,
                owned_houses,
                rented_houses,
                represented_entities,
            },
            member_names,
        }))
    })
}

impl SqliteStore {
    /// Begins a write transaction with `BEGIN IMMEDIATE`, which takes the write lock at
    /// once (waiting out the busy timeout for it). sqlx's `begin` is a deferred `BEGIN`:
    /// a transaction that reads before it writes fails with `SQLITE_BUSY` — which no busy
    /// timeout waits out — when another connection commits between its read and its
    /// first write, as the audit log's writer does all the time.
    pub(crate) async fn begin_write_on(
        pool: &SqlitePool,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StorageError> {
        pool.begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|error| crate::storage_error("begin", error))
    }

    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StorageError> {
        SqliteStore::begin_write_on(&self.write_pool).await
    }

    /// Opens (creating if missing) and migrates the database at a `sqlite:` URL.
    pub async fn connect(url: &str) -> Result<SqliteStore, StorageError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|error| crate::storage_error("parsing the SQLite URL", error))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL is durable across application crashes in WAL mode; a power loss may
            // lose the last transactions, never corrupt the file.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("cache_size", "-65536")
            // No memory map. SQLite drops a connection's map at the start of every read
            // transaction after any write to the file (`pagerBeginReadTransaction`), and
            // audited reads write an entry each: the munmaps, the page faults after them
            // and the TLB shootdowns they send to every thread cost more than reading
            // pages into the cache (person 360 reads, 200,000 people: 4,500 → 6,400
            // req/s unaudited, 2,800 → 4,650 audited; see ARCHITECTURE.md).
            .pragma("mmap_size", "0")
            // ANALYZE samples this many rows per index instead of reading every row: the
            // planner's choices on our selective indexes do not need more, and a refresh
            // after a million-row import takes milliseconds instead of a second.
            .pragma("analysis_limit", "1000");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.clone())
            .await
            .map_err(|error| crate::storage_error("opening the SQLite database", error))?;
        apply_migrations!(&pool, sqlite)?;
        // sqlx names an in-memory database `file:sqlx-in-memory-N` (or keeps the name of
        // a `mode=memory` URL) but puts nothing on disk; only a database that is a file
        // after the migrations can be opened a second time.
        let filename = options.get_filename();
        let in_memory = url
            .split_once('?')
            .is_some_and(|(_, parameters)| parameters.split('&').any(|p| p == "mode=memory"));
        let store = if !in_memory && filename.is_file() {
            let writer = Arc::new(
                AuditWriter::open(filename)
                    .map_err(|error| crate::storage_error("opening the audit writer", error))?,
            );
            let group_writer = writer.clone();
            let write_pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options.clone())
                .await
                .map_err(|error| crate::storage_error("opening the SQLite writer", error))?;
            SqliteStore {
                write_pool,
                group_commit: crate::audit::GroupCommit::start(Arc::new(move |events, at| {
                    Box::pin(append_on(group_writer.clone(), events, at))
                })),
                pool,
                readers: Some(Arc::new(Readers {
                    path: filename.to_path_buf(),
                    idle: std::sync::Mutex::new(Vec::new()),
                })),
                audit_writer: Some(writer),
            }
        } else {
            SqliteStore {
                write_pool: pool.clone(),
                group_commit: crate::audit::GroupCommit::start(audit_queries::append_batch(
                    pool.clone(),
                )),
                pool,
                readers: None,
                audit_writer: None,
            }
        };
        Ok(store)
    }

    /// Keeps `ANALYZE`'s per-table summaries (`sqlite_stat1`) but drops its per-value
    /// samples (`sqlite_stat4`, present because the bundled SQLite is built with STAT4):
    /// with them, SQLite re-prepares every statement whose plan might depend on the bound
    /// values each time they change, which cost the person 360 view over a quarter of its
    /// time in a profile. Our lookups are all on unique or selective indexes, where stat1
    /// chooses the same plans.
    pub(crate) async fn after_analyze(&self) -> Result<(), StorageError> {
        let has_stat4: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat4'")
                .fetch_one(&self.pool)
                .await
                .map_err(|error| crate::storage_error("looking for sqlite_stat4", error))?;
        if has_stat4 > 0 {
            sqlx::query("DELETE FROM sqlite_stat4")
                .execute(&self.pool)
                .await
                .map_err(|error| crate::storage_error("clearing sqlite_stat4", error))?;
            // Connections re-read the statistics when they next prepare a statement.
            sqlx::query("ANALYZE sqlite_schema")
                .execute(&self.pool)
                .await
                .map_err(|error| crate::storage_error("reloading statistics", error))?;
        }
        Ok(())
    }

    /// The pool, for tests and benchmarks that inspect the schema.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Person rows handed from the deriving thread to the inserting loop at a time.
const ROWS_PER_HANDOFF: usize = 4_096;

/// Rows per multi-row INSERT: fewer steps and resets for the same bindings.
const ROWS_PER_STATEMENT: usize = 64;

/// The values of a person row before its provenance.
const PERSON_VALUES: usize = 13;

/// A value bound to an [`InsertStatement`] parameter.
#[derive(Clone, Copy)]
enum Value<'a> {
    Text(&'a str),
    Integer(i64),
    Null,
}

/// A prepared INSERT on SQLite's C API that binds text without copying it.
///
/// rusqlite binds every text as `SQLITE_TRANSIENT`, which makes SQLite allocate and copy
/// each value (13 per person); on a million-row load those copies cost 1.6 s of the
/// inserting thread. `SQLITE_STATIC` tells SQLite to read the caller's bytes in place,
/// which is sound only while they live and stay unchanged: [`InsertStatement::execute`]
/// therefore binds, steps, resets and clears the bindings in one call that borrows the
/// values, so no binding outlives them.
struct InsertStatement {
    statement: std::ptr::NonNull<rusqlite::ffi::sqlite3_stmt>,
    database: std::ptr::NonNull<rusqlite::ffi::sqlite3>,
    parameters: usize,
}

#[allow(unsafe_code)]
impl InsertStatement {
    /// Prepares `sql` on `database`, a connection that sqlx keeps open and locked to us
    /// for at least as long as the statement lives.
    fn prepare(
        database: std::ptr::NonNull<rusqlite::ffi::sqlite3>,
        sql: &str,
    ) -> Result<InsertStatement, StorageError> {
        let length = i32::try_from(sql.len())
            .map_err(|_| StorageError::new("insert person: the statement is too long"))?;
        let mut statement = std::ptr::null_mut();
        // SAFETY: `database` is an open connection (the caller's contract); `sql` is
        // valid for `length` bytes during the call, and SQLite copies what it keeps.
        let code = unsafe {
            rusqlite::ffi::sqlite3_prepare_v2(
                database.as_ptr(),
                sql.as_ptr().cast(),
                length,
                &mut statement,
                std::ptr::null_mut(),
            )
        };
        let Some(statement) = std::ptr::NonNull::new(statement).filter(|_| code == 0) else {
            return Err(Self::error(database, "preparing the insert"));
        };
        // SAFETY: a statement prepared just above.
        let parameters = unsafe { rusqlite::ffi::sqlite3_bind_parameter_count(statement.as_ptr()) };
        Ok(InsertStatement {
            statement,
            database,
            parameters: usize::try_from(parameters).unwrap_or(0),
        })
    }

    /// SQLite's message for the connection's last error.
    fn error(database: std::ptr::NonNull<rusqlite::ffi::sqlite3>, doing: &str) -> StorageError {
        // SAFETY: `sqlite3_errmsg` returns a NUL-terminated string owned by the open
        // connection, valid until its next call; it is copied at once.
        let message =
            unsafe { std::ffi::CStr::from_ptr(rusqlite::ffi::sqlite3_errmsg(database.as_ptr())) }
                .to_string_lossy()
                .into_owned();
        StorageError::new(format!("insert person: {doing}: {message}"))
    }

    /// Binds `values` to parameters 1, 2, …, runs the statement once, and resets it with
    /// its bindings cleared, so that SQLite holds no pointer into `values` afterwards.
    fn execute(&mut self, values: &[Value<'_>]) -> Result<(), StorageError> {
        if values.len() != self.parameters {
            return Err(StorageError::new(format!(
                "insert person: {} values for {} parameters",
                values.len(),
                self.parameters
            )));
        }
        let statement = self.statement.as_ptr();
        let mut failed = None;
        for (index, value) in values.iter().enumerate() {
            // Parameter numbers fit in an i32: SQLite allows at most 32,766 of them.
            let parameter = index as i32 + 1;
            // SAFETY: `statement` is prepared and not running. A text binding is
            // `SQLITE_STATIC`: SQLite reads the bytes in place until the bindings are
            // cleared below, before this function returns and `values` can go.
            let code = unsafe {
                match *value {
                    Value::Text(text) => rusqlite::ffi::sqlite3_bind_text(
                        statement,
                        parameter,
                        text.as_ptr().cast(),
                        // A value longer than 2 GiB is refused by SQLite as too big.
                        i32::try_from(text.len()).unwrap_or(i32::MAX),
                        rusqlite::ffi::SQLITE_STATIC(),
                    ),
                    Value::Integer(number) => {
                        rusqlite::ffi::sqlite3_bind_int64(statement, parameter, number)
                    }
                    Value::Null => rusqlite::ffi::sqlite3_bind_null(statement, parameter),
                }
            };
            if code != 0 {
                failed = Some("binding a value");
                break;
            }
        }
        // SAFETY: the statement is prepared and fully bound (or stepping is skipped).
        if failed.is_none()
            && unsafe { rusqlite::ffi::sqlite3_step(statement) } != rusqlite::ffi::SQLITE_DONE
        {
            failed = Some("inserting");
        }
        let error = failed.map(|doing| Self::error(self.database, doing));
        // SAFETY: resetting and clearing a prepared statement is always allowed; after
        // this SQLite keeps no pointer into `values`.
        unsafe {
            rusqlite::ffi::sqlite3_reset(statement);
            rusqlite::ffi::sqlite3_clear_bindings(statement);
        }
        error.map_or(Ok(()), Err)
    }
}

#[allow(unsafe_code)]
impl Drop for InsertStatement {
    fn drop(&mut self) {
        // SAFETY: the statement was prepared by `prepare` and is finalised once, here,
        // while its connection is still open.
        unsafe {
            rusqlite::ffi::sqlite3_finalize(self.statement.as_ptr());
        }
    }
}

/// The parameters of one person row of an INSERT: its own values, then the provenance.
fn person_values<'a>(
    (row, birth_date): &'a (PersonRow<'_>, String),
    provenance: &'a huimin_domain::provenance::Provenance,
    recorded: i64,
) -> [Value<'a>; PERSON_VALUES + 3] {
    let optional = |value: Option<&'a str>| value.map_or(Value::Null, Value::Text);
    [
        Value::Text(row.citizen_id),
        Value::Text(row.name),
        Value::Text(&row.name_initials),
        Value::Text(&row.name_pinyin),
        Value::Text(row.sex),
        Value::Text(birth_date),
        Value::Integer(i64::from(row.ethnicity)),
        Value::Text(row.hukou_address),
        Value::Text(row.residence_address),
        optional(row.phone),
        Value::Text(row.life_status),
        Value::Text(&row.tags),
        optional(row.grid),
        Value::Text(&provenance.source),
        Value::Text(&provenance.batch),
        Value::Integer(recorded),
    ]
}

/// Inserts person rows through two prepared statements, one of `ROWS_PER_STATEMENT` rows
/// and one of a single row for the tail.
///
/// The loop runs on sqlx's own connection (locked to us, inside the caller's transaction)
/// through [`InsertStatement`], which binds without copying: sqlx, like rusqlite, copies
/// every bound text, which made binding cost more than SQLite's work on large imports. It
/// blocks the calling thread for the length of the loop, as sqlx's worker thread would
/// have been blocked.
async fn insert_person_rows(
    transaction: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    persons: &[&huimin_domain::registry::Person],
    provenance: &huimin_domain::provenance::Provenance,
) -> Result<(), StorageError> {
    if persons.is_empty() {
        return Ok(());
    }
    let recorded = crate::codec::micros(provenance.recorded_at);
    let mut handle = transaction
        .lock_handle()
        .await
        .map_err(|error| crate::storage_error("locking the connection", error))?;
    // `handle` keeps the connection open, idle and ours until it is dropped, after the
    // statements (declared later).
    let database = handle.as_raw_handle();
    let statement_for = |rows: usize| {
        let row = format!("({})", vec!["?"; PERSON_VALUES + 3].join(", "));
        InsertStatement::prepare(
            database,
            &format!(
                "INSERT INTO person ({}) VALUES {}",
                crate::registry::PERSON_COLUMNS,
                vec![row; rows].join(", ")
            ),
        )
    };
    let mut many = statement_for(ROWS_PER_STATEMENT)?;
    let mut one = statement_for(1)?;
    // Deriving the columns (pinyin, tags, dates) runs on a second thread, a chunk ahead
    // of the loop that binds and steps.
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<(PersonRow<'_>, String)>>(2);
        scope.spawn(move || {
            for chunk in persons.chunks(ROWS_PER_HANDOFF) {
                let rows = chunk
                    .iter()
                    .map(|person| {
                        let row = PersonRow::new(person);
                        let birth_date = row.birth_date_text();
                        (row, birth_date)
                    })
                    .collect();
                if sender.send(rows).is_err() {
                    return;
                }
            }
        });
        // Returning early drops the receiver, which stops the deriving thread.
        for rows in receiver {
            let mut values = Vec::with_capacity(ROWS_PER_STATEMENT * (PERSON_VALUES + 3));
            for group in rows.chunks(ROWS_PER_STATEMENT) {
                if group.len() == ROWS_PER_STATEMENT {
                    values.clear();
                    for row in group {
                        values.extend(person_values(row, provenance, recorded));
                    }
                    many.execute(&values)?;
                } else {
                    // The short tail goes row by row through the one-row statement.
                    for row in group {
                        one.execute(&person_values(row, provenance, recorded))?;
                    }
                }
            }
        }
        Ok(())
    })
}

/// Builds the indexes a bulk load dropped. SQLite's sorter keeps `cache_size` worth of
/// keys in one in-memory list; with a small cache it sorts short runs on two threads and
/// merges them, which measured a third faster on a million rows. The cache is restored
/// after.
async fn build_indexes(
    transaction: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    indexes: &[crate::registry::DroppedIndex],
) -> Result<(), StorageError> {
    let cache_size: i64 = sqlx::query_scalar("PRAGMA cache_size")
        .fetch_one(&mut **transaction)
        .await
        .map_err(|error| crate::storage_error("reading cache_size", error))?;
    let mut statements = vec![
        "PRAGMA cache_size = -4000".to_owned(),
        "PRAGMA threads = 2".to_owned(),
    ];
    statements.extend(indexes.iter().map(|index| index.create.clone()));
    statements.push(format!("PRAGMA cache_size = {cache_size}"));
    statements.push("PRAGMA threads = 0".to_owned());
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut **transaction)
            .await
            .map_err(|error| crate::storage_error("building an index", error))?;
    }
    Ok(())
}

/// Every index of a table that a bulk load may drop and build again: all that the
/// migrations created, the unique key among them (building it again checks that the load
/// repeated no key). Indexes that SQLite made for a table's own constraints (`sql` is
/// NULL) cannot be dropped and are not listed.
async fn droppable_indexes(
    transaction: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    table: &str,
) -> Result<Vec<crate::registry::DroppedIndex>, StorageError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = $1 \
         AND sql IS NOT NULL ORDER BY name",
    )
    .bind(table)
    .fetch_all(&mut **transaction)
    .await
    .map_err(|error| crate::storage_error("listing indexes", error))?;
    Ok(rows
        .into_iter()
        .map(|(name, create)| crate::registry::DroppedIndex {
            drop: format!("DROP INDEX {name}"),
            create,
        })
        .collect())
}

crate::registry::registry_store!(SqliteStore, sqlx::Sqlite, sqlx::sqlite::SqliteRow);
/// Audit entries numbered after `after` through `through`, hashed as they are stepped
/// through on a read-only connection of a blocking thread (sqlx's per-row hand-off to its
/// worker thread made `huimin audit verify` spend most of its time in locks and copies);
/// or through sqlx for an in-memory database.
pub(crate) async fn read_audit_range(
    store: SqliteStore,
    after: u64,
    through: u64,
) -> Result<Vec<crate::audit::ScannedLeaf>, StorageError> {
    let Some(readers) = store.readers.clone() else {
        return audit_queries::read_audit_range_by_query(store, after, through).await;
    };
    let read = move || {
        readers.read(|connection| {
            let failed =
                |error: rusqlite::Error| crate::storage_error("reading audit entries", error);
            let mut statement = connection
                .prepare_cached(&crate::audit::AUDIT_RANGE_SQL)
                .map_err(failed)?;
            let mut rows = statement
                .query(rusqlite::params![
                    crate::audit::as_i64(after),
                    crate::audit::as_i64(through)
                ])
                .map_err(failed)?;
            let mut entries =
                Vec::with_capacity(through.saturating_sub(after).min(100_000) as usize);
            while let Some(row) = rows.next().map_err(failed)? {
                entries.push(crate::audit::hash_columns(
                    |index| row.get_ref(index).ok()?.as_i64().ok(),
                    |index| row.get_ref(index).ok()?.as_str().ok(),
                    |index| row.get_ref(index).ok()?.as_blob().ok(),
                ));
            }
            Ok(entries)
        })
    };
    tokio::task::spawn_blocking(read)
        .await
        .map_err(|error| crate::storage_error("reading audit entries", error))?
}

crate::audit::audit_store!(
    crate::sqlite::SqliteStore,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow
);
crate::identity::identity_store!(
    crate::sqlite::SqliteStore,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow
);
crate::oidc::oidc_store!(
    crate::sqlite::SqliteStore,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow
);
crate::catalogue::catalogue_store!(
    crate::sqlite::SqliteStore,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow
);
pub(crate) mod dataset_writes;
crate::dataset::dataset_store!(
    crate::sqlite::SqliteStore,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow
);
crate::sharing::sharing_store!(
    crate::sqlite::SqliteStore,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow
);
crate::dispute::dispute_store!(
    crate::sqlite::SqliteStore,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow
);
crate::subscription::subscription_store!(
    crate::sqlite::SqliteStore,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow
);
crate::case::case_store!(
    crate::sqlite::SqliteStore,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow,
    "",
    "SELECT 1"
);
crate::knowledge::knowledge_store!(
    crate::sqlite::SqliteStore,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow
);
crate::facility::facility_store!(
    crate::sqlite::SqliteStore,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow
);
crate::patrol::patrol_store!(
    crate::sqlite::SqliteStore,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow
);
crate::rental::rental_store!(
    crate::sqlite::SqliteStore,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow
);
