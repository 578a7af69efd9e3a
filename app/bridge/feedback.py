"""Analyst verdicts on stored signals (right, wrong, or the right label): calibration outcomes.

A verdict is recorded at once on the engine lane; a refit it makes due runs on the calibration
lane (``CalibrationFeature.refit_if_due``). Push feed: ``verdicts`` (the stored marks, sent at
start so the tables show them after a restart) and ``recorded`` (every verdict stored, whoever
gave it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import Signal

from app.bridge.calibration import CalibrationFeature
from app.bridge.feature import Feature
from app.bridge.host import EngineHost
from app.bridge.operations import OpContext
from engine.users import current_user

log = logging.getLogger(__name__)

__all__ = ["FeedbackFeature", "FeedbackResult"]


@dataclass(frozen=True)
class FeedbackResult:
    signal_id: int
    right: bool | None
    label: str | None
    correct: bool  # what was recorded: was the model right
    outcomes: int  # outcomes now stored for the signal's model version
    explanation: str  # the refit policy after this verdict
    refit_started: bool


class FeedbackFeature(Feature):
    verdicts = Signal(object)  # dict[signal_id, (correct, label or None)]: stored analyst verdicts
    recorded = Signal(object)  # FeedbackResult

    def __init__(self, host: EngineHost, calibration: CalibrationFeature) -> None:
        super().__init__(host)
        self._calibration = calibration
        host.on_start(self._send_verdicts)

    def _send_verdicts(self, engine) -> None:
        """Earlier analyst verdicts, so marks survive a restart (a convenience: tables work without them)."""
        cal = engine.calibration
        if cal is None:
            return
        try:
            verdicts = {}
            for mid, ver, source in cal.repo.outcome_counts():
                if source != "analyst":
                    continue
                for o in cal.repo.outcomes(mid, ver, ["analyst"]):
                    if o.signal_id is not None:
                        verdicts[o.signal_id] = (o.correct, o.label)
        except Exception:
            log.exception("reading analyst verdicts failed")
            return
        if verdicts:
            self.verdicts.emit(verdicts)

    def record(self, signal_id: int, on_recorded: Callable[[FeedbackResult], None],
               on_refused: Callable[[str], None], *, right: bool | None = None, label: str | None = None,
               note: str = "") -> None:
        """Mark a stored signal right or wrong, or give its right label (exactly one of the two)."""
        def run(ctx: OpContext) -> FeedbackResult:
            cal = ctx.engine.calibration
            analyst = current_user()
            outcome = cal.record_feedback(int(signal_id), right=right, label=label, analyst=analyst, note=note,
                                          refit=False)
            status = cal.status(outcome.model_id, outcome.model_version)
            log.info("feedback on signal #%d by %s: %s", signal_id, analyst,
                     label if label is not None else ("right" if right else "wrong"))
            if status.refit_due:
                self._calibration.refit_if_due(outcome.model_id, outcome.model_version)
            return FeedbackResult(int(signal_id), right, label, outcome.correct, status.outcomes,
                                  status.explanation, status.refit_due)

        def recorded(result: FeedbackResult) -> None:
            on_recorded(result)
            self.recorded.emit(result)
            self._calibration.outcomesChanged.emit()

        # KeyError / ValueError: unknown signal or label, both or neither given; nothing was recorded.
        self.op("Recording feedback", run, expected=(KeyError, ValueError)).on_success(recorded) \
            .on_failure(on_refused).run()
