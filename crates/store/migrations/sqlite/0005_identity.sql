-- Identity (issue 3): accounts, their role assignments, and sign-in sessions.
-- Times are BIGINT microseconds (UTC); an absent time is NULL.
CREATE TABLE account (
    login TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    display_name TEXT NOT NULL,
    citizen_id TEXT,
    department TEXT,
    -- Argon2id PHC string; empty when the account has no password (a service account).
    password_hash TEXT NOT NULL,
    -- The TOTP secret once enrolment has begun; enrolled when totp_enrolled_at_us is set.
    totp_secret BLOB,
    totp_enrolled_at_us BIGINT,
    -- The time step of the last code accepted: a code is good once.
    totp_last_step BIGINT,
    failed_attempts BIGINT NOT NULL,
    locked_until_us BIGINT,
    disabled_at_us BIGINT,
    created_at_us BIGINT NOT NULL
);
CREATE TABLE role_assignment (
    login TEXT NOT NULL REFERENCES account (login),
    role TEXT NOT NULL,
    jurisdiction TEXT NOT NULL,
    -- '' when the role is not tied to a department.
    department TEXT NOT NULL,
    valid_from_us BIGINT NOT NULL,
    valid_until_us BIGINT,
    PRIMARY KEY (login, role, jurisdiction, department, valid_from_us)
);
-- The cookie holds a random token; only its SHA-256 is stored, so a copy of the table
-- signs nobody in.
CREATE TABLE session (
    token_hash BLOB PRIMARY KEY,
    login TEXT NOT NULL REFERENCES account (login),
    -- 'second_factor' (password accepted, code pending) or 'signed_in'.
    stage TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    last_seen_at_us BIGINT NOT NULL,
    client TEXT NOT NULL
);
CREATE INDEX session_login ON session (login);
-- API tokens of department systems (service accounts): shown once, kept as SHA-256,
-- scoped, expiring, revocable.
CREATE TABLE api_token (
    token_hash BLOB PRIMARY KEY,
    login TEXT NOT NULL REFERENCES account (login),
    label TEXT NOT NULL,
    -- Space-separated, e.g. 'persons:read'.
    scopes TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    expires_at_us BIGINT NOT NULL,
    revoked_at_us BIGINT
);
CREATE INDEX api_token_login ON api_token (login, label);
