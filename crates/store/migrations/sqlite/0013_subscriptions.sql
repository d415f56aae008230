-- Subscriptions (issue 4): consumers' webhooks for a resource's record changes under a
-- grant, the transactional outbox they are delivered from (numbered per resource by
-- exchange_outbox_head, whose row a writing transaction holds to its commit, so numbers
-- commit in order), and the delivery log. Times are BIGINT microseconds (UTC).
CREATE TABLE subscription (
    id INTEGER PRIMARY KEY,
    grant_id BIGINT NOT NULL REFERENCES sharing_request (id),
    consumer TEXT NOT NULL REFERENCES department (id),
    resource_code TEXT NOT NULL REFERENCES catalogue_resource (code),
    callback_url TEXT NOT NULL,
    secret TEXT NOT NULL,
    -- Life event codes, one per line; empty: every change.
    events TEXT NOT NULL,
    -- active, suspended, cancelled
    status TEXT NOT NULL,
    cursor_seq BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    next_attempt_at_us BIGINT NOT NULL,
    last_error TEXT,
    created_at_us BIGINT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX subscription_resource ON subscription (resource_code, status);
CREATE INDEX subscription_consumer ON subscription (consumer, id);
CREATE TABLE exchange_outbox_head (
    resource_code TEXT PRIMARY KEY REFERENCES catalogue_resource (code),
    last_seq BIGINT NOT NULL
);
CREATE TABLE exchange_outbox (
    resource_code TEXT NOT NULL REFERENCES catalogue_resource (code),
    seq BIGINT NOT NULL,
    record_key TEXT NOT NULL,
    subject TEXT,
    change TEXT NOT NULL,
    -- The values after the change as a JSON array; NULL for a deletion.
    record_values TEXT,
    batch_id TEXT NOT NULL,
    at_us BIGINT NOT NULL,
    PRIMARY KEY (resource_code, seq)
);
CREATE TABLE subscription_delivery (
    id INTEGER PRIMARY KEY,
    subscription_id BIGINT NOT NULL REFERENCES subscription (id),
    attempted_at_us BIGINT NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    events BIGINT NOT NULL,
    status_code BIGINT,
    delivered BIGINT NOT NULL,
    error TEXT,
    duration_ms BIGINT NOT NULL
);
CREATE INDEX subscription_delivery_subscription ON subscription_delivery (subscription_id, id);
