"""Ideas keep the raw confidence beside the calibrated one they are ranked and sized by.

``confidence`` is now blended from the classifier's calibrated confidence when its model
version has a calibrator; ``raw_confidence`` is the same blend from the raw figure and
``calibrator`` names the calibrator ('' when there was none). Ideas proposed before this
migration were built from the raw confidence, so their raw value is their confidence.
The immutability trigger is recreated to cover the new columns.
"""

SQL = """
ALTER TABLE ideas ADD COLUMN raw_confidence REAL;
ALTER TABLE ideas ADD COLUMN calibrator TEXT NOT NULL DEFAULT '';
UPDATE ideas SET raw_confidence = confidence WHERE raw_confidence IS NULL;

DROP TRIGGER ideas_snapshot_immutable;
CREATE TRIGGER ideas_snapshot_immutable
BEFORE UPDATE OF created_at, signal_id, symbol, direction, strategy, regime, confidence,
                 risk_level, risk_score, proposed_size, size_limit, entry, stop_loss,
                 take_profit, snapshot, snapshot_sha256, raw_confidence, calibrator ON ideas
BEGIN
    SELECT RAISE(ABORT, 'an idea snapshot is immutable');
END;

CREATE TRIGGER ideas_raw_confidence_required BEFORE INSERT ON ideas
WHEN NEW.raw_confidence IS NULL
BEGIN
    SELECT RAISE(ABORT, 'an idea needs its raw confidence');
END;
"""
