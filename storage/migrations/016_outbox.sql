-- Outgoing notices as data: written in the same transaction as the change that causes them,
-- delivered by one worker per channel. A row is pending, then sending (claimed by a worker),
-- then sent (with the message it became) or failed (given up, with the error).
-- `target` names what an edit replaces (e.g. the card of a ticket): a pending row with the same
-- target is overwritten instead of queueing a second edit.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    recipient_kind TEXT NOT NULL,
    recipient_ref TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    actions TEXT NOT NULL,
    target TEXT,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    chat_id INTEGER,
    message_id INTEGER,
    error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX outbox_state ON outbox (channel, state, id);
CREATE INDEX outbox_target ON outbox (target, state);
