-- FieldBot schema, version 1. Portable SQL (SQLite and PostgreSQL share it).

CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'dispatcher', 'technician')),
    telegram_id INTEGER UNIQUE,
    language TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    on_duty INTEGER NOT NULL DEFAULT 1,
    leave_until TEXT,
    last_lat REAL,
    last_lon REAL,
    last_seen_at TEXT,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX people_technician_name ON people (name) WHERE role = 'technician';

CREATE TABLE invites (
    code TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_by INTEGER REFERENCES people (id),
    used_at TEXT
);

CREATE TABLE bound_chats (
    purpose TEXT PRIMARY KEY,
    chat_id INTEGER NOT NULL,
    bound_by INTEGER NOT NULL,
    bound_at TEXT NOT NULL
);

CREATE TABLE handled_updates (
    update_id INTEGER PRIMARY KEY,
    handled_at TEXT NOT NULL
);

CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    phone TEXT NOT NULL DEFAULT '',
    class TEXT NOT NULL CHECK (class IN ('agent', 'industry', 'network', 'quasi', 'other')),
    kind TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    lat REAL,
    lon REAL,
    brand TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    telegram_id INTEGER,
    created_at TEXT NOT NULL
);

CREATE TABLE machines (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    description TEXT NOT NULL DEFAULT '',
    serial TEXT NOT NULL DEFAULT '',
    purchase_date TEXT,
    warranty_end TEXT
);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    fault TEXT NOT NULL,
    service_type TEXT NOT NULL CHECK (service_type IN ('hardware', 'software')),
    major INTEGER NOT NULL DEFAULT 0,
    brand INTEGER NOT NULL DEFAULT 0,
    tool INTEGER NOT NULL DEFAULT 0,
    repeat INTEGER NOT NULL DEFAULT 0,
    appointment_start TEXT,
    appointment_end TEXT,
    state TEXT NOT NULL,
    pinned INTEGER NOT NULL DEFAULT 0,
    assigned_to INTEGER REFERENCES people (id),
    created_by INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    group_message_id INTEGER
);
CREATE INDEX tickets_state ON tickets (state);

CREATE TABLE ticket_transitions (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    from_state TEXT,
    to_state TEXT NOT NULL,
    by_person INTEGER,
    at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);

CREATE TABLE visits (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER REFERENCES tickets (id),
    technician_id INTEGER NOT NULL REFERENCES people (id),
    check_in_at TEXT,
    check_in_lat REAL,
    check_in_lon REAL,
    check_in_accuracy REAL,
    check_in_distance_m REAL,
    check_in_evidence TEXT,
    check_in_message_id INTEGER,
    offsite INTEGER NOT NULL DEFAULT 0,
    no_dispatch INTEGER NOT NULL DEFAULT 0,
    check_out_at TEXT,
    check_out_lat REAL,
    check_out_lon REAL,
    check_out_distance_m REAL,
    outcome TEXT,
    outcome_reason TEXT NOT NULL DEFAULT '',
    service_type TEXT,
    machine TEXT,
    consult_over INTEGER,
    fee_fen INTEGER NOT NULL DEFAULT 0,
    parts_fen INTEGER NOT NULL DEFAULT 0,
    late_notice_at TEXT,
    late_new_time TEXT,
    state TEXT NOT NULL DEFAULT 'open'
);

CREATE TABLE live_points (
    id INTEGER PRIMARY KEY,
    visit_id INTEGER NOT NULL REFERENCES visits (id),
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    accuracy REAL,
    at TEXT NOT NULL,
    update_id INTEGER UNIQUE
);

CREATE TABLE slips (
    id INTEGER PRIMARY KEY,
    technician_id INTEGER NOT NULL REFERENCES people (id),
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    visit_id INTEGER UNIQUE REFERENCES visits (id),
    customer_class TEXT NOT NULL,
    netcafe INTEGER NOT NULL DEFAULT 0,
    machine TEXT NOT NULL,
    service_type TEXT NOT NULL,
    check_in TEXT NOT NULL,
    check_out TEXT NOT NULL,
    check_out_utc TEXT NOT NULL,
    site_lat REAL NOT NULL,
    site_lon REAL NOT NULL,
    distance_m REAL NOT NULL,
    complete INTEGER NOT NULL,
    satisfaction TEXT,
    revenue_fen INTEGER NOT NULL DEFAULT 0,
    signature_file_id TEXT,
    signature_sha256 TEXT,
    customer_verified INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL DEFAULT 'visit',
    created_at TEXT NOT NULL,
    UNIQUE (technician_id, customer_id, check_in)
);
CREATE INDEX slips_check_out ON slips (check_out_utc);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    technician_id INTEGER REFERENCES people (id),
    rule TEXT NOT NULL,
    day TEXT NOT NULL,
    amount_fen INTEGER,
    note TEXT NOT NULL DEFAULT '',
    slip_id INTEGER REFERENCES slips (id),
    recorded_by INTEGER,
    recorded_at TEXT NOT NULL,
    voided INTEGER NOT NULL DEFAULT 0,
    void_reason TEXT NOT NULL DEFAULT '',
    voided_by INTEGER,
    adjustment_of TEXT,
    source_key TEXT UNIQUE
);
CREATE INDEX events_day ON events (day);

CREATE TABLE contests (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events (id),
    technician_id INTEGER NOT NULL REFERENCES people (id),
    reason TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'open',
    decided_by INTEGER,
    decided_at TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE deadlines (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    ref_id INTEGER NOT NULL,
    due_at TEXT NOT NULL,
    warn_at TEXT,
    state TEXT NOT NULL DEFAULT 'pending',
    warned_at TEXT,
    fired_at TEXT,
    UNIQUE (kind, ref_id)
);

CREATE TABLE closed_months (
    month TEXT PRIMARY KEY,
    closed_at TEXT NOT NULL,
    closed_by INTEGER,
    snapshot TEXT NOT NULL,
    sha256 TEXT NOT NULL
);

CREATE TABLE scheduled_runs (
    name TEXT NOT NULL,
    period TEXT NOT NULL,
    done_at TEXT NOT NULL,
    PRIMARY KEY (name, period)
);
