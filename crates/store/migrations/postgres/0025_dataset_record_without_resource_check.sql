-- A dataset record no longer checks its resource against the catalogue row by row.
-- PostgreSQL checks a foreign key with a trigger per inserted row (a query with a
-- row lock on catalogue_resource), which was a quarter of the server's work in an
-- ingest profile; the loader writes records only for a resource it has just read from
-- the catalogue, through a batch that does reference it (dataset_batch keeps its
-- foreign key), and catalogue resources are never deleted. SQLite keeps the clause: its
-- check is one probe of a small primary key, and dropping it would rebuild the table.
ALTER TABLE dataset_record DROP CONSTRAINT IF EXISTS dataset_record_resource_code_fkey;
