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
use foldhash::{HashMap, HashSet};
use huimin_domain::storage::StorageResult;
use sqlx::Row;

type Transaction = sqlx::Transaction<'static, sqlx::Postgres>;

/// The subjects of `subjects` that `table` holds in `column`.
pub(crate) async fn linked(
    transaction: &mut Transaction,
    table: &str,
    column: &str,
    subjects: &[&str],
) -> StorageResult<HashSet<String>> {
    if subjects.is_empty() {
        return Ok(HashSet::default());
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

/// What the store holds of `keys` of `resource`, by the caller's keys (each found row
/// names its key by its place in the array).
pub(crate) async fn known<'k>(
    transaction: &mut Transaction,
    resource: &str,
    keys: &[&'k str],
) -> StorageResult<HashMap<&'k str, Known>> {
    if keys.is_empty() {
        return Ok(HashMap::default());
    }
    let rows = sqlx::query(
        "SELECT u.place, d.record_values, d.seen_batch, d.seen_row \
         FROM UNNEST($2::text[]) WITH ORDINALITY AS u(key, place) \
         CROSS JOIN LATERAL (SELECT record_values, seen_batch, seen_row FROM dataset_record \
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
            let place: i64 = row.try_get("place").map_err(column)?;
            let key = usize::try_from(place - 1)
                .ok()
                .and_then(|index| keys.get(index))
                .ok_or_else(|| {
                    huimin_domain::storage::StorageError::new(format!(
                        "a record look-up answered for place {place} of {} keys",
                        keys.len()
                    ))
                })?;
            Ok((
                *key,
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

/// Appends `value` to a `COPY` text-format row, escaped: a backslash, tab, newline or
/// carriage return would otherwise end the field or the row.
fn copy_field(row: &mut Vec<u8>, value: &str) {
    let special = |byte: &u8| matches!(byte, b'\\' | b'\t' | b'\n' | b'\r');
    if !value.as_bytes().iter().any(special) {
        row.extend_from_slice(value.as_bytes());
        return;
    }
    for byte in value.bytes() {
        match byte {
            b'\\' => row.extend_from_slice(b"\\\\"),
            b'\t' => row.extend_from_slice(b"\\t"),
            b'\n' => row.extend_from_slice(b"\\n"),
            b'\r' => row.extend_from_slice(b"\\r"),
            other => row.push(other),
        }
    }
}

/// The `COPY` text-format rows of a run of inserts.
fn copy_rows(
    resource: &str,
    batch: &str,
    recorded_at: i64,
    inserts: &[RecordWrite<'_>],
) -> Vec<u8> {
    // The fields every row of the run shares, escaped once: the resource before the key,
    // and the batch, time and batch again between the values and the row.
    let mut resource_field = Vec::new();
    copy_field(&mut resource_field, resource);
    let mut provenance = Vec::new();
    copy_field(&mut provenance, batch);
    provenance.extend_from_slice(format!("\t{recorded_at}\t").as_bytes());
    copy_field(&mut provenance, batch);
    let mut data = Vec::with_capacity(inserts.len() * 256);
    for write in inserts {
        let RecordWrite::Insert {
            key,
            subject,
            linked,
            values,
            row,
        } = write
        else {
            continue;
        };
        data.extend_from_slice(&resource_field);
        data.push(b'\t');
        copy_field(&mut data, key);
        data.push(b'\t');
        match subject {
            Some(subject) => copy_field(&mut data, subject),
            None => data.extend_from_slice(b"\\N"),
        }
        data.push(b'\t');
        data.push(if *linked { b'1' } else { b'0' });
        data.push(b'\t');
        copy_field(&mut data, values);
        data.push(b'\t');
        data.extend_from_slice(&provenance);
        data.extend_from_slice(format!("\t{row}\n").as_bytes());
    }
    data
}

/// Inserts a run of new records with `COPY`, which writes the heap many rows at a time
/// where `INSERT … SELECT` went a row at a time through the executor.
async fn copy_in(
    transaction: &mut Transaction,
    resource: &str,
    batch: &str,
    recorded_at: i64,
    inserts: &[RecordWrite<'_>],
) -> StorageResult<()> {
    let data = copy_rows(resource, batch, recorded_at, inserts);
    let mut copy = transaction
        .copy_in_raw(
            "COPY dataset_record (resource_code, record_key, subject, linked, record_values, batch_id, \
             recorded_at_us, seen_batch, seen_row) FROM STDIN",
        )
        .await
        .map_err(|error| storage_error("inserting records", error))?;
    copy.send(data)
        .await
        .map_err(|error| storage_error("inserting records", error))?;
    copy.finish()
        .await
        .map_err(|error| storage_error("inserting records", error))?;
    Ok(())
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
        let (sql, doing) = match run[0] {
            RecordWrite::Insert { .. } => {
                copy_in(transaction, resource, batch, recorded_at, run).await?;
                continue;
            }
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

#[cfg(test)]
mod tests {
    use super::copy_rows;
    use crate::dataset::RecordWrite;

    #[test]
    fn copy_rows_escape_what_would_end_a_field_or_a_row() {
        let writes = [
            RecordWrite::Insert {
                key: "k\t1",
                subject: None,
                linked: false,
                values: r#"["c\\d",null]"#.to_owned(),
                row: 2,
            },
            RecordWrite::Insert {
                key: "k\n2",
                subject: Some("s\r"),
                linked: true,
                values: "[]".to_owned(),
                row: 3,
            },
        ];
        let data = String::from_utf8(copy_rows("r/1", "b", 7, &writes)).unwrap();
        let first = [
            r"r/1",
            r"k\t1",
            r"\N",
            "0",
            r#"["c\\\\d",null]"#,
            "b",
            "7",
            "b",
            "2",
        ];
        let second = [r"r/1", r"k\n2", r"s\r", "1", "[]", "b", "7", "b", "3"];
        assert_eq!(
            data,
            format!("{}\n{}\n", first.join("\t"), second.join("\t"))
        );
    }
}
