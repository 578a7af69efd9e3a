"""The Calibration panel's figures table: ECE, MCE, Brier, accuracy and outcomes, before and after."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QSizePolicy, QTableWidget, QTableWidgetItem, QWidget

from ui.theme import is_dark

if TYPE_CHECKING:
    from app.bridge.calibration import CalibrationReportView

METRIC_ROWS = (("ece", "ECE", "Expected calibration error: the count-weighted gap between confidence and "
                "accuracy over 15 bins. Lower is better; 0 is perfect."),
               ("mce", "MCE", "Maximum calibration error: the largest gap of any non-empty bin."),
               ("brier", "Brier", "Multi-class Brier score over all three probabilities: 0 is perfect, 2 the worst."),
               ("accuracy", "Accuracy", "Share of outcomes where the predicted label was right."),
               ("n", "Outcomes", "Labelled outcomes these figures are computed on."))


def _fmt(metric: str, value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if metric == "n":
        return f"{int(value):,}"
    if metric == "accuracy":
        return f"{value:.1%}"
    return f"{value:.4f}"


class CalibrationMetricsTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(len(METRIC_ROWS), 3, parent)
        self.setObjectName("calibrationMetrics")
        self.setHorizontalHeaderLabels(["Before (raw)", "After", "After, out-of-fold"])
        self.horizontalHeaderItem(2).setToolTip(
            "The active calibrator's figures at fit time, each row predicted by a calibrator fitted without it "
            "(5-fold): the honest estimate when After is in-sample")
        self.setVerticalHeaderLabels([label for _, label, _ in METRIC_ROWS])
        for row, (_, _, tip) in enumerate(METRIC_ROWS):
            self.verticalHeaderItem(row).setToolTip(tip)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        row_h = self.fontMetrics().height() + 6
        self.verticalHeader().setDefaultSectionSize(row_h)
        self.setFixedHeight(row_h * len(METRIC_ROWS) + header.sizeHint().height() + 4)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def fill(self, report: CalibrationReportView) -> None:
        """Before, after and out-of-fold figures of a calibration report."""
        after_label = "After" + (f" ({report.calibrator}, in-sample)" if report.in_sample and report.calibrator
                                 else f" ({report.calibrator})" if report.calibrator else " (no calibrator)")
        self.horizontalHeaderItem(0).setText("Before (raw)")
        self.horizontalHeaderItem(1).setText(after_label)
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
                self.setItem(row, col, item)
        if oof and "before" in holdout:
            self.horizontalHeaderItem(2).setText(f"After, out-of-fold (n {int(oof.get('n', 0)):,})")
        else:
            self.horizontalHeaderItem(2).setText("After, out-of-fold")

    def fill_shipped(self, calibrator: str, before: dict, after: dict) -> None:
        """The shipped calibrator's figures on the model card's report set, read off the diagrams shown."""
        self.horizontalHeaderItem(0).setText("Before (raw, report set)")
        self.horizontalHeaderItem(1).setText(f"After (shipped {calibrator}, report set)")
        for row, (key, _, _) in enumerate(METRIC_ROWS):
            for col, figures in enumerate((before, after)):
                item = QTableWidgetItem(_fmt(key, figures.get(key)))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setToolTip("From the model card's report set: rows neither the model nor its calibrator saw"
                                if key in figures else "Needs every probability; the model card keeps the bins only")
                self.setItem(row, col, item)
