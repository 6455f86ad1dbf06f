-- Recording an update as handled removes it from the inbox in the same statement, so a
-- transaction needs one statement (not two) to finish an update.
CREATE TRIGGER handled_update_leaves_inbox AFTER INSERT ON handled_updates
BEGIN
    DELETE FROM inbox WHERE update_id = NEW.update_id;
END;
