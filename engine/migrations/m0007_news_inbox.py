"""Live news: the inbox (accepted items, persisted before they are acknowledged) and event classes.

An item is acknowledged once its inbox row is committed. Scoring inserts the signal, its event
row and flips the inbox row to done in one transaction, so after a crash every inbox row is
either pending (and resumed) or done with exactly one signal.

No semicolons inside comments or strings below: the migration runner splits on them.
"""

SQL = """
CREATE TABLE news_inbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    content_key  TEXT    NOT NULL UNIQUE,  -- sha256 of guid, link or normalised text (engine/news/items.py)
    source       TEXT    NOT NULL,
    source_kind  TEXT    NOT NULL DEFAULT 'news' CHECK (source_kind IN ('news', 'analyst', 'social')),
    text         TEXT    NOT NULL,
    tickers      TEXT    NOT NULL DEFAULT '[]',  -- JSON list the source named itself
    published_at REAL,
    accepted_at  REAL    NOT NULL,
    guid         TEXT,
    link         TEXT,
    truncated    INTEGER NOT NULL DEFAULT 0,
    state        TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    signal_id    INTEGER REFERENCES signals(id) ON DELETE SET NULL,
    processed_at REAL,
    error        TEXT
);
CREATE INDEX news_inbox_pending ON news_inbox(id) WHERE state = 'pending';
CREATE UNIQUE INDEX news_inbox_signal ON news_inbox(signal_id) WHERE signal_id IS NOT NULL;
-- A row leaves 'pending' once. If two processes resume the same row, the second one's whole
-- scoring transaction (signal included) aborts here, so no item is ever scored twice.
CREATE TRIGGER news_inbox_process_once BEFORE UPDATE OF state ON news_inbox
WHEN OLD.state <> 'pending' AND NEW.state <> 'pending'
BEGIN
    SELECT RAISE(ABORT, 'news inbox row already processed');
END;

CREATE TABLE news_events (
    signal_id   INTEGER PRIMARY KEY REFERENCES signals(id) ON DELETE CASCADE,
    category    TEXT NOT NULL CHECK (category IN ('earnings', 'macro', 'corporate', 'regulatory', 'market', 'crypto', 'other')),
    subcategory TEXT NOT NULL,
    urgency     TEXT NOT NULL CHECK (urgency IN ('low', 'medium', 'high')),
    impact      TEXT NOT NULL CHECK (impact IN ('low', 'medium', 'high')),
    method      TEXT NOT NULL,  -- rules | prototype | combined | none
    confidence  REAL NOT NULL,
    source_kind TEXT NOT NULL DEFAULT 'news',
    event_time  REAL NOT NULL  -- the source's publication time, else when it was accepted
);
CREATE INDEX news_events_category ON news_events(category)
"""
