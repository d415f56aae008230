-- Cases keep the facts the indicators count (huimin_domain::case::indicators::CaseFacts,
-- 0 or 1 each, written with every change of the case), who reported them, the reporter's
-- phone for the hotline's caller look-up, and their location for the duplicate search (issue 5). Cases kept before this migration have
-- no facts until they next change.
ALTER TABLE case_record ADD COLUMN reported_by TEXT NOT NULL DEFAULT '';
ALTER TABLE case_record ADD COLUMN reporter_phone TEXT;
ALTER TABLE case_record ADD COLUMN longitude DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE case_record ADD COLUMN latitude DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE case_record ADD COLUMN voided SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE case_record ADD COLUMN registered SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE case_record ADD COLUMN dispatched SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE case_record ADD COLUMN handled SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE case_record ADD COLUMN handled_on_time SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE case_record ADD COLUMN closed SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE case_record ADD COLUMN closed_on_time SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE case_record ADD COLUMN reworked SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE case_record ADD COLUMN callback_due SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE case_record ADD COLUMN called_back SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE case_record ADD COLUMN rated SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE case_record ADD COLUMN satisfied SMALLINT NOT NULL DEFAULT 0;
-- The duplicate search: open cases of one category in a band of latitude.
CREATE INDEX case_record_near ON case_record (category, latitude);
-- The indicators: cases reported in a period.
CREATE INDEX case_record_reported ON case_record (reported_at_us);
-- The hotline's caller look-up.
CREATE INDEX case_record_phone ON case_record (reporter_phone);
