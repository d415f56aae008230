//! The information-resource catalogue, written once for both backends (`catalogue_store!`,
//! like `oidc_store!`). A version is kept whole as the resource's draft in JSON and
//! validated again when read, so what comes back has passed the domain's rules.

use huimin_domain::catalogue::{
    Department, DepartmentDraft, PublishedResource, ResourceDraft, ResourceQuery,
};
use huimin_domain::storage::StorageError;

pub(crate) const DEPARTMENT_COLUMNS: &str = "id, name, credit_code, systems";

/// The current version of one resource.
pub(crate) const CURRENT_RESOURCE_SQL: &str = "SELECT v.code, v.version, v.body, v.published_at_us, v.published_by \
     FROM catalogue_resource r JOIN catalogue_resource_version v ON v.code = r.code AND v.version = r.current_version \
     WHERE r.code = $1";

pub(crate) fn encode_resource(draft: &ResourceDraft) -> Result<String, StorageError> {
    serde_json::to_string(draft)
        .map_err(|error| StorageError::new(format!("encoding a resource: {error}")))
}

/// A stored version back into a resource; a body that no longer validates was changed
/// behind Huimin's back (or by a rule change) and is reported, naming the resource.
pub(crate) fn decode_resource(
    code: &str,
    version: i64,
    body: &str,
    published_at: chrono::DateTime<chrono::Utc>,
    published_by: String,
) -> Result<PublishedResource, StorageError> {
    let draft: ResourceDraft = serde_json::from_str(body)
        .map_err(|error| crate::codec::corrupt("catalogue_resource_version.body", code, error))?;
    let resource = draft.validate().map_err(|errors| {
        let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
        crate::codec::corrupt("catalogue_resource_version.body", code, listed.join("; "))
    })?;
    Ok(PublishedResource {
        resource,
        version: u32::try_from(version).map_err(|error| {
            crate::codec::corrupt("catalogue_resource_version.version", code, error)
        })?,
        published_at,
        published_by,
    })
}

pub(crate) fn decode_department(
    id: String,
    name: String,
    credit_code: String,
    systems: &str,
) -> Result<Department, StorageError> {
    DepartmentDraft {
        id: id.clone(),
        name,
        credit_code,
        systems: systems.lines().map(str::to_owned).collect(),
    }
    .validate()
    .map_err(|errors| {
        let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
        crate::codec::corrupt("department", &id, listed.join("; "))
    })
}

/// A query's words as `LIKE` patterns.
pub(crate) fn like_patterns(query: &ResourceQuery) -> Vec<String> {
    query
        .words()
        .iter()
        .map(|word| like_pattern(word))
        .collect()
}

/// `%word%`, with `%`, `_` and `\` escaped (for `LIKE … ESCAPE '\'`).
pub(crate) fn like_pattern(word: &str) -> String {
    let mut pattern = String::from("%");
    for character in word.chars() {
        if matches!(character, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(character);
    }
    pattern.push('%');
    pattern
}

macro_rules! catalogue_store {
    ($store:ty, $database:ty, $row:ty) => {
        pub(crate) mod catalogue_queries {
            use super::audit_queries::append_in;
            use crate::audit::audited;
            use crate::catalogue::{DEPARTMENT_COLUMNS, decode_department, decode_resource, encode_resource, like_patterns};
            use crate::codec::{from_micros, micros};
            use crate::storage_error;
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use huimin_domain::audit::AuditEvent;
            use huimin_domain::catalogue::{
                Department, DepartmentId, Publication, PublishedResource, RegistryField, Resource,
                ResourceCode, ResourceQuery, ResourceSummary, SharingType, SubjectKind,
            };
            use huimin_domain::storage::{CatalogueStore, Page, PageRequest, StorageError, StorageResult};
            use sqlx::Row;

            type DatabaseRow = $row;

            fn get<'r, T>(row: &'r DatabaseRow, column: &str) -> StorageResult<T>
            where
                T: sqlx::Decode<'r, $database> + sqlx::Type<$database>,
            {
                row.try_get(column).map_err(|e| storage_error(column, e))
            }

            fn read_department(row: &DatabaseRow) -> StorageResult<Department> {
                let systems: String = get(row, "systems")?;
                decode_department(get(row, "id")?, get(row, "name")?, get(row, "credit_code")?, &systems)
            }

            fn read_version(row: &DatabaseRow) -> StorageResult<PublishedResource> {
                let code: String = get(row, "code")?;
                let body: String = get(row, "body")?;
                decode_resource(
                    &code,
                    get(row, "version")?,
                    &body,
                    from_micros(get(row, "published_at_us")?)?,
                    get(row, "published_by")?,
                )
            }

            /// The WHERE clause of a resource query, with its bound values in order.
            fn conditions(query: &ResourceQuery) -> (String, Vec<String>) {
                let mut clauses = Vec::new();
                let mut values = Vec::new();
                for pattern in like_patterns(query) {
                    values.push(pattern);
                    clauses.push(format!("r.search_text LIKE ${} ESCAPE '\\'", values.len()));
                }
                if let Some(provider) = &query.provider {
                    values.push(provider.to_string());
                    clauses.push(format!("r.provider = ${}", values.len()));
                }
                if let Some(sharing) = query.sharing {
                    values.push(sharing.code().to_owned());
                    clauses.push(format!("r.sharing = ${}", values.len()));
                }
                if let Some(subject) = query.subject {
                    values.push(subject.code().to_owned());
                    clauses.push(format!("r.subject = ${}", values.len()));
                }
                if clauses.is_empty() {
                    (String::new(), values)
                } else {
                    (format!("WHERE {}", clauses.join(" AND ")), values)
                }
            }

            fn corrupt(column: &str, value: &str) -> StorageError {
                crate::codec::corrupt(column, value, "not a known code")
            }

            #[async_trait]
            impl CatalogueStore for $store {
                async fn put_department(&self, department: &Department, audit: &AuditEvent, now: DateTime<Utc>) -> StorageResult<bool> {
                    Ok(audited!(self, audit, now, |transaction| {
                        let existing: Option<String> = sqlx::query_scalar("SELECT id FROM department WHERE id = $1")
                            .bind(department.id.as_str())
                            .fetch_optional(&mut *transaction)
                            .await
                            .map_err(|e| storage_error("looking up a department", e))?;
                        sqlx::query(sql!(
                            "INSERT INTO department ({DEPARTMENT_COLUMNS}, updated_at_us) VALUES ($1, $2, $3, $4, $5) \
                             ON CONFLICT (id) DO UPDATE SET name = excluded.name, credit_code = excluded.credit_code, \
                             systems = excluded.systems, updated_at_us = excluded.updated_at_us"
                        ))
                        .bind(department.id.as_str())
                        .bind(department.name.as_str())
                        .bind(department.credit_code.as_str())
                        .bind(department.systems.join("\n"))
                        .bind(micros(now))
                        .execute(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("writing a department", e))?;
                        existing.is_none()
                    }))
                }

                async fn department(&self, id: &DepartmentId) -> StorageResult<Option<Department>> {
                    let row = sqlx::query(sql!("SELECT {DEPARTMENT_COLUMNS} FROM department WHERE id = $1"))
                        .bind(id.as_str())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(|e| storage_error("reading a department", e))?;
                    row.as_ref().map(read_department).transpose()
                }

                async fn departments(&self) -> StorageResult<Vec<Department>> {
                    let rows = sqlx::query(sql!("SELECT {DEPARTMENT_COLUMNS} FROM department"))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(|e| storage_error("reading departments", e))?;
                    let mut departments = rows.iter().map(read_department).collect::<StorageResult<Vec<_>>>()?;
                    departments.sort_by_cached_key(|department| {
                        (huimin_domain::search::pinyin_full(&department.name), department.id.clone())
                    });
                    Ok(departments)
                }

                async fn publish_resource(&self, resource: &Resource, audit: &AuditEvent, now: DateTime<Utc>) -> StorageResult<Publication> {
                    let draft = resource.to_draft();
                    let body = encode_resource(&draft)?;
                    Ok(audited!(self, audit, now, |transaction| {
                        let provider_name: Option<String> = sqlx::query_scalar("SELECT name FROM department WHERE id = $1")
                            .bind(resource.provider.as_str())
                            .fetch_optional(&mut *transaction)
                            .await
                            .map_err(|e| storage_error("looking up the provider", e))?;
                        let Some(provider_name) = provider_name else {
                            return Ok(Publication::UnknownProvider);
                        };
                        let current = sqlx::query(
                            "SELECT r.provider, r.current_version, v.body FROM catalogue_resource r \
                             JOIN catalogue_resource_version v ON v.code = r.code AND v.version = r.current_version \
                             WHERE r.code = $1",
                        )
                        .bind(resource.code.as_str())
                        .fetch_optional(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("reading the current version", e))?;
                        let version = match &current {
                            None => 1,
                            Some(row) => {
                                let provider: String = get(row, "provider")?;
                                if provider != resource.provider.as_str() {
                                    let provider = DepartmentId::parse(&provider)
                                        .map_err(|_| corrupt("catalogue_resource.provider", &provider))?;
                                    return Ok(Publication::ProvidedByAnother { provider });
                                }
                                let version: i64 = get(row, "current_version")?;
                                let stored: String = get(row, "body")?;
                                let unchanged = serde_json::from_str::<huimin_domain::catalogue::ResourceDraft>(&stored)
                                    .is_ok_and(|stored| stored == draft);
                                let version = u32::try_from(version).map_err(|_| corrupt("catalogue_resource.current_version", &version.to_string()))?;
                                if unchanged {
                                    return Ok(Publication::Unchanged { version });
                                }
                                version + 1
                            }
                        };
                        sqlx::query(
                            "INSERT INTO catalogue_resource (code, provider, current_version, name, sharing, subject, search_text, published_at_us) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                             ON CONFLICT (code) DO UPDATE SET current_version = excluded.current_version, name = excluded.name, \
                             sharing = excluded.sharing, subject = excluded.subject, search_text = excluded.search_text, \
                             published_at_us = excluded.published_at_us",
                        )
                        .bind(resource.code.as_str())
                        .bind(resource.provider.as_str())
                        .bind(i64::from(version))
                        .bind(resource.name.as_str())
                        .bind(resource.sharing.kind().code())
                        .bind(resource.subject.code())
                        .bind(resource.search_text(&provider_name))
                        .bind(micros(now))
                        .execute(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("writing a resource", e))?;
                        sqlx::query(
                            "INSERT INTO catalogue_resource_version (code, version, body, published_at_us, published_by) \
                             VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(resource.code.as_str())
                        .bind(i64::from(version))
                        .bind(body.as_str())
                        .bind(micros(now))
                        .bind(audit.actor.as_str())
                        .execute(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("writing a resource version", e))?;
                        sqlx::query("DELETE FROM registry_field_source WHERE resource_code = $1")
                            .bind(resource.code.as_str())
                            .execute(&mut *transaction)
                            .await
                            .map_err(|e| storage_error("releasing authoritative fields", e))?;
                        for field in resource.authoritative_fields() {
                            let holder: Option<String> =
                                sqlx::query_scalar("SELECT resource_code FROM registry_field_source WHERE registry_field = $1")
                                    .bind(field.code())
                                    .fetch_optional(&mut *transaction)
                                    .await
                                    .map_err(|e| storage_error("looking up an authoritative source", e))?;
                            if let Some(holder) = holder {
                                let resource = ResourceCode::parse(&holder)
                                    .map_err(|_| corrupt("registry_field_source.resource_code", &holder))?;
                                return Ok(Publication::AuthorityTaken { field, resource });
                            }
                            sqlx::query("INSERT INTO registry_field_source (registry_field, resource_code) VALUES ($1, $2)")
                                .bind(field.code())
                                .bind(resource.code.as_str())
                                .execute(&mut *transaction)
                                .await
                                .map_err(|e| storage_error("claiming an authoritative field", e))?;
                        }
                        Publication::Published { version }
                    }))
                }

                async fn resource(&self, code: &ResourceCode, version: Option<u32>) -> StorageResult<Option<PublishedResource>> {
                    let row = match version {
                        Some(version) => sqlx::query(
                            "SELECT code, version, body, published_at_us, published_by FROM catalogue_resource_version \
                             WHERE code = $1 AND version = $2",
                        )
                        .bind(code.as_str())
                        .bind(i64::from(version))
                        .fetch_optional(&self.pool)
                        .await,
                        None => sqlx::query(crate::catalogue::CURRENT_RESOURCE_SQL)
                        .bind(code.as_str())
                        .fetch_optional(&self.pool)
                        .await,
                    }
                    .map_err(|e| storage_error("reading a resource", e))?;
                    row.as_ref().map(read_version).transpose()
                }

                async fn resource_versions(&self, code: &ResourceCode) -> StorageResult<Vec<PublishedResource>> {
                    let rows = sqlx::query(
                        "SELECT code, version, body, published_at_us, published_by FROM catalogue_resource_version \
                         WHERE code = $1 ORDER BY version DESC",
                    )
                    .bind(code.as_str())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading resource versions", e))?;
                    rows.iter().map(read_version).collect()
                }

                async fn resources(&self, query: &ResourceQuery, page: PageRequest) -> StorageResult<Page<ResourceSummary>> {
                    let (filter, values) = conditions(query);
                    let mut count = sqlx::query_scalar::<_, i64>(sql!("SELECT COUNT(*) FROM catalogue_resource r {filter}"));
                    for value in &values {
                        count = count.bind(value.as_str());
                    }
                    let total = count.fetch_one(&self.pool).await.map_err(|e| storage_error("counting resources", e))?;
                    let mut select = sqlx::query(sql!(
                        "SELECT r.code, r.name, r.provider, d.name AS provider_name, r.sharing, r.subject, \
                         r.current_version, r.published_at_us \
                         FROM catalogue_resource r JOIN department d ON d.id = r.provider {filter} \
                         ORDER BY r.code LIMIT {} OFFSET {}",
                        page.per_page,
                        page.offset()
                    ));
                    for value in &values {
                        select = select.bind(value.as_str());
                    }
                    let rows = select.fetch_all(&self.pool).await.map_err(|e| storage_error("listing resources", e))?;
                    let items = rows
                        .iter()
                        .map(|row| {
                            let code: String = get(row, "code")?;
                            let provider: String = get(row, "provider")?;
                            let sharing: String = get(row, "sharing")?;
                            let subject: String = get(row, "subject")?;
                            let version: i64 = get(row, "current_version")?;
                            Ok(ResourceSummary {
                                code: ResourceCode::parse(&code).map_err(|_| corrupt("catalogue_resource.code", &code))?,
                                name: get(row, "name")?,
                                provider: DepartmentId::parse(&provider).map_err(|_| corrupt("catalogue_resource.provider", &provider))?,
                                provider_name: get(row, "provider_name")?,
                                sharing: SharingType::parse(&sharing).ok_or_else(|| corrupt("catalogue_resource.sharing", &sharing))?,
                                subject: SubjectKind::parse(&subject).ok_or_else(|| corrupt("catalogue_resource.subject", &subject))?,
                                version: u32::try_from(version).map_err(|_| corrupt("catalogue_resource.current_version", &code))?,
                                published_at: from_micros(get(row, "published_at_us")?)?,
                            })
                        })
                        .collect::<StorageResult<Vec<_>>>()?;
                    Ok(Page {
                        items,
                        total: u64::try_from(total).unwrap_or(0),
                        page: page.page,
                        per_page: page.per_page,
                    })
                }

                async fn all_resources(&self) -> StorageResult<Vec<PublishedResource>> {
                    let rows = sqlx::query(
                        "SELECT v.code, v.version, v.body, v.published_at_us, v.published_by FROM catalogue_resource r \
                         JOIN catalogue_resource_version v ON v.code = r.code AND v.version = r.current_version \
                         ORDER BY r.code",
                    )
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading the catalogue", e))?;
                    rows.iter().map(read_version).collect()
                }

                async fn authoritative_sources(&self) -> StorageResult<Vec<(RegistryField, ResourceCode)>> {
                    let rows = sqlx::query("SELECT registry_field, resource_code FROM registry_field_source ORDER BY registry_field")
                        .fetch_all(&self.pool)
                        .await
                        .map_err(|e| storage_error("reading authoritative sources", e))?;
                    rows.iter()
                        .map(|row| {
                            let field: String = get(row, "registry_field")?;
                            let code: String = get(row, "resource_code")?;
                            Ok((
                                RegistryField::parse(&field).ok_or_else(|| corrupt("registry_field_source.registry_field", &field))?,
                                ResourceCode::parse(&code).map_err(|_| corrupt("registry_field_source.resource_code", &code))?,
                            ))
                        })
                        .collect()
                }
            }
        }
    };
}

pub(crate) use catalogue_store;
