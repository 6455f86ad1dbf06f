-- Each technician's part of a closed month's snapshot. A big month is stored as its parts
-- alone (closed_months.snapshot then empty: the parts joined are the snapshot whose sha256
-- counts), written a few at a time before the month is closed, so no single write holds the
-- database for long; and a correction or a technician's own look at a closed month reads only
-- that technician's part. Parts are written under an attempt token; only the attempt named by
-- closed_months.parts_attempt counts, and the others are removed when the month is closed.
CREATE TABLE closed_month_parts (
    month TEXT NOT NULL,
    attempt TEXT NOT NULL,
    position INTEGER NOT NULL,
    technician TEXT NOT NULL,
    statement TEXT NOT NULL,
    PRIMARY KEY (month, attempt, position)
);

CREATE INDEX closed_month_parts_technician ON closed_month_parts (month, attempt, technician);

ALTER TABLE closed_months ADD COLUMN parts_attempt TEXT;

-- One technician's slips of a month (a correction to a closed month, /me) by index, not by
-- scanning the whole station's month.
CREATE INDEX slips_technician_check_out ON slips (technician_id, check_out_utc);
