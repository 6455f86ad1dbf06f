-- Site visits: the slip's customer confirmations and deep-link token, and check-in evidence.

ALTER TABLE slips ADD COLUMN conduct_shoe_covers INTEGER;
ALTER TABLE slips ADD COLUMN conduct_no_eating INTEGER;
ALTER TABLE slips ADD COLUMN outcome TEXT;
ALTER TABLE slips ADD COLUMN customer_token TEXT;
ALTER TABLE slips ADD COLUMN confirmed_via TEXT;
CREATE UNIQUE INDEX slips_customer_token ON slips (customer_token);
CREATE INDEX slips_signature ON slips (signature_sha256);
ALTER TABLE visits ADD COLUMN live INTEGER NOT NULL DEFAULT 0;
ALTER TABLE visits ADD COLUMN flags TEXT NOT NULL DEFAULT '';
CREATE INDEX visits_ticket ON visits (ticket_id);
