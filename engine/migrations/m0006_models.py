SQL = """
CREATE TABLE user_models (
    id        TEXT PRIMARY KEY,
    task      TEXT NOT NULL,
    backend   TEXT NOT NULL,
    path      TEXT NOT NULL,
    manifest  TEXT NOT NULL,  -- JSON, sha256 of every file taken when the model was added
    added_at  REAL NOT NULL
);
CREATE TABLE model_benchmarks (
    model_id      TEXT NOT NULL,
    model_version TEXT NOT NULL,
    machine_id    TEXT NOT NULL,
    measured_at   REAL NOT NULL,
    result        TEXT NOT NULL,  -- JSON BenchmarkResult
    PRIMARY KEY (model_id, model_version, machine_id)
);
CREATE TABLE model_choices (
    task       TEXT PRIMARY KEY,
    model_id   TEXT NOT NULL,
    chosen_at  REAL NOT NULL
);
"""
