//! Case intake over HTTP (issue 5: 32 connections, with grid assignment, dispatch rule and
//! audit; target ≥ 500 cases/s sustained, p99 ≤ 50 ms, on SQLite and PostgreSQL).
//!
//! A demo city is served; the city administrator's system sets a dispatch rule for water
//! supply (H0101 → 供水), and a hotline agent's system opens tickets at the locations of
//! the city's houses. Every request validates the ticket, finds its grid, writes the case
//! with its first event and audit entry, then dispatches it by the rule: a second versioned
//! write with its event and audit entry — what a real ticket pays.

use crate::bench::{Row, Server, write_query, wrk};
use crate::exchange_bench::service_token;
use anyhow::ensure;
use std::path::{Path, PathBuf};

fn script(out: &Path, points: &Path, token: &str) -> anyhow::Result<PathBuf> {
    let script = out.join("cases.lua");
    std::fs::write(
        &script,
        format!(
            "local points = {{}}\n\
             for line in io.lines(\"{}\") do\n  local lon, lat = line:match(\"([^|]+)|([^|]+)\")\n  points[#points + 1] = {{lon, lat}}\nend\n\
             wrk.method = \"POST\"\n\
             wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n\
             wrk.headers[\"Content-Type\"] = \"application/json\"\n\
             request = function()\n  local p = points[math.random(#points)]\n  \
             local body = '{{\"channel\":\"hotline\",\"category\":\"H0101\",\"longitude\":' .. p[1] .. ',\"latitude\":' .. p[2] .. \
             ',\"description\":\"小区停水，请尽快恢复供水\",\"reporter_phone\":\"13805251234\"}}'\n  \
             return wrk.format(\"POST\", \"/api/v1/cases\", nil, body)\nend\n",
            points.display()
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
    let points = out.join("case-points.txt");
    for (backend, database) in crate::bench::backends(out, "cases.db", postgres) {
        println!("case intake, {backend}: serving a city of {people} people …");
        let server = Server::start(binary, &database, people, false)?;
        write_query(
            &database,
            "SELECT longitude, latitude FROM house WHERE longitude IS NOT NULL ORDER BY id LIMIT 20000",
            &points,
        )?;
        let admin = service_token(
            binary,
            &database,
            "bench.admin",
            "city_administrator",
            None,
            &["cases:write"],
        )?;
        let agent = service_token(
            binary,
            &database,
            "bench.agent",
            "hotline_agent",
            None,
            &["cases:write"],
        )?;
        let rules: serde_json::Value = runtime.block_on(async {
            reqwest::Client::new()
                .put(format!("{}/api/v1/cases/dispatch-rules", server.address))
                .bearer_auth(&admin)
                .json(&serde_json::json!({"rules": [
                    {"category": "H01", "lead": "gongshui", "level": "district"}
                ]}))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await
        })?;
        ensure!(
            rules["rules"][0]["lead"] == "gongshui",
            "the rule was not kept: {rules}"
        );
        let script = script(out, &points, &agent)?;
        let (requests, p50, p99) = wrk(&server.address, &script, seconds)?;
        rows.push(Row {
            what: format!(
                "case intake (validation, grid, the ticket and its dispatch by rule in one audited transaction, the duplicate check), {people} people, 32 connections"
            ),
            backend: backend.into(),
            result: format!("{requests} cases/s, p50 {p50}, p99 {p99}"),
            peer: "target ≥ 500 cases/s, p99 ≤ 50 ms".into(),
            ratio: String::new(),
            memory: server.peak_memory(),
        });
    }
    Ok(rows)
}
