-- Patrol visits (issue 5): a grid worker's check-in at an object of their round (a
-- person by identity number, a house by id), with where it was made, a note, and the
-- case a finding became. Append-only. Times are BIGINT microseconds (UTC).
CREATE TABLE patrol_visit (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    grid TEXT NOT NULL,
    kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    worker TEXT NOT NULL,
    at_us BIGINT NOT NULL,
    longitude DOUBLE PRECISION NOT NULL,
    latitude DOUBLE PRECISION NOT NULL,
    note TEXT NOT NULL,
    case_id BIGINT
);
CREATE INDEX patrol_visit_grid ON patrol_visit (grid, at_us);
