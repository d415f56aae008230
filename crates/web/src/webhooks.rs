//! Delivering subscriptions: the webhook sender. Each pass takes the subscriptions that
//! are due, reads each one's resource outbox after its cursor, keeps what its grant still
//! allows (only granted items leave; a revoked or expired grant suspends the
//! subscription at its next delivery), and POSTs the events in order, signed, to the callback. A 2xx answer
//! moves the cursor past them; anything else is logged and retried after an exponential
//! backoff. Delivery is at least once: a receiver that answered but whose answer was lost
//! gets the same events (same `seq`) again, and should ignore numbers it has seen.

use crate::state::AppState;
use huimin_domain::audit::{Actor, AuditEvent};
use huimin_domain::storage::StorageResult;
use huimin_domain::subscription::{
    Delivery, LifeEvent, OutboxEntry, Subscription, SubscriptionStatus, backoff, signature,
};
use serde_json::{Value, json};
use std::time::Duration;

/// Events one delivery carries at most.
pub const BATCH_EVENTS: u32 = 200;
/// How long outbox entries every subscription has passed are kept (for replays).
pub const OUTBOX_RETENTION: chrono::Duration = chrono::Duration::days(7);
/// How often the webhook task prunes the outbox.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// How long a receiver may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP client deliveries go out on.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// One event as the consumer receives it: the granted items only.
fn event_json(
    subscription: &Subscription,
    entry: &OutboxEntry,
    items: &[(usize, String)],
    life: Option<LifeEvent>,
) -> Value {
    let values = entry.values.as_ref().map(|values| {
        items
            .iter()
            .map(|(position, name)| {
                (
                    name.clone(),
                    json!(values.get(*position).cloned().flatten()),
                )
            })
            .collect::<serde_json::Map<String, Value>>()
    });
    json!({
        "seq": entry.seq,
        "subscription": subscription.id,
        "resource": entry.resource.as_str(),
        "key": entry.key,
        "subject": entry.subject,
        "change": entry.change.code(),
        "event": life.map(LifeEvent::code),
        "values": values,
        "batch_id": entry.batch_id,
        "recorded_at": crate::api::shanghai_rfc3339(entry.at),
    })
}

/// Delivers what is due once; returns how many subscriptions had events waiting.
pub async fn deliver_due(state: &AppState, client: &reqwest::Client) -> StorageResult<usize> {
    let now = state.clock.now();
    let due = state.subscriptions.due_subscriptions(now, 50).await?;
    let mut busy = 0;
    for subscription in &due {
        if deliver(state, client, subscription).await? {
            busy += 1;
        }
    }
    Ok(busy)
}

/// One attempt for one subscription; `true` when it had events waiting.
async fn deliver(
    state: &AppState,
    client: &reqwest::Client,
    subscription: &Subscription,
) -> StorageResult<bool> {
    let now = state.clock.now();
    let today = state.clock.today();
    // The outbox first: an idle subscription costs this one read a pass, and its grant is
    // checked when there is something to deliver under it.
    let entries = state
        .subscriptions
        .outbox_after(&subscription.resource, subscription.cursor, BATCH_EVENTS)
        .await?;
    let Some(last) = entries.last().map(|entry| entry.seq) else {
        // Nothing new: look again at the next pass.
        return Ok(false);
    };
    let grant = state.sharing.sharing_request(subscription.grant_id).await?;
    let resource = state
        .catalogue
        .resource(&subscription.resource, None)
        .await?;
    let (Some(grant), Some(resource)) = (grant, resource) else {
        return Ok(false);
    };
    let in_force =
        grant.status == huimin_domain::sharing::Status::Granted && !grant.is_expired(today);
    if !in_force {
        let why = format!(
            "grant {} is {}",
            grant.id,
            if grant.is_expired(today) {
                "expired"
            } else {
                grant.status.code()
            }
        );
        let event = AuditEvent {
            detail: why.clone(),
            ..Actor::system("webhooks").event(
                "subscription.suspend",
                "subscription",
                subscription.id.to_string(),
            )
        };
        state
            .subscriptions
            .set_subscription_status(
                subscription.id,
                SubscriptionStatus::Suspended,
                Some(&why),
                now,
                Some(&event),
            )
            .await?;
        return Ok(false);
    }
    let items: Vec<(usize, String)> = resource
        .resource
        .items
        .iter()
        .enumerate()
        .filter(|(_, item)| grant.terms.items.contains(&item.name))
        .map(|(position, item)| (position, item.name.clone()))
        .collect();
    let status_position = resource
        .resource
        .items
        .iter()
        .position(|item| item.name == "status");
    let events: Vec<Value> = entries
        .iter()
        .filter_map(|entry| {
            let status = status_position
                .and_then(|position| entry.values.as_ref()?.get(position).cloned().flatten());
            let life = LifeEvent::of(&entry.resource, entry.change, status.as_deref());
            subscription
                .wants(life)
                .then(|| event_json(subscription, entry, &items, life))
        })
        .collect();
    let first = entries.first().map_or(last, |entry| entry.seq);
    let started = std::time::Instant::now();
    let (status_code, error) = if events.is_empty() {
        // Nothing the subscription asked for: the cursor moves on without a request.
        (None, None)
    } else {
        let body = serde_json::to_vec(&json!({"subscription": subscription.id, "events": events}))
            .unwrap_or_default();
        let timestamp = now.timestamp();
        let sent = client
            .post(&subscription.callback_url)
            .header("content-type", "application/json")
            .header("x-huimin-subscription", subscription.id.to_string())
            .header("x-huimin-timestamp", timestamp.to_string())
            .header(
                "x-huimin-signature",
                signature(&subscription.secret, timestamp, &body),
            )
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => {
                (Some(response.status().as_u16()), None)
            }
            Ok(response) => (
                Some(response.status().as_u16()),
                Some(format!("the receiver answered {}", response.status())),
            ),
            Err(error) => (None, Some(format!("could not deliver: {error}"))),
        }
    };
    let delivered = error.is_none();
    let delivery = Delivery {
        subscription_id: subscription.id,
        attempted_at: now,
        first_seq: first,
        last_seq: last,
        events: u32::try_from(events.len()).unwrap_or(u32::MAX),
        status_code,
        delivered,
        error,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    let (to, next) = if delivered {
        (last, now)
    } else {
        (
            subscription.cursor,
            now + backoff(subscription.failures + 1),
        )
    };
    state
        .subscriptions
        .record_delivery(&delivery, subscription.cursor, to, next)
        .await?;
    Ok(delivered)
}

/// Runs delivery passes until the task is aborted: straight on while a pass delivered
/// something (a backlog drains at the receivers' pace), else after `interval`. A failed
/// pass is logged and the next one tries again. Every ten minutes it prunes the outbox of
/// entries older than [`OUTBOX_RETENTION`] that every live subscription has passed.
pub async fn run(state: AppState, interval: Duration) {
    let client = client();
    let mut pruned = std::time::Instant::now();
    loop {
        if pruned.elapsed() >= PRUNE_EVERY {
            pruned = std::time::Instant::now();
            let before = state.clock.now() - OUTBOX_RETENTION;
            match state.subscriptions.prune_outbox(before).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "pruned the exchange outbox"),
                Err(error) => tracing::warn!(%error, "pruning the exchange outbox failed"),
            }
        }
        let busy = match deliver_due(&state, &client).await {
            Ok(busy) => busy,
            Err(error) => {
                tracing::warn!(%error, "a webhook delivery pass failed");
                0
            }
        };
        if busy == 0 {
            tokio::time::sleep(interval).await;
        }
    }
}
