-- Dispatch rules (issue 5): a case's lead department and level by its category (a
-- subcategory or a class) and area (a code prefix; empty for the whole city), in the
-- order an administrator gave them. Replaced whole when edited.
CREATE TABLE dispatch_rule (
    position BIGINT PRIMARY KEY,
    category TEXT NOT NULL,
    area TEXT NOT NULL,
    lead_department TEXT NOT NULL,
    -- Comma-separated department ids.
    assisting TEXT NOT NULL,
    level TEXT NOT NULL
);
