-- Evidence flags on visits, the check-out's grade, track purging, customer erasure, the audit log.

ALTER TABLE visits ADD COLUMN check_out_accuracy REAL;
ALTER TABLE visits ADD COLUMN check_out_evidence TEXT;
ALTER TABLE visits ADD COLUMN track_purged_at TEXT;
ALTER TABLE visits ADD COLUMN live_until TEXT;

CREATE TABLE visit_flags (
    id INTEGER PRIMARY KEY,
    visit_id INTEGER NOT NULL REFERENCES visits (id),
    stage TEXT NOT NULL CHECK (stage IN ('in', 'out')),
    code TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at TEXT NOT NULL,
    resolution TEXT CHECK (resolution IN ('accepted', 'penalized')),
    resolved_by INTEGER,
    resolved_at TEXT,
    UNIQUE (visit_id, stage, code)
);
CREATE INDEX visit_flags_created ON visit_flags (created_at);

ALTER TABLE customers ADD COLUMN forgotten_at TEXT;
ALTER TABLE customers ADD COLUMN language TEXT;

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
