-- The information-resource catalogue (issue 4): departments, and resources kept in
-- versions. Times are BIGINT microseconds (UTC).
CREATE TABLE department (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    credit_code TEXT NOT NULL UNIQUE,
    -- One information system per line.
    systems TEXT NOT NULL,
    updated_at_us BIGINT NOT NULL
);
-- One row per resource: its current version, and what lists filter and sort on.
CREATE TABLE catalogue_resource (
    code TEXT PRIMARY KEY,
    provider TEXT NOT NULL REFERENCES department (id),
    current_version BIGINT NOT NULL,
    name TEXT NOT NULL,
    sharing TEXT NOT NULL,
    subject TEXT NOT NULL,
    -- Lower-cased code, name, summary, keywords, item titles and provider name.
    search_text TEXT NOT NULL,
    published_at_us BIGINT NOT NULL
);
CREATE INDEX catalogue_resource_provider ON catalogue_resource (provider, code);
-- Every version ever published, whole: the resource as its draft (JSON), which the
-- store validates again when it reads it back.
CREATE TABLE catalogue_resource_version (
    code TEXT NOT NULL REFERENCES catalogue_resource (code),
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    published_at_us BIGINT NOT NULL,
    published_by TEXT NOT NULL,
    PRIMARY KEY (code, version)
);
-- 一数一源: the one resource whose value each registry field keeps.
CREATE TABLE registry_field_source (
    registry_field TEXT PRIMARY KEY,
    resource_code TEXT NOT NULL REFERENCES catalogue_resource (code)
);
