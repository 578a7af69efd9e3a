"""Settings (File ▸ Settings…, Ctrl+,): the thresholds, auto-explain, threads, memory budget and Redis
that otherwise live in several sections of config.toml, in one window.

Read from and written to the data folder's config.toml through app/bridge/settings.py, which
validates every value with its section's own checks before writing anything. Opened with open():
window-modal, never a blocking exec().
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QGroupBox, QLabel,
                               QLineEdit, QSpinBox, QVBoxLayout, QWidget)

from app.bridge.settings import DeskSettings, read_desk_settings, save_desk_settings
from engine.config import ConfigError


def _percent(value: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0.0, 100.0)
    box.setDecimals(0)
    box.setSuffix(" %")
    box.setValue(round(value * 100))
    return box


def _count(value: int, maximum: int, special: str = "", suffix: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(0 if special else 256, maximum)
    if special:
        box.setSpecialValueText(special)  # 0 shows as "automatic"
    box.setSuffix(suffix)
    box.setValue(int(value))
    return box


class SettingsDialog(QDialog):
    saved = Signal(object)  # DeskSettings, written to config.toml

    def __init__(self, data_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self._data_dir = Path(data_dir)
        self.error = QLabel()
        self.error.setObjectName("settingsError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b91c1c;")
        self.error.hide()
        try:
            current = read_desk_settings(self._data_dir)
        except ConfigError as exc:
            current = DeskSettings()
            self._show_error(str(exc))
        self.loaded = current

        self.idea_min_confidence = _percent(current.idea_min_confidence)
        self.idea_min_confidence.setToolTip("An idea opens only on evidence at least this confident (calibrated)")
        self.alerts_enabled = QCheckBox("Notify on high-impact news")
        self.alerts_enabled.setChecked(current.alerts_enabled)
        self.alert_min_confidence = _percent(current.alert_min_confidence)
        self.auto_explain = QCheckBox("Explain high-impact items as they are scored")
        self.auto_explain.setChecked(current.auto_explain)
        self.auto_explain_min_confidence = _percent(current.auto_explain_min_confidence)
        self.intra_op_threads = _count(current.intra_op_threads, 256, "automatic (physical cores)")
        self.llm_threads = _count(current.llm_threads, 256, "automatic (half the cores)")
        self.memory_budget = _count(current.model_memory_limit_mb, 1_048_576, suffix=" MB")
        self.memory_budget.setSingleStep(256)
        self.memory_budget.setToolTip("Models loaded at once stay within this much memory; older ones are unloaded")
        self.redis_url = QLineEdit(current.redis_url)
        self.redis_url.setPlaceholderText("off  (redis://host:6379/0 or rediss://…)")
        self.redis_url.setToolTip("The password belongs in SIGNALDESK_REDIS_PASSWORD, not in the URL")

        layout = QVBoxLayout(self)
        for title, rows in (
                ("Ideas and alerts", (("Idea minimum confidence:", self.idea_min_confidence),
                                      ("", self.alerts_enabled),
                                      ("Alert minimum confidence:", self.alert_min_confidence))),
                ("Explanations", (("", self.auto_explain),
                                  ("Auto-explain from confidence:", self.auto_explain_min_confidence))),
                ("Performance", (("Scoring threads:", self.intra_op_threads), ("LLM threads:", self.llm_threads),
                                 ("Model memory budget:", self.memory_budget))),
                ("Redis", (("Redis URL:", self.redis_url),))):
            box = QGroupBox(title)
            form = QFormLayout(box)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
            for label, widget in rows:
                form.addRow(label, widget) if label else form.addRow(widget)
            layout.addWidget(box)
        note = QLabel(f"Saved to {self._data_dir.name}/config.toml; takes effect at the next start. "
                      "Environment variables (SIGNALDESK_…) still override these.")
        note.setObjectName("settingsNote")
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(460)

    def values(self) -> DeskSettings:
        return replace(self.loaded, idea_min_confidence=self.idea_min_confidence.value() / 100,
                       alerts_enabled=self.alerts_enabled.isChecked(),
                       alert_min_confidence=self.alert_min_confidence.value() / 100,
                       auto_explain=self.auto_explain.isChecked(),
                       auto_explain_min_confidence=self.auto_explain_min_confidence.value() / 100,
                       intra_op_threads=self.intra_op_threads.value(), llm_threads=self.llm_threads.value(),
                       model_memory_limit_mb=self.memory_budget.value(), redis_url=self.redis_url.text().strip())

    def save(self) -> bool:
        values = self.values()
        try:
            save_desk_settings(self._data_dir, values)
        except (ConfigError, OSError) as exc:
            self._show_error(str(exc))  # nothing written; the dialog stays open with what was typed
            return False
        self.saved.emit(values)
        self.accept()
        return True

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.show()
