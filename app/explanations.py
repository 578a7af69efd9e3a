"""Plain data for explanations on their way from the slow lane to the desk (no Qt here).

``app/worker.py`` turns engine results (``engine.reasoning.Explanation``, a stored explanation,
a cited source) into these frozen dataclasses, and ``ChunkStream`` coalesces the streamed text
so the UI gets at most ~20 updates a second however fast the model writes.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

from engine.reasoning.lookup import describe_status

# Streamed text reaches the UI at most this often (the desk-wide ~20 updates a second).
CHUNK_INTERVAL_S = 0.05
# Retrieved texts carried in a view are cut to this; the full text is one click away (openSource).
SNIPPET_CHARS = 160

# Display names for the streamed fields (engine/reasoning/stream.py DEFAULT_FIELDS).
FIELD_TITLES = {"rationale": "Rationale", "chain.key_facts": "Key facts", "chain.sentiment": "Sentiment",
                "chain.market_context": "Market context", "chain.impact": "Impact",
                "chain.conclusion": "Conclusion"}


class ExplainCancels:
    """Explanation requests the analyst cancelled. Shared by the client (UI thread, writes at once)
    and the slow lane (reads between tokens), so a Cancel works while the engine thread is busy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: set[int] = set()
        self._all = False

    def cancel(self, request_id: int) -> None:
        with self._lock:
            self._ids.add(int(request_id))

    def cancel_all(self) -> None:
        with self._lock:
            self._all = True

    def is_cancelled(self, request_id: int) -> bool:
        with self._lock:
            return self._all or request_id in self._ids

    def forget(self, request_id: int) -> None:
        with self._lock:
            self._ids.discard(request_id)


@dataclass(frozen=True)
class ExplainStarted:
    request_id: int  # > 0: asked for by the client; < 0: auto-explain, decided by the worker
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

    @property
    def source_ids(self) -> tuple[str, ...]:
        """Cited ids first, then anything else retrieved: every one can be opened."""
        return tuple(dict.fromkeys((*self.cited, *(r.id for r in self.retrieved))))


@dataclass(frozen=True)
class ExplanationLoaded:
    """Answer to ``loadExplanation``: the stored explanation (None when never explained) and the
    signal's event class."""

    signal_id: int
    explanation: ExplanationView | None
    event: object  # engine.reasoning.lookup.SignalEvent, None when it could not be read
    error: str = ""


@dataclass(frozen=True)
class SourceOpened:
    request_id: int
    cited_id: str
    source: object  # engine.reasoning.lookup.CitedSource, None when refused
    error: str = ""


@dataclass(frozen=True)
class NoteAdded:
    request_id: int
    note_id: int | None
    signal_id: int | None
    text: str
    error: str = ""


def _status(fallback: bool, insufficient: bool, engine_status: str) -> str:
    if fallback:
        return "template"
    if insufficient:
        return "insufficient data"
    return "retried" if engine_status == "ok_after_retry" else "ok"


def _reason(fallback: bool, insufficient: bool, engine_status: str, model_id: str) -> str:
    if fallback:
        return f"Template rationale, not the language model's: {describe_status(engine_status)}."
    written = f"Written by {model_id}" + (" on its second attempt" if engine_status == "ok_after_retry" else "")
    if insufficient:
        return f"{written}; nothing related is on record, so the call is HOLD."
    return f"{written}."


def view_from_explanation(x, request_id: int, automatic: bool = False) -> ExplanationView:
    """From a fresh ``engine.reasoning.Explanation``."""
    s = x.signal
    return ExplanationView(
        request_id, x.signal_id, s["direction"], float(s["confidence"]), s["sentiment"], tuple(s["entities"]),
        tuple(s["events"]), s["timeframe"], s["magnitude"], s["rationale"], tuple(x.cited),
        tuple(RetrievedItem(r.id, float(r.score), r.text[:SNIPPET_CHARS]) for r in x.retrieved),
        tuple(ChainStep(c["step"], c["title"], c["text"]) for c in x.chain),
        _status(x.fallback_used, x.insufficient_data, x.status), x.status,
        _reason(x.fallback_used, x.insufficient_data, x.status, x.model_id), x.fallback_used, x.insufficient_data,
        x.model_id, x.model_version, float(x.latency_ms), x.first_token_ms, int(x.completion_tokens), x.audit_id,
        "chain" if x.chain else "plain", time.time(), automatic, False)


def view_from_stored(stored) -> ExplanationView:
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
        stored.completion_tokens, stored.audit_id, stored.mode, stored.created_at, False, True)


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
