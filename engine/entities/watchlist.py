"""The analyst's watchlist: symbols with their own aliases, persisted in the store (migration 17).

``add("Tesla")`` or ``add("TSLA")`` finds the company in the universe and stores its canonical symbol;
a symbol the universe does not know is accepted as written when it looks like a ticker, and its
aliases then let the linker find it by name ("add ACME --alias 'Acme Widgets'"). Every alias a user
adds takes part in linking (``companies()`` feeds ``Universe.with_additions``), under the same case
and context rules as the shipped names.

Everything entering here is checked: a symbol is 1-16 letters, digits, '.' or '-'; an alias is at
most 80 characters; a watchlist holds at most ``MAX_ENTRIES`` symbols with ``MAX_ALIASES`` aliases each.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from engine.entities.universe import Company, Universe, UniverseError, clean_alias, normalise_symbol

MAX_ENTRIES = 500
MAX_ALIASES = 20


class WatchlistError(ValueError):
    """A watchlist request that cannot be done; the message says why, in one line."""


@dataclass(frozen=True)
class WatchEntry:
    symbol: str
    name: str
    aliases: tuple[str, ...]  # the user's own, on top of the universe's names
    added_at: float
    known: bool  # the universe knows this company (its names link without any alias)

    def to_dict(self) -> dict:
        return {"symbol": self.symbol, "name": self.name, "aliases": list(self.aliases), "added_at": self.added_at,
                "known": self.known}


class Watchlist:
    def __init__(self, store: Any, universe: Universe) -> None:
        self.store = store
        self.universe = universe

    def entries(self) -> list[WatchEntry]:
        rows = self.store.query("SELECT symbol, name, aliases, added_at FROM watchlist ORDER BY symbol")
        return [WatchEntry(symbol, name, tuple(json.loads(aliases or "[]")), added_at,
                           self.universe.get(symbol) is not None) for symbol, name, aliases, added_at in rows]

    def symbols(self) -> list[str]:
        return [row[0] for row in self.store.query("SELECT symbol FROM watchlist ORDER BY symbol")]

    def revision(self) -> tuple[int, float]:
        """Changes whenever an entry is added, changed or removed (by this process or another)."""
        count, latest = self.store.query("SELECT COUNT(*), COALESCE(MAX(updated_at), 0) FROM watchlist")[0]
        return int(count), float(latest)

    def resolve(self, query: str) -> tuple[str, str, bool]:
        """(symbol, display name, known) for a symbol or company name; raises WatchlistError."""
        text = str(query).strip()
        if not text or len(text) > 80:
            raise WatchlistError("give a symbol or a company name (at most 80 characters)")
        company = self.universe.resolve(text)
        if company is not None:
            return company.symbol, company.name, True
        try:
            symbol = normalise_symbol(text)
        except UniverseError:
            raise WatchlistError(f"no company or symbol matches {text!r}; add it by its ticker with --alias NAME")
        return symbol, symbol, False

    def add(self, query: str, aliases: tuple[str, ...] | list[str] = (), name: str | None = None) -> WatchEntry:
        """Add a symbol (or extend an existing entry's aliases); returns the stored entry."""
        symbol, found_name, known = self.resolve(query)
        try:
            new_aliases = [clean_alias(a) for a in aliases]
            display = clean_alias(name) if name else found_name
        except UniverseError as exc:
            raise WatchlistError(str(exc)) from None
        now = time.time()
        with self.store.transaction() as conn:
            row = conn.execute("SELECT name, aliases, added_at FROM watchlist WHERE symbol = ?", (symbol,)).fetchone()
            if row is None:
                count = conn.execute("SELECT COUNT(*) FROM watchlist").fetchone()[0]
                if count >= MAX_ENTRIES:
                    raise WatchlistError(f"the watchlist is full ({MAX_ENTRIES} symbols); remove one first")
                merged, added_at = new_aliases, now
            else:
                merged = list(dict.fromkeys([*json.loads(row[1] or "[]"), *new_aliases]))
                display = display if name else row[0]
                added_at = row[2]
            if len(merged) > MAX_ALIASES:
                raise WatchlistError(f"{symbol}: at most {MAX_ALIASES} aliases")
            conn.execute("INSERT INTO watchlist (symbol, name, aliases, added_at, updated_at) VALUES (?,?,?,?,?) "
                         "ON CONFLICT(symbol) DO UPDATE SET name = excluded.name, aliases = excluded.aliases, "
                         "updated_at = excluded.updated_at", (symbol, display, json.dumps(merged), added_at, now))
        return WatchEntry(symbol, display, tuple(merged), added_at, known)

    def remove(self, query: str, aliases: tuple[str, ...] | list[str] = ()) -> bool:
        """Remove a symbol, or only the given aliases from it; False when it was not on the list."""
        text = str(query).strip()
        company = self.universe.resolve(text) if text else None
        symbol = company.symbol if company is not None else text.lstrip("$").upper()
        with self.store.transaction() as conn:
            row = conn.execute("SELECT aliases FROM watchlist WHERE symbol = ?", (symbol,)).fetchone()
            if row is None:
                return False
            if not aliases:
                conn.execute("DELETE FROM watchlist WHERE symbol = ?", (symbol,))
                return True
            drop = {a.casefold() for a in aliases}
            kept = [a for a in json.loads(row[0] or "[]") if a.casefold() not in drop]
            conn.execute("UPDATE watchlist SET aliases = ?, updated_at = ? WHERE symbol = ?",
                         (json.dumps(kept), time.time(), symbol))
            return True

    def companies(self) -> list[Company]:
        """The entries as universe additions: their aliases become names the linker knows."""
        return [Company(e.symbol, e.name, tuple(dict.fromkeys((*((e.name,) if not e.known else ()), *e.aliases))),
                        (e.symbol,), "user") for e in self.entries()]
