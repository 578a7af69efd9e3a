"""The watchlist, as the Assets tab's left column: the watched symbols with their names and the
user's aliases; add a symbol or company (with aliases), remove one, or drop some of its aliases.

Everything goes through the watchlist feature (app/bridge/watchlist.py); the list shown is the
feature's ``changed`` feed, so a change made with ``signaldesk watchlist`` shows here within a
second. Picking an entry asks for its asset view (``symbolChosen``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.theme import show_message_in

if TYPE_CHECKING:
    from app.bridge.watchlist import WatchEntry, WatchlistFeature, WatchlistState

SYMBOL_ROLE = Qt.ItemDataRole.UserRole


def split_aliases(text: str) -> list[str]:
    return [a.strip() for a in text.split(",") if a.strip()]


class WatchlistBox(QGroupBox):
    symbolChosen = Signal(str)
    statusMessage = Signal(str)

    def __init__(self, watchlist: WatchlistFeature, parent: QWidget | None = None) -> None:
        super().__init__("Watchlist", parent)
        self.setObjectName("watchlistBox")
        self._watchlist = watchlist
        self.list = QListWidget()
        self.list.setObjectName("watchlistList")
        self.list.setAlternatingRowColors(True)
        self.list.setWordWrap(True)  # long names and aliases wrap instead of scrolling sideways
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.itemActivated.connect(self._on_activated)
        self.list.currentItemChanged.connect(self._on_current)
        self.symbol_edit = QLineEdit()
        self.symbol_edit.setObjectName("watchSymbolEdit")
        self.symbol_edit.setPlaceholderText("Symbol or company, e.g. Tesla")
        self.symbol_edit.setMaxLength(80)
        self.symbol_edit.returnPressed.connect(self.add)
        self.alias_edit = QLineEdit()
        self.alias_edit.setObjectName("watchAliasEdit")
        self.alias_edit.setPlaceholderText("Aliases, comma-separated (optional)")
        self.alias_edit.setToolTip("Names the linker should also know this company by, e.g. “Acme Widgets”; "
                                   "with Remove, only these aliases are dropped")
        self.alias_edit.returnPressed.connect(self.add)
        self.add_button = QPushButton("Add")
        self.add_button.setObjectName("watchAddButton")
        self.add_button.setToolTip("Watch this symbol or company (or add the aliases to a watched one)")
        self.add_button.clicked.connect(self.add)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName("watchRemoveButton")
        self.remove_button.setToolTip("Stop watching the selected symbol; with aliases typed, drop only those")
        self.remove_button.clicked.connect(self.remove_selected)
        self.message = QLabel()
        self.message.setObjectName("watchMessage")
        self.message.setWordWrap(True)
        self.message.hide()

        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.symbol_edit)
        layout.addWidget(self.alias_edit)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        watchlist.changed.connect(self.set_state)
        self.set_state(watchlist.state)

    # -- list ---------------------------------------------------------------------------------
    @Slot(object)
    def set_state(self, state: WatchlistState) -> None:
        current = self.selected_symbol()
        self.list.blockSignals(True)
        try:
            self.list.clear()
            for entry in state.entries:
                item = QListWidgetItem(self._line(entry))
                item.setData(SYMBOL_ROLE, entry.symbol)
                item.setToolTip(self._tip(entry))
                self.list.addItem(item)
                if entry.symbol == current:
                    self.list.setCurrentItem(item)
        finally:
            self.list.blockSignals(False)
        self.setTitle(f"Watchlist ({len(state.entries)})")
        self._update_buttons()

    @staticmethod
    def _line(entry: WatchEntry) -> str:
        name = f" · {entry.name}" if entry.name and entry.name != entry.symbol else ""
        aliases = f" ({', '.join(entry.aliases)})" if entry.aliases else ""
        return f"{entry.symbol}{name}{aliases}"

    @staticmethod
    def _tip(entry: WatchEntry) -> str:
        known = ("its names link without an alias" if entry.known
                 else "not in the shipped universe: only its symbol and aliases link")
        return f"{entry.symbol}: {entry.name}; {known}. Double-click or Enter opens its asset view."

    def symbols(self) -> list[str]:
        return [self.list.item(i).data(SYMBOL_ROLE) for i in range(self.list.count())]

    def selected_symbol(self) -> str | None:
        item = self.list.currentItem()
        return item.data(SYMBOL_ROLE) if item is not None else None

    def select(self, symbol: str) -> bool:
        for i in range(self.list.count()):
            if self.list.item(i).data(SYMBOL_ROLE) == symbol:
                self.list.setCurrentRow(i)
                return True
        return False

    def _on_activated(self, item: QListWidgetItem) -> None:
        self.symbolChosen.emit(item.data(SYMBOL_ROLE))

    def _on_current(self, current, _previous) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self.selected_symbol() is not None)

    # -- changes ------------------------------------------------------------------------------
    @Slot()
    def add(self, query: str | None = None) -> None:
        query = (query if isinstance(query, str) else self.symbol_edit.text()).strip()
        if not query:
            self.show_message("Type a symbol or company name to watch.", "warning")
            return
        self._watchlist.add(query, split_aliases(self.alias_edit.text()), self._on_added, self._on_refused)

    def _on_added(self, entry: WatchEntry) -> None:
        self.symbol_edit.clear()
        self.alias_edit.clear()
        self.show_message(f"Watching {entry.symbol} ({entry.name}).", "info")
        self.statusMessage.emit(f"{entry.symbol} is on the watchlist")
        self.select(entry.symbol)

    @Slot()
    def remove_selected(self) -> None:
        symbol = self.selected_symbol()
        if symbol is None:
            self.show_message("Select a symbol to remove.", "warning")
            return
        aliases = split_aliases(self.alias_edit.text())
        self._watchlist.remove(symbol, lambda found: self._on_removed(symbol, aliases, found), self._on_refused,
                               aliases)

    def _on_removed(self, symbol: str, aliases: list[str], found: bool) -> None:
        if not found:
            self.show_message(f"{symbol} was not on the watchlist.", "warning")
            return
        self.alias_edit.clear()
        what = f"Removed {', '.join(aliases)} from {symbol}" if aliases else f"Stopped watching {symbol}"
        self.show_message(what + ".", "info")
        self.statusMessage.emit(what)

    def _on_refused(self, error: str) -> None:
        self.show_message(error, "error")

    def show_message(self, text: str, kind: str = "info") -> None:
        show_message_in(self.message, text, kind)
