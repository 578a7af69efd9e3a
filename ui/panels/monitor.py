"""Monitor panel: live latency per model, memory against the budget, CPU, throughput, queue depth.

Samples come from the engine's own sampler thread (``MonitorFeature.sampled``), so the charts
keep moving while the engine lane is busy scoring. The sampler also writes every sample to
SQLite; on start the panel asks for the last hour (``MonitorFeature.history``) so the charts
pick up where they were before a restart. Memory events and what the desk did about them
(unload idle models, switch to a lighter model) are listed under the numbers. The charts
themselves are ui/panels/monitor_charts.py.
"""

from __future__ import annotations

import collections
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.monitoring import WINDOWS_S, MemoryRecovered, MemoryWarning, MetricsSample
from ui.widgets.files import start_folder
from ui.panels.monitor_charts import HISTORY_S, MetricSeries, MonitorCharts
from ui.widgets.banner import Banner

if TYPE_CHECKING:
    from app.bridge.monitor import MemoryAction, MetricsHistoryResult, MonitorFeature, MonitorInfo

CHARTED = ("rss_mb", "cpu_percent", "queue_depth", "throughput_per_s", "latency_p50_ms", "latency_p95_ms")
MAX_EVENTS = 200  # memory events kept in the list


class MonitorPanel(QWidget):
    statusMessage = Signal(str)
    alertMessage = Signal(str)  # a memory action changed the loaded models: keep it on show

    def __init__(self, monitor: MonitorFeature, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("monitorPanel")
        self._monitor = monitor
        # Live samples as they arrived (the numbers row reads the newest); the charts read _series.
        self.samples: collections.deque[MetricsSample] = collections.deque(maxlen=4000)
        self._series: dict[tuple[str, str], MetricSeries] = {}
        self._info: MonitorInfo | None = None
        self._peak_rss = 0.0
        self._window_s = WINDOWS_S["1 min"]
        self._paused = False
        self._zoomed = False
        self._dirty = False
        self._history_loaded = False
        self._last_dir = ""  # the folder of the last export; a dialog starts in an existing folder

        layout = QVBoxLayout(self)
        layout.addLayout(self._build_numbers())
        layout.addLayout(self._build_controls())
        self.banner = Banner("monitorBanner")
        layout.addWidget(self.banner)
        self.events = QListWidget()
        self.events.setObjectName("memoryEvents")
        self.events.setMaximumHeight(self.fontMetrics().height() * 5 + 12)
        self.events.setToolTip("Memory warnings and what was done about them, newest first")
        self.events.hide()  # shown with the first event; an empty box only takes room
        layout.addWidget(self.events)
        self.charts = MonitorCharts(self._window_s)
        self.charts.zoomedByHand.connect(self._on_manual_zoom)
        layout.addWidget(self.charts, 1)

        monitor.started.connect(self._on_monitor_started)
        monitor.sampled.connect(self.add_sample)
        monitor.memoryEvent.connect(self._on_memory_event)
        monitor.memoryAction.connect(self._on_memory_action)
        monitor.failed.connect(self._on_failed)

    # -- construction -------------------------------------------------------------------
    def _build_numbers(self) -> QGridLayout:
        self.rss_value = self._big_label("monitorRss")
        self.cpu_value = self._big_label("monitorCpu")
        self.threads_value = self._big_label("monitorThreads")
        self.peak_value = self._big_label("monitorPeakRss")
        self.budget_value = self._big_label("monitorBudget")
        self.baseline_value = self._big_label("monitorBaseline")
        self.baseline_value.setToolTip("Process memory after startup, before any model loaded; the model "
                                       "budget sits on top of it")
        self.throughput_value = self._big_label("monitorThroughput")
        self.queue_value = self._big_label("monitorQueue")
        self.budget_value.setToolTip("Memory charged to the model budget (MODEL_MEMORY_LIMIT) as a share of it: "
                                     "growth above the startup baseline, or the loaded models' measured "
                                     "memory when larger")
        numbers = QGridLayout()
        for col, (title, label) in enumerate((
                ("Memory (RSS)", self.rss_value), ("Startup baseline", self.baseline_value),
                ("Of budget", self.budget_value), ("CPU", self.cpu_value),
                ("Threads", self.threads_value), ("Peak RSS", self.peak_value),
                ("Throughput", self.throughput_value), ("Queue", self.queue_value))):
            caption = QLabel(title)
            caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            numbers.addWidget(caption, 0, col)
            numbers.addWidget(label, 1, col)
        return numbers

    def _build_controls(self) -> QHBoxLayout:
        self.window_combo = QComboBox()
        self.window_combo.setObjectName("monitorWindow")
        self.window_combo.addItems(list(WINDOWS_S))
        self.window_combo.setToolTip("How much history the charts show; the last hour survives a restart")
        self.window_combo.currentTextChanged.connect(self.set_window)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("monitorPause")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Freeze the charts to read them; samples are still collected")
        self.pause_button.toggled.connect(self.set_paused)
        self.reset_zoom_button = QPushButton("Reset zoom")
        self.reset_zoom_button.setObjectName("monitorResetZoom")
        self.reset_zoom_button.setToolTip("Back to the whole window, following new samples "
                                          "(zoom: mouse wheel or right-drag on a chart)")
        self.reset_zoom_button.setEnabled(False)
        self.reset_zoom_button.clicked.connect(self.reset_zoom)
        self.export_png_button = QPushButton("Export PNG…")
        self.export_png_button.setObjectName("monitorExportPng")
        self.export_png_button.setToolTip("Save the charts as they are shown as a PNG image")
        self.export_png_button.clicked.connect(self.export_png)
        self.export_csv_button = QPushButton("Export CSV…")
        self.export_csv_button.setObjectName("monitorExportCsv")
        self.export_csv_button.setToolTip("Save the stored samples of the selected window as CSV "
                                          "(at, resolution_s, metric, key, value)")
        self.export_csv_button.clicked.connect(self.export_csv)
        self.state_label = QLabel("waiting for the engine…")
        self.state_label.setObjectName("monitorState")
        self.state_label.setEnabled(False)  # secondary text
        row = QHBoxLayout()
        row.addWidget(QLabel("Window:"))
        row.addWidget(self.window_combo)
        row.addWidget(self.pause_button)
        row.addWidget(self.reset_zoom_button)
        row.addSpacing(12)
        row.addWidget(self.state_label)
        row.addStretch(1)
        row.addWidget(self.export_png_button)
        row.addWidget(self.export_csv_button)
        return row

    @staticmethod
    def _big_label(name: str) -> QLabel:
        label = QLabel("–")
        label.setObjectName(name)
        label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        font = label.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        label.setFont(font)
        return label

    # -- controls -----------------------------------------------------------------------
    @Slot(str)
    def set_window(self, name: str) -> None:
        if name not in WINDOWS_S:
            return
        if self.window_combo.currentText() != name:
            self.window_combo.setCurrentText(name)  # comes back here through the signal
            return
        self._window_s = WINDOWS_S[name]
        self._zoomed = False
        self.reset_zoom_button.setEnabled(False)
        self.charts.set_window(self._window_s)
        self._redraw(force=True)

    @Slot(bool)
    def set_paused(self, paused: bool) -> None:
        self._paused = paused
        self.pause_button.setChecked(paused)
        self.pause_button.setText("Resume" if paused else "Pause")
        self._update_state()
        if not paused:
            self._redraw()

    @Slot()
    def reset_zoom(self) -> None:
        self._zoomed = False
        self.reset_zoom_button.setEnabled(False)
        self._update_state()
        self._redraw(force=True)

    def _on_manual_zoom(self) -> None:
        self._zoomed = True
        self.reset_zoom_button.setEnabled(True)
        self._update_state()

    def _update_state(self) -> None:
        if self._info is None:
            return
        parts = ["paused" if self._paused else "live"]
        if self._zoomed:
            parts.append("zoomed")
        parts.append(f"a sample every {self._info.interval_s:g} s")
        self.state_label.setText(" · ".join(parts))

    def _default_path(self, suffix: str) -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return str(Path(start_folder(self._last_dir)) / f"signaldesk-monitor-{stamp}.{suffix}")

    @Slot()
    def export_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export charts as PNG", self._default_path("png"),
                                              "PNG images (*.png)")
        if path:
            self.save_png(path)

    def save_png(self, path: str | Path) -> bool:
        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        self._last_dir = str(path.parent)
        # A grab of the widgets draws exactly what is on screen, titles and lines included.
        if self.charts.grab().save(str(path), "PNG"):
            self.banner.show_text(f"Saved the charts to {path}.", "info")
            self.statusMessage.emit(f"Saved {path.name}")
            return True
        self.banner.show_text(f"Could not write {path}: check the folder exists and is writable.", "error")
        return False

    @Slot()
    def export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export samples as CSV", self._default_path("csv"),
                                              "CSV files (*.csv)")
        if not path:
            return
        if not path.lower().endswith(".csv"):
            path += ".csv"
        self._last_dir = str(Path(path).parent)
        self.export_csv_button.setEnabled(False)  # until the engine answers
        self._monitor.export(path, time.time() - self._window_s, lambda rows: self._on_exported(path, rows),
                             self._on_export_failed)

    def _on_export_failed(self, error: str) -> None:
        self.export_csv_button.setEnabled(True)
        self.banner.show_text(f"The samples were not exported: {error}", "error")

    def _on_exported(self, path: str, rows: int) -> None:
        self.export_csv_button.setEnabled(True)
        self.banner.show_text(f"Exported {rows:,} stored sample rows "
                              f"({self.window_combo.currentText()}) to {path}.", "info")
        self.statusMessage.emit(f"Exported {rows:,} rows to {Path(path).name}")

    # -- engine -------------------------------------------------------------------------
    @Slot(object)
    def _on_monitor_started(self, info: MonitorInfo) -> None:
        self._info = info
        self.charts.set_policy(info.policy)
        baseline = info.policy.baseline_mb
        self.baseline_value.setText(f"{baseline:,.0f} MB" if baseline > 0 else "–")
        self._update_state()
        # Backfill every window from the stored history, once per engine start.
        self._monitor.history(time.time() - HISTORY_S, self._on_history, CHARTED)

    def _on_history(self, result: MetricsHistoryResult) -> None:
        if result.error:
            self.banner.show_text(result.error, "warning")
            return
        merged: dict[tuple[str, str], MetricSeries] = {}
        for key, points in result.series.items():
            series = MetricSeries()
            for at, value in points:
                series.append(at, value)
            live = self._series.get(key)
            if live is not None:  # samples that arrived while the history was read
                for at, value in zip(live.at, live.value):
                    series.append(at, value)
            merged[key] = series
        for key, live in self._series.items():
            merged.setdefault(key, live)
        self._series = merged
        self._history_loaded = True
        rss = self._series.get(("rss_mb", ""))
        if rss is not None and rss.value:
            self._peak_rss = max(self._peak_rss, max(rss.value))
        self._redraw(force=True)

    @Slot(object)
    def add_sample(self, sample: MetricsSample) -> None:
        self.samples.append(sample)
        for metric, key, value in sample.rows():
            if metric == "queue_depth" and value < 0:
                continue  # the provider failed: unknown, not negative
            self._series.setdefault((metric, key), MetricSeries()).append(sample.at, value)
        self._peak_rss = max(self._peak_rss, sample.rss_mb)
        self.rss_value.setText(f"{sample.rss_mb:,.0f} MB")
        if sample.memory_limit_mb > 0:
            used = sample.rss_mb if sample.memory_used_mb is None else sample.memory_used_mb
            self.budget_value.setText(f"{used / sample.memory_limit_mb:.0%}")
        self.cpu_value.setText(f"{sample.cpu_percent:.0f}%")
        self.threads_value.setText(str(sample.threads))
        self.peak_value.setText(f"{self._peak_rss:,.0f} MB")
        self.throughput_value.setText(f"{sample.throughput_per_s:,.1f}/s")
        self.queue_value.setText("?" if sample.queue_depth < 0 else f"{sample.queue_depth:,}")
        self._redraw()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty:
            self._redraw()

    def _redraw(self, force: bool = False) -> None:
        if not self.isVisible() or (self._paused and not force):
            self._dirty = True  # no point drawing a hidden or frozen chart; catch up later
            return
        self._dirty = False
        latest = self.samples[-1].at if self.samples else max(
            (s.at[-1] for s in self._series.values() if s.at), default=None)
        if latest is None:
            return
        gap = 5.0 * (self._info.interval_s if self._info else 1.0)
        self.charts.draw(self._series, latest, gap, follow=not self._zoomed)

    # -- memory events ------------------------------------------------------------------
    def _add_event(self, at: float, text: str, kind: str) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(at))
        item = QListWidgetItem(f"{stamp}  {text}")
        colors = {"error": "#b91c1c", "warning": "#a16207"}
        if kind in colors:
            item.setForeground(QColor(colors[kind]))
        self.events.insertItem(0, item)
        while self.events.count() > MAX_EVENTS:
            self.events.takeItem(self.events.count() - 1)
        self.events.show()

    @Slot(object)
    def _on_memory_event(self, event) -> None:
        if isinstance(event, MemoryRecovered):
            kind, mark = "info", "✓"
        elif isinstance(event, MemoryWarning):
            kind, mark = "warning", "⚠"
        else:
            kind, mark = "error", "⚠"
        text = event.message[:1].upper() + event.message[1:]
        self._add_event(event.at, f"{mark} {text}", kind)
        self.banner.show_text(f"Memory: {text}.", kind)
        self.statusMessage.emit(f"Memory: {event.message}")

    @Slot(object)
    def _on_memory_action(self, action: MemoryAction) -> None:
        self._add_event(time.time(), f"→ {action.message}", "info" if action.ok else "warning")
        self.banner.show_text(f"Memory action: {action.message}", "info" if action.ok else "warning")
        if action.ok:
            self.alertMessage.emit(f"⚠ Memory: {action.message}")
        else:
            self.statusMessage.emit(f"Memory: {action.message}")

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self._monitor.info is None:  # only a failed start leaves the charts without a source
            self.state_label.setText("engine not running: no samples")
            self.banner.show_text(message, "error")

