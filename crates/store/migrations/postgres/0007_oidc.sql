-- Single sign-on (issue 3): Huimin as an OpenID Connect provider. Codes and tokens are
-- kept as SHA-256 only, like sessions. Times are BIGINT microseconds (UTC).
CREATE TABLE oidc_client (
    client_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- SHA-256 of a confidential client's secret; NULL for a public client.
    secret_hash BYTEA,
    -- One URI per line, compared exactly.
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    -- 1 for the city's own systems (no consent screen), 0 for third parties.
    first_party BIGINT NOT NULL,
    created_at_us BIGINT NOT NULL
);
CREATE TABLE oidc_code (
    code_hash BYTEA PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES oidc_client (client_id),
    login TEXT NOT NULL REFERENCES account (login),
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT NOT NULL,
    auth_time_us BIGINT NOT NULL,
    created_at_us BIGINT NOT NULL,
    family TEXT NOT NULL,
    -- Set at the first exchange; a second one is a replay.
    used_at_us BIGINT
);
CREATE TABLE oidc_token (
    token_hash BYTEA PRIMARY KEY,
    -- 'access' or 'refresh'.
    kind TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES oidc_client (client_id),
    login TEXT NOT NULL REFERENCES account (login),
    scope TEXT NOT NULL,
    -- Every token of one authorization shares its family: a replay revokes them all.
    family TEXT NOT NULL,
    nonce TEXT,
    auth_time_us BIGINT NOT NULL,
    created_at_us BIGINT NOT NULL,
    expires_at_us BIGINT NOT NULL,
    revoked_at_us BIGINT,
    -- A refresh token is used once; set when it was exchanged for a new one.
    rotated_at_us BIGINT
);
CREATE INDEX oidc_token_family ON oidc_token (family);
CREATE TABLE oidc_consent (
    login TEXT NOT NULL REFERENCES account (login),
    client_id TEXT NOT NULL REFERENCES oidc_client (client_id),
    scope TEXT NOT NULL,
    granted_at_us BIGINT NOT NULL,
    PRIMARY KEY (login, client_id)
);
