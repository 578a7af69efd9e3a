"""Calibration and Ideas panels: say plainly what is coming, so nobody mistakes them for broken."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ui.theme import MESSAGE_STYLES


class ComingSoonPanel(QWidget):
    def __init__(self, object_name: str, title: str, summary: str, points: list[str],
                 footer: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        heading = QLabel(f"<h2>{html.escape(title)}</h2>")
        heading.setObjectName(f"{object_name}Title")
        body = QLabel(
            f"<p>{html.escape(summary)}</p><ul>"
            + "".join(f"<li>{html.escape(p)}</li>" for p in points)
            + "</ul>"
        )
        body.setObjectName(f"{object_name}Body")
        body.setWordWrap(True)
        body.setTextFormat(Qt.TextFormat.RichText)
        body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        layout.addWidget(heading)
        layout.addWidget(body)
        if footer:
            note = QLabel(footer)
            note.setObjectName(f"{object_name}Note")
            note.setWordWrap(True)
            note.setStyleSheet(MESSAGE_STYLES["info"])
            layout.addWidget(note)
        layout.addStretch(1)


def calibration_panel(parent: QWidget | None = None) -> ComingSoonPanel:
    return ComingSoonPanel(
        "calibrationPanel",
        "Calibration: coming next",
        "This panel will show how far the model's confidence can be trusted, per model version:",
        [
            "reliability diagrams (predicted confidence against observed accuracy, per label);",
            "ECE, MCE and Brier score, tracked over time;",
            "isotonic or Platt calibration fitted on labelled data, applied to new signals, "
            "with before/after comparison.",
        ],
        "Until then the Confidence column in News is the model's raw, uncalibrated probability.",
        parent,
    )
