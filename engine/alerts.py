"""Alerts (issue #17): tell the analyst when a watchlist symbol gets a strong, important signal.

A stored signal raises an alert for each of its entities that is on the watchlist when

- its confidence (the calibrated one when the model version has a calibrator, else the raw one,
  and the alert says which) is at least ``min_confidence``,
- its event impact is at least ``min_impact`` (low < medium < high),
- its label is one of ``labels`` (by default bullish and bearish: a neutral item is not news to act on),
- the news is fresh (published within ``max_age_hours``: replaying an old file raises nothing),
- and that symbol has had no alert in the last ``rate_limit_s`` seconds: a burst of items about one
  company raises one alert, and the others are counted as rate-limited.

Settings live in the ``[alerts]`` table of config.toml (``SIGNALDESK_ALERTS_<KEY>`` overrides);
``enabled = false`` switches alerts off. Each alert is a row in ``alerts`` (migration 18) with the
values it was raised on; the rate limit is checked inside the same write transaction, so two
processes sharing a desk database cannot both alert for one burst. The UI shows them (tray message
or toast) from ``AlertEngine.subscribe``; ``signaldesk alerts list`` prints the log.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from engine.config import ConfigError, load_section, non_finite_fields, save_section

log = logging.getLogger(__name__)

ENV_PREFIX = "SIGNALDESK_ALERTS_"
IMPACT_ORDER = ("low", "medium", "high")
ALERT_LABELS = ("bullish", "bearish", "neutral")


@dataclass(frozen=True)
class AlertConfig:
    enabled: bool = True
    min_confidence: float = 0.80  # calibrated confidence, 0..1
    min_impact: str = "high"  # low | medium | high
    labels: str = "bullish,bearish"  # comma-separated labels that may alert
    rate_limit_s: float = 1800.0  # at most one alert per symbol in this window
    max_age_hours: float = 6.0  # news older than this (by its published time) never alerts

    def __post_init__(self) -> None:
        problems = non_finite_fields(self)
        if not problems:
            if not 0.0 <= self.min_confidence <= 1.0:
                problems.append("min_confidence must be in [0, 1]")
            if self.min_impact not in IMPACT_ORDER:
                problems.append(f"min_impact must be one of {', '.join(IMPACT_ORDER)}")
            if not self.label_set or not self.label_set <= set(ALERT_LABELS):
                problems.append(f"labels must be a comma-separated subset of {', '.join(ALERT_LABELS)}")
            if self.rate_limit_s < 0:
                problems.append("rate_limit_s must not be negative")
            if self.max_age_hours <= 0:
                problems.append("max_age_hours must be positive")
        if problems:
            raise ConfigError("alerts config: " + "; ".join(problems))

    @property
    def label_set(self) -> frozenset[str]:
        return frozenset(part.strip().lower() for part in self.labels.split(",") if part.strip())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_alert_config(data_dir: Path | None = None, environ: Mapping[str, str] | None = None) -> AlertConfig:
    return load_section(AlertConfig(), data_dir, "alerts", ENV_PREFIX, environ)


def save_alert_config(data_dir: Path, config: AlertConfig) -> Path:
    """Write ``config`` as the ``[alerts]`` table of config.toml (the settings dialog's writer).
    A running pipeline only uses it once ``pipeline.alerts.config`` is replaced too."""
    return save_section(data_dir, "alerts", config.to_dict())


@dataclass(frozen=True)
class Alert:
    id: int | None
    created_at: float
    symbol: str
    signal_id: int | None
    label: str
    confidence: float
    impact: str
    category: str
    headline: str
    reason: str  # what it was raised on, e.g. "bearish 91% (calibrated), high impact (earnings)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AlertStats:
    raised: int
    rate_limited: int


_ALERT_COLUMNS = "id, created_at, symbol, signal_id, label, confidence, impact, category, headline, reason"


class AlertEngine:
    """Decides and records alerts. Thread-safe (the store serialises writes); listeners are called
    on the caller's thread (the news fast lane) and must return quickly."""

    def __init__(self, store: Any, config: AlertConfig, watched: Callable[[], Iterable[str]]) -> None:
        self.store = store
        self.config = config
        self._watched = watched
        self._listeners: list[Callable[[list[Alert]], None]] = []
        self._lock = threading.Lock()
        self._raised = 0
        self._rate_limited = 0

    def subscribe(self, on_alerts: Callable[[list[Alert]], None]) -> None:
        with self._lock:
            self._listeners.append(on_alerts)

    def unsubscribe(self, on_alerts: Callable[[list[Alert]], None]) -> None:
        with self._lock:
            if on_alerts in self._listeners:
                self._listeners.remove(on_alerts)

    def stats(self) -> AlertStats:
        with self._lock:
            return AlertStats(self._raised, self._rate_limited)

    def qualifies(self, signal: Any, event: Any, event_time: float, now: float) -> str | None:
        """Why this signal deserves an alert (a one-line reason), or None when it does not."""
        c = self.config
        confidence = signal.shown_confidence
        if signal.label not in c.label_set or confidence < c.min_confidence:
            return None
        if IMPACT_ORDER.index(event.impact) < IMPACT_ORDER.index(c.min_impact):
            return None
        if now - event_time > c.max_age_hours * 3600.0:
            return None
        kind = "calibrated" if signal.calibrated_confidence is not None else "raw, no calibrator"
        return f"{signal.label} {confidence:.0%} ({kind}), {event.impact} impact ({event.category})"

    def process(self, scored: Iterable[tuple[Any, Any, float]], now: float | None = None) -> list[Alert]:
        """Alerts for ``(signal, event, event_time)`` items (stored signals); records and announces them."""
        if not self.config.enabled:
            return []
        now = time.time() if now is None else now
        watched = set(self._watched())
        if not watched:
            return []
        candidates = []
        for signal, event, event_time in scored:
            symbols = [s for s in signal.entities if s in watched]
            reason = self.qualifies(signal, event, event_time, now) if symbols else None
            if reason:
                candidates += [(symbol, signal, event, reason) for symbol in symbols]
        if not candidates:
            return []
        raised, limited = self._record(candidates, now)
        with self._lock:
            self._raised += len(raised)
            self._rate_limited += limited
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(raised)
            except Exception:
                log.exception("alert listener failed")
        return raised

    def _record(self, candidates: list, now: float) -> tuple[list[Alert], int]:
        raised: list[Alert] = []
        limited = 0
        since = now - self.config.rate_limit_s
        with self.store.transaction() as conn:
            for symbol, signal, event, reason in candidates:
                recent = conn.execute("SELECT 1 FROM alerts WHERE symbol = ? AND created_at > ? LIMIT 1",
                                      (symbol, since)).fetchone()
                if recent is not None:
                    limited += 1
                    continue
                alert = Alert(None, now, symbol, signal.id, signal.label, float(signal.shown_confidence),
                              event.impact, event.category, signal.text[:500], reason)
                cur = conn.execute(f"INSERT INTO alerts ({_ALERT_COLUMNS}) VALUES (NULL,?,?,?,?,?,?,?,?,?)",
                                   tuple(asdict(alert).values())[1:])
                raised.append(Alert(int(cur.lastrowid), *tuple(asdict(alert).values())[1:]))
        return raised, limited


def recent_alerts(store: Any, *, limit: int = 100, since: float | None = None, symbol: str | None = None) -> list[Alert]:
    """The alerts log, newest first."""
    where, params = [], []
    if since is not None:
        where.append("created_at >= ?")
        params.append(float(since))
    if symbol:
        where.append("symbol = ?")
        params.append(symbol.upper())
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = store.query(f"SELECT {_ALERT_COLUMNS} FROM alerts {clause} ORDER BY id DESC LIMIT ?",
                       (*params, max(1, int(limit))))
    return [Alert(*row) for row in rows]
