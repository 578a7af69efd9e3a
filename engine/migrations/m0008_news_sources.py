"""Live news sources the operator manages (feeds, watched folders, demo replay) and their status.

The conditional-GET validators (etag, last_modified) are saved only after a fetch's items are
committed to the inbox, so a crash in between refetches them and the inbox dedupes.
Files a watched folder has ingested are remembered by path, size and mtime, so a file that
could not be moved away is not ingested twice.

No semicolons inside comments or strings below: the migration runner splits on them.
"""

SQL = """
CREATE TABLE news_sources (
    name            TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('rss', 'folder', 'replay')),
    target          TEXT NOT NULL,  -- URL, folder path or demo file path
    source_kind     TEXT NOT NULL DEFAULT 'news' CHECK (source_kind IN ('news', 'analyst', 'social')),
    interval_s      REAL NOT NULL,
    options         TEXT NOT NULL DEFAULT '{}',  -- JSON, e.g. replay rate
    enabled         INTEGER NOT NULL DEFAULT 1,
    added_at        REAL NOT NULL,
    etag            TEXT,
    last_modified   TEXT,
    last_fetch_at   REAL,
    last_success_at REAL,
    items_total     INTEGER NOT NULL DEFAULT 0,
    duplicates_total INTEGER NOT NULL DEFAULT 0,
    errors_total    INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT ''
);

CREATE TABLE news_folder_files (
    folder      TEXT NOT NULL,
    name        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('ingested', 'refused')),
    items       INTEGER NOT NULL DEFAULT 0,
    detail      TEXT NOT NULL DEFAULT '',
    done_at     REAL NOT NULL,
    PRIMARY KEY (folder, name, size, mtime_ns)
)
"""
