//! The registry queries, written once for both backends.
//!
//! `registry_store!` expands to an implementation of [`RegistryStore`] for a store type
//! whose `pool` field is a concrete sqlx pool. The SQL is portable (`$n` parameters,
//! `ON CONFLICT`, `SUBSTR`, `CASE`); what differs between SQLite and PostgreSQL lives in the
//! migrations. Writes follow one pattern: read the current rows of a batch, compare with
//! the incoming records, move changed rows to `<table>_history`, insert new versions, all in
//! one transaction.
//!
//! [`RegistryStore`]: huimin_domain::storage::RegistryStore

use std::sync::LazyLock;

/// Rows per multi-row statement: 500 rows × 21 columns stays under SQLite's and
/// PostgreSQL's limits on bound parameters.
pub(crate) const CHUNK_ROWS: usize = 500;

/// Batches at least this large, into an empty table, take the bulk-load path.
pub(crate) const BULK_LOAD_MIN_ROWS: usize = 10_000;

pub(crate) const PERSON_COLUMNS: &str = "citizen_id, name, name_initials, name_pinyin, sex, birth_date, ethnicity, \
     hukou_address, residence_address, phone, life_status, tags, grid, source, batch, recorded_at_us";
pub(crate) const HOUSEHOLD_COLUMNS: &str =
    "number, kind, address, members, source, batch, recorded_at_us";
pub(crate) const ENTITY_COLUMNS: &str = "credit_code, name, kind, legal_representative, registered_address, status, \
     established_on, source, batch, recorded_at_us";
pub(crate) const BUILDING_COLUMNS: &str = "id, address_district, address_street, address_community, address_road, \
     address_number, address_building, address_unit, address_room, longitude, latitude, grid, floors, \
     source, batch, recorded_at_us";
pub(crate) const HOUSE_COLUMNS: &str = "id, building_id, address_district, address_street, address_community, \
     address_road, address_number, address_building, address_unit, address_room, longitude, latitude, grid, \
     usage, floor_area_m2, owners, rental, tenants, source, batch, recorded_at_us";
pub(crate) const AREA_COLUMNS: &str =
    "code, name, level, parent, boundary, source, batch, recorded_at_us";

/// A person's current version and past ones, newest first (the current row's
/// `superseded_at_us` is NULL). `$1` is the identity number in every query of the view;
/// the texts are built once, as the view runs them on every request.
pub(crate) static PERSON_VERSIONS_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {PERSON_COLUMNS}, NULL AS superseded_at_us FROM person WHERE citizen_id = $1 \
         UNION ALL \
         SELECT {PERSON_COLUMNS}, superseded_at_us FROM person_history WHERE citizen_id = $1 \
         ORDER BY recorded_at_us DESC"
    )
});

pub(crate) static HOUSEHOLDS_OF_PERSON_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {HOUSEHOLD_COLUMNS} FROM household WHERE number IN \
         (SELECT household_number FROM household_member WHERE citizen_id = $1) ORDER BY number"
    )
});

/// A person's houses, each with the person's role (`party_role`: owner or tenant).
pub(crate) static HOUSES_OF_PERSON_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {HOUSE_COLUMNS}, house_party.role AS party_role FROM house \
         JOIN house_party ON house_party.house_id = house.id WHERE house_party.citizen_id = $1 \
         ORDER BY house.id"
    )
});

pub(crate) static ENTITIES_OF_PERSON_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {ENTITY_COLUMNS} FROM legal_entity WHERE legal_representative = $1 ORDER BY credit_code"
    )
});

/// The current names of everyone in the person's households (the person included).
pub(crate) const HOUSEHOLD_MEMBER_NAMES_SQL: &str = "SELECT DISTINCT member.citizen_id, person.name \
     FROM household_member AS mine \
     JOIN household_member AS member ON member.household_number = mine.household_number \
     JOIN person ON person.citizen_id = member.citizen_id \
     WHERE mine.citizen_id = $1 ORDER BY member.citizen_id";

/// An index (or a key constraint) that a bulk load dropped: the statements that dropped it
/// and that build it again, read from the database's catalogue so that the migrations stay
/// the one place where indexes are defined.
#[derive(Debug)]
pub(crate) struct DroppedIndex {
    pub drop: String,
    pub create: String,
}

/// Splits records into chunks of at most `CHUNK_ROWS` in which no key repeats, so a record
/// that appears twice in one batch is written as an update of its first appearance.
pub(crate) fn chunks_without_repeats<T>(records: &[T], key: impl Fn(&T) -> &str) -> Vec<&[T]> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut seen = std::collections::HashSet::new();
    for (index, record) in records.iter().enumerate() {
        if index - start == CHUNK_ROWS || !seen.insert(key(record)) {
            chunks.push(&records[start..index]);
            start = index;
            seen.clear();
            seen.insert(key(record));
        }
    }
    if start < records.len() {
        chunks.push(&records[start..]);
    }
    chunks
}

/// Expands to the whole `RegistryStore` implementation for `$store` over `$database`.
macro_rules! registry_store {
    ($store:ty, $database:ty, $row:ty) => {
        use crate::codec::{
            corrupt, decode_ids, decode_members, decode_tags, encode_ids, encode_members, from_micros,
            like_escape, micros, prefix_range,
        };
        use crate::registry::{
            AREA_COLUMNS, BUILDING_COLUMNS, ENTITY_COLUMNS, HOUSEHOLD_COLUMNS, HOUSE_COLUMNS,
            PERSON_COLUMNS, BULK_LOAD_MIN_ROWS, DroppedIndex, chunks_without_repeats,
        };
        use crate::codec::Columns;
        use crate::storage_error;
        use async_trait::async_trait;
        use chrono::{DateTime, Datelike, NaiveDate, Utc};
        use huimin_domain::area::{Area, AreaLevel};
        use huimin_domain::identifiers::{CitizenId, CreditCode, GridCode, PersonName, Phone};
        use huimin_domain::audit::Actor;
        use huimin_domain::provenance::Provenance;
        use huimin_domain::registry::{
            Address, Building, EntityKind, EntityStatus, Ethnicity, GeoPoint, House, HouseUse, Household,
            HouseholdKind, LegalEntity, LifeStatus, Person, RentalState,
        };
        use huimin_domain::storage::{
            AgeBand, AgeingRate, Page, PageRequest, PersonLinks, PersonQuery, PersonSummary, PersonView, RegistryStore,
            StorageResult, Versioned, WriteCounts,
        };
        use sqlx::{QueryBuilder, Row};
        use std::collections::HashMap;

        type DatabaseRow = $row;
        type Transaction<'a> = sqlx::Transaction<'a, $database>;

        impl crate::codec::Columns for DatabaseRow {
            fn text(&self, column: &str) -> StorageResult<String> {
                self.try_get(column).map_err(|error| storage_error(column, error))
            }
            fn optional_text(&self, column: &str) -> StorageResult<Option<String>> {
                self.try_get(column).map_err(|error| storage_error(column, error))
            }
            fn int32(&self, column: &str) -> StorageResult<i32> {
                self.try_get(column).map_err(|error| storage_error(column, error))
            }
            fn int64(&self, column: &str) -> StorageResult<i64> {
                self.try_get(column).map_err(|error| storage_error(column, error))
            }
            fn int64_if_present(&self, column: &str) -> Option<i64> {
                self.try_get::<Option<i64>, _>(column).ok().flatten()
            }
            fn real(&self, column: &str) -> StorageResult<f64> {
                self.try_get(column).map_err(|error| storage_error(column, error))
            }
            fn optional_real(&self, column: &str) -> StorageResult<Option<f64>> {
                self.try_get(column).map_err(|error| storage_error(column, error))
            }
            fn bytes(&self, column: &str) -> StorageResult<Vec<u8>> {
                self.try_get(column).map_err(|error| storage_error(column, error))
            }
            fn optional_date(&self, column: &str) -> StorageResult<Option<NaiveDate>> {
                self.try_get(column).map_err(|error| storage_error(column, error))
            }
        }

        fn provenance_of(row: &impl Columns) -> StorageResult<(Provenance, Option<DateTime<Utc>>)> {
            // Absent (current-table queries) and NULL (the current row of a history union)
            // both mean "still current".
            let superseded = match row.int64_if_present("superseded_at_us") {
                Some(value) => Some(from_micros(value)?),
                None => None,
            };
            Ok((
                Provenance {
                    source: row.text("source")?,
                    batch: row.text("batch")?,
                    recorded_at: from_micros(row.int64("recorded_at_us")?)?,
                },
                superseded,
            ))
        }

        fn person_from_row(row: &impl Columns) -> StorageResult<Versioned<Person>> {
            let citizen_id = row.text("citizen_id")?;
            let name = row.text("name")?;
            let ethnicity = row.int32("ethnicity")?;
            let life_status = row.text("life_status")?;
            let (provenance, superseded_at) = provenance_of(row)?;
            let person = Person {
                citizen_id: CitizenId::parse(&citizen_id).map_err(|e| corrupt("citizen_id", &citizen_id, e))?,
                name: PersonName::parse(&name).map_err(|e| corrupt("name", &name, e))?,
                ethnicity: u8::try_from(ethnicity)
                    .ok()
                    .and_then(Ethnicity::from_code)
                    .ok_or_else(|| corrupt("ethnicity", &ethnicity.to_string(), "unknown code"))?,
                hukou_address: row.text("hukou_address")?,
                residence_address: row.text("residence_address")?,
                phone: match row.optional_text("phone")? {
                    Some(phone) => Some(Phone::parse(&phone).map_err(|e| corrupt("phone", &phone, e))?),
                    None => None,
                },
                life_status: LifeStatus::parse(&life_status)
                    .ok_or_else(|| corrupt("life_status", &life_status, "unknown status"))?,
                tags: decode_tags(&row.text("tags")?)?,
                grid: match row.optional_text("grid")? {
                    Some(grid) => Some(GridCode::parse(&grid).map_err(|e| corrupt("grid", &grid, e))?),
                    None => None,
                },
            };
            Ok(Versioned { record: person, provenance, superseded_at })
        }

        fn household_from_row(row: &impl Columns) -> StorageResult<Versioned<Household>> {
            let kind = row.text("kind")?;
            let (provenance, superseded_at) = provenance_of(row)?;
            Ok(Versioned {
                record: Household {
                    number: row.text("number")?,
                    kind: HouseholdKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind, "unknown kind"))?,
                    address: row.text("address")?,
                    members: decode_members(&row.text("members")?)?,
                },
                provenance,
                superseded_at,
            })
        }

        fn entity_from_row(row: &impl Columns) -> StorageResult<Versioned<LegalEntity>> {
            let credit_code = row.text("credit_code")?;
            let kind = row.text("kind")?;
            let status = row.text("status")?;
            let representative = row.text("legal_representative")?;
            let (provenance, superseded_at) = provenance_of(row)?;
            Ok(Versioned {
                record: LegalEntity {
                    credit_code: CreditCode::parse(&credit_code).map_err(|e| corrupt("credit_code", &credit_code, e))?,
                    name: row.text("name")?,
                    kind: EntityKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind, "unknown kind"))?,
                    legal_representative: CitizenId::parse(&representative)
                        .map_err(|e| corrupt("legal_representative", &representative, e))?,
                    registered_address: row.text("registered_address")?,
                    status: EntityStatus::parse(&status).ok_or_else(|| corrupt("status", &status, "unknown status"))?,
                    established_on: row.optional_date("established_on")?,
                },
                provenance,
                superseded_at,
            })
        }

        fn address_from_row(row: &impl Columns) -> StorageResult<Address> {
            let longitude = row.optional_real("longitude")?;
            let latitude = row.optional_real("latitude")?;
            Ok(Address {
                district: row.text("address_district")?,
                street: row.text("address_street")?,
                community: row.text("address_community")?,
                road: row.text("address_road")?,
                number: row.text("address_number")?,
                building: row.optional_text("address_building")?,
                unit: row.optional_text("address_unit")?,
                room: row.optional_text("address_room")?,
                point: match (longitude, latitude) {
                    (Some(longitude), Some(latitude)) => GeoPoint::new(longitude, latitude),
                    _ => None,
                },
            })
        }

        fn grid_of(row: &impl Columns) -> StorageResult<GridCode> {
            let grid = row.text("grid")?;
            GridCode::parse(&grid).map_err(|e| corrupt("grid", &grid, e))
        }

        fn house_from_row(row: &impl Columns) -> StorageResult<Versioned<House>> {
            let usage = row.text("usage")?;
            let rental = row.text("rental")?;
            let tenants = decode_ids("tenants", &row.text("tenants")?)?;
            let (provenance, superseded_at) = provenance_of(row)?;
            Ok(Versioned {
                record: House {
                    id: row.text("id")?,
                    building_id: row.text("building_id")?,
                    address: address_from_row(row)?,
                    grid: grid_of(row)?,
                    usage: HouseUse::parse(&usage).ok_or_else(|| corrupt("usage", &usage, "unknown use"))?,
                    floor_area_m2: row.real("floor_area_m2")?,
                    owners: decode_ids("owners", &row.text("owners")?)?,
                    rental: match rental.as_str() {
                        "owner_occupied" => RentalState::OwnerOccupied,
                        "vacant" => RentalState::Vacant,
                        "rented" => RentalState::Rented { tenants },
                        other => return Err(corrupt("rental", other, "unknown rental state")),
                    },
                },
                provenance,
                superseded_at,
            })
        }

        fn building_from_row(row: &impl Columns) -> StorageResult<Versioned<Building>> {
            let floors = row.int32("floors")?;
            let (provenance, superseded_at) = provenance_of(row)?;
            let building = Building {
                id: row.text("id")?,
                address: address_from_row(row)?,
                grid: grid_of(row)?,
                floors: u16::try_from(floors).map_err(|e| corrupt("floors", &floors.to_string(), e))?,
            };
            Ok(Versioned { record: building, provenance, superseded_at })
        }

        fn area_from_row(row: &impl Columns) -> StorageResult<Versioned<Area>> {
            let (provenance, superseded_at) = provenance_of(row)?;
            let level = row.text("level")?;
            let boundary = match row.optional_text("boundary")? {
                None => None,
                Some(json) => Some(huimin_domain::area::boundary_from_geojson(&json).map_err(|e| corrupt("boundary", &json, e))?),
            };
            let area = Area {
                code: row.text("code")?,
                name: row.text("name")?,
                level: AreaLevel::parse(&level).ok_or_else(|| corrupt("level", &level, "unknown level"))?,
                parent: row.optional_text("parent")?,
                boundary,
            };
            Ok(Versioned { record: area, provenance, superseded_at })
        }

        /// A house and the person's role in it (`owner` or `tenant`), from a
        /// `HOUSES_OF_PERSON_SQL` row.
        fn house_and_role(row: &impl Columns) -> StorageResult<(House, String)> {
            Ok((house_from_row(row)?.record, row.text("party_role")?))
        }

        /// The houses a person owns and those they rent, from `house_and_role`.
        fn houses_by_role(houses: Vec<(House, String)>) -> (Vec<House>, Vec<House>) {
            let (owned, rented): (Vec<_>, Vec<_>) = houses.into_iter().partition(|(_, role)| role == "owner");
            (owned.into_iter().map(|(house, _)| house).collect(), rented.into_iter().map(|(house, _)| house).collect())
        }

        /// `(identity number, name)` from `HOUSEHOLD_MEMBER_NAMES_SQL` rows.
        fn member_name(row: &impl Columns) -> StorageResult<(CitizenId, String)> {
            let id = row.text("citizen_id")?;
            Ok((CitizenId::parse(&id).map_err(|e| corrupt("citizen_id", &id, e))?, row.text("name")?))
        }

        /// The 360 view through the ordinary queries, one round trip each (PostgreSQL, and
        /// SQLite databases that cannot be opened twice).
        async fn person_view_by_queries(store: &$store, citizen_id: &CitizenId) -> StorageResult<Option<PersonView>> {
            let history = store.person_history(citizen_id).await?;
            if history.is_empty() {
                return Ok(None);
            }
            let links = store.person_links(citizen_id).await?;
            let member_names = sqlx::query(crate::registry::HOUSEHOLD_MEMBER_NAMES_SQL)
                .bind(citizen_id.as_str())
                .fetch_all(&store.pool)
                .await
                .map_err(|e| storage_error("household member names", e))?
                .iter()
                .map(member_name)
                .collect::<StorageResult<Vec<_>>>()?;
            Ok(Some(PersonView { history, links, member_names }))
        }

        /// `ON CONFLICT (key) DO UPDATE SET …` for every column but the key, for tables
        /// without history.
        fn overwrite_clause(key: &str, columns: &str) -> String {
            let assignments: Vec<String> = columns
                .split(", ")
                .filter(|column| *column != key)
                .map(|column| format!("{column} = excluded.{column}"))
                .collect();
            format!(" ON CONFLICT ({key}) DO UPDATE SET {}", assignments.join(", "))
        }

        /// `$first, $first+1, …` placeholders for an `IN (…)` list.
        fn placeholders(first: usize, count: usize) -> String {
            (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
        }

        /// How one versioned table is keyed and decoded.
        struct VersionedTable<T> {
            /// Whether a changed row moves to `<table>_history` (else it is overwritten).
            history: bool,
            table: &'static str,
            columns: &'static str,
            key: &'static str,
            key_of: fn(&T) -> String,
            decode: fn(&DatabaseRow) -> StorageResult<Versioned<T>>,
        }

        /// Current rows of a table whose key is among `keys`.
        async fn current_rows<T>(
            transaction: &mut Transaction<'_>,
            spec: &VersionedTable<T>,
            keys: &[&str],
        ) -> StorageResult<HashMap<String, T>> {
            let sql = format!(
                "SELECT {} FROM {} WHERE {} IN ({})",
                spec.columns,
                spec.table,
                spec.key,
                placeholders(1, keys.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            for key in keys {
                query = query.bind(*key);
            }
            let rows = query
                .fetch_all(&mut **transaction)
                .await
                .map_err(|e| storage_error(spec.table, e))?;
            rows.iter()
                .map(|row| {
                    (spec.decode)(row).map(|versioned| ((spec.key_of)(&versioned.record), versioned.record))
                })
                .collect()
        }

        /// Moves the current rows of `keys` to `<table>_history` and deletes them.
        async fn supersede(
            transaction: &mut Transaction<'_>,
            table: &str,
            columns: &str,
            key: &str,
            keys: &[&str],
            superseded_at: DateTime<Utc>,
        ) -> StorageResult<()> {
            if keys.is_empty() {
                return Ok(());
            }
            let list = placeholders(2, keys.len());
            let copy = format!(
                "INSERT INTO {table}_history ({columns}, superseded_at_us) SELECT {columns}, $1 FROM {table} \
                 WHERE {key} IN ({list}) ON CONFLICT DO NOTHING"
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(copy.as_str())).bind(micros(superseded_at));
            for key in keys {
                query = query.bind(*key);
            }
            query.execute(&mut **transaction).await.map_err(|e| storage_error("history", e))?;
            let delete = format!("DELETE FROM {table} WHERE {key} IN ({})", placeholders(1, keys.len()));
            let mut query = sqlx::query(sqlx::AssertSqlSafe(delete.as_str()));
            for key in keys {
                query = query.bind(*key);
            }
            query.execute(&mut **transaction).await.map_err(|e| storage_error("history", e))?;
            Ok(())
        }

        /// Sorts a chunk into new, changed and unchanged records against the current rows,
        /// moving changed rows to history. Returns the records to insert and the counts.
        async fn classify<'r, T: PartialEq>(
            transaction: &mut Transaction<'_>,
            chunk: &'r [T],
            spec: &VersionedTable<T>,
            provenance: &Provenance,
        ) -> StorageResult<(Vec<&'r T>, WriteCounts)> {
            let keys: Vec<String> = chunk.iter().map(spec.key_of).collect();
            let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            let current = current_rows(transaction, spec, &key_refs).await?;
            let mut counts = WriteCounts::default();
            let mut changed = Vec::new();
            let mut to_insert = Vec::new();
            for (record, key) in chunk.iter().zip(&key_refs) {
                match current.get(*key) {
                    Some(existing) if existing == record => counts.unchanged += 1,
                    Some(_) => {
                        counts.updated += 1;
                        changed.push(*key);
                        to_insert.push(record);
                    }
                    None => {
                        counts.inserted += 1;
                        to_insert.push(record);
                    }
                }
            }
            if !spec.history {
                return Ok((to_insert, counts));
            }
            supersede(
                transaction,
                spec.table,
                spec.columns,
                spec.key,
                &changed,
                provenance.recorded_at,
            )
            .await?;
            Ok((to_insert, counts))
        }

        /// Writes people by the ordinary path: each chunk compared with the current rows,
        /// changed rows moved to history, new versions inserted.
        async fn write_persons(
            transaction: &mut Transaction<'_>,
            persons: &[Person],
            provenance: &Provenance,
        ) -> StorageResult<WriteCounts> {
            let mut counts = WriteCounts::default();
            for chunk in chunks_without_repeats(persons, |person| person.citizen_id.as_str()) {
                let (to_insert, chunk_counts) = classify(
                    transaction,
                    chunk,
                    &VersionedTable {
                        history: true,
                        table: "person",
                        columns: PERSON_COLUMNS,
                        key: "citizen_id",
                        key_of: |person: &Person| person.citizen_id.as_str().to_owned(),
                        decode: person_from_row,
                    },
                    provenance,
                )
                .await?;
                counts.add(chunk_counts);
                insert_person_rows(transaction, &to_insert, provenance).await?;
            }
            Ok(counts)
        }

        /// This backend's [`PersonBulkLoad`]: the open transaction, and the indexes (the
        /// unique key among them) that it dropped and will build again on commit.
        ///
        /// [`PersonBulkLoad`]: huimin_domain::storage::PersonBulkLoad
        pub struct BulkPersonLoad {
            transaction: Transaction<'static>,
            indexes: Vec<DroppedIndex>,
            provenance: Provenance,
            actor: Actor,
            appended: u64,
        }

        /// Starts a bulk load when the person table is empty. Without indexes, rows go in
        /// at the end of the table in whatever order they come, and each index is built
        /// once from sorted keys on commit.
        async fn begin_bulk_load(
            store: &$store,
            provenance: &Provenance,
            actor: &Actor,
        ) -> StorageResult<Option<BulkPersonLoad>> {
            let mut transaction = store.begin_write().await?;
            let occupied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT 1 FROM person LIMIT 1) AS any_row")
                .fetch_one(&mut *transaction)
                .await
                .map_err(|e| storage_error("probe person", e))?;
            if occupied > 0 {
                return Ok(None);
            }
            let indexes = droppable_indexes(&mut transaction, "person").await?;
            for index in &indexes {
                sqlx::query(sqlx::AssertSqlSafe(index.drop.as_str()))
                    .execute(&mut *transaction)
                    .await
                    .map_err(|e| storage_error("drop index", e))?;
            }
            Ok(Some(BulkPersonLoad {
                transaction,
                indexes,
                provenance: provenance.clone(),
                actor: actor.clone(),
                appended: 0,
            }))
        }

        #[async_trait]
        impl huimin_domain::storage::PersonBulkLoad for BulkPersonLoad {
            async fn append(&mut self, persons: &[Person]) -> StorageResult<()> {
                let rows: Vec<&Person> = persons.iter().collect();
                insert_person_rows(&mut self.transaction, &rows, &self.provenance).await?;
                self.appended += persons.len() as u64;
                Ok(())
            }

            async fn commit(mut self: Box<Self>, repeats: &[Person]) -> StorageResult<WriteCounts> {
                let started = std::time::Instant::now();
                build_indexes(&mut self.transaction, &self.indexes).await?;
                tracing::debug!(
                    indexes = self.indexes.len(),
                    elapsed_ms = started.elapsed().as_millis(),
                    "bulk load: indexes built"
                );
                let mut counts = WriteCounts { inserted: self.appended, ..WriteCounts::default() };
                counts.add(write_persons(&mut self.transaction, repeats, &self.provenance).await?);
                let event = counts.audit_event(&self.actor, "person", &self.provenance);
                audit_queries::append_in(&mut self.transaction, &[event], self.provenance.recorded_at).await?;
                let started = std::time::Instant::now();
                self.transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                tracing::debug!(elapsed_ms = started.elapsed().as_millis(), "bulk load: committed");
                Ok(counts)
            }
        }

        fn push_address(
            separated: &mut sqlx::query_builder::Separated<'_, $database, &'static str>,
            address: &Address,
        ) {
            separated
                .push_bind(address.district.as_str())
                .push_bind(address.street.as_str())
                .push_bind(address.community.as_str())
                .push_bind(address.road.as_str())
                .push_bind(address.number.as_str())
                .push_bind(address.building.as_deref())
                .push_bind(address.unit.as_deref())
                .push_bind(address.room.as_deref())
                .push_bind(address.point.map(|point| point.longitude))
                .push_bind(address.point.map(|point| point.latitude));
        }

        fn page_of<T>(items: Vec<T>, total: i64, page: PageRequest) -> Page<T> {
            Page { items, total: u64::try_from(total).unwrap_or(0), page: page.page, per_page: page.per_page }
        }

        fn limit_offset(page: PageRequest) -> (i64, i64) {
            (i64::from(page.per_page), i64::try_from(page.offset()).unwrap_or(i64::MAX))
        }

        #[async_trait]
        impl RegistryStore for $store {
            async fn ping(&self) -> StorageResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await.map_err(|e| storage_error("ping", e))?;
                Ok(())
            }

            async fn put_persons(&self, persons: &[Person], provenance: &Provenance, actor: &Actor) -> StorageResult<WriteCounts> {
                if persons.len() >= BULK_LOAD_MIN_ROWS {
                    let mut keys = std::collections::HashSet::with_capacity(persons.len());
                    let repeats = !persons.iter().all(|person| keys.insert(person.citizen_id.as_str()));
                    if !repeats && let Some(mut load) = begin_bulk_load(self, provenance, actor).await? {
                        huimin_domain::storage::PersonBulkLoad::append(&mut load, persons).await?;
                        return huimin_domain::storage::PersonBulkLoad::commit(Box::new(load), &[]).await;
                    }
                }
                let mut transaction = self.begin_write().await?;
                let counts = write_persons(&mut transaction, persons, provenance).await?;
                audit_queries::append_in(&mut transaction, &[counts.audit_event(actor, "person", provenance)], provenance.recorded_at).await?;
                transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                Ok(counts)
            }

            async fn begin_person_bulk_load(
                &self,
                provenance: &Provenance,
                actor: &Actor,
            ) -> StorageResult<Option<Box<dyn huimin_domain::storage::PersonBulkLoad>>> {
                Ok(begin_bulk_load(self, provenance, actor)
                    .await?
                    .map(|load| Box::new(load) as Box<dyn huimin_domain::storage::PersonBulkLoad>))
            }

            async fn person(
                &self,
                citizen_id: &CitizenId,
                as_of: Option<DateTime<Utc>>,
            ) -> StorageResult<Option<Versioned<Person>>> {
                let current = sqlx::query(sql!("SELECT {PERSON_COLUMNS} FROM person WHERE citizen_id = $1"))
                    .bind(citizen_id.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| storage_error("person", e))?;
                let Some(as_of) = as_of else {
                    return current.as_ref().map(person_from_row).transpose();
                };
                let as_of = micros(as_of);
                if let Some(row) = &current {
                    let recorded: i64 = row.try_get("recorded_at_us").map_err(|e| storage_error("recorded_at", e))?;
                    if recorded <= as_of {
                        return person_from_row(row).map(Some);
                    }
                }
                let past = sqlx::query(sql!(
                    "SELECT {PERSON_COLUMNS}, superseded_at_us FROM person_history \
                     WHERE citizen_id = $1 AND recorded_at_us <= $2 AND superseded_at_us > $2 \
                     ORDER BY recorded_at_us DESC LIMIT 1"
                ))
                .bind(citizen_id.as_str())
                .bind(as_of)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| storage_error("person history", e))?;
                past.as_ref().map(person_from_row).transpose()
            }

            async fn person_history(&self, citizen_id: &CitizenId) -> StorageResult<Vec<Versioned<Person>>> {
                // One round trip for the current version and the past ones.
                let rows = sqlx::query(sqlx::AssertSqlSafe(crate::registry::PERSON_VERSIONS_SQL.as_str()))
                .bind(citizen_id.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(|e| storage_error("person history", e))?;
                rows.iter().map(person_from_row).collect()
            }

            async fn search_persons(&self, query: &PersonQuery, page: PageRequest) -> StorageResult<Page<PersonSummary>> {
                let mut conditions: Vec<String> = Vec::new();
                let mut values: Vec<String> = Vec::new();
                if let Some(name) = &query.name {
                    // Through the search index: the name's own initials and pinyin, then
                    // the name (`person_search` leads with the derived columns).
                    values.push(huimin_domain::search::pinyin_initials(name));
                    values.push(huimin_domain::search::pinyin_full(name));
                    values.push(name.clone());
                    conditions.push(format!(
                        "name_initials = ${} AND name_pinyin = ${} AND name = ${}",
                        values.len() - 2,
                        values.len() - 1,
                        values.len()
                    ));
                }
                if let Some(initials) = &query.initials {
                    let (low, high) = prefix_range(initials);
                    values.push(low);
                    values.push(high);
                    conditions.push(format!("name_initials >= ${} AND name_initials < ${}", values.len() - 1, values.len()));
                }
                if let Some(area) = &query.area {
                    let (low, high) = prefix_range(area);
                    values.push(low);
                    values.push(high);
                    conditions.push(format!("grid >= ${} AND grid < ${}", values.len() - 1, values.len()));
                }
                if let Some(scope) = &query.within {
                    let mut alternatives = Vec::new();
                    for prefix in scope.prefixes() {
                        let (low, high) = prefix_range(prefix);
                        values.push(low);
                        values.push(high);
                        alternatives.push(format!("(grid >= ${} AND grid < ${})", values.len() - 1, values.len()));
                    }
                    if scope.contains(None) {
                        alternatives.push("grid IS NULL".to_owned());
                    }
                    if alternatives.is_empty() {
                        alternatives.push("1 = 0".to_owned());
                    }
                    conditions.push(format!("({})", alternatives.join(" OR ")));
                }
                let filter = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
                let count_sql = format!("SELECT COUNT(*) FROM person {filter}");
                let mut count = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql.as_str()));
                for value in &values {
                    count = count.bind(value.as_str());
                }
                let total = count.fetch_one(&self.pool).await.map_err(|e| storage_error("count persons", e))?;
                let (limit, offset) = limit_offset(page);
                let list_sql = format!(
                    "SELECT citizen_id, name, grid, life_status FROM person {filter} \
                     ORDER BY name_pinyin, name, citizen_id LIMIT ${} OFFSET ${}",
                    values.len() + 1,
                    values.len() + 2
                );
                let mut list = sqlx::query(sqlx::AssertSqlSafe(list_sql.as_str()));
                for value in &values {
                    list = list.bind(value.as_str());
                }
                let rows = list.bind(limit).bind(offset).fetch_all(&self.pool).await.map_err(|e| storage_error("search persons", e))?;
                let items = rows
                    .iter()
                    .map(|row| {
                        let citizen_id = row.text("citizen_id")?;
                        Ok(PersonSummary {
                            citizen_id: CitizenId::parse(&citizen_id).map_err(|e| corrupt("citizen_id", &citizen_id, e))?,
                            name: row.text("name")?,
                            grid: row.optional_text("grid")?,
                            life_status: row.text("life_status")?,
                        })
                    })
                    .collect::<StorageResult<Vec<_>>>()?;
                Ok(page_of(items, total, page))
            }

            async fn person_view(&self, citizen_id: &CitizenId) -> StorageResult<Option<PersonView>> {
                read_person_view(self, citizen_id).await
            }

            async fn person_links(&self, citizen_id: &CitizenId) -> StorageResult<PersonLinks> {
                let id = citizen_id.as_str();
                let households = sqlx::query(sqlx::AssertSqlSafe(crate::registry::HOUSEHOLDS_OF_PERSON_SQL.as_str()))
                .bind(id)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| storage_error("households of person", e))?
                .iter()
                .map(|row| household_from_row(row).map(|versioned| versioned.record))
                .collect::<StorageResult<Vec<_>>>()?;
                let house_rows = sqlx::query(sqlx::AssertSqlSafe(crate::registry::HOUSES_OF_PERSON_SQL.as_str()))
                .bind(id)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| storage_error("houses of person", e))?;
                let houses = house_rows.iter().map(house_and_role).collect::<StorageResult<Vec<_>>>()?;
                let (owned_houses, rented_houses) = houses_by_role(houses);
                let represented_entities = sqlx::query(sqlx::AssertSqlSafe(crate::registry::ENTITIES_OF_PERSON_SQL.as_str()))
                .bind(id)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| storage_error("entities of person", e))?
                .iter()
                .map(|row| entity_from_row(row).map(|versioned| versioned.record))
                .collect::<StorageResult<Vec<_>>>()?;
                Ok(PersonLinks { households, owned_houses, rented_houses, represented_entities })
            }

            async fn put_households(&self, households: &[Household], provenance: &Provenance, actor: &Actor) -> StorageResult<WriteCounts> {
                let mut transaction = self.begin_write().await?;
                let mut counts = WriteCounts::default();
                let recorded = micros(provenance.recorded_at);
                for chunk in chunks_without_repeats(households, |household| household.number.as_str()) {
                    let (to_insert, chunk_counts) = classify(
                        &mut transaction,
                        chunk,
                        &VersionedTable {
                            history: true,
                            table: "household",
                            columns: HOUSEHOLD_COLUMNS,
                            key: "number",
                            key_of: |household: &Household| household.number.clone(),
                            decode: household_from_row,
                        },
                        provenance,
                    )
                    .await?;
                    counts.add(chunk_counts);
                    if to_insert.is_empty() {
                        continue;
                    }
                    let numbers: Vec<&str> = to_insert.iter().map(|household| household.number.as_str()).collect();
                    let mut delete = sqlx::query_builder::QueryBuilder::<$database>::new(
                        "DELETE FROM household_member WHERE household_number IN (",
                    );
                    let mut separated = delete.separated(", ");
                    for number in &numbers {
                        separated.push_bind(*number);
                    }
                    separated.push_unseparated(")");
                    delete.build().execute(&mut *transaction).await.map_err(|e| storage_error("household members", e))?;
                    let mut builder: QueryBuilder<$database> =
                        QueryBuilder::new(format!("INSERT INTO household ({HOUSEHOLD_COLUMNS}) "));
                    builder.push_values(&to_insert, |mut row, household| {
                        row.push_bind(household.number.as_str())
                            .push_bind(household.kind.code())
                            .push_bind(household.address.as_str())
                            .push_bind(encode_members(&household.members))
                            .push_bind(provenance.source.as_str())
                            .push_bind(provenance.batch.as_str())
                            .push_bind(recorded);
                    });
                    builder.build().execute(&mut *transaction).await.map_err(|e| storage_error("insert household", e))?;
                    let members: Vec<(&str, &str, &str)> = to_insert
                        .iter()
                        .flat_map(|household| {
                            household.members.iter().map(move |member| {
                                (household.number.as_str(), member.citizen_id.as_str(), member.relationship.code())
                            })
                        })
                        .collect();
                    for member_chunk in members.chunks(crate::registry::CHUNK_ROWS) {
                        let mut builder: QueryBuilder<$database> = QueryBuilder::new(
                            "INSERT INTO household_member (household_number, citizen_id, relationship) ",
                        );
                        builder.push_values(member_chunk, |mut row, (number, id, relationship)| {
                            row.push_bind(*number).push_bind(*id).push_bind(*relationship);
                        });
                        builder.build().execute(&mut *transaction).await.map_err(|e| storage_error("insert members", e))?;
                    }
                }
                audit_queries::append_in(&mut transaction, &[counts.audit_event(actor, "household", provenance)], provenance.recorded_at).await?;
                transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                Ok(counts)
            }

            async fn household(&self, number: &str) -> StorageResult<Option<Versioned<Household>>> {
                sqlx::query(sql!("SELECT {HOUSEHOLD_COLUMNS} FROM household WHERE number = $1"))
                    .bind(number)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| storage_error("household", e))?
                    .as_ref()
                    .map(household_from_row)
                    .transpose()
            }

            async fn put_entities(&self, entities: &[LegalEntity], provenance: &Provenance, actor: &Actor) -> StorageResult<WriteCounts> {
                let mut transaction = self.begin_write().await?;
                let mut counts = WriteCounts::default();
                let recorded = micros(provenance.recorded_at);
                for chunk in chunks_without_repeats(entities, |entity| entity.credit_code.as_str()) {
                    let (to_insert, chunk_counts) = classify(
                        &mut transaction,
                        chunk,
                        &VersionedTable {
                            history: true,
                            table: "legal_entity",
                            columns: ENTITY_COLUMNS,
                            key: "credit_code",
                            key_of: |entity: &LegalEntity| entity.credit_code.as_str().to_owned(),
                            decode: entity_from_row,
                        },
                        provenance,
                    )
                    .await?;
                    counts.add(chunk_counts);
                    if to_insert.is_empty() {
                        continue;
                    }
                    let mut builder: QueryBuilder<$database> =
                        QueryBuilder::new(format!("INSERT INTO legal_entity ({ENTITY_COLUMNS}) "));
                    builder.push_values(to_insert, |mut row, entity| {
                        row.push_bind(entity.credit_code.as_str())
                            .push_bind(entity.name.as_str())
                            .push_bind(entity.kind.code())
                            .push_bind(entity.legal_representative.as_str())
                            .push_bind(entity.registered_address.as_str())
                            .push_bind(entity.status.code())
                            .push_bind(entity.established_on)
                            .push_bind(provenance.source.as_str())
                            .push_bind(provenance.batch.as_str())
                            .push_bind(recorded);
                    });
                    builder.build().execute(&mut *transaction).await.map_err(|e| storage_error("insert entity", e))?;
                }
                audit_queries::append_in(&mut transaction, &[counts.audit_event(actor, "entity", provenance)], provenance.recorded_at).await?;
                transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                Ok(counts)
            }

            async fn entity(&self, credit_code: &CreditCode) -> StorageResult<Option<Versioned<LegalEntity>>> {
                sqlx::query(sql!("SELECT {ENTITY_COLUMNS} FROM legal_entity WHERE credit_code = $1"))
                    .bind(credit_code.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| storage_error("entity", e))?
                    .as_ref()
                    .map(entity_from_row)
                    .transpose()
            }

            async fn search_entities(&self, name_contains: &str, page: PageRequest) -> StorageResult<Page<LegalEntity>> {
                let pattern = format!("%{}%", like_escape(name_contains.trim()));
                let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM legal_entity WHERE name LIKE $1 ESCAPE '\\'")
                    .bind(pattern.as_str())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| storage_error("count entities", e))?;
                let (limit, offset) = limit_offset(page);
                let items = sqlx::query(sql!(
                    "SELECT {ENTITY_COLUMNS} FROM legal_entity WHERE name LIKE $1 ESCAPE '\\' \
                     ORDER BY name, credit_code LIMIT $2 OFFSET $3"
                ))
                .bind(pattern.as_str())
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| storage_error("search entities", e))?
                .iter()
                .map(|row| entity_from_row(row).map(|versioned| versioned.record))
                .collect::<StorageResult<Vec<_>>>()?;
                Ok(page_of(items, total, page))
            }

            async fn put_buildings(&self, buildings: &[Building], provenance: &Provenance, actor: &Actor) -> StorageResult<WriteCounts> {
                let mut transaction = self.begin_write().await?;
                let mut counts = WriteCounts::default();
                let recorded = micros(provenance.recorded_at);
                for chunk in chunks_without_repeats(buildings, |building| building.id.as_str()) {
                    let (to_write, chunk_counts) = classify(
                        &mut transaction,
                        chunk,
                        &VersionedTable {
                            history: false,
                            table: "building",
                            columns: BUILDING_COLUMNS,
                            key: "id",
                            key_of: |building: &Building| building.id.clone(),
                            decode: building_from_row,
                        },
                        provenance,
                    )
                    .await?;
                    counts.add(chunk_counts);
                    if to_write.is_empty() {
                        continue;
                    }
                    let mut builder: QueryBuilder<$database> =
                        QueryBuilder::new(format!("INSERT INTO building ({BUILDING_COLUMNS}) "));
                    builder.push_values(to_write, |mut row, building| {
                        row.push_bind(building.id.as_str());
                        push_address(&mut row, &building.address);
                        row.push_bind(building.grid.as_str())
                            .push_bind(i32::from(building.floors))
                            .push_bind(provenance.source.as_str())
                            .push_bind(provenance.batch.as_str())
                            .push_bind(recorded);
                    });
                    builder.push(overwrite_clause("id", BUILDING_COLUMNS));
                    builder.build().execute(&mut *transaction).await.map_err(|e| storage_error("insert building", e))?;
                }
                audit_queries::append_in(&mut transaction, &[counts.audit_event(actor, "building", provenance)], provenance.recorded_at).await?;
                transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                Ok(counts)
            }

            async fn put_houses(&self, houses: &[House], provenance: &Provenance, actor: &Actor) -> StorageResult<WriteCounts> {
                let mut transaction = self.begin_write().await?;
                let mut counts = WriteCounts::default();
                let recorded = micros(provenance.recorded_at);
                for chunk in chunks_without_repeats(houses, |house| house.id.as_str()) {
                    let (to_insert, chunk_counts) = classify(
                        &mut transaction,
                        chunk,
                        &VersionedTable {
                            history: true,
                            table: "house",
                            columns: HOUSE_COLUMNS,
                            key: "id",
                            key_of: |house: &House| house.id.clone(),
                            decode: house_from_row,
                        },
                        provenance,
                    )
                    .await?;
                    counts.add(chunk_counts);
                    if to_insert.is_empty() {
                        continue;
                    }
                    let mut delete = QueryBuilder::<$database>::new("DELETE FROM house_party WHERE house_id IN (");
                    let mut separated = delete.separated(", ");
                    for house in &to_insert {
                        separated.push_bind(house.id.as_str());
                    }
                    separated.push_unseparated(")");
                    delete.build().execute(&mut *transaction).await.map_err(|e| storage_error("house parties", e))?;
                    let mut builder: QueryBuilder<$database> =
                        QueryBuilder::new(format!("INSERT INTO house ({HOUSE_COLUMNS}) "));
                    builder.push_values(&to_insert, |mut row, house| {
                        row.push_bind(house.id.as_str()).push_bind(house.building_id.as_str());
                        push_address(&mut row, &house.address);
                        row.push_bind(house.grid.as_str())
                            .push_bind(house.usage.code())
                            .push_bind(house.floor_area_m2)
                            .push_bind(encode_ids(&house.owners))
                            .push_bind(house.rental.code())
                            .push_bind(encode_ids(house.rental.tenants()))
                            .push_bind(provenance.source.as_str())
                            .push_bind(provenance.batch.as_str())
                            .push_bind(recorded);
                    });
                    builder.build().execute(&mut *transaction).await.map_err(|e| storage_error("insert house", e))?;
                    let mut parties: Vec<(&str, &str, &str)> = Vec::new();
                    for house in &to_insert {
                        let mut seen = std::collections::HashSet::new();
                        for owner in &house.owners {
                            if seen.insert((owner.as_str(), "owner")) {
                                parties.push((house.id.as_str(), owner.as_str(), "owner"));
                            }
                        }
                        for tenant in house.rental.tenants() {
                            if seen.insert((tenant.as_str(), "tenant")) {
                                parties.push((house.id.as_str(), tenant.as_str(), "tenant"));
                            }
                        }
                    }
                    for party_chunk in parties.chunks(crate::registry::CHUNK_ROWS) {
                        let mut builder: QueryBuilder<$database> =
                            QueryBuilder::new("INSERT INTO house_party (house_id, citizen_id, role) ");
                        builder.push_values(party_chunk, |mut row, (house, person, role)| {
                            row.push_bind(*house).push_bind(*person).push_bind(*role);
                        });
                        builder.build().execute(&mut *transaction).await.map_err(|e| storage_error("insert parties", e))?;
                    }
                }
                audit_queries::append_in(&mut transaction, &[counts.audit_event(actor, "house", provenance)], provenance.recorded_at).await?;
                transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                Ok(counts)
            }

            async fn house(&self, id: &str) -> StorageResult<Option<Versioned<House>>> {
                sqlx::query(sql!("SELECT {HOUSE_COLUMNS} FROM house WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| storage_error("house", e))?
                    .as_ref()
                    .map(house_from_row)
                    .transpose()
            }

            async fn tagged_persons(
                &self,
                area_prefix: &str,
                tag: huimin_domain::registry::PersonTag,
                limit: u32,
            ) -> StorageResult<Vec<Person>> {
                let (low, high) = prefix_range(area_prefix);
                // Tags are kept comma-separated: the tag between commas, so no tag matches
                // inside another.
                sqlx::query(sql!(
                    "SELECT {PERSON_COLUMNS} FROM person WHERE grid >= $1 AND grid < $2 \
                     AND (',' || tags || ',') LIKE $3 ORDER BY citizen_id LIMIT {limit}"
                ))
                .bind(low.as_str())
                .bind(high.as_str())
                .bind(format!("%,{},%", tag.code()))
                .fetch_all(&self.pool)
                .await
                .map_err(|e| storage_error("tagged people", e))?
                .iter()
                .map(|row| person_from_row(row).map(|versioned| versioned.record))
                .collect()
            }

            async fn houses_in_area(&self, area_prefix: &str, page: PageRequest) -> StorageResult<Page<House>> {
                let (low, high) = prefix_range(area_prefix);
                let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM house WHERE grid >= $1 AND grid < $2")
                    .bind(low.as_str())
                    .bind(high.as_str())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| storage_error("count houses", e))?;
                let (limit, offset) = limit_offset(page);
                let items = sqlx::query(sql!(
                    "SELECT {HOUSE_COLUMNS} FROM house WHERE grid >= $1 AND grid < $2 ORDER BY grid, id LIMIT $3 OFFSET $4"
                ))
                .bind(low.as_str())
                .bind(high.as_str())
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| storage_error("houses in area", e))?
                .iter()
                .map(|row| house_from_row(row).map(|versioned| versioned.record))
                .collect::<StorageResult<Vec<_>>>()?;
                Ok(page_of(items, total, page))
            }

            async fn put_areas(&self, areas: &[Area], provenance: &Provenance, actor: &Actor) -> StorageResult<WriteCounts> {
                let mut transaction = self.begin_write().await?;
                let mut counts = WriteCounts::default();
                let recorded = micros(provenance.recorded_at);
                for chunk in chunks_without_repeats(areas, |area| area.code.as_str()) {
                    let (to_write, chunk_counts) = classify(
                        &mut transaction,
                        chunk,
                        &VersionedTable {
                            history: false,
                            table: "area",
                            columns: AREA_COLUMNS,
                            key: "code",
                            key_of: |area: &Area| area.code.clone(),
                            decode: area_from_row,
                        },
                        provenance,
                    )
                    .await?;
                    counts.add(chunk_counts);
                    if to_write.is_empty() {
                        continue;
                    }
                    let boundaries: Vec<Option<String>> = to_write
                        .iter()
                        .map(|area| area.boundary.as_ref().map(huimin_domain::area::boundary_to_geojson))
                        .collect();
                    let mut builder: QueryBuilder<$database> =
                        QueryBuilder::new(format!("INSERT INTO area ({AREA_COLUMNS}) "));
                    builder.push_values(to_write.iter().zip(&boundaries), |mut row, (area, boundary)| {
                        row.push_bind(area.code.as_str())
                            .push_bind(area.name.as_str())
                            .push_bind(area.level.code())
                            .push_bind(area.parent.as_deref())
                            .push_bind(boundary.as_deref())
                            .push_bind(provenance.source.as_str())
                            .push_bind(provenance.batch.as_str())
                            .push_bind(recorded);
                    });
                    builder.push(overwrite_clause("code", AREA_COLUMNS));
                    builder.build().execute(&mut *transaction).await.map_err(|e| storage_error("insert area", e))?;
                }
                audit_queries::append_in(&mut transaction, &[counts.audit_event(actor, "area", provenance)], provenance.recorded_at).await?;
                transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                Ok(counts)
            }

            async fn areas(&self, levels: &[AreaLevel]) -> StorageResult<Vec<Area>> {
                let rows = if levels.is_empty() {
                    sqlx::query(sql!("SELECT {AREA_COLUMNS} FROM area ORDER BY code"))
                        .fetch_all(&self.pool)
                        .await
                } else {
                    let sql = format!(
                        "SELECT {AREA_COLUMNS} FROM area WHERE level IN ({}) ORDER BY code",
                        placeholders(1, levels.len())
                    );
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                    for level in levels {
                        query = query.bind(level.code());
                    }
                    query.fetch_all(&self.pool).await
                }
                .map_err(|e| storage_error("areas", e))?;
                rows.iter().map(|row| area_from_row(row).map(|versioned| versioned.record)).collect()
            }

            async fn area(&self, code: &str) -> StorageResult<Option<Area>> {
                sqlx::query(sql!("SELECT {AREA_COLUMNS} FROM area WHERE code = $1"))
                    .bind(code)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| storage_error("area", e))?
                    .as_ref()
                    .map(|row| area_from_row(row).map(|versioned| versioned.record))
                    .transpose()
            }

            async fn age_pyramid(&self, area_prefix: &str, today: NaiveDate) -> StorageResult<Vec<AgeBand>> {
                let (low, high) = prefix_range(area_prefix);
                let rows = sqlx::query(
                    "SELECT birth_date, sex, COUNT(*) AS people FROM person \
                     WHERE grid >= $1 AND grid < $2 AND life_status = 'alive' GROUP BY birth_date, sex",
                )
                .bind(low.as_str())
                .bind(high.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(|e| storage_error("age pyramid", e))?;
                let mut bands: Vec<AgeBand> =
                    (0..=20).map(|band| AgeBand { from_age: band * 5, male: 0, female: 0 }).collect();
                for row in &rows {
                    let birth: NaiveDate = row.try_get("birth_date").map_err(|e| storage_error("birth_date", e))?;
                    let people: i64 = row.try_get("people").map_err(|e| storage_error("people", e))?;
                    let age = huimin_domain::time::age_on(birth, today);
                    let band = usize::try_from((age / 5).min(20)).unwrap_or(20);
                    let people = u64::try_from(people).unwrap_or(0);
                    if row.text("sex")? == "male" {
                        bands[band].male += people;
                    } else {
                        bands[band].female += people;
                    }
                }
                Ok(bands)
            }

            async fn ageing_by_community(&self, today: NaiveDate) -> StorageResult<Vec<AgeingRate>> {
                let born_by = NaiveDate::from_ymd_opt(today.year() - 60, today.month(), 1)
                    .and_then(|first| first.with_day(today.day()).or_else(|| first.with_day(28)))
                    .unwrap_or(today);
                let rows = sqlx::query(
                    "SELECT counts.community, area.name, counts.residents, counts.elderly FROM \
                     (SELECT SUBSTR(grid, 1, 12) AS community, COUNT(*) AS residents, \
                      SUM(CASE WHEN birth_date <= $1 THEN 1 ELSE 0 END) AS elderly \
                      FROM person WHERE grid IS NOT NULL AND life_status = 'alive' GROUP BY SUBSTR(grid, 1, 12)) AS counts \
                     LEFT JOIN area ON area.code = counts.community ORDER BY counts.community",
                )
                .bind(born_by)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| storage_error("ageing", e))?;
                rows.iter()
                    .map(|row| {
                        let residents: i64 = row.try_get("residents").map_err(|e| storage_error("residents", e))?;
                        let elderly: i64 = row.try_get("elderly").map_err(|e| storage_error("elderly", e))?;
                        let code = row.text("community")?;
                        Ok(AgeingRate {
                            area_name: row.optional_text("name")?.unwrap_or_else(|| code.clone()),
                            area_code: code,
                            residents: u64::try_from(residents).unwrap_or(0),
                            aged_60_and_over: u64::try_from(elderly).unwrap_or(0),
                        })
                    })
                    .collect()
            }

            async fn person_names(&self, citizen_ids: &[CitizenId]) -> StorageResult<Vec<(CitizenId, String)>> {
                if citizen_ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut names = Vec::with_capacity(citizen_ids.len());
                for chunk in citizen_ids.chunks(crate::registry::CHUNK_ROWS) {
                    let sql = format!(
                        "SELECT citizen_id, name FROM person WHERE citizen_id IN ({}) ORDER BY citizen_id",
                        placeholders(1, chunk.len())
                    );
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                    for id in chunk {
                        query = query.bind(id.as_str());
                    }
                    for row in query.fetch_all(&self.pool).await.map_err(|e| storage_error("person names", e))? {
                        let id = row.text("citizen_id")?;
                        names.push((CitizenId::parse(&id).map_err(|e| corrupt("citizen_id", &id, e))?, row.text("name")?));
                    }
                }
                Ok(names)
            }

            async fn refresh_statistics(&self) -> StorageResult<()> {
                sqlx::query("ANALYZE").execute(&self.pool).await.map_err(|e| storage_error("analyze", e))?;
                self.after_analyze().await
            }

            async fn count_persons(&self) -> StorageResult<u64> {
                let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM person")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| storage_error("count persons", e))?;
                Ok(u64::try_from(count).unwrap_or(0))
            }

            async fn entity_counts(&self) -> StorageResult<Vec<(huimin_domain::registry::EntityKind, String, u64)>> {
                let rows = sqlx::query(
                    "SELECT kind, SUBSTR(credit_code, 3, 6) AS district, COUNT(*) AS entities FROM legal_entity \
                     GROUP BY kind, SUBSTR(credit_code, 3, 6) ORDER BY district, kind",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(|e| storage_error("counting legal entities", e))?;
                rows.iter()
                    .map(|row| {
                        let kind: String = row.try_get("kind").map_err(|e| storage_error("kind", e))?;
                        let district: String = row.try_get("district").map_err(|e| storage_error("district", e))?;
                        let count: i64 = row.try_get("entities").map_err(|e| storage_error("entities", e))?;
                        Ok((
                            huimin_domain::registry::EntityKind::parse(&kind)
                                .ok_or_else(|| crate::codec::corrupt("legal_entity.kind", &kind, "not a kind"))?,
                            district,
                            u64::try_from(count).unwrap_or(0),
                        ))
                    })
                    .collect()
            }
        }
    };
}
pub(crate) use registry_store;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_split_on_size_and_on_repeated_keys() {
        let records = ["a", "b", "a", "c"];
        let chunks = chunks_without_repeats(&records, |record| record);
        assert_eq!(chunks, vec![&["a", "b"][..], &["a", "c"][..]]);
        let many: Vec<String> = (0..1_001).map(|n| n.to_string()).collect();
        let sizes: Vec<usize> = chunks_without_repeats(&many, String::as_str)
            .iter()
            .map(|c| c.len())
            .collect();
        assert_eq!(sizes, vec![500, 500, 1]);
    }
}
