-- The one deadline timer asks for the earliest unsent warning by index, as it does for the
-- earliest breach (deadlines_state_due).
CREATE INDEX deadlines_state_warn ON deadlines (state, warned_at, warn_at);
