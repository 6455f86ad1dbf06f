-- Updates the bot gave up on: Telegram's JSON as it arrived, and why. A dead letter is also
-- recorded in handled_updates (so a re-delivery is skipped) and leaves the inbox.
CREATE TABLE dead_letters (
    update_id INTEGER PRIMARY KEY,
    payload TEXT NOT NULL,
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
