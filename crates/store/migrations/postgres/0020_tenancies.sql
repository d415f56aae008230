-- Tenants registered at rented houses (issue 5, 出租屋 / 流动人口): one row per stay, from
-- moving in to moving out; the row is ended, never deleted. Dates are YYYY-MM-DD, times
-- BIGINT microseconds (UTC).
CREATE TABLE tenancy (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    house_id TEXT NOT NULL,
    grid TEXT NOT NULL,
    tenant TEXT NOT NULL,
    tenant_name TEXT,
    moved_in TEXT NOT NULL,
    registered_at_us BIGINT NOT NULL,
    registered_by TEXT NOT NULL,
    moved_out TEXT,
    ended_at_us BIGINT,
    ended_by TEXT
);
CREATE INDEX tenancy_house ON tenancy (house_id, id);
CREATE INDEX tenancy_tenant ON tenancy (tenant);
