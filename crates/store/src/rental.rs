//! Tenancies for both backends (`rental_store!`): a stay registered with its audit entry,
//! ended once with its own, listed per house.

use huimin_domain::identifiers::CitizenId;
use huimin_domain::rental::Tenancy;
use huimin_domain::storage::StorageError;

pub(crate) const TENANCY_COLUMNS: &str = "id, house_id, grid, tenant, tenant_name, moved_in, \
    registered_at_us, registered_by, moved_out, ended_at_us, ended_by";

fn day(column: &str, id: &str, text: &str) -> Result<chrono::NaiveDate, StorageError> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|error| crate::codec::corrupt(column, id, error))
}

/// The stored columns of a tenancy, as read.
pub(crate) struct TenancyRow {
    pub id: i64,
    pub house_id: String,
    pub grid: String,
    pub tenant: String,
    pub tenant_name: Option<String>,
    pub moved_in: String,
    pub registered_at_us: i64,
    pub registered_by: String,
    pub moved_out: Option<String>,
    pub ended_at_us: Option<i64>,
    pub ended_by: Option<String>,
}

pub(crate) fn decode_tenancy(row: TenancyRow) -> Result<Tenancy, StorageError> {
    let id = row.id.to_string();
    Ok(Tenancy {
        id: u64::try_from(row.id)
            .map_err(|error| crate::codec::corrupt("tenancy.id", &id, error))?,
        house_id: row.house_id,
        grid: row.grid,
        tenant: CitizenId::parse(&row.tenant)
            .map_err(|error| crate::codec::corrupt("tenancy.tenant", &id, error))?,
        tenant_name: row.tenant_name,
        moved_in: day("tenancy.moved_in", &id, &row.moved_in)?,
        registered_at: crate::codec::from_micros(row.registered_at_us)?,
        registered_by: row.registered_by,
        moved_out: row
            .moved_out
            .as_deref()
            .map(|text| day("tenancy.moved_out", &id, text))
            .transpose()?,
        ended_at: row.ended_at_us.map(crate::codec::from_micros).transpose()?,
        ended_by: row.ended_by,
    })
}

macro_rules! rental_store {
    ($store:ty, $database:ty, $row:ty) => {
        pub(crate) mod rental_queries {
            use super::audit_queries::append_in;
            use crate::codec::micros;
            use crate::rental::{TENANCY_COLUMNS, TenancyRow, decode_tenancy};
            use crate::storage_error;
            use async_trait::async_trait;
            use huimin_domain::audit::AuditEvent;
            use huimin_domain::rental::Tenancy;
            use huimin_domain::storage::{RentalStore, StorageResult};
            use sqlx::Row;

            type DatabaseRow = $row;

            fn get<'r, T>(row: &'r DatabaseRow, column: &str) -> StorageResult<T>
            where
                T: sqlx::Decode<'r, $database> + sqlx::Type<$database>,
            {
                row.try_get(column).map_err(|e| storage_error(column, e))
            }

            fn read_tenancy(row: &DatabaseRow) -> StorageResult<Tenancy> {
                decode_tenancy(TenancyRow {
                    id: get(row, "id")?,
                    house_id: get(row, "house_id")?,
                    grid: get(row, "grid")?,
                    tenant: get(row, "tenant")?,
                    tenant_name: get(row, "tenant_name")?,
                    moved_in: get(row, "moved_in")?,
                    registered_at_us: get(row, "registered_at_us")?,
                    registered_by: get(row, "registered_by")?,
                    moved_out: get(row, "moved_out")?,
                    ended_at_us: get(row, "ended_at_us")?,
                    ended_by: get(row, "ended_by")?,
                })
            }

            #[async_trait]
            impl RentalStore for $store {
                async fn register_tenancy(&self, tenancy: &Tenancy, audit: &AuditEvent) -> StorageResult<Option<u64>> {
                    let mut transaction = self.begin_write().await?;
                    // One current stay per tenant and house.
                    let current: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM tenancy WHERE house_id = $1 AND tenant = $2 AND moved_out IS NULL",
                    )
                    .bind(tenancy.house_id.as_str())
                    .bind(tenancy.tenant.as_str())
                    .fetch_one(&mut *transaction)
                    .await
                    .map_err(|e| storage_error("checking tenancies", e))?;
                    if current > 0 {
                        return Ok(None);
                    }
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO tenancy (house_id, grid, tenant, tenant_name, moved_in, registered_at_us, registered_by) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    )
                    .bind(tenancy.house_id.as_str())
                    .bind(tenancy.grid.as_str())
                    .bind(tenancy.tenant.as_str())
                    .bind(tenancy.tenant_name.as_deref())
                    .bind(tenancy.moved_in.to_string())
                    .bind(micros(tenancy.registered_at))
                    .bind(tenancy.registered_by.as_str())
                    .fetch_one(&mut *transaction)
                    .await
                    .map_err(|e| storage_error("registering a tenant", e))?;
                    let event = AuditEvent { object_id: id.to_string(), ..audit.clone() };
                    append_in(&mut transaction, std::slice::from_ref(&event), tenancy.registered_at).await?;
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    Ok(u64::try_from(id).ok())
                }

                async fn end_tenancy(
                    &self,
                    id: u64,
                    moved_out: chrono::NaiveDate,
                    by: &str,
                    at: chrono::DateTime<chrono::Utc>,
                    audit: &AuditEvent,
                ) -> StorageResult<bool> {
                    let Ok(id) = i64::try_from(id) else { return Ok(false) };
                    let mut transaction = self.begin_write().await?;
                    let ended = sqlx::query(
                        "UPDATE tenancy SET moved_out = $1, ended_at_us = $2, ended_by = $3 WHERE id = $4 AND moved_out IS NULL",
                    )
                    .bind(moved_out.to_string())
                    .bind(micros(at))
                    .bind(by)
                    .bind(id)
                    .execute(&mut *transaction)
                    .await
                    .map_err(|e| storage_error("ending a tenancy", e))?
                    .rows_affected();
                    if ended == 0 {
                        return Ok(false);
                    }
                    let event = AuditEvent { object_id: id.to_string(), ..audit.clone() };
                    append_in(&mut transaction, std::slice::from_ref(&event), at).await?;
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    Ok(true)
                }

                async fn tenancies(&self, house_id: &str) -> StorageResult<Vec<Tenancy>> {
                    let rows = sqlx::query(sql!(
                        "SELECT {TENANCY_COLUMNS} FROM tenancy WHERE house_id = $1 ORDER BY id DESC"
                    ))
                    .bind(house_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading tenancies", e))?;
                    rows.iter().map(read_tenancy).collect()
                }
            }
        }
    };
}

pub(crate) use rental_store;
