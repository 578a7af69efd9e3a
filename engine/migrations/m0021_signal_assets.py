"""Which assets each signal names, indexed by asset and time (issue 18).

Ideas gather the evidence on one asset over a window (e.g. the last 72 hours); reading every
signal of the window and parsing its ``entities`` JSON per asset and per batch would grow
with the whole news flow. A trigger fills this table from every stored signal, whoever
stores it (paste, pipeline, Redis results), and the existing signals are filled in here.
Entities that are not JSON arrays of text are ignored: the signal itself is still stored.
"""

SQL = """
CREATE TABLE signal_assets (
    asset       TEXT    NOT NULL,  -- upper case, no leading '$'
    received_at REAL    NOT NULL,
    signal_id   INTEGER NOT NULL REFERENCES signals(id) ON DELETE CASCADE,
    PRIMARY KEY (asset, received_at, signal_id)
) WITHOUT ROWID;
CREATE INDEX signal_assets_signal ON signal_assets(signal_id);

CREATE TRIGGER signals_fill_assets AFTER INSERT ON signals
BEGIN
    INSERT OR IGNORE INTO signal_assets (asset, received_at, signal_id)
    SELECT DISTINCT ltrim(upper(trim(value)), '$'), NEW.received_at, NEW.id
    FROM json_each(CASE WHEN json_valid(NEW.entities) AND json_type(NEW.entities) = 'array'
                        THEN NEW.entities ELSE '[]' END)
    WHERE type = 'text' AND length(ltrim(trim(value), '$')) BETWEEN 1 AND 40;
END;

INSERT OR IGNORE INTO signal_assets (asset, received_at, signal_id)
SELECT DISTINCT ltrim(upper(trim(j.value)), '$'), s.received_at, s.id
FROM signals s, json_each(CASE WHEN json_valid(s.entities) AND json_type(s.entities) = 'array'
                               THEN s.entities ELSE '[]' END) j
WHERE j.type = 'text' AND length(ltrim(trim(j.value), '$')) BETWEEN 1 AND 40;
"""
