# The reasoning audit (append-only, like idea_audit) and explanations stored with their signal.
SQL = """
CREATE TABLE reasoning_audit (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at        REAL NOT NULL,
    signal_id         INTEGER,          -- signals.id when the item was stored, else NULL
    mode              TEXT NOT NULL CHECK (mode IN ('plain', 'chain')),
    model_id          TEXT NOT NULL,    -- generator that was asked ('' if none was)
    model_version     TEXT NOT NULL,
    status            TEXT NOT NULL,    -- ok | ok_after_retry | fallback_<reason>
    fallback_used     INTEGER NOT NULL CHECK (fallback_used IN (0, 1)),
    attempts          INTEGER NOT NULL,
    prompt            TEXT NOT NULL,    -- JSON: the chat messages sent
    response_schema   TEXT NOT NULL,    -- JSON: the schema the decoder was constrained by
    retrieved         TEXT NOT NULL,    -- JSON: [{id, score}] offered to the model
    raw_output        TEXT NOT NULL,    -- JSON: one raw model text per attempt
    errors            TEXT NOT NULL,    -- JSON: why each failed attempt was refused
    parsed_output     TEXT NOT NULL,    -- JSON: {signal, chain, cited} as returned to the caller
    latency_ms        REAL NOT NULL,
    first_token_ms    REAL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL
);
CREATE INDEX reasoning_audit_by_signal ON reasoning_audit (signal_id);
CREATE TRIGGER reasoning_audit_no_update BEFORE UPDATE ON reasoning_audit
BEGIN
    SELECT RAISE(ABORT, 'reasoning_audit is append-only');
END;
CREATE TRIGGER reasoning_audit_no_delete BEFORE DELETE ON reasoning_audit
BEGIN
    SELECT RAISE(ABORT, 'reasoning_audit is append-only');
END;
CREATE TABLE signal_reasoning (
    signal_id     INTEGER NOT NULL REFERENCES signals (id),
    audit_id      INTEGER NOT NULL REFERENCES reasoning_audit (id),
    created_at    REAL NOT NULL,
    mode          TEXT NOT NULL,
    signal_json   TEXT NOT NULL,        -- the J6 signal
    chain_json    TEXT NOT NULL,        -- the five steps, [] in plain mode
    cited_json    TEXT NOT NULL,
    fallback_used INTEGER NOT NULL,
    PRIMARY KEY (signal_id, audit_id)
);
"""
