"""The analyst's watchlist (issue #17): symbols with their own aliases, which also take part in
entity linking (engine/entities/watchlist.py). ``updated_at`` lets a running desk notice a change
made by ``signaldesk watchlist`` in another process."""

SQL = """
CREATE TABLE watchlist (
    symbol     TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    aliases    TEXT NOT NULL DEFAULT '[]',  -- JSON list of names the user added
    added_at   REAL NOT NULL,
    updated_at REAL NOT NULL
);
"""
