//! The dataset loader's record look-ups and writes on SQLite: rusqlite's cached one-row
//! statements on the chunk's own connection (sqlx's, locked to us inside its transaction).
//!
//! Through sqlx the same work cost four times as much: every statement crossed to sqlx's
//! worker thread and back, and binding searched the statement's parameters by name, so
//! the many-row `IN` look-ups and `INSERT`s it needed to amortise the crossing paid for
//! their size in the search (the sqlx worker was 70 % of an import's profile). On the
//! connection itself a one-row statement costs what SQLite's work costs. The calling
//! thread blocks for the chunk, as sqlx's worker would have.

use crate::dataset::{Known, RecordWrite};
use crate::storage_error;
use foldhash::{HashMap, HashSet};
use huimin_domain::storage::StorageResult;
use rusqlite::OptionalExtension;

type Transaction = sqlx::Transaction<'static, sqlx::Sqlite>;

/// Runs `work` on the transaction's connection through rusqlite.
#[allow(unsafe_code)]
async fn on_connection<T>(
    transaction: &mut Transaction,
    doing: &str,
    work: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
) -> StorageResult<T> {
    let mut handle = transaction
        .lock_handle()
        .await
        .map_err(|error| storage_error("locking the connection", error))?;
    // SAFETY: `handle` keeps the connection open, idle and ours while it lives, and the
    // rusqlite connection made here (which does not own the handle, so never closes it)
    // is dropped, with its cached statements, before `handle` is.
    let connection = unsafe { rusqlite::Connection::from_handle(handle.as_raw_handle().as_ptr()) }
        .map_err(|error| storage_error(doing, error))?;
    let result = work(&connection);
    drop(connection);
    drop(handle);
    result.map_err(|error| storage_error(doing, error))
}

/// The subjects of `subjects` that `table` holds in `column`.
pub(crate) async fn linked(
    transaction: &mut Transaction,
    table: &str,
    column: &str,
    subjects: &[&str],
) -> StorageResult<HashSet<String>> {
    // `table` and `column` are the registry's own names (`dataset::subject_table`).
    let sql = format!("SELECT 1 FROM {table} WHERE {column} = ?1");
    on_connection(transaction, "linking subjects", |connection| {
        let mut statement = connection.prepare(&sql)?;
        let mut found = HashSet::default();
        for subject in subjects {
            if statement.exists([subject])? {
                found.insert((*subject).to_owned());
            }
        }
        Ok(found)
    })
    .await
}

/// What the store holds of `keys` of `resource`, by the caller's keys.
pub(crate) async fn known<'k>(
    transaction: &mut Transaction,
    resource: &str,
    keys: &[&'k str],
) -> StorageResult<HashMap<&'k str, Known>> {
    on_connection(transaction, "looking up records", |connection| {
        let mut statement = connection.prepare(
            "SELECT record_values, seen_batch, seen_row FROM dataset_record \
             WHERE resource_code = ?1 AND record_key = ?2",
        )?;
        let mut known = HashMap::default();
        for key in keys {
            let stored = statement
                .query_row([resource, key], |row| {
                    Ok(Known {
                        values: row.get(0)?,
                        seen_batch: row.get(1)?,
                        seen_row: row.get(2)?,
                    })
                })
                .optional()?;
            if let Some(stored) = stored {
                known.insert(*key, stored);
            }
        }
        Ok(known)
    })
    .await
}

/// Applies `writes` to `resource`'s records in their order, as `batch` at `recorded_at`.
pub(crate) async fn apply(
    transaction: &mut Transaction,
    resource: &str,
    batch: &str,
    recorded_at: i64,
    writes: &[RecordWrite<'_>],
) -> StorageResult<()> {
    if writes.is_empty() {
        return Ok(());
    }
    on_connection(transaction, "writing records", |connection| {
        let mut insert = connection.prepare(
            "INSERT INTO dataset_record (resource_code, record_key, subject, linked, record_values, batch_id, \
             recorded_at_us, seen_batch, seen_row) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?6, ?8)",
        )?;
        let mut seen = connection.prepare(
            "UPDATE dataset_record SET seen_batch = ?3, seen_row = ?4, linked = ?5 \
             WHERE resource_code = ?1 AND record_key = ?2",
        )?;
        let mut update = connection.prepare(
            "UPDATE dataset_record SET subject = ?3, linked = ?4, record_values = ?5, batch_id = ?6, \
             recorded_at_us = ?7, seen_batch = ?6, seen_row = ?8 WHERE resource_code = ?1 AND record_key = ?2",
        )?;
        let mut delete = connection
            .prepare("DELETE FROM dataset_record WHERE resource_code = ?1 AND record_key = ?2")?;
        for write in writes {
            match write {
                RecordWrite::Insert {
                    key,
                    subject,
                    linked,
                    values,
                    row,
                } => insert.execute(rusqlite::params![
                    resource,
                    key,
                    subject,
                    i64::from(*linked),
                    values,
                    batch,
                    recorded_at,
                    row
                ])?,
                RecordWrite::Seen { key, linked, row } => {
                    seen.execute(rusqlite::params![resource, key, batch, row, i64::from(*linked)])?
                }
                RecordWrite::Update {
                    key,
                    subject,
                    linked,
                    values,
                    row,
                } => update.execute(rusqlite::params![
                    resource,
                    key,
                    subject,
                    i64::from(*linked),
                    values,
                    batch,
                    recorded_at,
                    row
                ])?,
                RecordWrite::Delete { key } => delete.execute([resource, key])?,
            };
        }
        Ok(())
    })
    .await
}
