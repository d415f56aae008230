//! The hotline's knowledge base for both backends (`knowledge_store!`): articles kept
//! whole with a lower-cased search text; a search narrows by any of the query's bigrams
//! with `LIKE` (escaped) and the domain ranks what it finds.

use huimin_domain::knowledge::Article;
use huimin_domain::storage::StorageError;

pub(crate) const ARTICLE_COLUMNS: &str =
    "id, title, body, category, department, valid_from, valid_until, updated_by, updated_at_us";

fn day(column: &str, id: i64, text: &str) -> Result<chrono::NaiveDate, StorageError> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|error| crate::codec::corrupt(column, &id.to_string(), error))
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn decode_article(
    id: i64,
    title: String,
    body: String,
    category: Option<String>,
    department: Option<String>,
    valid_from: &str,
    valid_until: Option<&str>,
    updated_by: String,
    updated_at_us: i64,
) -> Result<Article, StorageError> {
    Ok(Article {
        id: u64::try_from(id).map_err(|error| {
            crate::codec::corrupt("knowledge_article.id", &id.to_string(), error)
        })?,
        title,
        body,
        category,
        department,
        valid_from: day("knowledge_article.valid_from", id, valid_from)?,
        valid_until: valid_until
            .map(|text| day("knowledge_article.valid_until", id, text))
            .transpose()?,
        updated_by,
        updated_at: crate::codec::from_micros(updated_at_us)?,
    })
}

macro_rules! knowledge_store {
    ($store:ty, $database:ty, $row:ty) => {
        pub(crate) mod knowledge_queries {
            use super::audit_queries::append_in;
            use crate::catalogue::like_pattern;
            use crate::codec::micros;
            use crate::knowledge::{ARTICLE_COLUMNS, decode_article};
            use crate::storage_error;
            use async_trait::async_trait;
            use huimin_domain::audit::AuditEvent;
            use huimin_domain::knowledge::Article;
            use huimin_domain::storage::{KnowledgeStore, StorageResult};
            use sqlx::Row;

            type DatabaseRow = $row;

            fn get<'r, T>(row: &'r DatabaseRow, column: &str) -> StorageResult<T>
            where
                T: sqlx::Decode<'r, $database> + sqlx::Type<$database>,
            {
                row.try_get(column).map_err(|e| storage_error(column, e))
            }

            fn read_article(row: &DatabaseRow) -> StorageResult<Article> {
                decode_article(
                    get(row, "id")?,
                    get(row, "title")?,
                    get(row, "body")?,
                    get(row, "category")?,
                    get(row, "department")?,
                    &get::<String>(row, "valid_from")?,
                    get::<Option<String>>(row, "valid_until")?.as_deref(),
                    get(row, "updated_by")?,
                    get(row, "updated_at_us")?,
                )
            }

            #[async_trait]
            impl KnowledgeStore for $store {
                async fn put_article(&self, article: &Article, audit: &AuditEvent) -> StorageResult<Option<u64>> {
                    let mut transaction = self.begin_write().await?;
                    let until = article.valid_until.map(|day| day.to_string());
                    let id: Option<i64> = if article.id == 0 {
                        sqlx::query_scalar(
                            "INSERT INTO knowledge_article (title, body, category, department, valid_from, valid_until, \
                             updated_by, updated_at_us, search_text) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                        )
                        .bind(article.title.as_str())
                        .bind(article.body.as_str())
                        .bind(article.category.as_deref())
                        .bind(article.department.as_deref())
                        .bind(article.valid_from.to_string())
                        .bind(until.as_deref())
                        .bind(article.updated_by.as_str())
                        .bind(micros(article.updated_at))
                        .bind(article.search_text())
                        .fetch_optional(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("writing an article", e))?
                    } else {
                        sqlx::query_scalar(
                            "UPDATE knowledge_article SET title = $1, body = $2, category = $3, department = $4, \
                             valid_from = $5, valid_until = $6, updated_by = $7, updated_at_us = $8, search_text = $9 \
                             WHERE id = $10 RETURNING id",
                        )
                        .bind(article.title.as_str())
                        .bind(article.body.as_str())
                        .bind(article.category.as_deref())
                        .bind(article.department.as_deref())
                        .bind(article.valid_from.to_string())
                        .bind(until.as_deref())
                        .bind(article.updated_by.as_str())
                        .bind(micros(article.updated_at))
                        .bind(article.search_text())
                        .bind(i64::try_from(article.id).map_err(|e| storage_error("article id", e))?)
                        .fetch_optional(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("changing an article", e))?
                    };
                    let Some(id) = id else { return Ok(None) };
                    let event = AuditEvent { object_id: id.to_string(), ..audit.clone() };
                    append_in(&mut transaction, std::slice::from_ref(&event), article.updated_at).await?;
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    Ok(u64::try_from(id).ok())
                }

                async fn article(&self, id: u64) -> StorageResult<Option<Article>> {
                    let Ok(id) = i64::try_from(id) else { return Ok(None) };
                    let row = sqlx::query(sql!("SELECT {ARTICLE_COLUMNS} FROM knowledge_article WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(|e| storage_error("reading an article", e))?;
                    row.as_ref().map(read_article).transpose()
                }

                async fn articles_matching(
                    &self,
                    terms: &[String],
                    day: Option<chrono::NaiveDate>,
                    limit: u32,
                ) -> StorageResult<Vec<Article>> {
                    if terms.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut conditions: Vec<String> = Vec::new();
                    let matches: Vec<String> = (0..terms.len())
                        .map(|index| format!("search_text LIKE ${} ESCAPE '\\'", index + 1))
                        .collect();
                    conditions.push(format!("({})", matches.join(" OR ")));
                    if day.is_some() {
                        let n = terms.len() + 1;
                        conditions.push(format!("valid_from <= ${n} AND (valid_until IS NULL OR valid_until >= ${n})"));
                    }
                    let mut select = sqlx::query(sql!(
                        "SELECT {ARTICLE_COLUMNS} FROM knowledge_article WHERE {} ORDER BY updated_at_us DESC, id DESC LIMIT {limit}",
                        conditions.join(" AND ")
                    ));
                    for term in terms {
                        select = select.bind(like_pattern(term));
                    }
                    if let Some(day) = day {
                        select = select.bind(day.to_string());
                    }
                    let rows = select.fetch_all(&self.pool).await.map_err(|e| storage_error("searching articles", e))?;
                    rows.iter().map(read_article).collect()
                }
            }
        }
    };
}

pub(crate) use knowledge_store;
