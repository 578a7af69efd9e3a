"""The Ideas panel's filter row: state, symbol, regime, strategy and risk, and how many ideas show."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from engine.risk.config import REGIMES
from ui.models.idea_table import STRATEGY_NAMES, humanise


class IdeaFilterBar(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state_filter = QComboBox()
        self.state_filter.setObjectName("stateFilter")
        for text, value in (("To review", "proposed"), ("Approved", "approved"), ("Rejected", "rejected"),
                            ("All states", None)):
            self.state_filter.addItem(text, value)
        self.symbol_filter = QLineEdit()
        self.symbol_filter.setObjectName("symbolFilter")
        self.symbol_filter.setPlaceholderText("Symbol…")
        self.symbol_filter.setClearButtonEnabled(True)
        self.symbol_filter.setMaximumWidth(140)
        self.regime_filter = QComboBox()
        self.regime_filter.setObjectName("regimeFilter")
        self.regime_filter.addItem("Any regime", None)
        for regime in REGIMES:
            self.regime_filter.addItem(humanise(regime), regime)
        self.strategy_filter = QComboBox()
        self.strategy_filter.setObjectName("strategyFilter")
        self.strategy_filter.addItem("Any strategy", None)
        for strategy, name in STRATEGY_NAMES.items():
            self.strategy_filter.addItem(name, strategy)
        self.risk_filter = QComboBox()
        self.risk_filter.setObjectName("riskFilter")
        self.risk_filter.addItem("Any risk", None)
        for level in ("low", "medium", "high"):
            self.risk_filter.addItem(f"{level} risk", level)
        self.count_label = QLabel()
        self.count_label.setObjectName("ideasCount")

        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Show"))
        for widget in (self.state_filter, self.symbol_filter, self.regime_filter, self.strategy_filter,
                       self.risk_filter):
            row.addWidget(widget)
        row.addStretch(1)
        row.addWidget(self.count_label)
        for combo in (self.state_filter, self.regime_filter, self.strategy_filter, self.risk_filter):
            combo.currentIndexChanged.connect(self.changed)
        self.symbol_filter.textChanged.connect(self.changed)

    def chosen(self) -> dict:
        """The filters as ``IdeaFilterProxy.set_filters`` takes them."""
        return {"state": self.state(), "symbol": self.symbol_filter.text(), "regime": self.regime_filter.currentData(),
                "strategy": self.strategy_filter.currentData(), "risk": self.risk_filter.currentData()}

    def state(self) -> str | None:
        """The state shown (None: all states); exports take the same."""
        return self.state_filter.currentData()

    def set_state(self, state: str | None) -> None:
        self.state_filter.setCurrentIndex(self.state_filter.findData(state))

    def show_counts(self, total: int, shown: int) -> None:
        self.count_label.setText(f"{total:,} idea{'' if total == 1 else 's'}" if shown == total
                                 else f"{shown:,} of {total:,} ideas shown")
