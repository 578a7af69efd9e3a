"""Ideas per asset and horizon, each a chain of immutable revisions (issue 18).

``asset_ideas`` holds one row per idea: a symbol, a horizon and a direction, open until the
evidence fades or reverses, then closed with the reason (never reopened: a later view is a
new idea, ``flipped_from`` links a reversal). Database rules, not only code, keep at most one
idea open per symbol and horizon and never a long and a short open on one symbol.

``ideas`` rows become revisions: each is the immutable snapshot it always was (evidence,
market data, sizing, rationale) plus ``asset_idea_id`` and ``revision`` (1, 2, ...), what
changed since the previous one (``change``) and the key of the evidence it was built from.
Reviewers still approve, reject or edit a revision, audited in ``idea_audit`` as before.
``idea_events`` is the idea's own history: opened, revised, closed, with the reason.

The old ``ideas`` table had UNIQUE (signal_id, symbol) (one idea per headline) and
``idea_audit`` referenced it, so both are rebuilt: renamed, recreated, copied, dropped (SQLite
has no ALTER for a table constraint; foreign keys stay on throughout, and DROP TABLE fires no
triggers). Ideas proposed before this migration keep their rows, decisions and audit with
``asset_idea_id`` NULL: they stay readable and decidable, outside the per-asset book.
"""

SQL = """
CREATE TABLE asset_ideas (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    symbol       TEXT    NOT NULL,
    horizon      TEXT    NOT NULL,  -- the bars it is sized on: hours | days | weeks | months
    direction    TEXT    NOT NULL CHECK (direction IN ('long', 'short')),
    opened_at    REAL    NOT NULL,
    status       TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    closed_at    REAL,
    close_reason TEXT    NOT NULL DEFAULT '',
    flipped_from INTEGER REFERENCES asset_ideas(id),  -- the opposite idea this one reversed
    CHECK ((status = 'open') = (closed_at IS NULL))
);
CREATE UNIQUE INDEX asset_ideas_one_open ON asset_ideas(symbol, horizon) WHERE status = 'open';
CREATE INDEX asset_ideas_symbol ON asset_ideas(symbol, status);

CREATE TRIGGER asset_ideas_never_long_and_short BEFORE INSERT ON asset_ideas
WHEN EXISTS (SELECT 1 FROM asset_ideas WHERE symbol = NEW.symbol AND status = 'open'
             AND direction != NEW.direction)
BEGIN
    SELECT RAISE(ABORT, 'an asset never has a long and a short idea open at once');
END;

CREATE TRIGGER asset_ideas_only_close BEFORE UPDATE ON asset_ideas
WHEN OLD.status = 'closed' OR NEW.status != 'closed' OR NEW.symbol != OLD.symbol
     OR NEW.horizon != OLD.horizon OR NEW.direction != OLD.direction OR NEW.opened_at != OLD.opened_at
     OR NEW.flipped_from IS NOT OLD.flipped_from
BEGIN
    SELECT RAISE(ABORT, 'an open idea can only be closed, once');
END;

CREATE TRIGGER asset_ideas_no_delete BEFORE DELETE ON asset_ideas
BEGIN
    SELECT RAISE(ABORT, 'ideas are never deleted; they are closed');
END;

ALTER TABLE idea_audit RENAME TO idea_audit_m0003;
ALTER TABLE ideas RENAME TO ideas_m0003;

CREATE TABLE ideas (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at      REAL    NOT NULL,
    signal_id       INTEGER NOT NULL,  -- the top-ranked headline (the whole ranked evidence is in the snapshot)
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
    snapshot        TEXT    NOT NULL,  -- canonical JSON of everything the revision was built from
    snapshot_sha256 TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'proposed'
                            CHECK (state IN ('proposed', 'approved', 'rejected')),
    size            REAL    NOT NULL CHECK (size >= 0 AND size <= size_limit),
    updated_at      REAL    NOT NULL,
    raw_confidence  REAL,
    calibrator      TEXT    NOT NULL DEFAULT '',
    asset_idea_id   INTEGER REFERENCES asset_ideas(id),  -- NULL: proposed per headline, before m0020
    revision        INTEGER NOT NULL DEFAULT 1 CHECK (revision >= 1),
    horizon         TEXT    NOT NULL DEFAULT '',
    evidence_key    TEXT    NOT NULL DEFAULT '',  -- sha256 of what the decision depended on
    change          TEXT    NOT NULL DEFAULT '',  -- what changed since the previous revision, and why
    UNIQUE (asset_idea_id, revision)
);

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

INSERT INTO ideas (id, created_at, signal_id, symbol, direction, strategy, regime, confidence, risk_level,
                   risk_score, proposed_size, size_limit, entry, stop_loss, take_profit, snapshot,
                   snapshot_sha256, state, size, updated_at, raw_confidence, calibrator)
SELECT id, created_at, signal_id, symbol, direction, strategy, regime, confidence, risk_level, risk_score,
       proposed_size, size_limit, entry, stop_loss, take_profit, snapshot, snapshot_sha256, state, size,
       updated_at, raw_confidence, calibrator
FROM ideas_m0003 ORDER BY id;

INSERT INTO idea_audit SELECT * FROM idea_audit_m0003 ORDER BY id;

DROP TABLE idea_audit_m0003;
DROP TABLE ideas_m0003;

CREATE INDEX ideas_state ON ideas(state);
CREATE INDEX ideas_symbol ON ideas(symbol);
CREATE INDEX idea_audit_idea ON idea_audit(idea_id);

CREATE TRIGGER ideas_snapshot_immutable
BEFORE UPDATE OF created_at, signal_id, symbol, direction, strategy, regime, confidence,
                 risk_level, risk_score, proposed_size, size_limit, entry, stop_loss,
                 take_profit, snapshot, snapshot_sha256, raw_confidence, calibrator,
                 asset_idea_id, revision, horizon, evidence_key, change ON ideas
BEGIN
    SELECT RAISE(ABORT, 'an idea snapshot is immutable');
END;

CREATE TRIGGER ideas_no_delete BEFORE DELETE ON ideas
BEGIN
    SELECT RAISE(ABORT, 'ideas are never deleted; reject them instead');
END;

CREATE TRIGGER ideas_raw_confidence_required BEFORE INSERT ON ideas
WHEN NEW.raw_confidence IS NULL
BEGIN
    SELECT RAISE(ABORT, 'an idea needs its raw confidence');
END;

CREATE TRIGGER idea_audit_no_update BEFORE UPDATE ON idea_audit
BEGIN
    SELECT RAISE(ABORT, 'idea_audit is append-only');
END;

CREATE TRIGGER idea_audit_no_delete BEFORE DELETE ON idea_audit
BEGIN
    SELECT RAISE(ABORT, 'idea_audit is append-only');
END;

CREATE TABLE idea_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    asset_idea_id INTEGER NOT NULL REFERENCES asset_ideas(id),
    at            REAL    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('opened', 'revised', 'closed')),
    revision_id   INTEGER REFERENCES ideas(id),  -- the revision it produced (NULL for a close)
    reason        TEXT    NOT NULL,
    detail        TEXT    NOT NULL DEFAULT '{}'  -- JSON: net score, headlines, evidence ids at that moment
);
CREATE INDEX idea_events_idea ON idea_events(asset_idea_id);

CREATE TRIGGER idea_events_no_update BEFORE UPDATE ON idea_events
BEGIN
    SELECT RAISE(ABORT, 'idea_events is append-only');
END;

CREATE TRIGGER idea_events_no_delete BEFORE DELETE ON idea_events
BEGIN
    SELECT RAISE(ABORT, 'idea_events is append-only');
END;
"""
