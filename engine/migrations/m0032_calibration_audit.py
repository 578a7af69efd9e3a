"""Every refit verdict and every operator override of a refused one, with who, when and the figures.

``action`` is ``accepted`` (better out of fold: made active), ``refused`` (not better: the active
calibrator stays) or ``confirmed`` (refused, then made active by a named operator who saw both
reliability diagrams). Rows are never changed.

No semicolons inside comments or strings below: the migration runner splits on them.
"""

SQL = """
CREATE TABLE calibration_audit (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            REAL    NOT NULL,
    who           TEXT    NOT NULL,
    action        TEXT    NOT NULL CHECK (action IN ('accepted', 'refused', 'confirmed')),
    model_id      TEXT    NOT NULL,
    model_version TEXT    NOT NULL,
    method        TEXT    NOT NULL,
    scheme        TEXT    NOT NULL,
    calibrator_id INTEGER,
    active_before TEXT    NOT NULL DEFAULT '',
    figures       TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX calibration_audit_model ON calibration_audit(model_id, model_version, id);

CREATE TRIGGER calibration_audit_immutable BEFORE UPDATE ON calibration_audit
BEGIN
    SELECT RAISE(ABORT, 'the calibration audit is append-only');
END;
"""
