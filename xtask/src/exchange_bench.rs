//! Consumer look-ups of the exchange (issue 4: 32 connections, with the grant check and
//! the audit; target ≥ 3,000 req/s, p99 ≤ 20 ms on SQLite).
//!
//! A demo city is loaded and served; 公安's residence registrations (`301001/000001`) of
//! every person are imported through `huimin import dataset`; 民政's system requests the
//! residence address for household checks and 公安's system grants it, both through the
//! API. wrk then reads random people's records under that grant, stating a purpose, so
//! every request passes the token, the grant (items, purpose, expiry, rate) and an audit
//! append — what a real consumer's request pays.

use crate::bench::{Row, Server, timed, write_all_ids, wrk};
use anyhow::{Context, ensure};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const RESOURCE: &str = "301001/000001";

fn write_residences(ids: &Path, path: &Path) -> anyhow::Result<u64> {
    let people = std::fs::read_to_string(ids)?;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(file, "citizen_id,residence_address,registered_on")?;
    let mut rows = 0;
    for (n, person) in people.lines().enumerate() {
        writeln!(
            file,
            "{person},扬州市广陵区文昌中路{}号{}室,20{:02}-{:02}-15",
            n % 800 + 1,
            n % 30 + 101,
            n % 20 + 5,
            n % 12 + 1
        )?;
        rows += 1;
    }
    file.flush()?;
    Ok(rows)
}

/// A service account of `department` (its data officer) with a token of `scopes`.
fn department_token(
    binary: &Path,
    database: &str,
    login: &str,
    department: &str,
    scopes: &[&str],
) -> anyhow::Result<String> {
    service_token(
        binary,
        database,
        login,
        "department_data_officer",
        Some(department),
        scopes,
    )
}

/// A city-wide service account with `role` (of `department`, if any) and a token of
/// `scopes`, made with the binary's own commands.
pub(crate) fn service_token(
    binary: &Path,
    database: &str,
    login: &str,
    role: &str,
    department: Option<&str>,
    scopes: &[&str],
) -> anyhow::Result<String> {
    let run = |arguments: &[&str]| -> anyhow::Result<std::process::Output> {
        Ok(Command::new(binary)
            .args(arguments)
            .env("HUIMIN__DATABASE__URL", database)
            .env("HUIMIN__LOG__FILTER", "warn")
            .output()?)
    };
    let mut account = vec![
        "account",
        "add-service",
        login,
        "--name",
        login,
        "--role",
        role,
        "--jurisdiction",
        "321000",
    ];
    if let Some(department) = department {
        account.extend(["--department", department]);
    }
    let added = run(&account)?;
    ensure!(
        added.status.success(),
        "account add-service {login}: {}",
        String::from_utf8_lossy(&added.stderr)
    );
    let mut arguments = vec!["token", "create", login, "--label", "bench"];
    for scope in scopes {
        arguments.extend(["--scope", scope]);
    }
    let output = run(&arguments)?;
    ensure!(
        output.status.success(),
        "token create {login}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The tokens of 民政's system (the consumer: it requests and reads) and of 公安's (the
/// provider: it grants).
pub(crate) fn bench_departments(binary: &Path, database: &str) -> anyhow::Result<(String, String)> {
    let consumer = department_token(
        binary,
        database,
        "bench.minzheng",
        "minzheng",
        &["sharing:write", "exchange:read"],
    )?;
    let provider = department_token(
        binary,
        database,
        "bench.gongan",
        "gongan",
        &["sharing:write"],
    )?;
    Ok((consumer, provider))
}

/// 民政 requests the residence address; 公安 grants it. Returns the grant's id.
pub(crate) async fn grant(address: &str, consumer: &str, provider: &str) -> anyhow::Result<u64> {
    let client = reqwest::Client::new();
    let request: serde_json::Value = client
        .post(format!("{address}/api/v1/sharing/requests"))
        .bearer_auth(consumer)
        .json(&serde_json::json!({
            "resource": RESOURCE,
            "items": ["residence_address"],
            "purpose": "household_check",
            "legal_basis": "《社会救助暂行办法》第十一条",
            "valid_until": "2027-06-30",
            "rate_per_minute": huimin_domain::sharing::MAX_RATE_PER_MINUTE,
            "retention": "核对结束后 30 日内删除",
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = request["id"].as_u64().context("the request's id")?;
    let decided: serde_json::Value = client
        .post(format!("{address}/api/v1/sharing/requests/{id}/decision"))
        .bearer_auth(provider)
        .json(&serde_json::json!({"decision": "grant"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    ensure!(decided["status"] == "granted", "not granted: {decided}");
    Ok(id)
}

fn script(out: &Path, ids: &Path, token: &str) -> anyhow::Result<PathBuf> {
    let script = out.join("exchange.lua");
    std::fs::write(
        &script,
        format!(
            "local ids = {{}}\nfor line in io.lines(\"{}\") do ids[#ids + 1] = line end\n\
             wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n\
             wrk.headers[\"X-Purpose\"] = \"household_check bench\"\n\
             request = function()\n  return wrk.format(\"GET\", \"/api/v1/exchange/resources/{RESOURCE}/subjects/\" .. ids[math.random(#ids)])\nend\n",
            ids.display()
        ),
    )?;
    Ok(script)
}

pub fn run(
    runtime: &tokio::runtime::Runtime,
    binary: &Path,
    out: &Path,
    people: u32,
    seconds: u32,
    postgres: Option<String>,
) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    let ids = out.join("exchange-ids.txt");
    let csv = out.join("residences.csv");
    for (backend, database) in crate::bench::backends(out, "exchange.db", postgres) {
        println!("exchange look-ups, {backend}: serving a city of {people} people …");
        let server = Server::start(binary, &database, people, false)?;
        write_all_ids(&database, &ids)?;
        let records = write_residences(&ids, &csv)?;
        println!("importing {records} residence registrations …");
        let (_, _, stdout) = timed(
            Command::new(binary)
                .args(["import", "dataset", RESOURCE])
                .arg(&csv)
                .args(["--database", &database])
                .env("HUIMIN__LOG__FILTER", "warn"),
        )?;
        ensure!(
            stdout.contains(&format!("{records} inserted")),
            "unexpected import result: {stdout}"
        );
        let (consumer, provider) = bench_departments(binary, &database)?;
        let grant_id = runtime.block_on(grant(&server.address, &consumer, &provider))?;
        let script = script(out, &ids, &consumer)?;
        let (requests, p50, p99) = wrk(&server.address, &script, seconds)?;
        rows.push(Row {
            what: format!(
                "exchange look-ups (token, grant {grant_id}, audit), {people} people, 32 connections"
            ),
            backend: backend.into(),
            result: format!("{requests} req/s, p50 {p50}, p99 {p99}"),
            peer: "target ≥ 3,000 req/s, p99 ≤ 20 ms (SQLite)".into(),
            ratio: String::new(),
            memory: server.peak_memory(),
        });
    }
    let _ = std::fs::remove_file(&csv);
    Ok(rows)
}
