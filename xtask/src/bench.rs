//! `cargo xtask bench`: the benchmarks of the foundation issue, each beside the peer it is
//! judged against, in one run, in release mode. Prints a Markdown table and writes it to
//! `bench-out/results.md`.
//!
//! | benchmark | peer |
//! |---|---|
//! | `huimin import persons` of an N-row CSV, SQLite and PostgreSQL | sqlite3 `.import` into a plain table; `COPY` into a plain table |
//! | person 360 over HTTP at 32 connections (wrk, after a 10 s warm-up) | — (target: ≥ 5,000 req/s, p99 ≤ 10 ms on SQLite) |
//! | the same reads, audited, served in this process (`read-audit`) | the same router with an audit store that forgets appends (target ratio ≥ 0.7) |
//! | point-in-grid lookups, one thread | — (target: ≥ 1,000,000/s) |
//! | `huimin demo` with 100,000 people, start to serving | — (target: ≤ 20 s) |
//! | `huimin import dataset` of a 5,000,000-row department file (`dataset`) | sqlite3 `.import` / `COPY` of the same file into a plain table (target ≥ 0.5×) |
//! | exchange look-ups under a grant, audited, 32 connections (`exchange`) | — (target: ≥ 3,000 req/s, p99 ≤ 20 ms on SQLite) |
//! | subscription delivery at 1,000 events/s to a local webhook receiver (`webhooks`) | — (target: p99 lag ≤ 1 s) |
//!
//! The throwaway PostgreSQL cluster runs with fsync off (it is the test harness's); the
//! huimin import and COPY both run against it, so the comparison is fair, but absolute
//! PostgreSQL figures are optimistic. Client and server share the machine's two cores.

use anyhow::{Context, bail, ensure};
use chrono::NaiveDate;
use huimin_domain::registry::Person;
use rand::SeedableRng;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Settings {
    people: u32,
    postgres: bool,
    http_seconds: u32,
    /// Entries in the audit log that `huimin audit verify` is timed over.
    audit_entries: u64,
    /// Rows of the department dataset the ingest is timed over.
    dataset_rows: u64,
    cases: u32,
    open_cases: u32,
    out: PathBuf,
    /// The benchmarks to run (`--only import,http`); all when empty.
    only: Vec<String>,
}

/// The benchmarks `--only` can name.
pub(crate) const SECTIONS: &[&str] = &[
    "grid",
    "import",
    "demo",
    "http",
    "read-audit",
    "audit",
    "sign-in",
    "dataset",
    "exchange",
    "webhooks",
    "cases",
    "indicators",
    "duplicates",
];

impl Settings {
    fn runs(&self, section: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|name| name == section)
    }

    /// A fresh PostgreSQL database for one benchmark, unless `--skip-postgres`.
    fn fresh_postgres(&self, runtime: &tokio::runtime::Runtime) -> Option<String> {
        if self.postgres {
            runtime.block_on(huimin_store::testing::fresh_postgres_database())
        } else {
            None
        }
    }
}

fn parse(arguments: &[String]) -> anyhow::Result<Settings> {
    let mut settings = Settings {
        people: 1_000_000,
        postgres: true,
        http_seconds: 15,
        audit_entries: 10_000_000,
        dataset_rows: 5_000_000,
        cases: 1_000_000,
        open_cases: 100_000,
        out: PathBuf::from("bench-out"),
        only: Vec::new(),
    };
    let mut iterator = arguments.iter();
    while let Some(argument) = iterator.next() {
        match argument.as_str() {
            "--people" => settings.people = iterator.next().context("--people N")?.parse()?,
            "--http-seconds" => {
                settings.http_seconds = iterator.next().context("--http-seconds N")?.parse()?
            }
            "--skip-postgres" => settings.postgres = false,
            "--audit-entries" => {
                settings.audit_entries = iterator.next().context("--audit-entries N")?.parse()?
            }
            "--dataset-rows" => {
                settings.dataset_rows = iterator.next().context("--dataset-rows N")?.parse()?
            }
            "--cases" => settings.cases = iterator.next().context("--cases N")?.parse()?,
            "--open-cases" => {
                settings.open_cases = iterator.next().context("--open-cases N")?.parse()?
            }
            "--out" => settings.out = PathBuf::from(iterator.next().context("--out DIR")?),
            "--only" => {
                let names = iterator.next().context("--only NAME[,NAME…]")?;
                for name in names.split(',') {
                    ensure!(
                        SECTIONS.contains(&name),
                        "--only takes {} (comma-separated), not {name}",
                        SECTIONS.join(", ")
                    );
                    settings.only.push(name.to_owned());
                }
            }
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(settings)
}

/// One row of the results table.
pub(crate) struct Row {
    pub what: String,
    pub backend: String,
    pub result: String,
    pub peer: String,
    pub ratio: String,
    pub memory: String,
}

pub fn run(arguments: &[String]) -> anyhow::Result<()> {
    let settings = parse(arguments)?;
    let root = crate::tidy::workspace_root();
    std::env::set_current_dir(&root)?;
    std::fs::create_dir_all(&settings.out)?;
    println!("building the release binary…");
    let status = Command::new("cargo")
        .args(["build", "--release", "--quiet", "-p", "huimin"])
        .status()?;
    ensure!(status.success(), "cargo build failed");
    let binary = root.join("target/release/huimin");
    let runtime = tokio::runtime::Runtime::new()?;
    let today = NaiveDate::from_ymd_opt(2026, 11, 22).context("date")?;

    let mut rows = Vec::new();
    if settings.runs("audit") {
        rows.extend(crate::audit_bench::run(
            &runtime,
            &binary,
            &settings.out,
            settings.audit_entries,
            settings.postgres,
        )?);
    }
    if settings.runs("sign-in") {
        rows.push(crate::sign_in_bench::run(&runtime, &binary, &settings.out)?);
    }
    if settings.runs("dataset") {
        let postgres = settings.fresh_postgres(&runtime);
        rows.extend(crate::dataset_bench::run(
            &binary,
            &settings.out,
            settings.dataset_rows,
            200_000,
            postgres,
        )?);
    }
    if settings.runs("exchange") {
        let postgres = settings.fresh_postgres(&runtime);
        rows.extend(crate::exchange_bench::run(
            &runtime,
            &binary,
            &settings.out,
            settings.people.min(200_000),
            settings.http_seconds,
            postgres,
        )?);
    }
    if settings.runs("cases") {
        let postgres = settings.fresh_postgres(&runtime);
        rows.extend(crate::case_bench::run(
            &runtime,
            &binary,
            &settings.out,
            settings.people.min(200_000),
            settings.http_seconds,
            postgres,
        )?);
    }
    if settings.runs("indicators") {
        let postgres = settings.fresh_postgres(&runtime);
        rows.extend(crate::case_indicator_bench::indicators(
            &runtime,
            &settings.out,
            settings.cases,
            postgres,
        )?);
    }
    if settings.runs("duplicates") {
        let postgres = settings.fresh_postgres(&runtime);
        rows.extend(crate::case_indicator_bench::duplicates(
            &runtime,
            &settings.out,
            settings.open_cases,
            postgres,
        )?);
    }
    if settings.runs("webhooks") {
        rows.extend(crate::webhook_bench::run(
            &runtime,
            &binary,
            &settings.out,
            settings.people.min(20_000),
            settings.http_seconds.max(20),
        )?);
    }
    if !["grid", "import", "demo", "http", "read-audit"]
        .iter()
        .any(|section| settings.runs(section))
    {
        return print_table(&settings, arguments, &rows);
    }
    println!("generating a city of {} people…", settings.people);
    let started = Instant::now();
    let city = huimin_city::generate(
        &huimin_city::CityConfig {
            seed: 1,
            people: settings.people,
        },
        today,
    );
    println!("  generated in {:.1} s", started.elapsed().as_secs_f64());

    if settings.runs("grid") {
        rows.push(grid_lookups(&city));
    }

    let csv = settings.out.join("persons.csv");
    write_persons_csv(&city.persons, &csv)?;
    let ids = settings.out.join("ids.txt");
    drop(city);

    if settings.runs("import") {
        rows.extend(import_sqlite(
            &binary,
            &settings.out,
            &csv,
            settings.people,
        )?);
    }
    if settings.runs("demo") {
        rows.push(demo_start(&binary, &settings.out)?);
    }

    // SQLite's HTTP run comes before any PostgreSQL work: a cluster that has just taken a
    // million rows runs autovacuum in the background, on the same two cores.
    let sqlite_demo = format!("sqlite:{}", settings.out.join("demo-http.db").display());
    if settings.runs("http") {
        rows.push(http_360(
            &binary,
            &sqlite_demo,
            "sqlite",
            settings.people,
            &ids,
            settings.http_seconds,
            &settings.out,
        )?);
    }

    if settings.runs("read-audit") {
        rows.push(crate::read_audit_bench::run(
            &runtime,
            &binary,
            &sqlite_demo,
            settings.people,
            &ids,
            settings.http_seconds,
            &settings.out,
        )?);
    }

    if settings.postgres && settings.runs("import") {
        let urls: Option<Vec<String>> = (0..IMPORT_RUNS)
            .map(|_| runtime.block_on(huimin_store::testing::fresh_postgres_database()))
            .collect();
        if let Some(urls) = urls {
            rows.extend(import_postgres(&binary, &urls, &csv, settings.people)?);
        }
    }
    let http_postgres_url = if settings.postgres && settings.runs("http") {
        runtime.block_on(huimin_store::testing::fresh_postgres_database())
    } else {
        None
    };
    if let Some(url) = http_postgres_url {
        rows.push(http_360(
            &binary,
            &url,
            "postgres",
            settings.people,
            &ids,
            settings.http_seconds,
            &settings.out,
        )?);
    }

    print_table(&settings, arguments, &rows)
}

fn print_table(settings: &Settings, arguments: &[String], rows: &[Row]) -> anyhow::Result<()> {
    let mut table = String::from(
        "| benchmark | backend | result | peer in the same run | ratio | peak memory |\n|---|---|---|---|---|---|\n",
    );
    for row in rows {
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            row.what, row.backend, row.result, row.peer, row.ratio, row.memory
        ));
    }
    let machine = format!(
        "{} cores, release build, {} people, `cargo xtask bench{}`\n\n",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        settings.people,
        if arguments.is_empty() {
            String::new()
        } else {
            format!(" {}", arguments.join(" "))
        }
    );
    println!("\n{machine}{table}");
    std::fs::write(settings.out.join("results.md"), format!("{machine}{table}"))?;
    Ok(())
}

fn grid_lookups(city: &huimin_city::City) -> Row {
    let index = huimin_domain::area::GridIndex::new(&city.areas);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let points: Vec<_> = (0..1_000_000)
        .map(|_| huimin_city::random_point_in_city(city, &mut rng))
        .collect();
    let started = Instant::now();
    let mut found = 0_u64;
    for point in &points {
        if index.grid_at(*point).is_some() {
            found += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    Row {
        what: format!(
            "point-in-grid lookup ({} grids, {found} of 1,000,000 found)",
            index.len()
        ),
        backend: "in memory".into(),
        result: format!("{:.0} lookups/s", points.len() as f64 / elapsed),
        peer: "target ≥ 1,000,000/s".into(),
        ratio: String::new(),
        memory: String::new(),
    }
}

fn write_persons_csv(persons: &[Person], path: &Path) -> anyhow::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        file,
        "citizen_id,name,sex,birth_date,ethnicity,hukou_address,residence_address,phone,life_status,tags,grid"
    )?;
    for person in persons {
        let sex = match person.sex() {
            huimin_domain::identifiers::Sex::Male => "male",
            huimin_domain::identifiers::Sex::Female => "female",
        };
        let tags: Vec<&str> = person.tags.iter().map(|tag| tag.code()).collect();
        writeln!(
            file,
            "{},{},{},{},{},{},{},{},{},{},{}",
            person.citizen_id,
            person.name,
            sex,
            person.birth_date(),
            person.ethnicity.name(),
            person.hukou_address,
            person.residence_address,
            person
                .phone
                .as_ref()
                .map(|phone| phone.as_str())
                .unwrap_or(""),
            person.life_status.code(),
            tags.join(";"),
            person.grid.as_ref().map(|grid| grid.as_str()).unwrap_or("")
        )?;
    }
    Ok(())
}

/// Writes the identity number of every living person of the database, in order.
pub(crate) fn write_all_ids(database: &str, path: &Path) -> anyhow::Result<()> {
    write_query(
        database,
        "SELECT citizen_id FROM person WHERE life_status = 'alive' ORDER BY citizen_id",
        path,
    )
}

/// Writes the identity numbers of every seventh person of the served database, 100,000 at
/// most, for the HTTP benchmark to ask for. They are read from the database, not from a
/// city generated here: the demo generates its city as of its own today.
pub(crate) fn write_ids(database: &str, path: &Path) -> anyhow::Result<()> {
    let query = "SELECT citizen_id FROM (SELECT citizen_id, row_number() OVER (ORDER BY citizen_id) AS n \
                 FROM person) AS numbered WHERE n % 7 = 0 LIMIT 100000";
    write_query(database, query, path)
}

/// Writes the rows of a query, one per line (columns separated by `|`).
pub(crate) fn write_query(database: &str, query: &str, path: &Path) -> anyhow::Result<()> {
    let output = match database.strip_prefix("sqlite:") {
        Some(file) => Command::new("sqlite3").arg(file).arg(query).output()?,
        None => Command::new("psql")
            .args([
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                &psql_url(database),
                "-c",
                query,
            ])
            .output()?,
    };
    ensure!(
        output.status.success(),
        "reading identity numbers: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    ensure!(
        !output.stdout.is_empty(),
        "the served database has no people"
    );
    std::fs::write(path, output.stdout)?;
    Ok(())
}

/// The harness's PostgreSQL URL in the form psql takes (a socket directory, no host).
pub(crate) fn psql_url(url: &str) -> String {
    url.replace("postgres://postgres@localhost/", "postgresql://postgres@/")
}

/// Runs a command under `/usr/bin/time`, returning (seconds, peak resident KiB, stdout).
pub(crate) fn timed(command: &mut Command) -> anyhow::Result<(f64, u64, String)> {
    // Start from a clean page cache: dirty pages of the files written just before (the
    // CSV, the previous database) would otherwise be written back during the run and
    // slow its own writes and fsyncs.
    let synced = Command::new("sync").status()?;
    ensure!(synced.success(), "sync failed");
    let report = tempfile_path("time");
    let mut wrapped = Command::new("/usr/bin/time");
    wrapped
        .args(["-f", "%e %M", "-o"])
        .arg(&report)
        .arg(command.get_program())
        .args(command.get_args());
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            wrapped.env(key, value);
        }
    }
    let output = wrapped.output().context("running /usr/bin/time")?;
    ensure!(
        output.status.success(),
        "{:?} failed: {}{}",
        command.get_program(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&report)?;
    let mut fields = text.split_whitespace();
    let seconds: f64 = fields.next().context("elapsed")?.parse()?;
    let kib: u64 = fields.next().context("rss")?.parse()?;
    Ok((
        seconds,
        kib,
        String::from_utf8_lossy(&output.stdout).into_owned(),
    ))
}

fn tempfile_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("huimin-bench-{}-{name}", std::process::id()))
}

/// Removes a SQLite database file and its WAL and shared-memory files, where present.
/// The databases a benchmark runs on, by backend name: a SQLite file `file` in `out`
/// (its files from an earlier run removed), then PostgreSQL when there is one.
pub(crate) fn backends(
    out: &Path,
    file: &str,
    postgres: Option<String>,
) -> Vec<(&'static str, String)> {
    let sqlite = out.join(file);
    remove_sqlite_files(&sqlite);
    let mut backends = vec![("sqlite", format!("sqlite:{}", sqlite.display()))];
    if let Some(url) = postgres {
        backends.push(("postgres", url));
    }
    backends
}

pub(crate) fn remove_sqlite_files(database: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", database.display()));
    }
}

pub(crate) fn mib(kib: u64) -> String {
    format!("{} MiB", kib / 1024)
}

/// Runs of each import and its peer; the table gives the medians. One run of either
/// varies by a third from one to the next on this kind of machine.
const IMPORT_RUNS: usize = 3;

/// The run with the median time.
fn median(mut runs: Vec<(f64, u64, String)>) -> (f64, u64, String) {
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let middle = runs.len() / 2;
    runs.swap_remove(middle)
}

/// Times a first import of `people` into an empty `database`, checking that it inserted
/// them all.
fn first_import(
    binary: &Path,
    csv: &Path,
    database: &str,
    people: u32,
) -> anyhow::Result<(f64, u64, String)> {
    let (seconds, kib, stdout) = timed(&mut import_command(binary, csv, database))?;
    ensure!(
        stdout.contains(&format!("{people} inserted")),
        "unexpected import result: {stdout}"
    );
    Ok((seconds, kib, stdout))
}

/// `huimin import persons CSV --database URL`, quiet.
fn import_command(binary: &Path, csv: &Path, database: &str) -> Command {
    let mut command = Command::new(binary);
    command
        .args(["import", "persons"])
        .arg(csv)
        .args(["--database", database, "--source", "bench"])
        .env("HUIMIN__LOG__FILTER", "warn");
    command
}

fn import_sqlite(binary: &Path, out: &Path, csv: &Path, people: u32) -> anyhow::Result<Vec<Row>> {
    let huimin_db = out.join("import.db");
    let plain_db = out.join("plain.db");
    let database = format!("sqlite:{}", huimin_db.display());
    let (mut peer_runs, mut runs) = (Vec::new(), Vec::new());
    for run in 1..=IMPORT_RUNS {
        for file in [&huimin_db, &plain_db] {
            remove_sqlite_files(file);
        }
        println!("sqlite3 .import ({run} of {IMPORT_RUNS}) …");
        peer_runs.push(timed(
            Command::new("sqlite3")
                .arg(&plain_db)
                .arg("-cmd")
                .arg(".mode csv")
                .arg(format!(".import {} person_plain", csv.display())),
        )?);
        println!("huimin import, SQLite ({run} of {IMPORT_RUNS}) …");
        runs.push(first_import(binary, csv, &database, people)?);
    }
    let (peer_seconds, peer_kib, _) = median(peer_runs);
    let (seconds, kib, _) = median(runs);
    let same_job = same_job_sqlite(out, &huimin_db, people)?;
    println!("huimin import again (idempotent) …");
    let (again_seconds, _, again) = timed(&mut import_command(binary, csv, &database))?;
    ensure!(
        again.contains(&format!("{people} unchanged")),
        "the second import changed something: {again}"
    );
    let rate = f64::from(people) / seconds;
    let peer_rate = f64::from(people) / peer_seconds;
    Ok(vec![
        Row {
            what: format!("person import, {people}-row CSV"),
            backend: "sqlite".into(),
            result: format!("{rate:.0} rows/s ({seconds:.1} s, median of {IMPORT_RUNS})"),
            peer: format!(
                "sqlite3 .import: {peer_rate:.0} rows/s ({peer_seconds:.1} s, median of {IMPORT_RUNS}, {})",
                mib(peer_kib)
            ),
            ratio: format!("{:.2}×", rate / peer_rate),
            memory: mib(kib),
        },
        same_job,
        Row {
            what: "same file again (all unchanged)".into(),
            backend: "sqlite".into(),
            result: format!(
                "{:.0} rows/s ({again_seconds:.1} s)",
                f64::from(people) / again_seconds
            ),
            peer: String::new(),
            ratio: String::new(),
            memory: String::new(),
        },
    ])
}

/// Each run on its own fresh database (`urls`, one per run).
fn import_postgres(
    binary: &Path,
    urls: &[String],
    csv: &Path,
    people: u32,
) -> anyhow::Result<Vec<Row>> {
    let create = "CREATE TABLE person_plain (citizen_id text, name text, sex text, birth_date text, ethnicity text, \
                  hukou_address text, residence_address text, phone text, life_status text, tags text, grid text)";
    let (mut peer_runs, mut runs) = (Vec::new(), Vec::new());
    for (run, url) in urls.iter().enumerate() {
        let psql = psql_url(url);
        println!("COPY ({} of {}) …", run + 1, urls.len());
        peer_runs.push(copy_into_new_table(&psql, create, "person_plain", csv)?);
        settle_postgres(&psql)?;
        println!(
            "huimin import, PostgreSQL ({} of {}) …",
            run + 1,
            urls.len()
        );
        runs.push(first_import(binary, csv, url, people)?);
        settle_postgres(&psql)?;
    }
    let (peer_seconds, peer_kib, _) = median(peer_runs);
    let (seconds, kib, _) = median(runs);
    let psql_url = psql_url(urls.last().context("no PostgreSQL database")?);
    let same_job = same_job_postgres(&psql_url, people)?;
    let rate = f64::from(people) / seconds;
    let peer_rate = f64::from(people) / peer_seconds;
    Ok(vec![
        Row {
            what: format!("person import, {people}-row CSV"),
            backend: "postgres".into(),
            result: format!(
                "{rate:.0} rows/s ({seconds:.1} s, median of {})",
                urls.len()
            ),
            peer: format!(
                "COPY: {peer_rate:.0} rows/s ({peer_seconds:.1} s, median of {}, psql {})",
                urls.len(),
                mib(peer_kib)
            ),
            ratio: format!("{:.2}×", rate / peer_rate),
            memory: mib(kib),
        },
        same_job,
    ])
}

/// Creates a table with `create` (statements psql runs in one go) and times psql's
/// `\copy` of `csv` (with a header) into it: the PostgreSQL peer of an import.
pub(crate) fn copy_into_new_table(
    psql: &str,
    create: &str,
    table: &str,
    csv: &Path,
) -> anyhow::Result<(f64, u64, String)> {
    let status = Command::new("psql")
        .args(["-q", "-v", "ON_ERROR_STOP=1", psql, "-c", create])
        .status()?;
    ensure!(status.success(), "psql could not create the table");
    timed(Command::new("psql").args([
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        psql,
        "-c",
        &format!(
            "\\copy {table} FROM '{}' WITH (FORMAT csv, HEADER true)",
            csv.display()
        ),
    ]))
}

/// Vacuums a database after a timed load, untimed, so that autovacuum does not take up
/// the million new rows while the next command is being timed.
fn settle_postgres(psql: &str) -> anyhow::Result<()> {
    let status = Command::new("psql")
        .args([
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            psql,
            "-c",
            "VACUUM (ANALYZE)",
        ])
        .status()?;
    ensure!(status.success(), "psql could not vacuum");
    Ok(())
}

/// The person table's columns as Huimin stores them, for the same-job peers.
const STORED_PERSON_COLUMNS: &str = "citizen_id, name, name_initials, name_pinyin, sex, birth_date, ethnicity, \
     hukou_address, residence_address, phone, life_status, tags, grid, source, batch, recorded_at_us";

/// The same job done by `sqlite3` alone, for context: the rows Huimin stored (derived
/// columns and provenance included, exported from its database) loaded by `.import` into
/// a table of the same columns in a WAL database, with the same three indexes built after
/// the load, in one transaction. It validates nothing.
fn same_job_sqlite(out: &Path, huimin_db: &Path, people: u32) -> anyhow::Result<Row> {
    let rows = out.join("person-stored.tsv");
    let export = Command::new("sqlite3")
        .arg(huimin_db)
        .args([
            "-cmd",
            ".mode tabs",
            &format!("SELECT {STORED_PERSON_COLUMNS} FROM person"),
        ])
        .stdout(std::fs::File::create(&rows)?)
        .status()?;
    ensure!(export.success(), "sqlite3 could not export the stored rows");
    let database = out.join("same-job.db");
    remove_sqlite_files(&database);
    let schema = huimin_db_schema(huimin_db)?;
    let script = format!(
        "PRAGMA journal_mode = WAL;\nPRAGMA synchronous = NORMAL;\nPRAGMA cache_size = -65536;\n\
         {table};\nBEGIN;\n.mode tabs\n.import {rows} person\n\
         PRAGMA cache_size = -4000;\nPRAGMA threads = 2;\n{indexes};\nCOMMIT;\n",
        table = schema.table,
        rows = rows.display(),
        indexes = schema.indexes.join(";\n"),
    );
    let script_path = out.join("same-job.sql");
    std::fs::write(&script_path, script)?;
    println!("sqlite3, the same job …");
    let (seconds, kib, _) = timed(Command::new("sh").arg("-c").arg(format!(
        "sqlite3 {} < {}",
        database.display(),
        script_path.display()
    )))?;
    Ok(Row {
        what: "  the same job by the database's own loader (stored columns, same indexes, WAL, no checks)".into(),
        backend: "sqlite".into(),
        result: format!("{:.0} rows/s ({seconds:.1} s)", f64::from(people) / seconds),
        peer: String::new(),
        ratio: String::new(),
        memory: mib(kib),
    })
}

/// The person table's definition and its indexes' in a Huimin SQLite database.
struct PersonSchema {
    table: String,
    indexes: Vec<String>,
}

fn huimin_db_schema(database: &Path) -> anyhow::Result<PersonSchema> {
    let read = |sql: &str| -> anyhow::Result<Vec<String>> {
        let output = Command::new("sqlite3").arg(database).arg(sql).output()?;
        ensure!(output.status.success(), "sqlite3 could not read the schema");
        Ok(String::from_utf8(output.stdout)?
            .split("\n;;\n")
            .map(|statement| statement.trim().to_owned())
            .filter(|statement| !statement.is_empty())
            .collect())
    };
    let table = read("SELECT sql || char(10) || ';;' FROM sqlite_schema WHERE type = 'table' AND name = 'person'")?
        .into_iter()
        .map(|statement| statement.trim_end_matches(";;").trim().to_owned())
        .next()
        .context("no person table")?;
    let indexes = read("SELECT sql || char(10) || ';;' FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'person' AND sql IS NOT NULL")?
        .into_iter()
        .map(|statement| statement.trim_end_matches(";;").trim().to_owned())
        .collect();
    Ok(PersonSchema { table, indexes })
}

/// The same job done by PostgreSQL alone, for context: the rows Huimin stored, exported
/// with `COPY … TO` in binary and loaded with `COPY … FROM` into a table of the same
/// columns, with the same key and indexes built after the load and `ANALYZE`, in one
/// transaction. It validates nothing.
fn same_job_postgres(psql_url: &str, people: u32) -> anyhow::Result<Row> {
    let rows = tempfile_path("person-stored.bin");
    timed(Command::new("psql").args([
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        psql_url,
        "-c",
        &format!(
            "\\copy (SELECT {STORED_PERSON_COLUMNS} FROM person) TO '{}' WITH (FORMAT binary)",
            rows.display()
        ),
    ]))?;
    let script = format!(
        "BEGIN;\nCREATE TABLE person_same_job (LIKE person);\n\
         \\copy person_same_job FROM '{rows}' WITH (FORMAT binary)\n\
         SET LOCAL maintenance_work_mem = '256MB';\n\
         ALTER TABLE person_same_job ADD PRIMARY KEY (citizen_id);\n\
         CREATE INDEX ON person_same_job (grid, birth_date);\n\
         CREATE INDEX ON person_same_job (name_initials, name_pinyin, name);\n\
         COMMIT;\nANALYZE person_same_job;\n",
        rows = rows.display()
    );
    let script_path = tempfile_path("same-job.sql");
    std::fs::write(&script_path, script)?;
    println!("PostgreSQL, the same job …");
    let (seconds, _, _) = timed(
        Command::new("psql")
            .args(["-q", "-v", "ON_ERROR_STOP=1", psql_url, "-f"])
            .arg(&script_path),
    )?;
    let _ = std::fs::remove_file(&rows);
    Ok(Row {
        what: "  the same job by the database's own loader (stored columns, same key and indexes, ANALYZE, no checks)".into(),
        backend: "postgres".into(),
        result: format!("{:.0} rows/s ({seconds:.1} s)", f64::from(people) / seconds),
        peer: String::new(),
        ratio: String::new(),
        memory: String::new(),
    })
}

/// A `huimin demo` process; killed when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) address: String,
    ready_after: Duration,
}

impl Server {
    pub(crate) fn start(
        binary: &Path,
        database: &str,
        people: u32,
        fresh: bool,
    ) -> anyhow::Result<Server> {
        let started = Instant::now();
        let mut command = Command::new(binary);
        command
            .args([
                "demo",
                "--people",
                &people.to_string(),
                "--database",
                database,
                "--listen",
                "127.0.0.1:0",
                // The departments' datasets load in the background; measurements run
                // without them (the dataset and exchange benchmarks load their own).
                "--no-datasets",
            ])
            .env("HUIMIN__LOG__FILTER", "warn")
            .stdout(Stdio::piped());
        if fresh {
            command.arg("--fresh");
        }
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut address = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("Open ").nth(1) {
                address = Some(rest.trim().trim_end_matches("/console").to_owned());
                break;
            }
        }
        let ready_after = started.elapsed();
        let address = address.context("the demo did not print its address")?;
        Ok(Server {
            child,
            address,
            ready_after,
        })
    }

    pub(crate) fn peak_memory(&self) -> String {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find(|line| line.starts_with("VmHWM:"))
                    .map(str::to_owned)
            })
            .and_then(|line| {
                line.split_whitespace()
                    .nth(1)
                    .and_then(|kib| kib.parse().ok())
            })
            .map(mib)
            .unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn demo_start(binary: &Path, out: &Path) -> anyhow::Result<Row> {
    println!("huimin demo, 100,000 people, from an empty database …");
    let database = format!("sqlite:{}", out.join("demo-100k.db").display());
    let server = Server::start(binary, &database, 100_000, true)?;
    Ok(Row {
        what: "`huimin demo`, 100,000 people, start to serving".into(),
        backend: "sqlite".into(),
        result: format!("{:.1} s", server.ready_after.as_secs_f64()),
        peer: "target ≤ 20 s".into(),
        ratio: String::new(),
        memory: server.peak_memory(),
    })
}

/// An API token of a city-wide service account, made with `huimin account add-service`
/// and `huimin token create` (once per database; a second run reuses the account).
pub(crate) fn service_token(binary: &Path, database: &str) -> anyhow::Result<String> {
    let run = |arguments: &[&str]| -> anyhow::Result<std::process::Output> {
        Ok(Command::new(binary)
            .args(arguments)
            .env("HUIMIN__DATABASE__URL", database)
            .env("HUIMIN__LOG__FILTER", "warn")
            .output()?)
    };
    run(&[
        "account",
        "add-service",
        "bench.system",
        "--name",
        "压测系统",
        "--role",
        "civil_affairs_officer",
        "--jurisdiction",
        "321000",
    ])?;
    let output = run(&[
        "token",
        "create",
        "bench.system",
        "--label",
        "bench",
        "--scope",
        "persons:read",
    ])?;
    ensure!(
        output.status.success(),
        "token create: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Seconds of load before the measured run of the HTTP benchmark.
const WARM_UP_SECONDS: u32 = 10;

/// The wrk script of the person 360 reads: random people from `ids`, each read by a
/// city-wide civil-affairs system with a purpose — authorised, in full, and audited, as
/// the audited-read figure asks.
pub(crate) fn person_360_script(out: &Path, ids: &Path, token: &str) -> anyhow::Result<PathBuf> {
    let script = out.join("person_360.lua");
    std::fs::write(
        &script,
        format!(
            "local ids = {{}}\nfor line in io.lines(\"{}\") do ids[#ids + 1] = line end\n\
             wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n\
             wrk.headers[\"X-Purpose\"] = \"case bench\"\n\
             request = function()\n  return wrk.format(\"GET\", \"/api/v1/persons/\" .. ids[math.random(#ids)] .. \"/360\")\nend\n",
            ids.display()
        ),
    )?;
    Ok(script)
}

/// Runs wrk with `script` against `address`: 32 connections, a warm-up (the first
/// seconds fault the database's pages into memory), then `seconds` measured. Returns
/// requests per second, p50 and p99 as wrk prints them.
pub(crate) fn wrk(
    address: &str,
    script: &Path,
    seconds: u32,
) -> anyhow::Result<(String, String, String)> {
    println!("wrk: 32 connections, {WARM_UP_SECONDS} s warm-up, then {seconds} s …");
    warm_up(address, script)?;
    wrk_measured(address, script, seconds)
}

/// Loads `address` for the warm-up time, unmeasured.
pub(crate) fn warm_up(address: &str, script: &Path) -> anyhow::Result<()> {
    let warm_up = Command::new("wrk")
        .args(["-t2", "-c32", &format!("-d{WARM_UP_SECONDS}s"), "-s"])
        .arg(script)
        .arg(address)
        .output()
        .context("running wrk (Debian: apt-get install wrk)")?;
    ensure!(warm_up.status.success(), "wrk failed during the warm-up");
    Ok(())
}

/// One measured wrk run: requests/s, p50 and p99.
pub(crate) fn wrk_measured(
    address: &str,
    script: &Path,
    seconds: u32,
) -> anyhow::Result<(String, String, String)> {
    let output = Command::new("wrk")
        .args(["-t2", "-c32", &format!("-d{seconds}s"), "--latency", "-s"])
        .arg(script)
        .arg(address)
        .output()
        .context("running wrk (Debian: apt-get install wrk)")?;
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    ensure!(
        !report.contains("Non-2xx"),
        "some requests failed:\n{report}"
    );
    let requests = report
        .lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))
        .map(str::trim)
        .unwrap_or("?")
        .to_owned();
    let percentile = |label: &str| {
        report
            .lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(label))
            .map(|value| value.trim().to_owned())
            .unwrap_or_else(|| "?".to_owned())
    };
    Ok((requests, percentile("50%"), percentile("99%")))
}

fn http_360(
    binary: &Path,
    database: &str,
    backend: &str,
    people: u32,
    ids: &Path,
    seconds: u32,
    out: &Path,
) -> anyhow::Result<Row> {
    println!("loading {people} people into {backend} for the HTTP benchmark …");
    let server = Server::start(binary, database, people, false)?;
    write_ids(database, ids)?;
    let token = service_token(binary, database)?;
    let script = person_360_script(out, ids, &token)?;
    let (requests, p50, p99) = wrk(&server.address, &script, seconds)?;
    Ok(Row {
        what: format!("person 360 over HTTP, {people} people, 32 connections"),
        backend: backend.into(),
        result: format!("{requests} req/s, p50 {p50}, p99 {p99}"),
        peer: "target ≥ 5,000 req/s, p99 ≤ 10 ms (SQLite)".into(),
        ratio: String::new(),
        memory: server.peak_memory(),
    })
}
