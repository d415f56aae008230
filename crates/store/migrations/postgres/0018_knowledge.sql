-- The hotline's knowledge base (issue 5): answers with their period of validity. The
-- search text is the lower-cased title and body; searches narrow by the query's character
-- bigrams with LIKE and rank in Rust (huimin_domain::knowledge). Dates are YYYY-MM-DD,
-- times BIGINT microseconds (UTC).
CREATE TABLE knowledge_article (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    category TEXT,
    department TEXT,
    valid_from TEXT NOT NULL,
    valid_until TEXT,
    updated_by TEXT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    search_text TEXT NOT NULL
);
CREATE INDEX knowledge_article_valid ON knowledge_article (valid_from, valid_until);
