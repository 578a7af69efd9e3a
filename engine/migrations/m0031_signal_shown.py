"""The confidence each signal was first shown (and decided) with, kept as it was.

A later calibrator changes the current calibrated view of old signals, never this row: the
confidence a person saw stays what they saw. One row per signal, written in the transaction that
stores the signal (``Store.add_signals``). Signals stored before this migration have no row: the
desk did not keep what they were shown with, and says so.

No semicolons inside comments or strings below: the migration runner splits on them.
"""

SQL = """
CREATE TABLE signal_shown (
    signal_id   INTEGER PRIMARY KEY REFERENCES signals(id) ON DELETE CASCADE,
    label       TEXT    NOT NULL,
    confidence  REAL    NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
    calibrator  TEXT    NOT NULL DEFAULT '',
    shown_at    REAL    NOT NULL
);

CREATE TRIGGER signal_shown_immutable BEFORE UPDATE ON signal_shown
BEGIN
    SELECT RAISE(ABORT, 'the confidence a signal was shown with is never rewritten');
END;
"""
