//! Schema migrations, embedded in the binary, applied in order inside one transaction each.
//!
//! Each backend has its own folder of SQL files (`migrations/sqlite`, `migrations/postgres`)
//! because DDL differs (collations, floating-point type names); a test applies both and
//! compares their tables and columns so the two cannot drift apart.

/// One migration: a version, a name, and the SQL for each backend.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "registry",
        sqlite: include_str!("../migrations/sqlite/0001_registry.sql"),
        postgres: include_str!("../migrations/postgres/0001_registry.sql"),
    },
    Migration {
        version: 2,
        name: "person_search_index",
        sqlite: include_str!("../migrations/sqlite/0002_person_search_index.sql"),
        postgres: include_str!("../migrations/postgres/0002_person_search_index.sql"),
    },
    Migration {
        version: 3,
        name: "person_key_index",
        sqlite: include_str!("../migrations/sqlite/0003_person_key_index.sql"),
        postgres: include_str!("../migrations/postgres/0003_person_key_index.sql"),
    },
    Migration {
        version: 4,
        name: "audit_log",
        sqlite: include_str!("../migrations/sqlite/0004_audit_log.sql"),
        postgres: include_str!("../migrations/postgres/0004_audit_log.sql"),
    },
    Migration {
        version: 5,
        name: "identity",
        sqlite: include_str!("../migrations/sqlite/0005_identity.sql"),
        postgres: include_str!("../migrations/postgres/0005_identity.sql"),
    },
    Migration {
        version: 6,
        name: "residents_and_seals",
        sqlite: include_str!("../migrations/sqlite/0006_residents_and_seals.sql"),
        postgres: include_str!("../migrations/postgres/0006_residents_and_seals.sql"),
    },
    Migration {
        version: 7,
        name: "oidc",
        sqlite: include_str!("../migrations/sqlite/0007_oidc.sql"),
        postgres: include_str!("../migrations/postgres/0007_oidc.sql"),
    },
    Migration {
        version: 8,
        name: "certificates",
        sqlite: include_str!("../migrations/sqlite/0008_certificates.sql"),
        postgres: include_str!("../migrations/postgres/0008_certificates.sql"),
    },
    Migration {
        version: 9,
        name: "catalogue",
        sqlite: include_str!("../migrations/sqlite/0009_catalogue.sql"),
        postgres: include_str!("../migrations/postgres/0009_catalogue.sql"),
    },
    Migration {
        version: 10,
        name: "datasets",
        sqlite: include_str!("../migrations/sqlite/0010_datasets.sql"),
        postgres: include_str!("../migrations/postgres/0010_datasets.sql"),
    },
    Migration {
        version: 11,
        name: "sharing",
        sqlite: include_str!("../migrations/sqlite/0011_sharing.sql"),
        postgres: include_str!("../migrations/postgres/0011_sharing.sql"),
    },
    Migration {
        version: 12,
        name: "disputes",
        sqlite: include_str!("../migrations/sqlite/0012_disputes.sql"),
        postgres: include_str!("../migrations/postgres/0012_disputes.sql"),
    },
    Migration {
        version: 13,
        name: "subscriptions",
        sqlite: include_str!("../migrations/sqlite/0013_subscriptions.sql"),
        postgres: include_str!("../migrations/postgres/0013_subscriptions.sql"),
    },
    Migration {
        version: 14,
        name: "dataset_record_seen",
        sqlite: include_str!("../migrations/sqlite/0014_dataset_record_seen.sql"),
        postgres: include_str!("../migrations/postgres/0014_dataset_record_seen.sql"),
    },
    Migration {
        version: 15,
        name: "cases",
        sqlite: include_str!("../migrations/sqlite/0015_cases.sql"),
        postgres: include_str!("../migrations/postgres/0015_cases.sql"),
    },
    Migration {
        version: 16,
        name: "dispatch_rules",
        sqlite: include_str!("../migrations/sqlite/0016_dispatch_rules.sql"),
        postgres: include_str!("../migrations/postgres/0016_dispatch_rules.sql"),
    },
    Migration {
        version: 17,
        name: "case_facts",
        sqlite: include_str!("../migrations/sqlite/0017_case_facts.sql"),
        postgres: include_str!("../migrations/postgres/0017_case_facts.sql"),
    },
    Migration {
        version: 18,
        name: "knowledge",
        sqlite: include_str!("../migrations/sqlite/0018_knowledge.sql"),
        postgres: include_str!("../migrations/postgres/0018_knowledge.sql"),
    },
    Migration {
        version: 19,
        name: "patrol_visits",
        sqlite: include_str!("../migrations/sqlite/0019_patrol_visits.sql"),
        postgres: include_str!("../migrations/postgres/0019_patrol_visits.sql"),
    },
    Migration {
        version: 20,
        name: "tenancies",
        sqlite: include_str!("../migrations/sqlite/0020_tenancies.sql"),
        postgres: include_str!("../migrations/postgres/0020_tenancies.sql"),
    },
    Migration {
        version: 21,
        name: "case_photos",
        sqlite: include_str!("../migrations/sqlite/0021_case_photos.sql"),
        postgres: include_str!("../migrations/postgres/0021_case_photos.sql"),
    },
    Migration {
        version: 22,
        name: "sms_inbox",
        sqlite: include_str!("../migrations/sqlite/0022_sms_inbox.sql"),
        postgres: include_str!("../migrations/postgres/0022_sms_inbox.sql"),
    },
    Migration {
        version: 23,
        name: "case_near_covering",
        sqlite: include_str!("../migrations/sqlite/0023_case_near_covering.sql"),
        postgres: include_str!("../migrations/postgres/0023_case_near_covering.sql"),
    },
    Migration {
        version: 24,
        name: "facilities",
        sqlite: include_str!("../migrations/sqlite/0024_facilities.sql"),
        postgres: include_str!("../migrations/postgres/0024_facilities.sql"),
    },
    Migration {
        version: 25,
        name: "dataset_record_without_resource_check",
        sqlite: include_str!("../migrations/sqlite/0025_dataset_record_without_resource_check.sql"),
        postgres: include_str!(
            "../migrations/postgres/0025_dataset_record_without_resource_check.sql"
        ),
    },
];

pub(crate) const CREATE_MIGRATION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migration (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at_us BIGINT NOT NULL
)";

/// Splits a migration file into statements at semicolons that end a line. Migration files
/// are ours and contain no semicolons inside strings or bodies.
pub(crate) fn statements(sql: &str) -> impl Iterator<Item = &str> {
    sql.split(";\n").map(str::trim).filter(|statement| {
        statement
            .lines()
            .any(|line| !line.trim().is_empty() && !line.trim_start().starts_with("--"))
    })
}

/// Applies pending migrations with the given pool type; shared text for both backends.
macro_rules! apply_migrations {
    ($pool:expr, $field:ident) => {{
        use crate::migrate::{CREATE_MIGRATION_TABLE, MIGRATIONS, statements};
        sqlx::query(CREATE_MIGRATION_TABLE)
            .execute($pool)
            .await
            .map_err(|error| crate::storage_error("creating the migration table", error))?;
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migration")
            .fetch_all($pool)
            .await
            .map_err(|error| crate::storage_error("reading applied migrations", error))?;
        for migration in MIGRATIONS
            .iter()
            .filter(|migration| !applied.contains(&migration.version))
        {
            let mut transaction = $pool
                .begin()
                .await
                .map_err(|error| crate::storage_error("beginning a migration", error))?;
            for statement in statements(migration.$field) {
                sqlx::query(sqlx::AssertSqlSafe(statement))
                    .execute(&mut *transaction)
                    .await
                    .map_err(|error| {
                        crate::storage_error(
                            &format!("migration {} ({})", migration.version, migration.name),
                            error,
                        )
                    })?;
            }
            sqlx::query(
                "INSERT INTO schema_migration (version, name, applied_at_us) VALUES ($1, $2, $3)",
            )
            .bind(migration.version)
            .bind(migration.name)
            .bind(crate::codec::now_micros())
            .execute(&mut *transaction)
            .await
            .map_err(|error| crate::storage_error("recording a migration", error))?;
            transaction
                .commit()
                .await
                .map_err(|error| crate::storage_error("committing a migration", error))?;
        }
        Ok::<(), huimin_domain::storage::StorageError>(())
    }};
}
pub(crate) use apply_migrations;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_at_line_ending_semicolons_and_skip_comment_only_chunks() {
        let sql = "-- header\nCREATE TABLE a (x INTEGER);\nCREATE INDEX a_x ON a (x);\n";
        let parts: Vec<&str> = statements(sql).collect();
        assert_eq!(parts.len(), 2);
        assert!(parts[0].ends_with("CREATE TABLE a (x INTEGER)"));
    }
}
