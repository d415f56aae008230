//! The SQLite backend: one file, WAL journal, the embedded default for a county or a demo.

use crate::migrate::apply_migrations;
use huimin_domain::storage::StorageError;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

/// The registries in a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) and migrates the database at a `sqlite:` URL.
    pub async fn connect(url: &str) -> Result<SqliteStore, StorageError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|error| crate::storage_error("parsing the SQLite URL", error))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL is durable across application crashes in WAL mode; a power loss may
            // lose the last transactions, never corrupt the file.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("cache_size", "-65536")
            // Reads through a memory map instead of a read() per page: the 360 view's
            // random lookups over a large registry file otherwise spend their time in
            // system calls. Only the file's size is mapped, never more.
            .pragma("mmap_size", "4294967296")
            .pragma("temp_store", "memory");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|error| crate::storage_error("opening the SQLite database", error))?;
        let store = SqliteStore { pool };
        apply_migrations!(&store.pool, sqlite)?;
        Ok(store)
    }

    /// Keeps `ANALYZE`'s per-table summaries (`sqlite_stat1`) but drops its per-value
    /// samples (`sqlite_stat4`, present because the bundled SQLite is built with STAT4):
    /// with them, SQLite re-prepares every statement whose plan might depend on the bound
    /// values each time they change, which cost the person 360 view over a quarter of its
    /// time in a profile. Our lookups are all on unique or selective indexes, where stat1
    /// chooses the same plans.
    pub(crate) async fn after_analyze(&self) -> Result<(), StorageError> {
        let has_stat4: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat4'")
                .fetch_one(&self.pool)
                .await
                .map_err(|error| crate::storage_error("looking for sqlite_stat4", error))?;
        if has_stat4 > 0 {
            sqlx::query("DELETE FROM sqlite_stat4")
                .execute(&self.pool)
                .await
                .map_err(|error| crate::storage_error("clearing sqlite_stat4", error))?;
            // Connections re-read the statistics when they next prepare a statement.
            sqlx::query("ANALYZE sqlite_schema")
                .execute(&self.pool)
                .await
                .map_err(|error| crate::storage_error("reloading statistics", error))?;
        }
        Ok(())
    }

    /// The pool, for tests and benchmarks that inspect the schema.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

crate::registry::registry_store!(SqliteStore, sqlx::Sqlite);
