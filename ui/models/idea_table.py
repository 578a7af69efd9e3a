"""Table model and filter proxy for trade ideas: one row per ``engine.ideas.TradeIdea``.

Rows are replaced whole when a decision comes back (ideas are frozen snapshots plus a
state), so the model never edits an idea itself; sorting and filtering live in the proxy.
"""

from __future__ import annotations

import time
from typing import Any, Iterable, Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor

from engine.ideas.model import TradeIdea
from ui.models.base import RowTableModel
from ui.theme import is_dark, label_colors

# What a reviewer decides on comes first; the creation time (least needed) stretches last.
# The size limit is in the Size tooltip, the detail view and the edit dialog: the queue must
# fit beside the detail pane without scrolling sideways.
COLUMNS = ("ID", "State", "Symbol", "Side", "Size", "Risk", "Regime", "Strategy", "Conf.", "Created")
(COL_ID, COL_STATE, COL_SYMBOL, COL_SIDE, COL_SIZE, COL_RISK, COL_REGIME, COL_STRATEGY,
 COL_CONFIDENCE, COL_CREATED) = range(len(COLUMNS))

_HEADER_TIPS = (
    "Idea number, as in the audit trail and exports",
    "Review state: proposed, approved or rejected",
    "The symbol the idea is about",
    "Long or short",
    "Current size as a fraction of equity (proposed, or as last edited: ✎); hover for the limit",
    "Risk level and score (volatility, liquidity, regime, news)",
    "Market regime of the symbol when the idea was proposed",
    "Follow the news, or fade a stretched move (chosen by regime)",
    "Confidence the idea is ranked and sized by: the classifier's calibrated confidence (raw when its "
    "model version had no calibrator yet), blended with the LLM's when it gave an opinion; hover a cell "
    "for the raw figure",
    "When the engine proposed the idea (local time)",
)

STRATEGY_NAMES = {"follow_news": "Follow news", "fade_stretched_move": "Fade stretch"}

IDEA_ROLE = Qt.ItemDataRole.UserRole
SORT_ROLE = Qt.ItemDataRole.UserRole + 1

_Index = QModelIndex | QPersistentModelIndex

# (light fg, light bg), (dark fg, dark bg): explicit pairs, readable on either palette.
_STATE_HEX = {
    "proposed": (("#1e3a8a", "#dbeafe"), ("#bfdbfe", "#1e3a8a")),
    "approved": (("#166534", "#dcfce7"), ("#86efac", "#14532d")),
    "rejected": (("#4b5563", "#e5e7eb"), ("#d1d5db", "#374151")),
}
_RISK_HEX = {
    "low": (("#166534", "#dcfce7"), ("#86efac", "#14532d")),
    "medium": (("#713f12", "#fef3c7"), ("#fde68a", "#713f12")),
    "high": (("#991b1b", "#fee2e2"), ("#fca5a5", "#7f1d1d")),
}


def _pair(table: dict, key: str, dark: bool) -> tuple[QColor, QColor] | None:
    pairs = table.get(key)
    if pairs is None:
        return None
    fg, bg = pairs[1 if dark else 0]
    return QColor(fg), QColor(bg)


def state_colors(state: str, dark: bool) -> tuple[QColor, QColor] | None:
    return _pair(_STATE_HEX, state, dark)


def risk_colors(level: str, dark: bool) -> tuple[QColor, QColor] | None:
    return _pair(_RISK_HEX, level, dark)


def humanise(name: str) -> str:
    return name.replace("_", " ")


class IdeaTableModel(RowTableModel):
    columns = COLUMNS
    header_tips = _HEADER_TIPS

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[TradeIdea] = []
        self._row_of: dict[int, int] = {}

    # -- mutation -----------------------------------------------------------------------
    def set_ideas(self, ideas: Sequence[TradeIdea]) -> None:
        self.beginResetModel()
        self._rows = list(ideas)
        self._row_of = {idea.id: row for row, idea in enumerate(self._rows)}
        self.endResetModel()

    def upsert(self, ideas: Iterable[TradeIdea]) -> None:
        """Replace known ideas in place (a decision), append new ones in one insert (proposals)."""
        new: list[TradeIdea] = []
        for idea in ideas:
            row = self._row_of.get(idea.id)
            if row is None:
                new.append(idea)
                continue
            self._rows[row] = idea
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        new = list({idea.id: idea for idea in new}.values())  # a batch may repeat an idea
        if new:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            for idea in new:
                self._row_of[idea.id] = len(self._rows)
                self._rows.append(idea)
            self.endInsertRows()

    def idea_at(self, row: int) -> TradeIdea:
        return self._rows[row]

    def idea(self, idea_id: int) -> TradeIdea | None:
        row = self._row_of.get(idea_id)
        return None if row is None else self._rows[row]

    def ideas(self) -> list[TradeIdea]:
        return list(self._rows)

    def row_of(self, idea_id: int) -> int | None:
        return self._row_of.get(idea_id)

    # -- Qt model API -------------------------------------------------------------------
    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        idea = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(idea, col)
        if role == IDEA_ROLE:
            return idea
        if role == SORT_ROLE:
            return _sort_key(idea, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_STRATEGY:
                return humanise(idea.strategy)
            if col == COL_CREATED:
                return time.strftime("%A %d %B %Y, %H:%M:%S", time.localtime(idea.created_at))
            if col == COL_SIZE:
                edited = (f"Edited: proposed {idea.proposed_size:.2%}, now {idea.size:.2%}. "
                          if idea.size != idea.proposed_size else "")
                return f"{edited}An edit may set up to {idea.size_limit:.2%} of equity."
            if col == COL_CONFIDENCE:
                return confidence_tooltip(idea)
            return None
        if role in (Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.BackgroundRole):
            colors = None
            if col == COL_STATE:
                colors = state_colors(idea.state, is_dark())
            elif col == COL_RISK:
                colors = risk_colors(idea.risk_level, is_dark())
            elif col == COL_SIDE:
                colors = label_colors("bullish" if idea.direction == "long" else "bearish", is_dark())
            if colors is None:
                return None
            return colors[0] if role == Qt.ItemDataRole.ForegroundRole else colors[1]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col in (COL_ID, COL_CONFIDENCE, COL_SIZE):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if col in (COL_SIDE, COL_STATE, COL_RISK):
                return int(Qt.AlignmentFlag.AlignCenter)
        return None


def confidence_tooltip(idea: TradeIdea) -> str:
    if idea.calibrated:
        return (f"Calibrated {idea.confidence:.1%} (raw {idea.raw_confidence:.1%}, {idea.calibrator}). "
                "The idea threshold, sizing and ranking use calibrated figures; the raw one is kept.")
    return (f"{idea.confidence:.1%}, uncalibrated: the model version had no calibrator when the idea was "
            "proposed.")


def _display(idea: TradeIdea, col: int) -> str:
    if col == COL_ID:
        return str(idea.id)
    if col == COL_CREATED:
        return time.strftime("%m-%d %H:%M", time.localtime(idea.created_at))  # the year is in the tooltip
    if col == COL_SYMBOL:
        return idea.symbol
    if col == COL_SIDE:
        return idea.direction
    if col == COL_STRATEGY:
        return STRATEGY_NAMES.get(idea.strategy, humanise(idea.strategy))
    if col == COL_REGIME:
        return humanise(idea.regime)
    if col == COL_RISK:
        return f"{idea.risk_level} {idea.risk_score:.2f}"
    if col == COL_CONFIDENCE:
        return f"{idea.confidence:.0%}"
    if col == COL_SIZE:
        edited = "✎ " if idea.size != idea.proposed_size else ""  # marks an edited size at a glance
        return f"{edited}{idea.size:.2%}"
    if col == COL_STATE:
        return idea.state
    return ""


def _sort_key(idea: TradeIdea, col: int) -> Any:
    # Numbers where the display text would sort wrongly ("9%" > "10%", "#10" < "#9").
    numeric = {COL_ID: idea.id, COL_CREATED: idea.created_at, COL_RISK: idea.risk_score,
               COL_CONFIDENCE: idea.confidence, COL_SIZE: idea.size}
    if col in numeric:
        return numeric[col]
    return _display(idea, col)


class IdeaFilterProxy(QSortFilterProxyModel):
    """Filters by state, symbol (prefix, any case), regime, strategy and risk level."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self._state: str | None = None
        self._symbol = ""
        self._regime: str | None = None
        self._strategy: str | None = None
        self._risk: str | None = None

    def set_filters(self, *, state: str | None = None, symbol: str = "", regime: str | None = None,
                    strategy: str | None = None, risk: str | None = None) -> None:
        """None or "" means "any"."""
        self.beginFilterChange()
        self._state = state or None
        self._symbol = symbol.strip().upper()
        self._regime = regime or None
        self._strategy = strategy or None
        self._risk = risk or None
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filters(self) -> dict[str, Any]:
        return {"state": self._state, "symbol": self._symbol, "regime": self._regime,
                "strategy": self._strategy, "risk": self._risk}

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        model = self.sourceModel()
        if not isinstance(model, IdeaTableModel) or source_row >= model.rowCount():
            return True
        idea = model.idea_at(source_row)
        return ((self._state is None or idea.state == self._state)
                and (not self._symbol or idea.symbol.startswith(self._symbol))
                and (self._regime is None or idea.regime == self._regime)
                and (self._strategy is None or idea.strategy == self._strategy)
                and (self._risk is None or idea.risk_level == self._risk))

    def idea_at(self, proxy_row: int) -> TradeIdea:
        return self.index(proxy_row, 0).data(IDEA_ROLE)
