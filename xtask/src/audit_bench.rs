//! The audit log's benchmarks (issue 3): appends per second — in batches, and one entry
//! per transaction from 32 concurrent writers, which is what per-request auditing costs
//! without grouping — then a signed checkpoint and `huimin audit verify` (the release
//! binary, as an operator runs it) over a log of `entries` entries, on each backend.

use crate::bench::{Row, timed};
use anyhow::Context;
use huimin_domain::audit::{AuditEvent, AuditSigner, Outcome, hex};
use huimin_domain::storage::Store;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const BATCH: usize = 5_000;
const WRITERS: usize = 32;
const SINGLE_SECONDS: u64 = 5;

/// The benchmark is an edge of the program, like the server: it reads the clock.
#[allow(clippy::disallowed_methods)]
fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

fn event(n: u64) -> AuditEvent {
    let subject = format!("3210021990{:08}", n % 100_000_000);
    AuditEvent {
        jurisdiction: format!("321002001{:03}", n % 40),
        subject: subject.clone(),
        purpose: format!("household check {}", n / 50),
        outcome: if n.is_multiple_of(97) {
            Outcome::Denied
        } else {
            Outcome::Allowed
        },
        request_id: format!("{n:016x}"),
        client: "10.12.0.7".into(),
        ..AuditEvent::new(
            format!("staff:worker{}", n % 3_302),
            "grid_worker",
            "person.read",
            "person",
            subject,
        )
    }
}

pub fn run(
    runtime: &tokio::runtime::Runtime,
    binary: &Path,
    out: &Path,
    entries: u64,
    postgres: bool,
) -> anyhow::Result<Vec<Row>> {
    let keys = out.join("audit-keys");
    let _ = std::fs::remove_dir_all(&keys);
    std::fs::create_dir_all(&keys)?;
    let signer = AuditSigner::from_seed(&[7; 32]);
    std::fs::write(
        keys.join(format!("{}.pub", signer.id())),
        hex(&signer.public_key().to_bytes()),
    )?;

    let mut rows = Vec::new();
    let file = out.join("audit.db");
    crate::bench::remove_sqlite_files(&file);
    let sqlite = format!("sqlite:{}", file.display());
    rows.extend(backend(
        runtime, binary, &keys, &signer, &sqlite, "sqlite", entries,
    )?);
    if postgres
        && let Some(url) = runtime.block_on(huimin_store::testing::fresh_postgres_database())
    {
        rows.extend(backend(
            runtime, binary, &keys, &signer, &url, "postgres", entries,
        )?);
    }
    Ok(rows)
}

fn backend(
    runtime: &tokio::runtime::Runtime,
    binary: &Path,
    keys: &Path,
    signer: &AuditSigner,
    url: &str,
    name: &str,
    entries: u64,
) -> anyhow::Result<Vec<Row>> {
    println!("audit log on {name}…");
    let store: Arc<dyn Store> = runtime.block_on(huimin_store::connect(url))?;
    let single = runtime.block_on(single_appends(store.clone()))?;
    println!("  one entry per transaction, {WRITERS} writers: {single:.0}/s");
    let started = Instant::now();
    runtime.block_on(fill(store.as_ref(), entries))?;
    let batched = entries as f64 / started.elapsed().as_secs_f64();
    println!("  {entries} entries in batches of {BATCH}: {batched:.0}/s");
    let started = Instant::now();
    runtime
        .block_on(store.checkpoint_audit(signer, now()))?
        .context("a checkpoint")?;
    let checkpoint = started.elapsed().as_secs_f64();
    println!("  first checkpoint over {entries} entries: {checkpoint:.1} s");
    drop(store);
    let mut verify = Command::new(binary);
    verify
        .args(["audit", "verify"])
        .env("HUIMIN__DATABASE__URL", url)
        .env("HUIMIN__AUDIT__KEY_DIRECTORY", keys)
        .env("HUIMIN__LOG__FILTER", "warn");
    let (seconds, kib, stdout) = timed(&mut verify)?;
    anyhow::ensure!(
        stdout.contains("intact"),
        "verify did not find the log intact: {stdout}"
    );
    println!("  huimin audit verify: {seconds:.1} s");
    let memory = format!("{:.0} MiB", kib as f64 / 1024.0);
    Ok(vec![
        Row {
            what: format!("audit appends, batches of {BATCH}"),
            backend: name.to_owned(),
            result: format!("{batched:.0} entries/s"),
            peer: "target ≥ 20,000/s".to_owned(),
            ratio: format!("{:.1}×", batched / 20_000.0),
            memory: String::new(),
        },
        Row {
            what: format!("audit appends, one per transaction, {WRITERS} writers"),
            backend: name.to_owned(),
            result: format!("{single:.0} entries/s"),
            peer: "target ≥ 20,000/s".to_owned(),
            ratio: format!("{:.2}×", single / 20_000.0),
            memory: String::new(),
        },
        Row {
            what: format!("first checkpoint over {entries} entries"),
            backend: name.to_owned(),
            result: format!("{checkpoint:.1} s"),
            peer: String::new(),
            ratio: String::new(),
            memory: String::new(),
        },
        Row {
            what: format!("`huimin audit verify`, {entries} entries"),
            backend: name.to_owned(),
            result: format!("{seconds:.1} s"),
            peer: "target ≤ 30 s".to_owned(),
            ratio: format!("{:.2}×", seconds / 30.0),
            memory,
        },
    ])
}

/// Appends one entry per transaction from `WRITERS` tasks for a few seconds.
async fn single_appends(store: Arc<dyn Store>) -> anyhow::Result<f64> {
    let deadline = Instant::now() + Duration::from_secs(SINGLE_SECONDS);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for writer in 0..WRITERS as u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut count = 0u64;
            while Instant::now() < deadline {
                store
                    .append_audit(&[event(writer * 1_000_000 + count)], now())
                    .await?;
                count += 1;
            }
            anyhow::Ok(count)
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Appends until the log holds `entries` entries.
async fn fill(store: &dyn Store, entries: u64) -> anyhow::Result<()> {
    let mut size = store.audit_size().await?;
    while size < entries {
        let count = BATCH.min((entries - size) as usize);
        let events: Vec<AuditEvent> = (size..size + count as u64).map(event).collect();
        store.append_audit(&events, now()).await?;
        size += count as u64;
    }
    Ok(())
}
