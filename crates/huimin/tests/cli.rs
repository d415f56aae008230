//! End-to-end tests of the `huimin` binary and its import: real files, a real database,
//! the real server on a free port, and the pages in headless Chromium.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test should panic

use chrono::{NaiveDate, TimeZone, Utc};
use huimin::import::{
    ImportError, ImportOptions, InputFormat, RecordKind, TextEncoding, import_bytes,
};
use huimin_domain::identifiers::CitizenId;
use huimin_domain::storage::RegistryStore;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

fn options(kind: RecordKind, format: InputFormat) -> ImportOptions {
    ImportOptions {
        kind,
        format,
        encoding: TextEncoding::Auto,
        atomic: false,
        source: "公安局".into(),
        batch_rows: 2,
        actor: huimin_domain::audit::Actor::system("import"),
    }
}

async fn sqlite_store() -> (Arc<dyn RegistryStore>, tempfile::TempDir) {
    let (url, directory) = huimin_store::testing::fresh_sqlite_database().await;
    (huimin_store::connect(&url).await.unwrap(), directory)
}

/// Runs an import and returns the summary and the report's lines as JSON values.
async fn import(
    store: &dyn RegistryStore,
    bytes: &[u8],
    options: &ImportOptions,
) -> (
    Result<huimin::import::ImportSummary, ImportError>,
    Vec<serde_json::Value>,
) {
    let mut report = Vec::new();
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap();
    let result = import_bytes(
        store,
        bytes.to_vec(),
        options,
        today(),
        now,
        &mut report,
        &mut |_, _, _| {},
    )
    .await;
    let lines = String::from_utf8(report)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (result, lines)
}

const PERSONS_CSV: &str = "公民身份号码,姓名,性别,出生日期,民族,居住地址,联系电话,标签,血型\n\
11010519491231002X,王秀英,女,1949-12-31,汉族,扬州市广陵区文昌中路18号,13812345678,独居老人,A\n\
110105194912310021,李四,男,1949-12-31,汉族,扬州市,13812345678,,B\n\
440524188001010014,张三,男,1880-01-01,回,扬州市,,,O\n\
320102199001011234,赵六,男,1990-13-01,汉族,扬州市,12345,火星标签,AB\n";

#[tokio::test]
async fn good_rows_are_kept_bad_rows_reported_and_a_second_import_changes_nothing() {
    let (store, _directory) = sqlite_store().await;
    let (summary, report) = import(
        store.as_ref(),
        PERSONS_CSV.as_bytes(),
        &options(RecordKind::Persons, InputFormat::Csv),
    )
    .await;
    let summary = summary.unwrap();
    assert_eq!(
        (summary.rows, summary.rejected_rows, summary.counts.inserted),
        (4, 2, 2)
    );
    assert_eq!(summary.encoding, "utf-8");
    assert_eq!(summary.ignored_columns, ["血型"]);
    let rows_and_codes: Vec<(u64, &str, &str)> = report
        .iter()
        .map(|line| {
            (
                line["row"].as_u64().unwrap(),
                line["column"].as_str().unwrap(),
                line["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        rows_and_codes.contains(&(3, "citizen_id", "citizen_id_check_character")),
        "{rows_and_codes:?}"
    );
    assert!(
        rows_and_codes
            .iter()
            .any(|(row, column, _)| *row == 5 && *column == "citizen_id"),
        "{rows_and_codes:?}"
    );
    assert!(
        rows_and_codes
            .iter()
            .any(|(row, column, _)| *row == 5 && *column == "phone"),
        "every error of a row is reported"
    );
    assert!(
        rows_and_codes
            .iter()
            .any(|(row, column, _)| *row == 5 && *column == "tags")
    );
    assert!(
        report
            .iter()
            .all(|line| !line["message"].as_str().unwrap().is_empty()
                && !line["message_zh"].as_str().unwrap().is_empty())
    );

    let stored = store
        .person(&CitizenId::parse("11010519491231002X").unwrap(), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.provenance.source, "公安局");
    assert!(stored.provenance.batch.starts_with("import:persons:"));

    let (again, _) = import(
        store.as_ref(),
        PERSONS_CSV.as_bytes(),
        &options(RecordKind::Persons, InputFormat::Csv),
    )
    .await;
    let again = again.unwrap();
    assert_eq!(
        (
            again.counts.inserted,
            again.counts.updated,
            again.counts.unchanged
        ),
        (0, 0, 2)
    );
    assert_eq!(
        store
            .person_history(&stored.record.citizen_id)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn gbk_files_are_detected_and_broken_bytes_are_reported_per_row() {
    let (store, _directory) = sqlite_store().await;
    let (gbk, _, _) = encoding_rs::GBK
        .encode("身份证号,姓名\n11010519491231002X,王秀英\n440524188001010014,张三\n");
    let (summary, _) = import(
        store.as_ref(),
        &gbk,
        &options(RecordKind::Persons, InputFormat::Csv),
    )
    .await;
    let summary = summary.unwrap();
    assert_eq!((summary.encoding, summary.counts.inserted), ("gb18030", 2));
    assert_eq!(
        store
            .person(&CitizenId::parse("440524188001010014").unwrap(), None)
            .await
            .unwrap()
            .unwrap()
            .record
            .name
            .as_str(),
        "张三"
    );

    let mut broken = b"citizen_id,name\n11010519491231002X,\xff\xfe\n".to_vec();
    broken.extend_from_slice("440524188001010014,张三\n".as_bytes());
    let mut utf8 = options(RecordKind::Persons, InputFormat::Csv);
    utf8.encoding = TextEncoding::Utf8;
    let (summary, report) = import(store.as_ref(), &broken, &utf8).await;
    assert_eq!(summary.unwrap().rejected_rows, 1);
    assert_eq!(report[0]["code"], "invalid_encoding");
    assert_eq!(report[0]["row"], 2);
}

#[tokio::test]
async fn missing_headers_ragged_rows_and_malformed_ndjson() {
    let (store, _directory) = sqlite_store().await;
    let (result, _) = import(
        store.as_ref(),
        "姓名,电话\n张三,1\n".as_bytes(),
        &options(RecordKind::Persons, InputFormat::Csv),
    )
    .await;
    match result {
        Err(ImportError::MissingColumns(columns)) => assert_eq!(columns, "citizen_id"),
        other => panic!("expected missing columns, got {other:?}"),
    }
    assert_eq!(store.count_persons().await.unwrap(), 0);

    let ragged = "citizen_id,name\n11010519491231002X,王秀英,extra\n440524188001010014\n";
    let (summary, report) = import(
        store.as_ref(),
        ragged.as_bytes(),
        &options(RecordKind::Persons, InputFormat::Csv),
    )
    .await;
    assert_eq!(summary.unwrap().rejected_rows, 2);
    assert_eq!(
        report
            .iter()
            .filter(|line| line["code"] == "ragged_row")
            .count(),
        2
    );

    let ndjson = "{\"citizen_id\":\"11010519491231002X\",\"name\":\"王秀英\",\"tags\":[\"独居老人\",\"残疾人\"]}\n\
                  {\"citizen_id\": \n\
                  [1,2]\n\
                  {\"name\":\"张三\"}\n\n";
    let (summary, report) = import(
        store.as_ref(),
        ndjson.as_bytes(),
        &options(RecordKind::Persons, InputFormat::Ndjson),
    )
    .await;
    let summary = summary.unwrap();
    assert_eq!(
        (summary.rows, summary.counts.inserted, summary.rejected_rows),
        (4, 1, 3)
    );
    let codes: Vec<&str> = report
        .iter()
        .map(|line| line["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["malformed_json", "not_an_object", "missing_field"]);
    let stored = store
        .person(&CitizenId::parse("11010519491231002X").unwrap(), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.record.tags.len(), 2);
}

#[tokio::test]
async fn atomic_imports_write_everything_or_nothing() {
    let (store, _directory) = sqlite_store().await;
    let mut atomic = options(RecordKind::Persons, InputFormat::Csv);
    atomic.atomic = true;
    let (summary, _) = import(store.as_ref(), PERSONS_CSV.as_bytes(), &atomic).await;
    let summary = summary.unwrap();
    assert!(summary.aborted);
    assert_eq!(store.count_persons().await.unwrap(), 0);
    let good = "citizen_id,name\n11010519491231002X,王秀英\n440524188001010014,张三\n11010519491231002X,王秀英\n";
    let (summary, _) = import(store.as_ref(), good.as_bytes(), &atomic).await;
    let summary = summary.unwrap();
    assert!(!summary.aborted);
    assert_eq!((summary.counts.inserted, summary.counts.unchanged), (2, 1));
}

#[tokio::test]
async fn entities_and_houses_import_with_their_own_rules() {
    let (store, _directory) = sqlite_store().await;
    let entities = "统一社会信用代码,名称,类型,法定代表人,注册地址,成立日期\n\
                    91350100M000100Y43,扬州市恒达贸易有限公司,企业,11010519491231002X,扬州市广陵区,2015-06-01\n\
                    91350100M000100Y4Z,坏代码公司,企业,11010519491231002X,扬州市,2015-06-01\n";
    let (summary, report) = import(
        store.as_ref(),
        entities.as_bytes(),
        &options(RecordKind::Entities, InputFormat::Csv),
    )
    .await;
    assert_eq!((summary.unwrap().counts.inserted, report.len()), (1, 1));
    assert_eq!(report[0]["column"], "credit_code");

    let houses = "id,building_id,grid,usage,floor_area_m2,owners,rental,tenants,district,road,number,longitude,latitude\n\
                  H1,B1,321002001001001,residential,89.5,11010519491231002X,rented,440524188001010014,广陵区,文昌中路,18号,119.42,32.39\n\
                  H2,B1,321002001001001,residential,-3,,vacant,440524188001010014,广陵区,文昌中路,18号,,\n";
    let (summary, report) = import(
        store.as_ref(),
        houses.as_bytes(),
        &options(RecordKind::Houses, InputFormat::Csv),
    )
    .await;
    assert_eq!(summary.unwrap().counts.inserted, 1);
    let columns: Vec<&str> = report
        .iter()
        .map(|line| line["column"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["floor_area_m2", "tenants"]);
    let tenant = CitizenId::parse("440524188001010014").unwrap();
    assert_eq!(
        store
            .person_links(&tenant)
            .await
            .unwrap()
            .rented_houses
            .len(),
        1
    );
}

#[tokio::test]
async fn imports_are_idempotent_on_postgres_too() {
    let Some(url) = huimin_store::testing::fresh_postgres_database().await else {
        return;
    };
    let store = huimin_store::connect(&url).await.unwrap();
    let (first, _) = import(
        store.as_ref(),
        PERSONS_CSV.as_bytes(),
        &options(RecordKind::Persons, InputFormat::Csv),
    )
    .await;
    let (second, _) = import(
        store.as_ref(),
        PERSONS_CSV.as_bytes(),
        &options(RecordKind::Persons, InputFormat::Csv),
    )
    .await;
    assert_eq!(first.unwrap().counts.inserted, 2);
    assert_eq!(second.unwrap().counts.unchanged, 2);
}

fn huimin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_huimin"));
    command
        .env_remove("HUIMIN__DATABASE__URL")
        .env("HUIMIN__LOG__FILTER", "warn")
        // Not the working directory: the ID-token keys of a run go with its files.
        .env(
            "HUIMIN__OIDC__KEY_DIRECTORY",
            std::env::temp_dir().join(format!("huimin-test-oidc-keys-{}", std::process::id())),
        );
    command
}

#[test]
fn the_import_command_summarises_and_writes_a_report_file() {
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("persons.csv");
    std::fs::write(&file, PERSONS_CSV).unwrap();
    let database = format!("sqlite:{}", directory.path().join("cli.db").display());
    let output = huimin()
        .args(["import", "persons"])
        .arg(&file)
        .args(["--database", &database])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("4 rows read (utf-8): 2 inserted, 0 updated, 0 unchanged, 2 rejected."),
        "{stdout}"
    );
    let report =
        std::fs::read_to_string(directory.path().join("persons.csv.report.jsonl")).unwrap();
    assert!(report.lines().count() >= 2);

    let output = huimin()
        .args(["import", "persons"])
        .arg(&file)
        .args(["--database", &database, "--atomic"])
        .output()
        .unwrap();
    assert!(!output.status.success(), "--atomic with bad rows must fail");
    assert!(String::from_utf8_lossy(&output.stderr).contains("nothing was written"));

    let output = huimin()
        .args([
            "import",
            "persons",
            "/no/such/file.csv",
            "--database",
            &database,
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/no/such/file.csv"));
}

/// `huimin audit checkpoint`, `verify` and `rotate-key` on an imported database; a change
/// made behind Huimin's back makes `verify` fail and name the entry.
#[tokio::test]
async fn the_audit_commands_sign_verify_rotate_and_catch_a_change() {
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("persons.csv");
    std::fs::write(&file, PERSONS_CSV).unwrap();
    let database = format!("sqlite:{}", directory.path().join("audit.db").display());
    let run = |arguments: &[&str]| {
        let output = huimin()
            .args(arguments)
            .env("HUIMIN__DATABASE__URL", &database)
            .env(
                "HUIMIN__AUDIT__KEY_DIRECTORY",
                directory.path().join("keys"),
            )
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code(), text)
    };
    let (status, text) = run(&["import", "persons", file.to_str().unwrap()]);
    assert_eq!(status, Some(0), "{text}");
    let (status, text) = run(&["audit", "checkpoint"]);
    assert_eq!(status, Some(1), "no key yet: {text}");
    let (status, text) = run(&["audit", "rotate-key"]);
    assert_eq!(status, Some(0), "{text}");
    let (status, text) = run(&["audit", "checkpoint"]);
    assert!(
        status == Some(0) && text.contains("Checkpoint of 1 entries"),
        "{text}"
    );
    run(&["import", "persons", file.to_str().unwrap()]);
    let (status, text) = run(&["audit", "verify"]);
    assert_eq!(status, Some(0), "{text}");
    assert!(
        text.contains("intact: 2 entries, 1 checkpoints")
            && text.contains("1 entries after the newest checkpoint"),
        "{text}"
    );
    // A new key signs from now on; the first checkpoint still verifies with the old one.
    run(&["audit", "rotate-key"]);
    let (status, text) = run(&["audit", "checkpoint"]);
    assert!(
        status == Some(0) && text.contains("Checkpoint of 2 entries"),
        "{text}"
    );
    let (status, text) = run(&["audit", "verify"]);
    assert!(
        status == Some(0) && text.contains("intact: 2 entries, 2 checkpoints"),
        "{text}"
    );

    let store = huimin_store::SqliteStore::connect(&database).await.unwrap();
    for statement in [
        "DROP TRIGGER audit_entry_append_only_update",
        "UPDATE audit_entry SET actor = 'staff:nobody' WHERE seq = 1",
    ] {
        sqlx::query(statement).execute(store.pool()).await.unwrap();
    }
    drop(store);
    let (status, text) = run(&["audit", "verify"]);
    assert_eq!(status, Some(1), "{text}");
    assert!(
        text.contains("tampered") && text.contains("entry 1 does not match its recorded hash"),
        "{text}"
    );
}

/// `huimin cases replay` recomputes the indicators' facts from the event log: a year of
/// generated cases agrees with it; facts changed behind its back are found, and fixed
/// with `--fix`; a case whose kept status its timeline does not give is reported and
/// left alone.
#[tokio::test]
async fn the_case_replay_finds_and_fixes_facts_that_are_not_the_timelines() {
    use huimin_domain::case::flow::Status;
    use huimin_domain::storage::CaseStore;
    let directory = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", directory.path().join("cases.db").display());
    let city = huimin_city::generate(
        &huimin_city::CityConfig {
            seed: 5,
            people: 2_000,
        },
        today(),
    );
    let generated = huimin_city::cases(
        &city,
        &huimin_city::CaseConfig {
            seed: 5,
            count: 400,
            area: None,
            first_id: 1,
        },
    );
    let store = huimin_store::SqliteStore::connect(&database).await.unwrap();
    store.load_cases(&generated.cases).await.unwrap();
    let closed = generated
        .cases
        .iter()
        .find(|(case, _)| case.flow.status == Status::Closed)
        .map(|(case, _)| case.id)
        .expect("a closed case");
    let open = generated
        .cases
        .iter()
        .find(|(case, _)| case.flow.status == Status::Dispatched)
        .map(|(case, _)| case.id)
        .expect("a dispatched case");
    let run = |arguments: &[&str]| {
        let output = huimin()
            .args(arguments)
            .env("HUIMIN__DATABASE__URL", &database)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    let (status, text) = run(&["cases", "replay"]);
    assert_eq!(status, Some(0), "{text}");
    assert!(
        text.contains("Replayed 400 case timelines: 0 with other facts than kept, 0 that do not"),
        "{text}"
    );

    for statement in [
        format!("UPDATE case_record SET closed = 0, closed_on_time = 0 WHERE id = {closed}"),
        // The kept case says closed; its timeline stops at the dispatch.
        format!(
            "UPDATE case_record SET body = json_set(body, '$.flow.status', 'closed') WHERE id = {open}"
        ),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(store.pool())
            .await
            .unwrap();
    }
    let (status, text) = run(&["cases", "replay"]);
    assert_eq!(status, Some(1), "{text}");
    assert!(
        text.contains("1 with other facts than kept, 1 that do not replay")
            && text.contains(&format!("case {closed}: kept"))
            && text.contains(&format!(
                "case {open}: the timeline gives dispatched, the case is kept closed"
            ))
            && text.contains("--fix"),
        "{text}"
    );
    let (status, text) = run(&["cases", "replay", "--fix"]);
    assert_eq!(status, Some(1), "the broken timeline stays: {text}");
    assert!(text.contains("(1 rewritten)"), "{text}");
    let facts = store.kept_facts(closed).await.unwrap().unwrap();
    assert!(facts.closed, "rewritten from the timeline");
    let rewrites: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_entry WHERE action = 'case.replay'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(rewrites, 1, "the rewrite is audited");
    let (_, text) = run(&["cases", "replay"]);
    assert!(
        text.contains("0 with other facts than kept, 1 that do not"),
        "{text}"
    );
}

#[test]
fn the_config_command_prints_the_effective_configuration_without_secrets() {
    let output = huimin()
        .arg("config")
        .env(
            "HUIMIN__DATABASE__URL",
            "postgres://huimin:hunter2@db/huimin",
        )
        .current_dir(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(
        stdout.contains("postgres://huimin:***@db/huimin") && !stdout.contains("hunter2"),
        "{stdout}"
    );
    let output = huimin()
        .arg("config")
        .env("HUIMIN__SERVER__NO_SUCH_KEY", "1")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no_such_key"));
}

/// A running `huimin demo`, stopped with SIGTERM when dropped.
struct Demo {
    child: Child,
    address: String,
    database: String,
    directory: tempfile::TempDir,
}

impl Demo {
    fn start(people: u32) -> Demo {
        let directory = tempfile::tempdir().unwrap();
        let database = format!("sqlite:{}", directory.path().join("demo.db").display());
        let mut child = huimin()
            .args([
                "demo",
                "--people",
                &people.to_string(),
                "--listen",
                "127.0.0.1:0",
                "--database",
                &database,
            ])
            .env(
                "HUIMIN__AUDIT__KEY_DIRECTORY",
                directory.path().join("keys"),
            )
            .stdout(Stdio::piped())
            .env(
                "HUIMIN__OIDC__KEY_DIRECTORY",
                directory.path().join("oidc-keys"),
            )
            // The demo's SMS gateway writes residents' sign-in codes to the log.
            .env("HUIMIN__LOG__FILTER", "warn,huimin::sms=info")
            .stderr(std::fs::File::create(directory.path().join("demo.log")).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut address = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("Open ").nth(1) {
                address = Some(rest.trim().trim_end_matches("/console").to_owned());
                break;
            }
        }
        let address = address.expect("the demo prints the address to open");
        Demo {
            child,
            address,
            database,
            directory,
        }
    }

    /// What the demo has logged so far.
    fn log(&self) -> String {
        std::fs::read_to_string(self.directory.path().join("demo.log")).unwrap_or_default()
    }

    /// An API token of a city-wide civil-affairs service account.
    fn token(&self) -> String {
        service_token(&self.database, &self.directory.path().join("keys"))
    }

    fn stop(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap()
    }
}

/// The city-wide service account of the tests' department systems: login, name, role
/// and the scopes of its token.
struct ServiceAccount<'a> {
    login: &'a str,
    name: &'a str,
    role: &'a str,
    scopes: &'a [&'a str],
}

/// The civil-affairs system that reads people's records and writes the registries.
const CIVIL_SYSTEM: ServiceAccount<'static> = ServiceAccount {
    login: "civil.system",
    name: "民政业务系统",
    role: "civil_affairs_officer",
    scopes: &["persons:read", "registry:write"],
};

/// An API token of a new city-wide civil-affairs service account, made with the commands
/// an operator would use while the server runs.
fn service_token(database: &str, keys: &Path) -> String {
    service_token_of(database, keys, &CIVIL_SYSTEM)
}

/// An API token of a new city-wide service `account`, made with the operator's commands.
fn service_token_of(database: &str, keys: &Path, account: &ServiceAccount<'_>) -> String {
    let run = |arguments: &[&str]| {
        let output = huimin()
            .args(arguments)
            .env("HUIMIN__DATABASE__URL", database)
            .env("HUIMIN__AUDIT__KEY_DIRECTORY", keys)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    run(&[
        "account",
        "add-service",
        account.login,
        "--name",
        account.name,
        "--role",
        account.role,
        "--jurisdiction",
        "321000",
    ]);
    let mut token = vec!["token", "create", account.login, "--label", "test"];
    for scope in account.scopes {
        token.extend(["--scope", scope]);
    }
    run(&token)
}

/// A token of `scope` for a new city-wide hotline system `login` of the running demo.
fn demo_service_token(demo: &Demo, login: &str, name: &str, scope: &str) -> String {
    let account = ServiceAccount {
        login,
        name,
        role: "hotline_agent",
        scopes: &[scope],
    };
    service_token_of(
        &demo.database,
        &demo.directory.path().join("keys"),
        &account,
    )
}

impl Drop for Demo {
    /// A test that fails half-way must not leave a server running.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[tokio::test]
async fn the_demo_serves_the_city_and_stops_gracefully_on_sigterm() {
    let demo = Demo::start(1_000);
    let client = reqwest::Client::new();
    let health = client
        .get(format!("{}/readyz", demo.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), reqwest::StatusCode::OK);
    let anonymous = client
        .get(format!("{}/api/v1/persons?per_page=1", demo.address))
        .send()
        .await
        .unwrap();
    assert_eq!(
        anonymous.status(),
        reqwest::StatusCode::UNAUTHORIZED,
        "people's records need a caller"
    );
    let token = demo.token();
    assert!(token.starts_with("hm_"), "{token}");
    let page: serde_json::Value = client
        .get(format!("{}/api/v1/persons?per_page=1", demo.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(page["total"].as_u64().unwrap() >= 900, "{page}");
    assert!(
        page["items"][0]["citizen_id"]
            .as_str()
            .unwrap()
            .contains('*'),
        "masked without a purpose"
    );
    let with_purpose: serde_json::Value = client
        .get(format!("{}/api/v1/persons?per_page=1", demo.address))
        .bearer_auth(&token)
        .header("x-purpose", "household_check 2026-001")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !with_purpose["items"][0]["citizen_id"]
            .as_str()
            .unwrap()
            .contains('*'),
        "{with_purpose}"
    );

    // Single sign-on is on, with the listening address as the issuer and a key of its
    // own (from the key directory the configuration names).
    let discovery: serde_json::Value = client
        .get(format!("{}/.well-known/openid-configuration", demo.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], demo.address.as_str());
    let jwks: serde_json::Value = client
        .get(format!("{}/oidc/jwks", demo.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["crv"], "Ed25519", "{jwks}");

    // The loader's writes are in the audit log, and the server signs a checkpoint before
    // it serves: check it and a proof with nothing but the API's answers.
    let checkpoint: serde_json::Value = client
        .get(format!("{}/api/v1/audit/checkpoint", demo.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let size = checkpoint["tree_size"]
        .as_u64()
        .expect("a checkpoint at start");
    assert!(
        size >= 6,
        "one entry per registry write of the loader: {checkpoint}"
    );
    let keys: serde_json::Value = client
        .get(format!("{}/api/v1/audit/keys", demo.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let public = keys[0]["public_key"].as_str().unwrap();
    let key = huimin_domain::audit::AuditPublicKey::from_bytes(
        &huimin_domain::audit::from_hex::<32>(public).unwrap(),
    )
    .unwrap();
    let hash = |field: &serde_json::Value| {
        huimin_domain::audit::from_hex::<32>(field.as_str().unwrap()).unwrap()
    };
    let signed = huimin_domain::audit::Checkpoint {
        size,
        root: hash(&checkpoint["root_hash"]),
        signed_at: chrono::DateTime::parse_from_rfc3339(checkpoint["signed_at"].as_str().unwrap())
            .unwrap()
            .to_utc(),
        key_id: checkpoint["key_id"].as_str().unwrap().to_owned(),
        signature: {
            let text = checkpoint["signature"].as_str().unwrap();
            let mut bytes = [0u8; 64];
            bytes[..32]
                .copy_from_slice(&huimin_domain::audit::from_hex::<32>(&text[..64]).unwrap());
            bytes[32..]
                .copy_from_slice(&huimin_domain::audit::from_hex::<32>(&text[64..]).unwrap());
            bytes
        },
    };
    assert_eq!(
        signed.verify(&huimin_domain::audit::KeyRing::new(vec![key])),
        Ok(())
    );
    let proof: serde_json::Value = client
        .get(format!(
            "{}/api/v1/audit/proof/inclusion?seq=2&tree_size={size}",
            demo.address
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path: Vec<[u8; 32]> = proof["audit_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(hash)
        .collect();
    assert!(huimin_domain::merkle::verify_inclusion(
        &hash(&proof["leaf_hash"]),
        1,
        size,
        &path,
        &signed.root
    ));
    let missing = client
        .get(format!(
            "{}/api/v1/audit/proof/inclusion?seq=2&tree_size={}",
            demo.address,
            size + 1
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), reqwest::StatusCode::NOT_FOUND);

    let status = demo.stop();
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );
}

/// Headless Chromium: the person 360 page, the grid map and the statistics page, as a
/// person would see them, with screenshots kept in target/browser-screenshots.
#[tokio::test]
async fn browser_shows_the_person_360_page_the_grid_map_and_the_charts() {
    let Some((chromium, driver)) = browser_tools("person-360") else {
        return;
    };
    let demo = Demo::start(2_000);
    let client = reqwest::Client::new();
    let page: serde_json::Value = client
        .get(format!(
            "{}/api/v1/persons?initials=w&per_page=1",
            demo.address
        ))
        .bearer_auth(demo.token())
        .header("x-purpose", "case browser-test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let person = &page["items"][0];
    let screenshots =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();

    // The 360 page is personal data: a civil-affairs officer signs in and states a purpose.
    let profile = tempfile::tempdir().unwrap();
    let browser = driver.browser(&chromium, profile.path(), 1280, 1000).await;
    sign_in_in_browser(&browser, &demo.address, "civil.affairs").await;
    let citizen_id = person["citizen_id"].as_str().unwrap();
    browser
        .goto(&format!(
            "{}/console/persons/{citizen_id}?purpose=case%20browser-test",
            demo.address
        ))
        .await
        .unwrap();
    let shown = browser
        .find(fantoccini::Locator::Id("citizen-id"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(shown, citizen_id, "the full number, with a purpose");
    let dom = browser.source().await.unwrap();
    std::fs::write(
        screenshots.join("person-360.png"),
        browser.screenshot().await.unwrap(),
    )
    .unwrap();
    assert!(
        dom.contains(person["name"].as_str().unwrap()),
        "the person's name is on the page"
    );
    for heading in ["人员全景", "公民身份号码", "家庭户", "名下房屋", "历史版本"]
    {
        assert!(dom.contains(heading), "{heading} is shown");
    }
    browser
        .goto(&format!("{}/console/persons/{citizen_id}", demo.address))
        .await
        .unwrap();
    let masked = browser
        .find(fantoccini::Locator::Id("citizen-id"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        masked.contains("**********"),
        "masked without a purpose: {masked}"
    );
    browser.close().await.unwrap();

    let dom = render(
        &chromium,
        &format!("{}/console/map", demo.address),
        &screenshots.join("grid-map.png"),
    );
    let drawn = dom
        .split("data-grids-drawn=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("0");
    assert!(
        drawn.parse::<u32>().unwrap_or(0) > 0,
        "grids were drawn: {drawn}"
    );
    assert!(
        dom.matches("leaflet-interactive").count() > 3,
        "polygons are on the map"
    );

    let dom = render(
        &chromium,
        &format!("{}/console/statistics", demo.address),
        &screenshots.join("statistics.png"),
    );
    assert!(
        dom.contains("年龄金字塔") && dom.contains("data-drawn=\"true\""),
        "the pyramid was drawn"
    );
    assert!(
        dom.matches("<path").count() > 20,
        "the charts are SVG with bars"
    );
    assert!(dom.contains("社区"), "communities label the ageing chart");
    for file in ["person-360.png", "grid-map.png", "statistics.png"] {
        assert!(
            std::fs::metadata(screenshots.join(file)).unwrap().len() > 5_000,
            "{file} is a real screenshot"
        );
    }
    demo.stop();
}

fn find_chromium() -> Option<PathBuf> {
    find_on_path(&["chromium", "chromium-browser", "google-chrome"])
}

fn find_on_path(names: &[&str]) -> Option<PathBuf> {
    names.iter().find_map(|name| {
        std::env::var_os("PATH")?
            .to_str()?
            .split(':')
            .map(|dir| Path::new(dir).join(name))
            .find(|path| path.is_file())
    })
}

/// Loads a page in headless Chromium, lets its scripts run, saves a screenshot and
/// returns the DOM as the scripts left it.
fn render(chromium: &Path, url: &str, screenshot: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let common = |command: &mut Command| {
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--hide-scrollbars",
                "--virtual-time-budget=15000",
                "--window-size=1280,1000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()));
    };
    let mut dump = Command::new(chromium);
    common(&mut dump);
    let output = dump
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut shot = Command::new(chromium);
    common(&mut shot);
    let status = shot
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(
        status.status.success(),
        "chromium screenshot failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

mod untrusted_files {
    //! The import parses files departments send: no input may panic it, and every row is
    //! either counted as written or reported.

    use super::*;
    use proptest::prelude::*;

    fn runtime() -> &'static tokio::runtime::Runtime {
        static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
        RUNTIME.get_or_init(|| tokio::runtime::Runtime::new().unwrap())
    }

    fn check(bytes: &[u8], format: InputFormat) -> Result<(), TestCaseError> {
        runtime().block_on(async {
            let (store, _directory) = sqlite_store().await;
            let (result, report) =
                import(store.as_ref(), bytes, &options(RecordKind::Persons, format)).await;
            match result {
                Ok(summary) => {
                    let written =
                        summary.counts.inserted + summary.counts.updated + summary.counts.unchanged;
                    prop_assert_eq!(written + summary.rejected_rows, summary.rows);
                    prop_assert!(report.len() as u64 >= summary.rejected_rows);
                }
                Err(ImportError::MissingColumns(_) | ImportError::Unreadable { .. }) => {
                    prop_assert_eq!(store.count_persons().await.unwrap(), 0);
                }
                Err(other) => prop_assert!(false, "unexpected error {other:?}"),
            }
            Ok(())
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn arbitrary_bytes_never_panic_the_import(bytes in proptest::collection::vec(any::<u8>(), 0..600), ndjson in any::<bool>()) {
            check(&bytes, if ndjson { InputFormat::Ndjson } else { InputFormat::Csv })?;
        }

        #[test]
        fn csv_shaped_noise_never_panics_the_import(body in "[0-9Xx,;\"\\n 张三王秀英男女-]{0,400}") {
            let file = format!("citizen_id,name,sex,birth_date,phone\n{body}");
            check(file.as_bytes(), InputFormat::Csv)?;
        }
    }
}

/// Canary identity numbers, planted through every path that handles one (API reads,
/// writes, refusals, 360 view, search, a file import with good and bad rows), never
/// appear in the server's or the importer's own logs, at the most verbose level.
#[tokio::test]
async fn identity_numbers_never_reach_the_logs() {
    use huimin_domain::identifiers::{AreaCode, CitizenId};
    let area = AreaCode::parse("321002").unwrap();
    let canary = |sequence: u16| {
        CitizenId::from_parts(
            &area,
            NaiveDate::from_ymd_opt(1961, 7, 3).unwrap(),
            sequence,
        )
        .unwrap()
        .as_str()
        .to_owned()
    };
    let (stored, missing, refused, imported) = (canary(771), canary(772), canary(773), canary(774));
    let directory = tempfile::tempdir().unwrap();
    let log = directory.path().join("server.log");
    let database = format!("sqlite:{}", directory.path().join("canary.db").display());
    let mut child = huimin()
        .args([
            "demo",
            "--people",
            "200",
            "--listen",
            "127.0.0.1:0",
            "--database",
            &database,
        ])
        .env("HUIMIN__LOG__FILTER", "trace")
        .env(
            "HUIMIN__AUDIT__KEY_DIRECTORY",
            directory.path().join("keys"),
        )
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let address = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            line.split("Open ")
                .nth(1)
                .map(|rest| rest.trim().trim_end_matches("/console").to_owned())
        })
        .expect("the demo prints its address");
    let token = service_token(&database, &directory.path().join("keys"));
    let client = reqwest::Client::new();
    let person = |id: &str, phone: &str| {
        serde_json::json!({
            "citizen_id": id, "name": "金丝雀", "hukou_address": "扬州市广陵区文昌中路1号",
            "residence_address": "扬州市广陵区文昌中路1号", "phone": phone, "tags": []
        })
    };
    let anonymous = client
        .post(format!("{address}/api/v1/persons"))
        .json(&person(&stored, "13800001234"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        anonymous.status(),
        reqwest::StatusCode::UNAUTHORIZED,
        "writes need a caller too"
    );
    let created = client
        .post(format!("{address}/api/v1/persons"))
        .bearer_auth(&token)
        .json(&person(&stored, "13800001234"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), reqwest::StatusCode::CREATED);
    let refused_write = client
        .post(format!("{address}/api/v1/persons"))
        .bearer_auth(&token)
        .json(&person(&refused, "12"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused_write.status(),
        reqwest::StatusCode::UNPROCESSABLE_ENTITY
    );
    for path in [
        format!("/api/v1/persons/{stored}"),
        format!("/api/v1/persons/{stored}/360"),
        format!("/api/v1/persons/{stored}/history"),
        format!("/api/v1/persons/{missing}"),
        format!("/api/v1/persons/{missing}/360"),
        format!("/api/v1/persons?name={stored}"),
        format!("/console/persons/{stored}"),
        format!("/console/persons/{missing}"),
        format!("/api/v1/persons/{}", &stored[..17]),
    ] {
        for purpose in ["", "case canary-1"] {
            let response = client
                .get(format!("{address}{path}"))
                .bearer_auth(&token)
                .header("x-purpose", purpose)
                .send()
                .await
                .unwrap();
            assert!(
                response.status() != reqwest::StatusCode::INTERNAL_SERVER_ERROR,
                "{path}"
            );
        }
    }
    let read = client
        .get(format!("{address}/api/v1/persons/{stored}/360"))
        .bearer_auth(&token)
        .header("x-purpose", "case canary-1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        read.status(),
        reqwest::StatusCode::OK,
        "the reads were really made"
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();

    let file = directory.path().join("canaries.csv");
    std::fs::write(
        &file,
        format!(
            "公民身份号码,姓名,性别,出生日期,民族,居住地址,联系电话,标签\n\
             {imported},金丝雀,男,1961-07-03,汉族,扬州市广陵区,,\n\
             {},金丝雀,男,1961-07-03,汉族,扬州市广陵区,,\n",
            &refused[..17]
        ),
    )
    .unwrap();
    let output = huimin()
        .args(["import", "persons"])
        .arg(&file)
        .args(["--database", &database])
        .env("HUIMIN__LOG__FILTER", "trace")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let mut logs = std::fs::read_to_string(&log).unwrap();
    logs.push_str(&String::from_utf8_lossy(&output.stderr));
    assert!(
        logs.contains("serving"),
        "the log was captured: {}",
        &logs[..logs.len().min(500)]
    );
    assert!(
        logs.contains("/api/v1/persons/{citizen_id}/360"),
        "the requests were logged (by route, not by path)"
    );
    for number in [&stored, &missing, &refused, &imported] {
        // The 17 digits before the check character are enough to identify someone.
        assert!(
            !logs.contains(&number[..17]),
            "identity number {number} is in the logs"
        );
    }
}

/// Chromium and a running chromedriver for the browser test `test`, or `None` with a loud
/// warning when either is missing; `HUIMIN_REQUIRE_BROWSER=1` makes that a failure.
fn browser_tools(test: &str) -> Option<(PathBuf, ChromeDriver)> {
    match (find_chromium(), ChromeDriver::start()) {
        (Some(chromium), Some(driver)) => Some((chromium, driver)),
        _ => {
            assert!(
                std::env::var("HUIMIN_REQUIRE_BROWSER").as_deref() != Ok("1"),
                "HUIMIN_REQUIRE_BROWSER=1 but chromium or chromedriver is missing"
            );
            eprintln!(
                "\n!!! Browser {test} test SKIPPED: needs chromium and chromedriver (Debian: apt-get install chromium chromium-driver).\n"
            );
            None
        }
    }
}

/// Debian's chromedriver on a free port, stopped when dropped.
struct ChromeDriver {
    child: Child,
    url: String,
}

impl ChromeDriver {
    fn start() -> Option<ChromeDriver> {
        let binary = find_on_path(&["chromedriver"])?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let mut child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .spawn()
            .ok()?;
        let stdout = child.stdout.take()?;
        // It says when it listens; reading that line is the wait.
        let ready = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.contains("started successfully"));
        ready.then(|| ChromeDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    async fn browser(
        &self,
        chromium: &Path,
        profile: &Path,
        width: u32,
        height: u32,
    ) -> fantoccini::Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", format!("--user-data-dir={}", profile.display()),
                    format!("--window-size={width},{height}"),
                ],
            }),
        );
        fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a WebDriver session")
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Signs a demo account in through the browser's forms: the password, then the code typed
/// from the key that the enrolment page shows.
async fn sign_in_in_browser(browser: &fantoccini::Client, address: &str, login: &str) {
    use fantoccini::Locator;
    submit_password_in_browser(browser, address, login).await;
    let secret = browser
        .wait()
        .for_element(Locator::Id("totp-secret"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        browser.find(Locator::Css("#totp-qr svg")).await.is_ok(),
        "the QR code is drawn"
    );
    let factor = huimin_domain::identity::SecondFactor::from_base32(&secret)
        .expect("a base32 key on the page");
    // The server reads the machine's clock; so must the person typing the code.
    let code = factor.code_at(huimin_web::Clock::now(&huimin_web::SystemClock));
    browser
        .find(Locator::Id("code"))
        .await
        .unwrap()
        .send_keys(&code)
        .await
        .unwrap();
    browser
        .find(Locator::Id("verify"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Id("account-name"))
        .await
        .unwrap();
}

/// The password step of the sign-in form, as a person types it.
async fn submit_password_in_browser(browser: &fantoccini::Client, address: &str, login: &str) {
    use fantoccini::Locator;
    browser
        .goto(&format!("{address}/console/sign-in"))
        .await
        .unwrap();
    browser
        .find(Locator::Id("login"))
        .await
        .unwrap()
        .send_keys(login)
        .await
        .unwrap();
    browser
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(huimin_web::accounts::DEMO_PASSWORD)
        .await
        .unwrap();
    browser
        .find(Locator::Id("sign-in"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Headless Chromium signs a demo staff account in as a person would: password, then the
/// enrolment page (the key read off the page, the code typed from it), then the account
/// page; a second sign-in asks for a code without enrolment.
#[tokio::test]
async fn browser_signs_in_with_a_password_and_a_one_time_code() {
    let Some((chromium, driver)) = browser_tools("sign-in") else {
        return;
    };
    use fantoccini::Locator;
    let demo = Demo::start(500);
    let profile = tempfile::tempdir().unwrap();
    let browser = driver.browser(&chromium, profile.path(), 1280, 900).await;
    sign_in_in_browser(&browser, &demo.address, "grid.worker").await;
    let name = browser
        .find(Locator::Id("account-name"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        name.contains("网格员") && name.contains("grid.worker"),
        "{name}"
    );
    let roles = browser
        .find(Locator::Id("roles"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(roles.contains("网格员"), "{roles}");

    // The demo's catalogue: search it in Chinese, open a resource, read its items.
    browser
        .goto(&format!("{}/console/catalogue", demo.address))
        .await
        .unwrap();
    let total = |browser: fantoccini::Client| async move {
        browser
            .wait()
            .for_element(Locator::Id("catalogue-total"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    assert_eq!(
        total(browser.clone()).await,
        huimin_city::catalogue().resources.len().to_string()
    );
    browser
        .find(Locator::Css("form.filters input[name=q]"))
        .await
        .unwrap()
        .send_keys("婚姻")
        .await
        .unwrap();
    browser
        .find(Locator::Css("form.filters button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The answer page is the one that shows the words searched for.
    browser
        .wait()
        .for_element(Locator::Css(r#"form.filters input[name=q][value="婚姻"]"#))
        .await
        .unwrap();
    assert_eq!(total(browser.clone()).await, "1");
    browser
        .find(Locator::LinkText("婚姻登记信息"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let name = browser
        .wait()
        .for_element(Locator::Id("resource-name"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(name, "婚姻登记信息");
    let items = browser
        .find(Locator::Id("resource-items"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in ["registration_number", "婚姻状况", "（权威来源）", "敏感"] {
        assert!(items.contains(expected), "{expected}: {items}");
    }
    let screenshots =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();
    std::fs::write(
        screenshots.join("catalogue-resource.png"),
        browser.screenshot().await.unwrap(),
    )
    .unwrap();

    // The exchange's monitoring page: the live figures and both charts drawn.
    browser
        .goto(&format!("{}/console/monitoring", demo.address))
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Css(r#"#exchange-chart[data-drawn="true"] svg"#))
        .await
        .unwrap();
    let cards = browser
        .find(Locator::Id("monitoring-cards"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        cards.contains("实有人口") && cards.contains("待处理数据异议"),
        "{cards}"
    );
    browser
        .find(Locator::Css("#enterprise-chart svg"))
        .await
        .unwrap();
    browser
        .find(Locator::Css("#education-chart svg"))
        .await
        .unwrap();
    let resources = browser
        .find(Locator::Id("resource-totals"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(resources.contains("社会保险参保缴费信息"), "{resources}");
    std::fs::write(
        screenshots.join("monitoring.png"),
        browser.screenshot().await.unwrap(),
    )
    .unwrap();
    browser
        .goto(&format!("{}/console/account", demo.address))
        .await
        .unwrap();

    browser
        .find(Locator::Id("sign-out"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Id("login"))
        .await
        .unwrap();
    submit_password_in_browser(&browser, &demo.address, "grid.worker").await;
    browser
        .wait()
        .for_element(Locator::Id("code"))
        .await
        .unwrap();
    assert!(
        browser.find(Locator::Id("totp-secret")).await.is_err(),
        "enrolled once: no key shown again"
    );
    browser.close().await.unwrap();
}

/// The sign-in code of the newest SMS the demo's logging gateway wrote to its log.
async fn logged_sms_code(demo: &Demo, sent_before: usize) -> String {
    for _ in 0..100 {
        let log = demo.log();
        let codes: Vec<&str> = log
            .match_indices("验证码是 ")
            .map(|(at, marker)| &log[at + marker.len()..at + marker.len() + 6])
            .collect();
        if codes.len() > sent_before {
            return codes[codes.len() - 1].to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no SMS code in the demo's log: {}", demo.log());
}

/// Headless Chromium: the grid worker opens a resident's record; the resident signs in
/// with the password and the code "sent" by SMS (the demo's gateway logs it) and reads on
/// their data-access page that a grid worker read their record.
#[tokio::test]
async fn browser_shows_residents_who_used_their_data() {
    let Some((chromium, driver)) = browser_tools("data-access") else {
        return;
    };
    use fantoccini::Locator;
    let demo = Demo::start(500);
    let store = huimin_store::connect(&demo.database).await.unwrap();
    let resident = store
        .account(huimin_web::accounts::DEMO_RESIDENT)
        .await
        .unwrap()
        .expect("the demo has a resident account");
    let citizen_id = resident.citizen_id.clone().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let browser = driver.browser(&chromium, profile.path(), 1280, 900).await;

    sign_in_in_browser(&browser, &demo.address, "grid.worker").await;
    browser
        .goto(&format!("{}/console/persons/{citizen_id}", demo.address))
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Id("citizen-id"))
        .await
        .unwrap();
    browser
        .goto(&format!("{}/console/account", demo.address))
        .await
        .unwrap();
    browser
        .find(Locator::Id("sign-out"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Id("login"))
        .await
        .unwrap();

    let sent_before = demo.log().matches("验证码是 ").count();
    submit_password_in_browser(&browser, &demo.address, huimin_web::accounts::DEMO_RESIDENT).await;
    let phone = browser
        .wait()
        .for_element(Locator::Id("sms-phone"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(phone.contains("****"), "the phone is shown masked: {phone}");
    let code = logged_sms_code(&demo, sent_before).await;
    browser
        .find(Locator::Id("code"))
        .await
        .unwrap()
        .send_keys(&code)
        .await
        .unwrap();
    browser
        .find(Locator::Id("verify"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let accesses = browser
        .wait()
        .for_element(Locator::Id("accesses"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        accesses.contains("网格员") && accesses.contains("查看个人"),
        "the grid worker's read is listed: {accesses}"
    );
    let name = browser
        .find(Locator::Id("resident-name"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(name, resident.display_name);
    let page = browser.source().await.unwrap();
    assert!(
        !page.contains(&citizen_id),
        "the page does not print the number"
    );
    browser.close().await.unwrap();
}

// ---------------------------------------------------------------- department datasets

/// A store with the demo catalogue and no people (every subject is reported unlinked).
async fn catalogued_store(url: &str) -> Arc<dyn huimin_domain::storage::Store> {
    let store = huimin_store::connect(url).await.unwrap();
    huimin::demo::publish_demo_catalogue(
        store.as_ref(),
        Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap(),
    )
    .await
    .unwrap();
    store
}

/// `rows` contribution rows of distinct people, as 人社 would send them.
fn contributions_csv(rows: usize) -> String {
    let area = huimin_domain::identifiers::AreaCode::parse("321002").unwrap();
    let mut csv = String::from("公民身份号码,险种,缴费月份,缴费基数（元）\n");
    for n in 0..rows {
        let birth =
            NaiveDate::from_ymd_opt(1960, 1, 1).unwrap() + chrono::Duration::days((n / 900) as i64);
        let id = CitizenId::from_parts(&area, birth, (n % 900) as u16 + 1).unwrap();
        csv.push_str(&format!(
            "{},养老保险,2026-01-01,{}\n",
            id.as_str(),
            3000 + n % 5000
        ));
    }
    csv
}

fn dataset_import(url: &str, file: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_huimin"));
    command
        .args(["import", "dataset", "301004/000001"])
        .arg(file)
        .args(["--database", url, "--chunk-rows", "2000"])
        .args(extra)
        .env("HUIMIN__LOG__FILTER", "warn");
    command
}

/// Starts the import and kills it (SIGKILL) once it has printed `lines` progress lines;
/// returns the last one.
fn kill_after(mut command: Command, lines: usize) -> String {
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    for line in stdout.lines().map_while(Result::ok) {
        if line.contains("through row") {
            seen.push(line);
            if seen.len() == lines {
                break;
            }
        }
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the import was killed, not finished");
    seen.pop().expect("progress lines before the kill")
}

async fn killed_imports_keep_what_they_committed_and_resume(url: &str) {
    let store = catalogued_store(url).await;
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("contributions.csv");
    std::fs::write(&file, contributions_csv(40_000)).unwrap();
    let code = huimin_domain::catalogue::ResourceCode::parse("301004/000001").unwrap();

    // Atomic: killed after three checked chunks, nothing is kept.
    let last = kill_after(
        dataset_import(url, &file, &["--atomic", "--batch", "atomic-run"]),
        3,
    );
    assert!(last.starts_with("checked through row"), "{last}");
    assert_eq!(store.batch("atomic-run").await.unwrap(), None);
    assert_eq!(store.count_records(&code).await.unwrap(), 0);

    // Not atomic: killed after three committed chunks, exactly those rows are kept and
    // the batch says how far it got.
    let last = kill_after(dataset_import(url, &file, &["--batch", "chunked-run"]), 3);
    let committed: u64 = last.rsplit(' ').next().unwrap().parse().unwrap();
    let stopped = store.batch("chunked-run").await.unwrap().unwrap();
    assert_eq!(stopped.status, huimin_domain::dataset::BatchStatus::Running);
    assert!(
        stopped.committed_rows >= committed,
        "{} < {committed}",
        stopped.committed_rows
    );
    assert_eq!(
        store.count_records(&code).await.unwrap(),
        stopped.committed_rows - 1,
        "the header is row 1"
    );

    // The same command again completes it, without duplicates.
    let output = dataset_import(url, &file, &["--batch", "chunked-run"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "resuming batch chunked-run after row {}",
            stopped.committed_rows
        )),
        "{stdout}"
    );
    let done = store.batch("chunked-run").await.unwrap().unwrap();
    assert_eq!(done.status, huimin_domain::dataset::BatchStatus::Committed);
    assert_eq!(
        (done.counts.inserted, done.counts.rejected, done.tally.rows),
        (40_000, 0, 40_000)
    );
    assert_eq!(store.count_records(&code).await.unwrap(), 40_000);
    assert_eq!(done.tally.duplicate_keys, 0);
    // Every subject is reported, none dropped: the registry of this store is empty.
    assert_eq!(done.counts.unlinked, 40_000);

    // Sent a third time, the batch is recognised and nothing is written.
    let output = dataset_import(url, &file, &["--batch", "chunked-run"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("was loaded before"));
    assert_eq!(store.count_records(&code).await.unwrap(), 40_000);
}

#[tokio::test]
async fn killed_dataset_imports_keep_what_they_committed_and_resume_on_sqlite() {
    let (url, _directory) = huimin_store::testing::fresh_sqlite_database().await;
    killed_imports_keep_what_they_committed_and_resume(&url).await;
}

#[tokio::test]
async fn killed_dataset_imports_keep_what_they_committed_and_resume_on_postgres() {
    let Some(url) = huimin_store::testing::fresh_postgres_database().await else {
        return;
    };
    killed_imports_keep_what_they_committed_and_resume(&url).await;
}

/// A GBK file is detected; declared as UTF-8 it is refused, naming the mismatch; a
/// truncated last row, a header that does not match and a malformed NDJSON line are each
/// reported precisely.
#[tokio::test]
async fn dataset_files_in_gbk_truncated_or_mismatched() {
    let (url, _directory) = huimin_store::testing::fresh_sqlite_database().await;
    let store = catalogued_store(&url).await;
    let directory = tempfile::tempdir().unwrap();
    let code = huimin_domain::catalogue::ResourceCode::parse("301004/000001").unwrap();
    let text = contributions_csv(3).replace("养老保险", "失业保险");
    let gbk = directory.path().join("gbk.csv");
    std::fs::write(&gbk, encoding_rs::GBK.encode(&text).0).unwrap();
    let output = dataset_import(&url, &gbk, &["--encoding", "utf8"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("the header does not match the catalogue"),
        "{stderr}"
    );
    assert_eq!(
        store.count_records(&code).await.unwrap(),
        0,
        "a refused file writes nothing"
    );
    let output = dataset_import(&url, &gbk, &[]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("(gb18030)") && stdout.contains("3 inserted"),
        "{stdout}"
    );
    let records = store
        .subject_records(
            &code,
            text.lines().nth(1).unwrap().split(',').next().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        records[0].values[2].as_deref(),
        Some("失业保险"),
        "decoded from GBK"
    );

    // A truncated upload: the last row stops mid-way.
    let truncated = directory.path().join("truncated.csv");
    let mut cut = contributions_csv(4);
    cut.truncate(cut.len() - 12);
    std::fs::write(&truncated, &cut).unwrap();
    let output = dataset_import(&url, &truncated, &["--batch", "truncated"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let report =
        std::fs::read_to_string(directory.path().join("truncated.csv.report.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(report.lines().next().unwrap()).unwrap();
    assert_eq!(
        (first["row"].as_u64(), first["code"].as_str()),
        (Some(5), Some("row_width")),
        "{report}"
    );

    // A full load without a valid row would delete every record: refused, nothing deleted.
    let empty = directory.path().join("empty.csv");
    std::fs::write(
        &empty,
        "公民身份号码,险种,缴费月份,缴费基数（元）\n1,2,3,4\n",
    )
    .unwrap();
    let before = store.count_records(&code).await.unwrap();
    let output = dataset_import(&url, &empty, &["--mode", "full"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("no valid row"),
        "{stderr}"
    );
    assert_eq!(store.count_records(&code).await.unwrap(), before);

    // NDJSON by item names or titles; a line that is not an object is reported by line.
    let ndjson = directory.path().join("contributions.ndjson");
    let id = text.lines().nth(1).unwrap().split(',').next().unwrap();
    std::fs::write(
        &ndjson,
        format!(
            "{{\"citizen_id\":\"{id}\",\"险种\":\"工伤保险\",\"month\":\"2026-02-01\",\"salary_base\":4200.5}}\n[1,2]\n\n{{\"citizen_id\":\"{id}\",\"colour\":\"red\"}}\n"
        ),
    )
    .unwrap();
    let output = dataset_import(&url, &ndjson, &[]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 inserted") && stdout.contains("2 rejected"),
        "{stdout}"
    );
    let report =
        std::fs::read_to_string(directory.path().join("contributions.ndjson.report.jsonl"))
            .unwrap();
    let rows: Vec<(u64, String)> = report
        .lines()
        .map(|line| {
            let problem: serde_json::Value = serde_json::from_str(line).unwrap();
            (
                problem["row"].as_u64().unwrap(),
                problem["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // The file's problems as they were read, then the store's findings.
    let expected = [
        (2, "unreadable_row"),
        (4, "unreadable_row"),
        (1, "subject_unlinked"),
    ];
    assert_eq!(
        rows,
        expected.map(|(row, code)| (row, code.to_owned())),
        "{report}"
    );
    let amounts: Vec<Option<String>> = store
        .subject_records(&code, id)
        .await
        .unwrap()
        .iter()
        .map(|record| record.values[4].clone())
        .collect();
    assert!(amounts.contains(&Some("4200.50".into())), "{amounts:?}");
}

/// Headless Chromium: 公安's data officer decides the demo's sharing request and answers a
/// dispute that 人社's file raised, on the sharing desk.
#[tokio::test]
async fn browser_decides_a_sharing_request_and_answers_a_dispute() {
    let Some((chromium, driver)) = browser_tools("sharing-desk") else {
        return;
    };
    use fantoccini::Locator;
    let demo = Demo::start(1_000);
    let profile = tempfile::tempdir().unwrap();
    let browser = driver.browser(&chromium, profile.path(), 1280, 900).await;
    sign_in_in_browser(&browser, &demo.address, "data.officer").await;
    // The departments' files load in the background: wait for 人社's disputes.
    let mut found = false;
    for _ in 0..60 {
        browser
            .goto(&format!("{}/console/sharing", demo.address))
            .await
            .unwrap();
        if browser.find(Locator::Id("open-disputes")).await.is_ok() {
            found = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(found, "the demo's datasets raised disputes for 公安");
    let pending = browser
        .find(Locator::Id("pending-requests"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        pending.contains("minzheng") && pending.contains("301001/000001"),
        "{pending}"
    );
    // Refusing needs a reason; granting goes through.
    browser
        .find(Locator::Css("#pending-requests input[value=refuse]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .find(Locator::Css("#pending-requests button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let problem = browser
        .wait()
        .for_element(Locator::Id("desk-problem"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(problem.contains("reason"), "{problem}");
    browser
        .find(Locator::Css("#pending-requests button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Id("desk-done"))
        .await
        .unwrap();
    assert!(
        browser.find(Locator::Id("pending-requests")).await.is_err(),
        "nothing pending any more"
    );
    let all = browser
        .find(Locator::Id("all-requests"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(all.contains("已授权"), "{all}");
    // The first dispute: the authoritative value stands. The list is a page of open
    // disputes and the files may still be raising more, so the test follows the answered
    // row by its id rather than counting rows.
    let answered = browser
        .find(Locator::Css("#open-disputes tbody tr"))
        .await
        .unwrap()
        .attr("id")
        .await
        .unwrap()
        .expect("each dispute row carries its id");
    // The grant's page also says "done": mark it, to know the answer's page by its absence.
    browser
        .execute("document.body.dataset.granted = 'shown';", vec![])
        .await
        .unwrap();
    browser
        .find(Locator::Css("#open-disputes button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Css("body:not([data-granted]) #desk-done"))
        .await
        .unwrap();
    assert!(
        browser.find(Locator::Id(&answered)).await.is_err(),
        "{answered} is answered and no longer open"
    );
    let screenshots =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();
    std::fs::write(
        screenshots.join("sharing-desk.png"),
        browser.screenshot().await.unwrap(),
    )
    .unwrap();
}

/// A point inside the demo grid worker's grid (the demo gives them the first grid).
async fn point_in_workers_grid(database: &str) -> (String, f64, f64) {
    use geo::Centroid;
    let store = huimin_store::connect(database).await.unwrap();
    let grid = store
        .areas(&[huimin_domain::area::AreaLevel::Grid])
        .await
        .unwrap()
        .into_iter()
        .next()
        .expect("the demo has grids");
    let centre = grid.boundary.as_ref().unwrap().centroid().unwrap();
    (grid.code, centre.x(), centre.y())
}

/// Types `text` into the element with id `id`, replacing what it held.
async fn fill(browser: &fantoccini::Client, id: &str, text: &str) {
    let element = browser.find(fantoccini::Locator::Id(id)).await.unwrap();
    element.clear().await.unwrap();
    element.send_keys(text).await.unwrap();
}

/// Chooses the report form's category, types the location and sends the form.
async fn submit_report(
    browser: &fantoccini::Client,
    category: &str,
    longitude: f64,
    latitude: f64,
) {
    use fantoccini::Locator;
    let option = format!("#report-category option[value={category}]");
    browser
        .find(Locator::Css(&option))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fill(browser, "report-longitude", &format!("{longitude:.6}")).await;
    fill(browser, "report-latitude", &format!("{latitude:.6}")).await;
    browser
        .find(Locator::Id("report-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The grid worker's report flow on a phone-sized screen: the location from the device's
/// GPS, a report sent at once, then one made offline that waits in the browser's queue and
/// is sent when the phone is back online.
#[tokio::test]
async fn browser_grid_worker_reports_from_a_phone_and_an_offline_report_syncs_later() {
    let Some((chromium, driver)) = browser_tools("grid-report") else {
        return;
    };
    use fantoccini::Locator;
    let demo = Demo::start(1_000);
    let (grid, longitude, latitude) = point_in_workers_grid(&demo.database).await;
    let profile = tempfile::tempdir().unwrap();
    let browser = driver.browser(&chromium, profile.path(), 390, 844).await;
    sign_in_in_browser(&browser, &demo.address, "grid.worker").await;
    browser
        .goto(&format!("{}/console/cases/new", demo.address))
        .await
        .unwrap();
    // The phone's GPS answers with a point in the worker's grid.
    browser
        .execute(
            "navigator.geolocation.getCurrentPosition = (ok) => ok({coords: {longitude: arguments[0], latitude: arguments[1]}});",
            vec![serde_json::json!(longitude), serde_json::json!(latitude)],
        )
        .await
        .unwrap();
    browser
        .find(Locator::Css("#report-category option[value=P0101]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fill(
        &browser,
        "report-description",
        "文昌路口井盖破损，有行人绊倒风险",
    )
    .await;
    browser
        .find(Locator::Id("report-locate"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let filled = browser
        .find(Locator::Id("report-longitude"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(filled, format!("{longitude:.6}"));
    let submit = browser.find(Locator::Id("report-submit")).await.unwrap();
    let width: f64 = browser
        .execute(
            "return arguments[0].getBoundingClientRect().width",
            vec![serde_json::to_value(&submit).unwrap()],
        )
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    assert!(
        width > 300.0,
        "the button spans the phone's screen: {width}"
    );
    submit.click().await.unwrap();
    browser
        .wait()
        .for_element(Locator::Id("case-done"))
        .await
        .unwrap();
    let status = browser
        .find(Locator::Id("case-status"))
        .await
        .unwrap()
        .attr("data-status")
        .await
        .unwrap();
    assert_eq!(status.as_deref(), Some("reported"));
    let facts = browser
        .find(Locator::Id("case-facts"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        facts.contains(&grid),
        "placed in the worker's grid: {facts}"
    );

    // A photo from the phone, its EXIF position in it: kept, and shown on the case.
    let photo = profile.path().join("manhole.jpg");
    let segment = |marker: u8, payload: &[u8]| {
        let mut out = vec![0xFF, marker];
        out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(payload);
        out
    };
    let mut jpeg = vec![0xFF, 0xD8];
    jpeg.extend(segment(0xE1, b"Exif\0\0GPSLatitude 32.39"));
    jpeg.extend(segment(0xDA, &[1, 1, 0, 0, 63, 0]));
    jpeg.extend_from_slice(&[0x12, 0x34, 0xFF, 0xD9]);
    std::fs::write(&photo, &jpeg).unwrap();
    browser
        .find(Locator::Id("photo-input"))
        .await
        .unwrap()
        .send_keys(photo.to_str().unwrap())
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Css("#case-photos img"))
        .await
        .expect("the photo is shown on the case");

    // Offline: the report waits in the browser's queue.
    browser
        .goto(&format!("{}/console/cases/new", demo.address))
        .await
        .unwrap();
    browser
        .execute(
            "Object.defineProperty(navigator, 'onLine', {configurable: true, get: () => false});",
            vec![],
        )
        .await
        .unwrap();
    fill(
        &browser,
        "report-description",
        "小区东门暴露垃圾无人清运，气味很大",
    )
    .await;
    submit_report(&browser, "E0101", longitude, latitude).await;
    let queued = browser
        .find(Locator::Id("report-queue"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(queued.ends_with(" 1"), "one report waits: {queued}");
    let kept = browser
        .execute(
            "return JSON.parse(localStorage.getItem('huimin.case-report-queue')).length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(kept, serde_json::json!(1));
    // Back online: the queue is sent, and the report is a case.
    browser
        .execute(
            "Object.defineProperty(navigator, 'onLine', {configurable: true, get: () => true}); window.dispatchEvent(new Event('online'));",
            vec![],
        )
        .await
        .unwrap();
    let synced = browser
        .wait()
        .for_element(Locator::Css("#report-queue[data-state=synced]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let id = synced.rsplit(' ').next().unwrap_or_default().to_owned();
    assert!(
        id.parse::<u64>().is_ok(),
        "the synced case's number: {synced}"
    );
    browser
        .goto(&format!("{}/console/cases/{id}", demo.address))
        .await
        .unwrap();
    let description = browser
        .find(Locator::Id("case-description"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(description, "小区东门暴露垃圾无人清运，气味很大");

    // Today's round: a visit checked in where the phone is, with a finding reported.
    browser
        .goto(&format!("{}/console/patrol", demo.address))
        .await
        .unwrap();
    browser
        .execute(
            "navigator.geolocation.getCurrentPosition = (ok) => ok({coords: {longitude: arguments[0], latitude: arguments[1]}});",
            vec![serde_json::json!(longitude), serde_json::json!(latitude)],
        )
        .await
        .unwrap();
    let tasks = browser
        .find_all(Locator::Css("#patrol-tasks > li"))
        .await
        .unwrap();
    assert!(!tasks.is_empty(), "the worker's grid has visits due");
    let first = &tasks[0];
    let visited = first
        .attr("id")
        .await
        .unwrap()
        .expect("each task carries its id");
    first
        .find(Locator::Css("summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    first
        .find(Locator::Css("input[name=finding_category]"))
        .await
        .unwrap()
        .send_keys("G0501")
        .await
        .unwrap();
    first
        .find(Locator::Css("textarea[name=finding]"))
        .await
        .unwrap()
        .send_keys("老人家中燃气灶老化，需协助更换")
        .await
        .unwrap();
    first
        .find(Locator::Css(".visit-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let done = browser
        .wait()
        .for_element(Locator::Id("patrol-done"))
        .await
        .unwrap()
        .attr("data-done")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        done.starts_with("case-"),
        "the finding became a case: {done}"
    );
    // Followed by its id: the round may be a page of a longer list.
    assert!(
        browser.find(Locator::Id(&visited)).await.is_err(),
        "the visit {visited} is off today's round"
    );

    // A rented house of the round: its page (the doorplate's QR code) registers a tenant
    // who moved in ten days ago, flagged late.
    let house_link = browser
        .find(Locator::Css("#patrol-tasks a[href^='/console/houses/']"))
        .await
        .expect("a rented house on the round")
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    browser
        .goto(&format!("{}{house_link}", demo.address))
        .await
        .unwrap();
    assert!(
        browser.find(Locator::Css("#house-qr svg")).await.is_ok(),
        "the doorplate's QR code is drawn"
    );
    let moved_in = huimin_web::Clock::today(&huimin_web::SystemClock) - chrono::Duration::days(10);
    fill(&browser, "tenant-id", "11010519491231002X").await;
    fill(&browser, "tenant-name", "刘租客").await;
    browser
        .execute(
            "document.getElementById('tenant-moved-in').value = arguments[0];",
            vec![serde_json::json!(moved_in.to_string())],
        )
        .await
        .unwrap();
    browser
        .find(Locator::Id("tenant-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Id("house-done"))
        .await
        .unwrap();
    let tenancies = browser
        .find(Locator::Id("tenancies"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        tenancies.contains("刘租客") && tenancies.contains("1101**********002X"),
        "{tenancies}"
    );
    browser
        .find(Locator::Css("#tenancies .late"))
        .await
        .expect("registered ten days after moving in: late");
    let screenshots =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();
    std::fs::write(
        screenshots.join("grid-report-phone.png"),
        browser.screenshot().await.unwrap(),
    )
    .unwrap();
}

/// The hotline agent's ticket flow: the caller looked up by phone (no history yet), the
/// ticket taken, dispatched from the case page to 城管, and the caller's history then
/// holding it.
#[tokio::test]
async fn browser_hotline_agent_takes_a_ticket_and_dispatches_it() {
    let Some((chromium, driver)) = browser_tools("hotline") else {
        return;
    };
    use fantoccini::Locator;
    let demo = Demo::start(1_000);
    let (_, longitude, latitude) = point_in_workers_grid(&demo.database).await;
    let profile = tempfile::tempdir().unwrap();
    let browser = driver.browser(&chromium, profile.path(), 1280, 900).await;
    sign_in_in_browser(&browser, &demo.address, "hotline.agent").await;
    // An SMS arrives through the gateway; the agent takes it as a ticket from the inbox.
    let gateway = demo_service_token(&demo, "sms.gateway", "短信网关", "sms:inbound");
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/sms/inbound", demo.address))
        .bearer_auth(&gateway)
        .json(&serde_json::json!({
            "message_id": "gw-browser-1", "phone": "13905252222",
            "text": "文昌路口路灯不亮已经一周了",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    let sms: u64 = response.json::<serde_json::Value>().await.unwrap()["id"]
        .as_u64()
        .unwrap();
    browser
        .goto(&format!("{}/console/sms", demo.address))
        .await
        .unwrap();
    browser
        .find(Locator::Css(&format!("#sms-{sms} a.button")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Id("from-sms"))
        .await
        .unwrap();
    let history = browser.find(Locator::Id("no-history")).await;
    assert!(
        history.is_ok(),
        "the sender's history is looked up, and empty"
    );
    submit_report(&browser, "P0101", longitude, latitude).await;
    browser
        .wait()
        .for_element(Locator::Id("case-done"))
        .await
        .unwrap();
    let page = browser
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("文昌路口路灯不亮已经一周了"), "{page}");
    browser
        .goto(&format!("{}/console/sms", demo.address))
        .await
        .unwrap();
    browser.find(Locator::Id("no-sms")).await.unwrap();
    let phone = "13905251111";
    browser
        .goto(&format!("{}/console/cases/new?phone={phone}", demo.address))
        .await
        .unwrap();
    browser.find(Locator::Id("no-history")).await.unwrap();
    // The caller asks about the water: the knowledge base answers.
    fill(&browser, "knowledge-query", "家里停水了怎么办").await;
    browser
        .find(Locator::Css("#knowledge-search button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let answers = browser
        .wait()
        .for_element(Locator::Id("knowledge-answers"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(answers.starts_with("小区停水怎么办"), "{answers}");
    fill(
        &browser,
        "report-description",
        "小区连续两天停水，老人生活不便",
    )
    .await;
    submit_report(&browser, "H0101", longitude, latitude).await;
    browser
        .wait()
        .for_element(Locator::Id("case-done"))
        .await
        .unwrap();
    let url = browser.current_url().await.unwrap();
    let id: u64 = url.path().rsplit('/').next().unwrap().parse().unwrap();
    let status = browser
        .find(Locator::Id("case-status"))
        .await
        .unwrap()
        .attr("data-status")
        .await
        .unwrap();
    assert_eq!(status.as_deref(), Some("accepted"));
    // A dispatch without a lead department is refused with the loop's reason.
    browser
        .find(Locator::Css("#action-dispatch button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let problem = browser
        .wait()
        .for_element(Locator::Id("case-problem"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        problem.contains("主办部门") || problem.contains("lead department"),
        "{problem}"
    );
    browser
        .find(Locator::Css("#action-dispatch input[name=lead]"))
        .await
        .unwrap()
        .send_keys("chengguan")
        .await
        .unwrap();
    browser
        .find(Locator::Css("#action-dispatch button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Id("case-done"))
        .await
        .unwrap();
    let status = browser
        .find(Locator::Id("case-status"))
        .await
        .unwrap()
        .attr("data-status")
        .await
        .unwrap();
    assert_eq!(status.as_deref(), Some("assigned"));
    let timeline = browser
        .find(Locator::Id("case-timeline"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(timeline.contains("hotline.agent"), "{timeline}");
    // The caller's history now holds the ticket.
    browser
        .goto(&format!("{}/console/cases/new?phone={phone}", demo.address))
        .await
        .unwrap();
    let history = browser
        .find(Locator::Id("caller-history"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(history.contains(&id.to_string()), "{history}");
    let screenshots =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();
    std::fs::write(
        screenshots.join("hotline-ticket.png"),
        browser.screenshot().await.unwrap(),
    )
    .unwrap();
}

/// The command centre's map draws the open cases and follows a new one without a reload:
/// a ticket taken by a hotline system appears at the next refresh.
#[tokio::test]
async fn browser_command_centre_map_follows_a_new_case() {
    let Some((chromium, driver)) = browser_tools("map") else {
        return;
    };
    use fantoccini::Locator;
    let demo = Demo::start(1_000);
    let (_, longitude, latitude) = point_in_workers_grid(&demo.database).await;
    let profile = tempfile::tempdir().unwrap();
    let browser = driver.browser(&chromium, profile.path(), 1280, 900).await;
    sign_in_in_browser(&browser, &demo.address, "dispatcher").await;
    browser
        .goto(&format!("{}/console/cases/map", demo.address))
        .await
        .unwrap();
    let before: usize = browser
        .wait()
        .for_element(Locator::Css("#case-map[data-cases]"))
        .await
        .unwrap()
        .attr("data-cases")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    // A hotline system takes a ticket through the API.
    let token = demo_service_token(&demo, "hotline.system", "12345 热线系统", "cases:write");
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/cases", demo.address))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "channel": "hotline", "category": "E0503",
            "longitude": longitude, "latitude": latitude,
            "description": "小区门口车辆乱停放，堵塞消防通道",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    // The next refresh draws it.
    browser
        .wait()
        .at_most(std::time::Duration::from_secs(30))
        .for_element(Locator::Css(&format!(
            "#case-map[data-cases='{}']",
            before + 1
        )))
        .await
        .expect("the new case appears on the map");
    let markers = browser
        .find_all(Locator::Css("#case-map path.leaflet-interactive"))
        .await
        .unwrap()
        .len();
    assert!(markers > before, "each open case is a marker: {markers}");
    let legend = browser
        .find(Locator::Id("case-map-legend"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(legend.contains("受理"), "{legend}");
}
