-- RWD-REVENUE for repairs done at the station: the fee charged and the parts at cost of an item
-- repaired here, and who repaired it (one row per item, changed in place), with every version
-- kept in repair_fee_changes (what a closed month's correction is computed from, and its trace).

CREATE TABLE repair_fees (
    item_id INTEGER PRIMARY KEY REFERENCES repair_items (id),
    technician_id INTEGER NOT NULL REFERENCES people (id),
    fee_fen INTEGER NOT NULL CHECK (fee_fen >= 0),
    parts_fen INTEGER NOT NULL CHECK (parts_fen >= 0),
    recorded_by INTEGER,
    recorded_at TEXT NOT NULL,
    changed_at TEXT NOT NULL
);

CREATE TABLE repair_fee_changes (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES repair_items (id),
    technician_id INTEGER NOT NULL REFERENCES people (id),
    fee_fen INTEGER NOT NULL,
    parts_fen INTEGER NOT NULL,
    by_person INTEGER,
    at TEXT NOT NULL
);
CREATE INDEX repair_fee_changes_item ON repair_fee_changes (item_id);
