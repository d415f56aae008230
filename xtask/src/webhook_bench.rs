//! Subscription delivery (issue 4: from commit to a local webhook receiver, at 1,000
//! events a second; target p99 lag ≤ 1 s).
//!
//! A demo city is served (its webhook task running, as in production); 民政 subscribes to
//! 公安's residence registrations under a grant, with a receiver in this process as the
//! callback. This process then writes to the same database what 公安's loads would: every
//! 100 ms an incremental batch of 100 changed addresses (1,000 events a second), each
//! batch through the store's dataset load, committed chunk and outbox together. The
//! receiver notes, for each event, the time from its batch's start (the `recorded_at` it
//! carries, taken just before the batch is written, so an upper bound of the time from its
//! commit) to its arrival.

use crate::bench::{Row, Server, remove_sqlite_files, write_all_ids};
use crate::exchange_bench::{bench_departments, grant};
use anyhow::{Context, ensure};
use huimin_domain::dataset::{BatchStart, Chunk, Layout, LoadMode};
use huimin_domain::storage::Store;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const RESOURCE: &str = "301001/000001";
const EVENTS_PER_TICK: usize = 100;
const TICK: Duration = Duration::from_millis(100);

#[allow(clippy::disallowed_methods)] // the benchmark measures wall-clock lag
fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// Lags in milliseconds, and the numbers seen, as the receiver got them.
#[derive(Default)]
struct Received {
    lags_ms: Vec<f64>,
    out_of_order: u64,
    last_seq: u64,
}

async fn receiver(received: Arc<Mutex<Received>>) -> anyhow::Result<String> {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let received = received.clone();
            async move {
                let arrived = now();
                let Ok(delivery) = serde_json::from_slice::<serde_json::Value>(&body) else {
                    return axum::http::StatusCode::BAD_REQUEST;
                };
                let mut received = received
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                for event in delivery["events"].as_array().into_iter().flatten() {
                    let seq = event["seq"].as_u64().unwrap_or(0);
                    if seq <= received.last_seq {
                        received.out_of_order += 1;
                    }
                    received.last_seq = received.last_seq.max(seq);
                    if let Some(at) = event["recorded_at"]
                        .as_str()
                        .and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok())
                    {
                        let lag = (arrived - at.with_timezone(&chrono::Utc))
                            .num_microseconds()
                            .unwrap_or(0);
                        received.lags_ms.push(lag as f64 / 1000.0);
                    }
                }
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(address)
}

async fn subscribe(
    address: &str,
    consumer: &str,
    grant: u64,
    callback: &str,
) -> anyhow::Result<()> {
    reqwest::Client::new()
        .post(format!("{address}/api/v1/subscriptions"))
        .bearer_auth(consumer)
        .json(&serde_json::json!({"grant": grant, "callback_url": callback}))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// One incremental batch of 公安's: `people` get the tick's new address.
async fn write_batch(store: &dyn Store, tick: usize, people: &[String]) -> anyhow::Result<()> {
    let code =
        huimin_domain::catalogue::ResourceCode::parse(RESOURCE).map_err(anyhow::Error::msg)?;
    let published = store
        .resource(&code, None)
        .await?
        .context("the residence resource")?;
    let layout = Layout::from_header(
        &published.resource,
        &["citizen_id", "residence_address", "registered_on"],
        LoadMode::Incremental,
    )
    .map_err(|error| anyhow::anyhow!("{error}"))?;
    let address = format!("扬州市广陵区压测路{tick}号");
    let mut chunk = Chunk::default();
    for (row, person) in people.iter().enumerate() {
        let record = layout
            .record(
                &published.resource,
                &[person.as_str(), address.as_str(), "2026-11-01"],
            )
            .map_err(|problems| anyhow::anyhow!("{problems:?}"))?;
        chunk.tally.count_valid(&published.resource, &record);
        chunk.records.push((row as u64 + 2, record));
        chunk.last_row = row as u64 + 2;
    }
    let start = BatchStart {
        batch_id: format!("bench-{tick}"),
        resource: code,
        resource_version: published.version,
        provider: published.resource.provider.clone(),
        mode: LoadMode::Incremental,
        atomic: false,
        digest: format!("bench-{tick}"),
        actor: huimin_domain::audit::Actor::system("bench"),
        started_at: now(),
    };
    let (_, loader) = store.open_batch(&start).await?;
    let mut loader = loader.context("a loader")?;
    loader.write(chunk).await?;
    loader.finish(now()).await?;
    Ok(())
}

fn percentile(sorted: &[f64], share: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * share).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

pub fn run(
    runtime: &tokio::runtime::Runtime,
    binary: &Path,
    out: &Path,
    people: u32,
    seconds: u32,
) -> anyhow::Result<Vec<Row>> {
    let file = out.join("webhooks.db");
    remove_sqlite_files(&file);
    let database = format!("sqlite:{}", file.display());
    println!("subscription delivery: serving a city of {people} people …");
    let server = Server::start(binary, &database, people, false)?;
    let ids = out.join("webhook-ids.txt");
    write_all_ids(&database, &ids)?;
    let people_ids: Vec<String> = std::fs::read_to_string(&ids)?
        .lines()
        .map(str::to_owned)
        .collect();
    ensure!(people_ids.len() >= EVENTS_PER_TICK, "too few people");
    let (consumer, provider) = bench_departments(binary, &database)?;
    let received = Arc::new(Mutex::new(Received::default()));
    let (produced, elapsed) = runtime.block_on(async {
        let grant_id = grant(&server.address, &consumer, &provider).await?;
        let callback = receiver(received.clone()).await?;
        subscribe(&server.address, &consumer, grant_id, &callback).await?;
        let store = huimin_store::connect(&database).await?;
        let ticks = (u64::from(seconds) * 1000 / TICK.as_millis() as u64) as usize;
        println!(
            "writing {} events over {seconds} s …",
            ticks * EVENTS_PER_TICK
        );
        let started = Instant::now();
        let mut next = tokio::time::Instant::now();
        for tick in 0..ticks {
            let offset = (tick * EVENTS_PER_TICK) % (people_ids.len() - EVENTS_PER_TICK);
            write_batch(
                store.as_ref(),
                tick,
                &people_ids[offset..offset + EVENTS_PER_TICK],
            )
            .await?;
            next += TICK;
            tokio::time::sleep_until(next).await;
        }
        let elapsed = started.elapsed();
        let produced = ticks * EVENTS_PER_TICK;
        // Let the last deliveries arrive (at most 30 s).
        let waiting = Instant::now();
        while received
            .lock()
            .map(|received| received.lags_ms.len())
            .unwrap_or(0)
            < produced
            && waiting.elapsed() < Duration::from_secs(30)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::Ok((produced, elapsed))
    })?;
    let received = received
        .lock()
        .map_err(|_| anyhow::anyhow!("receiver poisoned"))?;
    let mut lags = received.lags_ms.clone();
    lags.sort_by(f64::total_cmp);
    Ok(vec![Row {
        what: format!(
            "subscription delivery, commit → local webhook, {:.0} events/s for {seconds} s, {people} people",
            produced as f64 / elapsed.as_secs_f64()
        ),
        backend: "sqlite".into(),
        result: format!(
            "{} of {produced} delivered, {} out of order; lag p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            lags.len(),
            received.out_of_order,
            percentile(&lags, 0.5),
            percentile(&lags, 0.99),
            lags.last().copied().unwrap_or(f64::NAN)
        ),
        peer: "target p99 lag ≤ 1 s at 1,000 events/s".into(),
        ratio: String::new(),
        memory: server.peak_memory(),
    }])
}
