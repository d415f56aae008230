-- Case photos (issue 5), kept only after their metadata (EXIF with its GPS position, XMP,
-- IPTC, PNG text chunks) is stripped: no original is stored. sha256 is of the kept bytes.
CREATE TABLE case_photo (
    id INTEGER PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES case_record (id),
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at_us BIGINT NOT NULL,
    bytes BLOB NOT NULL
);
CREATE INDEX case_photo_case ON case_photo (case_id, id);
