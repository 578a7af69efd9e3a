"""Calibration panel: how far the model's confidence can be trusted, per model version.

Reliability diagrams before and after the active calibrator, ECE / MCE / Brier, outcomes per
source, a method choice with Refit, and "Evaluate on labelled file…" with progress and
cancel. Every action goes through the calibration feature (app/bridge/calibration.py) and returns
at once; labelled files and refits run on the calibration lane, so news scoring never waits for them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, Qt, Signal, Slot
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from engine.wording import plural
from ui.widgets.files import start_folder
from ui.widgets.banner import Banner
from ui.panels.calibration_compare import RefusedFitComparison
from ui.panels.calibration_metrics import CalibrationMetricsTable
from ui.widgets.reliability import ACC_COLOR, GAP_COLOR, ReliabilityView, overlap_color

if TYPE_CHECKING:
    from app.bridge.calibration import (
        CalibrationFeature,
        CalibrationOverview,
        CalibrationReportView,
        LabelledProgress,
        LabelledSummary,
        RefitOutcome,
    )

METHODS = (("auto", "Auto (lowest cross-validated ECE)"), ("isotonic", "Isotonic"), ("platt", "Platt (logistic)"),
           ("temperature", "Temperature scaling"))
SCHEMES = (("top_label", "Top label"), ("one_vs_rest", "One vs rest"))
SOURCE_NAMES = {"labelled_file": "Labelled files", "analyst": "Analyst feedback", "market": "Market outcomes"}
def _key(choices: tuple[tuple[str, str], ...], index: int) -> str | None:
    # By index, not QComboBox.currentData(): under PySide6 6.12 every currentData()/itemData()
    # that returns None (no selection, index -1) drops a reference to None, and enough of them
    # crash the interpreter ("deallocating None").
    return choices[index][0] if 0 <= index < len(choices) else None


class CalibrationPanel(QWidget):
    statusMessage = Signal(str)

    def __init__(self, calibration: CalibrationFeature, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("calibrationPanel")
        self._calibration = calibration
        self.overview: CalibrationOverview | None = None
        self.report: CalibrationReportView | None = None
        self._evaluating = None  # the labelled file being scored (its operation)
        self._reports = calibration.latest()  # only the newest report's answer is shown
        self._refitting = False
        self._stale = False  # new outcomes arrived while hidden: refresh when shown
        self._want: tuple[str, str] | None = None  # model version to select when the overview arrives
        self._versions: list[tuple[str, str]] = []  # the model combo's entries, in order
        self._last_dir = ""  # the folder of the last labelled file

        layout = QVBoxLayout(self)
        layout.addLayout(self._build_selection())
        layout.addLayout(self._build_actions())
        self.status = QLabel("waiting for the engine…")
        self.status.setObjectName("calibrationStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        self.message = Banner("calibrationMessage")
        layout.addWidget(self.message)
        self.diagrams = QWidget()
        diagrams = QHBoxLayout(self.diagrams)
        diagrams.setContentsMargins(0, 0, 0, 0)
        self.before_view = ReliabilityView("reliabilityBefore", "Before: raw confidence")
        self.after_view = ReliabilityView("reliabilityAfter", "After: no calibrator yet")
        diagrams.addWidget(self.before_view)
        diagrams.addWidget(self.after_view)
        layout.addWidget(self.diagrams, 1)
        # A refused refit, side by side with the active view; takes the diagrams' place while shown.
        self.comparison = RefusedFitComparison()
        self.comparison.confirmRequested.connect(self.confirm_refused_fit)
        self.comparison.dismissed.connect(self._on_comparison_dismissed)
        layout.addWidget(self.comparison, 1)
        self._dismissed = None  # the refused verdict the operator chose to keep the active view over
        key = QLabel(f"<span style='color:{ACC_COLOR}'>■</span> accuracy of the outcomes in each confidence bin  "
                     f"<span style='color:{GAP_COLOR}'>■</span> gap where confidence is above accuracy "
                     f"(overconfident)  <span style='color:{overlap_color(self.palette().color(QPalette.ColorRole.Base)).name()}'>■</span> "
                     "gap inside the bar: accuracy above confidence (underconfident)  "
                     "╌ perfect calibration  ·  below: outcomes per bin")
        key.setObjectName("reliabilityKey")
        key.setWordWrap(True)  # a legend, not a minimum width for the whole window
        self.key = key
        layout.addWidget(key)
        layout.addWidget(self._build_metrics())

        calibration.ready.connect(self._on_ready)
        calibration.refitted.connect(self._on_refitted)
        calibration.outcomesChanged.connect(self._on_new_outcomes)
        calibration.failed.connect(self._on_failed)
        self._update_actions()
        if calibration.info is not None:  # the engine started before this panel was built
            self.refresh()

    # -- construction -------------------------------------------------------------------
    def _build_selection(self) -> QHBoxLayout:
        self.model_combo = QComboBox()
        self.model_combo.setObjectName("calibrationModel")
        self.model_combo.setToolTip("A calibrator belongs to one model version; other versions show raw confidence")
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.model_combo.currentIndexChanged.connect(self._on_selection_changed)
        row = QHBoxLayout()
        row.addWidget(QLabel("Model version:"))
        row.addWidget(self.model_combo)
        row.addSpacing(12)
        row.addWidget(QLabel("Outcomes from:"))
        self.source_checks: dict[str, QCheckBox] = {}
        for source, name in SOURCE_NAMES.items():
            box = QCheckBox(name)
            box.setObjectName(f"source_{source}")
            box.setChecked(True)
            box.toggled.connect(self._on_selection_changed)
            self.source_checks[source] = box
            row.addWidget(box)
        row.addStretch(1)
        return row

    def _build_actions(self) -> QHBoxLayout:
        self.method_combo = QComboBox()
        self.method_combo.setObjectName("calibrationMethod")
        for key, text in METHODS:
            self.method_combo.addItem(text, key)  # data for findData(); read back by index (see _key)
        self.method_combo.setToolTip("Auto tries isotonic, Platt and temperature scaling and keeps the one with "
                                     "the lowest 5-fold out-of-fold ECE on the outcomes")
        self.method_combo.currentIndexChanged.connect(self._update_actions)
        self.scheme_combo = QComboBox()
        self.scheme_combo.setObjectName("calibrationScheme")
        for key, text in SCHEMES:
            self.scheme_combo.addItem(text, key)
        self.scheme_combo.setToolTip("Top label: one map from confidence to P(correct); never changes the label and "
                                     "also learns from bare right/wrong verdicts. One vs rest: a map per class. "
                                     "Auto chooses the scheme too; temperature scaling is multi-class only.")
        self._scheme_index = 0
        self.refit_button = QPushButton("Refit")
        self.refit_button.setObjectName("refitButton")
        self.refit_button.clicked.connect(self.refit)
        self.evaluate_button = QPushButton("Evaluate on labelled file…")
        self.evaluate_button.setObjectName("evaluateLabelledButton")
        self.evaluate_button.setToolTip("Score a CSV with 'text' and 'label' columns (bullish/bearish/neutral, "
                                        "positive/negative/neutral, or TFNS codes 0/1/2) with the serving model")
        self.evaluate_button.clicked.connect(self.choose_labelled_file)
        self.record_check = QCheckBox("Record as outcomes")
        self.record_check.setObjectName("recordOutcomes")
        self.record_check.setChecked(True)
        self.record_check.setToolTip("Store the file's rows as outcomes of the serving model version (re-evaluating "
                                     "the same file replaces its rows) and refit when the policy says so. "
                                     "Untick to only measure.")
        self.progress = QProgressBar()
        self.progress.setObjectName("labelledProgress")
        self.progress.setFormat("%v / %m rows")
        self.progress.setMinimumWidth(220)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelLabelledButton")
        self.cancel_button.setToolTip("Stop after the current batch; nothing is recorded for a cancelled run")
        self.cancel_button.clicked.connect(self.cancel_evaluation)
        self.cancel_button.hide()
        row = QHBoxLayout()
        row.addWidget(QLabel("Method:"))
        row.addWidget(self.method_combo)
        row.addWidget(QLabel("Scheme:"))
        row.addWidget(self.scheme_combo)
        row.addWidget(self.refit_button)
        row.addSpacing(16)
        row.addWidget(self.evaluate_button)
        row.addWidget(self.record_check)
        row.addWidget(self.progress)
        row.addWidget(self.cancel_button)
        row.addStretch(1)
        return row

    def _build_metrics(self) -> QTableWidget:
        self.metrics_table = CalibrationMetricsTable()
        return self.metrics_table

    # -- state --------------------------------------------------------------------------
    def selected(self) -> tuple[str, str] | None:
        index = self.model_combo.currentIndex()
        return self._versions[index] if 0 <= index < len(self._versions) else None

    def method(self) -> str:
        return _key(METHODS, self.method_combo.currentIndex()) or "auto"

    def scheme(self) -> str | None:
        return _key(SCHEMES, self.scheme_combo.currentIndex()) if self.method() in ("isotonic", "platt") else None

    def selected_sources(self) -> tuple[str, ...]:
        chosen = tuple(s for s, box in self.source_checks.items() if box.isChecked())
        return () if len(chosen) == len(self.source_checks) else chosen  # () = every source

    def _update_actions(self) -> None:
        method = self.method()
        per_class = method in ("isotonic", "platt")
        if per_class and self.scheme_combo.currentIndex() < 0:
            self.scheme_combo.setCurrentIndex(self._scheme_index)
        elif not per_class and self.scheme_combo.currentIndex() >= 0:
            # Show what applies instead of a scheme that would not be used.
            self._scheme_index = self.scheme_combo.currentIndex()
            self.scheme_combo.setCurrentIndex(-1)
        if not per_class:
            self.scheme_combo.setPlaceholderText("multi-class" if method == "temperature" else "auto")
        self.scheme_combo.setEnabled(per_class)
        running = self._calibration.info is not None
        self.refit_button.setEnabled(running and not self._refitting and self.selected() is not None)
        self.refit_button.setText("Refitting…" if self._refitting else "Refit")
        self.refit_button.setToolTip("Fit a calibrator with this method on the selected version's outcomes and "
                                     "make it active for new signals")
        self.evaluate_button.setEnabled(running and self._evaluating is None)

    def refresh(self) -> None:
        self._stale = False
        self._calibration.overview(self._on_overview, lambda error: self.message.show_text(error, "error"))

    def _request_report(self) -> None:
        chosen = self.selected()
        if chosen is not None:
            self._reports.track(self._calibration.report(chosen[0], chosen[1], self.selected_sources(),
                                                       self._on_report))

    # -- actions ------------------------------------------------------------------------
    @Slot()
    def choose_labelled_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Evaluate on a labelled file", start_folder(self._last_dir),
                                              "CSV files (*.csv);;All files (*)")
        if path:
            self.evaluate_file(path)

    def evaluate_file(self, path: str | Path) -> None:
        if self._evaluating is not None:
            self.message.show_text("A labelled file is already being scored: wait for it or press Cancel.", "warning")
            return
        self._last_dir = str(Path(path).parent)
        self._evaluating = self._calibration.evaluate_labelled(path, self.record_check.isChecked(),
                                                               self._on_labelled_progress, self._on_labelled_evaluated)
        self.progress.setRange(0, 0)  # busy until the row count is known
        self.progress.show()
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        self.cancel_button.show()
        self.message.show_text(f"Scoring {Path(path).name}…", "info")
        self._update_actions()

    @Slot()
    def cancel_evaluation(self) -> None:
        if self._evaluating is not None:
            self._calibration.cancel_labelled()
            self.cancel_button.setEnabled(False)
            self.cancel_button.setText("Cancelling…")

    @Slot()
    def refit(self) -> None:
        chosen = self.selected()
        if chosen is None or self._refitting:
            return
        method, scheme = self.method(), self.scheme()
        self._refitting = True
        self._update_actions()
        self.message.show_text(f"Refitting {chosen[0]} {chosen[1]} with {self.method_combo.currentText()}…", "info")
        self._calibration.refit(chosen[0], chosen[1], method, scheme)

    # -- engine answers -----------------------------------------------------------------
    @Slot(object)
    def _on_ready(self, _info) -> None:
        self._update_actions()
        self.refresh()

    @Slot(object)
    def _on_overview(self, overview: CalibrationOverview) -> None:
        self.overview = overview
        keep, self._want = self._want or self.selected(), None
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self._versions = [(m.model_id, m.version) for m in overview.models]
        for m in overview.models:
            text = f"{m.model_id} {m.version}" + (" (serving)" if m.serving else "")
            self.model_combo.addItem(text)
            tip = [f"{m.outcomes:,} outcomes", m.explanation]
            if m.calibrator:
                tip.insert(1, f"active calibrator {m.calibrator}, "
                              + (f"shipped with the model ({m.shipped})" if m.shipped else f"fitted on {m.fitted_on:,}"))
            self.model_combo.setItemData(self.model_combo.count() - 1, "; ".join(tip), Qt.ItemDataRole.ToolTipRole)
        index = self._versions.index(keep) if keep in self._versions else 0
        self.model_combo.setCurrentIndex(index)
        self.model_combo.blockSignals(False)
        self._show_summary()
        self._update_actions()
        self._request_report()

    def _summary(self):
        chosen = self.selected()
        if self.overview is None or chosen is None:
            return None
        return next((m for m in self.overview.models if (m.model_id, m.version) == chosen), None)

    def _show_summary(self) -> None:
        m = self._summary()
        for source, box in self.source_checks.items():
            count = m.by_source.get(source, 0) if m else 0
            box.setText(f"{SOURCE_NAMES[source]} ({count:,})")
        if m is None:
            self.status.setText("No model version to show yet.")
            return
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(m.fitted_at)) if m.fitted_at else ""
        if m.shipped:
            active = (f"Active calibrator <b>{m.calibrator}</b>, shipped with the model ({m.shipped}); "
                      "your own outcomes replace it once the refit policy allows.")
        elif m.calibrator:
            active = f"Active calibrator <b>{m.calibrator}</b>, fitted {when} on {m.fitted_on:,} outcomes."
        else:
            active = "No calibrator yet: signals of this version show raw confidence."
        self.status.setText(f"{m.model_id} {m.version}: {m.outcomes:,} outcomes stored. {active} "
                            f"Refit policy: {m.explanation}.")
        if m.refused is not None and m.refused is not self._dismissed:
            self._show_comparison(m.refused, m.calibrator)
        elif self.comparison.isVisible():
            self._hide_comparison()

    def _show_comparison(self, verdict, active: str) -> None:
        # In place of the before/after diagrams and figures: the comparison carries its own.
        self.comparison.show_verdict(verdict, active)
        for part in (self.diagrams, self.key, self.metrics_table):
            part.hide()

    def _hide_comparison(self) -> None:
        self.comparison.hide()
        for part in (self.diagrams, self.key, self.metrics_table):
            part.show()

    @Slot()
    def _on_comparison_dismissed(self) -> None:
        self._dismissed = self.comparison.verdict
        self._hide_comparison()
        self.message.show_text("Kept the active calibrator.", "info")

    @Slot(str, str)
    def confirm_refused_fit(self, method: str, scheme: str) -> None:
        """The operator saw both diagrams and makes the refused candidate active (audited)."""
        chosen = self.selected()
        if chosen is None or self._refitting:
            return
        self._refitting = True
        self._update_actions()
        self.message.show_text(f"Making {method}/{scheme} active for {chosen[0]} {chosen[1]} at your request…", "info")
        self._calibration.refit(chosen[0], chosen[1], method, scheme or None, confirm=True)

    @Slot()
    def _on_selection_changed(self, *_args) -> None:
        self._show_summary()
        self._update_actions()
        self._request_report()

    @Slot(object)
    def _on_report(self, report: CalibrationReportView) -> None:
        if (report.model_id, report.version) != self.selected() or report.sources != self.selected_sources():
            return  # an answer to an earlier selection
        self.report = report
        empty = report.message or "No labelled outcomes yet"
        if report.before is None:
            empty += "\nEvaluate a labelled file, or mark signals right or wrong in News."
        self.before_view.set_title("Before: raw confidence")
        self.before_view.set_diagram(report.before_diagram, empty)
        summary = self._summary()
        if report.before is None and summary is not None and summary.shipped_diagrams and summary.shipped \
                and not report.sources:
            # No outcomes of the analyst's yet: the shipped calibrator's own reliability, on the
            # model card's report set (the rows its quoted ECE comes from).
            name, before, after = summary.shipped_diagrams
            self.before_view.set_title(f"Before: raw, model card report set (n {before.n:,})")
            self.before_view.set_diagram(before)
            self.after_view.set_title(f"After: shipped {report.calibrator}, same rows")
            self.after_view.set_diagram(after)
            self.before_view.setToolTip(name)
            self.after_view.setToolTip(name)
            self.metrics_table.fill(report)
            if summary.shipped_metrics is not None:
                self.metrics_table.fill_shipped(report.calibrator, *summary.shipped_metrics)
            return
        if report.calibrator:
            note = " (in-sample)" if report.in_sample else ""
            self.after_view.set_title(f"After: {report.calibrator}{note}")
        else:
            self.after_view.set_title("After: no calibrator yet (same as before)")
        self.after_view.set_diagram(report.after_diagram, empty)
        self.metrics_table.fill(report)

    def _on_labelled_progress(self, p: LabelledProgress) -> None:
        self.progress.setRange(0, max(1, p.total))
        self.progress.setValue(p.done)

    def _on_labelled_evaluated(self, s: LabelledSummary) -> None:
        self._evaluating = None
        self.progress.hide()
        self.cancel_button.hide()
        self._update_actions()
        name = Path(s.path).name
        skipped = f" {plural(s.skipped, 'row')} skipped ({'; '.join(s.errors[:3])}{'…' if s.skipped > 3 else ''})." \
            if s.skipped else ""
        if s.error:
            self.message.show_text(s.error + skipped, "error")
            return
        if s.cancelled:
            self.message.show_text(f"Cancelled: {s.rows:,} of {s.total:,} rows of {name} were scored; nothing was "
                                   "recorded." + skipped, "info")
            return
        m = s.metrics
        text = (f"Scored {s.rows:,} rows of {name} with {s.model_id} {s.version}: accuracy {m.accuracy:.1%}, "
                f"ECE {m.ece:.4f}, MCE {m.mce:.4f}, Brier {m.brier:.4f} (raw).")
        if s.recorded:
            text += f" Recorded {s.recorded:,} outcomes"
            text += f"; refitted: {s.calibrator} is now active." if s.calibrator else f"; {s.explanation}."
        else:
            text += " Not recorded (measure only)."
        self.message.show_text(text + skipped, "warning" if s.skipped else "info")
        self.statusMessage.emit(f"Evaluated {name}: {s.rows:,} rows")
        self._want = (s.model_id, s.version)  # show what was just evaluated
        self.refresh()

    @Slot(object)
    def _on_refitted(self, r: RefitOutcome) -> None:
        if not r.automatic:
            self._refitting = False
            self._update_actions()
            if r.error:
                self.message.show_text(r.error, "warning")
                if r.verdict is not None and (r.model_id, r.version) == self.selected():
                    summary = self._summary()
                    self._show_comparison(r.verdict, summary.calibrator if summary else "")
            elif r.confirmed_by:
                self._hide_comparison()
                self.message.show_text(f"{r.calibrator} is now active for new signals of {r.model_id} {r.version}, "
                                       f"confirmed by {r.confirmed_by} over the acceptance rule (audited). "
                                       "Confidences already shown keep their values.", "warning")
            else:
                self._hide_comparison()
                self.message.show_text(f"Refitted {r.model_id} {r.version}: {r.calibrator} is now active for new "
                                       "signals.", "info")
                self.statusMessage.emit(f"Calibrator {r.calibrator} active for {r.model_id} {r.version}")
        elif r.calibrator:
            self.statusMessage.emit(f"Refit policy: {r.calibrator} now active for {r.model_id} {r.version}")
        self._on_new_outcomes()

    @Slot()
    def _on_new_outcomes(self, *_args) -> None:
        if self.isVisible():
            self.refresh()
        else:
            self._stale = True

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale and self._calibration.info is not None:
            self.refresh()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self._calibration.info is None:
            self.status.setText(f"The engine is not running: {message}")
            self._update_actions()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "after_view"):
            self.before_view.apply_palette()
            self.after_view.apply_palette()
            if self.report is not None:
                # The figures' better/worse colours follow the palette: render the report again.
                self._on_report(self.report)
