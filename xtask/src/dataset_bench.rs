//! The department-dataset ingest (issue 4: a 5,000,000-row dataset with validation,
//! linking and provenance, next to the database's bulk loader on the same file; target
//! ≥ 0.5 × the loader, peak memory flat in the file's size).
//!
//! The file is 人社's monthly contributions (`301004/000001`) of the people of a demo city
//! loaded first, so every subject links: each person one row per month, as many months as
//! it takes. `huimin import dataset --mode full` loads it into that database; the peer
//! loads the same file into a plain five-column table (`sqlite3 .import`, `COPY`), and
//! again into one keeping the store's two indexes, the record key and the subject: the
//! ceiling for any store of keyed records. The import runs again on a fifth of the file,
//! for its peak memory.

use crate::bench::{
    Row, Server, copy_into_new_table, mib, psql_url, remove_sqlite_files, timed, write_all_ids,
};
use anyhow::{Context, ensure};
use std::io::Write;
use std::path::Path;
use std::process::Command;

/// The indexed peer's table: the file's columns, with the record key as its primary key.
const INDEXED_TABLE: &str = "CREATE TABLE contribution_indexed (citizen_id TEXT NOT NULL, insurance_type TEXT NOT NULL, \
     month TEXT NOT NULL, salary_base TEXT, contribution TEXT, PRIMARY KEY (citizen_id, insurance_type, month))";
/// The indexed peer's subject index.
const INDEXED_SUBJECT: &str =
    "CREATE INDEX contribution_indexed_subject ON contribution_indexed (citizen_id)";

/// Writes `rows` contribution rows over the people listed in `ids`.
fn write_contributions(ids: &Path, rows: u64, path: &Path) -> anyhow::Result<()> {
    let people: Vec<String> = std::fs::read_to_string(ids)?
        .lines()
        .map(str::to_owned)
        .collect();
    ensure!(!people.is_empty(), "no people to write contributions for");
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        file,
        "citizen_id,insurance_type,month,salary_base,contribution"
    )?;
    for row in 0..rows {
        let person = &people[(row % people.len() as u64) as usize];
        let month = row / people.len() as u64;
        // Months back from 2026-12, then the other insurance types when years run out.
        let (kind, month) = match month / 300 {
            0 => ("养老保险", month),
            1 => ("医疗保险", month - 300),
            _ => ("失业保险", month % 300),
        };
        let (year, month_of_year) = (2026 - (month / 12) as i32, 12 - (month % 12) as u32);
        let base = 3_000 + (row * 37 % 20_000);
        writeln!(
            file,
            "{person},{kind},{year:04}-{month_of_year:02}-01,{base},{}.{:02}",
            base / 12,
            base % 100
        )?;
    }
    file.flush()?;
    Ok(())
}

fn import_command(binary: &Path, csv: &Path, database: &str) -> Command {
    let mut command = Command::new(binary);
    command
        .args(["import", "dataset", "301004/000001"])
        .arg(csv)
        .args(["--mode", "full", "--database", database])
        .env("HUIMIN__LOG__FILTER", "warn");
    command
}

/// Loads a demo city of `people` into `database` (and its catalogue) and stops it.
fn prepare(binary: &Path, database: &str, people: u32, ids: &Path) -> anyhow::Result<()> {
    drop(Server::start(binary, database, people, false)?);
    write_all_ids(database, ids)
}

fn timed_import(
    binary: &Path,
    csv: &Path,
    database: &str,
    rows: u64,
) -> anyhow::Result<(f64, u64)> {
    let (seconds, kib, stdout) = timed(&mut import_command(binary, csv, database))?;
    ensure!(
        stdout.contains(&format!("{rows} rows read; {rows} inserted"))
            && stdout.contains(" 0 unlinked"),
        "unexpected import result: {stdout}"
    );
    Ok((seconds, kib))
}

pub fn run(
    binary: &Path,
    out: &Path,
    rows: u64,
    people: u32,
    postgres: Option<String>,
) -> anyhow::Result<Vec<Row>> {
    let mut results = Vec::new();
    let ids = out.join("dataset-ids.txt");
    let csv = out.join("contributions.csv");
    let small_csv = out.join("contributions-fifth.csv");
    for (backend, database) in crate::bench::backends(out, "dataset.db", postgres) {
        println!("dataset ingest, {backend}: loading a city of {people} people …");
        prepare(binary, &database, people, &ids)?;
        if !csv.exists() {
            println!("writing {rows} contribution rows …");
            write_contributions(&ids, rows, &csv)?;
            write_contributions(&ids, rows / 5, &small_csv)?;
        }
        let (peer, peer_seconds, peer_kib) = match database.strip_prefix("sqlite:") {
            Some(_) => {
                let plain = out.join("dataset-plain.db");
                remove_sqlite_files(&plain);
                println!("sqlite3 .import …");
                let (seconds, kib, _) = timed(
                    Command::new("sqlite3")
                        .arg(&plain)
                        .arg("-cmd")
                        .arg(".mode csv")
                        .arg(format!(".import {} contribution_plain", csv.display())),
                )?;
                ("sqlite3 .import", seconds, kib)
            }
            None => {
                let create = "CREATE TABLE contribution_plain (citizen_id text, insurance_type text, month text, \
                              salary_base text, contribution text)";
                println!("COPY …");
                let (seconds, kib, _) =
                    copy_into_new_table(&psql_url(&database), create, "contribution_plain", &csv)?;
                ("COPY", seconds, kib)
            }
        };
        // The same loader keeping the two indexes the store must keep (the record key,
        // unique, and the subject): what a bulk load costs before any validation or
        // linking, so how near the target a store of keyed records can come.
        let (indexed, indexed_seconds) = match database.strip_prefix("sqlite:") {
            Some(_) => {
                let plain = out.join("dataset-indexed.db");
                remove_sqlite_files(&plain);
                let status = Command::new("sqlite3")
                    .arg(&plain)
                    .arg(format!("{INDEXED_TABLE}; {INDEXED_SUBJECT}"))
                    .status()?;
                ensure!(
                    status.success(),
                    "sqlite3 could not create the indexed table"
                );
                println!("sqlite3 .import into the indexed table …");
                let (seconds, _, _) = timed(Command::new("sqlite3").arg(&plain).arg(format!(
                    ".import --csv --skip 1 {} contribution_indexed",
                    csv.display()
                )))?;
                ("sqlite3 .import", seconds)
            }
            None => {
                println!("COPY into the indexed table …");
                let (seconds, _, _) = copy_into_new_table(
                    &psql_url(&database),
                    &format!("{INDEXED_TABLE}; {INDEXED_SUBJECT}"),
                    "contribution_indexed",
                    &csv,
                )?;
                ("COPY", seconds)
            }
        };
        println!("huimin import dataset, {backend}, {rows} rows …");
        let (seconds, kib) = timed_import(binary, &csv, &database, rows)?;
        // A fifth of the file into a fresh batch of the same resource: its peak memory
        // beside the whole file's (the full load also replaces every record).
        println!(
            "huimin import dataset, {backend}, {} rows (memory) …",
            rows / 5
        );
        let (_, small_kib, small_stdout) =
            timed(&mut import_command(binary, &small_csv, &database))?;
        ensure!(
            small_stdout.contains("rows read"),
            "unexpected import result: {small_stdout}"
        );
        let rate = rows as f64 / seconds;
        let peer_rate = rows as f64 / peer_seconds;
        results.push(Row {
            what: format!(
                "dataset ingest (validation, linking, provenance), {rows}-row CSV, {people} people"
            ),
            backend: backend.into(),
            result: format!("{rate:.0} rows/s ({seconds:.1} s)"),
            peer: format!(
                "{peer}: {peer_rate:.0} rows/s ({peer_seconds:.1} s, {})",
                mib(peer_kib)
            ),
            ratio: format!("{:.2}× (target ≥ 0.5)", rate / peer_rate),
            memory: format!("{} ({} for a fifth of the file)", mib(kib), mib(small_kib)),
        });
        let indexed_rate = rows as f64 / indexed_seconds;
        results.push(Row {
            what: "the bulk loader alone, same file, into a table keeping the record key (unique) and subject indexes"
                .to_owned(),
            backend: backend.into(),
            result: format!("{indexed}: {indexed_rate:.0} rows/s ({indexed_seconds:.1} s)"),
            peer: format!("{peer} into a plain table: {peer_rate:.0} rows/s"),
            ratio: format!(
                "{:.2}× (huimin import: {:.2}× of this)",
                indexed_rate / peer_rate,
                rate / indexed_rate
            ),
            memory: String::new(),
        });
    }
    let _ = std::fs::remove_file(&csv).context("removing the dataset file");
    let _ = std::fs::remove_file(&small_csv);
    Ok(results)
}
