-- A dataset record's last batch (seen_batch) is no longer indexed. The index served one
-- statement, a full load's deletion at its end of what it did not see, which reads the
-- resource's records through the primary key just as well; and every insert, and every
-- unchanged record marked seen, paid for an entry in it (a fifth of the record table's
-- size, and of an ingest's B-tree work).
DROP INDEX dataset_record_seen;
