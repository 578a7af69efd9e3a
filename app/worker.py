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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from app.explanations import (ChunkStream, ExplainCancels, ExplainStarted, ExplanationChunk, ExplanationLoaded,
                              ExplanationView, NoteAdded, SourceOpened, view_from_explanation, view_from_stored)
from engine import __version__
from engine.config import Config
from engine.engine import Engine
from engine.hardware import HardwareProfile
from engine.ideas import DecisionError, IdeaBook, ProposalResult
from engine.monitoring import WINDOWS_S, MetricsSample, SwitchToLighterModel, UnloadIdleModels
from engine.risk.config import REGIMES, load_risk_config
from engine.textinput import EmptyInputError, PreparedItems, prepare_items
from engine.types import ModelStatus
from engine.types import Signal as NewsSignal
from engine.news.query import NewsFilter, NewsRow

log = logging.getLogger(__name__)

# Results reach the UI at most ~20 times a second, however fast the engine scores.
EMIT_INTERVAL_S = 0.05
# Live news: more rows than this in one 50 ms drain are not sent; the view re-pages from SQLite.
NEWS_ROWS_PER_EMIT = 2000
# Gauges and pipeline counters are polled this often (4 Hz): enough to look live, cheap to draw.
NEWS_STATS_INTERVAL_MS = 250
# Gauges are resent at least this often even without new items: confidence decays with age.
NEWS_GAUGES_REFRESH_S = 5.0
NEWS_GAUGE_ASSETS = 12



# Newest stored signals that "propose from stored news" considers (as the CLI's default).
PROPOSE_LIMIT = 500

__all__ = ["EmptyInputError", "EngineClient", "EngineInfo", "EngineWorker", "Submission",
           "SignalBatch", "AnalysisDone", "IdeaProposals", "IdeaList", "IdeaDecision", "AuditTrail", "IdeasExport",
           "PortfolioSummary", "PricesImported", "MonitorInfo", "MemoryAction", "MetricsHistoryResult",
           "MetricsExport", "CalibrationModelSummary", "CalibrationOverview", "CalibrationReportView",
           "LabelledProgress", "LabelledSummary", "RefitOutcome", "FeedbackResult", "NewsArrivals",
           "NewsPage", "NewsFilter", "NewsRow", "ExplainStarted", "ExplanationChunk", "ExplanationView",
           "ExplanationLoaded", "SourceOpened", "NoteAdded"]

# Every series the sampler writes (engine.monitoring.MetricsSample.rows); the Monitor backfills these.
HISTORY_METRICS = ("rss_mb", "cpu_percent", "queue_depth", "throughput_per_s", "latency_p50_ms",
                   "latency_p95_ms", "model_memory_mb")
# A labelled file's skipped rows are listed up to this many; the count is always exact.
MAX_LISTED_ROW_ERRORS = 20


def os_user() -> str:
    """Who decides, for the audit trail."""
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers; the audit still needs a name
        return "analyst"


class Backlog:
    """Items submitted for scoring and not scored yet: the Monitor's queue depth.

    The client adds at submission (UI thread), the worker takes off as batches finish or a
    request ends early, and the sampler reads it from its own thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items = 0

    def add(self, n: int) -> None:
        with self._lock:
            self._items += n

    def done(self, n: int) -> None:
        with self._lock:
            self._items = max(0, self._items - n)

    def value(self) -> int:
        with self._lock:
            return self._items


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
class MonitorInfo:
    """Sent once the engine's sampler runs: what the Monitor needs to draw budget lines."""

    interval_s: float
    policy: object  # engine.monitoring.MemoryPolicy: growth above policy.baseline_mb (or the models' memory) is charged against policy.limit_mb
    windows: tuple  # ((name, seconds), ...) from engine.monitoring.WINDOWS_S


@dataclass(frozen=True)
class MemoryAction:
    """What the worker did about a memory event (the monitor only says what should happen)."""

    event: object  # the UnloadIdleModels / SwitchToLighterModel it answers
    action: str  # unload | switch
    message: str
    models: tuple  # ids unloaded, or (from, to) of a switch; empty when nothing changed
    ok: bool  # False: nothing could be done; the message says why


@dataclass(frozen=True)
class MetricsHistoryResult:
    since: float
    series: dict  # (metric, key) -> tuple[(at, value), ...], oldest first
    error: str = ""


@dataclass(frozen=True)
class MetricsExport:
    path: str
    rows: int
    error: str


@dataclass(frozen=True)
class CalibrationModelSummary:
    """One model version as the Calibration panel lists it."""

    model_id: str
    version: str
    serving: bool  # the sentiment model scoring news right now
    outcomes: int
    by_source: dict  # source -> count
    calibrator: str  # e.g. "isotonic/top_label #3"; "" when none is fitted
    fitted_at: float | None
    fitted_on: int  # outcomes the active calibrator was fitted on
    holdout: dict | None  # {"kind", "before": {...}, "after": {...}}: out-of-fold figures at fit time
    refit_due: bool
    explanation: str  # the refit policy in words, e.g. "next refit at 500 outcomes (now 312)"
    shipped: str = ""  # when the active calibrator came with the model: what it was fitted on and scored


@dataclass(frozen=True)
class CalibrationOverview:
    models: tuple  # tuple[CalibrationModelSummary, ...], the serving model first
    sources: tuple  # every outcome source the engine knows
    min_samples: int
    error: str = ""


@dataclass(frozen=True)
class CalibrationReportView:
    """Before/after reliability of one model version on stored labelled outcomes (small: 15 bins)."""

    model_id: str
    version: str
    sources: tuple  # () = all sources
    before: object  # engine.calibration.metrics.CalibrationMetrics, None when there is nothing
    after: object
    before_diagram: object  # engine.calibration.metrics.ReliabilityDiagram
    after_diagram: object
    calibrator: str
    in_sample: bool  # the calibrator was fitted on these very outcomes
    holdout: dict | None  # the calibrator's honest out-of-fold figures, when it has them
    message: str = ""  # why there is nothing to show, or what went wrong


@dataclass(frozen=True)
class LabelledProgress:
    request_id: int
    done: int
    total: int


@dataclass(frozen=True)
class LabelledSummary:
    request_id: int
    path: str
    rows: int  # rows scored
    total: int  # usable rows in the file
    skipped: int  # rows rejected by the parser
    errors: tuple  # the first few rejections, "line N: reason"
    model_id: str
    version: str
    metrics: object  # CalibrationMetrics of the raw model on the scored rows
    recorded: int  # outcomes stored (0 when not recorded or cancelled)
    calibrator: str  # the calibrator a refit produced, "" when none ran
    explanation: str  # the refit policy after recording
    cancelled: bool
    error: str


@dataclass(frozen=True)
class RefitOutcome:
    model_id: str
    version: str
    method: str
    scheme: str
    calibrator: str  # "" when nothing was fitted
    automatic: bool  # started by the refit policy, not by the Refit button
    error: str


@dataclass(frozen=True)
class FeedbackResult:
    request_id: int
    signal_id: int
    right: bool | None
    label: str | None
    correct: bool | None  # what was recorded: was the model right; None when refused
    outcomes: int  # outcomes now stored for the signal's model version
    explanation: str  # the refit policy after this verdict
    refit_started: bool
    error: str


@dataclass(frozen=True)
class RedisState:
    connected: bool  # every configured Redis part (publisher, results subscriber) reached Redis last time
    message: str  # one line per part, joined by " · " (lag, counts, last error)


@dataclass(frozen=True)
class NewsArrivals:
    """Rows the live pipeline scored since the last drain (at most ~20 a second)."""

    rows: tuple  # tuple[NewsRow, ...] oldest first; empty when ``overflow``
    count: int  # rows scored in this drain
    overflow: bool  # too many to send: the view should re-page its first page from SQLite


@dataclass(frozen=True)
class NewsPage:
    request_id: int
    news_filter: object  # the NewsFilter asked for
    rows: tuple  # tuple[NewsRow, ...] newest first
    error: str = ""


def news_row(item) -> NewsRow:
    """A pipeline ScoredItem as the same row type the paged query returns."""
    sig, ev = item.signal, item.event
    # The stored (raw) confidence, as the paged query returns and filters on it.
    return NewsRow(sig.id or 0, sig.received_at, item.event_time, sig.source, item.source_kind, sig.text,
                   tuple(sig.entities), sig.label, sig.confidence, sig.compound, sig.model_id, ev.category,
                   ev.subcategory, ev.urgency, ev.impact)


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
    # Monitoring: samples and memory events come from the sampler's own thread, so a busy
    # engine thread never stalls the charts; memory actions run on the engine thread.
    monitorStarted = Signal(object)  # MonitorInfo
    sampled = Signal(object)  # engine.monitoring.MetricsSample, at most ~20 a second
    memoryEvent = Signal(object)  # MemoryWarning | UnloadIdleModels | SwitchToLighterModel | MemoryRecovered
    memoryAction = Signal(object)  # MemoryAction
    metricsHistory = Signal(object)  # MetricsHistoryResult
    metricsExported = Signal(object)  # MetricsExport
    _memoryActionRequested = Signal(object)  # emitted on the sampler thread, acted on on the engine thread
    # Calibration: reads and analyst feedback on the engine thread; labelled files and refits
    # (seconds) on the calibration lane, so scoring never waits for them.
    calibrationOverview = Signal(object)  # CalibrationOverview
    calibrationReport = Signal(object)  # CalibrationReportView
    labelledProgress = Signal(object)  # LabelledProgress
    labelledEvaluated = Signal(object)  # LabelledSummary
    calibrationRefitted = Signal(object)  # RefitOutcome
    feedbackRecorded = Signal(object)  # FeedbackResult
    verdictsLoaded = Signal(object)  # {signal_id: (correct, label or None)}: stored analyst verdicts
    # Live news: batches arrive on the fast-lane thread and source statuses on source threads;
    # both are buffered under a lock and drained by a 50 ms timer on the engine thread.
    newsScored = Signal(object)  # NewsArrivals
    newsPage = Signal(object)  # NewsPage
    assetGauges = Signal(object)  # tuple[engine.news.AssetSnapshot, ...] (history stripped), most recent first
    pipelineStats = Signal(object)  # engine.news.PipelineStats
    sourceStatuses = Signal(object)  # tuple[SourceStatus, ...]: every source, in the order added
    sourceError = Signal(str)
    redisStatus = Signal(object)  # RedisState: publisher and results subscriber; only when Redis is configured
    # Explanations (issue #5): requested on the engine thread, generated on the slow lane, whose
    # thread emits chunks (coalesced, at most ~20 a second) and the outcome; Qt queues them to the UI.
    explanationStarted = Signal(object)  # ExplainStarted (also for auto-explain, decided here)
    explanationChunk = Signal(object)  # ExplanationChunk
    explanationReady = Signal(object)  # ExplanationView
    explanationFailed = Signal(int, str)  # request id, why (cancelled, queue full, unknown signal, …)
    explanationLoaded = Signal(object)  # ExplanationLoaded: the stored explanation of a signal
    sourceOpened = Signal(object)  # SourceOpened: a cited signal or note
    noteAdded = Signal(object)  # NoteAdded

    def __init__(self, config: Config, data_dir: Path, cancel: CancelToken,
                 benchmark_cancel: threading.Event | None = None, *,
                 labelled_cancel: CancelToken | None = None, backlog: Backlog | None = None) -> None:
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
        self._labelled_cancel = labelled_cancel or CancelToken()
        self._backlog = backlog or Backlog()
        self._calibration_lane: ThreadPoolExecutor | None = None
        self._last_sample_emit = 0.0
        self._request_scored = 0
        self._memoryActionRequested.connect(self._act_on_memory_event)
        self._news_lock = threading.Lock()
        self._news_buffer: list = []  # ScoredItem, appended on the fast-lane thread
        self._news_overflow = 0  # items not kept in the buffer (counted, re-paged by the view)
        self._redis_results = None  # engine.redisbus.ResultsSubscriber when Redis is configured
        self._redis_state = None  # last RedisState sent, so an unchanged one is not re-sent
        self._sources_dirty = False
        self._news_timer: QTimer | None = None
        self._stats_timer: QTimer | None = None
        self._gauges_scored = -1
        self._gauges_sent_at = 0.0
        self._init_explanations()

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
            self._emit_verdicts()
            self.refreshModels()
            self._idle_timer = QTimer(self)
            self._idle_timer.setInterval(60_000)
            self._idle_timer.timeout.connect(self._engine.models.sweep_idle)
            self._idle_timer.start()
            self._start_monitor()
            self._start_news()
        except Exception as exc:  # the UI must hear about it instead of waiting forever
            log.exception("engine failed to start")
            self.failed.emit(f"The engine could not start: {exc}")

    def _config_history_limit(self) -> int:
        return 5000

    # --- monitoring ----------------------------------------------------------------------------
    def _start_monitor(self) -> None:
        monitor = self._engine.monitor
        # The engine's sampler has no queue of its own to watch here: the desk's queue is the
        # pasted items waiting on the engine thread.
        monitor.queue_depth = self._backlog.value
        monitor.start(self._on_metrics)
        self.monitorStarted.emit(MonitorInfo(monitor.interval_s, monitor.guard.policy, tuple(WINDOWS_S.items())))

    def _on_metrics(self, sample: MetricsSample, events: list) -> None:
        """Runs on the sampler thread. Samples faster than ~20/s are dropped here (they stay in
        the history table); events are never dropped."""
        now = time.monotonic()
        if now - self._last_sample_emit >= EMIT_INTERVAL_S:
            self._last_sample_emit = now
            self.sampled.emit(sample)
        for event in events:
            log.warning("memory: %s", event.message)
            self.memoryEvent.emit(event)
            if isinstance(event, (UnloadIdleModels, SwitchToLighterModel)):
                self._memoryActionRequested.emit(event)

    @Slot(object)
    def _act_on_memory_event(self, event) -> None:
        if self._engine is None:
            return
        kind = "unload" if isinstance(event, UnloadIdleModels) else "switch"
        try:
            action = self._unload_idle(event) if kind == "unload" else self._switch_lighter(event)
        except Exception as exc:  # a failed action is reported; monitoring goes on
            log.exception("memory action %s failed", kind)
            action = MemoryAction(event, kind, f"Memory action failed: {exc}", (), False)
        log.warning("memory action: %s", action.message)
        self.memoryAction.emit(action)
        if action.models:
            self.refreshModels()

    def _unload_idle(self, event: UnloadIdleModels) -> MemoryAction:
        unloaded = tuple(self._engine.models.sweep_idle())
        if unloaded:
            return MemoryAction(event, "unload", f"Unloaded {len(unloaded)} idle model(s) to free memory: "
                                f"{', '.join(unloaded)}.", unloaded, True)
        return MemoryAction(event, "unload", "No model was idle long enough to unload "
                            f"(idle after {self._config.model_idle_unload_s:.0f} s).", (), False)

    def _switch_lighter(self, event: SwitchToLighterModel) -> MemoryAction:
        models = self._engine.models
        model_id, task = event.model.split("@", 1)[0], event.task
        current = models.active(task) if task else None
        if current is None or current.id != model_id:
            return MemoryAction(event, "switch", f"{model_id} is loaded but not serving {task or 'a task'}; "
                                f"it is unloaded once idle for {self._config.model_idle_unload_s:.0f} s.", (), False)
        lighter = [m for m in models.available(task)
                   if m.id != model_id and m.compatible and m.status != "missing" and m.size_mb < current.size_mb]
        if not lighter:
            return MemoryAction(event, "switch", f"No lighter {task} model than {model_id} is available; "
                                "it keeps serving.", (), False)
        target = min(lighter, key=lambda m: m.size_mb)
        # Not remembered: a memory emergency must not overwrite the operator's own choice.
        models.switch(task, target.id, remember=False)
        return MemoryAction(event, "switch", f"Switched {task} from {model_id} ({current.size_mb:.0f} MB) to the "
                            f"lighter {target.id} ({target.size_mb:.0f} MB) to stay within the memory budget.",
                            (model_id, target.id), True)

    @Slot(object, float)
    def requestMetricsHistory(self, metrics, since: float) -> None:
        history = self._engine.monitor.history if self._engine is not None else None
        if history is None:
            self.metricsHistory.emit(MetricsHistoryResult(since, {}, "The engine is not running."))
            return
        try:
            series = {}
            for metric in tuple(metrics or ()) or HISTORY_METRICS:
                for key in history.keys(metric):
                    points = history.series(metric, key, since)
                    if points:
                        series[(metric, key)] = tuple(points)
        except Exception as exc:
            log.exception("reading the metrics history failed")
            self.metricsHistory.emit(MetricsHistoryResult(since, {}, f"The metrics history could not be read: {exc}"))
            return
        self.metricsHistory.emit(MetricsHistoryResult(since, series))

    @Slot(str, float)
    def requestMetricsExport(self, path: str, since: float) -> None:
        history = self._engine.monitor.history if self._engine is not None else None
        if history is None:
            self.metricsExported.emit(MetricsExport(path, 0, "The engine is not running; nothing was exported."))
            return
        try:
            rows = history.export_csv(Path(path), since)
        except Exception as exc:  # e.g. a read-only folder: say so, keep monitoring
            log.exception("exporting metrics to %s failed", path)
            self.metricsExported.emit(MetricsExport(path, 0, str(exc)))
            return
        self.metricsExported.emit(MetricsExport(path, rows, ""))

    # --- calibration ---------------------------------------------------------------------------
    def _calibration(self):
        return self._engine.calibration if self._engine is not None else None

    def _on_calibration_lane(self, job) -> None:
        """Run ``job`` on the calibration thread, one job at a time, in submission order."""
        if self._calibration_lane is None:
            self._calibration_lane = ThreadPoolExecutor(max_workers=1, thread_name_prefix="calibration")

        def guarded() -> None:
            try:
                job()
            except Exception:  # each job reports its own errors; this only keeps the lane alive
                log.exception("calibration job failed")

        self._calibration_lane.submit(guarded)

    def _summary(self, cal, model_id: str, version: str, serving: bool):
        st = cal.status(model_id, version)
        active = st.active
        holdout = None
        if active is not None and isinstance(active.metrics.get("holdout"), dict):
            h = active.metrics["holdout"]
            holdout = {"kind": h.get("kind", ""), "before": h.get("before"), "after": h.get("after")}
        shipped = ""
        if active is not None and isinstance(active.metrics.get("shipped"), dict):
            info = active.metrics["shipped"]
            shipped = f"fitted on {active.n:,} held-out labelled rows"
            if "report_ece_before" in info and "report_ece_after" in info:
                shipped += (f"; model card: ECE {info['report_ece_before']:.3f} raw, "
                            f"{info['report_ece_after']:.3f} calibrated on unseen data")
        return CalibrationModelSummary(model_id, version, serving, st.outcomes, dict(st.by_source),
                                       active.label if active else "", active.fitted_at if active else None,
                                       active.n if active else 0, holdout, st.refit_due, st.explanation, shipped)

    @Slot()
    def requestCalibrationOverview(self) -> None:
        from engine.calibration.outcomes import SOURCES

        cal = self._calibration()
        if cal is None:
            self.calibrationOverview.emit(CalibrationOverview((), SOURCES, 0, "The engine is not running."))
            return
        try:
            serving = self._engine.sentiment_status
            versions = {(serving.model_id, serving.version)}
            versions |= {(mid, ver) for mid, ver, _ in cal.repo.outcome_counts()}
            versions |= {(c.model_id, c.model_version) for c in cal.repo.calibrators()}
            ordered = sorted(versions, key=lambda v: (v != (serving.model_id, serving.version), v))
            models = tuple(self._summary(cal, mid, ver, (mid, ver) == (serving.model_id, serving.version))
                           for mid, ver in ordered)
        except Exception as exc:
            log.exception("reading calibration state failed")
            self.calibrationOverview.emit(CalibrationOverview((), SOURCES, 0,
                                                              f"Calibration state could not be read: {exc}"))
            return
        self.calibrationOverview.emit(CalibrationOverview(models, SOURCES, cal.policy.min_samples))

    @Slot(str, str, object)
    def requestCalibrationReport(self, model_id: str, version: str, sources) -> None:
        sources = tuple(sources or ())
        cal = self._calibration()
        empty = CalibrationReportView(model_id, version, sources, None, None, None, None, "", False, None)
        if cal is None:
            self.calibrationReport.emit(replace(empty, message="The engine is not running."))
            return
        try:
            report = cal.report(model_id, version, sources or None)
            summary = self._summary(cal, model_id, version, False)
        except Exception as exc:
            log.exception("calibration report failed")
            self.calibrationReport.emit(replace(empty, message=f"The report could not be built: {exc}"))
            return
        if report is None:
            # The active calibrator (e.g. the model's shipped one) is named even with nothing to plot.
            self.calibrationReport.emit(replace(
                empty, calibrator=summary.calibrator, message=f"No labelled outcomes for {model_id} {version} from "
                       f"{', '.join(sources) if sources else 'any source'} yet."))
            return
        self.calibrationReport.emit(CalibrationReportView(
            model_id, version, sources, report.before, report.after, report.before_diagram, report.after_diagram,
            report.calibrator, report.in_sample, summary.holdout))

    @Slot(int, str, bool)
    def evaluateLabelledFile(self, request_id: int, path: str, record: bool) -> None:
        """Score a labelled CSV on the calibration lane; optionally record the rows as outcomes
        (which refits when the policy says so). Progress and the summary come back as signals."""
        cal = self._calibration()
        if cal is None:
            self.labelledEvaluated.emit(LabelledSummary(request_id, path, 0, 0, 0, (), "", "", None, 0, "", "",
                                                        False, "The engine is not running."))
            return
        engine = self._engine
        cancel = self._labelled_cancel

        def job() -> None:
            from engine.calibration.labelled import evaluate_labelled, load_labelled_csv

            def fail(message: str, skipped: int = 0, errors: tuple = ()) -> None:
                self.labelledEvaluated.emit(LabelledSummary(request_id, path, 0, 0, skipped, errors, "", "", None,
                                                            0, "", "", False, message))

            try:
                data = load_labelled_csv(Path(path))
            except OSError as exc:
                fail(f"{Path(path).name}: {exc.strerror or exc}")
                return
            errors = tuple(str(e) for e in data.errors[:MAX_LISTED_ROW_ERRORS])
            if not data.rows:
                fail(f"{Path(path).name} has no usable rows (a CSV with 'text' and 'label' columns is needed).",
                     len(data.errors), errors)
                return
            last = [0.0]

            def progress(done: int, total: int) -> None:
                now = time.monotonic()
                if now - last[0] >= EMIT_INTERVAL_S or done == total:
                    last[0] = now
                    self.labelledProgress.emit(LabelledProgress(request_id, done, total))

            try:
                evaluation = evaluate_labelled(engine, data.rows, progress=progress,
                                               cancel=lambda: cancel.is_cancelled(request_id),
                                               batch_size=max(1, self._config.batch_size))
                recorded, fitted, explanation = 0, "", ""
                if record and not evaluation.cancelled and len(evaluation.rows):
                    refits = cal.record_labelled(evaluation, str(Path(path).resolve()))
                    recorded = len(evaluation.rows)
                    fitted = refits[-1].label if refits else ""
                    explanation = cal.status(evaluation.model_id, evaluation.model_version).explanation
            except Exception as exc:
                log.exception("evaluating %s failed", path)
                fail(f"Evaluating {Path(path).name} failed: {exc}", len(data.errors), errors)
                return
            self.labelledEvaluated.emit(LabelledSummary(
                request_id, path, len(evaluation.rows), len(data.rows), len(data.errors), errors,
                evaluation.model_id, evaluation.model_version, evaluation.metrics, recorded, fitted, explanation,
                evaluation.cancelled, ""))

        self._on_calibration_lane(job)

    @Slot(str, str, str, object)
    def refitCalibration(self, model_id: str, version: str, method: str, scheme) -> None:
        cal = self._calibration()
        if cal is None:
            self.calibrationRefitted.emit(RefitOutcome(model_id, version, method, scheme or "", "", False,
                                                       "The engine is not running."))
            return
        self._on_calibration_lane(lambda: self._refit(cal, model_id, version, method, scheme, automatic=False))

    def _refit(self, cal, model_id: str, version: str, method: str | None, scheme: str | None, *,
               automatic: bool) -> None:
        try:
            saved = cal.maybe_refit(model_id, version) if automatic else cal.refit(model_id, version, method, scheme)
        except ValueError as exc:  # e.g. temperature scaling with a per-class scheme
            self.calibrationRefitted.emit(RefitOutcome(model_id, version, method or "", scheme or "", "", automatic,
                                                       str(exc)))
            return
        except Exception as exc:
            log.exception("refitting the calibrator of %s %s failed", model_id, version)
            self.calibrationRefitted.emit(RefitOutcome(model_id, version, method or "", scheme or "", "", automatic,
                                                       f"The refit failed: {exc}"))
            return
        if saved is None and automatic:
            return  # another job fitted first; nothing is due any more
        if saved is None:
            st = cal.status(model_id, version)
            error = (f"Not refitted: {st.outcomes} outcome(s) stored, {cal.policy.min_samples} needed"
                     + (" (and enough labelled outcomes of every class for this method)."
                        if st.outcomes >= cal.policy.min_samples else "."))
            self.calibrationRefitted.emit(RefitOutcome(model_id, version, method or "", scheme or "", "", automatic,
                                                       error))
            return
        self.calibrationRefitted.emit(RefitOutcome(model_id, version, saved.method, saved.scheme, saved.label,
                                                   automatic, ""))

    @Slot(int, int, object, object, str)
    def recordFeedback(self, request_id: int, signal_id: int, right, label, note: str) -> None:
        """An analyst's verdict on a stored signal (outcome source b). Recorded at once; a refit
        it makes due runs on the calibration lane."""
        cal = self._calibration()

        def refused(message: str) -> None:
            self.feedbackRecorded.emit(FeedbackResult(request_id, signal_id, right, label, None, 0, "", False, message))

        if cal is None:
            refused("The engine is not running; the feedback was not recorded.")
            return
        try:
            outcome = cal.record_feedback(signal_id, right=right, label=label, analyst=os_user(), note=note,
                                          refit=False)
            status = cal.status(outcome.model_id, outcome.model_version)
        except (KeyError, ValueError) as exc:  # unknown signal, unknown label, both or neither given
            refused(str(exc).strip("'\""))
            return
        except Exception as exc:  # e.g. the database is locked: nothing was recorded
            log.exception("recording feedback on signal #%s failed", signal_id)
            refused(f"The feedback was not recorded: {exc}")
            return
        if status.refit_due:
            self._on_calibration_lane(lambda: self._refit(cal, outcome.model_id, outcome.model_version, None, None,
                                                          automatic=True))
        log.info("feedback on signal #%d by %s: %s", signal_id, os_user(),
                 label if label is not None else ("right" if right else "wrong"))
        self.feedbackRecorded.emit(FeedbackResult(request_id, signal_id, right, label, outcome.correct,
                                                  status.outcomes, status.explanation, status.refit_due, ""))

    def _emit_verdicts(self) -> None:
        """Earlier analyst verdicts for the signals the News table shows, so marks survive a restart."""
        cal = self._calibration()
        if cal is None:
            return
        try:
            verdicts = {}
            for mid, ver, source in cal.repo.outcome_counts():
                if source != "analyst":
                    continue
                for o in cal.repo.outcomes(mid, ver, ["analyst"]):
                    if o.signal_id is not None:
                        verdicts[o.signal_id] = (o.correct, o.label)
        except Exception:  # marks are a convenience; the table works without them
            log.exception("reading analyst verdicts failed")
            return
        if verdicts:
            self.verdictsLoaded.emit(verdicts)

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
        self._request_scored = 0
        try:
            self._analyze(request_id, prepared, source)
        finally:
            # Whatever happened (cancel, failure), the rest of these items wait no more.
            self._backlog.done(len(prepared.items) - self._request_scored)

    def _analyze(self, request_id: int, prepared: PreparedItems, source: str) -> None:
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
                self._request_scored = done
                self._backlog.done(len(texts))
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
        self._auto_explain_signals(batch.signals)
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

    # --- live news -----------------------------------------------------------------------------
    def _start_news(self) -> None:
        """Start the pipeline (resumes pending inbox rows); sources start when the operator says."""
        try:
            news = self._engine.news
            news.subscribe(self._on_news_scored)
            news.sources.subscribe(self._on_source_status)
            news.start()
        except Exception as exc:  # live news failing must not take pasted scoring down with it
            log.exception("the live-news pipeline could not start")
            self.sourceError.emit(f"Live news could not start: {exc}")
            return
        self._start_redis_results(news)
        self._news_timer = QTimer(self)
        self._news_timer.setInterval(int(EMIT_INTERVAL_S * 1000))
        self._news_timer.timeout.connect(self._drain_news)
        self._news_timer.start()
        self._stats_timer = QTimer(self)
        self._stats_timer.setInterval(NEWS_STATS_INTERVAL_MS)
        self._stats_timer.timeout.connect(self._emit_news_stats)
        self._stats_timer.start()
        self._sources_dirty = True

    def _on_news_scored(self, batch) -> None:
        """Fast-lane thread: only hand the batch over; the pipeline waits for listeners."""
        self._buffer_news(batch.items)

    def _buffer_news(self, items) -> None:
        """Any thread: queue scored items for the next coalesced emit (local pipeline or Redis results)."""
        with self._news_lock:
            room = NEWS_ROWS_PER_EMIT + 1 - len(self._news_buffer)
            if room > 0:
                self._news_buffer.extend(items[:room])
            self._news_overflow += max(0, len(items) - max(room, 0))

    # --- Redis (issue #9): worker results shown like local signals; publisher state -----------
    def _start_redis_results(self, news) -> None:
        """When [redis] url / --redis is set: subscribe to the workers' results stream."""
        from engine.config import ConfigError
        from engine.redisbus.config import load_redis_config

        try:
            config = load_redis_config(self._data_dir)
        except ConfigError as exc:
            self.redisStatus.emit(RedisState(False, f"Redis: off ({exc})"))
            return
        if not config.enabled:
            return
        from engine.redisbus.subscriber import ResultsSubscriber

        try:
            self._redis_results = ResultsSubscriber(self._engine.store, config=config, cache=news.cache,
                                                    on_signals=self._buffer_news)
            self._redis_results.start()
        except Exception as exc:  # Redis is optional: the desk goes on with its own signals
            log.exception("the Redis results subscriber could not start")
            self._redis_results = None
            self.redisStatus.emit(RedisState(False, f"Redis results: not subscribed ({exc})"))

    def _emit_redis_status(self) -> None:
        publisher = getattr(self._engine, "redis_publisher", None)
        statuses = [publisher.status()] if publisher is not None else []
        if self._redis_results is not None:
            statuses.append(self._redis_results.status())
        if not statuses:
            return
        state = RedisState(all(st.connected for st in statuses), " · ".join(st.message for st in statuses))
        if state != self._redis_state:
            self._redis_state = state
            self.redisStatus.emit(state)

    def _on_source_status(self, _status) -> None:
        # Source threads report every state change; the drain sends one snapshot of all of them.
        self._sources_dirty = True

    @Slot()
    def _drain_news(self) -> None:
        with self._news_lock:
            items, self._news_buffer = self._news_buffer, []
            overflow, self._news_overflow = self._news_overflow, 0
        count = len(items) + overflow
        if count > NEWS_ROWS_PER_EMIT:
            self.newsScored.emit(NewsArrivals((), count, True))
        elif items:
            self.newsScored.emit(NewsArrivals(tuple(news_row(i) for i in items), count, False))
        if items:
            self._auto_explain_signals(i.signal for i in items)
        if self._sources_dirty and self._engine is not None:
            self._sources_dirty = False
            self.sourceStatuses.emit(self._engine.news.sources.statuses())

    @Slot()
    def _emit_news_stats(self) -> None:
        if self._engine is None:
            return
        news = self._engine.news
        stats = news.stats()
        self.pipelineStats.emit(stats)
        self._emit_redis_status()
        now = time.monotonic()
        if stats.scored != self._gauges_scored or now - self._gauges_sent_at >= NEWS_GAUGES_REFRESH_S:
            self._gauges_scored, self._gauges_sent_at = stats.scored, now
            # History is stripped: the gauge needs the running series, not every cached signal.
            snaps = tuple(replace(news.snapshot(a), history=()) for a in news.recent_assets(NEWS_GAUGE_ASSETS))
            self.assetGauges.emit(snaps)

    @Slot(int, object)
    def queryNews(self, request_id: int, news_filter) -> None:
        if self._engine is None:
            self.newsPage.emit(NewsPage(request_id, news_filter, (), "The engine is not running."))
            return
        try:
            rows = self._engine.news.query(news_filter)
        except Exception as exc:
            log.exception("reading stored news failed")
            self.newsPage.emit(NewsPage(request_id, news_filter, (), f"Stored news could not be read: {exc}"))
            return
        self.newsPage.emit(NewsPage(request_id, news_filter, rows))

    def _source_call(self, action) -> None:
        from engine.news.sources.manager import SourceError

        if self._engine is None:
            self.sourceError.emit("The engine is not running.")
            return
        try:
            action(self._engine.news.sources)
        except (SourceError, ValueError, OSError) as exc:
            self.sourceError.emit(str(exc))
        except Exception as exc:  # report, never crash the desk
            log.exception("source action failed")
            self.sourceError.emit(f"The source action failed: {exc}")
        self._sources_dirty = True

    @staticmethod
    def _start_added(sources, status) -> None:
        # A source the operator just added should run now, without starting every other source.
        sources.get(status.name).start()

    @Slot(str, float, str)
    def addFeed(self, url: str, interval_s: float, source_kind: str) -> None:
        self._source_call(lambda m: self._start_added(m, m.add_feed(url, None, interval_s or None, source_kind or "news")))

    @Slot(str, float, str)
    def addFolder(self, folder: str, interval_s: float, source_kind: str) -> None:
        self._source_call(lambda m: self._start_added(m, m.add_folder(folder, None, interval_s or None,
                                                                      source_kind or "news")))

    @Slot(float, bool)
    def addReplay(self, rate: float, loop: bool) -> None:
        def act(m) -> None:
            # One demo replay at a time: starting it again (e.g. at a new rate) replaces the old one.
            if any(s.name == "replay:demo" for s in m.statuses()):
                m.remove("replay:demo")
            self._start_added(m, m.add_replay(rate, loop))

        self._source_call(act)

    @Slot(str)
    def removeSource(self, name: str) -> None:
        self._source_call(lambda m: m.remove(name))

    @Slot(str, bool)
    def setSourceEnabled(self, name: str, enabled: bool) -> None:
        self._source_call(lambda m: m.set_enabled(name, enabled))

    @Slot(str)
    def fetchNow(self, name: str) -> None:
        def act(m) -> None:
            m.get(name).start()  # a stopped source needs its thread before it can be woken
            m.fetch_now(name)

        self._source_call(act)

    @Slot()
    def startSources(self) -> None:
        self._source_call(lambda m: m.start())

    @Slot()
    def stopSources(self) -> None:
        # Joins source threads (a feed mid-fetch may take its timeout); the engine thread, not the UI, waits.
        self._source_call(lambda m: m.stop())

    def _stop_news(self) -> None:
        for timer in (self._news_timer, self._stats_timer):
            if timer is not None:
                timer.stop()
        if self._redis_results is not None:
            self._redis_results.stop()
            self._redis_results = None
        if self._engine is not None:
            try:
                self._engine.news.unsubscribe(self._on_news_scored)
            except Exception:  # the pipeline never started; nothing to unsubscribe
                pass

    # --- explanations (issue #5) ---------------------------------------------------------------
    # The engine thread only submits to the slow lane (engine.reasoning.submit returns a Future)
    # and never waits on it; the lane's thread streams and finishes each request.
    def _init_explanations(self) -> None:
        self.explain_cancels = ExplainCancels()  # shared with the client: Cancel acts at once
        self._explain_lock = threading.Lock()
        self._explain_futures: dict = {}  # request id -> Future, while queued or generating
        self._auto_explain = False
        self._auto_ids = itertools.count(-1, -1)  # negative: never clash with the client's ids
        self._auto_explained: set[int] = set()  # signal ids already sent, so a re-page never repeats one

    def _submit_explanation(self, request_id: int, signal_id: int, chain: bool, automatic: bool) -> None:
        if self._engine is None:
            self.explanationFailed.emit(request_id, "The engine is not running; nothing was explained.")
            return
        if self.explain_cancels.is_cancelled(request_id):
            self.explanationFailed.emit(request_id, "Cancelled.")
            return
        from engine.reasoning.lanes import LaneFull

        cancels = self.explain_cancels
        stream = ChunkStream(request_id, signal_id, self.explanationChunk.emit)
        # Started before submitting: chunks come from another thread and must not overtake it.
        self.explanationStarted.emit(ExplainStarted(request_id, signal_id, chain, automatic))
        try:
            future = self._engine.reasoning.submit(
                int(signal_id), chain=chain, on_token=stream.token, on_text=stream.text, on_retry=stream.retry,
                should_stop=lambda: cancels.is_cancelled(request_id))
        except LaneFull as exc:
            self.explanationFailed.emit(request_id, f"The explanation queue is full ({exc}); try again shortly.")
            return
        except Exception as exc:  # e.g. the lane closed at shutdown
            log.exception("explanation of signal #%s could not start", signal_id)
            self.explanationFailed.emit(request_id, f"The explanation could not start: {exc}")
            return
        with self._explain_lock:
            self._explain_futures[request_id] = future
        future.add_done_callback(lambda f: self._explanation_done(f, request_id, signal_id, automatic, stream))

    def _explanation_done(self, future, request_id: int, signal_id: int, automatic: bool,
                          stream: ChunkStream) -> None:
        """Runs on the slow-lane thread (or the cancelling one): last chunk, then the outcome."""
        with self._explain_lock:
            self._explain_futures.pop(request_id, None)
        stream.flush()
        self.explain_cancels.forget(request_id)
        if future.cancelled():
            self.explanationFailed.emit(request_id, "Cancelled before it started.")
            return
        exc = future.exception()
        if exc is not None:
            message = str(exc) if isinstance(exc, ValueError) else f"The explanation failed: {exc}"
            self.explanationFailed.emit(request_id, message)
            return
        x = future.result()
        if x.status == "fallback_cancelled":
            self.explanationFailed.emit(request_id, "Cancelled: the rationale was not finished and nothing "
                                                    "was stored with the signal.")
            return
        log.info("explained signal #%s (%s, %s, %.1f s)%s", signal_id, x.status, x.model_id or "template",
                 x.latency_ms / 1000, " automatically" if automatic else "")
        self.explanationReady.emit(view_from_explanation(x, request_id, automatic))

    @Slot(int, int, bool)
    def explainSignal(self, request_id: int, signal_id: int, chain: bool) -> None:
        self._submit_explanation(request_id, signal_id, chain, False)

    @Slot(int)
    def cancelExplanation(self, request_id: int) -> None:
        # Still queued: drop it now (its callback reports it); generating: it sees the cancel per token.
        with self._explain_lock:
            future = self._explain_futures.get(request_id)
        if future is not None:
            future.cancel()

    @Slot(bool)
    def setAutoExplain(self, on: bool) -> None:
        self._auto_explain = bool(on)
        log.info("auto-explain of high-impact items %s", "on" if on else "off")

    def _auto_explain_signals(self, signals) -> None:
        """Explain newly scored high-impact items (engine.reasoning.high_impact decides, and refuses
        once the slow lane has a few waiting, so a burst of news can never flood it)."""
        if not self._auto_explain or self._engine is None:
            return
        try:
            reasoning = self._engine.reasoning
            for sig in signals:
                if sig.id is None or sig.id in self._auto_explained:
                    continue
                if not reasoning.high_impact(sig, enabled=True):
                    continue
                if len(self._auto_explained) > 50_000:  # bounded memory over a long session
                    self._auto_explained.clear()
                self._auto_explained.add(sig.id)
                self._submit_explanation(next(self._auto_ids), sig.id, False, True)
        except Exception:  # auto-explain is a convenience: scoring and the table go on without it
            log.exception("auto-explain failed")

    @Slot(int)
    def loadExplanation(self, signal_id: int) -> None:
        """The newest stored explanation of a signal and its event class (fast: two small reads)."""
        from engine.reasoning.lookup import signal_event

        if self._engine is None or self._engine.store is None:
            self.explanationLoaded.emit(ExplanationLoaded(signal_id, None, None, "The engine is not running."))
            return
        try:
            stored = self._engine.reasoning.latest(signal_id)
            event = signal_event(self._engine.store, signal_id)
        except Exception as exc:
            log.exception("reading the explanation of signal #%s failed", signal_id)
            self.explanationLoaded.emit(ExplanationLoaded(signal_id, None, None,
                                                          f"The stored explanation could not be read: {exc}"))
            return
        self.explanationLoaded.emit(ExplanationLoaded(signal_id, view_from_stored(stored) if stored else None, event))

    @Slot(int, str)
    def openSource(self, request_id: int, cited_id: str) -> None:
        if self._engine is None:
            self.sourceOpened.emit(SourceOpened(request_id, cited_id, None, "The engine is not running."))
            return
        try:
            source = self._engine.reasoning.source(cited_id)
        except ValueError as exc:  # not a cited id, or no longer stored
            self.sourceOpened.emit(SourceOpened(request_id, cited_id, None, str(exc)))
            return
        except Exception as exc:
            log.exception("opening %s failed", cited_id)
            self.sourceOpened.emit(SourceOpened(request_id, cited_id, None, f"{cited_id} could not be read: {exc}"))
            return
        self.sourceOpened.emit(SourceOpened(request_id, cited_id, source))

    @Slot(int, str, object)
    def addNote(self, request_id: int, text: str, signal_id) -> None:
        """An analyst note: stored now, embedded into the retrieval index by the next explanation."""
        if self._engine is None:
            self.noteAdded.emit(NoteAdded(request_id, None, signal_id, text, "The engine is not running."))
            return
        try:
            note_id = self._engine.reasoning.add_note(text, signal_id=signal_id, author=os_user())
        except ValueError as exc:  # blank note
            self.noteAdded.emit(NoteAdded(request_id, None, signal_id, text, str(exc)))
            return
        except Exception as exc:  # e.g. the database is locked: nothing was stored
            log.exception("storing an analyst note failed")
            self.noteAdded.emit(NoteAdded(request_id, None, signal_id, text, f"The note was not stored: {exc}"))
            return
        self.noteAdded.emit(NoteAdded(request_id, note_id, signal_id, text))

    @Slot()
    def stop(self) -> None:
        self._benchmark_cancel.set()
        self._labelled_cancel.cancel_all()
        self._stop_news()
        if self._engine is not None:
            self._engine.monitor.stop()  # before the store closes: the sampler writes history
        if self._calibration_lane is not None:
            # A running refit finishes (seconds); queued jobs are dropped.
            self._calibration_lane.shutdown(wait=True, cancel_futures=True)
            self._calibration_lane = None
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
    monitorStarted = Signal(object)
    sampled = Signal(object)
    memoryEvent = Signal(object)
    memoryAction = Signal(object)
    metricsHistory = Signal(object)
    metricsExported = Signal(object)
    calibrationOverview = Signal(object)
    calibrationReport = Signal(object)
    labelledProgress = Signal(object)
    labelledEvaluated = Signal(object)
    calibrationRefitted = Signal(object)
    feedbackRecorded = Signal(object)
    verdictsLoaded = Signal(object)
    newsScored = Signal(object)
    newsPage = Signal(object)
    assetGauges = Signal(object)
    pipelineStats = Signal(object)
    sourceStatuses = Signal(object)
    sourceError = Signal(str)
    redisStatus = Signal(object)  # RedisState
    explanationStarted = Signal(object)
    explanationChunk = Signal(object)
    explanationReady = Signal(object)
    explanationFailed = Signal(int, str)
    explanationLoaded = Signal(object)
    sourceOpened = Signal(object)
    noteAdded = Signal(object)

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
    _requestMetricsHistory = Signal(object, float)
    _requestMetricsExport = Signal(str, float)
    _requestCalibrationOverview = Signal()
    _requestCalibrationReport = Signal(str, str, object)
    _evaluateLabelledFile = Signal(int, str, bool)
    _refitCalibration = Signal(str, str, str, object)
    _recordFeedback = Signal(int, int, object, object, str)
    _queryNews = Signal(int, object)
    _addFeed = Signal(str, float, str)
    _addFolder = Signal(str, float, str)
    _addReplay = Signal(float, bool)
    _removeSource = Signal(str)
    _setSourceEnabled = Signal(str, bool)
    _fetchNow = Signal(str)
    _startSources = Signal()
    _stopSources = Signal()
    _explainRequested = Signal(int, int, bool)
    _cancelExplanation = Signal(int)
    _setAutoExplain = Signal(bool)
    _loadExplanation = Signal(int)
    _openSource = Signal(int, str)
    _addNote = Signal(int, str, object)

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
        self._labelled_cancel = CancelToken()
        self._backlog = Backlog()
        self._worker = EngineWorker(config, data_dir, self._cancel, self._benchmark_cancel,
                                    labelled_cancel=self._labelled_cancel, backlog=self._backlog)
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
                     "portfolioReady", "pricesImported", "ideaError", "monitorStarted", "sampled", "memoryEvent",
                     "memoryAction", "metricsHistory", "metricsExported", "calibrationOverview",
                     "calibrationReport", "labelledProgress", "labelledEvaluated", "calibrationRefitted",
                     "feedbackRecorded", "verdictsLoaded"):
            getattr(self._worker, name).connect(getattr(self, name))
        for name in ("newsScored", "newsPage", "assetGauges", "pipelineStats", "sourceStatuses", "sourceError",
                     "redisStatus"):
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
        self._requestMetricsHistory.connect(self._worker.requestMetricsHistory)
        self._requestMetricsExport.connect(self._worker.requestMetricsExport)
        self._requestCalibrationOverview.connect(self._worker.requestCalibrationOverview)
        self._requestCalibrationReport.connect(self._worker.requestCalibrationReport)
        self._evaluateLabelledFile.connect(self._worker.evaluateLabelledFile)
        self._refitCalibration.connect(self._worker.refitCalibration)
        self._recordFeedback.connect(self._worker.recordFeedback)
        self._queryNews.connect(self._worker.queryNews)
        self._addFeed.connect(self._worker.addFeed)
        self._addFolder.connect(self._worker.addFolder)
        self._addReplay.connect(self._worker.addReplay)
        self._removeSource.connect(self._worker.removeSource)
        self._setSourceEnabled.connect(self._worker.setSourceEnabled)
        self._fetchNow.connect(self._worker.fetchNow)
        self._startSources.connect(self._worker.startSources)
        self._stopSources.connect(self._worker.stopSources)
        self._connect_explanations()

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
        self._backlog.add(len(prepared.items))
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

    # Monitoring: answers arrive as metricsHistory / metricsExported.
    def request_metrics_history(self, since: float, metrics: tuple[str, ...] = ()) -> None:
        """Stored samples since ``since`` (unix s), e.g. to backfill charts after a restart."""
        self._requestMetricsHistory.emit(tuple(metrics), float(since))

    def export_metrics(self, path: str | Path, since: float = 0.0) -> None:
        self._requestMetricsExport.emit(str(path), float(since))

    # Calibration: each call returns at once; answers arrive as signals.
    def request_calibration_overview(self) -> None:
        self._requestCalibrationOverview.emit()

    def request_calibration_report(self, model_id: str, version: str, sources: tuple[str, ...] = ()) -> None:
        self._requestCalibrationReport.emit(model_id, version, tuple(sources))

    def evaluate_labelled_file(self, path: str | Path, record: bool = True) -> int:
        """Score a labelled CSV (and record its rows as outcomes); progress via labelledProgress."""
        request_id = next(self._ids)
        self._labelled_cancel.submitted(request_id)
        self._evaluateLabelledFile.emit(request_id, str(path), bool(record))
        return request_id

    def cancel_labelled(self) -> None:
        self._labelled_cancel.cancel()

    def refit_calibration(self, model_id: str, version: str, method: str = "auto", scheme: str | None = None) -> None:
        self._refitCalibration.emit(model_id, version, method, scheme)

    def record_feedback(self, signal_id: int, right: bool | None = None, label: str | None = None,
                        note: str = "") -> int:
        """Mark a stored signal right or wrong, or give its right label (exactly one of the two)."""
        request_id = next(self._ids)
        self._recordFeedback.emit(request_id, int(signal_id), right, label, note)
        return request_id

    # Live news: each call returns at once; pages arrive as newsPage (match the request id),
    # source changes as sourceStatuses, refusals as sourceError.
    def query_news(self, news_filter: NewsFilter) -> int:
        request_id = next(self._ids)
        self._queryNews.emit(request_id, news_filter)
        return request_id

    def add_feed(self, url: str, interval_s: float = 0.0, source_kind: str = "news") -> None:
        self._addFeed.emit(url, float(interval_s), source_kind)

    def add_folder(self, folder: str | Path, interval_s: float = 0.0, source_kind: str = "news") -> None:
        self._addFolder.emit(str(folder), float(interval_s), source_kind)

    def add_replay(self, rate: float = 0.0, loop: bool = False) -> None:
        self._addReplay.emit(float(rate), bool(loop))

    def remove_source(self, name: str) -> None:
        self._removeSource.emit(name)

    def set_source_enabled(self, name: str, enabled: bool) -> None:
        self._setSourceEnabled.emit(name, bool(enabled))

    def fetch_now(self, name: str) -> None:
        self._fetchNow.emit(name)

    def start_sources(self) -> None:
        self._startSources.emit()

    def stop_sources(self) -> None:
        self._stopSources.emit()

    # --- explanations (issue #5) ---------------------------------------------------------------
    # Each call returns at once; answers arrive as explanationStarted / explanationChunk /
    # explanationReady / explanationFailed (match the request id), explanationLoaded,
    # sourceOpened and noteAdded.
    def _connect_explanations(self) -> None:
        self._explain_cancels = self._worker.explain_cancels
        for name in ("explanationStarted", "explanationChunk", "explanationReady", "explanationFailed",
                     "explanationLoaded", "sourceOpened", "noteAdded"):
            getattr(self._worker, name).connect(getattr(self, name))
        self._explainRequested.connect(self._worker.explainSignal)
        self._cancelExplanation.connect(self._worker.cancelExplanation)
        self._setAutoExplain.connect(self._worker.setAutoExplain)
        self._loadExplanation.connect(self._worker.loadExplanation)
        self._openSource.connect(self._worker.openSource)
        self._addNote.connect(self._worker.addNote)

    def explain(self, signal_id: int, chain: bool = False) -> int:
        """Explain a stored signal on the slow lane (LLM rationale, optionally the 5-step chain)."""
        request_id = next(self._ids)
        self._explainRequested.emit(request_id, int(signal_id), bool(chain))
        return request_id

    def cancel_explain(self, request_id: int) -> None:
        self._explain_cancels.cancel(request_id)  # seen by the generating thread at its next token
        self._cancelExplanation.emit(int(request_id))  # and a queued request is dropped

    def set_auto_explain(self, on: bool) -> None:
        """Let the worker explain newly scored high-impact items (engine.reasoning.high_impact)."""
        self._setAutoExplain.emit(bool(on))

    def load_explanation(self, signal_id: int) -> None:
        self._loadExplanation.emit(int(signal_id))

    def open_source(self, cited_id: str) -> int:
        request_id = next(self._ids)
        self._openSource.emit(request_id, str(cited_id))
        return request_id

    def add_note(self, text: str, signal_id: int | None = None) -> int:
        """Store an analyst note (retrievable and citable by later explanations)."""
        text = (text or "").strip()
        if not text:
            raise EmptyInputError("The note is empty; nothing was stored.")
        request_id = next(self._ids)
        self._addNote.emit(request_id, text, signal_id)
        return request_id

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
