# Analyst notes, and the documents behind the FAISS index (its source of truth: the index
# file can always be rebuilt from these rows; faiss_id is the id stored in the index).
SQL = """
CREATE TABLE analyst_notes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,
    author     TEXT NOT NULL,
    signal_id  INTEGER REFERENCES signals (id),
    text       TEXT NOT NULL CHECK (length(trim(text)) > 0)
);
CREATE TABLE rag_documents (
    faiss_id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind     TEXT NOT NULL CHECK (kind IN ('signal', 'note')),
    ref_id   INTEGER NOT NULL,
    text     TEXT NOT NULL,
    at       REAL NOT NULL,
    label    TEXT,
    UNIQUE (kind, ref_id)
);
"""
