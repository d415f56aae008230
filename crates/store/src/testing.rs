//! A throwaway PostgreSQL cluster for tests, started from the machine's own binaries.
//!
//! The first test in a process that asks for PostgreSQL runs `initdb` into a temporary
//! directory and starts `postgres` on a Unix socket in it; every test then gets a fresh
//! database (`CREATE DATABASE`). No Docker, no fixed port, no sleeps: the harness waits for
//! the server's own "ready to accept connections" log line. The server is started under a
//! small shell that holds a pipe from this process and stops the server with SIGQUIT when
//! the pipe closes, so the cluster dies with the test process however it ends.
//!
//! When no PostgreSQL binaries are found the harness says so loudly on stderr and returns
//! `None`; with `HUIMIN_REQUIRE_POSTGRES=1` (set by `.ci/run`) it panics instead, so CI
//! cannot pass without PostgreSQL. As root (CI), the server runs as the `postgres` user
//! through `setpriv`, because PostgreSQL refuses to run as root.
//!
//! This module is test support; it is compiled into the library so every crate's tests can
//! share it, and it is never called by the server.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};

/// A running throwaway cluster.
pub struct TestPostgres {
    socket_directory: PathBuf,
    /// Kept open for the life of the process: closing it stops the server.
    _lifeline: Mutex<ChildStdin>,
    _supervisor: Mutex<Child>,
    _directory: tempfile::TempDir,
}

static CLUSTER: OnceLock<Option<TestPostgres>> = OnceLock::new();
static DATABASE_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Whether the environment demands PostgreSQL (CI sets `HUIMIN_REQUIRE_POSTGRES=1`).
pub fn postgres_required() -> bool {
    std::env::var("HUIMIN_REQUIRE_POSTGRES").is_ok_and(|value| value == "1")
}

/// The URL of a fresh, empty database on the process's throwaway cluster, or `None` when
/// PostgreSQL is not installed (and not required).
pub async fn fresh_postgres_database() -> Option<String> {
    let cluster = CLUSTER.get_or_init(|| match TestPostgres::start() {
        Ok(cluster) => Some(cluster),
        Err(reason) if postgres_required() => {
            panic!("HUIMIN_REQUIRE_POSTGRES=1 but PostgreSQL could not be started: {reason}")
        }
        Err(reason) => {
            eprintln!(
                "\n!!! PostgreSQL tests SKIPPED: {reason}.\n!!! Install PostgreSQL (Debian: apt-get install postgresql) \
                 or set HUIMIN_REQUIRE_POSTGRES=1 to make this a failure.\n"
            );
            None
        }
    });
    let cluster = cluster.as_ref()?;
    let name = format!(
        "huimin_test_{}_{}",
        std::process::id(),
        DATABASE_COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let admin_url = cluster.url("postgres");
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|error| panic!("connecting to the test cluster at {admin_url}: {error}"));
    sqlx::query(sql!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|error| panic!("creating test database {name}: {error}"));
    let _ = admin.close().await;
    Some(cluster.url(&name))
}

impl TestPostgres {
    fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@localhost/{database}?host={}",
            self.socket_directory.display()
        )
    }

    fn start() -> Result<TestPostgres, String> {
        let binaries = find_binaries()
            .ok_or("no initdb/postgres found on PATH or under /usr/lib/postgresql")?;
        let directory = tempfile::Builder::new()
            .prefix("huimin-pg-")
            .tempdir()
            .map_err(|error| format!("creating a temporary directory: {error}"))?;
        let data = directory.path().join("data");
        let run_as = run_as_prefix(directory.path())?;
        let initdb = Command::new(&run_as[0])
            .args(&run_as[1..])
            .arg(binaries.join("initdb"))
            .args([
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .output()
            .map_err(|error| format!("running initdb: {error}"))?;
        if !initdb.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&initdb.stderr)
            ));
        }
        let postgres = format!(
            "{} {} -D {} -k {} -c listen_addresses= -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=200 -c shared_buffers=64MB",
            run_as.join(" "),
            binaries.join("postgres").display(),
            data.display(),
            directory.path().display()
        );
        // The shell starts the server, then blocks reading our pipe; EOF means this
        // process is gone, and the server gets SIGQUIT (immediate shutdown). The cluster's
        // directory goes with it: it lives in a static, which is never dropped, and a
        // benchmark's cluster holds gigabytes.
        let mut supervisor = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{postgres} & server=$!; read _ignored; kill -QUIT $server; wait $server; rm -rf '{}'",
                directory.path().display()
            ))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| format!("starting postgres: {error}"))?;
        let lifeline = supervisor
            .stdin
            .take()
            .ok_or("no stdin pipe to the supervisor")?;
        let log = supervisor
            .stderr
            .take()
            .ok_or("no stderr pipe from postgres")?;
        let (ready_sender, ready_receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut ready_sender = Some(ready_sender);
            let mut lines = Vec::new();
            for line in BufReader::new(log).lines().map_while(Result::ok) {
                if line.contains("ready to accept connections") {
                    if let Some(sender) = ready_sender.take() {
                        let _ = sender.send(Ok(()));
                    }
                } else if ready_sender.is_some() {
                    lines.push(line);
                }
            }
            if let Some(sender) = ready_sender.take() {
                let _ = sender.send(Err(lines.join("\n")));
            }
        });
        match ready_receiver.recv() {
            Ok(Ok(())) => {}
            Ok(Err(log)) => return Err(format!("postgres exited before it was ready:\n{log}")),
            Err(_) => return Err("postgres log closed before it was ready".to_owned()),
        }
        Ok(TestPostgres {
            socket_directory: directory.path().to_owned(),
            _lifeline: Mutex::new(lifeline),
            _supervisor: Mutex::new(supervisor),
            _directory: directory,
        })
    }
}

/// The directory holding `initdb` and `postgres`: next to `initdb` on PATH (following
/// symlinks, since Debian links only some binaries into PATH), else the newest
/// `/usr/lib/postgresql/<version>/bin`.
fn find_binaries() -> Option<PathBuf> {
    let has_both = |directory: &Path| {
        directory.join("initdb").is_file() && directory.join("postgres").is_file()
    };
    if let Some(path) = std::env::var_os("PATH") {
        for directory in std::env::split_paths(&path) {
            let initdb = directory.join("initdb");
            if let Ok(resolved) = std::fs::canonicalize(&initdb)
                && let Some(parent) = resolved.parent()
                && has_both(parent)
            {
                return Some(parent.to_owned());
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| has_both(bin))
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// As root, PostgreSQL must run as another user: `setpriv` to the `postgres` account (made
/// by Debian's package) after handing it the directory. Otherwise run as ourselves.
fn run_as_prefix(directory: &Path) -> Result<Vec<String>, String> {
    let effective_uid =
        std::fs::metadata("/proc/self").map(|meta| std::os::unix::fs::MetadataExt::uid(&meta));
    if effective_uid.ok() != Some(0) {
        return Ok(vec!["env".to_owned()]);
    }
    let passwd = std::fs::read_to_string("/etc/passwd")
        .map_err(|error| format!("reading /etc/passwd: {error}"))?;
    let (uid, gid) = passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.first() != Some(&"postgres") {
                return None;
            }
            let uid: u32 = fields.get(2)?.parse().ok()?;
            let gid: u32 = fields.get(3)?.parse().ok()?;
            Some((uid, gid))
        })
        .ok_or("running as root and there is no 'postgres' user to run the server as")?;
    std::os::unix::fs::chown(directory, Some(uid), Some(gid))
        .map_err(|error| format!("giving {} to postgres: {error}", directory.display()))?;
    Ok(vec![
        "setpriv".to_owned(),
        format!("--reuid={uid}"),
        format!("--regid={gid}"),
        "--clear-groups".to_owned(),
        "--".to_owned(),
    ])
}

/// The test databases a conformance suite runs on: always SQLite (a fresh file), and
/// PostgreSQL when available.
pub async fn fresh_sqlite_database() -> (String, tempfile::TempDir) {
    let directory = tempfile::tempdir().expect("a temporary directory for a test database");
    let url = format!("sqlite:{}", directory.path().join("test.db").display());
    (url, directory)
}
