-- The repair desk (RULES.md sections 7 and 10): items taken in and their vouchers (RMA-VOUCHER),
-- their transitions (bot/repairs.py), explanations (RMA-10DAY, RMA-AGENT), spare units and loans
-- (SLA-SPARE), and the complaint register (CMP-REGISTER).

CREATE TABLE repair_items (
    id INTEGER PRIMARY KEY,
    voucher_no TEXT UNIQUE,
    token TEXT NOT NULL UNIQUE,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    ticket_id INTEGER REFERENCES tickets (id),
    item_kind TEXT NOT NULL DEFAULT 'machine',
    product TEXT NOT NULL,
    specification TEXT NOT NULL DEFAULT '',
    serial TEXT NOT NULL DEFAULT '',
    purchase_date TEXT,
    fault TEXT NOT NULL,
    accessories TEXT NOT NULL DEFAULT '',
    packaging TEXT NOT NULL CHECK (packaging IN ('complete', 'partial', 'none')),
    inside_region INTEGER NOT NULL DEFAULT 1,
    taken_in_by INTEGER REFERENCES people (id),
    taken_in_at TEXT NOT NULL,
    holder_id INTEGER REFERENCES people (id),
    state TEXT NOT NULL,
    expected_back TEXT,
    answer TEXT NOT NULL DEFAULT '',
    answered_at TEXT,
    sent_up_at TEXT,
    sent_by INTEGER REFERENCES people (id),
    shipment TEXT NOT NULL DEFAULT '',
    accessories_sent TEXT NOT NULL DEFAULT '',
    upstream_confirmed_at TEXT,
    back_at TEXT,
    outcome TEXT,
    signoff TEXT,
    signature_file_id TEXT,
    return_shipment TEXT NOT NULL DEFAULT '',
    explained_at TEXT,
    spare_settled_at TEXT,
    spare_declined_reason TEXT NOT NULL DEFAULT '',
    finished_at TEXT,
    warranty_in INTEGER,
    warranty_note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- The returns board: open items (finished_at IS NULL) oldest first, a page at a time.
CREATE INDEX repair_items_open ON repair_items (finished_at, taken_in_at, id);
CREATE INDEX repair_items_customer ON repair_items (customer_id);
CREATE INDEX repair_items_ticket ON repair_items (ticket_id);

CREATE TABLE repair_photos (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES repair_items (id),
    file_id TEXT NOT NULL,
    added_by INTEGER REFERENCES people (id),
    added_at TEXT NOT NULL
);
CREATE INDEX repair_photos_item ON repair_photos (item_id);

CREATE TABLE repair_transitions (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES repair_items (id),
    event TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    by_person INTEGER,
    role TEXT NOT NULL,
    at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX repair_transitions_item ON repair_transitions (item_id);

CREATE TABLE repair_explanations (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES repair_items (id),
    reason TEXT NOT NULL,
    new_date TEXT NOT NULL,
    customer_told INTEGER NOT NULL,
    by_person INTEGER,
    at TEXT NOT NULL
);
CREATE INDEX repair_explanations_item ON repair_explanations (item_id);

CREATE TABLE spare_units (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'machine',
    serial TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);

CREATE TABLE spare_loans (
    id INTEGER PRIMARY KEY,
    spare_id INTEGER NOT NULL REFERENCES spare_units (id),
    item_id INTEGER REFERENCES repair_items (id),
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    receipt_file_id TEXT NOT NULL,
    lent_by INTEGER REFERENCES people (id),
    lent_at TEXT NOT NULL,
    returned_at TEXT,
    returned_by INTEGER REFERENCES people (id),
    note TEXT NOT NULL DEFAULT ''
);
-- A spare is lent to one customer at a time.
CREATE UNIQUE INDEX spare_loans_one_open ON spare_loans (spare_id) WHERE returned_at IS NULL;
CREATE INDEX spare_loans_item ON spare_loans (item_id);

CREATE TABLE complaints (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    item_id INTEGER REFERENCES repair_items (id),
    ticket_id INTEGER REFERENCES tickets (id),
    content TEXT NOT NULL,
    class TEXT NOT NULL,
    technician_id INTEGER REFERENCES people (id),
    registered_by INTEGER,
    registered_at TEXT NOT NULL,
    acknowledged_at TEXT,
    acknowledged_by INTEGER,
    verified_at TEXT,
    verified_by INTEGER,
    verification TEXT NOT NULL DEFAULT '',
    decided_at TEXT,
    decided_by INTEGER,
    result TEXT CHECK (result IN ('upheld', 'rejected')),
    result_note TEXT NOT NULL DEFAULT '',
    event_id INTEGER REFERENCES events (id)
);
CREATE INDEX complaints_open ON complaints (decided_at, registered_at);
CREATE INDEX complaints_technician ON complaints (technician_id);
