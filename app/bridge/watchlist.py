"""The watchlist for the desk: add and remove symbols and aliases, and a feed of the list as it is.

Push feed: ``changed`` carries the whole list (``WatchlistState``) once the engine is up, after
every change made here, and within ``POLL_S`` of a change made elsewhere (``signaldesk watchlist
add`` in a terminal): the ticker compares the store's watchlist revision each second.

Operations: ``add`` and ``remove``; a refused request (an unknown name, a full list, a bad alias)
comes back to ``on_refused`` as ``engine.entities.watchlist.WatchlistError``'s one line.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Sequence

from PySide6.QtCore import Signal

from app.bridge.feature import Feature
from app.bridge.host import EngineHost
from app.bridge.operations import Operation
from engine.entities.watchlist import WatchEntry, WatchlistError

__all__ = ["WatchlistFeature", "WatchlistState", "WatchEntry"]

POLL_S = 1.0  # a change made by another process shows within this


@dataclass(frozen=True)
class WatchlistState:
    entries: tuple[WatchEntry, ...]  # by symbol

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(e.symbol for e in self.entries)

    def entry(self, symbol: str) -> WatchEntry | None:
        return next((e for e in self.entries if e.symbol == symbol), None)


class WatchlistFeature(Feature):
    changed = Signal(object)  # WatchlistState

    def __init__(self, host: EngineHost) -> None:
        super().__init__(host)
        self._lock = threading.Lock()
        self._revision: tuple[int, float] | None = None
        self._state = WatchlistState(())
        host.on_start(lambda _engine: self._publish_if_changed())
        host.every(POLL_S, self._publish_if_changed)

    @property
    def state(self) -> WatchlistState:
        """The list as last published (empty until the engine is up)."""
        with self._lock:
            return self._state

    def _publish_if_changed(self) -> None:
        """Engine lane or ticker: read the list when its revision moved, and publish it."""
        engine = self._host.engine
        watchlist = engine.watchlist if engine is not None else None
        if watchlist is None:
            return
        revision = watchlist.revision()
        with self._lock:
            if revision == self._revision:
                return
            self._revision = revision
        state = WatchlistState(tuple(watchlist.entries()))
        with self._lock:
            self._state = state
        self.changed.emit(state)

    def _change(self, name: str, act: Callable, on_done: Callable, on_refused: Callable[[str], None]) -> Operation:
        def run(ctx):
            if ctx.engine.watchlist is None:
                raise WatchlistError("the watchlist needs a data folder")
            result = act(ctx.engine.watchlist)
            self._publish_if_changed()
            return result

        return self.op(name, run, expected=(WatchlistError,)).on_success(on_done).on_failure(on_refused).run()

    def add(self, query: str, aliases: Sequence[str], on_added: Callable[[WatchEntry], None],
            on_refused: Callable[[str], None], name: str | None = None) -> Operation:
        """Watch a symbol or company ("Tesla", "TSLA", "$TSLA"), or add aliases to a watched one."""
        aliases = tuple(a for a in (s.strip() for s in aliases) if a)
        return self._change(f"Adding {query!r} to the watchlist", lambda w: w.add(query, aliases, name),
                            on_added, on_refused)

    def remove(self, query: str, on_removed: Callable[[bool], None], on_refused: Callable[[str], None],
               aliases: Sequence[str] = ()) -> Operation:
        """Stop watching a symbol, or only drop some of its aliases; the callback gets False when it
        was not on the list."""
        aliases = tuple(aliases)
        return self._change(f"Removing {query!r} from the watchlist", lambda w: w.remove(query, aliases),
                            on_removed, on_refused)
