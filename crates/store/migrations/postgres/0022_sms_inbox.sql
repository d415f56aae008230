-- The hotline's SMS inbox (issue 5): messages a gateway delivered, each waiting for an
-- agent to take it as a ticket or dismiss it. message_id is the gateway's own id, so a
-- second delivery of one message is recognised.
CREATE TABLE sms_message (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    phone TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at_us BIGINT NOT NULL,
    -- new, ticketed or dismissed.
    status TEXT NOT NULL,
    case_id BIGINT REFERENCES case_record (id),
    handled_by TEXT,
    handled_at_us BIGINT,
    reason TEXT
);
CREATE INDEX sms_message_status ON sms_message (status, received_at_us, id);
