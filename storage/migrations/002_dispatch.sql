-- Dispatch: what intake records beyond version 1, and the indexes the queue and timers use.

ALTER TABLE tickets ADD COLUMN brand_name TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN machine_id INTEGER REFERENCES machines (id);
ALTER TABLE tickets ADD COLUMN reopened_from INTEGER REFERENCES tickets (id);
ALTER TABLE tickets ADD COLUMN assign_chat_id INTEGER;
ALTER TABLE tickets ADD COLUMN assign_message_id INTEGER;
ALTER TABLE machines ADD COLUMN brand TEXT NOT NULL DEFAULT '';
CREATE INDEX tickets_customer ON tickets (customer_id);
CREATE INDEX tickets_assigned ON tickets (assigned_to, state);
CREATE INDEX ticket_transitions_ticket ON ticket_transitions (ticket_id);
CREATE INDEX customers_phone ON customers (phone);
CREATE INDEX machines_customer ON machines (customer_id);
CREATE INDEX deadlines_state_due ON deadlines (state, due_at);
