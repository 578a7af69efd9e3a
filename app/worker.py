"""The one bridge between Qt and the engine.

``EngineWorker`` lives on a QThread and is the only object that calls the engine.
``EngineClient`` lives on the UI thread: widgets call its plain methods, which are turned
into queued signals to the worker; results come back as signals carrying frozen
dataclasses. The UI thread never waits on the engine (except once, briefly, at shutdown).
"""

from __future__ import annotations

import getpass
import itertools
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from engine import __version__
from engine.config import Config
from engine.engine import Engine
from engine.hardware import HardwareProfile
from engine.ideas import DecisionError, IdeaBook, ProposalResult
from engine.risk.config import REGIMES, load_risk_config
from engine.textinput import EmptyInputError, PreparedItems, prepare_items
from engine.types import ModelStatus
from engine.types import Signal as NewsSignal

log = logging.getLogger(__name__)

# Results reach the UI at most ~20 times a second, however fast the engine scores.
EMIT_INTERVAL_S = 0.05


# The desk's default sizing tolerance until a settings field exists for it.
# Newest stored signals that "propose from stored news" considers (as the CLI's default).
PROPOSE_LIMIT = 500

__all__ = ["EmptyInputError", "EngineClient", "EngineInfo", "EngineWorker", "Submission",
           "SignalBatch", "AnalysisDone", "IdeaProposals", "IdeaList", "IdeaDecision", "AuditTrail", "IdeasExport",
           "PortfolioSummary", "PricesImported"]


def os_user() -> str:
    """Who decides, for the audit trail."""
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers; the audit still needs a name
        return "analyst"


class CancelToken:
    """Cancels every request submitted up to the moment ``cancel`` is called.

    Per-request rather than a shared flag, so a Cancel pressed before a queued request
    starts is not lost, and cancelling one request never cancels the next submission.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_submitted = 0
        self._cancel_upto = 0

    def submitted(self, request_id: int) -> None:
        with self._lock:
            self._last_submitted = max(self._last_submitted, request_id)

    def cancel(self) -> None:
        with self._lock:
            self._cancel_upto = self._last_submitted

    def cancel_all(self) -> None:
        with self._lock:
            self._cancel_upto = 1 << 62

    def is_cancelled(self, request_id: int) -> bool:
        with self._lock:
            return request_id <= self._cancel_upto


@dataclass(frozen=True)
class EngineInfo:
    version: str
    data_dir: str
    hardware: HardwareProfile
    sentiment: ModelStatus


@dataclass(frozen=True)
class Submission:
    request_id: int
    items: int
    notice: str  # e.g. "2 item(s) longer than 2,000 characters were cut"


@dataclass(frozen=True)
class SignalBatch:
    request_id: int
    signals: tuple[NewsSignal, ...]
    done: int
    total: int


@dataclass(frozen=True)
class ModelsSnapshot:
    """Everything the Models panel shows, taken at one moment."""

    models: tuple  # tuple[engine.models.manager.ModelInfo, ...]
    loaded: tuple  # tuple[engine.models.cache.LoadedModel, ...]
    explanations: dict  # task -> "why this model"
    sentiment: ModelStatus


@dataclass(frozen=True)
class BenchmarkProgress:
    model_id: str
    done: int
    total: int
    stage: str


@dataclass(frozen=True)
class BenchmarkOutcome:
    model_id: str
    result: dict | None  # BenchmarkResult.to_dict()
    error: str
    cancelled: bool


@dataclass(frozen=True)
class IdeaProposals:
    request_id: int  # the analysis request for automatic proposals, else the propose request
    automatic: bool  # True: proposed from freshly scored news; False: asked for by the user
    result: ProposalResult


@dataclass(frozen=True)
class IdeaList:
    request_id: int
    state: str | None  # the state asked for; None = all
    ideas: tuple  # tuple[engine.ideas.TradeIdea, ...], newest first


@dataclass(frozen=True)
class IdeaDecision:
    request_id: int
    idea_id: int
    decision: str  # approve | reject | edit
    idea: object  # engine.ideas.TradeIdea after the decision, None when refused
    error: str  # why it was refused; "" when recorded


@dataclass(frozen=True)
class AuditTrail:
    idea_id: int
    entries: tuple  # tuple[engine.ideas.AuditEntry, ...], oldest first


@dataclass(frozen=True)
class IdeasExport:
    path: str
    count: int
    error: str


@dataclass(frozen=True)
class PortfolioSummary:
    view: object  # engine.risk.portfolio.PortfolioView of the approved ideas
    leverage_caps: tuple  # ((regime, cap), ...) from the current risk config


@dataclass(frozen=True)
class PricesImported:
    results: tuple  # tuple[engine.market.prices.ImportResult, ...]
    errors: tuple  # tuple[str, ...], one line per rejected file or row


@dataclass(frozen=True)
class AnalysisDone:
    request_id: int
    scored: int
    total: int
    cancelled: bool
    elapsed_s: float


class EngineWorker(QObject):
    ready = Signal(object)  # EngineInfo
    history = Signal(object)  # tuple[NewsSignal, ...] from the store, oldest first
    signalsAdded = Signal(object)  # SignalBatch
    analysisDone = Signal(object)  # AnalysisDone
    failed = Signal(str)
    stopped = Signal()
    modelsChanged = Signal(object)  # ModelsSnapshot
    modelEvent = Signal(object)  # engine.models.manager.ModelEvent
    modelError = Signal(str)
    benchmarkProgress = Signal(object)  # BenchmarkProgress
    benchmarkDone = Signal(object)  # BenchmarkOutcome
    _refreshRequested = Signal()  # emitted on the benchmark thread, delivered on the engine thread
    # Trade ideas. After a recorded decision the worker also sends the idea's audit trail
    # and the portfolio, so the panel never has to ask twice.
    ideasProposed = Signal(object)  # IdeaProposals
    ideasListed = Signal(object)  # IdeaList
    ideaDecided = Signal(object)  # IdeaDecision (a refusal carries its reason, nothing changed)
    auditLoaded = Signal(object)  # AuditTrail
    ideasExported = Signal(object)  # IdeasExport
    portfolioReady = Signal(object)  # PortfolioSummary
    pricesImported = Signal(object)  # PricesImported
    ideaError = Signal(str)  # the idea book is unavailable or a read failed

    def __init__(self, config: Config, data_dir: Path, cancel: CancelToken,
                 benchmark_cancel: threading.Event | None = None) -> None:
        super().__init__()
        self._config = config
        self._data_dir = data_dir
        self._cancel = cancel
        self._benchmark_cancel = benchmark_cancel or threading.Event()
        self._benchmark_thread: threading.Thread | None = None
        self._engine: Engine | None = None
        self._idle_timer: QTimer | None = None
        self._refreshRequested.connect(self.refreshModels)
        self._ideas: IdeaBook | None = None
        self._ideas_problem = "The engine is not running."

    @Slot()
    def start(self) -> None:
        threading.current_thread().name = "engine"  # log lines say which thread wrote them
        try:
            self._engine = Engine(self._config, self._data_dir)
            info = EngineInfo(__version__, str(self._data_dir), self._engine.hardware,
                              self._engine.sentiment_status)
            # Manager events arrive on whichever thread caused them; Qt queues them to the UI.
            self._engine.models.subscribe(self._on_model_event)
            self._ideas = self._open_idea_book()
            self.ready.emit(info)
            self.history.emit(tuple(self._engine.recent_signals(self._config_history_limit())))
            self.refreshModels()
            self._idle_timer = QTimer(self)
            self._idle_timer.setInterval(60_000)
            self._idle_timer.timeout.connect(self._engine.models.sweep_idle)
            self._idle_timer.start()
        except Exception as exc:  # the UI must hear about it instead of waiting forever
            log.exception("engine failed to start")
            self.failed.emit(f"The engine could not start: {exc}")

    def _config_history_limit(self) -> int:
        return 5000

    def _open_idea_book(self) -> IdeaBook | None:
        # A bad [risk] section must not stop news scoring: ideas report it when asked.
        try:
            risk_config = load_risk_config(self._data_dir)
            return IdeaBook(self._engine.store, config=risk_config,
                            tolerance=risk_config.tolerance, actor=os_user())
        except Exception as exc:
            log.exception("trade ideas are unavailable")
            self._ideas_problem = f"Trade ideas are unavailable: {exc}"
            return None

    @Slot(int, object, str)
    def analyze(self, request_id: int, prepared: PreparedItems, source: str) -> None:
        if self._engine is None:
            self.failed.emit("The engine is not running; nothing was analysed.")
            self.analysisDone.emit(AnalysisDone(request_id, 0, len(prepared.items), False, 0.0))
            return
        started = time.perf_counter()
        total = len(prepared.items)
        done = 0
        pending: list[NewsSignal] = []
        last_emit = 0.0
        batch = max(1, self._config.batch_size)
        try:
            for start in range(0, total, batch):
                if self._cancel.is_cancelled(request_id):
                    break
                texts = prepared.items[start:start + batch]
                cut = prepared.truncated[start:start + batch]
                pending.extend(self._engine.analyze_batch(texts, source, truncated=cut))
                done += len(texts)
                now = time.perf_counter()
                if now - last_emit >= EMIT_INTERVAL_S or done == total:
                    self._emit_batch(SignalBatch(request_id, tuple(pending), done, total))
                    pending = []
                    last_emit = now
        except Exception as exc:
            log.exception("analysis failed")
            self.failed.emit(f"Analysis stopped after {done} of {total} items: {exc}")
        if pending:
            self._emit_batch(SignalBatch(request_id, tuple(pending), done, total))
        self.analysisDone.emit(AnalysisDone(request_id, done, total, done < total and self._cancel.is_cancelled(request_id),
                                            time.perf_counter() - started))

    def _emit_batch(self, batch: SignalBatch) -> None:
        # Rows first: proposing (a few ms per idea) must never delay the news table.
        self.signalsAdded.emit(batch)
        if self._ideas is None or not batch.signals:
            return
        try:
            result = self._ideas.propose_from_signals(batch.signals)
        except Exception as exc:  # ideas are a side product; scoring goes on
            log.exception("proposing trade ideas failed")
            self.ideaError.emit(f"Trade ideas could not be proposed: {exc}")
            return
        if result.ideas:
            self.ideasProposed.emit(IdeaProposals(batch.request_id, True, result))

    # --- trade ideas ---------------------------------------------------------------------------
    def _book(self) -> IdeaBook | None:
        if self._ideas is None:
            self.ideaError.emit(self._ideas_problem)
        return self._ideas

    @Slot(int, int)
    def proposeIdeas(self, request_id: int, limit: int) -> None:
        """Propose from the newest stored signals, e.g. after market data arrived for them."""
        book = self._book()
        if book is None:
            return
        try:
            result = book.propose_from_signals(self._engine.recent_signals(max(1, limit)))
        except Exception as exc:
            log.exception("proposing trade ideas failed")
            self.ideaError.emit(f"Trade ideas could not be proposed: {exc}")
            return
        self.ideasProposed.emit(IdeaProposals(request_id, False, result))

    @Slot(int, object)
    def listIdeas(self, request_id: int, state: str | None) -> None:
        book = self._book()
        if book is None:
            return
        try:
            ideas = tuple(book.list(state))
        except Exception as exc:
            log.exception("listing trade ideas failed")
            self.ideaError.emit(f"Trade ideas could not be read: {exc}")
            return
        self.ideasListed.emit(IdeaList(request_id, state, ideas))

    @Slot(int, int, str, str, object)
    def decideIdea(self, request_id: int, idea_id: int, decision: str, note: str, size: float | None) -> None:
        book = self._book()
        if book is None:
            self.ideaDecided.emit(IdeaDecision(request_id, idea_id, decision, None, self._ideas_problem))
            return
        try:
            idea = book.decide(idea_id, decision, note, size)
        except DecisionError as exc:
            self.ideaDecided.emit(IdeaDecision(request_id, idea_id, decision, None, str(exc)))
            return
        except Exception as exc:  # e.g. the database is locked: nothing was recorded
            log.exception("recording a decision on idea #%s failed", idea_id)
            self.ideaDecided.emit(IdeaDecision(request_id, idea_id, decision, None,
                                               f"The decision was not recorded: {exc}"))
            return
        log.info("idea #%d: %s by %s (%s, size %.4f)", idea.id, decision, book.actor, idea.state, idea.size)
        self.ideaDecided.emit(IdeaDecision(request_id, idea_id, decision, idea, ""))
        self.loadAudit(idea_id)
        self.loadPortfolio()

    @Slot(int)
    def loadAudit(self, idea_id: int) -> None:
        book = self._book()
        if book is None:
            return
        try:
            entries = tuple(book.audit(idea_id))
        except Exception as exc:
            log.exception("reading the audit of idea #%s failed", idea_id)
            self.ideaError.emit(f"The audit trail could not be read: {exc}")
            return
        self.auditLoaded.emit(AuditTrail(idea_id, entries))

    @Slot(str, object)
    def exportIdeas(self, path: str, state: str | None) -> None:
        book = self._book()
        if book is None:
            self.ideasExported.emit(IdeasExport(path, 0, self._ideas_problem))
            return
        try:
            count = book.export(path, state)
        except (ValueError, OSError) as exc:
            self.ideasExported.emit(IdeasExport(path, 0, str(exc)))
            return
        self.ideasExported.emit(IdeasExport(path, count, ""))

    @Slot()
    def loadPortfolio(self) -> None:
        book = self._book()
        if book is None:
            return
        try:
            view = book.portfolio()
        except Exception as exc:
            log.exception("building the portfolio view failed")
            self.ideaError.emit(f"The portfolio could not be built: {exc}")
            return
        caps = tuple((regime, book.config.leverage_cap(regime)) for regime in REGIMES)
        self.portfolioReady.emit(PortfolioSummary(view, caps))

    @Slot(str, str, bool)
    def importPrices(self, path: str, symbol: str, replace: bool) -> None:
        self._import_prices([(Path(path), symbol)], replace, demo=False)

    @Slot()
    def importDemoPrices(self) -> None:
        from engine.market.demo import demo_files

        files = demo_files()
        if not files:
            self.pricesImported.emit(PricesImported((), ("No demo price files were found in resources/demo/prices.",)))
            return
        self._import_prices([(f, f.stem) for f in files], False, demo=True)

    def _import_prices(self, jobs: list[tuple[Path, str]], replace: bool, *, demo: bool) -> None:
        from engine.market.prices import MarketData, PriceImportError

        if self._engine is None or self._engine.store is None:
            self.pricesImported.emit(PricesImported((), ("The engine is not running; nothing was imported.",)))
            return
        results, errors = [], []
        market = MarketData(self._engine.store)
        try:
            for path, symbol in jobs:
                try:
                    results.append(market.import_csv(path, symbol, replace=replace,
                                                      source=f"demo:{path.name}" if demo else None))
                except PriceImportError as exc:  # all-or-nothing per file: report every bad row
                    errors.extend(f"{path.name}:{e.line}: {e.message}" for e in exc.errors[:50])
                    errors.append(f"{path.name} rejected: {len(exc.errors)} problem(s); nothing was "
                                  f"written for {symbol.upper()}.")
                except (ValueError, OSError) as exc:
                    errors.append(f"{path.name}: {exc}; nothing was written.")
        finally:
            market.close()
        self.pricesImported.emit(PricesImported(tuple(results), tuple(errors)))

    # --- models ------------------------------------------------------------------------------
    def _on_model_event(self, event) -> None:
        self.modelEvent.emit(event)
        if self._engine is not None and QThread.currentThread() is self.thread():
            self.refreshModels()

    @Slot()
    def refreshModels(self) -> None:
        if self._engine is None:
            return
        models = self._engine.models
        infos = tuple(models.all_models())
        explanations = {task: models.explain(task) for task in ("sentiment", "embedding", "generation")}
        self.modelsChanged.emit(ModelsSnapshot(infos, tuple(models.loaded()), explanations,
                                               self._engine.sentiment_status))

    def _model_call(self, action, *args) -> None:
        from engine.models.manager import ModelSwitchError
        from engine.models.registry import ModelRegistryError

        if self._engine is None:
            self.modelError.emit("The engine is not running.")
            return
        try:
            action(*args)
        except (ModelSwitchError, ModelRegistryError, OSError) as exc:
            self.modelError.emit(str(exc))
        self.refreshModels()

    @Slot(str, str)
    def switchModel(self, task: str, model_id: str) -> None:
        self._model_call(lambda: self._engine.models.switch(task, model_id))

    @Slot(str, str, str, str)
    def addModel(self, path: str, task: str, labels: str, model_id: str) -> None:
        label_list = [x.strip() for x in labels.split(",") if x.strip()] or None
        self._model_call(lambda: self._engine.models.add_user_model(Path(path), task or None, label_list,
                                                                   model_id or None))

    @Slot(str)
    def removeModel(self, model_id: str) -> None:
        self._model_call(lambda: self._engine.models.remove_user_model(model_id))

    @Slot(str)
    def runBenchmark(self, model_id: str) -> None:
        """Benchmarks run on their own thread: scoring must not queue behind a minute of timing."""
        if self._engine is None or (self._benchmark_thread and self._benchmark_thread.is_alive()):
            self.benchmarkDone.emit(BenchmarkOutcome(model_id, None, "a benchmark is already running"
                                                     if self._engine else "the engine is not running", False))
            return
        engine = self._engine

        def work() -> None:
            from engine.models.benchmark import BenchmarkCancelled

            try:
                result = engine.models.benchmark(
                    model_id,
                    progress=lambda done, total, stage: self.benchmarkProgress.emit(
                        BenchmarkProgress(model_id, done, total, stage)),
                    cancelled=self._benchmark_cancel.is_set)
                self.benchmarkDone.emit(BenchmarkOutcome(model_id, result.to_dict(), "", False))
                # Fresh figures feed selection and the table; refresh on the engine thread.
                self._refreshRequested.emit()
            except BenchmarkCancelled:
                self.benchmarkDone.emit(BenchmarkOutcome(model_id, None, "", True))
            except Exception as exc:  # report, never crash the desk
                log.exception("benchmark of %s failed", model_id)
                self.benchmarkDone.emit(BenchmarkOutcome(model_id, None, str(exc), False))

        self._benchmark_thread = threading.Thread(target=work, name="benchmark", daemon=True)
        self._benchmark_thread.start()

    @Slot()
    def stop(self) -> None:
        self._benchmark_cancel.set()
        if self._benchmark_thread is not None:
            self._benchmark_thread.join(timeout=30)
        if self._idle_timer is not None:
            self._idle_timer.stop()
        if self._ideas is not None:
            self._ideas.close()
            self._ideas = None
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        self.stopped.emit()
        QThread.currentThread().quit()


class EngineClient(QObject):
    """UI-thread handle on the engine thread. Widgets talk to this, never to the engine."""

    ready = Signal(object)
    history = Signal(object)
    signalsAdded = Signal(object)
    analysisDone = Signal(object)
    failed = Signal(str)
    modelsChanged = Signal(object)
    modelEvent = Signal(object)
    modelError = Signal(str)
    benchmarkProgress = Signal(object)
    benchmarkDone = Signal(object)
    ideasProposed = Signal(object)
    ideasListed = Signal(object)
    ideaDecided = Signal(object)
    auditLoaded = Signal(object)
    ideasExported = Signal(object)
    portfolioReady = Signal(object)
    pricesImported = Signal(object)
    ideaError = Signal(str)

    _analyzeRequested = Signal(int, object, str)
    _stopRequested = Signal()
    _refreshModels = Signal()
    _switchModel = Signal(str, str)
    _addModel = Signal(str, str, str, str)
    _removeModel = Signal(str)
    _runBenchmark = Signal(str)
    _proposeIdeas = Signal(int, int)
    _listIdeas = Signal(int, object)
    _decideIdea = Signal(int, int, str, str, object)
    _loadAudit = Signal(int)
    _exportIdeas = Signal(str, object)
    _loadPortfolio = Signal()
    _importPrices = Signal(str, str, bool)
    _importDemoPrices = Signal()

    def __init__(self, config: Config, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.data_dir = data_dir
        self.info: EngineInfo | None = None
        self._ids = itertools.count(1)
        self._cancel = CancelToken()
        self._thread = QThread()
        self._thread.setObjectName("engine")
        self._benchmark_cancel = threading.Event()
        self._worker = EngineWorker(config, data_dir, self._cancel, self._benchmark_cancel)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.start)
        self._thread.finished.connect(self._worker.deleteLater)
        self._analyzeRequested.connect(self._worker.analyze)
        self._stopRequested.connect(self._worker.stop)
        self._worker.ready.connect(self._on_ready)
        self._worker.history.connect(self.history)
        self._worker.signalsAdded.connect(self.signalsAdded)
        self._worker.analysisDone.connect(self.analysisDone)
        self._worker.failed.connect(self.failed)
        for name in ("modelsChanged", "modelEvent", "modelError", "benchmarkProgress", "benchmarkDone",
                     "ideasProposed", "ideasListed", "ideaDecided", "auditLoaded", "ideasExported",
                     "portfolioReady", "pricesImported", "ideaError"):
            getattr(self._worker, name).connect(getattr(self, name))
        self._refreshModels.connect(self._worker.refreshModels)
        self._switchModel.connect(self._worker.switchModel)
        self._addModel.connect(self._worker.addModel)
        self._removeModel.connect(self._worker.removeModel)
        self._runBenchmark.connect(self._worker.runBenchmark)
        self._proposeIdeas.connect(self._worker.proposeIdeas)
        self._listIdeas.connect(self._worker.listIdeas)
        self._decideIdea.connect(self._worker.decideIdea)
        self._loadAudit.connect(self._worker.loadAudit)
        self._exportIdeas.connect(self._worker.exportIdeas)
        self._loadPortfolio.connect(self._worker.loadPortfolio)
        self._importPrices.connect(self._worker.importPrices)
        self._importDemoPrices.connect(self._worker.importDemoPrices)

    def _on_ready(self, info: EngineInfo) -> None:
        self.info = info
        self.ready.emit(info)

    def start(self) -> None:
        self._thread.start()

    def submit_text(self, raw: str, source: str = "paste") -> Submission:
        """Split, trim and cut on the UI thread (cheap), score on the engine thread."""
        prepared = prepare_items(raw, self.config.max_item_chars)
        if not prepared.items:
            raise EmptyInputError("Nothing to analyse: paste one headline per line.")
        request_id = next(self._ids)
        self._cancel.submitted(request_id)
        self._analyzeRequested.emit(request_id, prepared, source)
        return Submission(request_id, len(prepared.items), prepared.notice)

    def cancel(self) -> None:
        """Cancel every request submitted so far; scored rows are kept."""
        self._cancel.cancel()

    # Model management: each call returns at once; answers arrive as signals.
    def refresh_models(self) -> None:
        self._refreshModels.emit()

    def switch_model(self, task: str, model_id: str) -> None:
        self._switchModel.emit(task, model_id)

    def add_model(self, path: str, task: str = "", labels: str = "", model_id: str = "") -> None:
        self._addModel.emit(path, task, labels, model_id)

    def remove_model(self, model_id: str) -> None:
        self._removeModel.emit(model_id)

    def run_benchmark(self, model_id: str) -> None:
        # Cleared here, not on the engine thread, so a Cancel pressed before the run starts counts.
        self._benchmark_cancel.clear()
        self._runBenchmark.emit(model_id)

    def cancel_benchmark(self) -> None:
        self._benchmark_cancel.set()

    # Trade ideas: each call returns at once (a request id where answers must be matched);
    # answers arrive as signals. Ideas are advice: nothing here places an order.
    def propose_ideas(self, limit: int = PROPOSE_LIMIT) -> int:
        request_id = next(self._ids)
        self._proposeIdeas.emit(request_id, limit)
        return request_id

    def list_ideas(self, state: str | None = None) -> int:
        request_id = next(self._ids)
        self._listIdeas.emit(request_id, state)
        return request_id

    def decide_idea(self, idea_id: int, decision: str, note: str = "", size: float | None = None) -> int:
        request_id = next(self._ids)
        self._decideIdea.emit(request_id, int(idea_id), decision, note, size)
        return request_id

    def load_audit(self, idea_id: int) -> None:
        self._loadAudit.emit(int(idea_id))

    def export_ideas(self, path: str | Path, state: str | None = None) -> None:
        self._exportIdeas.emit(str(path), state)

    def load_portfolio(self) -> None:
        self._loadPortfolio.emit()

    def import_prices(self, path: str | Path, symbol: str, replace: bool = False) -> None:
        self._importPrices.emit(str(path), symbol, replace)

    def import_demo_prices(self) -> None:
        self._importDemoPrices.emit()

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop the worker and join its thread; True when it ended in time."""
        if not self._thread.isRunning():
            return True
        self._cancel.cancel_all()
        self._stopRequested.emit()
        finished = self._thread.wait(timeout_ms)
        if not finished:
            log.error("engine thread did not stop within %d ms", timeout_ms)
        return finished
