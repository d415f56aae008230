//! Huimin's storage: the registries on SQLite (the embedded default) and PostgreSQL (the
//! production store), with the same behaviour.
//!
//! Both backends implement the domain's [`RegistryStore`] from one SQL text (the
//! `registry_store!` macro in `registry.rs`); where dialects differ, the migrations differ,
//! not the queries. This crate owns SQL and schema; it must not know about HTTP or pages.
//! `testing` starts a throwaway PostgreSQL cluster for the test suites of every crate.

/// SQL text assembled from this crate's own constants (column lists, table names,
/// numbered placeholders) — never from input, which is always bound as a parameter.
/// sqlx 0.9 asks that such text be marked; this macro is the one place that does it.
macro_rules! sql {
    ($($format:tt)*) => {
        sqlx::AssertSqlSafe(format!($($format)*))
    };
}

mod audit;
mod case;
mod catalogue;
mod codec;
mod dataset;
mod dispute;
mod facility;
mod filter;
mod identity;
mod knowledge;
mod migrate;
mod oidc;
mod patrol;
mod postgres;
mod registry;
mod rental;
mod sharing;
mod sqlite;
mod subscription;
pub mod testing;

pub use migrate::{MIGRATIONS, Migration};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use huimin_domain::storage::{StorageError, Store};
use std::sync::Arc;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `sqlite:` URLs (and bare file paths ending in `.db`) are SQLite; `postgres:` and
    /// `postgresql:` URLs are PostgreSQL.
    pub fn of_url(url: &str) -> Result<Backend, StorageError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StorageError::new(format!(
                "unsupported database URL '{}': expected sqlite:… or postgres://…",
                redact_url(url)
            )))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Opens the database a URL names, creating (SQLite) and migrating it.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StorageError> {
    Ok(match Backend::of_url(url)? {
        Backend::Sqlite => Arc::new(SqliteStore::connect(url).await?),
        Backend::Postgres => Arc::new(PostgresStore::connect(url).await?),
    })
}

/// A URL with its password replaced by `***`, for logs and error messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn storage_error(context: &str, error: impl std::fmt::Display) -> StorageError {
    StorageError::new(format!("{context}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_backend_and_passwords_are_redacted() {
        assert_eq!(
            Backend::of_url("sqlite:huimin.db").ok(),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::of_url("postgres://a@b/c").ok(),
            Some(Backend::Postgres)
        );
        assert!(Backend::of_url("mysql://x").is_err());
        assert_eq!(
            redact_url("postgres://huimin:secret@db:5432/huimin"),
            "postgres://huimin:***@db:5432/huimin"
        );
        assert_eq!(redact_url("sqlite:huimin.db"), "sqlite:huimin.db");
    }
}
