-- Patrol objects that are neither people nor rented houses (issue 5): manhole covers,
-- registered by their owner departments under their 16-digit component codes, and
-- buildings' safety appraisals (JGJ 125-2016 grades A–D), appended, the latest deciding.
-- Times are BIGINT microseconds (UTC), days YYYY-MM-DD.
CREATE TABLE city_component (
    code TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    longitude REAL NOT NULL,
    latitude REAL NOT NULL,
    grid TEXT NOT NULL,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE INDEX city_component_grid ON city_component (grid, code);

CREATE TABLE building_appraisal (
    id INTEGER PRIMARY KEY,
    building_id TEXT NOT NULL,
    grid TEXT NOT NULL,
    grade TEXT NOT NULL,
    appraised_on TEXT NOT NULL,
    agency TEXT NOT NULL,
    report_no TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at_us BIGINT NOT NULL
);
CREATE INDEX building_appraisal_building ON building_appraisal (building_id, appraised_on, id);
CREATE INDEX building_appraisal_grid ON building_appraisal (grid, building_id);
