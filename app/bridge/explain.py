"""Explanations for the desk: ask, cancel, stream, show stored ones, open cited sources, notes.

The engine's ``ExplanationRequests`` (engine/reasoning/requests.py) runs every explanation, the
ones a person asks for and auto-explain's, and reports what happens to each; this bridge turns
those reports into a push feed of frozen dataclasses (``started``, ``chunk``, ``finished``,
``refused``) that every detail pane watches, with the streamed text coalesced by ``ChunkStream``
to at most ~20 updates a second however fast the model writes. Loading a stored explanation,
opening a cited source and adding a note are operations with their own callbacks.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import Signal

from app.bridge.feature import Feature
from app.bridge.host import EngineHost
from engine.reasoning.checks import Check
from engine.reasoning.lookup import CitedSource, SignalEvent, describe_status
from engine.reasoning.requests import ExplainRequest
from engine.users import current_user

# Streamed text reaches the UI at most this often (the desk-wide ~20 updates a second).
CHUNK_INTERVAL_S = 0.05
# Retrieved texts carried in a view are cut to this; the full text is one click away (openSource).
SNIPPET_CHARS = 160

# Display names for the streamed fields (engine/reasoning/stream.py DEFAULT_FIELDS).
FIELD_TITLES = {"rationale": "Rationale", "chain.key_facts": "Key facts", "chain.sentiment": "Sentiment",
                "chain.market_context": "Market context", "chain.impact": "Impact",
                "chain.conclusion": "Conclusion"}


@dataclass(frozen=True)
class ExplainStarted:
    request_id: int  # > 0: asked for on the desk; < 0: auto-explain, decided by the engine
    signal_id: int
    chain: bool
    automatic: bool


@dataclass(frozen=True)
class ExplanationChunk:
    """Readable text written since the last chunk (one flush, possibly several tokens)."""

    request_id: int
    signal_id: int
    pieces: tuple[tuple[str, str], ...]  # (field, text) in order; field e.g. "rationale", "chain.impact"
    tokens: int  # tokens generated so far in this attempt
    attempt: int  # 1, then 2 after a retry: the display starts again
    note: str = ""  # e.g. why a retry started

    @property
    def text(self) -> str:
        return "".join(t for _, t in self.pieces)


@dataclass(frozen=True)
class ChainStep:
    step: str  # key_facts | sentiment | market_context | impact | conclusion
    title: str
    text: str


@dataclass(frozen=True)
class RetrievedItem:
    id: str  # "signal:12" | "note:3"
    score: float  # cosine similarity to the explained headline
    snippet: str  # "" when loaded from the store (the audit keeps ids and scores only)
    label: str | None = None  # how the classifier labelled it (None: a note, or loaded from the store)


@dataclass(frozen=True)
class ExplanationView:
    """One explanation as the desk shows it: the J6 fields, the chain, what was cited and how it
    was made. Advice only: nothing reads it to change limits, sizes or idea states."""

    request_id: int  # 0 when loaded from the store
    signal_id: int | None
    direction: str  # BUY | HOLD | SELL
    confidence: float
    sentiment: str
    entities: tuple[str, ...]
    events: tuple[str, ...]
    timeframe: str
    magnitude: str
    rationale: str
    cited: tuple[str, ...]
    retrieved: tuple[RetrievedItem, ...]  # what the model was shown, best first
    chain: tuple[ChainStep, ...]  # () in plain mode
    status: str  # ok | retried | template | insufficient data
    engine_status: str  # Explanation.status as the engine gives it (ok, fallback_timeout, …)
    reason: str  # in words: who wrote it, or why the template did
    fallback_used: bool
    insufficient_data: bool
    model_id: str
    model_version: str
    latency_ms: float
    first_token_ms: float | None
    completion_tokens: int
    audit_id: int | None
    mode: str  # plain | chain
    created_at: float
    automatic: bool = False  # auto-explain of a high-impact item
    stored: bool = False  # read back from the store, not generated just now
    # Faithfulness checks of what is shown (engine/reasoning/checks.py): name, passed, detail,
    # blocking. Every blocking one passed (or it would not be shown); "sentiment" is informative.
    checks: tuple[Check, ...] = ()
    model_source: str = ""  # "local file SmolLM2-135M-Instruct.Q4_1.gguf" | "endpoint HOST:PORT, model NAME"
    fallback_banner: str = ""  # non-empty when the evidence-based explanation is shown: why, in one line

    @property
    def sentiment_disagreement(self) -> bool:
        """The answer's sentiment differs from the classifier's: show it as a disagreement."""
        return any(c.name == "sentiment" and not c.passed for c in self.checks)

    @property
    def model_line(self) -> str:
        """What wrote this, for the pane's footer: model id, version and where it ran."""
        if not self.model_id:
            return "no language model was asked"
        return " · ".join(p for p in (f"{self.model_id} {self.model_version}".strip(), self.model_source) if p)

    @property
    def source_ids(self) -> tuple[str, ...]:
        """Cited ids first, then anything else retrieved: every one can be opened."""
        return tuple(dict.fromkeys((*self.cited, *(r.id for r in self.retrieved))))


@dataclass(frozen=True)
class ExplanationLoaded:
    """Answer to ``load``: the stored explanation (None when never explained) and the signal's event class."""

    signal_id: int
    explanation: ExplanationView | None
    event: SignalEvent | None  # None when it could not be read
    error: str = ""


@dataclass(frozen=True)
class NoteAdded:
    note_id: int
    signal_id: int | None
    text: str


def _status(fallback: bool, insufficient: bool, engine_status: str) -> str:
    if fallback:
        return "template"
    if insufficient:
        return "insufficient data"
    return "retried" if engine_status == "ok_after_retry" else "ok"


def _reason(fallback: bool, insufficient: bool, engine_status: str, model_id: str) -> str:
    if fallback:
        return f"Evidence-based explanation, not the language model's: {describe_status(engine_status)}."
    written = f"Written by {model_id}" + (" on its second attempt" if engine_status == "ok_after_retry" else "")
    if insufficient:
        return f"{written}; nothing related is on record, so the call is HOLD."
    return f"{written}."


def _banner(fallback: bool, engine_status: str, errors: tuple[str, ...]) -> str:
    """One line for the fallback banner: what was shown instead, and what went wrong."""
    if not fallback:
        return ""
    last = next((e for e in reversed(errors) if e.startswith("attempt")), errors[-1] if errors else "")
    detail = f" Last attempt: {last.split(': ', 1)[-1][:160]}" if last else ""
    return (f"Evidence-based explanation from the classifier, the event class, the linked assets and similar "
            f"items: {describe_status(engine_status)}.{detail}")


def view_from_explanation(x: Any, request_id: int, automatic: bool = False) -> ExplanationView:
    """From a fresh ``engine.reasoning.Explanation``."""
    s = x.signal
    return ExplanationView(
        request_id, x.signal_id, s["direction"], float(s["confidence"]), s["sentiment"], tuple(s["entities"]),
        tuple(s["events"]), s["timeframe"], s["magnitude"], s["rationale"], tuple(x.cited),
        tuple(RetrievedItem(r.id, float(r.score), r.text[:SNIPPET_CHARS], r.label) for r in x.retrieved),
        tuple(ChainStep(c["step"], c["title"], c["text"]) for c in x.chain),
        _status(x.fallback_used, x.insufficient_data, x.status), x.status,
        _reason(x.fallback_used, x.insufficient_data, x.status, x.model_id), x.fallback_used, x.insufficient_data,
        x.model_id, x.model_version, float(x.latency_ms), x.first_token_ms, int(x.completion_tokens), x.audit_id,
        "chain" if x.chain else "plain", time.time(), automatic, False, tuple(x.checks), x.model_source,
        _banner(x.fallback_used, x.status, tuple(x.errors)))


def view_from_stored(stored: Any) -> ExplanationView:
    """From an ``engine.reasoning.lookup.StoredExplanation``."""
    s = stored.signal
    insufficient = stored.insufficient_data
    return ExplanationView(
        0, stored.signal_id, s["direction"], float(s["confidence"]), s["sentiment"], tuple(s["entities"]),
        tuple(s["events"]), s["timeframe"], s["magnitude"], s["rationale"], tuple(stored.cited),
        tuple(RetrievedItem(str(r.get("id", "")), float(r.get("score", 0.0)), "") for r in stored.retrieved),
        tuple(ChainStep(c["step"], c["title"], c["text"]) for c in stored.chain),
        _status(stored.fallback_used, insufficient, stored.status), stored.status,
        _reason(stored.fallback_used, insufficient, stored.status, stored.model_id), stored.fallback_used,
        insufficient, stored.model_id, stored.model_version, stored.latency_ms, stored.first_token_ms,
        stored.completion_tokens, stored.audit_id, stored.mode, stored.created_at, False, True, tuple(stored.checks),
        stored.model_source, _banner(stored.fallback_used, stored.status, tuple(stored.errors)))


class ChunkStream:
    """Collects the slow lane's streaming callbacks for one request and hands ``emit`` an
    ExplanationChunk at most every ``interval_s``; ``flush`` sends what is left.

    Called on the slow-lane thread (tokens) and once more from wherever the request ends."""

    def __init__(self, request_id: int, signal_id: int, emit: Callable[[ExplanationChunk], None],
                 interval_s: float = CHUNK_INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.request_id, self.signal_id = request_id, signal_id
        self._emit = emit
        self._interval = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._pieces: list[tuple[str, str]] = []
        self._tokens = 0
        self._sent_tokens = 0
        self._attempt = 1
        self._note = ""
        self._last = float("-inf")
        self.emitted = 0  # chunks sent, for tests and logs

    def token(self, _piece: str) -> None:
        with self._lock:
            self._tokens += 1
        self._maybe_flush()

    def text(self, field: str, text: str) -> None:
        with self._lock:
            if self._pieces and self._pieces[-1][0] == field:
                self._pieces[-1] = (field, self._pieces[-1][1] + text)
            else:
                self._pieces.append((field, text))
        self._maybe_flush()

    def retry(self, attempt: int, error: str) -> None:
        """A new attempt starts: what streamed so far is void; say why."""
        self.flush()
        with self._lock:
            self._attempt, self._tokens, self._sent_tokens = int(attempt), 0, -1
            self._note = f"Attempt {int(attempt)}: the previous answer was not usable ({error[:160]})" if error \
                else f"Attempt {int(attempt)}"
        self.flush()

    def _maybe_flush(self) -> None:
        if self._clock() - self._last >= self._interval:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            if not self._pieces and self._tokens == self._sent_tokens:
                return
            chunk = ExplanationChunk(self.request_id, self.signal_id, tuple(self._pieces), self._tokens,
                                     self._attempt, self._note)
            self._pieces, self._sent_tokens, self._note = [], self._tokens, ""
            self._last = self._clock()
            self.emitted += 1
        self._emit(chunk)


class _EngineReports:
    """The engine's listener (engine.reasoning.requests.ExplainListener) for one ExplainFeature: called
    on engine threads, it coalesces the streamed text and emits the feature's feed."""

    def __init__(self, feature: "ExplainFeature") -> None:
        self._feature = feature
        self._lock = threading.Lock()
        self._streams: dict[int, ChunkStream] = {}  # request id -> its coalescer, while it runs

    def _stream(self, request: ExplainRequest) -> ChunkStream | None:
        with self._lock:
            return self._streams.get(request.request_id)

    def _end(self, request: ExplainRequest) -> None:
        with self._lock:
            stream = self._streams.pop(request.request_id, None)
        if stream is not None:
            stream.flush()

    def started(self, request: ExplainRequest) -> None:
        with self._lock:
            self._streams[request.request_id] = ChunkStream(request.request_id, request.signal_id,
                                                            self._feature.chunk.emit)
        self._feature.started.emit(ExplainStarted(request.request_id, request.signal_id, request.chain,
                                                  request.automatic))

    def token(self, request: ExplainRequest, piece: str) -> None:
        stream = self._stream(request)
        if stream is not None:
            stream.token(piece)

    def text(self, request: ExplainRequest, field: str, text: str) -> None:
        stream = self._stream(request)
        if stream is not None:
            stream.text(field, text)

    def retry(self, request: ExplainRequest, attempt: int, error: str) -> None:
        stream = self._stream(request)
        if stream is not None:
            stream.retry(attempt, error)

    def finished(self, request: ExplainRequest, explanation: Any) -> None:
        self._end(request)
        self._feature.finished.emit(view_from_explanation(explanation, request.request_id, request.automatic))

    def failed(self, request: ExplainRequest, message: str) -> None:
        self._end(request)
        self._feature.refused.emit(request.request_id, message)


class ExplainFeature(Feature):
    started = Signal(object)  # ExplainStarted (also auto-explain's)
    chunk = Signal(object)  # ExplanationChunk, at most ~20 a second per request
    finished = Signal(object)  # ExplanationView
    refused = Signal(int, str)  # request id, why (cancelled, queue full, unknown signal, engine not running)

    def __init__(self, host: EngineHost) -> None:
        super().__init__(host)
        self._ids = itertools.count(1)
        self._reports = _EngineReports(self)
        self._auto = False
        host.on_start(self._start)

    def _start(self, engine) -> None:
        engine.explanations.subscribe(self._reports)
        engine.explanations.auto_explain = self._auto

    # --- asking ---------------------------------------------------------------------------------
    def explain(self, signal_id: int, chain: bool = False) -> int:
        """Explain a stored signal on the slow lane; returns the request id the feed will carry."""
        request_id = next(self._ids)
        self.op("Explaining a signal",
                lambda ctx: ctx.engine.explanations.request(signal_id, request_id=request_id, chain=chain)) \
            .on_failure(lambda message: self.refused.emit(request_id, message)).run()
        return request_id

    def cancel(self, request_id: int) -> None:
        """At once, from the UI thread: a queued request is dropped, a running one stops at its next token."""
        engine = self._host.engine
        if engine is not None:
            engine.explanations.cancel(request_id)

    def set_auto_explain(self, on: bool) -> None:
        """Explain high-impact items as they are stored (engine.reasoning.high_impact decides)."""
        self._auto = bool(on)

        def apply(ctx) -> None:
            ctx.engine.explanations.auto_explain = self._auto

        self.op("Switching auto-explain", apply).run()

    def load(self, signal_id: int, on_loaded: Callable[[ExplanationLoaded], None]) -> None:
        """The newest stored explanation of a signal and its event class (two small reads)."""
        from engine.reasoning.lookup import signal_event

        def read(ctx) -> ExplanationLoaded:
            stored = ctx.engine.reasoning.latest(signal_id)
            event = signal_event(ctx.engine.store, signal_id)
            return ExplanationLoaded(signal_id, view_from_stored(stored) if stored else None, event)

        self.op("Reading a stored explanation", read).on_success(on_loaded) \
            .on_failure(lambda message: on_loaded(ExplanationLoaded(signal_id, None, None, message))).run()

    def open_source(self, cited_id: str, on_opened: Callable[[CitedSource], None],
                    on_error: Callable[[str], None]) -> None:
        """What a cited id ("signal:12", "note:3") points at; an unknown id is refused with the reason."""
        self.op(f"Opening {cited_id}", lambda ctx: ctx.engine.reasoning.source(cited_id), expected=(ValueError,)) \
            .on_success(on_opened).on_failure(on_error).run()

    def add_note(self, text: str, signal_id: int | None, on_added: Callable[[NoteAdded], None],
                 on_error: Callable[[str], None]) -> None:
        """Store an analyst note: retrievable and citable by later explanations."""
        text = (text or "").strip()

        def store(ctx) -> NoteAdded:
            note_id = ctx.engine.reasoning.add_note(text, signal_id=signal_id, author=current_user())
            return NoteAdded(note_id, signal_id, text)

        self.op("Storing a note", store, expected=(ValueError,)).on_success(on_added).on_failure(on_error).run()
