"""The desk's idea book and the proposals made from freshly scored signals.

``open_idea_book`` opens the book with the data folder's ``[risk]`` and ``[news]`` settings
(the desk and the CLI read the same ones). ``AutoProposer`` listens to ``Engine.on_scored``
twice: an inline listener notes the assets each stored batch names (microseconds, on the
storing thread), and a background one, on the after-scoring thread, proposes for every asset
noted so far in one pass. A burst of batches is thereby coalesced: the first background call
handles the assets of every batch stored meanwhile and the calls behind it find nothing left
to do. Only the assets touched are re-evaluated, each from all its stored evidence, with the
same per-asset logic as ``signaldesk ideas propose``. Outcomes go to the proposer's listeners
(the desk shows them) when something was created, updated or closed.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from engine.ideas.book import IdeaBook
from engine.ideas.model import ProposalResult
from engine.listeners import Listeners
from engine.scored import ScoredBatch
from engine.users import current_user

log = logging.getLogger(__name__)


class IdeasUnavailable(RuntimeError):
    """The idea book cannot be opened (e.g. a bad [risk] section); the message says why."""


def open_idea_book(store, data_dir: Path | None, actor: str | None = None, attach=None) -> IdeaBook:
    from engine.news.config import load_news_config
    from engine.risk.config import load_risk_config

    if store is None:
        raise IdeasUnavailable("Trade ideas need a data folder.")
    try:
        risk = load_risk_config(data_dir)
        return IdeaBook(store, config=risk, tolerance=risk.tolerance, actor=current_user(actor), attach=attach,
                        news=load_news_config(data_dir))
    except Exception as exc:  # a bad [risk] section must not stop news scoring: ideas report it when asked
        log.exception("trade ideas are unavailable")
        raise IdeasUnavailable(f"Trade ideas are unavailable: {exc}") from exc


@dataclass(frozen=True)
class AutoProposal:
    origin: str  # where the signals came from (paste, file, live, redis)
    result: ProposalResult | None  # None when proposing failed
    error: str = ""


class AutoProposer:
    """Proposes for the assets each stored batch names; see the module docstring."""

    def __init__(self, book: Callable[[], IdeaBook]) -> None:
        self._book = book
        self._listeners: Listeners[Callable[[AutoProposal], None]] = Listeners("idea proposal")
        self._lock = threading.Lock()
        self._pending: set[str] = set()  # assets named by stored batches, not yet proposed for
        self.passes = 0  # background passes that proposed (fewer than batches under a burst)

    def subscribe(self, listener: Callable[[AutoProposal], None]) -> Callable[[], None]:
        return self._listeners.subscribe(listener)

    def note(self, batch: ScoredBatch) -> None:
        """Inline listener: remember the assets (also for batches the background queue drops)."""
        named = {str(e) for signal in batch.signals for e in signal.entities}
        if named:
            with self._lock:
                self._pending |= named

    def on_scored(self, batch: ScoredBatch) -> None:
        """Background listener: propose for every asset noted so far."""
        with self._lock:
            symbols, self._pending = self._pending, set()
        if not symbols:
            return  # an earlier pass took this batch's assets
        self.passes += 1
        try:
            proposal = AutoProposal(batch.origin, self._book().propose(symbols))
        except IdeasUnavailable as exc:
            proposal = AutoProposal(batch.origin, None, str(exc))
        except Exception as exc:  # ideas are a side product; scoring goes on
            log.exception("proposing trade ideas failed")
            proposal = AutoProposal(batch.origin, None, f"Trade ideas could not be proposed: {exc}")
        if proposal.result is not None and not proposal.result.changes:
            return  # nothing created, updated or closed: nobody needs to hear about it
        self._listeners.each(lambda listener: listener(proposal))
