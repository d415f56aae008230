//! The PostgreSQL backend: the production store. Portable PostgreSQL only (no extensions),
//! so read replicas and PostgreSQL-compatible distributed engines stay an option.

use crate::codec::PersonRow;
use crate::migrate::apply_migrations;
use huimin_domain::storage::StorageError;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;

/// Write transactions at once. Every audited write updates the audit log's one head row,
/// so writers beyond a few only wait in PostgreSQL for its lock; they wait in the pool's
/// queue instead, in order.
const WRITE_CONNECTIONS: u32 = 4;

/// The registries in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
    /// The connections write transactions take (`WRITE_CONNECTIONS` of them).
    pub(crate) write_pool: PgPool,
    /// The writer of stand-alone audit appends.
    pub(crate) group_commit: crate::audit::GroupCommit,
}

impl PostgresStore {
    /// Begins a write transaction. PostgreSQL's row locks and snapshot rules need nothing
    /// beyond `BEGIN` (read committed); SQLite's twin takes its write lock up front.
    pub(crate) async fn begin_write_on(
        pool: &PgPool,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StorageError> {
        pool.begin()
            .await
            .map_err(|error| crate::storage_error("begin", error))
    }

    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StorageError> {
        PostgresStore::begin_write_on(&self.write_pool).await
    }

    /// Connects to and migrates the database at a `postgres://` URL.
    pub async fn connect(url: &str) -> Result<PostgresStore, StorageError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|error| crate::storage_error("parsing the PostgreSQL URL", error))?
            .application_name("huimin");
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(options.clone())
            .await
            .map_err(|error| crate::storage_error("connecting to PostgreSQL", error))?;
        let write_pool = PgPoolOptions::new()
            .max_connections(WRITE_CONNECTIONS)
            .connect_with(options)
            .await
            .map_err(|error| crate::storage_error("connecting to PostgreSQL", error))?;
        let store = PostgresStore {
            write_pool,
            group_commit: crate::audit::GroupCommit::start(audit_queries::append_batch(
                pool.clone(),
            )),
            pool,
        };
        apply_migrations!(&store.pool, postgres)?;
        Ok(store)
    }

    /// Nothing to adjust after `ANALYZE` on PostgreSQL.
    pub(crate) async fn after_analyze(&self) -> Result<(), StorageError> {
        Ok(())
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// The 360 view: the ordinary queries, one round trip each.
async fn read_person_view(
    store: &PostgresStore,
    citizen_id: &huimin_domain::identifiers::CitizenId,
) -> Result<Option<huimin_domain::storage::PersonView>, StorageError> {
    person_view_by_queries(store, citizen_id).await
}

async fn read_exchange(
    store: &PostgresStore,
    consumer: &huimin_domain::catalogue::DepartmentId,
    resource: &huimin_domain::catalogue::ResourceCode,
    subjects: &[String],
) -> Result<Option<huimin_domain::sharing::ExchangeRead>, StorageError> {
    crate::sharing::exchange_by_queries(store, consumer, resource, subjects).await
}

/// Bytes of COPY data sent per message.
const COPY_BUFFER_BYTES: usize = 1 << 20;

/// The signature, flags and (empty) header extension that open a binary COPY stream.
const COPY_BINARY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// The field count of -1 that ends a binary COPY stream.
const COPY_BINARY_TRAILER: &[u8] = &[0xff, 0xff];

/// 2000-01-01, the day binary dates count from.
fn postgres_epoch() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default()
}

/// A field of a binary COPY row.
enum Field<'a> {
    Text(&'a str),
    Date(chrono::NaiveDate),
    Int4(i32),
    Int8(i64),
    Null,
}

/// A text field, or NULL.
fn text_or_null(value: Option<&str>) -> Field<'_> {
    value.map_or(Field::Null, Field::Text)
}

/// Appends one row in `COPY … FROM STDIN (FORMAT binary)` format: the field count, then
/// each field as its length and its bytes in the type's binary form (network byte order),
/// or a length of -1 for NULL. Nothing is escaped, and the server parses no text.
fn copy_row(buffer: &mut Vec<u8>, fields: &[Field<'_>]) -> Result<(), StorageError> {
    let too_big = || StorageError::new("copy person: a value is too large for PostgreSQL");
    let count = i16::try_from(fields.len()).map_err(|_| too_big())?;
    buffer.extend_from_slice(&count.to_be_bytes());
    for field in fields {
        match field {
            Field::Text(text) => {
                let length = i32::try_from(text.len()).map_err(|_| too_big())?;
                buffer.extend_from_slice(&length.to_be_bytes());
                buffer.extend_from_slice(text.as_bytes());
            }
            Field::Date(date) => {
                let days = i32::try_from(date.signed_duration_since(postgres_epoch()).num_days())
                    .map_err(|_| too_big())?;
                buffer.extend_from_slice(&4_i32.to_be_bytes());
                buffer.extend_from_slice(&days.to_be_bytes());
            }
            Field::Int4(number) => {
                buffer.extend_from_slice(&4_i32.to_be_bytes());
                buffer.extend_from_slice(&number.to_be_bytes());
            }
            Field::Int8(number) => {
                buffer.extend_from_slice(&8_i32.to_be_bytes());
                buffer.extend_from_slice(&number.to_be_bytes());
            }
            Field::Null => buffer.extend_from_slice(&(-1_i32).to_be_bytes()),
        }
    }
    Ok(())
}

/// Inserts person rows with binary `COPY … FROM STDIN`, PostgreSQL's bulk path, inside
/// the caller's transaction. The binary format spares the server the parsing of every
/// value, which took a third of its work in the text format.
async fn insert_person_rows(
    transaction: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    persons: &[&huimin_domain::registry::Person],
    provenance: &huimin_domain::provenance::Provenance,
) -> Result<(), StorageError> {
    if persons.is_empty() {
        return Ok(());
    }
    let recorded = crate::codec::micros(provenance.recorded_at);
    let mut copy = transaction
        .copy_in_raw(&format!(
            "COPY person ({}) FROM STDIN WITH (FORMAT binary)",
            crate::registry::PERSON_COLUMNS
        ))
        .await
        .map_err(|error| crate::storage_error("copy person", error))?;
    let mut buffer = Vec::with_capacity(COPY_BUFFER_BYTES + 4096);
    buffer.extend_from_slice(COPY_BINARY_HEADER);
    let mut sent = Ok(());
    for person in persons {
        let row = PersonRow::new(person);
        let encoded = copy_row(
            &mut buffer,
            &[
                Field::Text(row.citizen_id),
                Field::Text(row.name),
                Field::Text(&row.name_initials),
                Field::Text(&row.name_pinyin),
                Field::Text(row.sex),
                Field::Date(row.birth_date),
                Field::Int4(row.ethnicity),
                Field::Text(row.hukou_address),
                Field::Text(row.residence_address),
                text_or_null(row.phone),
                Field::Text(row.life_status),
                Field::Text(&row.tags),
                text_or_null(row.grid),
                Field::Text(&provenance.source),
                Field::Text(&provenance.batch),
                Field::Int8(recorded),
            ],
        );
        if let Err(error) = encoded {
            let _ = copy.abort("huimin: a value could not be encoded").await;
            return Err(error);
        }
        if buffer.len() >= COPY_BUFFER_BYTES {
            sent = copy.send(std::mem::take(&mut buffer)).await.map(|_| ());
            if sent.is_err() {
                break;
            }
            buffer.reserve(COPY_BUFFER_BYTES + 4096);
        }
    }
    if sent.is_ok() {
        buffer.extend_from_slice(COPY_BINARY_TRAILER);
        sent = copy.send(buffer).await.map(|_| ());
    }
    match sent {
        Ok(()) => copy
            .finish()
            .await
            .map(|_| ())
            .map_err(|error| crate::storage_error("copy person", error)),
        Err(error) => {
            let _ = copy.abort("huimin: sending rows failed").await;
            Err(crate::storage_error("copy person", error))
        }
    }
}

/// Builds the indexes and key constraints a bulk load dropped, with memory enough for
/// their sorts to stay in memory.
async fn build_indexes(
    transaction: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    indexes: &[crate::registry::DroppedIndex],
) -> Result<(), StorageError> {
    sqlx::query("SET LOCAL maintenance_work_mem = '256MB'")
        .execute(&mut **transaction)
        .await
        .map_err(|error| crate::storage_error("setting maintenance_work_mem", error))?;
    for index in indexes {
        sqlx::query(sqlx::AssertSqlSafe(index.create.as_str()))
            .execute(&mut **transaction)
            .await
            .map_err(|error| crate::storage_error("building an index", error))?;
    }
    Ok(())
}

/// Every index of a table that a bulk load may drop and build again: the primary key and
/// unique constraints (as constraints, so they come back as constraints; building the key
/// again checks that the load repeated no key), then the plain indexes.
async fn droppable_indexes(
    transaction: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    table: &str,
) -> Result<Vec<crate::registry::DroppedIndex>, StorageError> {
    let constraints: Vec<(String, String)> = sqlx::query_as(
        "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE conrelid = $1::text::regclass AND contype IN ('p', 'u') ORDER BY 1",
    )
    .bind(table)
    .fetch_all(&mut **transaction)
    .await
    .map_err(|error| crate::storage_error("listing key constraints", error))?;
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT index_class.relname::text, pg_get_indexdef(i.indexrelid) \
         FROM pg_index i JOIN pg_class index_class ON index_class.oid = i.indexrelid \
         WHERE i.indrelid = $1::text::regclass \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) \
         ORDER BY 1",
    )
    .bind(table)
    .fetch_all(&mut **transaction)
    .await
    .map_err(|error| crate::storage_error("listing indexes", error))?;
    let constraints =
        constraints
            .into_iter()
            .map(|(name, definition)| crate::registry::DroppedIndex {
                drop: format!("ALTER TABLE {table} DROP CONSTRAINT {name}"),
                create: format!("ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"),
            });
    let indexes = indexes
        .into_iter()
        .map(|(name, create)| crate::registry::DroppedIndex {
            drop: format!("DROP INDEX {name}"),
            create,
        });
    Ok(constraints.chain(indexes).collect())
}

crate::registry::registry_store!(PostgresStore, sqlx::Postgres, sqlx::postgres::PgRow);
/// Audit events appended in a transaction of their own.
pub(crate) async fn append_stand_alone(
    store: &PostgresStore,
    events: &[huimin_domain::audit::AuditEvent],
    at: chrono::DateTime<chrono::Utc>,
) -> Result<u64, StorageError> {
    audit_queries::append_alone(&store.pool, events, at).await
}

/// Audit entries numbered after `after` through `through`, hashed.
pub(crate) async fn read_audit_range(
    store: PostgresStore,
    after: u64,
    through: u64,
) -> Result<Vec<crate::audit::ScannedLeaf>, StorageError> {
    audit_queries::read_audit_range_by_query(store, after, through).await
}

crate::audit::audit_store!(
    crate::postgres::PostgresStore,
    sqlx::Postgres,
    sqlx::postgres::PgRow
);
crate::identity::identity_store!(
    crate::postgres::PostgresStore,
    sqlx::Postgres,
    sqlx::postgres::PgRow
);
crate::oidc::oidc_store!(
    crate::postgres::PostgresStore,
    sqlx::Postgres,
    sqlx::postgres::PgRow
);
crate::catalogue::catalogue_store!(
    crate::postgres::PostgresStore,
    sqlx::Postgres,
    sqlx::postgres::PgRow
);
pub(crate) mod dataset_writes;
crate::dataset::dataset_store!(
    crate::postgres::PostgresStore,
    sqlx::Postgres,
    sqlx::postgres::PgRow
);
crate::sharing::sharing_store!(
    crate::postgres::PostgresStore,
    sqlx::Postgres,
    sqlx::postgres::PgRow
);
crate::dispute::dispute_store!(
    crate::postgres::PostgresStore,
    sqlx::Postgres,
    sqlx::postgres::PgRow
);
crate::subscription::subscription_store!(
    crate::postgres::PostgresStore,
    sqlx::Postgres,
    sqlx::postgres::PgRow
);
crate::case::case_store!(
    crate::postgres::PostgresStore,
    sqlx::Postgres,
    sqlx::postgres::PgRow,
    "OVERRIDING SYSTEM VALUE",
    "SELECT setval(pg_get_serial_sequence('case_record', 'id'), GREATEST((SELECT MAX(id) FROM case_record), 1))"
);
crate::knowledge::knowledge_store!(
    crate::postgres::PostgresStore,
    sqlx::Postgres,
    sqlx::postgres::PgRow
);
crate::facility::facility_store!(
    crate::postgres::PostgresStore,
    sqlx::Postgres,
    sqlx::postgres::PgRow
);
crate::patrol::patrol_store!(
    crate::postgres::PostgresStore,
    sqlx::Postgres,
    sqlx::postgres::PgRow
);
crate::rental::rental_store!(
    crate::postgres::PostgresStore,
    sqlx::Postgres,
    sqlx::postgres::PgRow
);
