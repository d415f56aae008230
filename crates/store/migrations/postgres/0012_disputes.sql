-- Disputes of one datum, one source (issue 4): a registry field's authoritative value
-- and another department's different value of it, routed to the authoritative department.
-- At most one open dispute per field, subject and other source (kept up to date with
-- that source's latest value). Times are BIGINT microseconds (UTC).
CREATE TABLE registry_dispute (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    field TEXT NOT NULL,
    subject TEXT NOT NULL,
    registry_value TEXT,
    source_value TEXT NOT NULL,
    source_resource TEXT NOT NULL REFERENCES catalogue_resource (code),
    source_department TEXT NOT NULL REFERENCES department (id),
    batch_id TEXT NOT NULL,
    authority_resource TEXT NOT NULL REFERENCES catalogue_resource (code),
    authority TEXT NOT NULL REFERENCES department (id),
    opened_at_us BIGINT NOT NULL,
    -- open, closed
    status TEXT NOT NULL,
    -- registry_correct, source_correct
    resolution TEXT,
    note TEXT,
    answered_by TEXT,
    answered_at_us BIGINT
);
CREATE INDEX registry_dispute_open ON registry_dispute (field, source_resource, subject, status);
CREATE INDEX registry_dispute_authority ON registry_dispute (authority, status, id);
CREATE INDEX registry_dispute_source ON registry_dispute (source_department, status, id);
