"""Table model for analyzed news signals: one row per ``engine.types.Signal``, append-only."""

from __future__ import annotations

import html
import time
from typing import Any, Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from engine.types import Signal
from ui.models.base import RowTableModel
from ui.theme import is_dark, label_colors

COLUMNS = ("Time", "Source", "Tickers", "Label", "Confidence", "Verdict", "Model", "Text")
COL_TIME, COL_SOURCE, COL_TICKERS, COL_LABEL, COL_CONFIDENCE, COL_VERDICT, COL_MODEL, COL_TEXT = range(len(COLUMNS))

_HEADER_TIPS = (
    "When the item was received (local time)",
    "Where the item came from (paste, file, feed…)",
    "Cashtags and tickers found in the text",
    "Sentiment label from the active model",
    "Probability of the chosen label: calibrated when the model version has a calibrator "
    "(the raw model probability is in the tooltip)",
    "Your feedback: right, wrong, or the label that was right (Ctrl+Shift+R / W, right-click for labels)",
    "Model id and version that scored the item",
    "The item as scored (long items are cut)",
)

# The Signal itself, for code that needs more than the cell text.
SIGNAL_ROLE = Qt.ItemDataRole.UserRole
# Sort keys: numbers where display text would sort wrongly ("9%" > "10%").
SORT_ROLE = Qt.ItemDataRole.UserRole + 1

_Index = QModelIndex | QPersistentModelIndex


class SignalTableModel(RowTableModel):
    """Rows are kept in arrival order; sorting is left to a QSortFilterProxyModel."""

    columns = COLUMNS
    header_tips = _HEADER_TIPS

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[Signal] = []
        self._verdicts: dict[int, tuple[bool, str | None]] = {}  # signal id -> (correct, right label)

    # -- mutation -----------------------------------------------------------------------
    def append(self, signals: Sequence[Signal]) -> None:
        """One beginInsertRows per call, so a whole engine batch costs one view update."""
        if not signals:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(signals) - 1)
        self._rows.extend(signals)
        self.endInsertRows()

    def set_signals(self, signals: Sequence[Signal]) -> None:
        """Replace the contents (history at startup), keeping rows added since that are not in it."""
        known = {s.id for s in signals if s.id is not None}
        extra = [s for s in self._rows if s.id is None or s.id not in known]
        self.beginResetModel()
        self._rows = list(signals) + extra
        self.endResetModel()

    def reset(self, signals: Sequence[Signal]) -> None:
        """Exactly these rows (e.g. back to this session's after the stored history was shown)."""
        self.beginResetModel()
        self._rows = list(signals)
        self.endResetModel()

    def signal_at(self, row: int) -> Signal:
        return self._rows[row]

    def set_verdict(self, signal_id: int, correct: bool, label: str | None) -> None:
        """Mark an analyst verdict; ``label`` is the right label when one was given."""
        self._verdicts[signal_id] = (bool(correct), label)
        for row, sig in enumerate(self._rows):
            if sig.id == signal_id:
                self.dataChanged.emit(self.index(row, COL_VERDICT), self.index(row, COL_VERDICT))

    def set_verdicts(self, verdicts: dict[int, tuple[bool, str | None]]) -> None:
        """Verdicts recorded before (e.g. in an earlier session), in one repaint."""
        self._verdicts.update(verdicts)
        if self._rows:
            self.dataChanged.emit(self.index(0, COL_VERDICT), self.index(len(self._rows) - 1, COL_VERDICT))

    def verdict_text(self, sig: Signal) -> str:
        found = self._verdicts.get(sig.id) if sig.id is not None else None
        if found is None:
            return ""
        correct, label = found
        if label is not None and label != sig.label:
            return f"✗ → {label}"
        return "✓ right" if correct else "✗ wrong"

    # -- Qt model API -------------------------------------------------------------------
    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        sig = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.verdict_text(sig) if col == COL_VERDICT else _display(sig, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(sig, self.verdict_text(sig))
        if role == SORT_ROLE:
            if col == COL_TIME:
                return index.row()  # arrival order: exact, even for items of one batch
            if col == COL_CONFIDENCE:
                return sig.recorded_confidence  # what the cell shows
            if col == COL_VERDICT:
                return self.verdict_text(sig)
            return _display(sig, col)
        if role == SIGNAL_ROLE:
            return sig
        if col == COL_VERDICT and role == Qt.ItemDataRole.ForegroundRole:
            verdict = self.verdict_text(sig)
            # The label colours' foregrounds: green for right, red for wrong, on either palette.
            colors = label_colors("bullish" if verdict.startswith("✓") else "bearish", is_dark()) if verdict else None
            return colors[0] if colors else None
        if col == COL_LABEL and role in (Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.BackgroundRole):
            colors = label_colors(sig.label, is_dark())
            if colors is None:
                return None
            return colors[0] if role == Qt.ItemDataRole.ForegroundRole else colors[1]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col == COL_CONFIDENCE:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if col in (COL_LABEL, COL_VERDICT):
                return int(Qt.AlignmentFlag.AlignCenter)
        return None


def _display(sig: Signal, col: int) -> str:
    if col == COL_TIME:
        return time.strftime("%H:%M:%S", time.localtime(sig.received_at))
    if col == COL_SOURCE:
        return sig.source
    if col == COL_TICKERS:
        return ", ".join(sig.entities)
    if col == COL_LABEL:
        return sig.label
    if col == COL_CONFIDENCE:
        # What it was shown with when scored, never a later calibrator's rewrite (the tooltip has both).
        return f"{sig.recorded_confidence:.0%}" + (" *" if sig.view_changed else "")
    if col == COL_MODEL:
        return f"{sig.model_id} {sig.model_version}"
    if col == COL_TEXT:
        return sig.text
    return ""


def confidence_text(sig: Signal) -> str:
    """e.g. "72% (raw 91%, isotonic/top_label #3)"; just the raw figure when uncalibrated. When the
    current view differs from what the signal was shown with, both: "78.0% as shown (…); now 86.0% (…)"."""
    if sig.calibrated_confidence is None:
        current = f"{sig.confidence:.1%} (uncalibrated)"
    else:
        current = f"{sig.calibrated_confidence:.1%} (raw {sig.confidence:.1%}, {sig.calibrator})"
    first = sig.first_shown
    if first is None or not sig.view_changed:
        return current
    label = "" if first.label == sig.shown_label else f"{first.label} "
    return f"{label}{first.confidence:.1%} as shown ({first.calibrator or 'uncalibrated'}); now {current}"


def _tooltip(sig: Signal, verdict: str = "") -> str:
    # Rich text so Qt word-wraps long items instead of drawing a screen-wide tooltip.
    when = time.strftime("%A %d %B %Y, %H:%M:%S %Z", time.localtime(sig.received_at))
    probs = " · ".join(f"{name} {p:.1%}" for name, p in sig.probabilities.items())
    extra = " (cut to the maximum item length)" if sig.truncated else ""
    feedback = f"<br>Your feedback: {html.escape(verdict)}" if verdict else ""
    return (
        f"<p>{html.escape(sig.text)}</p>"
        f"<p><b>{html.escape(sig.label)}</b> {html.escape(confidence_text(sig))} — raw {probs}<br>"
        f"{html.escape(when)} · {html.escape(sig.source)}{extra}<br>"
        f"{html.escape(sig.model_id)} {html.escape(sig.model_version)}, {sig.latency_ms:.1f} ms{feedback}</p>"
    )
