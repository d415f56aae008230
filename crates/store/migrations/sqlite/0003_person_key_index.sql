-- The person table's key becomes a named unique index instead of the PRIMARY KEY's
-- automatic index, which SQLite cannot drop. A first load into an empty registry then
-- drops every index of the table, appends rows in whatever order the file has them, and
-- builds each index once from sorted keys: a million-row load no longer has to sort all
-- records before it may write the first one. The table is still a rowid table whose key
-- is a unique index, as it was; lookups and ON CONFLICT (citizen_id) behave the same.
CREATE TABLE person_next (
    citizen_id TEXT NOT NULL,
    name TEXT NOT NULL,
    name_initials TEXT NOT NULL,
    name_pinyin TEXT NOT NULL,
    sex TEXT NOT NULL,
    birth_date DATE NOT NULL,
    ethnicity INTEGER NOT NULL,
    hukou_address TEXT NOT NULL,
    residence_address TEXT NOT NULL,
    phone TEXT,
    life_status TEXT NOT NULL,
    tags TEXT NOT NULL,
    grid TEXT,
    source TEXT NOT NULL,
    batch TEXT NOT NULL,
    recorded_at_us BIGINT NOT NULL
);
INSERT INTO person_next SELECT * FROM person;
DROP TABLE person;
ALTER TABLE person_next RENAME TO person;
CREATE UNIQUE INDEX person_key ON person (citizen_id);
CREATE INDEX person_grid ON person (grid, birth_date);
CREATE INDEX person_search ON person (name_initials, name_pinyin, name);
