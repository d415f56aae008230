//! Sharing requests and grants, written once for both backends (`sharing_store!`). A
//! request row holds its terms and its current status; each change of status is a
//! conditional update (`WHERE status = from`), so two providers deciding at once cannot
//! both win, and appends its audit entry in the same transaction.

use huimin_domain::catalogue::{DepartmentId, ResourceCode};
use huimin_domain::sharing::{RequestTerms, SharingRequest, Status};
use huimin_domain::storage::{SharingQuery, StorageError};

pub(crate) const REQUEST_COLUMNS: &str = "id, consumer, provider, resource_code, resource_version, items, purpose, \
     legal_basis, valid_until, rate_per_minute, retention, requested_at_us, requested_by, status, deadline, \
     reason, decided_at_us, decided_by";

/// A consumer's granted requests for a resource (`$1` the consumer, `$2` the resource).
pub(crate) static GRANTS_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {REQUEST_COLUMNS} FROM sharing_request \
         WHERE consumer = $1 AND resource_code = $2 AND status = 'granted' ORDER BY id DESC"
    )
});

/// An exchange call's reads as separate queries (PostgreSQL, and SQLite in memory).
pub(crate) async fn exchange_by_queries<S>(
    store: &S,
    consumer: &DepartmentId,
    code: &ResourceCode,
    subjects: &[String],
) -> Result<Option<huimin_domain::sharing::ExchangeRead>, StorageError>
where
    S: huimin_domain::storage::CatalogueStore
        + huimin_domain::storage::SharingStore
        + huimin_domain::storage::DatasetStore,
{
    let Some(resource) =
        huimin_domain::storage::CatalogueStore::resource(store, code, None).await?
    else {
        return Ok(None);
    };
    let grants = huimin_domain::storage::SharingStore::grants(store, consumer, code).await?;
    let mut records = Vec::with_capacity(subjects.len());
    for subject in subjects {
        records.push(
            huimin_domain::storage::DatasetStore::subject_records(store, code, subject).await?,
        );
    }
    Ok(Some(huimin_domain::sharing::ExchangeRead {
        resource,
        grants,
        records,
    }))
}

/// A request's columns as read, before they are checked.
pub(crate) struct RequestRow {
    pub id: i64,
    pub consumer: String,
    pub provider: String,
    pub resource_code: String,
    pub resource_version: i64,
    pub items: String,
    pub purpose: String,
    pub legal_basis: String,
    pub valid_until: String,
    pub rate_per_minute: i64,
    pub retention: String,
    pub requested_at: chrono::DateTime<chrono::Utc>,
    pub requested_by: String,
    pub status: String,
    pub deadline: Option<String>,
    pub reason: String,
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
    pub decided_by: Option<String>,
}

fn date(column: &str, id: &str, text: &str) -> Result<chrono::NaiveDate, StorageError> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|error| crate::codec::corrupt(column, id, error))
}

impl RequestRow {
    pub(crate) fn decode(self) -> Result<SharingRequest, StorageError> {
        let id = self.id.to_string();
        let corrupt = |column: &str, why: &str| crate::codec::corrupt(column, &id, why);
        let deadline = self
            .deadline
            .as_deref()
            .map(|text| date("sharing_request.deadline", &id, text))
            .transpose()?;
        Ok(SharingRequest {
            id: u64::try_from(self.id).map_err(|_| corrupt("sharing_request.id", "negative"))?,
            terms: RequestTerms {
                consumer: DepartmentId::parse(&self.consumer)
                    .map_err(|_| corrupt("sharing_request.consumer", "not a department id"))?,
                resource: ResourceCode::parse(&self.resource_code)
                    .map_err(|_| corrupt("sharing_request.resource_code", "not a resource code"))?,
                items: self.items.lines().map(str::to_owned).collect(),
                purpose: self.purpose,
                legal_basis: self.legal_basis,
                valid_until: date("sharing_request.valid_until", &id, &self.valid_until)?,
                rate_per_minute: u32::try_from(self.rate_per_minute)
                    .map_err(|_| corrupt("sharing_request.rate_per_minute", "out of range"))?,
                retention: self.retention,
            },
            provider: DepartmentId::parse(&self.provider)
                .map_err(|_| corrupt("sharing_request.provider", "not a department id"))?,
            resource_version: u32::try_from(self.resource_version)
                .map_err(|_| corrupt("sharing_request.resource_version", "out of range"))?,
            requested_at: self.requested_at,
            requested_by: self.requested_by,
            status: Status::from_parts(&self.status, deadline, &self.reason).ok_or_else(|| {
                corrupt(
                    "sharing_request.status",
                    "not a status (or pending without a deadline)",
                )
            })?,
            decided_at: self.decided_at,
            decided_by: self.decided_by,
        })
    }
}

/// The WHERE clause of a request query, with its bound values in order.
pub(crate) fn conditions(query: &SharingQuery) -> (String, Vec<String>) {
    crate::filter::Filter::default()
        .equal("consumer", query.consumer.as_ref().map(ToString::to_string))
        .equal("provider", query.provider.as_ref().map(ToString::to_string))
        .equal(
            "resource_code",
            query.resource.as_ref().map(|code| code.as_str().to_owned()),
        )
        .equal("status", query.status.clone())
        .either(
            "consumer",
            "provider",
            query.party.as_ref().map(ToString::to_string),
        )
        .finish()
}

macro_rules! sharing_store {
    ($store:ty, $database:ty, $row:ty) => {
        pub(crate) mod sharing_queries {
            use super::audit_queries::append_in;
            use crate::codec::{from_micros, micros};
            use crate::sharing::{REQUEST_COLUMNS, RequestRow, conditions};
            use crate::storage_error;
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use huimin_domain::audit::AuditEvent;
            use huimin_domain::catalogue::{DepartmentId, ResourceCode};
            use huimin_domain::sharing::{SharingRequest, Status};
            use huimin_domain::storage::{Page, PageRequest, SharingQuery, SharingStore, StorageResult};
            use sqlx::Row;

            type DatabaseRow = $row;

            fn get<'r, T>(row: &'r DatabaseRow, column: &str) -> StorageResult<T>
            where
                T: sqlx::Decode<'r, $database> + sqlx::Type<$database>,
            {
                row.try_get(column).map_err(|e| storage_error(column, e))
            }

            fn read_request(row: &DatabaseRow) -> StorageResult<SharingRequest> {
                let decided_at: Option<i64> = get(row, "decided_at_us")?;
                RequestRow {
                    id: get(row, "id")?,
                    consumer: get(row, "consumer")?,
                    provider: get(row, "provider")?,
                    resource_code: get(row, "resource_code")?,
                    resource_version: get(row, "resource_version")?,
                    items: get(row, "items")?,
                    purpose: get(row, "purpose")?,
                    legal_basis: get(row, "legal_basis")?,
                    valid_until: get(row, "valid_until")?,
                    rate_per_minute: get(row, "rate_per_minute")?,
                    retention: get(row, "retention")?,
                    requested_at: from_micros(get(row, "requested_at_us")?)?,
                    requested_by: get(row, "requested_by")?,
                    status: get(row, "status")?,
                    deadline: get(row, "deadline")?,
                    reason: get(row, "reason")?,
                    decided_at: decided_at.map(from_micros).transpose()?,
                    decided_by: get(row, "decided_by")?,
                }
                .decode()
            }

            fn deadline(status: &Status) -> Option<String> {
                match status {
                    Status::Pending { deadline } => Some(deadline.to_string()),
                    _ => None,
                }
            }

            #[async_trait]
            impl SharingStore for $store {
                async fn create_sharing_request(&self, request: &SharingRequest, audit: &AuditEvent) -> StorageResult<u64> {
                    let mut transaction = self.begin_write().await?;
                    let decided = !matches!(request.status, Status::Pending { .. });
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO sharing_request (consumer, provider, resource_code, resource_version, items, purpose, \
                         legal_basis, valid_until, rate_per_minute, retention, requested_at_us, requested_by, status, \
                         deadline, reason, decided_at_us, decided_by) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
                    )
                    .bind(request.terms.consumer.as_str())
                    .bind(request.provider.as_str())
                    .bind(request.terms.resource.as_str())
                    .bind(i64::from(request.resource_version))
                    .bind(request.terms.items.join("\n"))
                    .bind(request.terms.purpose.as_str())
                    .bind(request.terms.legal_basis.as_str())
                    .bind(request.terms.valid_until.to_string())
                    .bind(i64::from(request.terms.rate_per_minute))
                    .bind(request.terms.retention.as_str())
                    .bind(micros(request.requested_at))
                    .bind(request.requested_by.as_str())
                    .bind(request.status.code())
                    .bind(deadline(&request.status))
                    .bind(request.status.reason())
                    .bind(decided.then(|| micros(request.requested_at)))
                    .bind(decided.then_some("system"))
                    .fetch_one(&mut *transaction)
                    .await
                    .map_err(|e| storage_error("writing a sharing request", e))?;
                    let event = AuditEvent { object_id: id.to_string(), ..audit.clone() };
                    append_in(&mut transaction, std::slice::from_ref(&event), request.requested_at).await?;
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    Ok(u64::try_from(id).unwrap_or(0))
                }

                async fn sharing_request(&self, id: u64) -> StorageResult<Option<SharingRequest>> {
                    let Ok(id) = i64::try_from(id) else { return Ok(None) };
                    let row = sqlx::query(sql!("SELECT {REQUEST_COLUMNS} FROM sharing_request WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(|e| storage_error("reading a sharing request", e))?;
                    row.as_ref().map(read_request).transpose()
                }

                async fn set_sharing_status(
                    &self,
                    id: u64,
                    from: &str,
                    to: &Status,
                    by: &str,
                    at: DateTime<Utc>,
                    audit: &AuditEvent,
                ) -> StorageResult<bool> {
                    let Ok(id) = i64::try_from(id) else { return Ok(false) };
                    let mut transaction = self.begin_write().await?;
                    let changed = sqlx::query(
                        "UPDATE sharing_request SET status = $1, deadline = $2, reason = $3, decided_at_us = $4, \
                         decided_by = $5 WHERE id = $6 AND status = $7",
                    )
                    .bind(to.code())
                    .bind(deadline(to))
                    .bind(to.reason())
                    .bind(micros(at))
                    .bind(by)
                    .bind(id)
                    .bind(from)
                    .execute(&mut *transaction)
                    .await
                    .map_err(|e| storage_error("deciding a sharing request", e))?
                    .rows_affected();
                    if changed == 0 {
                        return Ok(false);
                    }
                    append_in(&mut transaction, std::slice::from_ref(audit), at).await?;
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    Ok(true)
                }

                async fn sharing_requests(&self, query: &SharingQuery, page: PageRequest) -> StorageResult<Page<SharingRequest>> {
                    let (filter, values) = conditions(query);
                    let mut count = sqlx::query_scalar::<_, i64>(sql!("SELECT COUNT(*) FROM sharing_request {filter}"));
                    for value in &values {
                        count = count.bind(value.as_str());
                    }
                    let total = count.fetch_one(&self.pool).await.map_err(|e| storage_error("counting sharing requests", e))?;
                    let mut select = sqlx::query(sql!(
                        "SELECT {REQUEST_COLUMNS} FROM sharing_request {filter} ORDER BY id DESC LIMIT {} OFFSET {}",
                        page.per_page,
                        page.offset()
                    ));
                    for value in &values {
                        select = select.bind(value.as_str());
                    }
                    let rows = select.fetch_all(&self.pool).await.map_err(|e| storage_error("listing sharing requests", e))?;
                    Ok(Page {
                        items: rows.iter().map(read_request).collect::<StorageResult<Vec<_>>>()?,
                        total: u64::try_from(total).unwrap_or(0),
                        page: page.page,
                        per_page: page.per_page,
                    })
                }

                async fn grants(&self, consumer: &DepartmentId, resource: &ResourceCode) -> StorageResult<Vec<SharingRequest>> {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(crate::sharing::GRANTS_SQL.as_str()))
                    .bind(consumer.as_str())
                    .bind(resource.as_str())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading grants", e))?;
                    rows.iter().map(read_request).collect()
                }

                async fn exchange_read(
                    &self,
                    consumer: &DepartmentId,
                    resource: &ResourceCode,
                    subjects: &[String],
                ) -> StorageResult<Option<huimin_domain::sharing::ExchangeRead>> {
                    super::read_exchange(self, consumer, resource, subjects).await
                }
            }
        }
    };
}

pub(crate) use sharing_store;
