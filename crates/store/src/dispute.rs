//! Disputes of one datum, one source (一数一源), written once for both backends
//! (`dispute_store!`). They are opened by dataset loads (`dataset.rs` compares each
//! non-authoritative feed with the registry inside the chunk's transaction) and answered
//! by the authoritative department.

use huimin_domain::catalogue::{DepartmentId, RegistryField, ResourceCode, SubjectKind};
use huimin_domain::dispute::{Answer, Dispute, Resolution};
use huimin_domain::storage::{DisputeQuery, StorageError};

pub(crate) const DISPUTE_COLUMNS: &str = "id, field, subject, registry_value, source_value, source_resource, \
     source_department, batch_id, authority_resource, authority, opened_at_us, status, resolution, note, \
     answered_by, answered_at_us";

/// The registry table, key column and value column that hold `field`, for the subjects
/// of `subject`; `None` when the field is not compared or lives with another subject.
pub(crate) fn registry_column(
    field: RegistryField,
    subject: SubjectKind,
) -> Option<(&'static str, &'static str, &'static str)> {
    if !huimin_domain::dispute::is_compared(field) {
        return None;
    }
    let (kind, table, key, column) = match field {
        RegistryField::PersonName => (SubjectKind::Person, "person", "citizen_id", "name"),
        RegistryField::PersonHukouAddress => {
            (SubjectKind::Person, "person", "citizen_id", "hukou_address")
        }
        RegistryField::PersonResidenceAddress => (
            SubjectKind::Person,
            "person",
            "citizen_id",
            "residence_address",
        ),
        RegistryField::PersonPhone => (SubjectKind::Person, "person", "citizen_id", "phone"),
        RegistryField::EntityName => (SubjectKind::Entity, "legal_entity", "credit_code", "name"),
        RegistryField::EntityRegisteredAddress => (
            SubjectKind::Entity,
            "legal_entity",
            "credit_code",
            "registered_address",
        ),
        _ => return None,
    };
    (kind == subject).then_some((table, key, column))
}

/// A non-authoritative item of a resource being loaded, compared with the registry.
#[derive(Debug, Clone)]
pub(crate) struct ComparedFeed {
    /// The item's position among the resource's items.
    pub position: usize,
    pub field: RegistryField,
    pub table: &'static str,
    pub key: &'static str,
    pub column: &'static str,
    pub authority_resource: ResourceCode,
    pub authority: DepartmentId,
}

/// A dispute's columns as read, before they are checked.
pub(crate) struct DisputeRow {
    pub id: i64,
    pub field: String,
    pub subject: String,
    pub registry_value: Option<String>,
    pub source_value: String,
    pub source_resource: String,
    pub source_department: String,
    pub batch_id: String,
    pub authority_resource: String,
    pub authority: String,
    pub opened_at: chrono::DateTime<chrono::Utc>,
    pub resolution: Option<String>,
    pub note: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl DisputeRow {
    pub(crate) fn decode(self) -> Result<Dispute, StorageError> {
        let id = self.id.to_string();
        let corrupt = |column: &str| crate::codec::corrupt(column, &id, "not a known value");
        let department =
            |column: &str, text: &str| DepartmentId::parse(text).map_err(|_| corrupt(column));
        let resource =
            |column: &str, text: &str| ResourceCode::parse(text).map_err(|_| corrupt(column));
        let answer = match (self.resolution, self.answered_by, self.answered_at) {
            (Some(resolution), Some(by), Some(at)) => Some(Answer {
                resolution: Resolution::parse(&resolution)
                    .ok_or_else(|| corrupt("registry_dispute.resolution"))?,
                note: self.note.unwrap_or_default(),
                by,
                at,
            }),
            (None, None, None) => None,
            _ => return Err(corrupt("registry_dispute.answered_by")),
        };
        Ok(Dispute {
            id: u64::try_from(self.id).map_err(|_| corrupt("registry_dispute.id"))?,
            field: RegistryField::parse(&self.field)
                .ok_or_else(|| corrupt("registry_dispute.field"))?,
            subject: self.subject,
            registry_value: self.registry_value,
            source_value: self.source_value,
            source_resource: resource("registry_dispute.source_resource", &self.source_resource)?,
            source_department: department(
                "registry_dispute.source_department",
                &self.source_department,
            )?,
            batch_id: self.batch_id,
            authority_resource: resource(
                "registry_dispute.authority_resource",
                &self.authority_resource,
            )?,
            authority: department("registry_dispute.authority", &self.authority)?,
            opened_at: self.opened_at,
            answer,
        })
    }
}

/// The WHERE clause of a dispute query, with its bound values in order.
pub(crate) fn conditions(query: &DisputeQuery) -> (String, Vec<String>) {
    crate::filter::Filter::default()
        .equal(
            "authority",
            query.authority.as_ref().map(ToString::to_string),
        )
        .equal(
            "source_department",
            query.source_department.as_ref().map(ToString::to_string),
        )
        .equal("subject", query.subject.clone())
        .equal("field", query.field.map(|field| field.code().to_owned()))
        .equal(
            "status",
            query
                .open
                .map(|open| if open { "open" } else { "closed" }.to_owned()),
        )
        .equal("batch_id", query.batch_id.clone())
        .either(
            "authority",
            "source_department",
            query.party.as_ref().map(ToString::to_string),
        )
        .finish()
}

macro_rules! dispute_store {
    ($store:ty, $database:ty, $row:ty) => {
        pub(crate) mod dispute_queries {
            use super::audit_queries::append_in;
            use crate::codec::{from_micros, micros};
            use crate::dispute::{DISPUTE_COLUMNS, DisputeRow, conditions};
            use crate::storage_error;
            use async_trait::async_trait;
            use huimin_domain::audit::AuditEvent;
            use huimin_domain::dispute::{Answer, Dispute};
            use huimin_domain::storage::{DisputeQuery, DisputeStore, Page, PageRequest, StorageResult};
            use sqlx::Row;

            type DatabaseRow = $row;

            fn get<'r, T>(row: &'r DatabaseRow, column: &str) -> StorageResult<T>
            where
                T: sqlx::Decode<'r, $database> + sqlx::Type<$database>,
            {
                row.try_get(column).map_err(|e| storage_error(column, e))
            }

            pub(crate) fn read_dispute(row: &DatabaseRow) -> StorageResult<Dispute> {
                let answered_at: Option<i64> = get(row, "answered_at_us")?;
                DisputeRow {
                    id: get(row, "id")?,
                    field: get(row, "field")?,
                    subject: get(row, "subject")?,
                    registry_value: get(row, "registry_value")?,
                    source_value: get(row, "source_value")?,
                    source_resource: get(row, "source_resource")?,
                    source_department: get(row, "source_department")?,
                    batch_id: get(row, "batch_id")?,
                    authority_resource: get(row, "authority_resource")?,
                    authority: get(row, "authority")?,
                    opened_at: from_micros(get(row, "opened_at_us")?)?,
                    resolution: get(row, "resolution")?,
                    note: get(row, "note")?,
                    answered_by: get(row, "answered_by")?,
                    answered_at: answered_at.map(from_micros).transpose()?,
                }
                .decode()
            }

            #[async_trait]
            impl DisputeStore for $store {
                async fn dispute(&self, id: u64) -> StorageResult<Option<Dispute>> {
                    let Ok(id) = i64::try_from(id) else { return Ok(None) };
                    let row = sqlx::query(sql!("SELECT {DISPUTE_COLUMNS} FROM registry_dispute WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(|e| storage_error("reading a dispute", e))?;
                    row.as_ref().map(read_dispute).transpose()
                }

                async fn disputes(&self, query: &DisputeQuery, page: PageRequest) -> StorageResult<Page<Dispute>> {
                    let (filter, values) = conditions(query);
                    let mut count = sqlx::query_scalar::<_, i64>(sql!("SELECT COUNT(*) FROM registry_dispute {filter}"));
                    for value in &values {
                        count = count.bind(value.as_str());
                    }
                    let total = count.fetch_one(&self.pool).await.map_err(|e| storage_error("counting disputes", e))?;
                    let mut select = sqlx::query(sql!(
                        "SELECT {DISPUTE_COLUMNS} FROM registry_dispute {filter} ORDER BY id DESC LIMIT {} OFFSET {}",
                        page.per_page,
                        page.offset()
                    ));
                    for value in &values {
                        select = select.bind(value.as_str());
                    }
                    let rows = select.fetch_all(&self.pool).await.map_err(|e| storage_error("listing disputes", e))?;
                    Ok(Page {
                        items: rows.iter().map(read_dispute).collect::<StorageResult<Vec<_>>>()?,
                        total: u64::try_from(total).unwrap_or(0),
                        page: page.page,
                        per_page: page.per_page,
                    })
                }

                async fn answer_dispute(&self, id: u64, answer: &Answer, audit: &AuditEvent) -> StorageResult<bool> {
                    let Ok(id) = i64::try_from(id) else { return Ok(false) };
                    let mut transaction = self.begin_write().await?;
                    let changed = sqlx::query(
                        "UPDATE registry_dispute SET status = 'closed', resolution = $1, note = $2, answered_by = $3, \
                         answered_at_us = $4 WHERE id = $5 AND status = 'open'",
                    )
                    .bind(answer.resolution.code())
                    .bind(answer.note.as_str())
                    .bind(answer.by.as_str())
                    .bind(micros(answer.at))
                    .bind(id)
                    .execute(&mut *transaction)
                    .await
                    .map_err(|e| storage_error("answering a dispute", e))?
                    .rows_affected();
                    if changed == 0 {
                        return Ok(false);
                    }
                    append_in(&mut transaction, std::slice::from_ref(audit), answer.at).await?;
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    Ok(true)
                }
            }
        }
    };
}

pub(crate) use dispute_store;
