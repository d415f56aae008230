//! The PostgreSQL backend: the production store. Portable PostgreSQL only (no extensions),
//! so read replicas and PostgreSQL-compatible distributed engines stay an option.

use crate::codec::PersonRow;
use crate::migrate::apply_migrations;
use huimin_domain::storage::StorageError;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;

/// The registries in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
}

impl PostgresStore {
    /// Connects to and migrates the database at a `postgres://` URL.
    pub async fn connect(url: &str) -> Result<PostgresStore, StorageError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|error| crate::storage_error("parsing the PostgreSQL URL", error))?
            .application_name("huimin");
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(options)
            .await
            .map_err(|error| crate::storage_error("connecting to PostgreSQL", error))?;
        let store = PostgresStore { pool };
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

/// Bytes of COPY data sent per message.
const COPY_BUFFER_BYTES: usize = 1 << 20;

/// Appends one row in `COPY … FROM STDIN` text format: fields separated by tabs, `\N`
/// for NULL, and backslash, tab, newline and carriage return escaped.
fn copy_row(buffer: &mut Vec<u8>, fields: &[Option<&str>]) {
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            buffer.push(b'\t');
        }
        match field {
            None => buffer.extend_from_slice(b"\\N"),
            Some(text) => {
                for byte in text.bytes() {
                    match byte {
                        b'\\' => buffer.extend_from_slice(b"\\\\"),
                        b'\t' => buffer.extend_from_slice(b"\\t"),
                        b'\n' => buffer.extend_from_slice(b"\\n"),
                        b'\r' => buffer.extend_from_slice(b"\\r"),
                        other => buffer.push(other),
                    }
                }
            }
        }
    }
    buffer.push(b'\n');
}

/// Inserts person rows with `COPY … FROM STDIN`, PostgreSQL's bulk path, inside the
/// caller's transaction.
async fn insert_person_rows(
    transaction: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    persons: &[&huimin_domain::registry::Person],
    provenance: &huimin_domain::provenance::Provenance,
) -> Result<(), StorageError> {
    if persons.is_empty() {
        return Ok(());
    }
    let recorded = crate::codec::micros(provenance.recorded_at).to_string();
    let mut copy = transaction
        .copy_in_raw(&format!(
            "COPY person ({}) FROM STDIN",
            crate::registry::PERSON_COLUMNS
        ))
        .await
        .map_err(|error| crate::storage_error("copy person", error))?;
    let mut buffer = Vec::with_capacity(COPY_BUFFER_BYTES + 4096);
    let mut sent = Ok(());
    for person in persons {
        let row = PersonRow::new(person);
        let birth_date = row.birth_date_text();
        let ethnicity = row.ethnicity.to_string();
        copy_row(
            &mut buffer,
            &[
                Some(row.citizen_id),
                Some(row.name),
                Some(&row.name_initials),
                Some(&row.name_pinyin),
                Some(row.sex),
                Some(&birth_date),
                Some(&ethnicity),
                Some(row.hukou_address),
                Some(row.residence_address),
                row.phone,
                Some(row.life_status),
                Some(&row.tags),
                row.grid,
                Some(&provenance.source),
                Some(&provenance.batch),
                Some(&recorded),
            ],
        );
        if buffer.len() >= COPY_BUFFER_BYTES {
            sent = copy.send(std::mem::take(&mut buffer)).await.map(|_| ());
            if sent.is_err() {
                break;
            }
            buffer.reserve(COPY_BUFFER_BYTES + 4096);
        }
    }
    if sent.is_ok() && !buffer.is_empty() {
        sent = copy.send(buffer).await.map(|_| ());
    }
    match sent {
        Ok(()) => copy
            .finish()
            .await
            .map(|_| ())
            .map_err(|error| crate::storage_error("copy person", error)),
        Err(error) => {
            // The connection must leave COPY mode before the transaction rolls back.
            let _ = copy.abort("huimin: sending rows failed").await;
            Err(crate::storage_error("copy person", error))
        }
    }
}

/// Builds indexes after a bulk load, with more sort memory than the default 64 MB.
async fn build_indexes(
    transaction: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    definitions: &[String],
) -> Result<(), StorageError> {
    sqlx::query("SET LOCAL maintenance_work_mem = '256MB'")
        .execute(&mut **transaction)
        .await
        .map_err(|error| crate::storage_error("setting maintenance_work_mem", error))?;
    for definition in definitions {
        sqlx::query(sqlx::AssertSqlSafe(definition.as_str()))
            .execute(&mut **transaction)
            .await
            .map_err(|error| crate::storage_error("building an index", error))?;
    }
    Ok(())
}

/// Names and definitions of a table's indexes that enforce nothing (not the primary key,
/// not unique), which a bulk load may drop and rebuild.
async fn secondary_indexes(
    transaction: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    table: &str,
) -> Result<Vec<(String, String)>, StorageError> {
    sqlx::query_as(
        "SELECT index_class.relname::text, pg_get_indexdef(i.indexrelid) \
         FROM pg_index i JOIN pg_class index_class ON index_class.oid = i.indexrelid \
         WHERE i.indrelid = $1::text::regclass AND NOT i.indisprimary AND NOT i.indisunique \
         ORDER BY 1",
    )
    .bind(table)
    .fetch_all(&mut **transaction)
    .await
    .map_err(|error| crate::storage_error("listing indexes", error))
}

crate::registry::registry_store!(PostgresStore, sqlx::Postgres, sqlx::postgres::PgRow);
