-- The lookups every visit step makes, by key rather than by scanning a growing table.
CREATE INDEX slips_visit ON slips (visit_id);
CREATE INDEX visits_technician_state ON visits (technician_id, state);
CREATE INDEX customers_telegram ON customers (telegram_id);
