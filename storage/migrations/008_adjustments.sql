-- ADJ-CLOSED: differences of closed months carried into an open month, line by line; and the
-- shares of an all-staff event (RMA-LOST), fixed when it is recorded.

CREATE TABLE adjustments (
    id INTEGER PRIMARY KEY,
    adjusts TEXT NOT NULL,
    month TEXT NOT NULL,
    technician TEXT NOT NULL,
    rule TEXT NOT NULL,
    ref TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    cause TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX adjustments_month ON adjustments (month);
CREATE INDEX adjustments_adjusts ON adjustments (adjusts);

CREATE TABLE event_shares (
    event_id INTEGER NOT NULL REFERENCES events (id),
    position INTEGER NOT NULL,
    person_id INTEGER NOT NULL REFERENCES people (id),
    name TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    PRIMARY KEY (event_id, position)
);
