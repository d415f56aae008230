//! The case engine's store-side benchmarks (issue 5), on SQLite and PostgreSQL:
//!
//! - **indicators**: one district's year of synthetic cases (1,000,000 by default, each
//!   with its whole timeline), counted per community for the year; target ≤ 2 s on
//!   PostgreSQL, ≤ 5 s on SQLite;
//! - **duplicates**: the duplicate check of a new report — the candidates' query and their
//!   scoring, as the API runs it — with 100,000 open cases across the city; target p99 ≤
//!   20 ms.
//!
//! Both run in this process against the store, without HTTP: the API adds its own
//! request cost, measured by the intake benchmark.

use crate::bench::Row;
use anyhow::Context;
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use huimin_domain::case::duplicates::{DuplicateRule, Probe, search_box};
use huimin_domain::case::indicators::{IndicatorQuery, Unit};
use huimin_domain::storage::Store;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Loads `cases` in chunks with a progress line.
async fn load(
    store: &Arc<dyn Store>,
    cases: &[(
        huimin_domain::case::Case,
        Vec<huimin_domain::case::CaseEvent>,
    )],
) -> anyhow::Result<f64> {
    let started = Instant::now();
    for (index, chunk) in cases.chunks(10_000).enumerate() {
        store.load_cases(chunk).await.context("loading cases")?;
        if index % 20 == 19 {
            println!("  … {} cases", (index + 1) * 10_000);
        }
    }
    store.refresh_statistics().await?;
    Ok(started.elapsed().as_secs_f64())
}

fn city(today: NaiveDate, people: u32) -> huimin_city::City {
    huimin_city::generate(
        &huimin_city::CityConfig {
            seed: 2_010,
            people,
        },
        today,
    )
}

pub fn indicators(
    runtime: &tokio::runtime::Runtime,
    out: &Path,
    count: u32,
    postgres: Option<String>,
) -> anyhow::Result<Vec<Row>> {
    let today = NaiveDate::from_ymd_opt(2026, 11, 22).context("date")?;
    // A city of 200,000 people: its first district has some dozens of communities.
    let city = city(today, 200_000);
    let district = city
        .areas
        .iter()
        .find(|area| area.level == huimin_domain::area::AreaLevel::District)
        .map(|area| area.code.clone())
        .context("a district")?;
    println!("generating {count} cases in district {district} …");
    let started = Instant::now();
    let year = huimin_city::cases(
        &city,
        &huimin_city::CaseConfig {
            seed: 5,
            count,
            area: Some(district.clone()),
            first_id: 1,
        },
    );
    let events: usize = year.cases.iter().map(|(_, events)| events.len()).sum();
    println!(
        "  {} cases, {events} events in {:.1} s",
        year.cases.len(),
        started.elapsed().as_secs_f64()
    );
    // A report near a border may lie in the neighbour's grid.
    let in_district = year
        .cases
        .iter()
        .filter(|(case, _)| {
            case.grid
                .as_deref()
                .is_some_and(|grid| grid.starts_with(&district))
        })
        .count() as u64;
    let query = IndicatorQuery {
        from: Utc.with_ymd_and_hms(2025, 11, 21, 16, 0, 0).unwrap(),
        to: Utc.with_ymd_and_hms(2026, 11, 21, 16, 0, 0).unwrap(),
        area: Some(district.clone()),
        department: None,
        by: Unit::Community,
    };
    let mut rows = Vec::new();
    for (backend, url) in crate::bench::backends(out, "case-indicators.db", postgres) {
        let (loaded, times, units, reports) = runtime.block_on(async {
            let store = huimin_store::connect(&url).await?;
            let loaded = load(&store, &year.cases).await?;
            let mut times = Vec::new();
            let mut found = Vec::new();
            for _ in 0..5 {
                let started = Instant::now();
                found = store.case_tallies(&query).await?;
                times.push(started.elapsed().as_secs_f64());
            }
            times.sort_by(f64::total_cmp);
            let reports: u64 = found.iter().map(|(_, tally)| tally.reports).sum();
            anyhow::Ok((loaded, times, found.len(), reports))
        })?;
        anyhow::ensure!(
            reports == in_district,
            "the indicators counted {reports} reports of the district's {in_district}"
        );
        rows.push(Row {
            what: format!(
                "indicators for one district over a year, per community ({units} communities): {} cases, {events} events",
                year.cases.len()
            ),
            backend: backend.into(),
            result: format!(
                "median {:.2} s, best {:.2} s (5 runs; load {:.0} s)",
                times[2], times[0], loaded
            ),
            peer: format!(
                "target ≤ {} s",
                if backend == "postgres" { 2 } else { 5 }
            ),
            ratio: String::new(),
            memory: String::new(),
        });
    }
    Ok(rows)
}

pub fn duplicates(
    runtime: &tokio::runtime::Runtime,
    out: &Path,
    open: u32,
    postgres: Option<String>,
) -> anyhow::Result<Vec<Row>> {
    let today = NaiveDate::from_ymd_opt(2026, 11, 22).context("date")?;
    let city = city(today, 200_000);
    let end = Utc.with_ymd_and_hms(2026, 11, 21, 16, 0, 0).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    // Open reports of the last week across the city: the year's reports as they were
    // reported, moved into the week.
    let reported: Vec<_> = huimin_city::cases(
        &city,
        &huimin_city::CaseConfig {
            seed: 9,
            count: open,
            area: None,
            first_id: 1,
        },
    )
    .cases
    .into_iter()
    .map(|(case, events)| {
        let at = end - Duration::minutes(rng.random_range(1..7 * 24 * 60));
        let mut case = case.as_reported();
        case.reported_at = at;
        case.stage_started_at = at;
        case.updated_at = at;
        let mut report = events[0].clone();
        report.at = at;
        (case, vec![report])
    })
    .collect();
    let rule = DuplicateRule::default();
    let probes: Vec<_> = (0..2_000)
        .map(|_| {
            let (base, _) = &reported[rng.random_range(0..reported.len())];
            let mut probe = base.clone();
            // Half the new reports are worded as another report of anything anywhere.
            if rng.random_bool(0.5) {
                probe.description = reported[rng.random_range(0..reported.len())]
                    .0
                    .description
                    .clone();
            }
            probe.id = 0;
            probe.location.longitude += rng.random_range(-0.001..0.001);
            probe.location.latitude += rng.random_range(-0.001..0.001);
            probe.reported_at = end;
            probe
        })
        .collect();
    let mut rows = Vec::new();
    for (backend, url) in crate::bench::backends(out, "case-duplicates.db", postgres) {
        let (mut times, offered) = runtime.block_on(async {
            let store = huimin_store::connect(&url).await?;
            load(&store, &reported).await?;
            let mut times = Vec::with_capacity(probes.len());
            let mut offered = 0;
            for probe in &probes {
                let started = Instant::now();
                let candidates = store
                    .open_cases_near(
                        &probe.category,
                        search_box(probe.location, rule.radius_m),
                        probe.reported_at - rule.window,
                        50,
                    )
                    .await?;
                let found = rule.suggest(&Probe::of(probe), &candidates);
                times.push(started.elapsed().as_secs_f64() * 1000.0);
                offered += usize::from(!found.is_empty());
            }
            anyhow::Ok((times, offered))
        })?;
        times.sort_by(f64::total_cmp);
        let at = |share: f64| times[((times.len() - 1) as f64 * share) as usize];
        rows.push(Row {
            what: format!(
                "duplicate check of a new report (candidates' query and scoring), {open} open cases, {} probes ({offered} offered a duplicate)",
                probes.len()
            ),
            backend: backend.into(),
            result: format!("p50 {:.2} ms, p99 {:.2} ms", at(0.5), at(0.99)),
            peer: "target p99 ≤ 20 ms".into(),
            ratio: String::new(),
            memory: String::new(),
        });
    }
    Ok(rows)
}
