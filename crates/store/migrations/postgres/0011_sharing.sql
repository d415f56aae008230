-- Sharing requests and grants (issue 4): a consumer department's request for items of a
-- catalogued resource, and its decision. A granted request is the policy every exchange
-- request is checked against. Times are BIGINT microseconds (UTC); dates are ISO text
-- (Asia/Shanghai).
CREATE TABLE sharing_request (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer TEXT NOT NULL REFERENCES department (id),
    provider TEXT NOT NULL REFERENCES department (id),
    resource_code TEXT NOT NULL REFERENCES catalogue_resource (code),
    resource_version BIGINT NOT NULL,
    -- The granted items, one name per line, in the resource's order.
    items TEXT NOT NULL,
    purpose TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    rate_per_minute BIGINT NOT NULL,
    retention TEXT NOT NULL,
    requested_at_us BIGINT NOT NULL,
    requested_by TEXT NOT NULL,
    -- pending, granted, refused, revoked
    status TEXT NOT NULL,
    -- The provider's deadline while pending.
    deadline TEXT,
    -- Why it was refused or revoked.
    reason TEXT NOT NULL,
    decided_at_us BIGINT,
    decided_by TEXT
);
CREATE INDEX sharing_request_consumer ON sharing_request (consumer, resource_code, status);
CREATE INDEX sharing_request_provider ON sharing_request (provider, status, id);
