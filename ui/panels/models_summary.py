"""The Models panel's read-only boxes: this machine, the sentiment model serving now, why each task's
model was chosen, and the loaded models against the memory budget."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QListWidget,
    QProgressBar,
    QSizePolicy,
    QVBoxLayout,
)

from engine.hardware import cpu_load_percent
from engine.models import TASKS
from ui.theme import MESSAGE_STYLES, WARNING_BADGE

if TYPE_CHECKING:
    from app.bridge.host import EngineInfo
    from app.bridge.models import ModelsSnapshot
    from engine.hardware import HardwareProfile
    from engine.types import ModelStatus

WAITING = "waiting for the engine…"


def _value_label(name: str) -> QLabel:
    label = QLabel(WAITING)
    label.setObjectName(name)
    # No word wrap: wrapped labels in a form get one line of height and lose the rest; the
    # long texts (reasons, explanations) get their own wrapped labels.
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class ElidedLabel(QLabel):
    """A long plain value (a path) that must not force the window wider: it shows what fits,
    cut in the middle; ``text()`` and the tooltip keep all of it."""

    def __init__(self, name: str) -> None:
        super().__init__(WAITING)
        self.setObjectName(name)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)

    def minimumSizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance("M" * 6), super().minimumSizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideMiddle, rect.width())
        QPainter(self).drawText(rect, int(self.alignment()), shown)


LOAD_REFRESH_MS = 5000


class MachineBox(QGroupBox):
    """This machine: tier, cores, memory, load, disk, architecture, OS and accelerators."""

    def __init__(self) -> None:
        super().__init__("This machine")
        self.tier = _value_label("hwTier")
        self.cores = _value_label("hwCores")
        self.cpu_load = _value_label("hwCpuLoad")
        self.memory = _value_label("hwMemory")
        self.disk = _value_label("hwDisk")
        self.arch = _value_label("hwArch")
        self.os = ElidedLabel("hwOs")
        self.accelerators = _value_label("hwAccelerators")
        grid = QGridLayout(self)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(2)
        grid.addWidget(QLabel("Tier:"), 0, 0)
        grid.addWidget(self.tier, 0, 1, 1, 3)
        pairs = (("CPU cores:", self.cores), ("Memory:", self.memory), ("CPU load:", self.cpu_load),
                 ("Disk free:", self.disk), ("Architecture:", self.arch), ("OS:", self.os),
                 ("Accelerators:", self.accelerators))
        for i, (name, value) in enumerate(pairs):
            row, col = 1 + i // 2, (i % 2) * 2
            grid.addWidget(QLabel(name), row, col)
            grid.addWidget(value, row, col + 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        # A live figure while the box is on show: the value at engine start was stale within a minute.
        self._logical_cores = 0
        self.load_timer = QTimer(self)
        self.load_timer.setInterval(LOAD_REFRESH_MS)
        self.load_timer.timeout.connect(self.refresh_load)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self._logical_cores:
            self.refresh_load()
            self.load_timer.start()

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.load_timer.stop()
        super().hideEvent(event)

    def refresh_load(self) -> None:
        load = cpu_load_percent(self._logical_cores)  # the 1-minute load average: one cheap OS call
        self.cpu_load.setText(f"{load:.0f}% now")
        self.cpu_load.setToolTip(f"1-minute load average over {self._logical_cores} logical cores, every "
                                 f"{LOAD_REFRESH_MS // 1000} s; above 100% means work is queueing")

    def set_hardware(self, hw: HardwareProfile) -> None:
        self.tier.setText(f"<b>{hw.tier.upper()}</b> — {html.escape(hw.tier_reason)}")
        self.tier.setToolTip(hw.tier_reason)
        self.cores.setText(f"{hw.physical_cores} physical, {hw.logical_cores} logical")
        self._logical_cores = hw.logical_cores
        self.refresh_load()
        if self.isVisible():
            self.load_timer.start()
        self.memory.setText(f"{hw.ram_available_gb:.1f} GB available of {hw.ram_total_gb:.1f} GB")
        self.disk.setText(f"{hw.disk_free_gb:.1f} GB (data folder)")
        self.arch.setText(hw.arch)
        self.os.setText(hw.os)
        self.accelerators.setText(", ".join(hw.accelerators) if hw.accelerators else "none (CPU only)")


class SentimentNowBox(QGroupBox):
    """The sentiment model serving now (and why, when it is a fallback), the app version and data folder."""

    def __init__(self) -> None:
        super().__init__("Sentiment now")
        self.model_id = _value_label("sentimentModelId")
        self.model_version = _value_label("sentimentModelVersion")
        self.model_backend = _value_label("sentimentBackend")
        self.model_status = _value_label("sentimentStatus")
        self.app_version = _value_label("appVersion")
        self.data_dir = ElidedLabel("dataDir")
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.setVerticalSpacing(2)
        form.addRow("Model:", self.model_id)
        form.addRow("Version:", self.model_version)
        form.addRow("Backend:", self.model_backend)
        form.addRow("Status:", self.model_status)
        self.model_reason = QLabel()
        self.model_reason.setObjectName("sentimentReason")
        self.model_reason.setWordWrap(True)
        self.model_reason.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model_reason.hide()
        form.addRow(self.model_reason)
        form.addRow("App version:", self.app_version)
        form.addRow("Data folder:", self.data_dir)

    def set_info(self, info: EngineInfo) -> None:
        self.set_sentiment(info.sentiment)
        self.app_version.setText(info.version)
        self.data_dir.setText(info.data_dir)

    def set_sentiment(self, status: ModelStatus) -> None:
        self.model_id.setText(status.model_id)
        self.model_version.setText(status.version)
        self.model_backend.setText(status.backend)
        if status.degraded:
            self.model_status.setText("Degraded: fallback in use")
            self.model_status.setStyleSheet(WARNING_BADGE)
            self.model_reason.setText(f"Why: {status.reason}" if status.reason else "")
            self.model_reason.setVisible(bool(status.reason))
        else:
            self.model_status.setText("OK")
            self.model_status.setStyleSheet("")
            self.model_reason.hide()

    def set_failed(self, message: str) -> None:
        self.model_status.setText("Engine not running")
        self.model_status.setStyleSheet(MESSAGE_STYLES["error"])
        self.model_reason.setText(message)
        self.model_reason.show()


class WhyModelsBox(QGroupBox):
    """Each task's model and the model manager's reason for it."""

    def __init__(self, model_priority: str) -> None:
        super().__init__("Why these models")
        column = QVBoxLayout(self)
        self.why = QLabel(WAITING)
        self.why.setObjectName("whyThisModel")
        self.why.setWordWrap(True)
        self.why.setTextFormat(Qt.TextFormat.RichText)
        self.why.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.why.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        note = QLabel(
            f"The model manager picks one model per task from this machine's tier, the "
            f"{html.escape(model_priority)} priority and benchmarks measured here; "
            "a model you switch to is remembered.")
        note.setObjectName("modelsNote")
        note.setWordWrap(True)
        note.setEnabled(False)  # secondary text: the palette's disabled colour, readable on any theme
        column.addWidget(self.why, 1)
        column.addWidget(note)

    def show_snapshot(self, snapshot: ModelsSnapshot) -> None:
        active = {m.task: m.id for m in snapshot.models if m.active}
        parts = []
        for task in TASKS:
            text = snapshot.explanations.get(task, "")
            model = active.get(task, "none")
            parts.append(f"<p style='margin:0 0 4px 0'><b>{task.capitalize()} → {html.escape(model)}</b><br>"
                         f"{html.escape(text) or 'no explanation yet'}</p>")
        self.why.setText("".join(parts))


class LoadedModelsBox(QGroupBox):
    """The models in memory and their total against the model memory budget."""

    def __init__(self, budget_mb: float, max_models: int) -> None:
        super().__init__("Loaded models")
        self._budget_mb = budget_mb
        self._max_models = max_models
        column = QVBoxLayout(self)
        self.loaded_list = QListWidget()
        self.loaded_list.setObjectName("loadedModels")
        self.loaded_list.setMaximumHeight(self.fontMetrics().height() * 4 + 12)
        self.memory_bar = QProgressBar()
        self.memory_bar.setObjectName("memoryBudget")
        self.memory_bar.setTextVisible(True)
        self.memory_bar.setToolTip("Memory of the loaded models against the model memory budget "
                                   "(MODEL_MEMORY_LIMIT); the least recently used model is unloaded to make room")
        self.memory_total = QLabel(WAITING)
        self.memory_total.setObjectName("memoryTotal")
        self.memory_total.setWordWrap(True)
        column.addWidget(self.loaded_list)
        column.addWidget(self.memory_bar)
        column.addWidget(self.memory_total)

    def show_snapshot(self, snapshot: ModelsSnapshot) -> None:
        budget = self._budget_mb
        self.loaded_list.clear()
        total = 0.0
        for loaded in snapshot.loaded:
            total += loaded.memory_mb
            self.loaded_list.addItem(f"{loaded.id} · {loaded.task} · {loaded.memory_mb:,.0f} MB")
            item = self.loaded_list.item(self.loaded_list.count() - 1)
            item.setToolTip(f"Loaded in {loaded.load_s:.2f} s; idle {loaded.idle_s:,.0f} s when listed")
        if not snapshot.loaded:
            self.loaded_list.addItem("No model loaded")
        self.memory_bar.setRange(0, max(1, int(budget)))
        self.memory_bar.setValue(min(int(round(total)), int(budget)))
        self.memory_bar.setFormat(f"{total:,.0f} MB of {budget:,.0f} MB")
        over = total > budget
        self.memory_bar.setStyleSheet(f"QProgressBar {{ {WARNING_BADGE} }}" if over else "")
        self.memory_total.setText(
            f"{len(snapshot.loaded)} of at most {self._max_models} models loaded, {total:,.0f} MB of the "
            f"{budget:,.0f} MB budget" + (" (over: the next load evicts)" if over else "") + ".")
