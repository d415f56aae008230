//! Subscriptions, the per-resource outbox and the delivery log, written once for both
//! backends (`subscription_store!`). `append_outbox` is called by dataset loads inside
//! their chunk's transaction: it takes the resource's `exchange_outbox_head` row first
//! (an upsert), which on PostgreSQL holds that row's lock to the commit — so outbox
//! numbers of one resource commit in order and a cursor never skips a number that a
//! slower transaction commits later — and on SQLite is inside the one writer's lock.

use huimin_domain::catalogue::{DepartmentId, ResourceCode};
use huimin_domain::storage::StorageError;
use huimin_domain::subscription::{Change, LifeEvent, Subscription, SubscriptionStatus};

pub(crate) const SUBSCRIPTION_COLUMNS: &str = "id, grant_id, consumer, resource_code, callback_url, secret, events, \
     status, cursor_seq, failures, next_attempt_at_us, last_error, created_at_us, created_by";

/// A change to append to a resource's outbox.
pub(crate) struct OutboxChange<'a> {
    pub key: &'a str,
    pub subject: Option<&'a str>,
    pub change: Change,
    /// The values after the change, encoded; `None` for a deletion.
    pub values: Option<String>,
}

/// A subscription's columns as read, before they are checked.
pub(crate) struct SubscriptionRow {
    pub id: i64,
    pub grant_id: i64,
    pub consumer: String,
    pub resource_code: String,
    pub callback_url: String,
    pub secret: String,
    pub events: String,
    pub status: String,
    pub cursor: i64,
    pub failures: i64,
    pub next_attempt_at: chrono::DateTime<chrono::Utc>,
    pub last_error: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub created_by: String,
}

impl SubscriptionRow {
    pub(crate) fn decode(self) -> Result<Subscription, StorageError> {
        let id = self.id.to_string();
        let corrupt = |column: &str| crate::codec::corrupt(column, &id, "not a known value");
        Ok(Subscription {
            id: u64::try_from(self.id).map_err(|_| corrupt("subscription.id"))?,
            grant_id: u64::try_from(self.grant_id).map_err(|_| corrupt("subscription.grant_id"))?,
            consumer: DepartmentId::parse(&self.consumer)
                .map_err(|_| corrupt("subscription.consumer"))?,
            resource: ResourceCode::parse(&self.resource_code)
                .map_err(|_| corrupt("subscription.resource_code"))?,
            callback_url: self.callback_url,
            secret: self.secret,
            events: self
                .events
                .lines()
                .map(|code| LifeEvent::parse(code).ok_or_else(|| corrupt("subscription.events")))
                .collect::<Result<_, _>>()?,
            status: SubscriptionStatus::parse(&self.status)
                .ok_or_else(|| corrupt("subscription.status"))?,
            cursor: u64::try_from(self.cursor).map_err(|_| corrupt("subscription.cursor_seq"))?,
            failures: u32::try_from(self.failures).map_err(|_| corrupt("subscription.failures"))?,
            next_attempt_at: self.next_attempt_at,
            last_error: self.last_error,
            created_at: self.created_at,
            created_by: self.created_by,
        })
    }
}

macro_rules! subscription_store {
    ($store:ty, $database:ty, $row:ty) => {
        pub(crate) mod subscription_queries {
            use super::audit_queries::append_in;
            use crate::codec::{from_micros, micros};
            use crate::subscription::{OutboxChange, SUBSCRIPTION_COLUMNS, SubscriptionRow};
            use crate::storage_error;
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use huimin_domain::audit::AuditEvent;
            use huimin_domain::catalogue::{DepartmentId, ResourceCode};
            use huimin_domain::storage::{Page, PageRequest, StorageResult, SubscriptionStore};
            use huimin_domain::subscription::{Change, Delivery, OutboxEntry, Subscription, SubscriptionStatus};
            use sqlx::Row;

            type DatabaseRow = $row;
            type Transaction = sqlx::Transaction<'static, $database>;

            fn get<'r, T>(row: &'r DatabaseRow, column: &str) -> StorageResult<T>
            where
                T: sqlx::Decode<'r, $database> + sqlx::Type<$database>,
            {
                row.try_get(column).map_err(|e| storage_error(column, e))
            }

            fn read_subscription(row: &DatabaseRow) -> StorageResult<Subscription> {
                SubscriptionRow {
                    id: get(row, "id")?,
                    grant_id: get(row, "grant_id")?,
                    consumer: get(row, "consumer")?,
                    resource_code: get(row, "resource_code")?,
                    callback_url: get(row, "callback_url")?,
                    secret: get(row, "secret")?,
                    events: get(row, "events")?,
                    status: get(row, "status")?,
                    cursor: get(row, "cursor_seq")?,
                    failures: get(row, "failures")?,
                    next_attempt_at: from_micros(get(row, "next_attempt_at_us")?)?,
                    last_error: get(row, "last_error")?,
                    created_at: from_micros(get(row, "created_at_us")?)?,
                    created_by: get(row, "created_by")?,
                }
                .decode()
            }

            /// Whether a load of `resource` writes its changes to the outbox: while any
            /// subscription to it is not cancelled.
            pub(crate) async fn outbox_wanted(pool: &sqlx::Pool<$database>, resource: &str) -> StorageResult<bool> {
                let count: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM subscription WHERE resource_code = $1 AND status <> 'cancelled'",
                )
                .bind(resource)
                .fetch_one(pool)
                .await
                .map_err(|e| storage_error("looking for subscriptions", e))?;
                Ok(count > 0)
            }

            /// Appends changes to a resource's outbox in the caller's transaction.
            pub(crate) async fn append_outbox(
                transaction: &mut Transaction,
                resource: &str,
                batch: &str,
                at: DateTime<Utc>,
                changes: &[OutboxChange<'_>],
            ) -> StorageResult<()> {
                if changes.is_empty() {
                    return Ok(());
                }
                let count = i64::try_from(changes.len()).unwrap_or(i64::MAX);
                let last: i64 = sqlx::query_scalar(
                    "INSERT INTO exchange_outbox_head (resource_code, last_seq) VALUES ($1, $2) \
                     ON CONFLICT (resource_code) DO UPDATE SET last_seq = exchange_outbox_head.last_seq + excluded.last_seq \
                     RETURNING last_seq",
                )
                .bind(resource)
                .bind(count)
                .fetch_one(&mut **transaction)
                .await
                .map_err(|e| storage_error("numbering outbox entries", e))?;
                let first = last - count + 1;
                for (offset, change) in changes.iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO exchange_outbox (resource_code, seq, record_key, subject, change, record_values, batch_id, at_us) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(resource)
                    .bind(first + i64::try_from(offset).unwrap_or(0))
                    .bind(change.key)
                    .bind(change.subject)
                    .bind(change.change.code())
                    .bind(change.values.as_deref())
                    .bind(batch)
                    .bind(micros(at))
                    .execute(&mut **transaction)
                    .await
                    .map_err(|e| storage_error("writing the outbox", e))?;
                }
                Ok(())
            }

            #[async_trait]
            impl SubscriptionStore for $store {
                async fn create_subscription(&self, subscription: &Subscription, audit: &AuditEvent) -> StorageResult<Subscription> {
                    let mut transaction = self.begin_write().await?;
                    let head: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM exchange_outbox_head WHERE resource_code = $1")
                        .bind(subscription.resource.as_str())
                        .fetch_optional(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("reading the outbox head", e))?;
                    let cursor = head.unwrap_or(0);
                    let events: Vec<&str> = subscription.events.iter().map(|event| event.code()).collect();
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO subscription (grant_id, consumer, resource_code, callback_url, secret, events, status, \
                         cursor_seq, failures, next_attempt_at_us, last_error, created_at_us, created_by) \
                         VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, 0, $8, NULL, $8, $9) RETURNING id",
                    )
                    .bind(i64::try_from(subscription.grant_id).unwrap_or(i64::MAX))
                    .bind(subscription.consumer.as_str())
                    .bind(subscription.resource.as_str())
                    .bind(subscription.callback_url.as_str())
                    .bind(subscription.secret.as_str())
                    .bind(events.join("\n"))
                    .bind(cursor)
                    .bind(micros(subscription.created_at))
                    .bind(subscription.created_by.as_str())
                    .fetch_one(&mut *transaction)
                    .await
                    .map_err(|e| storage_error("writing a subscription", e))?;
                    let event = AuditEvent { object_id: id.to_string(), ..audit.clone() };
                    append_in(&mut transaction, std::slice::from_ref(&event), subscription.created_at).await?;
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    Ok(Subscription {
                        id: u64::try_from(id).unwrap_or(0),
                        cursor: u64::try_from(cursor).unwrap_or(0),
                        status: SubscriptionStatus::Active,
                        failures: 0,
                        next_attempt_at: subscription.created_at,
                        last_error: None,
                        ..subscription.clone()
                    })
                }

                async fn subscription(&self, id: u64) -> StorageResult<Option<Subscription>> {
                    let Ok(id) = i64::try_from(id) else { return Ok(None) };
                    let row = sqlx::query(sql!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscription WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(|e| storage_error("reading a subscription", e))?;
                    row.as_ref().map(read_subscription).transpose()
                }

                async fn subscriptions(&self, consumer: Option<&DepartmentId>, page: PageRequest) -> StorageResult<Page<Subscription>> {
                    let filter = if consumer.is_some() { "WHERE consumer = $1" } else { "" };
                    let mut count = sqlx::query_scalar::<_, i64>(sql!("SELECT COUNT(*) FROM subscription {filter}"));
                    let mut select = sqlx::query(sql!(
                        "SELECT {SUBSCRIPTION_COLUMNS} FROM subscription {filter} ORDER BY id DESC LIMIT {} OFFSET {}",
                        page.per_page,
                        page.offset()
                    ));
                    if let Some(consumer) = consumer {
                        count = count.bind(consumer.as_str());
                        select = select.bind(consumer.as_str());
                    }
                    let total = count.fetch_one(&self.pool).await.map_err(|e| storage_error("counting subscriptions", e))?;
                    let rows = select.fetch_all(&self.pool).await.map_err(|e| storage_error("listing subscriptions", e))?;
                    Ok(Page {
                        items: rows.iter().map(read_subscription).collect::<StorageResult<Vec<_>>>()?,
                        total: u64::try_from(total).unwrap_or(0),
                        page: page.page,
                        per_page: page.per_page,
                    })
                }

                async fn due_subscriptions(&self, now: DateTime<Utc>, limit: u32) -> StorageResult<Vec<Subscription>> {
                    let rows = sqlx::query(sql!(
                        "SELECT {SUBSCRIPTION_COLUMNS} FROM subscription WHERE status = 'active' AND next_attempt_at_us <= $1 \
                         ORDER BY next_attempt_at_us, id LIMIT {limit}"
                    ))
                    .bind(micros(now))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading due subscriptions", e))?;
                    rows.iter().map(read_subscription).collect()
                }

                async fn outbox_after(&self, resource: &ResourceCode, after: u64, limit: u32) -> StorageResult<Vec<OutboxEntry>> {
                    let rows = sqlx::query(sql!(
                        "SELECT seq, record_key, subject, change, record_values, batch_id, at_us FROM exchange_outbox \
                         WHERE resource_code = $1 AND seq > $2 ORDER BY seq LIMIT {limit}"
                    ))
                    .bind(resource.as_str())
                    .bind(i64::try_from(after).unwrap_or(i64::MAX))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading the outbox", e))?;
                    rows.iter()
                        .map(|row| {
                            let key: String = get(row, "record_key")?;
                            let change: String = get(row, "change")?;
                            let values: Option<String> = get(row, "record_values")?;
                            let seq: i64 = get(row, "seq")?;
                            Ok(OutboxEntry {
                                seq: u64::try_from(seq).unwrap_or(0),
                                resource: resource.clone(),
                                subject: get(row, "subject")?,
                                change: Change::parse(&change)
                                    .ok_or_else(|| crate::codec::corrupt("exchange_outbox.change", &key, "not a change"))?,
                                values: values.map(|values| crate::dataset::decode_values(&key, &values)).transpose()?,
                                batch_id: get(row, "batch_id")?,
                                at: from_micros(get(row, "at_us")?)?,
                                key,
                            })
                        })
                        .collect()
                }

                async fn record_delivery(&self, delivery: &Delivery, from: u64, to: u64, next_attempt_at: DateTime<Utc>) -> StorageResult<bool> {
                    let mut transaction = self.begin_write().await?;
                    let as_i64 = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
                    sqlx::query(
                        "INSERT INTO subscription_delivery (subscription_id, attempted_at_us, first_seq, last_seq, events, \
                         status_code, delivered, error, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(as_i64(delivery.subscription_id))
                    .bind(micros(delivery.attempted_at))
                    .bind(as_i64(delivery.first_seq))
                    .bind(as_i64(delivery.last_seq))
                    .bind(i64::from(delivery.events))
                    .bind(delivery.status_code.map(i64::from))
                    .bind(i64::from(delivery.delivered))
                    .bind(delivery.error.as_deref())
                    .bind(as_i64(delivery.duration_ms))
                    .execute(&mut *transaction)
                    .await
                    .map_err(|e| storage_error("logging a delivery", e))?;
                    let moved = sqlx::query(
                        "UPDATE subscription SET cursor_seq = $1, failures = CASE WHEN $2 = 1 THEN 0 ELSE failures + 1 END, \
                         next_attempt_at_us = $3, last_error = $4 WHERE id = $5 AND cursor_seq = $6",
                    )
                    .bind(as_i64(to))
                    .bind(i64::from(delivery.delivered))
                    .bind(micros(next_attempt_at))
                    .bind(delivery.error.as_deref())
                    .bind(as_i64(delivery.subscription_id))
                    .bind(as_i64(from))
                    .execute(&mut *transaction)
                    .await
                    .map_err(|e| storage_error("moving a subscription on", e))?
                    .rows_affected();
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    Ok(moved > 0)
                }

                async fn set_subscription_status(
                    &self,
                    id: u64,
                    status: SubscriptionStatus,
                    reason: Option<&str>,
                    at: DateTime<Utc>,
                    audit: Option<&AuditEvent>,
                ) -> StorageResult<()> {
                    let mut transaction = self.begin_write().await?;
                    sqlx::query("UPDATE subscription SET status = $1, last_error = COALESCE($2, last_error) WHERE id = $3")
                        .bind(status.code())
                        .bind(reason)
                        .bind(i64::try_from(id).unwrap_or(i64::MAX))
                        .execute(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("changing a subscription", e))?;
                    if let Some(audit) = audit {
                        append_in(&mut transaction, std::slice::from_ref(audit), at).await?;
                    }
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    Ok(())
                }

                async fn replay_subscription(&self, id: u64, cursor: u64, now: DateTime<Utc>, audit: &AuditEvent) -> StorageResult<()> {
                    let mut transaction = self.begin_write().await?;
                    sqlx::query(
                        "UPDATE subscription SET cursor_seq = $1, failures = 0, next_attempt_at_us = $2, last_error = NULL WHERE id = $3",
                    )
                    .bind(i64::try_from(cursor).unwrap_or(i64::MAX))
                    .bind(micros(now))
                    .bind(i64::try_from(id).unwrap_or(i64::MAX))
                    .execute(&mut *transaction)
                    .await
                    .map_err(|e| storage_error("replaying a subscription", e))?;
                    append_in(&mut transaction, std::slice::from_ref(audit), now).await?;
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    Ok(())
                }

                async fn prune_outbox(&self, before: DateTime<Utc>) -> StorageResult<u64> {
                    let mut transaction = self.begin_write().await?;
                    let deleted = sqlx::query(
                        "DELETE FROM exchange_outbox WHERE at_us < $1 AND seq <= COALESCE(\
                         (SELECT MIN(s.cursor_seq) FROM subscription s \
                          WHERE s.resource_code = exchange_outbox.resource_code AND s.status <> 'cancelled'), \
                         exchange_outbox.seq)",
                    )
                    .bind(micros(before))
                    .execute(&mut *transaction)
                    .await
                    .map_err(|e| storage_error("pruning the outbox", e))?
                    .rows_affected();
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    Ok(deleted)
                }

                async fn failed_deliveries_since(&self, since: DateTime<Utc>) -> StorageResult<u64> {
                    let count: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM subscription_delivery WHERE delivered = 0 AND attempted_at_us >= $1",
                    )
                    .bind(micros(since))
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| storage_error("counting failed deliveries", e))?;
                    Ok(u64::try_from(count).unwrap_or(0))
                }

                async fn deliveries(&self, subscription: u64, page: PageRequest) -> StorageResult<Page<Delivery>> {
                    let id = i64::try_from(subscription).unwrap_or(i64::MAX);
                    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM subscription_delivery WHERE subscription_id = $1")
                        .bind(id)
                        .fetch_one(&self.pool)
                        .await
                        .map_err(|e| storage_error("counting deliveries", e))?;
                    let rows = sqlx::query(sql!(
                        "SELECT attempted_at_us, first_seq, last_seq, events, status_code, delivered, error, duration_ms \
                         FROM subscription_delivery WHERE subscription_id = $1 ORDER BY id DESC LIMIT {} OFFSET {}",
                        page.per_page,
                        page.offset()
                    ))
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("listing deliveries", e))?;
                    let items = rows
                        .iter()
                        .map(|row| {
                            let number = |column: &str| -> StorageResult<u64> {
                                let value: i64 = get(row, column)?;
                                Ok(u64::try_from(value).unwrap_or(0))
                            };
                            let status: Option<i64> = get(row, "status_code")?;
                            let delivered: i64 = get(row, "delivered")?;
                            Ok(Delivery {
                                subscription_id: subscription,
                                attempted_at: from_micros(get(row, "attempted_at_us")?)?,
                                first_seq: number("first_seq")?,
                                last_seq: number("last_seq")?,
                                events: u32::try_from(number("events")?).unwrap_or(u32::MAX),
                                status_code: status.and_then(|code| u16::try_from(code).ok()),
                                delivered: delivered != 0,
                                error: get(row, "error")?,
                                duration_ms: number("duration_ms")?,
                            })
                        })
                        .collect::<StorageResult<Vec<_>>>()?;
                    Ok(Page {
                        items,
                        total: u64::try_from(total).unwrap_or(0),
                        page: page.page,
                        per_page: page.per_page,
                    })
                }
            }
        }
    };
}

pub(crate) use subscription_store;
