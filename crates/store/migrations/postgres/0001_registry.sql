
-- Base registries. Timestamps are microseconds since the Unix epoch (UTC) in BIGINT on both
-- backends: one SQL text serves SQLite and PostgreSQL, and comparisons are exact.

CREATE TABLE person (
    citizen_id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    name_initials TEXT COLLATE "C" NOT NULL,
    name_pinyin TEXT COLLATE "C" NOT NULL,
    sex TEXT NOT NULL,
    birth_date DATE NOT NULL,
    ethnicity INTEGER NOT NULL,
    hukou_address TEXT NOT NULL,
    residence_address TEXT NOT NULL,
    phone TEXT,
    life_status TEXT NOT NULL,
    tags TEXT NOT NULL,
    grid TEXT COLLATE "C",
    source TEXT NOT NULL,
    batch TEXT NOT NULL,
    recorded_at_us BIGINT NOT NULL
);
CREATE INDEX person_name ON person (name);
CREATE INDEX person_initials ON person (name_initials, name_pinyin);
CREATE INDEX person_grid ON person (grid, birth_date);

CREATE TABLE person_history (
    citizen_id TEXT COLLATE "C" NOT NULL,
    name TEXT NOT NULL,
    name_initials TEXT COLLATE "C" NOT NULL,
    name_pinyin TEXT COLLATE "C" NOT NULL,
    sex TEXT NOT NULL,
    birth_date DATE NOT NULL,
    ethnicity INTEGER NOT NULL,
    hukou_address TEXT NOT NULL,
    residence_address TEXT NOT NULL,
    phone TEXT,
    life_status TEXT NOT NULL,
    tags TEXT NOT NULL,
    grid TEXT COLLATE "C",
    source TEXT NOT NULL,
    batch TEXT NOT NULL,
    recorded_at_us BIGINT NOT NULL,
    superseded_at_us BIGINT NOT NULL,
    PRIMARY KEY (citizen_id, recorded_at_us)
);

CREATE TABLE household (
    number TEXT COLLATE "C" PRIMARY KEY,
    kind TEXT NOT NULL,
    address TEXT NOT NULL,
    members TEXT NOT NULL,
    source TEXT NOT NULL,
    batch TEXT NOT NULL,
    recorded_at_us BIGINT NOT NULL
);

CREATE TABLE household_history (
    number TEXT COLLATE "C" NOT NULL,
    kind TEXT NOT NULL,
    address TEXT NOT NULL,
    members TEXT NOT NULL,
    source TEXT NOT NULL,
    batch TEXT NOT NULL,
    recorded_at_us BIGINT NOT NULL,
    superseded_at_us BIGINT NOT NULL,
    PRIMARY KEY (number, recorded_at_us)
);

CREATE TABLE household_member (
    household_number TEXT COLLATE "C" NOT NULL,
    citizen_id TEXT COLLATE "C" NOT NULL,
    relationship TEXT NOT NULL,
    PRIMARY KEY (household_number, citizen_id)
);
CREATE INDEX household_member_person ON household_member (citizen_id);

CREATE TABLE legal_entity (
    credit_code TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    legal_representative TEXT COLLATE "C" NOT NULL,
    registered_address TEXT NOT NULL,
    status TEXT NOT NULL,
    established_on DATE,
    source TEXT NOT NULL,
    batch TEXT NOT NULL,
    recorded_at_us BIGINT NOT NULL
);
CREATE INDEX legal_entity_representative ON legal_entity (legal_representative);
CREATE INDEX legal_entity_name ON legal_entity (name);

CREATE TABLE legal_entity_history (
    credit_code TEXT COLLATE "C" NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    legal_representative TEXT COLLATE "C" NOT NULL,
    registered_address TEXT NOT NULL,
    status TEXT NOT NULL,
    established_on DATE,
    source TEXT NOT NULL,
    batch TEXT NOT NULL,
    recorded_at_us BIGINT NOT NULL,
    superseded_at_us BIGINT NOT NULL,
    PRIMARY KEY (credit_code, recorded_at_us)
);

CREATE TABLE building (
    id TEXT COLLATE "C" PRIMARY KEY,
    address_district TEXT NOT NULL,
    address_street TEXT NOT NULL,
    address_community TEXT NOT NULL,
    address_road TEXT NOT NULL,
    address_number TEXT NOT NULL,
    address_building TEXT,
    address_unit TEXT,
    address_room TEXT,
    longitude DOUBLE PRECISION,
    latitude DOUBLE PRECISION,
    grid TEXT COLLATE "C" NOT NULL,
    floors INTEGER NOT NULL,
    source TEXT NOT NULL,
    batch TEXT NOT NULL,
    recorded_at_us BIGINT NOT NULL
);
CREATE INDEX building_grid ON building (grid);

CREATE TABLE house (
    id TEXT COLLATE "C" PRIMARY KEY,
    building_id TEXT COLLATE "C" NOT NULL,
    address_district TEXT NOT NULL,
    address_street TEXT NOT NULL,
    address_community TEXT NOT NULL,
    address_road TEXT NOT NULL,
    address_number TEXT NOT NULL,
    address_building TEXT,
    address_unit TEXT,
    address_room TEXT,
    longitude DOUBLE PRECISION,
    latitude DOUBLE PRECISION,
    grid TEXT COLLATE "C" NOT NULL,
    usage TEXT NOT NULL,
    floor_area_m2 DOUBLE PRECISION NOT NULL,
    owners TEXT NOT NULL,
    rental TEXT NOT NULL,
    tenants TEXT NOT NULL,
    source TEXT NOT NULL,
    batch TEXT NOT NULL,
    recorded_at_us BIGINT NOT NULL
);
CREATE INDEX house_grid ON house (grid, id);

CREATE TABLE house_history (
    id TEXT COLLATE "C" NOT NULL,
    building_id TEXT COLLATE "C" NOT NULL,
    address_district TEXT NOT NULL,
    address_street TEXT NOT NULL,
    address_community TEXT NOT NULL,
    address_road TEXT NOT NULL,
    address_number TEXT NOT NULL,
    address_building TEXT,
    address_unit TEXT,
    address_room TEXT,
    longitude DOUBLE PRECISION,
    latitude DOUBLE PRECISION,
    grid TEXT COLLATE "C" NOT NULL,
    usage TEXT NOT NULL,
    floor_area_m2 DOUBLE PRECISION NOT NULL,
    owners TEXT NOT NULL,
    rental TEXT NOT NULL,
    tenants TEXT NOT NULL,
    source TEXT NOT NULL,
    batch TEXT NOT NULL,
    recorded_at_us BIGINT NOT NULL,
    superseded_at_us BIGINT NOT NULL,
    PRIMARY KEY (id, recorded_at_us)
);

CREATE TABLE house_party (
    house_id TEXT COLLATE "C" NOT NULL,
    citizen_id TEXT COLLATE "C" NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (house_id, citizen_id, role)
);
CREATE INDEX house_party_person ON house_party (citizen_id);

CREATE TABLE area (
    code TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    parent TEXT COLLATE "C",
    boundary TEXT,
    source TEXT NOT NULL,
    batch TEXT NOT NULL,
    recorded_at_us BIGINT NOT NULL
);
CREATE INDEX area_parent ON area (parent);
