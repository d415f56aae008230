//! The twelve synthetic departments' datasets, loaded through the dataset import into a
//! demo city on both backends: every file commits, every subject links, and each batch
//! reports exactly the noise the generator planted (its `DatasetTruth`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test should panic

use chrono::{NaiveDate, TimeZone, Utc};
use huimin_domain::catalogue::ResourceCode;
use huimin_domain::storage::{DisputeQuery, PageRequest, Store};
use std::sync::Arc;

struct Fixed;

impl huimin_web::Clock for Fixed {
    fn now(&self) -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap()
    }
}

const SEED: u64 = 7;
const PEOPLE: u32 = 3_000;

async fn departments_load_with_their_planted_noise(store: Arc<dyn Store>) {
    let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let directory = tempfile::tempdir().unwrap();
    huimin::demo::load_demo_city(
        store.as_ref(),
        SEED,
        PEOPLE,
        today,
        Fixed.now_utc(),
        Some(directory.path()),
    )
    .await
    .unwrap();
    huimin::demo::publish_demo_catalogue(store.as_ref(), Fixed.now_utc())
        .await
        .unwrap();
    let city = huimin_city::generate(
        &huimin_city::CityConfig {
            seed: SEED,
            people: PEOPLE,
        },
        today,
    );
    let files = huimin_city::department_files(&city, SEED);
    let departments: std::collections::BTreeSet<&str> = files
        .iter()
        .map(|file| file.name.split('-').next().unwrap())
        .collect();
    assert_eq!(departments.len(), 12, "{departments:?}");
    assert!(files.iter().any(|file| file.gbk), "some files are GBK");
    for file in files.iter().filter(|file| file.gbk) {
        let bytes = std::fs::read(directory.path().join(file.name)).unwrap();
        assert!(
            std::str::from_utf8(&bytes).is_err(),
            "{} is GBK, not UTF-8",
            file.name
        );
    }
    let lines = huimin::demo::load_department_datasets(store.as_ref(), directory.path(), &Fixed)
        .await
        .unwrap();
    assert_eq!(lines.len(), files.len(), "{lines:#?}");
    let mut planted_disputes = 0;
    for file in &files {
        let code = ResourceCode::parse(file.resource).unwrap();
        let batches = store.batches(&code, PageRequest::new(1, 5)).await.unwrap();
        assert_eq!(batches.total, 1, "{}", file.name);
        let batch = &batches.items[0];
        assert!(!file.rows.is_empty(), "{} has rows", file.name);
        assert_eq!(batch.tally.rows, file.rows.len() as u64, "{}", file.name);
        assert_eq!(
            (batch.counts.rejected, batch.counts.unlinked),
            (file.truth.rejected, 0),
            "{}: rejected and unlinked",
            file.name
        );
        assert_eq!(
            batch.counts.inserted,
            file.rows.len() as u64 - file.truth.rejected,
            "{}",
            file.name
        );
        let disputes = store
            .disputes(
                &DisputeQuery {
                    batch_id: Some(batch.batch_id.clone()),
                    ..DisputeQuery::default()
                },
                PageRequest::new(1, 1),
            )
            .await
            .unwrap()
            .total;
        assert_eq!(disputes, file.truth.disputes, "{}: disputes", file.name);
        planted_disputes += file.truth.disputes;
    }
    assert!(
        planted_disputes > 0,
        "the noise includes conflicting addresses"
    );
    let contributions = files
        .iter()
        .find(|file| file.resource == "301004/000001")
        .unwrap();
    assert!(
        contributions.truth.rejected > 0,
        "the noise includes bad identity numbers"
    );

    // The education portrait counts 教育's records by level.
    let education = files
        .iter()
        .find(|file| file.resource == "301010/000001")
        .unwrap();
    let code = ResourceCode::parse("301010/000001").unwrap();
    let counts = store.value_counts(&code, 1).await.unwrap();
    assert_eq!(
        counts.iter().map(|(_, count)| count).sum::<u64>(),
        education.rows.len() as u64
    );
    for (level, count) in &counts {
        let expected = education.rows.iter().filter(|row| &row[1] == level).count() as u64;
        assert_eq!(*count, expected, "{level}");
    }
    assert!(
        counts.windows(2).all(|pair| pair[0].1 >= pair[1].1),
        "most common first"
    );

    // A second start loads nothing twice: each file is recognised by its digest.
    let again = huimin::demo::load_department_datasets(store.as_ref(), directory.path(), &Fixed)
        .await
        .unwrap();
    assert!(
        again.iter().all(|line| line.contains("(loaded before)")),
        "{again:#?}"
    );
}

trait NowUtc {
    fn now_utc(&self) -> chrono::DateTime<Utc>;
}

impl NowUtc for Fixed {
    fn now_utc(&self) -> chrono::DateTime<Utc> {
        huimin_web::Clock::now(self)
    }
}

#[tokio::test]
async fn departments_load_with_their_planted_noise_on_sqlite() {
    let (url, _directory) = huimin_store::testing::fresh_sqlite_database().await;
    departments_load_with_their_planted_noise(huimin_store::connect(&url).await.unwrap()).await;
}

#[tokio::test]
async fn departments_load_with_their_planted_noise_on_postgres() {
    let Some(url) = huimin_store::testing::fresh_postgres_database().await else {
        return;
    };
    departments_load_with_their_planted_noise(huimin_store::connect(&url).await.unwrap()).await;
}
