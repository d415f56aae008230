-- The duplicate check's index covers its whole box and window (issue 5). With only
-- (category, latitude) the search read a band of latitude across the whole city and
-- fetched each case row in it to test its longitude: hundreds of row reads per new case,
-- growing with the city's cases. Case intake on SQLite went from 360–470 to 1,100 cases/s
-- with this index (see ARCHITECTURE.md).
DROP INDEX case_record_near;
CREATE INDEX case_record_near ON case_record (category, latitude, longitude, reported_at_us, status);
