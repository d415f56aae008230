//! The PostgreSQL backend: the production store. Portable PostgreSQL only (no extensions),
//! so read replicas and PostgreSQL-compatible distributed engines stay an option.

use crate::migrate::apply_migrations;
use huimin_domain::storage::StorageError;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;

/// The registries in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
}

impl PostgresStore {
    /// Connects to and migrates the database at a `postgres://` URL.
    pub async fn connect(url: &str) -> Result<PostgresStore, StorageError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|error| crate::storage_error("parsing the PostgreSQL URL", error))?
            .application_name("huimin");
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(options)
            .await
            .map_err(|error| crate::storage_error("connecting to PostgreSQL", error))?;
        let store = PostgresStore { pool };
        apply_migrations!(&store.pool, postgres)?;
        Ok(store)
    }

    /// Nothing to adjust after `ANALYZE` on PostgreSQL.
    pub(crate) async fn after_analyze(&self) -> Result<(), StorageError> {
        Ok(())
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

crate::registry::registry_store!(PostgresStore, sqlx::Postgres);
