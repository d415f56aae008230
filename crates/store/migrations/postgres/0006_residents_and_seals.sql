-- Residents' sign-in by SMS code, and seals on audit entries (issue 3).
-- Where a resident's sign-in codes go.
ALTER TABLE account ADD COLUMN phone TEXT;
-- The SHA-256 of the SMS code sent for a sign-in (bound to the session) and when it was
-- sent; cleared when the session moves on.
ALTER TABLE session ADD COLUMN sms_code_hash BYTEA;
ALTER TABLE session ADD COLUMN sms_sent_at_us BIGINT;
-- A security administrator's seal: a subject's entries with this purpose (an
-- investigation) are kept from the subject's data-access page until release_at_us.
-- The entries stay in the log and in every audit search; only the resident's view waits.
CREATE TABLE audit_seal (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject TEXT NOT NULL,
    purpose TEXT NOT NULL,
    reason TEXT NOT NULL,
    release_at_us BIGINT NOT NULL,
    sealed_by TEXT NOT NULL,
    sealed_at_us BIGINT NOT NULL
);
CREATE INDEX audit_seal_subject ON audit_seal (subject, purpose);
