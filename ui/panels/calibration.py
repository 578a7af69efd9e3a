"""Calibration panel: how far the model's confidence can be trusted, per model version.

Reliability diagrams before and after the active calibrator, ECE / MCE / Brier, outcomes per
source, a method choice with Refit, and "Evaluate on labelled file…" with progress and
cancel. Every action goes through ``EngineClient`` and returns at once; labelled files and
refits run on the worker's calibration lane, so news scoring never waits for them.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QStandardPaths, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.panels.models import Banner
from ui.theme import is_dark

if TYPE_CHECKING:
    from app.worker import (
        CalibrationOverview,
        CalibrationReportView,
        EngineClient,
        LabelledProgress,
        LabelledSummary,
        RefitOutcome,
    )

METHODS = (("auto", "Auto (lowest cross-validated ECE)"), ("isotonic", "Isotonic"), ("platt", "Platt (logistic)"),
           ("temperature", "Temperature scaling"))
SCHEMES = (("top_label", "Top label"), ("one_vs_rest", "One vs rest"))
SOURCE_NAMES = {"labelled_file": "Labelled files", "analyst": "Analyst feedback", "market": "Market outcomes"}
METRIC_ROWS = (("ece", "ECE", "Expected calibration error: the count-weighted gap between confidence and "
                "accuracy over 15 bins. Lower is better; 0 is perfect."),
               ("mce", "MCE", "Maximum calibration error: the largest gap of any non-empty bin."),
               ("brier", "Brier", "Multi-class Brier score over all three probabilities: 0 is perfect, 2 the worst."),
               ("accuracy", "Accuracy", "Share of outcomes where the predicted label was right."),
               ("n", "Outcomes", "Labelled outcomes these figures are computed on."))
ACC_COLOR = "#2563eb"
GAP_COLOR = "#dc2626"
COUNT_COLOR = "#64748b"


def _key(choices: tuple[tuple[str, str], ...], index: int) -> str | None:
    # By index, not QComboBox.currentData(): under PySide6 6.12 every currentData()/itemData()
    # that returns None (no selection, index -1) drops a reference to None, and enough of them
    # crash the interpreter ("deallocating None").
    return choices[index][0] if 0 <= index < len(choices) else None


def _fmt(metric: str, value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if metric == "n":
        return f"{int(value):,}"
    if metric == "accuracy":
        return f"{value:.1%}"
    return f"{value:.4f}"


class ReliabilityView(pg.GraphicsLayoutWidget):
    """One reliability diagram: accuracy per confidence bin, the gap to the diagonal, and below
    it how many outcomes each bin holds."""

    def __init__(self, name: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setMinimumHeight(240)
        self.diagram = None
        self._title = title
        self.plot = self.addPlot(row=0, col=0)
        self.counts_plot = self.addPlot(row=1, col=0)
        self.ci.layout.setRowStretchFactor(0, 3)
        self.ci.layout.setRowStretchFactor(1, 1)
        self.counts_plot.setXLink(self.plot)  # stacked exactly above each other: a link lines up
        for plot in (self.plot, self.counts_plot):
            plot.setMouseEnabled(x=False, y=False)  # 15 fixed bins: nothing to zoom into
            plot.hideButtons()
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.setXRange(0, 1, padding=0.02)
        self.plot.setYRange(0, 1.04, padding=0)  # room for the 1.0 tick label
        self.plot.getAxis("left").setWidth(48)
        self.counts_plot.getAxis("left").setWidth(48)  # same width: the two x axes line up
        self.diagonal = self.plot.plot([0, 1], [0, 1], pen=pg.mkPen("#94a3b8", width=1.5, style=Qt.PenStyle.DashLine))
        acc_brush = QColor(ACC_COLOR)
        acc_brush.setAlpha(170)
        gap_brush = QColor(GAP_COLOR)
        gap_brush.setAlpha(70)
        self.accuracy_bars = pg.BarGraphItem(x=[], height=[], width=0.06, brush=acc_brush, pen=pg.mkPen(ACC_COLOR))
        self.gap_bars = pg.BarGraphItem(x=[], y0=[], y1=[], width=0.06, brush=gap_brush,
                                        pen=pg.mkPen(GAP_COLOR, width=1))
        self.count_bars = pg.BarGraphItem(x=[], height=[], width=0.06, brush=QColor(COUNT_COLOR),
                                          pen=pg.mkPen(COUNT_COLOR))
        self.plot.addItem(self.accuracy_bars)
        self.plot.addItem(self.gap_bars)
        self.counts_plot.addItem(self.count_bars)
        self.empty = pg.TextItem("No labelled outcomes yet", anchor=(0.5, 0.5))
        self.plot.addItem(self.empty, ignoreBounds=True)
        self.empty.setPos(0.5, 0.5)
        self.apply_palette()

    def apply_palette(self) -> None:
        pal = self.palette()
        fg = pal.color(QPalette.ColorRole.Text)
        self.setBackground(pal.color(QPalette.ColorRole.Base))
        self.plot.setTitle(self._title, color=fg.name(), size="10pt")
        self.plot.setLabel("left", "accuracy", color=fg.name())
        self.counts_plot.setLabel("left", "items", color=fg.name())
        self.counts_plot.setLabel("bottom", "confidence of the predicted label", color=fg.name())
        for plot in (self.plot, self.counts_plot):
            for axis in ("left", "bottom"):
                plot.getAxis(axis).setPen(pg.mkPen(fg))
                plot.getAxis(axis).setTextPen(pg.mkPen(fg))
        self.empty.setColor(pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))

    def set_title(self, title: str) -> None:
        self._title = title
        self.plot.setTitle(title, color=self.palette().color(QPalette.ColorRole.Text).name(), size="10pt")

    def set_diagram(self, diagram, empty_text: str = "No labelled outcomes yet") -> None:
        self.diagram = diagram
        bins = [b for b in diagram.bins if b.count] if diagram is not None else []
        width = (diagram.bins[0].hi - diagram.bins[0].lo) * 0.9 if diagram is not None and diagram.bins else 0.06
        centres = [(b.lo + b.hi) / 2 for b in bins]
        accuracy = [b.accuracy for b in bins]
        confidence = [b.mean_confidence for b in bins]
        self.accuracy_bars.setOpts(x=centres, height=accuracy, width=width)
        # The red part of a bar is the gap between what the model claimed and what it got.
        self.gap_bars.setOpts(x=centres, y0=[min(a, c) for a, c in zip(accuracy, confidence)],
                              y1=[max(a, c) for a, c in zip(accuracy, confidence)], width=width)
        counts = [b.count for b in bins]
        self.count_bars.setOpts(x=centres, height=counts, width=width)
        self.counts_plot.setYRange(0, max(counts, default=1) * 1.1, padding=0)
        self.empty.setText(empty_text)
        self.empty.setVisible(not bins)

    def plotted_bins(self) -> int:
        """Non-empty bins on show (what a test or a screen reader can check)."""
        x = self.accuracy_bars.opts.get("x")
        return 0 if x is None else len(x)


class CalibrationPanel(QWidget):
    statusMessage = Signal(str)

    def __init__(self, client: EngineClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("calibrationPanel")
        self._client = client
        self.overview: CalibrationOverview | None = None
        self.report: CalibrationReportView | None = None
        self._evaluating: int | None = None  # request id of the labelled file being scored
        self._refitting = False
        self._stale = False  # new outcomes arrived while hidden: refresh when shown
        self._want: tuple[str, str] | None = None  # model version to select when the overview arrives
        self._versions: list[tuple[str, str]] = []  # the model combo's entries, in order
        documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        self._last_dir = documents or str(Path.home())

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
        diagrams = QHBoxLayout()
        self.before_view = ReliabilityView("reliabilityBefore", "Before: raw confidence")
        self.after_view = ReliabilityView("reliabilityAfter", "After: no calibrator yet")
        diagrams.addWidget(self.before_view)
        diagrams.addWidget(self.after_view)
        layout.addLayout(diagrams, 1)
        key = QLabel(f"<span style='color:{ACC_COLOR}'>■</span> accuracy of the outcomes in each confidence bin  "
                     f"<span style='color:{GAP_COLOR}'>■</span> gap to the bin's mean confidence  "
                     "╌ perfect calibration  ·  below: outcomes per bin")
        key.setObjectName("reliabilityKey")
        layout.addWidget(key)
        layout.addWidget(self._build_metrics())

        client.ready.connect(self._on_ready)
        client.calibrationOverview.connect(self._on_overview)
        client.calibrationReport.connect(self._on_report)
        client.labelledProgress.connect(self._on_labelled_progress)
        client.labelledEvaluated.connect(self._on_labelled_evaluated)
        client.calibrationRefitted.connect(self._on_refitted)
        client.feedbackRecorded.connect(self._on_new_outcomes)
        client.failed.connect(self._on_failed)
        self._update_actions()
        if client.info is not None:  # the engine started before this panel was built
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
        table = QTableWidget(len(METRIC_ROWS), 3)
        table.setObjectName("calibrationMetrics")
        table.setHorizontalHeaderLabels(["Before (raw)", "After", "After, out-of-fold"])
        table.horizontalHeaderItem(2).setToolTip(
            "The active calibrator's figures at fit time, each row predicted by a calibrator fitted without it "
            "(5-fold): the honest estimate when After is in-sample")
        table.setVerticalHeaderLabels([label for _, label, _ in METRIC_ROWS])
        for row, (_, _, tip) in enumerate(METRIC_ROWS):
            table.verticalHeaderItem(row).setToolTip(tip)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        row_h = table.fontMetrics().height() + 6
        table.verticalHeader().setDefaultSectionSize(row_h)
        table.setFixedHeight(row_h * len(METRIC_ROWS) + header.sizeHint().height() + 4)
        table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.metrics_table = table
        return table

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
        running = self._client.info is not None
        self.refit_button.setEnabled(running and not self._refitting and self.selected() is not None)
        self.refit_button.setText("Refitting…" if self._refitting else "Refit")
        self.refit_button.setToolTip("Fit a calibrator with this method on the selected version's outcomes and "
                                     "make it active for new signals")
        self.evaluate_button.setEnabled(running and self._evaluating is None)

    def refresh(self) -> None:
        self._stale = False
        self._client.request_calibration_overview()

    def _request_report(self) -> None:
        chosen = self.selected()
        if chosen is not None:
            self._client.request_calibration_report(chosen[0], chosen[1], self.selected_sources())

    # -- actions ------------------------------------------------------------------------
    @Slot()
    def choose_labelled_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Evaluate on a labelled file", self._last_dir,
                                              "CSV files (*.csv);;All files (*)")
        if path:
            self.evaluate_file(path)

    def evaluate_file(self, path: str | Path) -> None:
        if self._evaluating is not None:
            self.message.show_text("A labelled file is already being scored: wait for it or press Cancel.", "warning")
            return
        self._last_dir = str(Path(path).parent)
        self._evaluating = self._client.evaluate_labelled_file(path, self.record_check.isChecked())
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
            self._client.cancel_labelled()
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
        self._client.refit_calibration(chosen[0], chosen[1], method, scheme)

    # -- engine answers -----------------------------------------------------------------
    @Slot(object)
    def _on_ready(self, _info) -> None:
        self._update_actions()
        self.refresh()

    @Slot(object)
    def _on_overview(self, overview: CalibrationOverview) -> None:
        self.overview = overview
        if overview.error:
            self.message.show_text(overview.error, "error")
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
        if report.calibrator:
            note = " (in-sample)" if report.in_sample else ""
            self.after_view.set_title(f"After: {report.calibrator}{note}")
        else:
            self.after_view.set_title("After: no calibrator yet (same as before)")
        self.after_view.set_diagram(report.after_diagram, empty)
        self._fill_metrics(report)

    def _fill_metrics(self, report: CalibrationReportView) -> None:
        table = self.metrics_table
        after_label = "After" + (f" ({report.calibrator}, in-sample)" if report.in_sample and report.calibrator
                                 else f" ({report.calibrator})" if report.calibrator else " (no calibrator)")
        table.horizontalHeaderItem(1).setText(after_label)
        holdout = report.holdout or {}
        oof = holdout.get("after") or {}
        dark = is_dark(self.palette())
        better, worse = (QColor("#86efac"), QColor("#fca5a5")) if dark else (QColor("#15803d"), QColor("#b91c1c"))
        for row, (key, _, _) in enumerate(METRIC_ROWS):
            before = getattr(report.before, key, None) if report.before is not None else None
            after = getattr(report.after, key, None) if report.after is not None else None
            values = (before, after, oof.get(key))
            for col, value in enumerate(values):
                item = QTableWidgetItem(_fmt(key, value))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if col and key in ("ece", "mce", "brier") and value is not None and before is not None \
                        and report.calibrator and abs(value - before) > 1e-9:
                    # Lower is better for every error figure: colour says which way it moved.
                    item.setForeground(better if value < before else worse)
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                table.setItem(row, col, item)
        if oof and "before" in holdout:
            table.horizontalHeaderItem(2).setText(f"After, out-of-fold (n {int(oof.get('n', 0)):,})")
        else:
            table.horizontalHeaderItem(2).setText("After, out-of-fold")

    @Slot(object)
    def _on_labelled_progress(self, p: LabelledProgress) -> None:
        if p.request_id != self._evaluating:
            return
        self.progress.setRange(0, max(1, p.total))
        self.progress.setValue(p.done)

    @Slot(object)
    def _on_labelled_evaluated(self, s: LabelledSummary) -> None:
        if s.request_id != self._evaluating:
            return
        self._evaluating = None
        self.progress.hide()
        self.cancel_button.hide()
        self._update_actions()
        name = Path(s.path).name
        skipped = f" {s.skipped:,} row(s) skipped ({'; '.join(s.errors[:3])}{'…' if s.skipped > 3 else ''})." \
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
            else:
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
        if self._stale and self._client.info is not None:
            self.refresh()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self._client.info is None:
            self.status.setText(f"The engine is not running: {message}")
            self._update_actions()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "after_view"):
            self.before_view.apply_palette()
            self.after_view.apply_palette()
            if self.report is not None:
                self._fill_metrics(self.report)
