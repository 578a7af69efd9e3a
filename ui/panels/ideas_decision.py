"""The dialog that rejects an idea or edits its size: a note is required, the size is bounded."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from engine.ideas.model import TradeIdea
from ui.models.idea_table import STRATEGY_NAMES, humanise
from ui.theme import MESSAGE_STYLES


class DecisionDialog(QDialog):
    """Reject or edit-size: a note is required; the size is bounded by the idea's limit.

    The engine checks the same rules again; this dialog only saves a round trip.
    """

    def __init__(self, idea: TradeIdea, decision: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        assert decision in ("reject", "edit")
        self.setObjectName("ideaDecisionDialog")
        self.idea = idea
        self.decision = decision
        title = f"Reject idea #{idea.id}" if decision == "reject" else f"Edit the size of idea #{idea.id}"
        self.setWindowTitle(title)
        self.setMinimumWidth(440)

        summary = QLabel(
            f"<b>{html.escape(idea.direction)} {html.escape(idea.symbol)}</b> · "
            f"{html.escape(STRATEGY_NAMES.get(idea.strategy, humanise(idea.strategy)))} · "
            f"{html.escape(humanise(idea.regime))} · risk {html.escape(idea.risk_level)} · "
            f"size {idea.size:.2%} (limit {idea.size_limit:.2%})")
        summary.setObjectName("dialogSummary")
        summary.setTextFormat(Qt.TextFormat.RichText)

        form = QFormLayout()
        self.size_spin: QDoubleSpinBox | None = None
        if decision == "edit":
            spin = QDoubleSpinBox()
            spin.setObjectName("sizeSpin")
            spin.setDecimals(2)  # sizes are multiples of 0.01 % of equity
            spin.setSuffix(" % of equity")
            spin.setSingleStep(0.1)
            spin.setRange(0.01, max(0.01, idea.size_limit * 100))
            spin.setValue(idea.size * 100)
            spin.setToolTip("Between 0.01 % and this idea's limit: the smallest of the position cap, "
                            "the Kelly cap and the leverage headroom when it was proposed.")
            form.addRow("New size", spin)
            self.size_spin = spin
        self.note = QPlainTextEdit()
        self.note.setObjectName("noteEdit")
        self.note.setPlaceholderText("Why? Required; saved in the audit trail.  (Ctrl+Enter saves)")
        self.note.setTabChangesFocus(True)
        self.note.setFixedHeight(self.note.fontMetrics().lineSpacing() * 4 + 12)
        form.addRow("Note", self.note)

        self.error = QLabel()
        self.error.setObjectName("dialogError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(MESSAGE_STYLES["error"])
        self.error.hide()

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Reject idea" if decision == "reject" else "Save size")
        ok.setObjectName("dialogOk")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, activated=self.accept)

        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        (self.size_spin or self.note).setFocus()

    def note_text(self) -> str:
        return self.note.toPlainText().strip()

    def size(self) -> float | None:
        if self.size_spin is None:
            return None
        # Back to a fraction, rounded so 2.17 % is 0.0217 and not 0.021699999999999997.
        return round(self.size_spin.value() / 100, 6)

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def accept(self) -> None:
        if not self.note_text():
            verb = "reject" if self.decision == "reject" else "change the size of"
            self.show_error(f"A note is required to {verb} an idea: say why, for the audit trail.")
            self.note.setFocus()
            return
        if self.decision == "edit" and abs(self.size() - self.idea.size) < 5e-5:
            self.show_error("The size is unchanged: pick a new size, or Cancel.")
            self.size_spin.setFocus()
            return
        super().accept()
