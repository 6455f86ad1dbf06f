-- Guided forms in progress: one current form per (channel, chat, person), so a restart at any
-- step resumes it. chat and person are the channel's own ids, as text (Telegram's are numbers,
-- other channels' are not). data is the form's answers so far, as JSON; token identifies this
-- opening of the form, so a button of an older form is recognised as stale.
CREATE TABLE forms (
    channel TEXT NOT NULL,
    chat TEXT NOT NULL,
    person TEXT NOT NULL,
    kind TEXT NOT NULL,
    step TEXT NOT NULL,
    token TEXT NOT NULL,
    data TEXT NOT NULL,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (channel, chat, person)
);
