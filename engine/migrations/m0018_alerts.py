"""Alerts raised for watchlist symbols (issue #17, engine/alerts.py): one row per alert, with the
values it was raised on, so the log shows why, and the symbol's last alert time for rate limiting."""

SQL = """
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  REAL    NOT NULL,
    symbol      TEXT    NOT NULL,
    signal_id   INTEGER REFERENCES signals(id) ON DELETE SET NULL,
    label       TEXT    NOT NULL,
    confidence  REAL    NOT NULL,  -- the calibrated confidence it was raised on
    impact      TEXT    NOT NULL,
    category    TEXT    NOT NULL,
    headline    TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    seen        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX alerts_symbol_time ON alerts(symbol, created_at);
CREATE INDEX alerts_time ON alerts(created_at);
"""
