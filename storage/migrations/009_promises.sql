-- SLA-TAKEBACK: the answers given to customers about machines taken back to the station, and
-- ALW-FORFEIT-UNREPORTED: the managers' decision on a visit left open too long.

CREATE TABLE customer_answers (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    answer TEXT NOT NULL,
    recorded_by INTEGER,
    recorded_at TEXT NOT NULL
);
CREATE INDEX customer_answers_ticket ON customer_answers (ticket_id);

CREATE TABLE unreported_decisions (
    visit_id INTEGER PRIMARY KEY REFERENCES visits (id),
    decision TEXT NOT NULL CHECK (decision IN ('confirmed', 'dismissed')),
    decided_by INTEGER,
    decided_at TEXT NOT NULL,
    event_id INTEGER REFERENCES events (id)
);
