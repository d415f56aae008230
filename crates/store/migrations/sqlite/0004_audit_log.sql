-- The audit log (issue 3): append-only entries, the leaves of an RFC 6962 Merkle tree;
-- signed checkpoints of the tree head; the heads of large complete subtrees, so proofs
-- read a few hundred leaf hashes rather than the log.
--
-- audit_head numbers the entries: an append updates its one row first, which takes the
-- write lock, so entries are numbered and committed in one order and their times never
-- go backwards.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL,
    last_at_us BIGINT NOT NULL
);
INSERT INTO audit_head (id, size, last_at_us) VALUES (1, 0, 0);
CREATE TABLE audit_entry (
    seq INTEGER PRIMARY KEY,
    at_us BIGINT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    jurisdiction TEXT NOT NULL,
    subject TEXT NOT NULL,
    purpose TEXT NOT NULL,
    outcome TEXT NOT NULL,
    request_id TEXT NOT NULL,
    client TEXT NOT NULL,
    detail TEXT NOT NULL,
    leaf_hash BLOB NOT NULL
);
-- "Who used my data": a resident's entries, newest first.
CREATE INDEX audit_entry_subject ON audit_entry (subject, seq) WHERE subject <> '';
CREATE TABLE audit_checkpoint (
    size BIGINT PRIMARY KEY,
    root BLOB NOT NULL,
    signed_at_us BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    signature BLOB NOT NULL,
    -- The heads of the tree's complete subtrees at this size (a cache for the next
    -- checkpoint; `huimin audit verify` never trusts it).
    frontier BLOB NOT NULL
);
CREATE TABLE audit_subtree (
    start BIGINT NOT NULL,
    len BIGINT NOT NULL,
    head BLOB NOT NULL,
    PRIMARY KEY (start, len)
);
-- Refusals, not security: whoever can write the file can drop these. The signed
-- checkpoints are what reveal a change.
CREATE TRIGGER audit_entry_append_only_update BEFORE UPDATE ON audit_entry BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_entry_append_only_delete BEFORE DELETE ON audit_entry BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_checkpoint_append_only_update BEFORE UPDATE ON audit_checkpoint BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoint_append_only_delete BEFORE DELETE ON audit_checkpoint BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_subtree_append_only_update BEFORE UPDATE ON audit_subtree BEGIN SELECT RAISE(ABORT, 'audit subtree heads are append-only'); END;
CREATE TRIGGER audit_subtree_append_only_delete BEFORE DELETE ON audit_subtree BEGIN SELECT RAISE(ABORT, 'audit subtree heads are append-only'); END;
