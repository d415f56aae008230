//! The storage conformance suite: every storage behaviour, run on SQLite and on
//! PostgreSQL by the same test bodies (`on_both_backends!`), each on a fresh database.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test should panic

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use huimin_domain::area::{Area, AreaLevel};
use huimin_domain::identifiers::{AreaCode, CitizenId, GridCode, PersonName, Phone};
use huimin_domain::provenance::Provenance;
use huimin_domain::registry::{Ethnicity, LifeStatus, Person, PersonTag};
use huimin_domain::storage::{PageRequest, PersonQuery, RegistryStore, WriteCounts};
use huimin_store::testing::{fresh_postgres_database, fresh_sqlite_database};
use std::sync::Arc;

/// Declares each listed async test body once per backend.
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    let (url, _directory) = huimin_store::testing::fresh_sqlite_database().await;
                    let store = huimin_store::connect(&url).await.expect("open SQLite");
                    super::$test(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    let Some(url) = huimin_store::testing::fresh_postgres_database().await else { return };
                    let store = huimin_store::connect(&url).await.expect("open PostgreSQL");
                    super::$test(store).await;
                }
            )*
        }
    };
}

on_both_backends!(
    person_versions_keep_history_and_read_as_of,
    identical_writes_are_unchanged_and_repeats_in_a_batch_are_updates,
    person_search_by_name_initials_and_area_in_pinyin_order,
    areas_round_trip_with_boundaries,
    generated_city_round_trips_with_links_and_statistics,
    reopening_a_database_does_not_reapply_migrations,
    names_are_read_in_one_call_and_statistics_refresh,
    a_large_first_load_is_bulk_loaded_with_the_same_results,
    a_large_first_load_that_repeats_a_key_versions_the_repeat,
    a_bulk_load_appends_chunks_and_writes_repeats_on_commit,
    a_bulk_load_starts_only_on_an_empty_registry,
    a_bulk_load_dropped_before_commit_leaves_nothing,
    a_bulk_load_whose_appends_repeat_a_key_fails_whole,
    catalogue_versions_resources_and_refuses_without_writing,
    catalogue_search_matches_chinese_words_filters_and_pages,
    each_registry_field_has_one_authoritative_resource,
    the_demo_catalogue_publishes_whole,
    dataset_batches_insert_update_repeat_delete_and_link,
    an_interrupted_batch_resumes_and_an_atomic_one_leaves_nothing,
    sharing_requests_are_kept_decided_once_and_listed,
    a_disagreeing_source_opens_one_dispute_for_the_authority,
    subscribed_resources_keep_an_ordered_outbox_and_deliveries_move_cursors,
    audit_entries_are_counted_per_shanghai_day_and_outcome,
    cases_keep_their_timeline_and_refuse_a_stale_change,
    case_facts_sum_into_indicators_and_nearby_open_cases_are_found,
    knowledge_articles_are_kept_replaced_and_found_by_chinese_bigrams,
    patrol_visits_are_kept_per_grid_and_tagged_people_found,
    manholes_are_kept_by_code_and_the_latest_appraisal_decides_danger,
    tenancies_are_registered_once_ended_once_and_kept,
    sms_messages_are_kept_once_and_ticketed_or_dismissed_once,
);

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, hour, 0, 0).unwrap()
}

fn provenance(batch: &str, recorded_at: DateTime<Utc>) -> Provenance {
    Provenance {
        source: "公安局".into(),
        batch: batch.into(),
        recorded_at,
    }
}

fn citizen(area: &str, birth: (i32, u32, u32), sequence: u16) -> CitizenId {
    let birth = NaiveDate::from_ymd_opt(birth.0, birth.1, birth.2).unwrap();
    CitizenId::from_parts(&AreaCode::parse(area).unwrap(), birth, sequence).unwrap()
}

fn person(id: CitizenId, name: &str, grid: &str) -> Person {
    Person {
        citizen_id: id,
        name: PersonName::parse(name).unwrap(),
        ethnicity: Ethnicity::HAN,
        hukou_address: "扬州市广陵区文昌中路18号".into(),
        residence_address: "扬州市广陵区文昌中路18号".into(),
        phone: Some(Phone::parse("13812345678").unwrap()),
        life_status: LifeStatus::Alive,
        tags: [PersonTag::Veteran].into_iter().collect(),
        grid: Some(GridCode::parse(grid).unwrap()),
    }
}

const GRID_A: &str = "321002001001001";
const GRID_B: &str = "321002001002001";

async fn person_versions_keep_history_and_read_as_of(store: Arc<dyn RegistryStore>) {
    let id = citizen("321002", (1950, 3, 4), 11);
    let first = person(id.clone(), "张三", GRID_A);
    let counts = store
        .put_persons(
            std::slice::from_ref(&first),
            &provenance("b1", at(1)),
            &tester(),
        )
        .await
        .unwrap();
    assert_eq!(
        counts,
        WriteCounts {
            inserted: 1,
            updated: 0,
            unchanged: 0
        }
    );

    let mut second = first.clone();
    second.residence_address = "扬州市广陵区东关街1号".into();
    second.phone = None;
    let counts = store
        .put_persons(
            std::slice::from_ref(&second),
            &provenance("b2", at(3)),
            &tester(),
        )
        .await
        .unwrap();
    assert_eq!(
        counts,
        WriteCounts {
            inserted: 0,
            updated: 1,
            unchanged: 0
        }
    );

    let current = store.person(&id, None).await.unwrap().unwrap();
    assert_eq!(current.record, second);
    assert_eq!(current.provenance, provenance("b2", at(3)));
    assert_eq!(current.superseded_at, None);

    let past = store.person(&id, Some(at(2))).await.unwrap().unwrap();
    assert_eq!(past.record, first);
    assert_eq!(past.provenance.batch, "b1");
    assert_eq!(past.superseded_at, Some(at(3)));
    assert_eq!(
        store
            .person(&id, Some(at(3)))
            .await
            .unwrap()
            .unwrap()
            .record,
        second
    );
    assert!(
        store.person(&id, Some(at(0))).await.unwrap().is_none(),
        "nothing was known before the first batch"
    );

    let history = store.person_history(&id).await.unwrap();
    let batches: Vec<&str> = history
        .iter()
        .map(|version| version.provenance.batch.as_str())
        .collect();
    assert_eq!(batches, ["b2", "b1"]);
    assert!(
        store
            .person(&citizen("321002", (1950, 3, 4), 13), None)
            .await
            .unwrap()
            .is_none()
    );
}

async fn identical_writes_are_unchanged_and_repeats_in_a_batch_are_updates(
    store: Arc<dyn RegistryStore>,
) {
    let people: Vec<Person> = (0..1_200u16)
        .map(|n| {
            person(
                citizen("321002", (1980, 1, 1 + u32::from(n % 28)), n / 28),
                "李四",
                GRID_A,
            )
        })
        .collect();
    let counts = store
        .put_persons(&people, &provenance("b1", at(1)), &tester())
        .await
        .unwrap();
    assert_eq!(counts.inserted, 1_200);
    let counts = store
        .put_persons(&people, &provenance("b1-again", at(2)), &tester())
        .await
        .unwrap();
    assert_eq!(
        counts,
        WriteCounts {
            inserted: 0,
            updated: 0,
            unchanged: 1_200
        }
    );
    assert_eq!(store.count_persons().await.unwrap(), 1_200);

    let id = citizen("321002", (1990, 5, 5), 21);
    let mut renamed = person(id.clone(), "王五", GRID_A);
    let original = renamed.clone();
    renamed.name = PersonName::parse("王伍").unwrap();
    let counts = store
        .put_persons(
            &[original, renamed.clone()],
            &provenance("b3", at(4)),
            &tester(),
        )
        .await
        .unwrap();
    assert_eq!(
        counts,
        WriteCounts {
            inserted: 1,
            updated: 1,
            unchanged: 0
        }
    );
    assert_eq!(
        store.person(&id, None).await.unwrap().unwrap().record,
        renamed
    );
}

async fn person_search_by_name_initials_and_area_in_pinyin_order(store: Arc<dyn RegistryStore>) {
    let people = vec![
        person(citizen("321002", (1960, 1, 1), 1), "张三", GRID_A),
        person(citizen("321002", (1961, 1, 1), 1), "张山峰", GRID_B),
        person(citizen("321002", (1962, 1, 1), 1), "赵四", GRID_A),
        person(
            citizen("321002", (1963, 1, 1), 1),
            "阿依古丽·买买提",
            GRID_B,
        ),
        person(citizen("321002", (1964, 1, 1), 1), "张三", GRID_B),
    ];
    store
        .put_persons(&people, &provenance("b1", at(1)), &tester())
        .await
        .unwrap();
    let names = |page: &huimin_domain::storage::Page<huimin_domain::storage::PersonSummary>| {
        page.items
            .iter()
            .map(|summary| summary.name.clone())
            .collect::<Vec<_>>()
    };

    let by_name = store
        .search_persons(
            &PersonQuery {
                name: Some("张三".into()),
                ..Default::default()
            },
            PageRequest::new(1, 50),
        )
        .await
        .unwrap();
    assert_eq!(by_name.total, 2);
    assert_eq!(names(&by_name), ["张三", "张三"]);

    let by_initials = store
        .search_persons(
            &PersonQuery {
                initials: Some("zs".into()),
                ..Default::default()
            },
            PageRequest::new(1, 50),
        )
        .await
        .unwrap();
    assert_eq!(
        names(&by_initials),
        ["张三", "张三", "张山峰", "赵四"],
        "zs is a prefix of zs (张三, 赵四) and zsf (张山峰); pinyin order"
    );

    let everyone = store
        .search_persons(&PersonQuery::default(), PageRequest::new(1, 50))
        .await
        .unwrap();
    assert_eq!(
        names(&everyone),
        ["阿依古丽·买买提", "张三", "张三", "张山峰", "赵四"],
        "sorted by pinyin"
    );

    let second_page = store
        .search_persons(&PersonQuery::default(), PageRequest::new(2, 2))
        .await
        .unwrap();
    assert_eq!(
        (second_page.total, names(&second_page)),
        (5, vec!["张三".to_owned(), "张山峰".to_owned()])
    );
    let beyond = store
        .search_persons(&PersonQuery::default(), PageRequest::new(9, 2))
        .await
        .unwrap();
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.total, 5);

    let in_grid_a = store
        .search_persons(
            &PersonQuery {
                area: Some(GRID_A.into()),
                ..Default::default()
            },
            PageRequest::new(1, 50),
        )
        .await
        .unwrap();
    assert_eq!(names(&in_grid_a), ["张三", "赵四"]);
    let in_community = store
        .search_persons(
            &PersonQuery {
                area: Some("321002001002".into()),
                initials: Some("z".into()),
                ..Default::default()
            },
            PageRequest::new(1, 50),
        )
        .await
        .unwrap();
    assert_eq!(names(&in_community), ["张三", "张山峰"]);
}

async fn areas_round_trip_with_boundaries(store: Arc<dyn RegistryStore>) {
    let square = |x: f64| {
        geo::MultiPolygon::new(vec![
            geo::Rect::new(
                geo::coord! { x: x, y: 32.0 },
                geo::coord! { x: x + 0.01, y: 32.01 },
            )
            .to_polygon(),
        ])
    };
    let areas = vec![
        Area {
            code: "321002".into(),
            name: "广陵区".into(),
            level: AreaLevel::District,
            parent: None,
            boundary: None,
        },
        Area {
            code: GRID_A.into(),
            name: "第一网格".into(),
            level: AreaLevel::Grid,
            parent: Some("321002001001".into()),
            boundary: Some(square(119.4)),
        },
    ];
    let counts = store
        .put_areas(&areas, &provenance("areas", at(1)), &tester())
        .await
        .unwrap();
    assert_eq!(counts.inserted, 2);
    assert_eq!(store.areas(&[]).await.unwrap(), areas);
    assert_eq!(
        store
            .put_areas(&areas, &provenance("areas", at(2)), &tester())
            .await
            .unwrap()
            .unchanged,
        2
    );
    assert_eq!(store.areas(&[AreaLevel::Grid]).await.unwrap(), areas[1..]);
    assert_eq!(store.area(GRID_A).await.unwrap().as_ref(), Some(&areas[1]));
    assert!(store.area("999999").await.unwrap().is_none());
}

async fn generated_city_round_trips_with_links_and_statistics(store: Arc<dyn RegistryStore>) {
    let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let city = huimin_city::generate(
        &huimin_city::CityConfig {
            seed: 7,
            people: 2_000,
        },
        today,
    );
    let stamp = provenance("demo", at(1));
    store
        .put_areas(&city.areas, &stamp, &tester())
        .await
        .unwrap();
    assert_eq!(
        store
            .put_persons(&city.persons, &stamp, &tester())
            .await
            .unwrap()
            .inserted,
        city.persons.len() as u64
    );
    store
        .put_households(&city.households, &stamp, &tester())
        .await
        .unwrap();
    store
        .put_entities(&city.entities, &stamp, &tester())
        .await
        .unwrap();
    store
        .put_buildings(&city.buildings, &stamp, &tester())
        .await
        .unwrap();
    store
        .put_houses(&city.houses, &stamp, &tester())
        .await
        .unwrap();
    assert_eq!(
        store.count_persons().await.unwrap(),
        city.persons.len() as u64
    );

    for person in city.persons.iter().step_by(97) {
        assert_eq!(
            store
                .person(&person.citizen_id, None)
                .await
                .unwrap()
                .unwrap()
                .record,
            *person
        );
    }
    for household in city.households.iter().step_by(53) {
        assert_eq!(
            store
                .household(&household.number)
                .await
                .unwrap()
                .unwrap()
                .record,
            *household
        );
        let head = household.head().unwrap();
        let links = store.person_links(&head.citizen_id).await.unwrap();
        assert!(links.households.contains(household));
        // The 360 view in one call reads the same as the separate calls, and names every
        // member of the person's households.
        let view = store.person_view(&head.citizen_id).await.unwrap().unwrap();
        assert_eq!(view.links, links);
        assert_eq!(
            view.history,
            store.person_history(&head.citizen_id).await.unwrap()
        );
        let mut members: Vec<CitizenId> = links
            .households
            .iter()
            .flat_map(|household| household.members.iter().map(|m| m.citizen_id.clone()))
            .collect();
        members.sort();
        members.dedup();
        assert_eq!(
            view.member_names,
            store.person_names(&members).await.unwrap()
        );
    }
    let unknown = citizen("321002", (1901, 1, 1), 999);
    assert_eq!(store.person_view(&unknown).await.unwrap(), None);
    for entity in &city.entities {
        assert_eq!(
            store
                .entity(&entity.credit_code)
                .await
                .unwrap()
                .unwrap()
                .record,
            *entity
        );
        let links = store
            .person_links(&entity.legal_representative)
            .await
            .unwrap();
        assert!(links.represented_entities.contains(entity));
    }
    for house in city.houses.iter().step_by(31) {
        assert_eq!(
            store.house(&house.id).await.unwrap().unwrap().record,
            *house
        );
        for owner in &house.owners {
            assert!(
                store
                    .person_links(owner)
                    .await
                    .unwrap()
                    .owned_houses
                    .contains(house)
            );
        }
        for tenant in house.rental.tenants() {
            assert!(
                store
                    .person_links(tenant)
                    .await
                    .unwrap()
                    .rented_houses
                    .contains(house)
            );
        }
    }

    // Statistics agree with a count over the generated data.
    let alive: Vec<&Person> = city
        .persons
        .iter()
        .filter(|p| p.life_status == LifeStatus::Alive && p.grid.is_some())
        .collect();
    let pyramid = store.age_pyramid("321", today).await.unwrap();
    let pyramid_total: u64 = pyramid.iter().map(|band| band.male + band.female).sum();
    assert_eq!(pyramid_total, alive.len() as u64);
    let elderly = alive
        .iter()
        .filter(|p| huimin_domain::time::age_on(p.birth_date(), today) >= 60)
        .count() as u64;
    let ageing = store.ageing_by_community(today).await.unwrap();
    assert_eq!(
        ageing.iter().map(|rate| rate.aged_60_and_over).sum::<u64>(),
        elderly
    );
    assert_eq!(
        ageing.iter().map(|rate| rate.residents).sum::<u64>(),
        alive.len() as u64
    );
    assert!(
        ageing.iter().all(|rate| rate.area_name.ends_with("社区")),
        "community names joined: {ageing:?}"
    );

    let first_grid = city.houses[0].grid.as_str().to_owned();
    let houses = store
        .houses_in_area(&first_grid, PageRequest::new(1, 10))
        .await
        .unwrap();
    assert_eq!(
        houses.total,
        city.houses
            .iter()
            .filter(|h| h.grid.as_str() == first_grid)
            .count() as u64
    );

    // Writing the same city again changes nothing.
    let again = provenance("demo-again", at(2));
    assert_eq!(
        store
            .put_persons(&city.persons, &again, &tester())
            .await
            .unwrap()
            .unchanged,
        city.persons.len() as u64
    );
    assert_eq!(
        store
            .put_households(&city.households, &again, &tester())
            .await
            .unwrap()
            .unchanged,
        city.households.len() as u64
    );
    assert_eq!(
        store
            .put_houses(&city.houses, &again, &tester())
            .await
            .unwrap()
            .unchanged,
        city.houses.len() as u64
    );
    assert_eq!(
        store
            .put_entities(&city.entities, &again, &tester())
            .await
            .unwrap()
            .unchanged,
        city.entities.len() as u64
    );
}

async fn reopening_a_database_does_not_reapply_migrations(store: Arc<dyn RegistryStore>) {
    store.ping().await.unwrap();
    let id = citizen("110105", (1949, 12, 31), 2);
    store
        .put_persons(
            &[person(id, "赵六", GRID_A)],
            &provenance("b", at(1)),
            &tester(),
        )
        .await
        .unwrap();
    assert_eq!(store.count_persons().await.unwrap(), 1);
}

/// Both migration folders create the same tables with the same columns in the same order.
#[tokio::test]
async fn sqlite_and_postgres_schemas_match() {
    let (sqlite_url, _directory) = fresh_sqlite_database().await;
    let sqlite = huimin_store::SqliteStore::connect(&sqlite_url)
        .await
        .unwrap();
    let Some(postgres_url) = fresh_postgres_database().await else {
        return;
    };
    let postgres = huimin_store::PostgresStore::connect(&postgres_url)
        .await
        .unwrap();
    let sqlite_columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid",
    )
    .fetch_all(sqlite.pool())
    .await
    .unwrap();
    let postgres_columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    )
    .fetch_all(postgres.pool())
    .await
    .unwrap();
    assert!(sqlite_columns.len() > 50);
    assert_eq!(sqlite_columns, postgres_columns);
}

/// Reopening an existing SQLite file keeps its data and does not fail on migrations.
#[tokio::test]
async fn sqlite_file_survives_reopening() {
    let (url, _directory) = fresh_sqlite_database().await;
    let store = huimin_store::connect(&url).await.unwrap();
    store
        .put_persons(
            &[person(citizen("321002", (1970, 7, 7), 5), "钱七", GRID_A)],
            &provenance("b", at(1)),
            &tester(),
        )
        .await
        .unwrap();
    drop(store);
    let reopened = huimin_store::connect(&url).await.unwrap();
    assert_eq!(reopened.count_persons().await.unwrap(), 1);
}

/// SQLite only: migration 0003 rebuilds the person table of a database made by an older
/// Huimin (key as PRIMARY KEY) with its rows, and the key it leaves is a named unique
/// index that keeps refusing a second row for a number.
#[tokio::test]
async fn the_person_key_migration_keeps_the_rows_of_an_older_sqlite_database() {
    let (url, _directory) = fresh_sqlite_database().await;
    let older = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            url.parse::<sqlx::sqlite::SqliteConnectOptions>()
                .unwrap()
                .create_if_missing(true),
        )
        .await
        .unwrap();
    sqlx::raw_sql(
        "CREATE TABLE schema_migration (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at_us BIGINT NOT NULL)",
    )
    .execute(&older)
    .await
    .unwrap();
    for migration in huimin_store::MIGRATIONS
        .iter()
        .filter(|migration| migration.version < 3)
    {
        sqlx::raw_sql(sqlx::AssertSqlSafe(migration.sqlite))
            .execute(&older)
            .await
            .unwrap();
        sqlx::query("INSERT INTO schema_migration VALUES ($1, $2, 0)")
            .bind(migration.version)
            .bind(migration.name)
            .execute(&older)
            .await
            .unwrap();
    }
    let id = citizen("321002", (1970, 7, 7), 5);
    sqlx::query(
        "INSERT INTO person VALUES ($1, '钱七', 'qq', 'qianqi', 'male', '1970-07-07', 1, '扬州市', '扬州市', NULL, \
         'alive', '', NULL, 'older', 'b0', 0)",
    )
    .bind(id.as_str())
    .execute(&older)
    .await
    .unwrap();
    older.close().await;

    let store = huimin_store::SqliteStore::connect(&url).await.unwrap();
    let key: String = sqlx::query_scalar(
        "SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = 'person_key'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(key, "CREATE UNIQUE INDEX person_key ON person (citizen_id)");
    let stored = store.person(&id, None).await.unwrap().unwrap();
    assert_eq!(stored.record.name.as_str(), "钱七");
    assert_eq!(stored.provenance.source, "older");
    let duplicate = sqlx::query("INSERT INTO person SELECT * FROM person")
        .execute(store.pool())
        .await;
    assert!(
        duplicate.is_err(),
        "the unique key refuses a second row for a number"
    );
    let mut renamed = stored.record.clone();
    renamed.name = PersonName::parse("钱八").unwrap();
    let counts = store
        .put_persons(
            std::slice::from_ref(&renamed),
            &provenance("b1", at(1)),
            &tester(),
        )
        .await
        .unwrap();
    assert_eq!((counts.inserted, counts.updated), (0, 1));
    assert_eq!(store.count_persons().await.unwrap(), 1);
}

async fn names_are_read_in_one_call_and_statistics_refresh(store: Arc<dyn RegistryStore>) {
    let people: Vec<Person> = (0..600u16)
        .map(|n| {
            person(
                citizen("321002", (1985, 2, 1 + u32::from(n % 28)), n / 28),
                "孙八",
                GRID_A,
            )
        })
        .collect();
    store
        .put_persons(&people, &provenance("b", at(1)), &tester())
        .await
        .unwrap();
    let mut wanted: Vec<CitizenId> = people.iter().map(|p| p.citizen_id.clone()).collect();
    wanted.push(citizen("110105", (1949, 12, 31), 2));
    let names = store.person_names(&wanted).await.unwrap();
    assert_eq!(
        names.len(),
        600,
        "the unregistered person is left out; chunks of 500 are joined"
    );
    assert!(names.iter().all(|(_, name)| name == "孙八"));
    assert!(store.person_names(&[]).await.unwrap().is_empty());
    store.refresh_statistics().await.unwrap();
}

/// SQLite only: after a statistics refresh no per-value samples remain, because with them
/// SQLite re-prepares statements on every new binding (a quarter of the 360 view's time).
#[tokio::test]
async fn sqlite_statistics_keep_summaries_but_no_value_samples() {
    let (url, _directory) = fresh_sqlite_database().await;
    let sqlite = huimin_store::SqliteStore::connect(&url).await.unwrap();
    let people: Vec<Person> = (0..300u16)
        .map(|n| {
            person(
                citizen("321002", (1975, 4, 1 + u32::from(n % 28)), n / 28),
                "周九",
                GRID_A,
            )
        })
        .collect();
    sqlite
        .put_persons(&people, &provenance("b", at(1)), &tester())
        .await
        .unwrap();
    sqlite.refresh_statistics().await.unwrap();
    let summaries: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_stat1")
        .fetch_one(sqlite.pool())
        .await
        .unwrap();
    assert!(summaries > 0, "ANALYZE ran");
    let has_stat4: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat4'")
            .fetch_one(sqlite.pool())
            .await
            .unwrap();
    if has_stat4 > 0 {
        let samples: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_stat4")
            .fetch_one(sqlite.pool())
            .await
            .unwrap();
        assert_eq!(samples, 0);
    }
}

/// `n` distinct people, 1,000 to a birth day.
fn many_people(n: u32, name: &str) -> Vec<Person> {
    (0..n)
        .map(|index| {
            let birth = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()
                + chrono::Days::new(u64::from(index / 1_000));
            let id = CitizenId::from_parts(
                &AreaCode::parse("321002").unwrap(),
                birth,
                u16::try_from(index % 1_000).unwrap(),
            )
            .unwrap();
            person(id, name, GRID_A)
        })
        .collect()
}

/// A first load of more than `BULK_LOAD_MIN_ROWS` records takes the bulk path (indexes
/// dropped and rebuilt, binary COPY on PostgreSQL); what is stored and counted must be
/// what the ordinary path stores, including text that COPY's text format would escape.
async fn a_large_first_load_is_bulk_loaded_with_the_same_results(store: Arc<dyn RegistryStore>) {
    let mut people = many_people(12_000, "郑十");
    // Reverse key order: the rebuilt key must not depend on the order rows came in.
    people.reverse();
    people[0].hukou_address = "tab\there, back\\slash, line\nbreak, carriage\rreturn, \\N".into();
    people[1].phone = None;
    people[1].grid = None;
    people[1].tags.clear();
    people[2].name = PersonName::parse("阿依古丽·买买提").unwrap();
    let counts = store
        .put_persons(&people, &provenance("bulk", at(1)), &tester())
        .await
        .unwrap();
    assert_eq!(
        counts,
        WriteCounts {
            inserted: 12_000,
            updated: 0,
            unchanged: 0
        }
    );
    assert_eq!(store.count_persons().await.unwrap(), 12_000);
    for expected in &people[..3] {
        let stored = store
            .person(&expected.citizen_id, None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&stored.record, expected);
        assert_eq!(stored.provenance, provenance("bulk", at(1)));
    }
    // The rebuilt indexes answer searches.
    let page = PageRequest::new(1, 20);
    let by_name = store
        .search_persons(
            &PersonQuery {
                name: Some("郑十".into()),
                ..PersonQuery::default()
            },
            page,
        )
        .await
        .unwrap();
    assert_eq!(by_name.total, 11_999);
    let by_initials = store
        .search_persons(
            &PersonQuery {
                initials: Some("ayglmmt".into()),
                ..PersonQuery::default()
            },
            page,
        )
        .await
        .unwrap();
    assert_eq!(by_initials.total, 1);
    // The table is no longer empty: the same batch again is compared, not bulk loaded.
    let counts = store
        .put_persons(&people, &provenance("bulk-again", at(2)), &tester())
        .await
        .unwrap();
    assert_eq!(counts.unchanged, 12_000);
}

/// A large batch that repeats a key, into an empty table, takes the ordinary path, where a
/// repeat is an update of the first appearance.
async fn a_large_first_load_that_repeats_a_key_versions_the_repeat(other: Arc<dyn RegistryStore>) {
    let mut repeating = many_people(11_000, "郑十");
    let mut renamed = repeating[5].clone();
    renamed.name = PersonName::parse("郑拾").unwrap();
    repeating.push(renamed.clone());
    let counts = other
        .put_persons(&repeating, &provenance("repeats", at(3)), &tester())
        .await
        .unwrap();
    assert_eq!((counts.inserted, counts.updated), (11_000, 1));
    assert_eq!(
        other
            .person(&renamed.citizen_id, None)
            .await
            .unwrap()
            .unwrap()
            .record,
        renamed
    );
}

/// A bulk load takes its people in chunks, in any order, and commits them with the
/// repeats the caller set aside written as updates: what is stored is what `put_persons`
/// stores.
async fn a_bulk_load_appends_chunks_and_writes_repeats_on_commit(store: Arc<dyn RegistryStore>) {
    let mut people = many_people(12_000, "郑十");
    // Neither in key order nor in one piece.
    people.swap(0, 11_999);
    people[1].hukou_address = "tab\there, back\\slash, line\nbreak, carriage\rreturn, \\N".into();
    people[2].phone = None;
    people[2].grid = None;
    let mut renamed = people[7].clone();
    renamed.name = PersonName::parse("郑拾").unwrap();
    let mut load = store
        .begin_person_bulk_load(&provenance("load", at(1)), &tester())
        .await
        .unwrap()
        .expect("an empty registry takes a bulk load");
    for chunk in people.chunks(5_000) {
        load.append(chunk).await.unwrap();
    }
    let counts = load.commit(std::slice::from_ref(&renamed)).await.unwrap();
    assert_eq!(
        counts,
        WriteCounts {
            inserted: 12_000,
            updated: 1,
            unchanged: 0
        }
    );
    assert_eq!(store.count_persons().await.unwrap(), 12_000);
    for expected in [&people[0], &people[1], &people[2]] {
        let stored = store
            .person(&expected.citizen_id, None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&stored.record, expected);
        assert_eq!(stored.provenance, provenance("load", at(1)));
    }
    let history = store.person_history(&renamed.citizen_id).await.unwrap();
    let names: Vec<&str> = history
        .iter()
        .map(|version| version.record.name.as_str())
        .collect();
    assert_eq!(names, ["郑拾", "郑十"]);
    let by_name = store
        .search_persons(
            &PersonQuery {
                name: Some("郑十".into()),
                ..PersonQuery::default()
            },
            PageRequest::new(1, 20),
        )
        .await
        .unwrap();
    assert_eq!(by_name.total, 11_999);
}

/// A registry with anyone in it gets no bulk load: writes there must be compared.
async fn a_bulk_load_starts_only_on_an_empty_registry(store: Arc<dyn RegistryStore>) {
    let someone = person(citizen("321002", (1960, 1, 1), 3), "钱七", GRID_A);
    store
        .put_persons(
            std::slice::from_ref(&someone),
            &provenance("b", at(1)),
            &tester(),
        )
        .await
        .unwrap();
    assert!(
        store
            .begin_person_bulk_load(&provenance("load", at(2)), &tester())
            .await
            .unwrap()
            .is_none()
    );
}

/// Dropping a load without committing it rolls back its rows and its dropped indexes:
/// the registry is empty, searchable and open to a new load.
async fn a_bulk_load_dropped_before_commit_leaves_nothing(store: Arc<dyn RegistryStore>) {
    let people = many_people(3_000, "冯一");
    let mut load = store
        .begin_person_bulk_load(&provenance("load", at(1)), &tester())
        .await
        .unwrap()
        .unwrap();
    load.append(&people).await.unwrap();
    drop(load);
    assert_eq!(store.count_persons().await.unwrap(), 0);
    let counts = store
        .put_persons(&people[..10], &provenance("after", at(2)), &tester())
        .await
        .unwrap();
    assert_eq!(counts.inserted, 10);
    assert!(
        store
            .begin_person_bulk_load(&provenance("again", at(3)), &tester())
            .await
            .unwrap()
            .is_none()
    );
}

/// A caller that appends one identity number twice breaks the load's contract: the
/// unique key, built again on commit, refuses it, and nothing of the load is kept.
async fn a_bulk_load_whose_appends_repeat_a_key_fails_whole(store: Arc<dyn RegistryStore>) {
    let people = many_people(2_000, "冯一");
    let mut load = store
        .begin_person_bulk_load(&provenance("load", at(1)), &tester())
        .await
        .unwrap()
        .unwrap();
    load.append(&people).await.unwrap();
    load.append(&people[..1]).await.unwrap();
    assert!(load.commit(&[]).await.is_err());
    assert_eq!(store.count_persons().await.unwrap(), 0);
    // The key is back: a repeat written the ordinary way is an update, not a second row.
    store
        .put_persons(&people[..1], &provenance("b", at(2)), &tester())
        .await
        .unwrap();
    let mut renamed = people[0].clone();
    renamed.name = PersonName::parse("冯二").unwrap();
    let counts = store
        .put_persons(
            std::slice::from_ref(&renamed),
            &provenance("c", at(3)),
            &tester(),
        )
        .await
        .unwrap();
    assert_eq!((counts.inserted, counts.updated), (0, 1));
    assert_eq!(store.count_persons().await.unwrap(), 1);
}

/// After a bulk load, each backend has the person table's indexes back.
#[tokio::test]
async fn a_bulk_load_rebuilds_every_index() {
    let people = many_people(10_500, "冯一");
    let (url, _directory) = fresh_sqlite_database().await;
    let sqlite = huimin_store::SqliteStore::connect(&url).await.unwrap();
    let query = "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'person' ORDER BY name";
    let before: Vec<(String, Option<String>)> = sqlx::query_as(query)
        .fetch_all(sqlite.pool())
        .await
        .unwrap();
    sqlite
        .put_persons(&people, &provenance("bulk", at(1)), &tester())
        .await
        .unwrap();
    let after: Vec<(String, Option<String>)> = sqlx::query_as(query)
        .fetch_all(sqlite.pool())
        .await
        .unwrap();
    let names: Vec<&str> = after.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["person_grid", "person_key", "person_search"]);
    assert_eq!(before, after);
    assert!(
        after[1]
            .1
            .as_deref()
            .unwrap()
            .starts_with("CREATE UNIQUE INDEX")
    );
    let cache_size: i64 = sqlx::query_scalar("PRAGMA cache_size")
        .fetch_one(sqlite.pool())
        .await
        .unwrap();
    assert_eq!(cache_size, -65536, "the bulk load restores the page cache");

    let Some(url) = fresh_postgres_database().await else {
        return;
    };
    let postgres = huimin_store::PostgresStore::connect(&url).await.unwrap();
    let query =
        "SELECT indexname::text, indexdef FROM pg_indexes WHERE tablename = 'person' ORDER BY 1";
    let before: Vec<(String, String)> = sqlx::query_as(query)
        .fetch_all(postgres.pool())
        .await
        .unwrap();
    postgres
        .put_persons(&people, &provenance("bulk", at(1)), &tester())
        .await
        .unwrap();
    let after: Vec<(String, String)> = sqlx::query_as(query)
        .fetch_all(postgres.pool())
        .await
        .unwrap();
    let names: Vec<&str> = after.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["person_grid", "person_pkey", "person_search"]);
    assert_eq!(before, after);
    let primary: String = sqlx::query_scalar(
        "SELECT conname::text FROM pg_constraint WHERE conrelid = 'person'::regclass AND contype = 'p'",
    )
    .fetch_one(postgres.pool())
    .await
    .unwrap();
    assert_eq!(
        primary, "person_pkey",
        "the key comes back as the primary key constraint"
    );
}

/// SQLite only: an in-memory database, which no second connection can open, still answers
/// the 360 view (through sqlx instead of the read-only connections to the file).
#[tokio::test]
async fn an_in_memory_sqlite_database_answers_the_360_view() {
    let store = huimin_store::connect("sqlite::memory:").await.unwrap();
    let someone = person(citizen("321002", (1960, 1, 1), 3), "钱七", GRID_A);
    store
        .put_persons(
            std::slice::from_ref(&someone),
            &provenance("b", at(1)),
            &tester(),
        )
        .await
        .unwrap();
    let view = store
        .person_view(&someone.citizen_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.history.len(), 1);
    assert_eq!(view.history[0].record, someone);
}

/// The actor of the suite's writes.
fn tester() -> huimin_domain::audit::Actor {
    huimin_domain::audit::Actor::system("conformance")
}

// ---------------------------------------------------------------- catalogue

mod catalogue_fixtures {
    use huimin_domain::audit::AuditEvent;
    use huimin_domain::catalogue::{Department, DepartmentDraft, Resource, ResourceDraft};

    pub fn publisher(action: &str, object: &str) -> AuditEvent {
        AuditEvent::new(
            "staff:data.officer",
            "department_data_officer",
            action,
            "resource",
            object,
        )
    }

    /// The demo city's department `id` and resource `code`, validated.
    pub fn department(id: &str) -> Department {
        let draft: DepartmentDraft = huimin_city::catalogue()
            .departments
            .into_iter()
            .find(|department| department.id == id)
            .expect("a demo department");
        draft.validate().expect("valid")
    }

    pub fn draft(code: &str) -> ResourceDraft {
        huimin_city::catalogue()
            .resources
            .into_iter()
            .find(|resource| resource.code == code)
            .expect("a demo resource")
    }

    pub fn resource(code: &str) -> Resource {
        draft(code).validate().expect("valid")
    }
}

async fn catalogue_versions_resources_and_refuses_without_writing(
    store: Arc<dyn huimin_domain::storage::Store>,
) {
    use catalogue_fixtures::*;
    use huimin_domain::catalogue::{DepartmentId, Publication, ResourceCode};
    let (gongan, minzheng) = (department("gongan"), department("minzheng"));
    assert!(
        store
            .put_department(&gongan, &publisher("department.put", "gongan"), at(1))
            .await
            .unwrap()
    );
    let mut renamed = gongan.clone();
    renamed.systems.push("治安管理信息系统".into());
    assert!(
        !store
            .put_department(&renamed, &publisher("department.put", "gongan"), at(1))
            .await
            .unwrap()
    );
    assert_eq!(store.department(&gongan.id).await.unwrap(), Some(renamed));

    let residence = resource("301001/000001");
    let code = residence.code.clone();
    let audited_before = store.audit_size().await.unwrap();
    // A provider that is not catalogued yet: refused, nothing written.
    let mut orphan = residence.clone();
    orphan.provider = minzheng.id.clone();
    assert_eq!(
        store
            .publish_resource(
                &orphan,
                &publisher("resource.publish", code.as_str()),
                at(2)
            )
            .await
            .unwrap(),
        Publication::UnknownProvider
    );
    assert_eq!(store.resource(&code, None).await.unwrap(), None);
    assert_eq!(store.audit_size().await.unwrap(), audited_before);

    let publish = |resource: huimin_domain::catalogue::Resource, hour| {
        let store = store.clone();
        async move {
            store
                .publish_resource(
                    &resource,
                    &publisher("resource.publish", resource.code.as_str()),
                    at(hour),
                )
                .await
                .unwrap()
        }
    };
    assert_eq!(
        publish(residence.clone(), 2).await,
        Publication::Published { version: 1 }
    );
    assert_eq!(
        publish(residence.clone(), 3).await,
        Publication::Unchanged { version: 1 }
    );
    let mut revised = residence.clone();
    revised.summary = "在本市居住的人员的实际居住地址、登记日期和所在网格。".into();
    revised.keywords.push("网格".into());
    assert_eq!(
        publish(revised.clone(), 4).await,
        Publication::Published { version: 2 }
    );
    assert_eq!(
        store.audit_size().await.unwrap(),
        audited_before + 2,
        "two versions audited; the unchanged one wrote nothing"
    );

    let current = store.resource(&code, None).await.unwrap().unwrap();
    assert_eq!(
        (current.version, &current.resource, current.published_at),
        (2, &revised, at(4))
    );
    assert_eq!(current.published_by, "staff:data.officer");
    let first = store.resource(&code, Some(1)).await.unwrap().unwrap();
    assert_eq!((first.version, &first.resource), (1, &residence));
    assert_eq!(store.resource(&code, Some(3)).await.unwrap(), None);
    let versions: Vec<u32> = store
        .resource_versions(&code)
        .await
        .unwrap()
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(versions, [2, 1]);

    // The code is 公安's: 民政 cannot publish under it.
    store
        .put_department(&minzheng, &publisher("department.put", "minzheng"), at(5))
        .await
        .unwrap();
    let mut taken = revised.clone();
    taken.provider = minzheng.id.clone();
    assert_eq!(
        publish(taken, 5).await,
        Publication::ProvidedByAnother {
            provider: DepartmentId::parse("gongan").unwrap()
        }
    );
    assert_eq!(
        store.resource(&code, None).await.unwrap().unwrap().version,
        2
    );
    assert_eq!(
        store
            .resource(&ResourceCode::parse("301001/999999").unwrap(), None)
            .await
            .unwrap(),
        None
    );
}

async fn catalogue_search_matches_chinese_words_filters_and_pages(
    store: Arc<dyn huimin_domain::storage::Store>,
) {
    use catalogue_fixtures::*;
    use huimin_domain::catalogue::{DepartmentId, ResourceQuery, SharingType, SubjectKind};
    let catalogue = huimin_city::catalogue();
    for department in catalogue.departments {
        let department = department.validate().unwrap();
        store
            .put_department(
                &department,
                &publisher("department.put", department.id.as_str()),
                at(1),
            )
            .await
            .unwrap();
    }
    for code in [
        "101001/000001",
        "301001/000001",
        "301004/000001",
        "101002/000001",
        "301009/000003",
    ] {
        let resource = resource(code);
        store
            .publish_resource(&resource, &publisher("resource.publish", code), at(2))
            .await
            .unwrap();
    }
    let find = |query: ResourceQuery, page: PageRequest| {
        let store = store.clone();
        async move {
            let page = store.resources(&query, page).await.unwrap();
            let codes: Vec<String> = page
                .items
                .iter()
                .map(|item| item.code.to_string())
                .collect();
            (page.total, codes)
        }
    };
    let text = |text: &str| ResourceQuery {
        text: Some(text.into()),
        ..ResourceQuery::default()
    };
    let all = PageRequest::new(1, 50);
    // An item title (居住地址 of 公安; 人社's 联系地址 does not say 居住).
    assert_eq!(
        find(text("居住"), all).await,
        (1, vec!["301001/000001".into()])
    );
    // Every word must match; the provider's name is searched too.
    assert_eq!(
        find(text("地址 公安局"), all).await,
        (2, vec!["101001/000001".into(), "301001/000001".into()])
    );
    // 户籍地址, 居住地址, 联系地址 — 市场监管 calls its address 住所.
    assert_eq!(find(text("地址"), all).await.0, 3);
    // Latin letters in any case; LIKE's wildcards are plain characters.
    assert_eq!(find(text("CITIZEN_ID"), all).await.0, 4);
    assert_eq!(find(text("%"), all).await, (0, vec![]));
    assert_eq!(find(text("社_"), all).await, (0, vec![]));
    // Filters, alone and with words.
    let by_provider = ResourceQuery {
        provider: Some(DepartmentId::parse("gongan").unwrap()),
        ..ResourceQuery::default()
    };
    assert_eq!(find(by_provider, all).await.0, 2);
    let refused = ResourceQuery {
        sharing: Some(SharingType::NotShared),
        ..ResourceQuery::default()
    };
    assert_eq!(find(refused, all).await, (1, vec!["301009/000003".into()]));
    let entities = ResourceQuery {
        subject: Some(SubjectKind::Entity),
        text: Some("住所".into()),
        ..ResourceQuery::default()
    };
    assert_eq!(find(entities, all).await, (1, vec!["101002/000001".into()]));
    // Pages in code order, the total on every page.
    let everything = ResourceQuery::default();
    assert_eq!(
        find(everything.clone(), PageRequest::new(1, 2)).await,
        (5, vec!["101001/000001".into(), "101002/000001".into()])
    );
    assert_eq!(
        find(everything.clone(), PageRequest::new(3, 2)).await,
        (5, vec!["301009/000003".into()])
    );
    assert_eq!(find(everything, PageRequest::new(4, 2)).await, (5, vec![]));
    let page = store.resources(&text("法人"), all).await.unwrap();
    assert_eq!(page.items[0].provider_name, "扬州市市场监督管理局");
    assert_eq!(page.items[0].name, "法人基础信息");
}

async fn each_registry_field_has_one_authoritative_resource(
    store: Arc<dyn huimin_domain::storage::Store>,
) {
    use catalogue_fixtures::*;
    use huimin_domain::catalogue::{Publication, RegistryField, ResourceCode};
    for id in ["gongan", "renshe"] {
        store
            .put_department(&department(id), &publisher("department.put", id), at(1))
            .await
            .unwrap();
    }
    let residence = resource("301001/000001");
    let publish = |resource: huimin_domain::catalogue::Resource| {
        let store = store.clone();
        async move {
            store
                .publish_resource(
                    &resource,
                    &publisher("resource.publish", resource.code.as_str()),
                    at(2),
                )
                .await
                .unwrap()
        }
    };
    assert_eq!(
        publish(residence.clone()).await,
        Publication::Published { version: 1 }
    );
    // 人社 claims the residence address too: refused whole, naming 公安's resource.
    let mut insurance_draft = draft("301004/000001");
    let contact = insurance_draft
        .items
        .iter_mut()
        .find(|item| item.name == "contact_address")
        .unwrap();
    contact.authoritative = true;
    let claiming = insurance_draft.clone().validate().unwrap();
    assert_eq!(
        publish(claiming.clone()).await,
        Publication::AuthorityTaken {
            field: RegistryField::PersonResidenceAddress,
            resource: residence.code.clone()
        }
    );
    assert_eq!(
        store.resource(&claiming.code, None).await.unwrap(),
        None,
        "nothing of the refused resource is kept"
    );
    // As a compared (non-authoritative) source it is accepted, and its phone is its own.
    assert_eq!(
        publish(resource("301004/000001")).await,
        Publication::Published { version: 1 }
    );
    let sources = store.authoritative_sources().await.unwrap();
    let insurance = ResourceCode::parse("301004/000001").unwrap();
    // In the order of the fields' codes.
    assert_eq!(
        sources,
        [
            (RegistryField::PersonPhone, insurance.clone()),
            (
                RegistryField::PersonResidenceAddress,
                residence.code.clone()
            ),
        ]
    );
    // 公安 gives the field up in a new version; then 人社 may take it.
    let mut released = residence.clone();
    for item in &mut released.items {
        if let Some(feed) = &mut item.feeds {
            feed.authoritative = false;
        }
    }
    assert_eq!(
        publish(released).await,
        Publication::Published { version: 2 }
    );
    let mut taking = claiming.clone();
    taking.summary.push_str("（权威来源）");
    assert_eq!(publish(taking).await, Publication::Published { version: 2 });
    let sources = store.authoritative_sources().await.unwrap();
    assert!(
        sources.contains(&(RegistryField::PersonResidenceAddress, insurance.clone())),
        "{sources:?}"
    );
}

async fn the_demo_catalogue_publishes_whole(store: Arc<dyn huimin_domain::storage::Store>) {
    use catalogue_fixtures::*;
    use huimin_domain::catalogue::{Publication, ResourceQuery};
    let catalogue = huimin_city::catalogue();
    for department in &catalogue.departments {
        let department = department.clone().validate().unwrap();
        assert!(
            store
                .put_department(
                    &department,
                    &publisher("department.put", department.id.as_str()),
                    at(1)
                )
                .await
                .unwrap()
        );
    }
    for draft in &catalogue.resources {
        let resource = draft.clone().validate().unwrap();
        let outcome = store
            .publish_resource(
                &resource,
                &publisher("resource.publish", draft.code.as_str()),
                at(2),
            )
            .await
            .unwrap();
        assert_eq!(
            outcome,
            Publication::Published { version: 1 },
            "{}",
            draft.code
        );
    }
    let all = store.all_resources().await.unwrap();
    assert_eq!(all.len(), catalogue.resources.len());
    let mut codes: Vec<&str> = catalogue
        .resources
        .iter()
        .map(|draft| draft.code.as_str())
        .collect();
    codes.sort_unstable();
    assert_eq!(
        all.iter()
            .map(|published| published.resource.code.as_str())
            .collect::<Vec<_>>(),
        codes
    );
    let page = store
        .resources(&ResourceQuery::default(), PageRequest::new(1, 200))
        .await
        .unwrap();
    assert_eq!(page.total as usize, catalogue.resources.len());
    // Departments in the pinyin order of their names: 国家税务总局… (guo) before 扬州市… (yang).
    let departments = store.departments().await.unwrap();
    assert_eq!(departments.len(), catalogue.departments.len());
    assert_eq!(departments[0].id.as_str(), "shuiwu");
}

// ---------------------------------------------------------------- datasets

mod dataset_fixtures {
    use super::catalogue_fixtures::{department, publisher, resource};
    use huimin_domain::catalogue::Resource;
    use huimin_domain::dataset::{BatchStart, Chunk, Layout, LoadMode, RowProblem};
    use huimin_domain::storage::Store;

    pub const CONTRIBUTIONS: &str = "301004/000001";

    /// 人社 and its contributions resource in the catalogue.
    pub async fn catalogued(store: &dyn Store) -> Resource {
        store
            .put_department(
                &department("renshe"),
                &publisher("department.put", "renshe"),
                super::at(1),
            )
            .await
            .unwrap();
        let contributions = resource(CONTRIBUTIONS);
        store
            .publish_resource(
                &contributions,
                &publisher("resource.publish", CONTRIBUTIONS),
                super::at(1),
            )
            .await
            .unwrap();
        contributions
    }

    pub fn start(batch: &str, mode: LoadMode, atomic: bool, digest: &str, hour: u32) -> BatchStart {
        BatchStart {
            batch_id: batch.into(),
            resource: huimin_domain::catalogue::ResourceCode::parse(CONTRIBUTIONS).unwrap(),
            resource_version: 1,
            provider: huimin_domain::catalogue::DepartmentId::parse("renshe").unwrap(),
            mode,
            atomic,
            digest: digest.into(),
            actor: huimin_domain::audit::Actor::system("import"),
            started_at: super::at(hour),
        }
    }

    /// Rows as the importer checks them: `rows` are (file row, cells) under `header`.
    pub fn chunk(
        resource: &Resource,
        header: &[&str],
        mode: LoadMode,
        rows: &[(u64, Vec<&str>)],
    ) -> Chunk {
        let layout = Layout::from_header(resource, header, mode).unwrap();
        let mut chunk = Chunk::default();
        for (row, cells) in rows {
            match layout.record(resource, cells) {
                Ok(record) => {
                    chunk.tally.count_valid(resource, &record);
                    chunk.records.push((*row, record));
                }
                Err(problems) => {
                    chunk.tally.count_rejected();
                    chunk.problems.extend(
                        problems
                            .into_iter()
                            .map(|problem| RowProblem { row: *row, problem }),
                    );
                }
            }
            chunk.last_row = *row;
        }
        chunk
    }
}

const HEADER: [&str; 4] = ["citizen_id", "insurance_type", "month", "salary_base"];

async fn dataset_batches_insert_update_repeat_delete_and_link(
    store: Arc<dyn huimin_domain::storage::Store>,
) {
    use dataset_fixtures::*;
    use huimin_domain::dataset::{BatchOpening, BatchStatus, DatasetCounts, LoadMode};
    let contributions = catalogued(store.as_ref()).await;
    let (a, b) = (
        citizen("321002", (1980, 1, 2), 11),
        citizen("321002", (1985, 5, 6), 22),
    );
    let stranger = citizen("321003", (1990, 9, 9), 33);
    store
        .put_persons(
            &[
                person(a.clone(), "张三", GRID_A),
                person(b.clone(), "李四", GRID_B),
            ],
            &provenance("p", at(1)),
            &tester(),
        )
        .await
        .unwrap();
    let (a, b, stranger) = (
        a.as_str().to_owned(),
        b.as_str().to_owned(),
        stranger.as_str().to_owned(),
    );

    // A first full load in two chunks: a repeat, a bad row and an unregistered subject.
    let (opening, loader) = store
        .open_batch(&start("b1", LoadMode::Full, false, "d1", 2))
        .await
        .unwrap();
    assert_eq!(opening, BatchOpening::New);
    let mut loader = loader.unwrap();
    let first = chunk(
        &contributions,
        &HEADER,
        LoadMode::Full,
        &[
            (2, vec![a.as_str(), "养老保险", "2026-01-01", "4500"]),
            (3, vec![b.as_str(), "养老保险", "2026-01-01", "5000"]),
        ],
    );
    assert_eq!(
        loader.write(first).await.unwrap(),
        DatasetCounts {
            inserted: 2,
            ..DatasetCounts::default()
        }
    );
    let second = chunk(
        &contributions,
        &HEADER,
        LoadMode::Full,
        &[
            (4, vec![stranger.as_str(), "养老保险", "2026-01-01", "3000"]),
            (5, vec![a.as_str(), "养老保险", "20260101", "4600"]),
            (6, vec!["321002198001021", "养老保险", "2026-01-01", "1"]),
            // A repeat within the same chunk.
            (7, vec![stranger.as_str(), "养老保险", "2026-01-01", "3100"]),
        ],
    );
    assert_eq!(
        loader.write(second).await.unwrap(),
        DatasetCounts {
            inserted: 1,
            rejected: 3,
            unlinked: 1,
            ..DatasetCounts::default()
        }
    );
    let summary = loader.finish(at(3)).await.unwrap();
    assert_eq!(
        (summary.status, summary.committed_rows),
        (BatchStatus::Committed, 7)
    );
    assert_eq!(
        summary.counts,
        DatasetCounts {
            inserted: 3,
            rejected: 3,
            unlinked: 1,
            ..DatasetCounts::default()
        }
    );
    let quality = summary.quality.unwrap();
    assert_eq!(
        (quality.validity, quality.uniqueness),
        (5.0 / 6.0, 3.0 / 5.0)
    );
    assert_eq!((quality.linkage, quality.timeliness), (2.0 / 3.0, 1.0));
    let problems = store
        .batch_problems("b1", PageRequest::new(1, 50))
        .await
        .unwrap();
    let listed: Vec<(u64, &str)> = problems
        .items
        .iter()
        .map(|p| (p.row, p.problem.code.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (4, "subject_unlinked"),
            (5, "duplicate_key"),
            (6, "citizen_id_wrong_length"),
            (7, "duplicate_key")
        ]
    );
    assert!(
        problems.items[1].problem.message.contains("row 2"),
        "{:?}",
        problems.items[1]
    );
    assert!(
        problems.items[3].problem.message.contains("row 4"),
        "a repeat within one chunk names its first row: {:?}",
        problems.items[3]
    );
    let code = huimin_domain::catalogue::ResourceCode::parse(CONTRIBUTIONS).unwrap();
    let records = store.subject_records(&code, &a).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].values[4],
        Some("4500.00".into()),
        "the first row of a repeated key is kept"
    );
    assert_eq!(
        (
            records[0].batch_id.as_str(),
            records[0].provider.as_str(),
            records[0].linked
        ),
        ("b1", "renshe", true)
    );
    assert_eq!(records[0].recorded_at, at(2));
    assert!(!store.subject_records(&code, &stranger).await.unwrap()[0].linked);

    // Sent again: nothing is written; with other content under the same id: refused.
    let (again, loader) = store
        .open_batch(&start("b1", LoadMode::Full, false, "d1", 4))
        .await
        .unwrap();
    assert!(
        matches!(again, BatchOpening::Committed(ref summary) if summary.counts.inserted == 3),
        "{again:?}"
    );
    assert!(loader.is_none());
    let (other, loader) = store
        .open_batch(&start("b1", LoadMode::Full, false, "other", 4))
        .await
        .unwrap();
    assert!(
        matches!(other, BatchOpening::Conflict(_)) && loader.is_none(),
        "{other:?}"
    );

    // The next full load: one change, one the same, and the stranger's record omitted.
    let (_, loader) = store
        .open_batch(&start("b2", LoadMode::Full, true, "d2", 5))
        .await
        .unwrap();
    let mut loader = loader.unwrap();
    loader
        .write(chunk(
            &contributions,
            &HEADER,
            LoadMode::Full,
            &[
                (2, vec![a.as_str(), "养老保险", "2026-01-01", "4800"]),
                (3, vec![b.as_str(), "养老保险", "2026-01-01", "5000.00"]),
            ],
        ))
        .await
        .unwrap();
    let summary = loader.finish(at(6)).await.unwrap();
    assert_eq!(
        summary.counts,
        DatasetCounts {
            updated: 1,
            unchanged: 1,
            deleted: 1,
            ..DatasetCounts::default()
        }
    );
    assert_eq!(store.count_records(&code).await.unwrap(), 2);
    assert_eq!(
        store.subject_records(&code, &a).await.unwrap()[0].batch_id,
        "b2"
    );
    assert_eq!(
        store.subject_records(&code, &b).await.unwrap()[0].batch_id,
        "b1",
        "an unchanged value keeps its source"
    );

    // An incremental load: a deletion by key and an insert; then, in the same chunk, the
    // new record deleted and inserted again (the writes keep their order), and a deletion
    // of a key the store does not hold (nothing to count).
    let header = [
        "citizen_id",
        "insurance_type",
        "month",
        "salary_base",
        "_delete",
    ];
    let (_, loader) = store
        .open_batch(&start("b3", LoadMode::Incremental, false, "d3", 7))
        .await
        .unwrap();
    let mut loader = loader.unwrap();
    loader
        .write(chunk(
            &contributions,
            &header,
            LoadMode::Incremental,
            &[
                (2, vec![b.as_str(), "养老保险", "2026-01-01", "", "是"]),
                (3, vec![b.as_str(), "医疗保险", "2026-01-01", "5000", ""]),
                (4, vec![b.as_str(), "医疗保险", "2026-01-01", "", "是"]),
                (5, vec![b.as_str(), "医疗保险", "2026-01-01", "6000", ""]),
                (6, vec![b.as_str(), "失业保险", "2026-01-01", "", "是"]),
            ],
        ))
        .await
        .unwrap();
    let summary = loader.finish(at(8)).await.unwrap();
    assert_eq!(
        summary.counts,
        DatasetCounts {
            inserted: 2,
            deleted: 2,
            ..DatasetCounts::default()
        }
    );
    let kinds: Vec<(String, String)> = store
        .subject_records(&code, &b)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.values[2].clone().unwrap(), r.values[4].clone().unwrap()))
        .collect();
    assert_eq!(kinds, [("医疗保险".to_owned(), "6000.00".to_owned())]);
    let batches = store.batches(&code, PageRequest::new(1, 10)).await.unwrap();
    assert_eq!(
        batches
            .items
            .iter()
            .map(|b| b.batch_id.as_str())
            .collect::<Vec<_>>(),
        ["b3", "b2", "b1"]
    );
}

async fn an_interrupted_batch_resumes_and_an_atomic_one_leaves_nothing(
    store: Arc<dyn huimin_domain::storage::Store>,
) {
    use dataset_fixtures::*;
    use huimin_domain::dataset::{BatchOpening, BatchStatus, LoadMode};
    let contributions = catalogued(store.as_ref()).await;
    let code = huimin_domain::catalogue::ResourceCode::parse(CONTRIBUTIONS).unwrap();
    let ids: Vec<String> = (1..=4)
        .map(|n| citizen("321002", (1970, 1, n), 10).as_str().to_owned())
        .collect();
    let row = |n: usize| {
        (
            n as u64 + 2,
            vec![ids[n].as_str(), "养老保险", "2026-01-01", "100"],
        )
    };

    // An atomic batch dropped before it finished leaves no trace.
    let (_, loader) = store
        .open_batch(&start("atomic", LoadMode::Full, true, "d", 2))
        .await
        .unwrap();
    let mut loader = loader.unwrap();
    loader
        .write(chunk(
            &contributions,
            &HEADER,
            LoadMode::Full,
            &[row(0), row(1)],
        ))
        .await
        .unwrap();
    drop(loader);
    assert_eq!(store.batch("atomic").await.unwrap(), None);
    assert_eq!(store.count_records(&code).await.unwrap(), 0);
    let (opening, loader) = store
        .open_batch(&start("atomic", LoadMode::Full, true, "d", 2))
        .await
        .unwrap();
    assert_eq!(opening, BatchOpening::New, "the id is free again");
    drop(loader);

    // A non-atomic batch stopped after its first chunk keeps that chunk and resumes after it.
    let (_, loader) = store
        .open_batch(&start("steps", LoadMode::Full, false, "d", 3))
        .await
        .unwrap();
    let mut loader = loader.unwrap();
    loader
        .write(chunk(
            &contributions,
            &HEADER,
            LoadMode::Full,
            &[row(0), row(1)],
        ))
        .await
        .unwrap();
    drop(loader);
    let stopped = store.batch("steps").await.unwrap().unwrap();
    assert_eq!(
        (
            stopped.status,
            stopped.committed_rows,
            stopped.counts.inserted
        ),
        (BatchStatus::Running, 3, 2)
    );
    assert_eq!(
        stopped.quality, None,
        "no quality before the batch finishes"
    );
    assert_eq!(store.count_records(&code).await.unwrap(), 2);
    // Resumed another way (here: as an incremental load), it is refused.
    let (other_way, loader) = store
        .open_batch(&start("steps", LoadMode::Incremental, false, "d", 4))
        .await
        .unwrap();
    assert!(
        matches!(other_way, BatchOpening::Conflict(ref reason) if reason.contains("chunked full load")),
        "{other_way:?}"
    );
    assert!(loader.is_none());
    let (opening, loader) = store
        .open_batch(&start("steps", LoadMode::Full, false, "d", 4))
        .await
        .unwrap();
    assert_eq!(opening, BatchOpening::Resume { committed_rows: 3 });
    let mut loader = loader.unwrap();
    loader
        .write(chunk(
            &contributions,
            &HEADER,
            LoadMode::Full,
            &[row(2), row(3)],
        ))
        .await
        .unwrap();
    let summary = loader.finish(at(5)).await.unwrap();
    assert_eq!(
        (
            summary.counts.inserted,
            summary.counts.rejected,
            summary.counts.deleted
        ),
        (4, 0, 0)
    );
    assert_eq!((summary.tally.rows, summary.committed_rows), (4, 5));
    assert_eq!(store.count_records(&code).await.unwrap(), 4);
}

// ---------------------------------------------------------------- sharing

async fn sharing_requests_are_kept_decided_once_and_listed(
    store: Arc<dyn huimin_domain::storage::Store>,
) {
    use catalogue_fixtures::*;
    use huimin_domain::catalogue::{DepartmentId, ResourceCode};
    use huimin_domain::sharing::{RequestDraft, SharingRequest, Status};
    use huimin_domain::storage::SharingQuery;
    for id in ["gongan", "minzheng", "renshe"] {
        store
            .put_department(&department(id), &publisher("department.put", id), at(1))
            .await
            .unwrap();
    }
    let residence = resource("301001/000001");
    store
        .publish_resource(
            &residence,
            &publisher("resource.publish", "301001/000001"),
            at(1),
        )
        .await
        .unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let purposes = huimin_domain::access::default_purpose_kinds();
    let request = |consumer: &str, status: Status, hour: u32| SharingRequest {
        id: 0,
        terms: RequestDraft {
            consumer: consumer.into(),
            items: vec!["residence_address".into()],
            purpose: "household_check".into(),
            legal_basis: "《社会救助暂行办法》".into(),
            valid_until: "2027-06-30".into(),
            rate_per_minute: Some(120),
            retention: "核对结束后删除".into(),
        }
        .validate(&residence, &purposes, today)
        .unwrap(),
        provider: DepartmentId::parse("gongan").unwrap(),
        resource_version: 1,
        requested_at: at(hour),
        requested_by: format!("staff:{consumer}.officer"),
        status,
        decided_at: None,
        decided_by: None,
    };
    let event = |action: &str| {
        huimin_domain::audit::AuditEvent::new(
            "staff:x",
            "department_data_officer",
            action,
            "sharing_request",
            "",
        )
    };
    let deadline = NaiveDate::from_ymd_opt(2026, 12, 8).unwrap();
    let pending = request("minzheng", Status::Pending { deadline }, 2);
    let size_before = store.audit_size().await.unwrap();
    let first = store
        .create_sharing_request(&pending, &event("sharing.request"))
        .await
        .unwrap();
    let second = store
        .create_sharing_request(
            &request("renshe", Status::Granted, 3),
            &event("sharing.request"),
        )
        .await
        .unwrap();
    assert!(second > first);
    assert_eq!(store.audit_size().await.unwrap(), size_before + 2);
    let entry = store.audit_entry(size_before + 1).await.unwrap().unwrap();
    assert_eq!(entry.entry.event.object_id, first.to_string());

    let stored = store.sharing_request(first).await.unwrap().unwrap();
    assert_eq!(
        stored,
        SharingRequest {
            id: first,
            ..pending.clone()
        }
    );
    let granted_on_arrival = store.sharing_request(second).await.unwrap().unwrap();
    assert_eq!(granted_on_arrival.decided_by.as_deref(), Some("system"));
    assert_eq!(granted_on_arrival.decided_at, Some(at(3)));
    assert!(store.sharing_request(second + 100).await.unwrap().is_none());

    let minzheng = DepartmentId::parse("minzheng").unwrap();
    let code = ResourceCode::parse("301001/000001").unwrap();
    assert!(
        store.grants(&minzheng, &code).await.unwrap().is_empty(),
        "pending is no grant"
    );

    // Decided once: the second decision finds it no longer pending and writes nothing.
    assert!(
        store
            .set_sharing_status(
                first,
                "pending",
                &Status::Granted,
                "staff:gongan.officer",
                at(4),
                &event("sharing.decide")
            )
            .await
            .unwrap()
    );
    let size = store.audit_size().await.unwrap();
    let refusal = Status::Refused {
        reason: "late".into(),
    };
    assert!(
        !store
            .set_sharing_status(
                first,
                "pending",
                &refusal,
                "staff:other",
                at(5),
                &event("sharing.decide")
            )
            .await
            .unwrap()
    );
    assert_eq!(store.audit_size().await.unwrap(), size);
    let decided = store.sharing_request(first).await.unwrap().unwrap();
    assert_eq!(decided.status, Status::Granted);
    assert_eq!(decided.decided_by.as_deref(), Some("staff:gongan.officer"));
    assert_eq!(decided.decided_at, Some(at(4)));
    let grants = store.grants(&minzheng, &code).await.unwrap();
    assert_eq!(
        grants.iter().map(|grant| grant.id).collect::<Vec<_>>(),
        [first]
    );
    // The exchange's one read: the resource, the grants, each subject's records (none).
    let read = store
        .exchange_read(
            &minzheng,
            &code,
            &["11010519491231002X".to_owned(), "x".to_owned()],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.resource.resource, residence);
    assert_eq!(read.grants, grants);
    assert_eq!(read.records, [Vec::new(), Vec::new()]);
    let unknown = ResourceCode::parse("301001/000099").unwrap();
    assert!(
        store
            .exchange_read(&minzheng, &unknown, &[])
            .await
            .unwrap()
            .is_none()
    );

    // Revoked: a reason kept, no longer a grant.
    let revoked = Status::Revoked {
        reason: "核对已结束".into(),
    };
    assert!(
        store
            .set_sharing_status(
                first,
                "granted",
                &revoked,
                "staff:gongan.officer",
                at(6),
                &event("sharing.revoke")
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.sharing_request(first).await.unwrap().unwrap().status,
        revoked
    );
    assert!(store.grants(&minzheng, &code).await.unwrap().is_empty());

    // Lists: newest first, filtered, paged.
    for hour in 7..10 {
        store
            .create_sharing_request(
                &request("minzheng", Status::Pending { deadline }, hour),
                &event("sharing.request"),
            )
            .await
            .unwrap();
    }
    let all = store
        .sharing_requests(&SharingQuery::default(), PageRequest::new(1, 2))
        .await
        .unwrap();
    assert_eq!(all.total, 5);
    assert_eq!(all.items.len(), 2);
    assert!(all.items[0].id > all.items[1].id);
    let theirs = SharingQuery {
        consumer: Some(minzheng.clone()),
        status: Some("pending".into()),
        ..SharingQuery::default()
    };
    let page = store
        .sharing_requests(&theirs, PageRequest::new(2, 2))
        .await
        .unwrap();
    assert_eq!((page.total, page.items.len()), (3, 1));
    let provided = SharingQuery {
        provider: Some(DepartmentId::parse("gongan").unwrap()),
        resource: Some(code.clone()),
        ..SharingQuery::default()
    };
    assert_eq!(
        store
            .sharing_requests(&provided, PageRequest::new(1, 50))
            .await
            .unwrap()
            .total,
        5
    );
    let none = SharingQuery {
        provider: Some(minzheng),
        ..SharingQuery::default()
    };
    assert_eq!(
        store
            .sharing_requests(&none, PageRequest::new(1, 50))
            .await
            .unwrap()
            .total,
        0
    );
}

// ---------------------------------------------------------------- disputes (一数一源)

async fn a_disagreeing_source_opens_one_dispute_for_the_authority(
    store: Arc<dyn huimin_domain::storage::Store>,
) {
    use catalogue_fixtures::*;
    use dataset_fixtures::*;
    use huimin_domain::catalogue::{DepartmentId, RegistryField};
    use huimin_domain::dataset::LoadMode;
    use huimin_domain::dispute::{Answer, Resolution};
    use huimin_domain::storage::DisputeQuery;
    let contributions = catalogued(store.as_ref()).await;
    store
        .put_department(
            &department("gongan"),
            &publisher("department.put", "gongan"),
            at(1),
        )
        .await
        .unwrap();
    // 公安's residence registrations: the authoritative source of the residence address.
    store
        .publish_resource(
            &resource("301001/000001"),
            &publisher("resource.publish", "301001/000001"),
            at(1),
        )
        .await
        .unwrap();
    let (a, b, c) = (
        citizen("321002", (1980, 1, 2), 11),
        citizen("321002", (1985, 5, 6), 22),
        citizen("321002", (1990, 9, 9), 33),
    );
    store
        .put_persons(
            &[
                person(a.clone(), "张三", GRID_A),
                person(b.clone(), "李四", GRID_B),
                person(c.clone(), "王五", GRID_B),
            ],
            &provenance("p", at(1)),
            &tester(),
        )
        .await
        .unwrap();
    let (a, b, c) = (
        a.as_str().to_owned(),
        b.as_str().to_owned(),
        c.as_str().to_owned(),
    );
    let header = [
        "citizen_id",
        "insurance_type",
        "month",
        "salary_base",
        "contact_address",
    ];
    // a: another address (two months, one dispute); b: the same address written with
    // full-width digits and spaces; c: no address given.
    let load = |batch: &'static str, hour: u32, a_address: &'static str| {
        let rows = vec![
            (
                2,
                vec![a.as_str(), "养老保险", "2026-01-01", "4500", a_address],
            ),
            (
                3,
                vec![a.as_str(), "养老保险", "2026-02-01", "4500", a_address],
            ),
            (
                4,
                vec![
                    b.as_str(),
                    "养老保险",
                    "2026-01-01",
                    "5000",
                    "扬州市广陵区 文昌中路１８号",
                ],
            ),
            (5, vec![c.as_str(), "养老保险", "2026-01-01", "3000", ""]),
        ];
        (
            start(batch, LoadMode::Full, false, batch, hour),
            chunk(&contributions, &header, LoadMode::Full, &rows),
        )
    };
    let (first, rows) = load("b1", 2, "扬州市邗江区文汇西路 9 号");
    let (_, loader) = store.open_batch(&first).await.unwrap();
    let mut loader = loader.unwrap();
    loader.write(rows).await.unwrap();
    loader.finish(at(3)).await.unwrap();

    let open = DisputeQuery {
        open: Some(true),
        ..DisputeQuery::default()
    };
    let page = store
        .disputes(&open, PageRequest::new(1, 50))
        .await
        .unwrap();
    assert_eq!(page.total, 1, "{:?}", page.items);
    let dispute = &page.items[0];
    assert_eq!(
        (
            dispute.field,
            dispute.subject.as_str(),
            dispute.registry_value.as_deref(),
            dispute.source_value.as_str(),
            dispute.authority.as_str(),
            dispute.authority_resource.as_str(),
            dispute.source_department.as_str(),
            dispute.batch_id.as_str(),
        ),
        (
            RegistryField::PersonResidenceAddress,
            a.as_str(),
            Some("扬州市广陵区文昌中路18号"),
            "扬州市邗江区文汇西路 9 号",
            "gongan",
            "301001/000001",
            "renshe",
            "b1",
        )
    );
    assert_eq!(dispute.opened_at, at(2));
    assert!(dispute.answer.is_none());
    // The registry keeps the authoritative value.
    let kept = store
        .person(&citizen("321002", (1980, 1, 2), 11), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.record.residence_address, "扬州市广陵区文昌中路18号");

    // The next month's load says yet another address: the open dispute follows it.
    let (second, rows) = load("b2", 4, "扬州市邗江区文汇西路 10 号");
    let (_, loader) = store.open_batch(&second).await.unwrap();
    let mut loader = loader.unwrap();
    loader.write(rows).await.unwrap();
    loader.finish(at(5)).await.unwrap();
    let page = store
        .disputes(&open, PageRequest::new(1, 50))
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(
        (
            page.items[0].id,
            page.items[0].source_value.as_str(),
            page.items[0].batch_id.as_str()
        ),
        (dispute.id, "扬州市邗江区文汇西路 10 号", "b2")
    );

    // Routed to 公安, visible to both sides, not to a third department.
    let department = |id: &str| Some(DepartmentId::parse(id).unwrap());
    for (query, expected) in [
        (
            DisputeQuery {
                authority: department("gongan"),
                ..DisputeQuery::default()
            },
            1,
        ),
        (
            DisputeQuery {
                authority: department("renshe"),
                ..DisputeQuery::default()
            },
            0,
        ),
        (
            DisputeQuery {
                party: department("renshe"),
                ..DisputeQuery::default()
            },
            1,
        ),
        (
            DisputeQuery {
                party: department("minzheng"),
                ..DisputeQuery::default()
            },
            0,
        ),
        (
            DisputeQuery {
                subject: Some(b.clone()),
                ..DisputeQuery::default()
            },
            0,
        ),
        (
            DisputeQuery {
                batch_id: Some("b2".into()),
                ..DisputeQuery::default()
            },
            1,
        ),
        (
            DisputeQuery {
                field: Some(RegistryField::PersonPhone),
                ..DisputeQuery::default()
            },
            0,
        ),
    ] {
        assert_eq!(
            store
                .disputes(&query, PageRequest::new(1, 50))
                .await
                .unwrap()
                .total,
            expected,
            "{query:?}"
        );
    }

    // Answered once; the answer closes it, with its audit entry.
    let answer = Answer {
        resolution: Resolution::RegistryCorrect,
        note: "经核实，居住地址以公安登记为准".into(),
        by: "staff:gongan.officer".into(),
        at: at(6),
    };
    let event = huimin_domain::audit::AuditEvent::new(
        "staff:gongan.officer",
        "department_data_officer",
        "dispute.answer",
        "dispute",
        "1",
    );
    let size = store.audit_size().await.unwrap();
    assert!(
        store
            .answer_dispute(dispute.id, &answer, &event)
            .await
            .unwrap()
    );
    assert_eq!(store.audit_size().await.unwrap(), size + 1);
    assert!(
        !store
            .answer_dispute(dispute.id, &answer, &event)
            .await
            .unwrap()
    );
    assert_eq!(store.audit_size().await.unwrap(), size + 1);
    let closed = store.dispute(dispute.id).await.unwrap().unwrap();
    assert_eq!(closed.answer, Some(answer));
    assert_eq!(
        store
            .disputes(&open, PageRequest::new(1, 50))
            .await
            .unwrap()
            .total,
        0
    );
    assert!(store.dispute(dispute.id + 1000).await.unwrap().is_none());
}

// ---------------------------------------------------------------- subscriptions

async fn subscribed_resources_keep_an_ordered_outbox_and_deliveries_move_cursors(
    store: Arc<dyn huimin_domain::storage::Store>,
) {
    use catalogue_fixtures::*;
    use dataset_fixtures::*;
    use huimin_domain::catalogue::{DepartmentId, ResourceCode};
    use huimin_domain::dataset::LoadMode;
    use huimin_domain::sharing::{RequestDraft, SharingRequest, Status};
    use huimin_domain::subscription::{Change, Delivery, Subscription, SubscriptionStatus};
    let contributions = catalogued(store.as_ref()).await;
    store
        .put_department(
            &department("minzheng"),
            &publisher("department.put", "minzheng"),
            at(1),
        )
        .await
        .unwrap();
    let code = ResourceCode::parse(CONTRIBUTIONS).unwrap();
    let event = |action: &str| {
        huimin_domain::audit::AuditEvent::new(
            "staff:x",
            "department_data_officer",
            action,
            "subscription",
            "",
        )
    };
    // A load before anyone subscribes writes no outbox.
    let (a, b) = (
        citizen("321002", (1980, 1, 2), 11).as_str().to_owned(),
        citizen("321002", (1985, 5, 6), 22).as_str().to_owned(),
    );
    let rows = |base_a: &'static str, with_b: bool| {
        let mut rows = vec![(2, vec![a.as_str(), "养老保险", "2026-01-01", base_a])];
        if with_b {
            rows.push((3, vec![b.as_str(), "养老保险", "2026-01-01", "5000"]));
        }
        chunk(&contributions, &HEADER, LoadMode::Full, &rows)
    };
    let load = |batch: &'static str, hour: u32, chunk| {
        let store = store.clone();
        async move {
            let (_, loader) = store
                .open_batch(&start(batch, LoadMode::Full, false, batch, hour))
                .await
                .unwrap();
            let mut loader = loader.unwrap();
            loader.write(chunk).await.unwrap();
            loader.finish(at(hour)).await.unwrap();
        }
    };
    load("b0", 2, rows("4000", false)).await;
    assert!(store.outbox_after(&code, 0, 10).await.unwrap().is_empty());

    let grant = SharingRequest {
        id: 0,
        terms: RequestDraft {
            consumer: "minzheng".into(),
            items: vec!["salary_base".into()],
            purpose: "household_check".into(),
            legal_basis: "x".into(),
            valid_until: "2027-06-30".into(),
            rate_per_minute: None,
            retention: "y".into(),
        }
        .validate(
            &contributions,
            &huimin_domain::access::default_purpose_kinds(),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        )
        .unwrap(),
        provider: DepartmentId::parse("renshe").unwrap(),
        resource_version: 1,
        requested_at: at(3),
        requested_by: "x".into(),
        status: Status::Granted,
        decided_at: None,
        decided_by: None,
    };
    let grant_id = store
        .create_sharing_request(&grant, &event("sharing.request"))
        .await
        .unwrap();
    let subscription = store
        .create_subscription(
            &Subscription {
                id: 0,
                grant_id,
                consumer: DepartmentId::parse("minzheng").unwrap(),
                resource: code.clone(),
                callback_url: "http://127.0.0.1:9/hook".into(),
                secret: "s".into(),
                events: Vec::new(),
                status: SubscriptionStatus::Active,
                cursor: 99,
                failures: 0,
                next_attempt_at: at(3),
                last_error: None,
                created_at: at(3),
                created_by: "minzheng.system".into(),
            },
            &event("subscription.create"),
        )
        .await
        .unwrap();
    assert_eq!(
        (subscription.cursor, subscription.status),
        (0, SubscriptionStatus::Active)
    );
    assert_eq!(
        store.subscription(subscription.id).await.unwrap().unwrap(),
        subscription
    );

    // Now changes go to the outbox, numbered in order: a changed, b new; then b omitted.
    load("b1", 4, rows("4500", true)).await;
    load("b2", 5, rows("4500", false)).await;
    let outbox = store.outbox_after(&code, 0, 10).await.unwrap();
    let seen: Vec<(u64, Change, &str)> = outbox
        .iter()
        .map(|entry| (entry.seq, entry.change, entry.key.as_str()))
        .collect();
    let key = |id: &str| format!("{id}\u{1f}养老保险\u{1f}2026-01-01");
    assert_eq!(
        seen,
        [
            (1, Change::Updated, key(&a).as_str()),
            (2, Change::Inserted, key(&b).as_str()),
            (3, Change::Deleted, key(&b).as_str()),
        ]
    );
    assert_eq!(
        outbox[0].values.as_ref().unwrap()[contributions
            .items
            .iter()
            .position(|item| item.name == "salary_base")
            .unwrap()]
        .as_deref(),
        Some("4500.00")
    );
    assert_eq!(outbox[2].values, None);
    assert_eq!(outbox[0].subject.as_deref(), Some(a.as_str()));
    assert_eq!(store.outbox_after(&code, 2, 10).await.unwrap().len(), 1);

    // Due now; a failure keeps the cursor and backs off; a success moves it.
    assert_eq!(store.due_subscriptions(at(6), 10).await.unwrap().len(), 1);
    let attempt = |delivered: bool, hour: u32| Delivery {
        subscription_id: subscription.id,
        attempted_at: at(hour),
        first_seq: 1,
        last_seq: 3,
        events: 3,
        status_code: Some(if delivered { 200 } else { 500 }),
        delivered,
        error: (!delivered).then(|| "the receiver answered 500".to_owned()),
        duration_ms: 5,
    };
    assert!(
        store
            .record_delivery(&attempt(false, 6), 0, 0, at(7))
            .await
            .unwrap()
    );
    let failed = store.subscription(subscription.id).await.unwrap().unwrap();
    assert_eq!(
        (failed.cursor, failed.failures, failed.next_attempt_at),
        (0, 1, at(7))
    );
    assert!(store.due_subscriptions(at(6), 10).await.unwrap().is_empty());
    assert!(
        store
            .record_delivery(&attempt(true, 7), 0, 3, at(7))
            .await
            .unwrap()
    );
    let delivered = store.subscription(subscription.id).await.unwrap().unwrap();
    assert_eq!(
        (delivered.cursor, delivered.failures, delivered.last_error),
        (3, 0, None)
    );
    // A delivery whose cursor moved meanwhile (a replay) logs but does not move it.
    assert!(
        !store
            .record_delivery(&attempt(true, 8), 0, 3, at(8))
            .await
            .unwrap()
    );
    let log = store
        .deliveries(subscription.id, PageRequest::new(1, 10))
        .await
        .unwrap();
    assert_eq!(log.total, 3);
    assert_eq!(
        (log.items[2].delivered, log.items[2].status_code),
        (false, Some(500))
    );

    // Replay from 2; suspend; cancelled subscriptions stop the outbox for later loads.
    store
        .replay_subscription(subscription.id, 1, at(9), &event("subscription.replay"))
        .await
        .unwrap();
    assert_eq!(
        store
            .subscription(subscription.id)
            .await
            .unwrap()
            .unwrap()
            .cursor,
        1
    );
    store
        .set_subscription_status(
            subscription.id,
            SubscriptionStatus::Suspended,
            Some("grant revoked"),
            at(9),
            None,
        )
        .await
        .unwrap();
    assert!(
        store
            .due_subscriptions(at(10), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let listed = store
        .subscriptions(
            Some(&DepartmentId::parse("minzheng").unwrap()),
            PageRequest::new(1, 10),
        )
        .await
        .unwrap();
    assert_eq!(
        (listed.total, listed.items[0].status),
        (1, SubscriptionStatus::Suspended)
    );
    assert_eq!(
        store
            .subscriptions(
                Some(&DepartmentId::parse("renshe").unwrap()),
                PageRequest::new(1, 10)
            )
            .await
            .unwrap()
            .total,
        0
    );
    // Pruning keeps what a live (even suspended) subscription has not passed, and what
    // is newer than the bound.
    let seqs = |entries: Vec<huimin_domain::subscription::OutboxEntry>| -> Vec<u64> {
        entries.iter().map(|entry| entry.seq).collect()
    };
    assert_eq!(
        store.prune_outbox(at(4)).await.unwrap(),
        0,
        "nothing older than 04:00"
    );
    assert_eq!(
        store.prune_outbox(at(23)).await.unwrap(),
        1,
        "the cursor is at 1"
    );
    assert_eq!(
        seqs(store.outbox_after(&code, 0, 10).await.unwrap()),
        [2, 3]
    );
    store
        .set_subscription_status(
            subscription.id,
            SubscriptionStatus::Cancelled,
            None,
            at(10),
            Some(&event("subscription.cancel")),
        )
        .await
        .unwrap();
    load("b3", 11, rows("4600", true)).await;
    assert_eq!(
        seqs(store.outbox_after(&code, 0, 10).await.unwrap()),
        [2, 3],
        "no outbox once cancelled"
    );
    // With no live subscription left, everything older than the bound goes.
    assert_eq!(store.prune_outbox(at(23)).await.unwrap(), 2);
    assert!(store.outbox_after(&code, 0, 10).await.unwrap().is_empty());
}

// ---------------------------------------------------------------- monitoring

async fn audit_entries_are_counted_per_shanghai_day_and_outcome(
    store: Arc<dyn huimin_domain::storage::Store>,
) {
    use huimin_domain::audit::{AuditEvent, Outcome};
    let event = |action: &str, outcome: Outcome| AuditEvent {
        outcome,
        ..AuditEvent::new("system:test", "none", action, "resource", "301001/000001")
    };
    let utc = |day: u32, hour: u32| Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap();
    // 20 November 15:00 UTC is 23:00 in Shanghai; 16:00 UTC is already 21 November there.
    for (at, action, outcome) in [
        (utc(19, 1), "exchange.read", Outcome::Allowed),
        (utc(20, 15), "exchange.read", Outcome::Allowed),
        (utc(20, 15), "exchange.lookup", Outcome::Denied),
        (utc(20, 16), "exchange.read", Outcome::Allowed),
        (utc(20, 16), "person.read", Outcome::Allowed),
        (utc(21, 3), "exchange.verify", Outcome::Allowed),
        (utc(21, 3), "exchangeable.other", Outcome::Allowed),
    ] {
        store
            .append_audit(&[event(action, outcome)], at)
            .await
            .unwrap();
    }
    let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    let mut counts = store.daily_counts("exchange.", utc(19, 12)).await.unwrap();
    counts.sort_by_key(|(day, outcome, _)| (*day, outcome.as_str()));
    assert_eq!(
        counts,
        [
            (day(20), Outcome::Allowed, 1),
            (day(20), Outcome::Denied, 1),
            (day(21), Outcome::Allowed, 2),
        ]
    );
    assert!(
        store
            .daily_counts("exchange.", utc(22, 0))
            .await
            .unwrap()
            .is_empty()
    );
    let all = store.daily_counts("exchange.", utc(1, 0)).await.unwrap();
    assert_eq!(all.iter().map(|(_, _, count)| count).sum::<u64>(), 5);
}

async fn cases_keep_their_timeline_and_refuse_a_stale_change(
    store: Arc<dyn huimin_domain::storage::Store>,
) {
    use huimin_domain::audit::AuditEvent;
    use huimin_domain::case::flow::{Action, Level, Status};
    use huimin_domain::case::intake::{Bounds, CaseDraft};
    use huimin_domain::case::{Case, CaseQuery, category::Categories};
    let categories = Categories::shipped().unwrap();
    let bounds = Bounds {
        min_longitude: 119.0,
        min_latitude: 32.0,
        max_longitude: 120.0,
        max_latitude: 33.0,
    };
    let audit =
        |action: &str| AuditEvent::new("staff:dispatcher", "dispatcher", action, "case", "");
    let report = |category: &str, grid: &str, hour: u32| {
        let draft = CaseDraft {
            channel: "grid_patrol".into(),
            category: category.into(),
            longitude: Some(119.43),
            latitude: Some(32.39),
            description: "文昌中路井盖破损，夜间有行人绊倒风险".into(),
            reporter_phone: Some("13805251234".into()),
            ..CaseDraft::default()
        };
        Case::open(
            draft.validate(categories, bounds).unwrap(),
            Some(grid.to_owned()),
            "grid.worker",
            at(hour),
        )
    };
    let before = store.audit_size().await.unwrap();
    let id = store
        .create_case(
            &report("P0101", "321002001001003", 8),
            &audit("case.report"),
            &[],
        )
        .await
        .unwrap();
    let other = store
        .create_case(
            &report("E0101", "321003001001001", 9),
            &audit("case.report"),
            &[],
        )
        .await
        .unwrap();
    assert_ne!(id, other);
    assert_eq!(store.audit_size().await.unwrap(), before + 2);
    let stored = store.case(id).await.unwrap().unwrap();
    assert_eq!((stored.id, stored.version), (id, 1));
    assert_eq!(stored.district.as_deref(), Some("321002"));
    assert_eq!(
        stored.reporter.phone.as_ref().map(|phone| phone.as_str()),
        Some("13805251234")
    );
    assert!(store.case(999_999).await.unwrap().is_none());

    // Two dispatchers act on version 1: the first wins, the second is refused whole.
    let (registered, event) = stored
        .advance(&Action::Register, "dispatcher.a", at(10))
        .unwrap();
    assert!(
        store
            .update_case(&registered, 1, &event, &audit("case.register"))
            .await
            .unwrap()
    );
    let (voided, event) = stored
        .advance(
            &Action::Void {
                reason: "重复".into(),
            },
            "dispatcher.b",
            at(10),
        )
        .unwrap();
    assert!(
        !store
            .update_case(&voided, 1, &event, &audit("case.void"))
            .await
            .unwrap()
    );
    let now = store.case(id).await.unwrap().unwrap();
    assert_eq!((now.flow.status, now.version), (Status::Registered, 2));
    let dispatch = Action::Dispatch {
        lead: "chengguan".into(),
        assisting: vec!["zhujian".into()],
        level: Level::District,
        reason: None,
    };
    let (dispatched, event) = now.advance(&dispatch, "dispatcher.a", at(11)).unwrap();
    assert!(
        store
            .update_case(&dispatched, 2, &event, &audit("case.dispatch"))
            .await
            .unwrap()
    );
    let events = store.case_events(id).await.unwrap();
    let steps: Vec<(u64, Option<&str>, Status)> = events
        .iter()
        .map(|event| (event.seq, event.action.as_ref().map(Action::code), event.to))
        .collect();
    assert_eq!(
        steps,
        [
            (1, None, Status::Reported),
            (2, Some("register"), Status::Registered),
            (3, Some("dispatch"), Status::Dispatched),
        ]
    );
    assert_eq!(events[2].action.as_ref(), Some(&dispatch));
    assert_eq!(events[2].actor, "dispatcher.a");
    assert_eq!(
        store.audit_size().await.unwrap(),
        before + 4,
        "the refused change left no entry"
    );

    // Lists: by area prefix, status, lead, category, open only; newest first.
    let page = PageRequest::new(1, 10);
    let list = |query: CaseQuery| {
        let store = store.clone();
        async move {
            store
                .cases(&query, page)
                .await
                .unwrap()
                .items
                .iter()
                .map(|case| case.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list(CaseQuery::default()).await, [other, id]);
    assert_eq!(
        list(CaseQuery {
            area: Some("321002".into()),
            ..CaseQuery::default()
        })
        .await,
        [id]
    );
    assert_eq!(
        list(CaseQuery {
            area: Some("321002001001003".into()),
            ..CaseQuery::default()
        })
        .await,
        [id]
    );
    assert!(
        list(CaseQuery {
            area: Some("321004".into()),
            ..CaseQuery::default()
        })
        .await
        .is_empty()
    );
    assert_eq!(
        list(CaseQuery {
            status: Some(Status::Reported),
            ..CaseQuery::default()
        })
        .await,
        [other]
    );
    assert_eq!(
        list(CaseQuery {
            lead: Some("chengguan".into()),
            ..CaseQuery::default()
        })
        .await,
        [id]
    );
    assert_eq!(
        list(CaseQuery {
            category: Some("E0101".into()),
            ..CaseQuery::default()
        })
        .await,
        [other]
    );
    let (voided, event) = store
        .case(other)
        .await
        .unwrap()
        .unwrap()
        .advance(
            &Action::Void {
                reason: "非城市管理问题".into(),
            },
            "dispatcher.a",
            at(12),
        )
        .unwrap();
    assert!(
        store
            .update_case(&voided, 1, &event, &audit("case.void"))
            .await
            .unwrap()
    );
    assert_eq!(
        list(CaseQuery {
            open_only: true,
            ..CaseQuery::default()
        })
        .await,
        [id]
    );
    assert_eq!(
        store
            .cases(&CaseQuery::default(), page)
            .await
            .unwrap()
            .total,
        2
    );

    // Dispatch rules are kept in their order and replaced whole.
    use huimin_domain::case::dispatch::DispatchRule;
    assert!(store.dispatch_rules().await.unwrap().is_empty());
    let rules = vec![
        DispatchRule {
            category: "P01".into(),
            area: String::new(),
            lead: "chengguan".into(),
            assisting: vec!["zhujian".into(), "gongan".into()],
            level: Level::District,
        },
        DispatchRule {
            category: "E0101".into(),
            area: "321002".into(),
            lead: "huanwei".into(),
            assisting: Vec::new(),
            level: Level::Street,
        },
    ];
    let before = store.audit_size().await.unwrap();
    store
        .replace_dispatch_rules(&rules, &audit("case.dispatch_rules"), at(13))
        .await
        .unwrap();
    assert_eq!(store.dispatch_rules().await.unwrap(), rules);
    store
        .replace_dispatch_rules(&rules[1..], &audit("case.dispatch_rules"), at(14))
        .await
        .unwrap();
    assert_eq!(store.dispatch_rules().await.unwrap(), rules[1..]);
    assert_eq!(store.audit_size().await.unwrap(), before + 2);
}

async fn case_facts_sum_into_indicators_and_nearby_open_cases_are_found(
    store: Arc<dyn huimin_domain::storage::Store>,
) {
    use huimin_domain::audit::AuditEvent;
    use huimin_domain::case::flow::{Action, Level};
    use huimin_domain::case::indicators::{IndicatorQuery, Tally, Unit};
    use huimin_domain::case::intake::{Bounds, CaseDraft};
    use huimin_domain::case::{Case, CaseEvent, category::Categories};
    let categories = Categories::shipped().unwrap();
    let bounds = Bounds {
        min_longitude: 119.0,
        min_latitude: 32.0,
        max_longitude: 120.0,
        max_latitude: 33.0,
    };
    let report = |id: u64, category: &str, grid: &str, longitude: f64, worker: &str| {
        let draft = CaseDraft {
            channel: "grid_patrol".into(),
            category: category.into(),
            longitude: Some(longitude),
            latitude: Some(32.39),
            description: "文昌中路井盖破损，夜间有行人绊倒风险".into(),
            ..CaseDraft::default()
        };
        Case {
            id,
            ..Case::open(
                draft.validate(categories, bounds).unwrap(),
                Some(grid.to_owned()),
                worker,
                at(8),
            )
        }
    };
    // A case's timeline, each step numbered after the report.
    let run = |case: Case, steps: &[(Action, &str)]| {
        let mut events = vec![CaseEvent {
            seq: 1,
            action: None,
            actor: case.reported_by.clone(),
            at: case.reported_at,
            from: None,
            to: case.flow.status,
        }];
        let mut case = case;
        for (hour, (action, actor)) in steps.iter().enumerate() {
            let (next, mut event) = case.advance(action, actor, at(9 + hour as u32)).unwrap();
            event.seq = events.len() as u64 + 1;
            events.push(event);
            case = next;
        }
        (case, events)
    };
    let dispatch = Action::Dispatch {
        lead: "chengguan".into(),
        assisting: Vec::new(),
        level: Level::District,
        reason: None,
    };
    let closed = run(
        report(101, "P0101", "321002001001003", 119.430, "worker.a"),
        &[
            (Action::Register, "d"),
            (dispatch.clone(), "d"),
            (Action::Accept, "cg"),
            (
                Action::Feedback {
                    note: "已更换".into(),
                },
                "cg",
            ),
            (
                Action::Verify {
                    passed: true,
                    note: String::new(),
                },
                "worker.a",
            ),
            (Action::Rate { satisfaction: 4 }, "worker.a"),
        ],
    );
    let voided = run(
        report(102, "P0101", "321002001001003", 119.4301, "worker.a"),
        &[(
            Action::Void {
                reason: "重复上报".into(),
            },
            "d",
        )],
    );
    let open = run(
        report(103, "P0101", "321002001002001", 119.4302, "worker.b"),
        &[(Action::Register, "d"), (dispatch.clone(), "d")],
    );
    let far = run(
        report(104, "P0101", "321003001001001", 119.60, "worker.b"),
        &[(Action::Register, "d")],
    );
    store
        .load_cases(&[closed.clone(), voided, open.clone(), far])
        .await
        .unwrap();
    assert_eq!(store.case(101).await.unwrap().unwrap(), closed.0);
    assert_eq!(store.case_events(103).await.unwrap(), open.1);
    // New cases are numbered after the loaded ones.
    let audit = AuditEvent::new("staff:w", "grid_worker", "case.report", "case", "");
    let next = store
        .create_case(
            &report(0, "E0101", "321002001001003", 119.43, "worker.a"),
            &audit,
            &[],
        )
        .await
        .unwrap();
    assert!(next > 104, "{next}");
    // Photos: kept with their audit entry, listed, read back byte for byte, only by
    // their own case.
    use huimin_domain::case::photo::PhotoMeta;
    let meta = PhotoMeta {
        id: 0,
        case_id: next,
        content_type: "image/jpeg".into(),
        size_bytes: 4,
        sha256: "ab".repeat(32),
        uploaded_by: "worker.a".into(),
        uploaded_at: at(9),
    };
    let before = store.audit_size().await.unwrap();
    let photo = store
        .add_photo(&meta, &[0xFF, 0xD8, 0xFF, 0xD9], &audit)
        .await
        .unwrap();
    assert_eq!(store.audit_size().await.unwrap(), before + 1);
    assert_eq!(
        store.photos(next).await.unwrap(),
        [PhotoMeta {
            id: photo,
            ..meta.clone()
        }]
    );
    let (kept, bytes) = store.photo(next, photo).await.unwrap().unwrap();
    assert_eq!((kept.id, bytes), (photo, vec![0xFF, 0xD8, 0xFF, 0xD9]));
    assert!(
        store.photo(101, photo).await.unwrap().is_none(),
        "another case's photo is not there"
    );
    assert!(store.photos(101).await.unwrap().is_empty());
    // A case kept with a step already taken: one transaction, both events and audits.
    let reported = report(0, "P0101", "321002001001003", 119.43, "worker.a");
    let (registered, step) = reported.advance(&Action::Register, "d", at(9)).unwrap();
    let before = store.audit_size().await.unwrap();
    let stepped = store
        .create_case(&registered, &audit, &[(step, audit.clone())])
        .await
        .unwrap();
    assert_eq!(store.audit_size().await.unwrap(), before + 2);
    let kept = store.case(stepped).await.unwrap().unwrap();
    assert_eq!(
        (kept.version, kept.flow.status),
        (2, registered.flow.status)
    );
    let steps: Vec<(u64, Option<&str>)> = store
        .case_events(stepped)
        .await
        .unwrap()
        .iter()
        .map(|event| (event.seq, event.action.as_ref().map(Action::code)))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|(seq, code)| (seq, code.map(|_| "step")))
        .collect();
    assert_eq!(steps, [(1, None), (2, Some("step"))]);

    // The walk by id, the kept facts, and a rewrite of them at the case's version only.
    use huimin_domain::case::indicators::CaseFacts;
    let walked: Vec<u64> = store
        .cases_after(101, 2)
        .await
        .unwrap()
        .iter()
        .map(|case| case.id)
        .collect();
    assert_eq!(walked, [102, 103]);
    assert!(store.cases_after(stepped, 10).await.unwrap().is_empty());
    let kept_closed = store.kept_facts(101).await.unwrap().unwrap();
    assert_eq!(kept_closed, CaseFacts::of(&closed.0));
    assert!(kept_closed.closed && kept_closed.satisfied);
    assert_eq!(store.kept_facts(999_999).await.unwrap(), None);
    let cleared = CaseFacts::default();
    let replay_audit = AuditEvent::new("system:case-replay", "system", "case.replay", "case", "");
    let before = store.audit_size().await.unwrap();
    assert!(
        !store
            .rewrite_facts(101, closed.0.version + 1, &cleared, &replay_audit, at(20))
            .await
            .unwrap(),
        "not at that version: nothing written"
    );
    assert_eq!(store.audit_size().await.unwrap(), before);
    assert_eq!(store.kept_facts(101).await.unwrap(), Some(kept_closed));
    assert!(
        store
            .rewrite_facts(101, closed.0.version, &cleared, &replay_audit, at(20))
            .await
            .unwrap()
    );
    assert_eq!(store.audit_size().await.unwrap(), before + 1);
    assert_eq!(store.kept_facts(101).await.unwrap(), Some(cleared));
    store
        .rewrite_facts(101, closed.0.version, &kept_closed, &replay_audit, at(20))
        .await
        .unwrap();

    let year = |by: Unit, area: Option<&str>| IndicatorQuery {
        from: at(0),
        to: at(23),
        area: area.map(str::to_owned),
        department: None,
        by,
    };
    let tallies = store
        .case_tallies(&year(Unit::Community, Some("321002")))
        .await
        .unwrap();
    let units: Vec<&str> = tallies.iter().map(|(unit, _)| unit.as_str()).collect();
    assert_eq!(units, ["321002001001", "321002001002"]);
    assert_eq!(
        tallies[0].1,
        Tally {
            reports: 4,
            voided: 1,
            registered: 2,
            dispatched: 1,
            handled: 1,
            handled_on_time: 1,
            closed: 1,
            closed_on_time: 1,
            rated: 1,
            satisfied: 1,
            ..Tally::default()
        }
    );
    assert_eq!((tallies[1].1.reports, tallies[1].1.dispatched), (1, 1));
    let workers = store.case_tallies(&year(Unit::Worker, None)).await.unwrap();
    let by_worker: Vec<(&str, u64)> = workers
        .iter()
        .map(|(unit, tally)| (unit.as_str(), tally.reports))
        .collect();
    assert_eq!(by_worker, [("worker.a", 4), ("worker.b", 2)]);
    let led = store
        .case_tallies(&IndicatorQuery {
            department: Some("chengguan".into()),
            ..year(Unit::Department, None)
        })
        .await
        .unwrap();
    assert_eq!(led.len(), 1);
    assert_eq!((led[0].0.as_str(), led[0].1.reports), ("chengguan", 2));
    assert!(
        store
            .case_tallies(&IndicatorQuery {
                from: at(20),
                ..year(Unit::District, None)
            })
            .await
            .unwrap()
            .is_empty(),
        "nothing reported in the period"
    );

    // The duplicate search's candidates: open, same category, inside the box, recent.
    let near = |category: &str, since: u32| {
        let store = store.clone();
        let category = category.to_owned();
        async move {
            let mut ids: Vec<u64> = store
                .open_cases_near(&category, (119.42, 32.38, 119.44, 32.40), at(since), 50)
                .await
                .unwrap()
                .iter()
                .map(|case| case.id)
                .collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(near("P0101", 0).await, [103, stepped]);
    assert_eq!(near("E0101", 0).await, [next]);
    assert!(near("P0101", 9).await.is_empty());
}

async fn knowledge_articles_are_kept_replaced_and_found_by_chinese_bigrams(
    store: Arc<dyn huimin_domain::storage::Store>,
) {
    use huimin_domain::audit::AuditEvent;
    use huimin_domain::knowledge::{ArticleDraft, query_terms};
    let draft = |title: &str, body: &str, until: Option<&str>| {
        ArticleDraft {
            title: title.into(),
            body: body.into(),
            category: Some("H0101".into()),
            valid_from: "2026-01-01".into(),
            valid_until: until.map(str::to_owned),
            ..ArticleDraft::default()
        }
        .validate(|_| true, "agent.01", at(9))
        .unwrap()
    };
    let audit = AuditEvent::new(
        "staff:agent",
        "hotline_agent",
        "knowledge.create",
        "knowledge_article",
        "",
    );
    let before = store.audit_size().await.unwrap();
    let water = store
        .put_article(
            &draft(
                "小区停水怎么办",
                "计划停水提前公告；突发停水请拨打供水热线 96000。",
                None,
            ),
            &audit,
        )
        .await
        .unwrap()
        .unwrap();
    let old = store
        .put_article(
            &draft(
                "2025 年低保标准",
                "每人每月 800 元（已失效）。",
                Some("2026-01-31"),
            ),
            &audit,
        )
        .await
        .unwrap()
        .unwrap();
    assert_ne!(water, old);
    assert_eq!(store.audit_size().await.unwrap(), before + 2);
    let kept = store.article(water).await.unwrap().unwrap();
    assert_eq!(
        (kept.id, kept.title.as_str(), kept.valid_until),
        (water, "小区停水怎么办", None)
    );
    // Replacing keeps the id; an unknown id is not created.
    let mut changed = draft("小区停水怎么办？", "计划停水提前三天公告。", None);
    changed.id = water;
    assert_eq!(
        store.put_article(&changed, &audit).await.unwrap(),
        Some(water)
    );
    assert_eq!(
        store.article(water).await.unwrap().unwrap().body,
        "计划停水提前三天公告。"
    );
    changed.id = 9_999;
    assert_eq!(store.put_article(&changed, &audit).await.unwrap(), None);
    assert!(store.article(9_999).await.unwrap().is_none());

    let found = |query: &str, day: Option<(u32, u32)>| {
        let store = store.clone();
        let terms = query_terms(query);
        async move {
            let day = day.map(|(m, d)| NaiveDate::from_ymd_opt(2026, m, d).unwrap());
            let mut ids: Vec<u64> = store
                .articles_matching(&terms, day, 50)
                .await
                .unwrap()
                .iter()
                .map(|article| article.id)
                .collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(found("停水", Some((6, 1))).await, [water]);
    assert_eq!(found("低保", Some((1, 15))).await, [old]);
    assert!(
        found("低保", Some((6, 1))).await.is_empty(),
        "expired by June"
    );
    assert_eq!(found("低保", None).await, [old]);
    assert!(found("燃气泄漏", None).await.is_empty());
}

async fn patrol_visits_are_kept_per_grid_and_tagged_people_found(
    store: Arc<dyn huimin_domain::storage::Store>,
) {
    use huimin_domain::audit::AuditEvent;
    use huimin_domain::case::patrol::{PatrolKind, Visit};
    use huimin_domain::registry::GeoPoint;
    // Tags are matched whole: a veteran is not found as anything else.
    let mut alone = person(citizen("321002", (1940, 1, 2), 21), "王老太", GRID_A);
    alone.tags = [PersonTag::ElderlyLivingAlone, PersonTag::Veteran]
        .into_iter()
        .collect();
    let veteran = person(citizen("321002", (1950, 1, 2), 31), "李老兵", GRID_A);
    let elsewhere = {
        let mut p = person(citizen("321002", (1941, 1, 2), 41), "赵老伯", GRID_B);
        p.tags = [PersonTag::ElderlyLivingAlone].into_iter().collect();
        p
    };
    store
        .put_persons(
            &[alone.clone(), veteran, elsewhere],
            &provenance("b1", at(1)),
            &tester(),
        )
        .await
        .unwrap();
    let found = store
        .tagged_persons(GRID_A, PersonTag::ElderlyLivingAlone, 10)
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["王老太"]
    );
    assert_eq!(
        store
            .tagged_persons("321002", PersonTag::Veteran, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        store
            .tagged_persons(GRID_A, PersonTag::Disability, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let visit = |hour: u32, grid: &str| Visit {
        id: 0,
        grid: grid.to_owned(),
        kind: PatrolKind::ElderlyLivingAlone,
        object_id: alone.citizen_id.as_str().to_owned(),
        worker: "grid.worker".into(),
        at: at(hour),
        location: GeoPoint {
            longitude: 119.43,
            latitude: 32.39,
        },
        note: "身体状况良好".into(),
        case_id: (hour == 10).then_some(7),
    };
    let audit = AuditEvent::new("staff:w", "grid_worker", "patrol.visit", "patrol_visit", "");
    let before = store.audit_size().await.unwrap();
    let first = store.record_visit(&visit(9, GRID_A), &audit).await.unwrap();
    let second = store
        .record_visit(&visit(10, GRID_A), &audit)
        .await
        .unwrap();
    store
        .record_visit(&visit(11, GRID_B), &audit)
        .await
        .unwrap();
    assert_eq!(store.audit_size().await.unwrap(), before + 3);
    let kept = store.visits(GRID_A, at(0)).await.unwrap();
    assert_eq!(
        kept.iter().map(|v| v.id).collect::<Vec<_>>(),
        [second, first],
        "newest first"
    );
    assert_eq!(
        kept[0],
        Visit {
            id: second,
            ..visit(10, GRID_A)
        }
    );
    assert_eq!(store.visits(GRID_A, at(10)).await.unwrap().len(), 1);
}

async fn manholes_are_kept_by_code_and_the_latest_appraisal_decides_danger(
    store: Arc<dyn huimin_domain::storage::Store>,
) {
    use huimin_domain::audit::AuditEvent;
    use huimin_domain::facility::{
        Appraisal, Component, ComponentCode, ComponentStatus, SafetyGrade,
    };
    use huimin_domain::registry::{Address, Building, GeoPoint};
    let component = |code: &str, grid: &str, status| {
        let (code, kind) = ComponentCode::parse(code).unwrap();
        Component {
            code,
            kind,
            location: GeoPoint {
                longitude: 119.431_234,
                latitude: 32.391_234,
            },
            grid: grid.to_owned(),
            owner: "gongshui".into(),
            status,
            note: "井盖边缘松动".into(),
            updated_at: at(9),
            updated_by: "gongshui.officer".into(),
        }
    };
    let audit = AuditEvent::new(
        "staff:o",
        "department_officer",
        "component.put",
        "component",
        "",
    );
    let before = store.audit_size().await.unwrap();
    let water = component("3210020101000001", GRID_A, ComponentStatus::Intact);
    let gas = component("3210020111000001", GRID_A, ComponentStatus::Damaged);
    let other_grid = component("3210020102000001", GRID_B, ComponentStatus::Intact);
    assert_eq!(
        store
            .put_components(&[water.clone(), gas.clone(), other_grid.clone()], &audit)
            .await
            .unwrap(),
        3
    );
    // Replacing one by its code creates nothing new.
    let mended = Component {
        status: ComponentStatus::Intact,
        updated_at: at(11),
        ..gas.clone()
    };
    assert_eq!(
        store
            .put_components(std::slice::from_ref(&mended), &audit)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.audit_size().await.unwrap(),
        before + 2,
        "one entry a batch"
    );
    assert_eq!(
        store.component("3210020111000001").await.unwrap(),
        Some(mended.clone())
    );
    assert_eq!(store.component("3210020111000009").await.unwrap(), None);
    let page = store
        .components_in_area(GRID_A, None, PageRequest::new(1, 1))
        .await
        .unwrap();
    assert_eq!((page.total, page.items.len()), (2, 1));
    assert_eq!(page.items[0], water, "by grid, then code");
    let district = store
        .components_in_area("321002", None, PageRequest::new(1, 20))
        .await
        .unwrap();
    assert_eq!(
        district
            .items
            .iter()
            .map(|c| c.code.as_str())
            .collect::<Vec<_>>(),
        ["3210020101000001", "3210020111000001", "3210020102000001"]
    );
    let theirs = store
        .components_in_area("", Some("gongshui"), PageRequest::new(1, 20))
        .await
        .unwrap();
    assert_eq!(theirs.total, 3);
    let nobodys = store
        .components_in_area("", Some("ranqi"), PageRequest::new(1, 20))
        .await
        .unwrap();
    assert_eq!((nobodys.total, nobodys.items.len()), (0, 0));

    let building = |id: &str, grid: &str, number: &str| Building {
        id: id.to_owned(),
        address: Address {
            district: "广陵区".into(),
            street: "文昌街道".into(),
            community: "文昌社区".into(),
            road: "文昌中路".into(),
            number: number.to_owned(),
            building: Some("3".into()),
            unit: None,
            room: None,
            point: None,
        },
        grid: GridCode::parse(grid).unwrap(),
        floors: 6,
    };
    store
        .put_buildings(
            &[
                building("B-A-1", GRID_A, "18号"),
                building("B-A-2", GRID_A, "20号"),
                building("B-B-1", GRID_B, "22号"),
            ],
            &provenance("b1", at(1)),
            &tester(),
        )
        .await
        .unwrap();
    assert_eq!(
        store.building_place("B-A-1").await.unwrap(),
        Some((
            GRID_A.to_owned(),
            "广陵区文昌街道文昌社区文昌中路18号3幢".to_owned()
        ))
    );
    assert_eq!(store.building_place("B-X").await.unwrap(), None);
    let appraisal = |building: &str, grade, day: u32| Appraisal {
        id: 0,
        building_id: building.to_owned(),
        grade,
        appraised_on: NaiveDate::from_ymd_opt(2026, 10, day).unwrap(),
        agency: "市房屋安全鉴定中心".into(),
        report_no: format!("房鉴（2026）第{day:04}号"),
        recorded_by: "zhujian.officer".into(),
        recorded_at: at(12),
    };
    let audit = AuditEvent::new(
        "staff:z",
        "department_officer",
        "appraisal.record",
        "building_appraisal",
        "",
    );
    let before = store.audit_size().await.unwrap();
    // A-1 was dangerous and is safe since its repair; the repair's appraisal is recorded
    // first, and the later day still decides. A-2 is dangerous; B-1 is in another grid.
    let ids = store
        .record_appraisals(
            &[
                appraisal("B-A-1", SafetyGrade::B, 20),
                appraisal("B-A-1", SafetyGrade::D, 2),
                appraisal("B-A-2", SafetyGrade::C, 5),
                appraisal("B-B-1", SafetyGrade::D, 6),
            ],
            &audit,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ids.len(), 4);
    assert_eq!(store.audit_size().await.unwrap(), before + 1);
    // A batch naming a building that is not registered writes nothing.
    assert_eq!(
        store
            .record_appraisals(
                &[
                    appraisal("B-A-2", SafetyGrade::A, 25),
                    appraisal("B-X", SafetyGrade::A, 25),
                ],
                &audit,
            )
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.audit_size().await.unwrap(), before + 1);
    let history = store.appraisals("B-A-1").await.unwrap();
    assert_eq!(
        history.iter().map(|a| (a.grade, a.id)).collect::<Vec<_>>(),
        [(SafetyGrade::B, ids[0]), (SafetyGrade::D, ids[1])],
        "the latest day first"
    );
    assert_eq!(
        history[0],
        Appraisal {
            id: ids[0],
            ..appraisal("B-A-1", SafetyGrade::B, 20)
        }
    );
    let dangerous = store.dangerous_buildings(GRID_A, 10).await.unwrap();
    assert_eq!(
        dangerous
            .iter()
            .map(|(a, line)| (a.building_id.as_str(), a.grade, line.as_str()))
            .collect::<Vec<_>>(),
        [(
            "B-A-2",
            SafetyGrade::C,
            "广陵区文昌街道文昌社区文昌中路20号3幢"
        )]
    );
    assert_eq!(
        store.dangerous_buildings("321002", 10).await.unwrap().len(),
        2
    );
    assert_eq!(
        store.dangerous_buildings("321002", 1).await.unwrap().len(),
        1
    );
}

async fn tenancies_are_registered_once_ended_once_and_kept(
    store: Arc<dyn huimin_domain::storage::Store>,
) {
    use huimin_domain::audit::AuditEvent;
    use huimin_domain::rental::Tenancy;
    let stay = |tenant: CitizenId, hour: u32| Tenancy {
        id: 0,
        house_id: "H-321002001001001-0001-0101".into(),
        grid: GRID_A.into(),
        tenant,
        tenant_name: Some("刘租客".into()),
        moved_in: NaiveDate::from_ymd_opt(2026, 10, 28).unwrap(),
        registered_at: at(hour),
        registered_by: "grid.worker".into(),
        moved_out: None,
        ended_at: None,
        ended_by: None,
    };
    let audit = AuditEvent::new("staff:w", "grid_worker", "rental.register", "tenancy", "");
    let tenant = citizen("110105", (1990, 5, 6), 51);
    let before = store.audit_size().await.unwrap();
    let first = store
        .register_tenancy(&stay(tenant.clone(), 9), &audit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .register_tenancy(&stay(tenant.clone(), 10), &audit)
            .await
            .unwrap(),
        None,
        "one current stay per tenant and house"
    );
    let other = store
        .register_tenancy(&stay(citizen("110105", (1992, 7, 8), 61), 10), &audit)
        .await
        .unwrap()
        .unwrap();
    let out = NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
    assert!(
        store
            .end_tenancy(first, out, "grid.worker", at(11), &audit)
            .await
            .unwrap()
    );
    assert!(
        !store
            .end_tenancy(first, out, "grid.worker", at(12), &audit)
            .await
            .unwrap(),
        "ended once"
    );
    assert_eq!(store.audit_size().await.unwrap(), before + 3);
    let kept = store
        .tenancies("H-321002001001001-0001-0101")
        .await
        .unwrap();
    assert_eq!(
        kept.iter().map(|t| t.id).collect::<Vec<_>>(),
        [other, first]
    );
    assert_eq!(
        kept[1],
        Tenancy {
            id: first,
            moved_out: Some(out),
            ended_at: Some(at(11)),
            ended_by: Some("grid.worker".into()),
            ..stay(tenant.clone(), 9)
        }
    );
    // Moved out, the tenant may come back.
    assert!(
        store
            .register_tenancy(&stay(tenant, 13), &audit)
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.tenancies("no-such-house").await.unwrap().is_empty());
}

async fn sms_messages_are_kept_once_and_ticketed_or_dismissed_once(
    store: Arc<dyn huimin_domain::storage::Store>,
) {
    use huimin_domain::audit::AuditEvent;
    use huimin_domain::case::intake::{Bounds, CaseDraft};
    use huimin_domain::case::sms::{InboundSmsDraft, SmsStatus};
    use huimin_domain::case::{Case, category::Categories};
    let inbound = |id: &str, text: &str, hour: u32| {
        InboundSmsDraft {
            message_id: id.into(),
            phone: "13805251234".into(),
            text: text.into(),
            received_at: Some(at(hour).to_rfc3339()),
        }
        .validate(at(23))
        .unwrap()
    };
    let audit = |action: &str| AuditEvent::new("service:sms", "system", action, "sms", "");
    let before = store.audit_size().await.unwrap();
    let first = inbound("gw-1", "幸福路12号井盖破损", 8);
    let (kept, fresh) = store
        .receive_sms(&first, &audit("sms.receive"), at(8))
        .await
        .unwrap()
        .unwrap();
    assert!(fresh);
    assert_eq!((kept.status, kept.case_id), (SmsStatus::New, None));
    // A second delivery is the same message, written once.
    let (again, fresh) = store
        .receive_sms(&first, &audit("sms.receive"), at(9))
        .await
        .unwrap()
        .unwrap();
    assert!(!fresh);
    assert_eq!(again, kept);
    // The same id with other text is refused with the kept message.
    let clash = store
        .receive_sms(
            &inbound("gw-1", "别的内容", 9),
            &audit("sms.receive"),
            at(9),
        )
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(clash.id, kept.id);
    let second = store
        .receive_sms(
            &inbound("gw-2", "广告：低价装修", 10),
            &audit("sms.receive"),
            at(10),
        )
        .await
        .unwrap()
        .unwrap()
        .0;
    assert_eq!(store.audit_size().await.unwrap(), before + 2);
    // Two deliveries of one message at once: one keeps it, the other finds it.
    let third = inbound("gw-3", "路灯不亮", 10);
    let receive = audit("sms.receive");
    let (one, two) = tokio::join!(
        store.receive_sms(&third, &receive, at(10)),
        store.receive_sms(&third, &receive, at(10)),
    );
    let (one, two) = (one.unwrap().unwrap(), two.unwrap().unwrap());
    assert_eq!(one.0.id, two.0.id);
    assert!(one.1 ^ two.1, "exactly one delivery is new");
    assert!(
        store
            .dismiss_sms(one.0.id, "测试", &audit("sms.dismiss"), at(10))
            .await
            .unwrap()
    );
    assert_eq!(store.audit_size().await.unwrap(), before + 4);
    let new = store
        .sms_messages(Some(SmsStatus::New), PageRequest::new(1, 20))
        .await
        .unwrap();
    assert_eq!(new.total, 2);
    assert_eq!(
        new.items.iter().map(|m| m.id).collect::<Vec<_>>(),
        [kept.id, second.id]
    );

    let draft = CaseDraft {
        channel: "sms".into(),
        category: "P0101".into(),
        longitude: Some(119.43),
        latitude: Some(32.39),
        description: kept.text.clone(),
        reporter_phone: Some(kept.phone.as_str().to_owned()),
        ..CaseDraft::default()
    };
    let bounds = Bounds {
        min_longitude: 119.0,
        min_latitude: 32.0,
        max_longitude: 120.0,
        max_latitude: 33.0,
    };
    let case = Case::open(
        draft
            .validate(Categories::shipped().unwrap(), bounds)
            .unwrap(),
        Some("321002001001003".into()),
        "hotline.agent",
        at(11),
    );
    let case_id = store
        .ticket_sms(kept.id, &case, &audit("case.report"), &[])
        .await
        .unwrap()
        .expect("a new message is ticketed");
    let ticketed = store.sms_message(kept.id).await.unwrap().unwrap();
    assert_eq!(ticketed.status, SmsStatus::Ticketed);
    assert_eq!(ticketed.case_id, Some(case_id));
    assert_eq!(ticketed.handled_by.as_deref(), Some("hotline.agent"));
    assert_eq!(
        store.case(case_id).await.unwrap().unwrap().description,
        kept.text
    );
    // Taken once: a second ticket writes nothing, and nor does a dismissal.
    let cases_before = store
        .cases(&Default::default(), PageRequest::new(1, 20))
        .await
        .unwrap()
        .total;
    assert_eq!(
        store
            .ticket_sms(kept.id, &case, &audit("case.report"), &[])
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .cases(&Default::default(), PageRequest::new(1, 20))
            .await
            .unwrap()
            .total,
        cases_before
    );
    assert!(
        !store
            .dismiss_sms(kept.id, "重复", &audit("sms.dismiss"), at(12))
            .await
            .unwrap()
    );
    let audits = store.audit_size().await.unwrap();
    assert!(
        store
            .dismiss_sms(second.id, "广告短信", &audit("sms.dismiss"), at(12))
            .await
            .unwrap()
    );
    assert_eq!(store.audit_size().await.unwrap(), audits + 1);
    let dismissed = store.sms_message(second.id).await.unwrap().unwrap();
    assert_eq!(
        (dismissed.status, dismissed.reason.as_deref()),
        (SmsStatus::Dismissed, Some("广告短信"))
    );
    assert_eq!(
        store
            .sms_messages(Some(SmsStatus::New), PageRequest::new(1, 20))
            .await
            .unwrap()
            .total,
        0
    );
    let all = store
        .sms_messages(None, PageRequest::new(1, 20))
        .await
        .unwrap();
    assert_eq!(
        all.items.iter().map(|m| m.id).collect::<Vec<_>>(),
        [one.0.id, second.id, kept.id],
        "newest first, the later id first at the same time"
    );
    assert_eq!(store.sms_message(9_999).await.unwrap(), None);
}
