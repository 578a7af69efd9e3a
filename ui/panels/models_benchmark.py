"""The Models panel's benchmark run: its progress bar and Cancel, shown while one runs.

One benchmark at a time, on the models feature's benchmark lane; progress and the outcome come
on the feature's ``benchmarkProgress`` / ``benchmarkDone`` feed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget

if TYPE_CHECKING:
    from app.bridge.models import BenchmarkOutcome, BenchmarkProgress, ModelsFeature


def benchmark_summary(model_id: str, result: dict) -> str:
    parts = [f"load {result.get('load_s', 0):.2f} s", f"p50 {result.get('p50_ms', 0):.2f} ms",
             f"p95 {result.get('p95_ms', 0):.2f} ms"]
    if result.get("weighted_f1") is not None:
        parts.append(f"weighted F1 {result['weighted_f1']:.3f}")
    if result.get("tokens_per_s") is not None:
        parts.append(f"{result['tokens_per_s']:.1f} tokens/s")
    return f"{model_id} benchmarked on this machine: " + ", ".join(parts) + "."


class BenchmarkRun(QWidget):
    statusMessage = Signal(str)
    messageRequested = Signal(str, str)  # text, kind: the outcome, for the panel's message line
    finished = Signal()

    def __init__(self, models: ModelsFeature, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._models = models
        self._model_id: str | None = None
        self._cancel_requested = False
        self.progress = QProgressBar()
        self.progress.setObjectName("benchmarkProgress")
        self.progress.setMinimumWidth(320)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelBenchmarkButton")
        self.cancel_button.setToolTip("Stop the benchmark; nothing is saved for a cancelled run")
        self.cancel_button.clicked.connect(self.cancel)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.progress)
        row.addWidget(self.cancel_button)
        self.hide()  # shown while a benchmark runs
        models.benchmarkProgress.connect(self._on_progress)
        models.benchmarkDone.connect(self._on_done)

    @property
    def model_id(self) -> str | None:
        """The model being benchmarked; None when none is."""
        return self._model_id

    def start(self, model_id: str) -> None:
        self._model_id = model_id
        self._cancel_requested = False
        self.progress.setRange(0, 0)  # busy until the first progress report (loading)
        self.progress.setFormat(f"{model_id}: loading…")
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        self.show()
        self._models.run_benchmark(model_id)

    @Slot()
    def cancel(self) -> None:
        if self._model_id is None:
            return
        self._cancel_requested = True
        self._models.cancel_benchmark()
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")

    @Slot(object)
    def _on_progress(self, progress: BenchmarkProgress) -> None:
        if self._model_id is None:
            return
        if self._cancel_requested:
            # The worker clears the cancel flag when it starts a run, so a Cancel pressed before
            # the run began would be lost; saying it again once the run reports fixes that.
            self._models.cancel_benchmark()
        self.progress.setRange(0, max(1, progress.total))
        self.progress.setValue(progress.done)
        self.progress.setFormat(f"{progress.model_id}: {progress.stage} %v / %m")

    @Slot(object)
    def _on_done(self, outcome: BenchmarkOutcome) -> None:
        if self._model_id is None:
            return
        self._model_id = None
        self._cancel_requested = False
        self.hide()
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        if outcome.cancelled:
            self.messageRequested.emit(f"Benchmark of {outcome.model_id} cancelled; nothing was saved.", "info")
            self.statusMessage.emit(f"Benchmark of {outcome.model_id} cancelled")
        elif outcome.error or outcome.result is None:
            self.messageRequested.emit(f"Benchmark of {outcome.model_id} failed: {outcome.error or 'no result'}",
                                       "error")
        else:
            text = benchmark_summary(outcome.model_id, outcome.result)
            self.messageRequested.emit(text, "info")
            self.statusMessage.emit(text)
        self.finished.emit()
        # The run happened off the engine thread, which therefore sent no snapshot: ask for one
        # so the figures (and any change in compatibility they cause) reach the table.
        self._models.refresh()
