"""Market data: OHLCV bars per symbol, and a record of every accepted import."""

SQL = """
CREATE TABLE prices (
    symbol  TEXT    NOT NULL,
    ts      INTEGER NOT NULL,  -- bar open time, unix seconds UTC
    open    REAL    NOT NULL,
    high    REAL    NOT NULL,
    low     REAL    NOT NULL,
    close   REAL    NOT NULL,  -- split/dividend adjusted when the file had an Adj Close column
    volume  REAL,              -- NULL when the file had no volume (e.g. FX quotes)
    PRIMARY KEY (symbol, ts)
) WITHOUT ROWID;

CREATE TABLE price_imports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    symbol      TEXT    NOT NULL,
    source      TEXT    NOT NULL,  -- file name (or 'demo:<name>')
    sha256      TEXT    NOT NULL,  -- of the file's bytes, to tell which file a series came from
    imported_at REAL    NOT NULL,
    rows        INTEGER NOT NULL,
    first_ts    INTEGER NOT NULL,
    last_ts     INTEGER NOT NULL,
    adjusted    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX price_imports_symbol ON price_imports(symbol);
"""
