//! Subscriptions (数据订阅): a consumer department hears of a resource's record changes —
//! and of the life events they mean (a birth, a death, a move, a marriage, a business
//! deregistered) — within its grant, by HTTP webhook. Changes are written to a
//! transactional outbox in the same transaction as the records, numbered per resource;
//! each subscription keeps a cursor into that sequence and is delivered in order, at least
//! once, signed with HMAC-SHA256, with retries that back off exponentially.

use crate::catalogue::ResourceCode;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How a record changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Inserted,
    Updated,
    Deleted,
}

impl Change {
    pub fn code(self) -> &'static str {
        match self {
            Change::Inserted => "inserted",
            Change::Updated => "updated",
            Change::Deleted => "deleted",
        }
    }

    pub fn parse(text: &str) -> Option<Change> {
        [Change::Inserted, Change::Updated, Change::Deleted]
            .into_iter()
            .find(|change| change.code() == text)
    }
}

/// What a change means for the subject's life, when it means something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifeEvent {
    Birth,
    Death,
    Move,
    MaritalStatus,
    Deregistration,
}

impl LifeEvent {
    pub const ALL: [LifeEvent; 5] = [
        LifeEvent::Birth,
        LifeEvent::Death,
        LifeEvent::Move,
        LifeEvent::MaritalStatus,
        LifeEvent::Deregistration,
    ];

    pub fn code(self) -> &'static str {
        match self {
            LifeEvent::Birth => "birth",
            LifeEvent::Death => "death",
            LifeEvent::Move => "move",
            LifeEvent::MaritalStatus => "marital_status",
            LifeEvent::Deregistration => "deregistration",
        }
    }

    pub fn parse(text: &str) -> Option<LifeEvent> {
        LifeEvent::ALL
            .into_iter()
            .find(|event| event.code() == text)
    }

    /// The life event a change of a resource's record means, by the resources of the
    /// city's catalogue that record them: 卫健's birth and death certificates, 公安's
    /// residence registrations (a changed address is a move), 民政's marriage
    /// registrations, and 市场监管's legal entities (a status of 注销 or 吊销).
    pub fn of(resource: &ResourceCode, change: Change, status: Option<&str>) -> Option<LifeEvent> {
        match (resource.as_str(), change) {
            ("301009/000001", Change::Inserted) => Some(LifeEvent::Birth),
            ("301009/000002", Change::Inserted) => Some(LifeEvent::Death),
            ("301001/000001", Change::Updated) => Some(LifeEvent::Move),
            ("301003/000001", Change::Inserted | Change::Updated) => Some(LifeEvent::MaritalStatus),
            ("101002/000001", Change::Inserted | Change::Updated)
                if status
                    .is_some_and(|status| status.contains("注销") || status.contains("吊销")) =>
            {
                Some(LifeEvent::Deregistration)
            }
            _ => None,
        }
    }
}

/// The signature of a delivery: `sha256=` and the lower-case hex HMAC-SHA256, keyed by
/// the subscription's secret, over `TIMESTAMP.BODY` (the `X-Huimin-Timestamp` header, a
/// dot, the body's bytes) — the timestamp inside the signature keeps a recorded delivery
/// from being replayed later as new.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(7 + digest.len() * 2);
    hex.push_str("sha256=");
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// How long to wait before the next attempt after `failures` failed ones in a row: one
/// second, doubling, at most five minutes.
pub fn backoff(failures: u32) -> Duration {
    let seconds = 1_i64 << failures.saturating_sub(1).min(9);
    Duration::seconds(seconds.min(300))
}

/// Where a subscription stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionStatus {
    Active,
    /// Its grant is no longer in force (revoked or expired): nothing is delivered.
    Suspended,
    Cancelled,
}

impl SubscriptionStatus {
    pub fn code(self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::Suspended => "suspended",
            SubscriptionStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<SubscriptionStatus> {
        [
            SubscriptionStatus::Active,
            SubscriptionStatus::Suspended,
            SubscriptionStatus::Cancelled,
        ]
        .into_iter()
        .find(|status| status.code() == text)
    }
}

/// A consumer's subscription to a resource's changes under a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: u64,
    pub grant_id: u64,
    pub consumer: crate::catalogue::DepartmentId,
    pub resource: ResourceCode,
    /// An `http://` address (HTTPS callbacks go through a local TLS proxy).
    pub callback_url: String,
    /// The HMAC key; shown to the consumer once.
    pub secret: String,
    /// Only these life events (every change when empty).
    pub events: Vec<LifeEvent>,
    pub status: SubscriptionStatus,
    /// The last outbox number delivered.
    pub cursor: u64,
    /// Failed attempts in a row.
    pub failures: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

impl Subscription {
    /// Whether the subscription wants a change meaning `event`.
    pub fn wants(&self, event: Option<LifeEvent>) -> bool {
        self.events.is_empty() || event.is_some_and(|event| self.events.contains(&event))
    }
}

/// One change in a resource's outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Numbered from 1 per resource, in commit order.
    pub seq: u64,
    pub resource: ResourceCode,
    pub key: String,
    pub subject: Option<String>,
    pub change: Change,
    /// The values after the change (none for a deletion), in the resource's item order.
    pub values: Option<Vec<Option<String>>>,
    pub batch_id: String,
    pub at: DateTime<Utc>,
}

/// One delivery attempt, for the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub subscription_id: u64,
    pub attempted_at: DateTime<Utc>,
    pub first_seq: u64,
    pub last_seq: u64,
    pub events: u32,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<u16>,
    pub delivered: bool,
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// Checks a callback address: `http://host[:port]/path`, at most 500 characters.
pub fn check_callback(url: &str) -> Result<String, String> {
    let url = url.trim();
    if url.chars().count() > 500 {
        return Err("the callback address may have at most 500 characters".to_owned());
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(
            "the callback must be an http:// address (put an HTTPS receiver behind a local TLS proxy)".to_owned(),
        );
    };
    let host = rest.split(['/', '?']).next().unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) || host.contains('@') {
        return Err(format!("'{url}' names no host"));
    }
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // The construction: one HMAC over the timestamp, a dot and the body.
        let expected = {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"secret").unwrap();
            mac.update(b"1764633600.{\"a\":1}");
            let bytes = mac.finalize().into_bytes();
            bytes
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect::<String>()
        };
        assert_eq!(
            signature("secret", 1_764_633_600, b"{\"a\":1}"),
            format!("sha256={expected}")
        );
        // RFC 4231 test case 2 through the same HMAC, for the crate itself.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn backoff_doubles_to_five_minutes() {
        let seconds: Vec<i64> = (1..=11)
            .map(|failures| backoff(failures).num_seconds())
            .collect();
        assert_eq!(seconds, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    }

    #[test]
    fn life_events_follow_the_recording_resources() {
        let code = |text: &str| ResourceCode::parse(text).unwrap();
        assert_eq!(
            LifeEvent::of(&code("301009/000002"), Change::Inserted, None),
            Some(LifeEvent::Death)
        );
        assert_eq!(
            LifeEvent::of(&code("301001/000001"), Change::Updated, None),
            Some(LifeEvent::Move)
        );
        assert_eq!(
            LifeEvent::of(&code("301001/000001"), Change::Inserted, None),
            None
        );
        assert_eq!(
            LifeEvent::of(&code("101002/000001"), Change::Updated, Some("注销")),
            Some(LifeEvent::Deregistration)
        );
        assert_eq!(
            LifeEvent::of(&code("101002/000001"), Change::Updated, Some("存续")),
            None
        );
    }

    #[test]
    fn callbacks_are_plain_http_addresses() {
        assert_eq!(
            check_callback(" http://127.0.0.1:9000/hook "),
            Ok("http://127.0.0.1:9000/hook".into())
        );
        assert!(check_callback("https://example.gov.cn/hook").is_err());
        assert!(check_callback("http:///hook").is_err());
        assert!(check_callback("http://user@host/").is_err());
    }
}
