"""Monitoring history (RSS, CPU, queue depth, throughput, per-model latency and memory).

Long format, one row per (time, metric, key), so per-model series need no schema change.
``resolution`` is the span one row stands for: 0 for a raw sample, 60 for a one-minute mean
made by ``engine.monitoring.MetricsHistory.compact`` from raw rows older than an hour.
"""

SQL = """
CREATE TABLE metric_samples (
    at         REAL    NOT NULL,  -- unix seconds (bucket start for downsampled rows)
    resolution INTEGER NOT NULL DEFAULT 0,
    metric     TEXT    NOT NULL,
    key        TEXT    NOT NULL DEFAULT '',  -- model key for per-model metrics, else empty
    value      REAL    NOT NULL,
    n          INTEGER NOT NULL DEFAULT 1  -- raw samples averaged into this row
);
CREATE INDEX metric_samples_series ON metric_samples(metric, key, at);
CREATE INDEX metric_samples_age ON metric_samples(resolution, at)
"""
