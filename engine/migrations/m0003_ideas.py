"""Trade ideas (an immutable snapshot plus a state) and their append-only review audit.

Triggers enforce the rules in the database itself, so no code path (or a hand-run UPDATE)
can rewrite what an idea said when it was proposed, delete an idea, or alter the audit.
"""

SQL = """
CREATE TABLE ideas (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at      REAL    NOT NULL,
    signal_id       INTEGER NOT NULL,  -- the signal that triggered it (all ids are in the snapshot)
    symbol          TEXT    NOT NULL,
    direction       TEXT    NOT NULL CHECK (direction IN ('long', 'short')),
    strategy        TEXT    NOT NULL,
    regime          TEXT    NOT NULL,
    confidence      REAL    NOT NULL,  -- blended, for ranking; sizing uses the classifier's own
    risk_level      TEXT    NOT NULL,
    risk_score      REAL    NOT NULL,
    proposed_size   REAL    NOT NULL CHECK (proposed_size >= 0),
    size_limit      REAL    NOT NULL CHECK (size_limit >= 0),
    entry           REAL    NOT NULL,
    stop_loss       REAL    NOT NULL,
    take_profit     REAL    NOT NULL,
    snapshot        TEXT    NOT NULL,  -- canonical JSON of everything the idea was built from
    snapshot_sha256 TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'proposed'
                            CHECK (state IN ('proposed', 'approved', 'rejected')),
    size            REAL    NOT NULL CHECK (size >= 0 AND size <= size_limit),
    updated_at      REAL    NOT NULL,
    UNIQUE (signal_id, symbol)
);
CREATE INDEX ideas_state ON ideas(state);

CREATE TRIGGER ideas_snapshot_immutable
BEFORE UPDATE OF created_at, signal_id, symbol, direction, strategy, regime, confidence,
                 risk_level, risk_score, proposed_size, size_limit, entry, stop_loss,
                 take_profit, snapshot, snapshot_sha256 ON ideas
BEGIN
    SELECT RAISE(ABORT, 'an idea snapshot is immutable');
END;

CREATE TRIGGER ideas_no_delete BEFORE DELETE ON ideas
BEGIN
    SELECT RAISE(ABORT, 'ideas are never deleted; reject them instead');
END;

CREATE TABLE idea_audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    idea_id     INTEGER NOT NULL REFERENCES ideas(id),
    at          REAL    NOT NULL,
    action      TEXT    NOT NULL CHECK (action IN ('propose', 'approve', 'reject', 'edit_size')),
    from_state  TEXT,
    to_state    TEXT    NOT NULL,
    size_before REAL,
    size_after  REAL    NOT NULL,
    note        TEXT    NOT NULL DEFAULT '',
    actor       TEXT    NOT NULL
);
CREATE INDEX idea_audit_idea ON idea_audit(idea_id);

CREATE TRIGGER idea_audit_no_update BEFORE UPDATE ON idea_audit
BEGIN
    SELECT RAISE(ABORT, 'idea_audit is append-only');
END;

CREATE TRIGGER idea_audit_no_delete BEFORE DELETE ON idea_audit
BEGIN
    SELECT RAISE(ABORT, 'idea_audit is append-only');
END;
"""
