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

    /// The pool, for tests and benchmarks that inspect the schema.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

crate::registry::registry_store!(SqliteStore, sqlx::Sqlite);
