"""Trade ideas for the desk: the review queue, decisions, the portfolio, market data imports.

Push feed: ``proposed`` (ideas the engine proposed by itself from freshly stored signals, see
engine/ideas/desk.py), ``audit`` and ``portfolio`` (sent after every recorded decision, so the
panel never asks twice). Everything else is an operation with its own callbacks. Ideas are
advice: nothing here places an order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Signal

from app.bridge.feature import Feature
from app.bridge.host import EngineHost
from app.bridge.operations import Operation
from engine.ideas import AssetIdea, AuditEntry, DecisionError, IdeaEvent, ProposalResult, TradeIdea
from engine.ideas.desk import AutoProposal, IdeasUnavailable
from engine.market.prices import ImportResult
from engine.risk.config import REGIMES
from engine.risk.portfolio import PortfolioView
from engine.wording import plural

__all__ = ["AuditTrail", "IdeaHistory", "IdeasFeature", "PortfolioSummary", "PricesImported"]


@dataclass(frozen=True)
class AuditTrail:
    idea_id: int
    entries: tuple[AuditEntry, ...]  # oldest first


@dataclass(frozen=True)
class IdeaHistory:
    """A per-asset idea's whole story: its status, every revision (oldest first) and its events."""

    idea: AssetIdea  # status, close reason, the idea it flipped from
    revisions: tuple[TradeIdea, ...]
    events: tuple[IdeaEvent, ...]  # opened / revised / closed, with what changed and why, oldest first


@dataclass(frozen=True)
class PortfolioSummary:
    view: PortfolioView  # of the approved ideas
    leverage_caps: tuple[tuple[str, float], ...]  # (regime, cap) from the current risk config


@dataclass(frozen=True)
class PricesImported:
    results: tuple[ImportResult, ...]
    errors: tuple[str, ...]  # one line per rejected file or row


class IdeasFeature(Feature):
    proposed = Signal(object)  # ProposalResult proposed by the engine itself from fresh signals
    audit = Signal(object)  # AuditTrail
    portfolio = Signal(object)  # PortfolioSummary
    error = Signal(str)  # an automatic proposal failed

    def __init__(self, host: EngineHost) -> None:
        super().__init__(host)
        host.on_start(lambda engine: engine.proposals.subscribe(self._on_auto_proposal))

    def _on_auto_proposal(self, proposal: AutoProposal) -> None:
        """After-scoring thread: relay to the UI."""
        if proposal.result is not None:
            self.proposed.emit(proposal.result)
        elif proposal.error:
            self.error.emit(proposal.error)

    def _book_op(self, name: str, fn: Callable, on_success: Callable, on_failure: Callable[[str], None],
                 expected: tuple[type[BaseException], ...] = ()) -> Operation:
        """An operation on the idea book; an unavailable book (bad [risk] settings) is a refusal with its reason."""
        return self.op(name, lambda ctx: fn(ctx.engine.ideas), expected=(IdeasUnavailable, *expected)) \
            .on_success(on_success).on_failure(on_failure).run()

    def list(self, on_listed: Callable[[tuple[TradeIdea, ...]], None], on_failure: Callable[[str], None],
             state: str | None = None) -> Operation:
        """Every idea in ``state`` (None: all), newest first."""
        return self._book_op("Reading trade ideas", lambda book: tuple(book.list(state)), on_listed, on_failure)

    def propose(self, on_proposed: Callable[[ProposalResult], None], on_failure: Callable[[str], None]) -> None:
        """Re-evaluate every asset with stored news (as ``signaldesk ideas propose``), e.g. after
        market data arrived for them: ideas are created, updated or closed, the rest skipped with why."""
        self.op("Proposing trade ideas", lambda ctx: ctx.engine.ideas.propose(),
                expected=(IdeasUnavailable,)).on_success(on_proposed).on_failure(on_failure).run()

    def decide(self, idea_id: int, decision: str, note: str, size: float | None,
               on_decided: Callable[[TradeIdea], None], on_refused: Callable[[str], None]) -> None:
        """Approve, reject or edit; a refusal (DecisionError) changes nothing and says why."""
        def decide(ctx) -> TradeIdea:
            book = ctx.engine.ideas
            idea = book.decide(int(idea_id), decision, note, size)
            # The panel shows the trail and the exposure that changed with it.
            self.audit.emit(AuditTrail(idea.id, tuple(book.audit(idea.id))))
            self.portfolio.emit(self._portfolio(book))
            return idea

        self.op(f"Recording a decision on idea #{idea_id}", decide, expected=(IdeasUnavailable, DecisionError)) \
            .on_success(on_decided).on_failure(on_refused).run()

    def load_audit(self, idea_id: int, on_failure: Callable[[str], None]) -> None:
        self._book_op("Reading an audit trail", lambda book: AuditTrail(idea_id, tuple(book.audit(idea_id))),
                      self.audit.emit, on_failure)

    def history(self, idea_no: int, on_history: Callable[[IdeaHistory], None],
                on_failure: Callable[[str], None]) -> Operation:
        """The revisions and events of per-asset idea ``idea_no``; an unknown number is refused."""
        def read(book) -> IdeaHistory:
            return IdeaHistory(book.idea(idea_no), tuple(book.revisions(idea_no)), tuple(book.events(idea_no)))

        return self._book_op(f"Reading the history of idea {idea_no}", read, on_history, on_failure,
                             expected=(KeyError,))

    def load_portfolio(self, on_failure: Callable[[str], None]) -> None:
        self._book_op("Building the portfolio view", self._portfolio, self.portfolio.emit, on_failure)

    @staticmethod
    def _portfolio(book) -> PortfolioSummary:
        return PortfolioSummary(book.portfolio(), tuple((r, book.config.leverage_cap(r)) for r in REGIMES))

    def export(self, path: str | Path, state: str | None, on_exported: Callable[[int], None],
               on_failure: Callable[[str], None]) -> None:
        """Write the ideas in ``state`` (None: all) to CSV or JSON; the callback gets the count."""
        self._book_op("Exporting trade ideas", lambda book: book.export(str(path), state), on_exported, on_failure,
                      expected=(ValueError, OSError))

    def import_prices(self, path: str | Path, symbol: str, on_imported: Callable[[PricesImported], None],
                      replace: bool = False) -> None:
        self._import([(Path(path), symbol)], replace, False, on_imported)

    def import_demo_prices(self, on_imported: Callable[[PricesImported], None]) -> None:
        from engine.market.demo import demo_files

        files = demo_files()
        if not files:
            on_imported(PricesImported((), ("No demo price files were found in resources/demo/prices.",)))
            return
        self._import([(f, f.stem) for f in files], False, True, on_imported)

    def _import(self, jobs: list[tuple[Path, str]], replace: bool, demo: bool,
                on_imported: Callable[[PricesImported], None]) -> None:
        def run(ctx) -> PricesImported:
            from engine.market.prices import MarketData, PriceImportError

            results, errors = [], []
            market = MarketData(ctx.engine.store)
            try:
                for path, symbol in jobs:
                    try:
                        results.append(market.import_csv(path, symbol, replace=replace,
                                                         source=f"demo:{path.name}" if demo else None))
                    except PriceImportError as exc:  # all-or-nothing per file: report every bad row
                        errors.extend(f"{path.name}:{e.line}: {e.message}" for e in exc.errors[:50])
                        errors.append(f"{path.name} rejected: {plural(len(exc.errors), 'problem')}; nothing was "
                                      f"written for {symbol.upper()}.")
                    except (ValueError, OSError) as exc:
                        errors.append(f"{path.name}: {exc}; nothing was written.")
            finally:
                market.close()
            return PricesImported(tuple(results), tuple(errors))

        self.op("Importing prices", run).on_success(on_imported) \
            .on_failure(lambda message: on_imported(PricesImported((), (message,)))).run()
