"""Models panel: what this machine can run, and which sentiment model is serving right now."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QScrollArea, QVBoxLayout, QWidget

from engine.hardware import HardwareProfile
from engine.types import ModelStatus
from ui.theme import MESSAGE_STYLES, WARNING_BADGE

if TYPE_CHECKING:
    from app.worker import EngineInfo

WAITING = "waiting for the engine…"


def _value_label(name: str) -> QLabel:
    label = QLabel(WAITING)
    label.setObjectName(name)
    # No word wrap: wrapped labels in a QFormLayout inside a QScrollArea get one line of height
    # and lose the rest; the long texts (reasons) get their own wrapped labels below the forms.
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class ModelsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelsPanel")

        self.tier = _value_label("hwTier")
        self.cores = _value_label("hwCores")
        self.cpu_load = _value_label("hwCpuLoad")
        self.memory = _value_label("hwMemory")
        self.disk = _value_label("hwDisk")
        self.arch = _value_label("hwArch")
        self.os = _value_label("hwOs")
        self.accelerators = _value_label("hwAccelerators")
        hardware = QGroupBox("This machine")
        form = QFormLayout(hardware)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow("Tier:", self.tier)
        form.addRow("CPU cores:", self.cores)
        form.addRow("CPU load:", self.cpu_load)
        form.addRow("Memory:", self.memory)
        form.addRow("Disk free (data folder):", self.disk)
        form.addRow("Architecture:", self.arch)
        form.addRow("Operating system:", self.os)
        form.addRow("Accelerators:", self.accelerators)

        self.model_id = _value_label("sentimentModelId")
        self.model_version = _value_label("sentimentModelVersion")
        self.model_backend = _value_label("sentimentBackend")
        self.model_status = _value_label("sentimentStatus")
        sentiment = QGroupBox("Active sentiment model")
        sform = QFormLayout(sentiment)
        sform.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        sform.addRow("Model:", self.model_id)
        sform.addRow("Version:", self.model_version)
        sform.addRow("Backend:", self.model_backend)
        sform.addRow("Status:", self.model_status)
        self.model_reason = QLabel()
        self.model_reason.setObjectName("sentimentReason")
        self.model_reason.setWordWrap(True)
        self.model_reason.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model_reason.hide()
        sform.addRow(self.model_reason)

        self.app_version = _value_label("appVersion")
        self.data_dir = _value_label("dataDir")
        application = QGroupBox("Application")
        aform = QFormLayout(application)
        aform.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        aform.addRow("Version:", self.app_version)
        aform.addRow("Data folder:", self.data_dir)

        note = QLabel(
            "Model switching and the model registry arrive with the model manager. For now the "
            "engine picks the sentiment model at startup: the fine-tuned ONNX model when it is "
            "installed and passes its checksum, otherwise the always-available finance lexicon."
        )
        note.setObjectName("modelsNote")
        note.setWordWrap(True)
        note.setStyleSheet(MESSAGE_STYLES["info"])

        content = QWidget()
        column = QVBoxLayout(content)
        column.addWidget(hardware)
        column.addWidget(sentiment)
        column.addWidget(application)
        column.addWidget(note)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)

    def set_info(self, info: EngineInfo) -> None:
        self.set_hardware(info.hardware)
        self.set_sentiment(info.sentiment)
        self.app_version.setText(info.version)
        self.data_dir.setText(info.data_dir)

    def set_hardware(self, hw: HardwareProfile) -> None:
        self.tier.setText(f"<b>{hw.tier.upper()}</b> — {hw.tier_reason}")
        self.cores.setText(f"{hw.physical_cores} physical, {hw.logical_cores} logical")
        self.cpu_load.setText(f"{hw.cpu_load_percent:.0f}% (when the engine started)")
        self.memory.setText(f"{hw.ram_available_gb:.1f} GB available of {hw.ram_total_gb:.1f} GB")
        self.disk.setText(f"{hw.disk_free_gb:.1f} GB")
        self.arch.setText(hw.arch)
        self.os.setText(hw.os)
        self.accelerators.setText(", ".join(hw.accelerators) if hw.accelerators else "none (CPU only)")

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
