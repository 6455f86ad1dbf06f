-- Updates fetched from Telegram but not yet handled: stored before they are confirmed.

CREATE TABLE inbox (
    update_id INTEGER PRIMARY KEY,
    payload TEXT NOT NULL,
    received_at TEXT NOT NULL
);
