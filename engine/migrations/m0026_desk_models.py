"""Desk-adapted sentiment versions (engine/desklearn): the versions trained here and their audit.

desk_models: one row per version whose folder was completely written and renamed into place
(the row is inserted only after that rename, so a cancelled or crashed training leaves no row).
``evaluation`` holds the latest figures against the version that was active when it was evaluated,
and ``offered`` whether those figures allowed promotion.

desk_model_audit: every training, evaluation, promotion and rollback with who, when and the
figures it was decided on. Rollback follows this log.

No semicolons inside comments or strings below: the migration runner splits on them.
"""

SQL = """
CREATE TABLE desk_models (
    id                 TEXT PRIMARY KEY,  -- model id, e.g. finsent-minilm-l6-desk3
    number             INTEGER NOT NULL UNIQUE,  -- this desk's sequence number
    version            TEXT NOT NULL,  -- e.g. 1.0.0+desk3
    base_model_id      TEXT NOT NULL,
    base_model_version TEXT NOT NULL,
    path               TEXT NOT NULL,  -- the version's folder (manifest.json with the sha256 of every file)
    manifest           TEXT NOT NULL,  -- JSON, as written into the folder
    created_at         REAL NOT NULL,
    created_by         TEXT NOT NULL,
    labels             INTEGER NOT NULL,  -- analyst labels it was trained on
    evaluation         TEXT NOT NULL,  -- JSON: the latest figures and decision
    offered            INTEGER NOT NULL CHECK (offered IN (0, 1))
);

CREATE TABLE desk_model_audit (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    at                 REAL NOT NULL,
    who                TEXT NOT NULL,
    action             TEXT NOT NULL CHECK (action IN ('trained', 'evaluated', 'promoted', 'rolled_back')),
    model_id           TEXT NOT NULL,  -- the desk version acted on
    from_model_id      TEXT,  -- the active sentiment model before the action
    from_model_version TEXT,
    to_model_id        TEXT,  -- the active sentiment model after it
    to_model_version   TEXT,
    figures            TEXT NOT NULL DEFAULT '{}'  -- JSON: what the decision was made on
);
CREATE INDEX desk_model_audit_model ON desk_model_audit(model_id, id)
"""
