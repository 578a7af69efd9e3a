SQL = """
CREATE TABLE signals (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at   REAL    NOT NULL,
    source        TEXT    NOT NULL,
    text          TEXT    NOT NULL,
    entities      TEXT    NOT NULL,  -- JSON list of tickers
    label         TEXT    NOT NULL,
    probabilities TEXT    NOT NULL,  -- JSON {label: p}
    confidence    REAL    NOT NULL,
    compound      REAL    NOT NULL,
    model_id      TEXT    NOT NULL,
    model_version TEXT    NOT NULL,
    latency_ms    REAL    NOT NULL,
    truncated     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX signals_received_at ON signals(received_at);
"""
