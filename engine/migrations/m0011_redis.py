"""Redis scale-out bookkeeping (engine/redisbus).

redis_state: small named values: this desk's origin id, the publisher's cursor (the last signal id
published to a given Redis) and the subscriber's last-read results entry id. Each is updated in
the same transaction as the work it records, so a restart resumes exactly where it stopped.

redis_remote_signals: signals that arrived from workers through the results stream, one row per
news entry, so a redelivered result is recognised and stored once. The desk's publisher skips
these signals: the worker that scored them has already published them.

No semicolons inside comments or strings below: the migration runner splits on them.
"""

SQL = """
CREATE TABLE redis_state (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at REAL NOT NULL
);

CREATE TABLE redis_remote_signals (
    news_stream TEXT    NOT NULL,
    news_id     TEXT    NOT NULL,  -- the news stream entry id the worker scored
    result_id   TEXT    NOT NULL,  -- the results stream entry id it arrived as
    worker      TEXT    NOT NULL,
    signal_id   INTEGER NOT NULL UNIQUE REFERENCES signals(id) ON DELETE CASCADE,
    stored_at   REAL    NOT NULL,
    PRIMARY KEY (news_stream, news_id)
)
"""
