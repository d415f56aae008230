-- The audit log (issue 3): append-only entries, the leaves of an RFC 6962 Merkle tree;
-- signed checkpoints of the tree head; the heads of large complete subtrees, so proofs
-- read a few hundred leaf hashes rather than the log.
--
-- audit_head numbers the entries: an append updates its one row first and holds the row
-- lock until it commits, so entries are numbered and committed in one order and their
-- times never go backwards.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL,
    last_at_us BIGINT NOT NULL
);
INSERT INTO audit_head (id, size, last_at_us) VALUES (1, 0, 0);
CREATE TABLE audit_entry (
    seq BIGINT PRIMARY KEY,
    at_us BIGINT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    jurisdiction TEXT NOT NULL,
    subject TEXT COLLATE "C" NOT NULL,
    purpose TEXT NOT NULL,
    outcome TEXT NOT NULL,
    request_id TEXT NOT NULL,
    client TEXT NOT NULL,
    detail TEXT NOT NULL,
    leaf_hash BYTEA NOT NULL
);
-- "Who used my data": a resident's entries, newest first.
CREATE INDEX audit_entry_subject ON audit_entry (subject, seq) WHERE subject <> '';
CREATE TABLE audit_checkpoint (
    size BIGINT PRIMARY KEY,
    root BYTEA NOT NULL,
    signed_at_us BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    signature BYTEA NOT NULL,
    -- The heads of the tree's complete subtrees at this size (a cache for the next
    -- checkpoint; `huimin audit verify` never trusts it).
    frontier BYTEA NOT NULL
);
CREATE TABLE audit_subtree (
    start BIGINT NOT NULL,
    len BIGINT NOT NULL,
    head BYTEA NOT NULL,
    PRIMARY KEY (start, len)
);
-- The role that runs the migrations is the role the server connects as: it keeps INSERT
-- and SELECT on the audit tables and loses UPDATE, DELETE and TRUNCATE. The triggers also
-- refuse a superuser's change (which privileges do not bind). Operators who run the
-- server as a role of its own grant it only INSERT and SELECT (see docs/operations.md).
REVOKE UPDATE, DELETE, TRUNCATE ON audit_entry, audit_checkpoint, audit_subtree FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_entry, audit_checkpoint, audit_subtree FROM CURRENT_USER;
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit records are append-only (%)', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_checkpoint FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_checkpoint FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_subtree_append_only BEFORE UPDATE OR DELETE ON audit_subtree FOR EACH ROW EXECUTE FUNCTION audit_append_only();
