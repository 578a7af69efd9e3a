"""A reliability diagram (Calibration panel): accuracy per confidence bin against the diagonal."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QWidget

ACC_COLOR = "#2563eb"
GAP_COLOR = "#dc2626"
ACC_ALPHA, GAP_ALPHA = 170, 70


def overlap_color(background: QColor | None = None) -> QColor:
    """The colour where a gap bar lies over an accuracy bar (accuracy above confidence), as drawn
    on ``background``: for the legend, which must show it too."""
    base = background or QColor("#ffffff")

    def over(top: QColor, alpha: int, under: QColor) -> QColor:
        a = alpha / 255
        return QColor(round(top.red() * a + under.red() * (1 - a)), round(top.green() * a + under.green() * (1 - a)),
                      round(top.blue() * a + under.blue() * (1 - a)))

    return over(QColor(GAP_COLOR), GAP_ALPHA, over(QColor(ACC_COLOR), ACC_ALPHA, base))
COUNT_COLOR = "#64748b"


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
        acc_brush.setAlpha(ACC_ALPHA)
        gap_brush = QColor(GAP_COLOR)
        gap_brush.setAlpha(GAP_ALPHA)
        self.accuracy_bars = pg.BarGraphItem(x=[], height=[], width=0.06, brush=acc_brush, pen=pg.mkPen(ACC_COLOR))
        self.gap_bars = pg.BarGraphItem(x=[], y0=[], y1=[], width=0.06, brush=gap_brush,
                                        pen=pg.mkPen(GAP_COLOR, width=1))
        self.count_bars = pg.BarGraphItem(x=[], height=[], width=0.06, brush=QColor(COUNT_COLOR),
                                          pen=pg.mkPen(COUNT_COLOR))
        self.plot.addItem(self.accuracy_bars)
        self.plot.addItem(self.gap_bars)
        self.counts_plot.addItem(self.count_bars)
        # Top left, where the diagonal is farthest away: centred, the dashed line ran through the text.
        self.empty = pg.TextItem("No labelled outcomes yet", anchor=(0, 0))
        self.plot.addItem(self.empty, ignoreBounds=True)
        self.empty.setPos(0.02, 1.02)
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
        self.empty.fill = pg.mkBrush(pal.color(QPalette.ColorRole.Base))  # lines never show through the text

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
