//! The cost of auditing reads (issue 3: audited person reads/s against the same reads
//! with auditing off, in the same run; target ratio ≥ 0.7).
//!
//! Huimin has no switch that turns read auditing off, and must not have one. So the peer
//! is built here, in the benchmark only: the same router over the same database, with an
//! audit store that forgets appends ([`ForgetfulAudit`]). Both servers run in this
//! process, taking turns in rounds under the same wrk load (person 360 views by a
//! city-wide civil-affairs system with a purpose: every read appends one entry).

use crate::bench::Row;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use huimin_domain::audit::{
    AuditEntry, AuditEvent, AuditSigner, Checkpoint, KeyRing, Seal, StoredEntry, VerifyReport,
};
use huimin_domain::merkle::Hash;
use huimin_domain::storage::{
    AuditQuery, AuditStore, InclusionProof, Page, PageRequest, ProofError, StorageResult, Store,
};
use std::path::Path;
use std::sync::Arc;

/// The benchmark's peer: an audit store whose appends write nothing. Everything else is
/// the real store's.
struct ForgetfulAudit(Arc<dyn Store>);

#[async_trait]
impl AuditStore for ForgetfulAudit {
    async fn append_audit(&self, _events: &[AuditEvent], _at: DateTime<Utc>) -> StorageResult<u64> {
        Ok(1)
    }
    async fn audit_size(&self) -> StorageResult<u64> {
        self.0.audit_size().await
    }
    async fn daily_counts(
        &self,
        action_prefix: &str,
        since: DateTime<Utc>,
    ) -> StorageResult<Vec<(chrono::NaiveDate, huimin_domain::audit::Outcome, u64)>> {
        self.0.daily_counts(action_prefix, since).await
    }
    async fn audit_entries(
        &self,
        query: &AuditQuery,
        page: PageRequest,
    ) -> StorageResult<Page<AuditEntry>> {
        self.0.audit_entries(query, page).await
    }
    async fn audit_entry(&self, seq: u64) -> StorageResult<Option<StoredEntry>> {
        self.0.audit_entry(seq).await
    }
    async fn checkpoint_audit(
        &self,
        signer: &AuditSigner,
        at: DateTime<Utc>,
    ) -> StorageResult<Option<Checkpoint>> {
        self.0.checkpoint_audit(signer, at).await
    }
    async fn audit_checkpoints(&self) -> StorageResult<Vec<Checkpoint>> {
        self.0.audit_checkpoints().await
    }
    async fn latest_audit_checkpoint(&self) -> StorageResult<Option<Checkpoint>> {
        self.0.latest_audit_checkpoint().await
    }
    async fn audit_inclusion_proof(
        &self,
        seq: u64,
        tree_size: u64,
    ) -> Result<InclusionProof, ProofError> {
        self.0.audit_inclusion_proof(seq, tree_size).await
    }
    async fn audit_consistency_proof(
        &self,
        first: u64,
        second: u64,
    ) -> Result<Vec<Hash>, ProofError> {
        self.0.audit_consistency_proof(first, second).await
    }
    async fn verify_audit(&self, keys: &KeyRing) -> StorageResult<VerifyReport> {
        self.0.verify_audit(keys).await
    }
    async fn seal_audit(&self, seal: &Seal, audit: &AuditEvent) -> StorageResult<u64> {
        self.0.seal_audit(seal, audit).await
    }
    async fn audit_seals(&self, page: PageRequest) -> StorageResult<Page<Seal>> {
        self.0.audit_seals(page).await
    }
}

/// Serves `state` on a free port of 127.0.0.1 until the runtime ends; returns the address.
async fn serve(state: huimin_web::AppState) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = format!("http://{}", listener.local_addr()?);
    let router = huimin_web::router(state, huimin_web::ExtraRoutes::new());
    tokio::spawn(huimin_web::serve(listener, router, std::future::pending()));
    Ok(address)
}

/// Measured rounds on each server, taken in turn.
const ROUNDS: u32 = 3;

pub fn run(
    runtime: &tokio::runtime::Runtime,
    binary: &Path,
    database: &str,
    people: u32,
    ids: &Path,
    seconds: u32,
    out: &Path,
) -> anyhow::Result<Row> {
    println!("audited and unaudited reads, {people} people …");
    // The release binary loads the city (once) and issues the token; then it stops, and
    // both servers run here over the same file.
    drop(crate::bench::Server::start(
        binary, database, people, false,
    )?);
    crate::bench::write_ids(database, ids)?;
    let token = crate::bench::service_token(binary, database)?;
    let script = crate::bench::person_360_script(out, ids, &token)?;
    let (audited, unaudited) = runtime.block_on(async {
        let store = huimin_store::connect(database).await?;
        let clock: Arc<dyn huimin_web::Clock> = Arc::new(huimin_web::SystemClock);
        let web = huimin_web::WebConfig {
            secure_cookies: false,
            ..huimin_web::WebConfig::default()
        };
        let audited = huimin_web::AppState::new(store.clone(), clock.clone(), web.clone()).await?;
        let mut unaudited = huimin_web::AppState::new(store.clone(), clock, web).await?;
        unaudited.audit = Arc::new(ForgetfulAudit(store));
        anyhow::Ok((serve(audited).await?, serve(unaudited).await?))
    })?;
    let before = runtime.block_on(async {
        let store = huimin_store::connect(database).await?;
        anyhow::Ok(store.audit_size().await?)
    })?;
    // The two servers take turns, round after round, so that a drift in the machine's
    // speed (large on this one) falls on both alike; the ratio is of the totals.
    println!(
        "wrk: 32 connections, {ROUNDS} rounds of {seconds} s on each, after a warm-up of each …"
    );
    crate::bench::warm_up(&unaudited, &script)?;
    crate::bench::warm_up(&audited, &script)?;
    let (mut off_total, mut on_total) = (0.0, 0.0);
    let mut rounds = Vec::new();
    let (mut off_p99, mut on_p99) = (String::new(), String::new());
    for _ in 0..ROUNDS {
        let (off, _, off_tail) = crate::bench::wrk_measured(&unaudited, &script, seconds)?;
        let (on, _, on_tail) = crate::bench::wrk_measured(&audited, &script, seconds)?;
        let (off, on): (f64, f64) = (off.parse()?, on.parse()?);
        println!(
            "  round: {on:.0} audited, {off:.0} unaudited req/s ({:.2})",
            on / off
        );
        rounds.push(format!("{:.2}", on / off));
        off_total += off;
        on_total += on;
        (off_p99, on_p99) = (off_tail, on_tail);
    }
    let after = runtime.block_on(async {
        let store = huimin_store::connect(database).await?;
        anyhow::Ok(store.audit_size().await?)
    })?;
    println!("  the audited runs appended {} entries", after - before);
    let (on_requests, off_requests) = (on_total / ROUNDS as f64, off_total / ROUNDS as f64);
    let ratio = format!(
        "{:.2} (rounds {})",
        on_requests / off_requests,
        rounds.join(", ")
    );
    Ok(Row {
        what: format!("audited person 360 reads over HTTP, {people} people, 32 connections"),
        backend: "sqlite".into(),
        result: format!("{on_requests:.0} req/s (mean of {ROUNDS} rounds), last p99 {on_p99}"),
        peer: format!(
            "auditing off (same process, rounds taken in turn): {off_requests:.0} req/s, last p99 {off_p99}; target ratio ≥ 0.7"
        ),
        ratio,
        memory: String::new(),
    })
}
