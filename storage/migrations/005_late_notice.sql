-- Who told the customer about a late arrival (DED-LATE): the technician or the bot.

ALTER TABLE visits ADD COLUMN late_told_by TEXT;
