-- Certificate login (issue 3): an account may be bound to a client certificate by its
-- serial number (lower-case hex); staff are also found by the identity number in a
-- certificate's subject.
ALTER TABLE account ADD COLUMN certificate_serial TEXT;
CREATE UNIQUE INDEX account_certificate_serial ON account (certificate_serial) WHERE certificate_serial IS NOT NULL;
CREATE INDEX account_citizen_id ON account (citizen_id) WHERE citizen_id IS NOT NULL;
