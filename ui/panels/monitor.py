"""Monitor panel: live RSS and CPU of this process over the last few minutes."""

from __future__ import annotations

import collections

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, Slot
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from engine.monitor import ProcessSample

WINDOW_S = 300.0  # the most the charts show
MIN_SPAN_S = 10.0  # until there is more history, the x axis spans the data itself
RSS_COLOR = "#2563eb"
CPU_COLOR = "#ea580c"


class MonitorPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("monitorPanel")
        pg.setConfigOptions(antialias=True)
        # Ring buffer; maxlen covers 5 min at 10 samples/s, and old samples are also dropped by age.
        self.samples: collections.deque[ProcessSample] = collections.deque(maxlen=3000)
        self._peak_rss = 0.0
        self._dirty = False

        self.rss_value = self._big_label("monitorRss")
        self.cpu_value = self._big_label("monitorCpu")
        self.threads_value = self._big_label("monitorThreads")
        self.peak_value = self._big_label("monitorPeakRss")
        numbers = QGridLayout()
        for col, (title, label) in enumerate((("Memory (RSS)", self.rss_value), ("CPU", self.cpu_value),
                                              ("Threads", self.threads_value), ("Peak RSS", self.peak_value))):
            caption = QLabel(title)
            caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            numbers.addWidget(caption, 0, col)
            numbers.addWidget(label, 1, col)

        self.rss_plot, self.rss_curve = self._plot("rssPlot", "Memory: resident set size", "MB", RSS_COLOR)
        self.cpu_plot, self.cpu_curve = self._plot("cpuPlot", "CPU: % of one core", "%", CPU_COLOR)

        layout = QVBoxLayout(self)
        layout.addLayout(numbers)
        layout.addWidget(self.rss_plot, 1)
        layout.addWidget(self.cpu_plot, 1)

    @staticmethod
    def _big_label(name: str) -> QLabel:
        label = QLabel("–")
        label.setObjectName(name)
        label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        font = label.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        label.setFont(font)
        return label

    def _plot(self, name: str, title: str, unit: str, color: str):
        widget = pg.PlotWidget()
        widget.setObjectName(name)
        widget.setProperty("chartTitle", title)
        widget.setProperty("chartUnit", unit)
        self._apply_palette(widget)
        item = widget.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setMouseEnabled(x=False, y=False)  # a live chart that zooms away by accident helps nobody
        item.hideButtons()
        item.setXRange(-MIN_SPAN_S, 0, padding=0)
        fill = QColor(color)
        fill.setAlpha(50)
        curve = item.plot(pen=pg.mkPen(color, width=2), fillLevel=0, brush=fill)
        return widget, curve

    def _apply_palette(self, widget: pg.PlotWidget) -> None:
        # pyqtgraph does not follow the Qt palette; copy it so light and dark themes both read well.
        pal = self.palette()
        bg = pal.color(QPalette.ColorRole.Base)
        fg = pal.color(QPalette.ColorRole.Text)
        widget.setBackground(bg)
        item = widget.getPlotItem()
        item.setTitle(widget.property("chartTitle"), color=fg.name())
        item.setLabel("left", widget.property("chartUnit"), color=fg.name())
        item.setLabel("bottom", "seconds ago", color=fg.name())
        for axis in ("left", "bottom"):
            item.getAxis(axis).setPen(pg.mkPen(fg))
            item.getAxis(axis).setTextPen(pg.mkPen(fg))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "cpu_plot"):
            self._apply_palette(self.rss_plot)
            self._apply_palette(self.cpu_plot)

    @Slot(object)
    def add_sample(self, sample: ProcessSample) -> None:
        self.samples.append(sample)
        while self.samples and sample.at - self.samples[0].at > WINDOW_S:
            self.samples.popleft()
        self._peak_rss = max(self._peak_rss, sample.rss_mb)
        self.rss_value.setText(f"{sample.rss_mb:,.0f} MB")
        self.cpu_value.setText(f"{sample.cpu_percent:.0f}%")
        self.threads_value.setText(str(sample.threads))
        self.peak_value.setText(f"{self._peak_rss:,.0f} MB")
        if self.isVisible():
            self._redraw()
        else:
            self._dirty = True  # no point drawing a hidden chart; catch up when shown

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty:
            self._redraw()

    def _redraw(self) -> None:
        self._dirty = False
        if not self.samples:
            return
        now = self.samples[-1].at
        x = np.fromiter((s.at - now for s in self.samples), dtype=float, count=len(self.samples))
        rss = np.fromiter((s.rss_mb for s in self.samples), dtype=float, count=len(self.samples))
        cpu = np.fromiter((s.cpu_percent for s in self.samples), dtype=float, count=len(self.samples))
        self.rss_curve.setData(x, rss)
        self.cpu_curve.setData(x, cpu)
        # Grow the window with the data up to WINDOW_S, so a fresh start is not a sliver at the edge.
        span = min(max(-x[0], MIN_SPAN_S), WINDOW_S)
        self.rss_plot.setXRange(-span, 0, padding=0)
        self.cpu_plot.setXRange(-span, 0, padding=0)
        # Keep zero in view so small changes don't look like cliffs.
        self.rss_plot.setYRange(0, max(rss.max() * 1.15, 1.0), padding=0)
        self.cpu_plot.setYRange(0, max(cpu.max() * 1.15, 10.0), padding=0)
