"""The News panel's feedback bar: an analyst's verdict on the selected signals (right, wrong, or the
label that was right) with an optional note, recorded through the feedback feature as calibration
outcomes (source b). Its actions carry the keys; the panel adds them where they apply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

if TYPE_CHECKING:
    from app.bridge.feedback import FeedbackFeature, FeedbackResult

# Analyst feedback keys: (keys, right, label). Up / Down / Neutral name the right label.
FEEDBACK_KEYS = (("Ctrl+Shift+R", True, None), ("Ctrl+Shift+W", False, None), ("Ctrl+Shift+U", None, "bullish"),
                 ("Ctrl+Shift+D", None, "bearish"), ("Ctrl+Shift+N", None, "neutral"))


class FeedbackBar(QWidget):
    statusMessage = Signal(str)
    messageRequested = Signal(str, str)  # text, kind: for the panel's message line
    recorded = Signal(object)  # FeedbackResult: the verdict is stored, show it in the table

    def __init__(self, feedback: FeedbackFeature, selected_signals: Callable[[], list],
                 parent: QWidget | None = None, *, keys: bool = True) -> None:
        super().__init__(parent)
        self._feedback = feedback
        self._selected_signals = selected_signals
        self._pending = 0  # verdicts sent, not answered yet
        with_keys = keys

        self.verdict_actions: list[QAction] = []
        names = {(True, None): ("markRightAction", "Mark right"), (False, None): ("markWrongAction", "Mark wrong")}
        for keys, right, label in FEEDBACK_KEYS:
            name, text = names.get((right, label), (f"markLabel_{label}", f"Right label: {label}"))
            act = QAction(text, self)
            act.setObjectName(name)
            if with_keys:  # one owner per key: a second bar (the Live tab's) has buttons only
                act.setShortcut(QKeySequence(keys))
                act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.setToolTip(f"{text} for the selected signal(s) ({keys}); recorded as an analyst outcome")
            act.triggered.connect(lambda _=False, r=right, lab=label: self.give(r, lab))
            self.verdict_actions.append(act)
        self.mark_right_action, self.mark_wrong_action = self.verdict_actions[:2]

        self.right_button = QPushButton("✓ Right")
        self.right_button.setObjectName("feedbackRightButton")
        self.right_button.clicked.connect(self.mark_right_action.trigger)
        self.wrong_button = QPushButton("✗ Wrong")
        self.wrong_button.setObjectName("feedbackWrongButton")
        self.wrong_button.clicked.connect(self.mark_wrong_action.trigger)
        self.label_combo = QComboBox()
        self.label_combo.setObjectName("feedbackLabelCombo")
        self.label_combo.addItem("Right label is…")
        # Labels are read back from this list, not itemData(): see ui/panels/calibration.py _key.
        self._combo_labels = [None] + [label for _, right, label in FEEDBACK_KEYS if label is not None]
        for label in self._combo_labels[1:]:
            self.label_combo.addItem(label, label)
        self.label_combo.setToolTip("Give the label that was right (Ctrl+Shift+U bullish, D bearish, N neutral)")
        self.label_combo.activated.connect(self._on_label_chosen)
        self.note = QLineEdit()
        self.note.setObjectName("feedbackNote")
        self.note.setPlaceholderText("Note (optional)")
        self.note.setToolTip("Sent with the verdict and kept in the outcome's record")
        # Never narrower than its placeholder (it was cut at small widths).
        self.note.setMinimumWidth(self.note.fontMetrics().horizontalAdvance("Note (optional)") + 48)
        self.note.setClearButtonEnabled(True)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        caption = QLabel("Feedback on selected:")
        caption.setToolTip("Verdicts become calibration outcomes for the signal's model version")
        row.addWidget(caption)
        row.addWidget(self.right_button)
        row.addWidget(self.wrong_button)
        row.addWidget(self.label_combo)
        row.addWidget(self.note, 1)

    def set_available(self, available: bool) -> None:
        """Verdicts apply to stored signals only: off while none is selected."""
        for widget in (*self.verdict_actions, self.right_button, self.wrong_button, self.label_combo):
            widget.setEnabled(available)

    @Slot(int)
    def _on_label_chosen(self, index: int) -> None:
        label = self._combo_labels[index] if 0 <= index < len(self._combo_labels) else None
        self.label_combo.setCurrentIndex(0)  # a command, not a setting: back to the prompt
        if label:
            self.give(None, label)

    def give(self, right: bool | None, label: str | None) -> None:
        """Record the verdict for every selected stored signal; confirmations come back per signal."""
        signals = self._selected_signals()
        stored = [s for s in signals if s.id is not None]
        if not stored:
            self.messageRequested.emit("Select a scored signal first: feedback is recorded per stored signal.",
                                       "warning")
            return
        note = self.note.text().strip()
        said = f"right label {label}" if label is not None else ("right" if right else "wrong")
        for sig in stored:
            self._pending += 1
            self._feedback.record(sig.id, lambda result, said=said: self._on_recorded(result, said),
                                  lambda error, sid=sig.id: self._on_refused(sid, error),
                                  right=right, label=label, note=note)
        self.statusMessage.emit(f"Recording feedback on {len(stored)} signal{'s' if len(stored) != 1 else ''}…")

    def _on_refused(self, signal_id: int, error: str) -> None:
        self._pending -= 1
        self.messageRequested.emit(f"Feedback on signal #{signal_id} was not recorded: {error}", "error")

    def _on_recorded(self, result: FeedbackResult, said: str) -> None:
        self._pending -= 1
        self.recorded.emit(result)
        if not self._pending:
            self.note.clear()  # the note went with the verdict
        refit = " A calibrator refit has started." if result.refit_started else ""
        self.messageRequested.emit(f"Recorded: signal #{result.signal_id} marked {said}. {result.outcomes:,} "
                                   f"outcomes for its model version; {result.explanation}.{refit}", "info")
        self.statusMessage.emit(f"Feedback recorded: #{result.signal_id} {said}")
