-- The customer's side of the repair desk: complaints a linked customer files in their own chat
-- (CMP-REGISTER), and warranty overrides on tickets (WTY-CHECK), each with who and when. The
-- newest override of a ticket is its verdict; older ones stay as its history.
ALTER TABLE complaints ADD COLUMN by_customer INTEGER NOT NULL DEFAULT 0;
CREATE INDEX complaints_customer ON complaints (customer_id, decided_at);

CREATE TABLE ticket_warranty (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    in_warranty INTEGER NOT NULL CHECK (in_warranty IN (0, 1)),
    note TEXT NOT NULL,
    by_person INTEGER REFERENCES people (id),
    at TEXT NOT NULL
);
CREATE INDEX ticket_warranty_ticket ON ticket_warranty (ticket_id, id);
