-- Cases (issue 5): one row per case with the columns lists filter on, and the whole case
-- as JSON (huimin_domain::case::Case, checked again when read); its timeline in
-- case_event, append-only. version is bumped by every change, which is a conditional
-- update on it. Times are BIGINT microseconds (UTC).
CREATE TABLE case_record (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    grid TEXT,
    lead_department TEXT,
    priority TEXT NOT NULL,
    version BIGINT NOT NULL,
    reported_at_us BIGINT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX case_record_grid ON case_record (grid, status);
CREATE INDEX case_record_status ON case_record (status, id);
CREATE TABLE case_event (
    case_id BIGINT NOT NULL REFERENCES case_record (id),
    seq BIGINT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    at_us BIGINT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    -- The action with its fields as JSON (huimin_domain::case::flow::Action); empty for
    -- the report.
    detail TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
);
