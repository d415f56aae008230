//! Manhole covers and buildings' safety appraisals for both backends (`facility_store!`).

use huimin_domain::facility::{
    Appraisal, Component, ComponentCode, ComponentStatus, ManholeKind, SafetyGrade,
};
use huimin_domain::registry::{Address, GeoPoint};
use huimin_domain::storage::StorageError;

pub(crate) const COMPONENT_COLUMNS: &str =
    "code, kind, longitude, latitude, grid, owner, status, note, updated_at_us, updated_by";
pub(crate) const APPRAISAL_COLUMNS: &str =
    "id, building_id, grade, appraised_on, agency, report_no, recorded_by, recorded_at_us";
/// A building's address columns, as `building_place` and `dangerous_buildings` read them.
pub(crate) const BUILDING_ADDRESS_COLUMNS: &str = "b.grid AS building_grid, b.address_district, b.address_street, \
     b.address_community, b.address_road, b.address_number, b.address_building";

/// A component row's columns, decoded.
pub(crate) struct ComponentRow {
    pub code: String,
    pub kind: String,
    pub location: (f64, f64),
    pub grid: String,
    pub owner: String,
    pub status: String,
    pub note: String,
    pub updated_at_us: i64,
    pub updated_by: String,
}

pub(crate) fn decode_component(row: ComponentRow) -> Result<Component, StorageError> {
    let (code, kind) = ComponentCode::parse(&row.code)
        .map_err(|error| crate::codec::corrupt("city_component.code", &row.code, error))?;
    if ManholeKind::parse(&row.kind) != Some(kind) {
        return Err(crate::codec::corrupt(
            "city_component.kind",
            &row.code,
            "not the code's subclass",
        ));
    }
    Ok(Component {
        status: ComponentStatus::parse(&row.status).ok_or_else(|| {
            crate::codec::corrupt("city_component.status", &row.code, "not a status")
        })?,
        code,
        kind,
        location: GeoPoint {
            longitude: row.location.0,
            latitude: row.location.1,
        },
        grid: row.grid,
        owner: row.owner,
        note: row.note,
        updated_at: crate::codec::from_micros(row.updated_at_us)?,
        updated_by: row.updated_by,
    })
}

/// An appraisal row's columns, decoded.
pub(crate) struct AppraisalRow {
    pub id: i64,
    pub building_id: String,
    pub grade: String,
    pub appraised_on: String,
    pub agency: String,
    pub report_no: String,
    pub recorded_by: String,
    pub recorded_at_us: i64,
}

pub(crate) fn decode_appraisal(row: AppraisalRow) -> Result<Appraisal, StorageError> {
    let object = row.id.to_string();
    Ok(Appraisal {
        id: u64::try_from(row.id)
            .map_err(|error| crate::codec::corrupt("building_appraisal.id", &object, error))?,
        grade: SafetyGrade::parse(&row.grade).ok_or_else(|| {
            crate::codec::corrupt("building_appraisal.grade", &object, "not a grade")
        })?,
        appraised_on: chrono::NaiveDate::parse_from_str(&row.appraised_on, "%Y-%m-%d").map_err(
            |error| crate::codec::corrupt("building_appraisal.appraised_on", &object, error),
        )?,
        building_id: row.building_id,
        agency: row.agency,
        report_no: row.report_no,
        recorded_by: row.recorded_by,
        recorded_at: crate::codec::from_micros(row.recorded_at_us)?,
    })
}

/// A building's address line without unit or room, from its district to its number.
pub(crate) fn building_line(
    district: String,
    street: String,
    community: String,
    road: String,
    number: String,
    building: Option<String>,
) -> String {
    Address {
        district,
        street,
        community,
        road,
        number,
        building,
        unit: None,
        room: None,
        point: None,
    }
    .line()
}

macro_rules! facility_store {
    ($store:ty, $database:ty, $row:ty) => {
        pub(crate) mod facility_queries {
            use super::audit_queries::append_in;
            use crate::codec::{micros, prefix_range};
            use crate::facility::{
                APPRAISAL_COLUMNS, AppraisalRow, BUILDING_ADDRESS_COLUMNS, COMPONENT_COLUMNS,
                ComponentRow, building_line, decode_appraisal, decode_component,
            };
            use crate::storage_error;
            use async_trait::async_trait;
            use huimin_domain::audit::AuditEvent;
            use huimin_domain::facility::{Appraisal, Component};
            use huimin_domain::storage::{FacilityStore, Page, PageRequest, StorageResult};
            use sqlx::Row;

            type DatabaseRow = $row;

            fn get<'r, T>(row: &'r DatabaseRow, column: &str) -> StorageResult<T>
            where
                T: sqlx::Decode<'r, $database> + sqlx::Type<$database>,
            {
                row.try_get(column).map_err(|e| storage_error(column, e))
            }

            fn component_of(row: &DatabaseRow) -> StorageResult<Component> {
                decode_component(ComponentRow {
                    code: get(row, "code")?,
                    kind: get(row, "kind")?,
                    location: (get(row, "longitude")?, get(row, "latitude")?),
                    grid: get(row, "grid")?,
                    owner: get(row, "owner")?,
                    status: get(row, "status")?,
                    note: get(row, "note")?,
                    updated_at_us: get(row, "updated_at_us")?,
                    updated_by: get(row, "updated_by")?,
                })
            }

            fn appraisal_of(row: &DatabaseRow) -> StorageResult<Appraisal> {
                decode_appraisal(AppraisalRow {
                    id: get(row, "id")?,
                    building_id: get(row, "building_id")?,
                    grade: get(row, "grade")?,
                    appraised_on: get(row, "appraised_on")?,
                    agency: get(row, "agency")?,
                    report_no: get(row, "report_no")?,
                    recorded_by: get(row, "recorded_by")?,
                    recorded_at_us: get(row, "recorded_at_us")?,
                })
            }

            fn line_of(row: &DatabaseRow) -> StorageResult<String> {
                Ok(building_line(
                    get(row, "address_district")?,
                    get(row, "address_street")?,
                    get(row, "address_community")?,
                    get(row, "address_road")?,
                    get(row, "address_number")?,
                    get(row, "address_building")?,
                ))
            }

            #[async_trait]
            impl FacilityStore for $store {
                async fn put_components(&self, components: &[Component], audit: &AuditEvent) -> StorageResult<u64> {
                    let Some(at) = components.iter().map(|component| component.updated_at).max() else {
                        return Ok(0);
                    };
                    let mut transaction = self.begin_write().await?;
                    let mut created = 0;
                    for component in components {
                        let kept: Option<String> = sqlx::query_scalar("SELECT code FROM city_component WHERE code = $1")
                            .bind(component.code.as_str())
                            .fetch_optional(&mut *transaction)
                            .await
                            .map_err(|e| storage_error("reading a component", e))?;
                        if kept.is_none() {
                            created += 1;
                        }
                        sqlx::query(sql!(
                            "INSERT INTO city_component ({COMPONENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                             ON CONFLICT (code) DO UPDATE SET kind = excluded.kind, longitude = excluded.longitude, \
                             latitude = excluded.latitude, grid = excluded.grid, owner = excluded.owner, \
                             status = excluded.status, note = excluded.note, updated_at_us = excluded.updated_at_us, \
                             updated_by = excluded.updated_by"
                        ))
                        .bind(component.code.as_str())
                        .bind(component.kind.code())
                        .bind(component.location.longitude)
                        .bind(component.location.latitude)
                        .bind(component.grid.as_str())
                        .bind(component.owner.as_str())
                        .bind(component.status.code())
                        .bind(component.note.as_str())
                        .bind(micros(component.updated_at))
                        .bind(component.updated_by.as_str())
                        .execute(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("writing a component", e))?;
                    }
                    append_in(&mut transaction, std::slice::from_ref(audit), at).await?;
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    Ok(created)
                }

                async fn component(&self, code: &str) -> StorageResult<Option<Component>> {
                    let row = sqlx::query(sql!("SELECT {COMPONENT_COLUMNS} FROM city_component WHERE code = $1"))
                        .bind(code)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(|e| storage_error("reading a component", e))?;
                    row.as_ref().map(component_of).transpose()
                }

                async fn components_in_area(
                    &self,
                    area_prefix: &str,
                    owner: Option<&str>,
                    page: PageRequest,
                ) -> StorageResult<Page<Component>> {
                    let (low, high) = prefix_range(area_prefix);
                    // NULL matches every owner.
                    let total: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM city_component WHERE grid >= $1 AND grid < $2 AND ($3 IS NULL OR owner = $3)",
                    )
                        .bind(low.as_str())
                        .bind(high.as_str())
                        .bind(owner)
                        .fetch_one(&self.pool)
                        .await
                        .map_err(|e| storage_error("counting components", e))?;
                    let rows = sqlx::query(sql!(
                        "SELECT {COMPONENT_COLUMNS} FROM city_component WHERE grid >= $1 AND grid < $2 \
                         AND ($3 IS NULL OR owner = $3) ORDER BY grid, code LIMIT $4 OFFSET $5"
                    ))
                    .bind(low.as_str())
                    .bind(high.as_str())
                    .bind(owner)
                    .bind(i64::from(page.per_page))
                    .bind(i64::try_from(page.offset()).unwrap_or(i64::MAX))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("components in area", e))?;
                    Ok(Page {
                        items: rows.iter().map(component_of).collect::<StorageResult<_>>()?,
                        total: u64::try_from(total).unwrap_or(0),
                        page: page.page,
                        per_page: page.per_page,
                    })
                }

                async fn building_place(&self, building_id: &str) -> StorageResult<Option<(String, String)>> {
                    let row = sqlx::query(sql!("SELECT {BUILDING_ADDRESS_COLUMNS} FROM building b WHERE b.id = $1"))
                        .bind(building_id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(|e| storage_error("reading a building", e))?;
                    row.as_ref().map(|row| Ok((get(row, "building_grid")?, line_of(row)?))).transpose()
                }

                async fn record_appraisals(&self, appraisals: &[Appraisal], audit: &AuditEvent) -> StorageResult<Option<Vec<u64>>> {
                    let Some(at) = appraisals.iter().map(|appraisal| appraisal.recorded_at).max() else {
                        return Ok(Some(Vec::new()));
                    };
                    let mut transaction = self.begin_write().await?;
                    let mut ids = Vec::with_capacity(appraisals.len());
                    for appraisal in appraisals {
                        let id: Option<i64> = sqlx::query_scalar(
                            "INSERT INTO building_appraisal (building_id, grid, grade, appraised_on, agency, report_no, recorded_by, recorded_at_us) \
                             SELECT id, grid, $2, $3, $4, $5, $6, $7 FROM building WHERE id = $1 RETURNING id",
                        )
                        .bind(appraisal.building_id.as_str())
                        .bind(appraisal.grade.code())
                        .bind(appraisal.appraised_on.format("%Y-%m-%d").to_string())
                        .bind(appraisal.agency.as_str())
                        .bind(appraisal.report_no.as_str())
                        .bind(appraisal.recorded_by.as_str())
                        .bind(micros(appraisal.recorded_at))
                        .fetch_optional(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("recording an appraisal", e))?;
                        let Some(id) = id else {
                            // Dropping the transaction rolls it back.
                            return Ok(None);
                        };
                        ids.push(u64::try_from(id).unwrap_or(0));
                    }
                    let event = AuditEvent {
                        // One appraisal's id, or the range a batch was given.
                        object_id: match ids.as_slice() {
                            [] => String::new(),
                            [one] => one.to_string(),
                            [first, .., last] => format!("{first}-{last}"),
                        },
                        ..audit.clone()
                    };
                    append_in(&mut transaction, std::slice::from_ref(&event), at).await?;
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    Ok(Some(ids))
                }

                async fn appraisals(&self, building_id: &str) -> StorageResult<Vec<Appraisal>> {
                    let rows = sqlx::query(sql!(
                        "SELECT {APPRAISAL_COLUMNS} FROM building_appraisal WHERE building_id = $1 \
                         ORDER BY appraised_on DESC, id DESC"
                    ))
                    .bind(building_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading appraisals", e))?;
                    rows.iter().map(appraisal_of).collect()
                }

                async fn dangerous_buildings(&self, area_prefix: &str, limit: u32) -> StorageResult<Vec<(Appraisal, String)>> {
                    let (low, high) = prefix_range(area_prefix);
                    let columns: Vec<String> = APPRAISAL_COLUMNS.split(", ").map(|column| format!("a.{column}")).collect();
                    let rows = sqlx::query(sql!(
                        "SELECT {}, {BUILDING_ADDRESS_COLUMNS} FROM building_appraisal a JOIN building b ON b.id = a.building_id \
                         WHERE a.grid >= $1 AND a.grid < $2 AND a.grade IN ('C', 'D') \
                         AND a.id = (SELECT l.id FROM building_appraisal l WHERE l.building_id = a.building_id \
                                     ORDER BY l.appraised_on DESC, l.id DESC LIMIT 1) \
                         ORDER BY a.building_id LIMIT $3",
                        columns.join(", ")
                    ))
                    .bind(low.as_str())
                    .bind(high.as_str())
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("dangerous buildings", e))?;
                    rows.iter().map(|row| Ok((appraisal_of(row)?, line_of(row)?))).collect()
                }
            }
        }
    };
}

pub(crate) use facility_store;
