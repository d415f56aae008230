//! The dataset loader's record look-ups and writes on PostgreSQL: one statement per
//! chunk (or per run of one kind of write) over arrays bound whole and read with
//! `UNNEST`, where many-row `VALUES` lists of numbered parameters took a round trip per
//! fifty records and a parse per statement.
//!
//! The look-ups probe the index once per key, as a `LATERAL` subquery with `LIMIT 1` (the
//! keys are unique, and the limit keeps the planner from flattening the probe into a
//! join). As `= ANY($n)` over ten thousand keys the planner, costing random reads as
//! disk seeks, chose a parallel scan of the whole table: 418 ms a chunk on a million
//! records, against 39 ms for the probes — and the scan grows with the table, so a load
//! slowed as it went. They are planned at each execution, not prepared once.

use crate::dataset::{Known, RecordWrite};
use crate::storage_error;
use huimin_domain::storage::StorageResult;
use sqlx::Row;
use std::collections::{HashMap, HashSet};

type Transaction = sqlx::Transaction<'static, sqlx::Postgres>;

/// The subjects of `subjects` that `table` holds in `column`.
pub(crate) async fn linked(
    transaction: &mut Transaction,
    table: &str,
    column: &str,
    subjects: &[&str],
) -> StorageResult<HashSet<String>> {
    if subjects.is_empty() {
        return Ok(HashSet::new());
    }
    let rows = sqlx::query_scalar::<_, String>(sql!(
        "SELECT t.{column} FROM UNNEST($1::text[]) AS u(subject) \
         CROSS JOIN LATERAL (SELECT {column} FROM {table} WHERE {column} = u.subject LIMIT 1) AS t"
    ))
    .persistent(false)
    .bind(subjects)
    .fetch_all(&mut **transaction)
    .await
    .map_err(|error| storage_error("linking subjects", error))?;
    Ok(rows.into_iter().collect())
}

/// What the store holds of `keys` of `resource`.
pub(crate) async fn known(
    transaction: &mut Transaction,
    resource: &str,
    keys: &[&str],
) -> StorageResult<HashMap<String, Known>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query(
        "SELECT d.record_key, d.record_values, d.seen_batch, d.seen_row FROM UNNEST($2::text[]) AS u(key) \
         CROSS JOIN LATERAL (SELECT record_key, record_values, seen_batch, seen_row FROM dataset_record \
         WHERE resource_code = $1 AND record_key = u.key LIMIT 1) AS d",
    )
    .persistent(false)
    .bind(resource)
    .bind(keys)
    .fetch_all(&mut **transaction)
    .await
    .map_err(|error| storage_error("looking up records", error))?;
    let column = |error| storage_error("reading a stored record", error);
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("record_key").map_err(column)?,
                Known {
                    values: row.try_get("record_values").map_err(column)?,
                    seen_batch: row.try_get("seen_batch").map_err(column)?,
                    seen_row: row.try_get("seen_row").map_err(column)?,
                },
            ))
        })
        .collect()
}

/// The columns of a run of inserts or updates, as arrays.
#[derive(Default)]
struct Columns<'a> {
    keys: Vec<&'a str>,
    subjects: Vec<Option<&'a str>>,
    linked: Vec<i64>,
    values: Vec<&'a str>,
    rows: Vec<i64>,
}

/// Applies `writes` to `resource`'s records in their order, as `batch` at `recorded_at`:
/// each run of consecutive writes of one kind in one statement.
pub(crate) async fn apply(
    transaction: &mut Transaction,
    resource: &str,
    batch: &str,
    recorded_at: i64,
    writes: &[RecordWrite<'_>],
) -> StorageResult<()> {
    for run in writes.chunk_by(|a, b| a.kind() == b.kind()) {
        let mut columns = Columns::default();
        for write in run {
            let (key, subject, linked, values, row) = match write {
                RecordWrite::Insert {
                    key,
                    subject,
                    linked,
                    values,
                    row,
                }
                | RecordWrite::Update {
                    key,
                    subject,
                    linked,
                    values,
                    row,
                } => (*key, *subject, *linked, values.as_str(), *row),
                RecordWrite::Seen { key, linked, row } => (*key, None, *linked, "", *row),
                RecordWrite::Delete { key } => (*key, None, false, "", 0),
            };
            columns.keys.push(key);
            columns.subjects.push(subject);
            columns.linked.push(i64::from(linked));
            columns.values.push(values);
            columns.rows.push(row);
        }
        let (sql, doing) = match run[0] {
            RecordWrite::Insert { .. } => (
                "INSERT INTO dataset_record (resource_code, record_key, subject, linked, record_values, batch_id, \
                 recorded_at_us, seen_batch, seen_row) \
                 SELECT $1, u.k, u.s, u.l, u.v, $2, $3, $2, u.r \
                 FROM UNNEST($4::text[], $5::text[], $6::bigint[], $7::text[], $8::bigint[]) AS u(k, s, l, v, r)",
                "inserting records",
            ),
            RecordWrite::Seen { .. } => (
                "UPDATE dataset_record AS d SET seen_batch = $2, seen_row = u.r, linked = u.l \
                 FROM UNNEST($4::text[], $5::text[], $6::bigint[], $7::text[], $8::bigint[]) AS u(k, s, l, v, r) \
                 WHERE d.resource_code = $1 AND d.record_key = u.k AND $3::bigint IS NOT NULL",
                "marking records seen",
            ),
            RecordWrite::Update { .. } => (
                "UPDATE dataset_record AS d SET subject = u.s, linked = u.l, record_values = u.v, batch_id = $2, \
                 recorded_at_us = $3, seen_batch = $2, seen_row = u.r \
                 FROM UNNEST($4::text[], $5::text[], $6::bigint[], $7::text[], $8::bigint[]) AS u(k, s, l, v, r) \
                 WHERE d.resource_code = $1 AND d.record_key = u.k",
                "updating records",
            ),
            RecordWrite::Delete { .. } => (
                "DELETE FROM dataset_record AS d USING \
                 UNNEST($4::text[], $5::text[], $6::bigint[], $7::text[], $8::bigint[]) AS u(k, s, l, v, r) \
                 WHERE d.resource_code = $1 AND d.record_key = u.k AND $2::text IS NOT NULL AND $3::bigint IS NOT NULL",
                "deleting records",
            ),
        };
        sqlx::query(sql)
            .persistent(false)
            .bind(resource)
            .bind(batch)
            .bind(recorded_at)
            .bind(&columns.keys)
            .bind(&columns.subjects)
            .bind(&columns.linked)
            .bind(&columns.values)
            .bind(&columns.rows)
            .execute(&mut **transaction)
            .await
            .map_err(|error| storage_error(doing, error))?;
    }
    Ok(())
}
