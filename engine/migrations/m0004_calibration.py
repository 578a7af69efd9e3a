"""Calibration per model version: fitted calibrators (JSON parameters, never pickle) and outcomes.

No semicolons inside comments or strings below: the migration runner splits on them.
"""

SQL = """
CREATE TABLE calibrators (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id      TEXT    NOT NULL,
    model_version TEXT    NOT NULL,
    method        TEXT    NOT NULL,  -- isotonic | platt | temperature
    scheme        TEXT    NOT NULL,  -- top_label | one_vs_rest | multiclass
    params        TEXT    NOT NULL,  -- JSON: the calibrator as engine.calibration.calibrator_from_dict reads it
    fitted_at     REAL    NOT NULL,
    n             INTEGER NOT NULL,  -- outcomes it was fitted on
    metrics       TEXT    NOT NULL,  -- JSON: before/after figures on data it was not fitted on
    sources       TEXT    NOT NULL DEFAULT '[]'  -- JSON list of outcome sources used
);
CREATE INDEX calibrators_model ON calibrators(model_id, model_version, id);

CREATE TABLE outcomes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    signal_id     INTEGER REFERENCES signals(id) ON DELETE SET NULL,
    text          TEXT,
    label         TEXT CHECK (label IS NULL OR label IN ('bearish', 'bullish', 'neutral')),
    correct       INTEGER NOT NULL CHECK (correct IN (0, 1)),
    source        TEXT    NOT NULL CHECK (source IN ('labelled_file', 'analyst', 'market')),
    created_at    REAL    NOT NULL,
    model_id      TEXT    NOT NULL,
    model_version TEXT    NOT NULL,
    probabilities TEXT    NOT NULL,  -- JSON list, raw, in LABELS order (bearish, bullish, neutral)
    origin        TEXT    NOT NULL DEFAULT '',  -- file path, symbol or analyst
    detail        TEXT    NOT NULL DEFAULT '{}',  -- JSON: line, note, horizon, returns
    CHECK (signal_id IS NOT NULL OR text IS NOT NULL)
);
CREATE INDEX outcomes_model ON outcomes(model_id, model_version, source);
CREATE INDEX outcomes_signal ON outcomes(signal_id);
-- One analyst verdict per signal: a later one replaces it.
CREATE UNIQUE INDEX outcomes_one_analyst_verdict ON outcomes(signal_id) WHERE source = 'analyst'
"""
