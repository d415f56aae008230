-- Department datasets (issue 4): batches of a catalogued resource's records, the records
-- with their provenance, and each batch's reported problems. Times are BIGINT
-- microseconds (UTC); shares are BIGINT parts per million.
CREATE TABLE dataset_batch (
    batch_id TEXT PRIMARY KEY,
    resource_code TEXT NOT NULL REFERENCES catalogue_resource (code),
    resource_version BIGINT NOT NULL,
    provider TEXT NOT NULL REFERENCES department (id),
    mode TEXT NOT NULL,
    atomic BIGINT NOT NULL,
    digest TEXT NOT NULL,
    -- running, committed
    status TEXT NOT NULL,
    started_by TEXT NOT NULL,
    started_at_us BIGINT NOT NULL,
    finished_at_us BIGINT,
    -- The last file row written or reported; a resumed load goes on after it.
    committed_rows BIGINT NOT NULL,
    rows_read BIGINT NOT NULL,
    valid_rows BIGINT NOT NULL,
    optional_cells BIGINT NOT NULL,
    filled_optional_cells BIGINT NOT NULL,
    duplicate_keys BIGINT NOT NULL,
    with_subject BIGINT NOT NULL,
    linked BIGINT NOT NULL,
    inserted BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    unchanged BIGINT NOT NULL,
    deleted BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    unlinked BIGINT NOT NULL,
    timeliness_ppm BIGINT NOT NULL
);
CREATE INDEX dataset_batch_resource ON dataset_batch (resource_code, started_at_us);
CREATE TABLE dataset_record (
    resource_code TEXT NOT NULL REFERENCES catalogue_resource (code),
    record_key TEXT NOT NULL,
    subject TEXT,
    linked BIGINT NOT NULL,
    -- The item values in the catalogue's order, as a JSON array of strings and nulls.
    record_values TEXT NOT NULL,
    -- Provenance: the batch that last changed the values, and when.
    batch_id TEXT NOT NULL,
    recorded_at_us BIGINT NOT NULL,
    -- The last batch that contained the record, and its row there: a full load deletes
    -- what it did not see, and a key seen twice in one batch is a repeat.
    seen_batch TEXT NOT NULL,
    seen_row BIGINT NOT NULL,
    PRIMARY KEY (resource_code, record_key)
);
CREATE INDEX dataset_record_subject ON dataset_record (subject, resource_code);
CREATE INDEX dataset_record_seen ON dataset_record (resource_code, seen_batch);
CREATE TABLE dataset_problem (
    batch_id TEXT NOT NULL REFERENCES dataset_batch (batch_id),
    row_number BIGINT NOT NULL,
    position BIGINT NOT NULL,
    column_name TEXT NOT NULL,
    value TEXT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    message_zh TEXT NOT NULL,
    PRIMARY KEY (batch_id, row_number, position)
);
