"""A refused refit side by side with the active view, so an operator can still choose it.

The acceptance rule (engine/calibration/acceptance.py) keeps the active calibrator when a new fit
is not better out of fold. The operator sees both top-label reliability diagrams on the same rows
(each row predicted by a map that never saw it) with the Brier and ECE figures, and may keep the
active one or make the candidate active anyway; that override is audited with their name.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.wording import plural
from ui.widgets.reliability import ReliabilityView


class RefusedFitComparison(QFrame):
    """Active vs candidate reliability for the last refused fit, with Keep / Make active anyway."""

    confirmRequested = Signal(str, str)  # method, scheme of the candidate
    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("refusedFitComparison")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.verdict = None
        self.summary = QLabel()
        self.summary.setObjectName("refusedFitSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.active_view = ReliabilityView("refusedActiveDiagram", "Active view (out of fold)")
        self.candidate_view = ReliabilityView("refusedCandidateDiagram", "Candidate (out of fold)")
        self.keep_button = QPushButton("Keep the active calibrator")
        self.keep_button.setObjectName("keepActiveButton")
        self.keep_button.clicked.connect(self._keep)
        self.confirm_button = QPushButton("Make the candidate active anyway")
        self.confirm_button.setObjectName("confirmCandidateButton")
        self.confirm_button.setToolTip("Overrides the acceptance rule for this fit only; recorded in the calibration "
                                       "audit with your name and both figures. Confidences already shown keep the "
                                       "value they were shown with.")
        self.confirm_button.clicked.connect(self._confirm)
        diagrams = QHBoxLayout()
        diagrams.addWidget(self.active_view)
        diagrams.addWidget(self.candidate_view)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.keep_button)
        buttons.addWidget(self.confirm_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.summary)
        layout.addLayout(diagrams, 1)
        layout.addLayout(buttons)
        self.hide()

    def show_verdict(self, verdict, active_name: str) -> None:
        """Show a refused FitVerdict (engine/calibration/acceptance.py) against ``active_name``."""
        self.verdict = verdict
        candidate = f"{verdict.method}/{verdict.scheme}" if verdict.scheme else verdict.method
        self.summary.setText(
            f"<b>Refit refused:</b> {candidate} is not better than {active_name or 'the raw confidence'} on "
            f"{plural(verdict.compared, 'outcome')} neither was fitted on (top-label Brier "
            f"{_fig(verdict.candidate_brier)} vs {_fig(verdict.active_brier)}, ECE {_fig(verdict.candidate_ece)} vs "
            f"{_fig(verdict.active_ece)}; lower is better). The active calibrator stays unless you choose otherwise.")
        self.active_view.set_title(f"Active: {active_name or 'raw confidence'}")
        self.candidate_view.set_title(f"Candidate: {candidate}")
        self.active_view.set_diagram(verdict.active_diagram, "No compared outcomes")
        self.candidate_view.set_diagram(verdict.candidate_diagram, "No compared outcomes")
        self.confirm_button.setEnabled(bool(verdict.method))
        self.show()

    def _keep(self) -> None:
        self.hide()
        self.dismissed.emit()

    def _confirm(self) -> None:
        if self.verdict is not None:
            self.confirm_button.setEnabled(False)
            self.confirmRequested.emit(self.verdict.method, self.verdict.scheme)


def _fig(value) -> str:
    return "–" if value is None else f"{value:.4f}"
