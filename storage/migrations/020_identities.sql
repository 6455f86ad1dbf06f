-- Identities per channel: who a (channel, external id) is. A person may have a Telegram id
-- today and a WeCom userid later; a customer links a chat through a slip's link. One row may
-- name both a person and a customer (a customer's chat later registered as staff); the
-- person wins. people.telegram_id and customers.telegram_id stay, written together with the
-- 'telegram' row, until the rest of the code reads identities.
CREATE TABLE identities (
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    person_id INTEGER REFERENCES people (id),
    customer_id INTEGER REFERENCES customers (id),
    linked_at TEXT NOT NULL,
    PRIMARY KEY (channel, external_id),
    CHECK (person_id IS NOT NULL OR customer_id IS NOT NULL)
);
CREATE INDEX identities_person ON identities (person_id);
CREATE INDEX identities_customer ON identities (customer_id);

INSERT INTO identities (channel, external_id, person_id, customer_id, linked_at)
SELECT 'telegram', CAST(telegram_id AS TEXT), id, NULL, created_at
FROM people WHERE telegram_id IS NOT NULL;

INSERT INTO identities (channel, external_id, person_id, customer_id, linked_at)
SELECT 'telegram', CAST(c.telegram_id AS TEXT), NULL, MIN(c.id), MIN(c.created_at)
FROM customers c
WHERE c.telegram_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM people p WHERE p.telegram_id = c.telegram_id)
GROUP BY c.telegram_id;

UPDATE identities SET customer_id = (
    SELECT MIN(c.id) FROM customers c WHERE CAST(c.telegram_id AS TEXT) = identities.external_id
)
WHERE channel = 'telegram' AND customer_id IS NULL;
