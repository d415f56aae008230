//! Patrol visits for both backends (`patrol_store!`): appended with their audit entry,
//! read back per grid since a day.

use huimin_domain::case::patrol::{PatrolKind, Visit};
use huimin_domain::registry::GeoPoint;
use huimin_domain::storage::StorageError;

pub(crate) const VISIT_COLUMNS: &str =
    "id, grid, kind, object_id, worker, at_us, longitude, latitude, note, case_id";

#[allow(clippy::too_many_arguments)]
pub(crate) fn decode_visit(
    id: i64,
    grid: String,
    kind: &str,
    object_id: String,
    worker: String,
    at_us: i64,
    (longitude, latitude): (f64, f64),
    note: String,
    case_id: Option<i64>,
) -> Result<Visit, StorageError> {
    let object = id.to_string();
    Ok(Visit {
        id: u64::try_from(id)
            .map_err(|error| crate::codec::corrupt("patrol_visit.id", &object, error))?,
        grid,
        kind: PatrolKind::parse(kind).ok_or_else(|| {
            crate::codec::corrupt("patrol_visit.kind", &object, "not a patrol kind")
        })?,
        object_id,
        worker,
        at: crate::codec::from_micros(at_us)?,
        location: GeoPoint {
            longitude,
            latitude,
        },
        note,
        case_id: case_id.and_then(|id| u64::try_from(id).ok()),
    })
}

macro_rules! patrol_store {
    ($store:ty, $database:ty, $row:ty) => {
        pub(crate) mod patrol_queries {
            use super::audit_queries::append_in;
            use crate::codec::micros;
            use crate::patrol::{VISIT_COLUMNS, decode_visit};
            use crate::storage_error;
            use async_trait::async_trait;
            use huimin_domain::audit::AuditEvent;
            use huimin_domain::case::patrol::Visit;
            use huimin_domain::storage::{PatrolStore, StorageResult};
            use sqlx::Row;

            type DatabaseRow = $row;

            fn get<'r, T>(row: &'r DatabaseRow, column: &str) -> StorageResult<T>
            where
                T: sqlx::Decode<'r, $database> + sqlx::Type<$database>,
            {
                row.try_get(column).map_err(|e| storage_error(column, e))
            }

            #[async_trait]
            impl PatrolStore for $store {
                async fn record_visit(&self, visit: &Visit, audit: &AuditEvent) -> StorageResult<u64> {
                    let mut transaction = self.begin_write().await?;
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO patrol_visit (grid, kind, object_id, worker, at_us, longitude, latitude, note, case_id) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                    )
                    .bind(visit.grid.as_str())
                    .bind(visit.kind.code())
                    .bind(visit.object_id.as_str())
                    .bind(visit.worker.as_str())
                    .bind(micros(visit.at))
                    .bind(visit.location.longitude)
                    .bind(visit.location.latitude)
                    .bind(visit.note.as_str())
                    .bind(visit.case_id.and_then(|id| i64::try_from(id).ok()))
                    .fetch_one(&mut *transaction)
                    .await
                    .map_err(|e| storage_error("recording a visit", e))?;
                    let event = AuditEvent { object_id: id.to_string(), ..audit.clone() };
                    append_in(&mut transaction, std::slice::from_ref(&event), visit.at).await?;
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    Ok(u64::try_from(id).unwrap_or(0))
                }

                async fn visits(&self, grid: &str, since: chrono::DateTime<chrono::Utc>) -> StorageResult<Vec<Visit>> {
                    let rows = sqlx::query(sql!(
                        "SELECT {VISIT_COLUMNS} FROM patrol_visit WHERE grid = $1 AND at_us >= $2 ORDER BY at_us DESC, id DESC"
                    ))
                    .bind(grid)
                    .bind(micros(since))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading visits", e))?;
                    rows.iter()
                        .map(|row| {
                            decode_visit(
                                get(row, "id")?,
                                get(row, "grid")?,
                                &get::<String>(row, "kind")?,
                                get(row, "object_id")?,
                                get(row, "worker")?,
                                get(row, "at_us")?,
                                (get(row, "longitude")?, get(row, "latitude")?),
                                get(row, "note")?,
                                get(row, "case_id")?,
                            )
                        })
                        .collect()
                }
            }
        }
    };
}

pub(crate) use patrol_store;
