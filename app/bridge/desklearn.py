"""The desk learns from its analysts: labels, desk-adapted versions, promotion and rollback.

Training and label files run on the ``training`` lane (a minute of fitting must never queue
scoring, refits or benchmarks behind it), promotion and rollback on the engine lane (they switch
the model that scores). One training at a time; ``cancel_training`` stops it within a batch and
nothing is written. Push feed: ``overview`` (the versions side by side with their figures, which
one is active and why, the label counts: after start and after every change), ``trainProgress``
(``engine.desklearn.service.TrainProgress``: stage, done, total, ``fraction``), ``trained``
(``TrainOutcome``), ``changed`` (a promotion or rollback happened: model views should re-read).
Each call also takes its own success/failure callbacks for the widget that asked.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Signal

from app.bridge.feature import Feature
from app.bridge.host import EngineHost
from app.bridge.operations import OpContext, Operation, Refused
from engine.users import current_user

__all__ = ["DeskLearningFeature", "TrainOutcome"]


@dataclass(frozen=True)
class TrainOutcome:
    version: Any  # engine.desklearn.service.DeskVersionView, None when it did not finish
    evaluation: dict | None
    seconds: dict
    cancelled: bool
    error: str


def _expected():
    from engine.desklearn.errors import DeskLearningError
    from engine.desklearn.labels import LabelImportError

    return (DeskLearningError, LabelImportError, OSError)


class DeskLearningFeature(Feature):
    overview = Signal(object)  # engine.desklearn.service.DeskOverview
    trainProgress = Signal(object)  # TrainProgress
    trained = Signal(object)  # TrainOutcome
    changed = Signal(str)  # a promotion or rollback: what now serves, in words

    def __init__(self, host: EngineHost) -> None:
        super().__init__(host)
        self._training: Operation | None = None
        self._lock = threading.Lock()
        host.on_start(lambda engine: self.refresh())

    def refresh(self) -> None:
        """Re-read the overview (also after analyst verdicts: the label counts change)."""
        self.op("Reading the desk versions", lambda ctx: ctx.engine.desk.overview(), expected=_expected()) \
            .on_success(self.overview.emit).run()

    # --- training ------------------------------------------------------------------------------
    def train(self, base: str = "") -> Operation | None:
        """Train a desk version on every analyst label; None when one is being trained already."""
        with self._lock:
            if self._training is not None and not self._training.done:
                self.trained.emit(TrainOutcome(None, None, {}, False, "a desk version is being trained already"))
                return None

            def run(ctx: OpContext) -> TrainOutcome:
                from engine.desklearn.errors import Cancelled

                try:
                    result = ctx.engine.desk.train(who=current_user(), base=base or None, progress=ctx.progress,
                                                   cancel=ctx.cancelled)
                except Cancelled:
                    return TrainOutcome(None, None, {}, True, "")
                return TrainOutcome(result.version, result.evaluation, result.seconds, False, "")

            def done(outcome: TrainOutcome) -> None:
                self.trained.emit(outcome)
                self.refresh()

            op = self.op("Training a desk version", run, lane="training", expected=_expected())
            op.on_progress(self.trainProgress.emit).on_success(done) \
                .on_failure(lambda message: done(TrainOutcome(None, None, {}, False, message)))
            self._training = op
            return op.run()

    def cancel_training(self) -> None:
        if self._training is not None:
            self._training.cancel()

    # --- promotion and rollback ----------------------------------------------------------------
    def _switch(self, name: str, action: Callable[[Any], str], on_done: Callable[[str], None] | None,
                on_refused: Callable[[str], None] | None) -> Operation:
        def finished(message: str) -> None:
            self.changed.emit(message)
            self.refresh()
            if on_done:
                on_done(message)

        # The engine lane: scoring switches between two batches, never in the middle of one.
        return self.op(name, lambda ctx: action(ctx.engine), expected=_expected()).on_success(finished) \
            .on_failure(on_refused or (lambda message: None)).run()

    def promote(self, model_id: str, on_done: Callable[[str], None] | None = None,
                on_refused: Callable[[str], None] | None = None) -> Operation:
        def act(engine) -> str:
            view = engine.desk.promote(model_id, who=current_user())
            return f"{view.id} ({view.version}) serves now: {view.summary}"

        return self._switch("Promoting a desk version", act, on_done, on_refused)

    def rollback(self, on_done: Callable[[str], None] | None = None,
                 on_refused: Callable[[str], None] | None = None) -> Operation:
        def act(engine) -> str:
            model_id, version = engine.desk.rollback(who=current_user())
            return f"rolled back: {model_id} ({version}) serves again"

        return self._switch("Rolling back a promotion", act, on_done, on_refused)

    def evaluate(self, model_id: str, on_done: Callable[[dict], None],
                 on_failure: Callable[[str], None]) -> Operation:
        """Take a version's figures again, against the active model, on today's labels (training lane)."""
        def run(ctx: OpContext) -> dict:
            return ctx.engine.desk.evaluate(model_id, who=current_user(), progress=ctx.progress, cancel=ctx.cancelled)

        def done(evaluation: dict) -> None:
            on_done(evaluation)
            self.refresh()

        return self.op("Evaluating a desk version", run, lane="training", expected=_expected()) \
            .on_progress(self.trainProgress.emit).on_success(done).on_failure(on_failure).run()

    # --- labels --------------------------------------------------------------------------------
    def import_labels(self, path: str | Path, on_done: Callable[[Any], None], on_failure: Callable[[str], None],
                      on_progress: Callable[[tuple[int, int]], None] | None = None) -> Operation:
        """Import a labelled CSV as the current user's analyst labels (``ImportReport`` on success)."""
        def run(ctx: OpContext):
            from engine.desklearn.errors import Cancelled

            try:
                return ctx.engine.desk.import_labels(Path(path), current_user(), cancel=ctx.cancelled,
                                                     progress=lambda done, total: ctx.progress((done, total)))
            except Cancelled as exc:
                raise Refused(str(exc)) from exc

        def done(report) -> None:
            on_done(report)
            self.refresh()

        op = self.op("Importing analyst labels", run, lane="training", expected=_expected())
        if on_progress is not None:
            op.on_progress(on_progress)
        return op.on_success(done).on_failure(on_failure).run()

    def export_labels(self, path: str | Path, on_done: Callable[[int], None],
                      on_failure: Callable[[str], None]) -> Operation:
        return self.op("Exporting analyst labels", lambda ctx: ctx.engine.desk.export_labels(Path(path)),
                       expected=_expected()).on_success(on_done).on_failure(on_failure).run()

