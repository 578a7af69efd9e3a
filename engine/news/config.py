"""Live-news settings: a frozen dataclass, defaults < ``[news]`` in config.toml < environment.

::

    [news]
    batch_size = 64
    queue_capacity = 2048
    half_life_hours_crypto = 2

Environment variables ``SIGNALDESK_NEWS_<FIELD>`` override the file. Values are checked when
the config is built, so a bad setting fails at start rather than inside a worker thread.

Confidence decay (seed J7 "decay hours"): a signal's confidence halves every
``half_life_hours_<category>`` hours. Market moves and crypto are priced within hours; an
earnings surprise drifts for a day or two; corporate actions and regulatory decisions stay
relevant for days. See engine/news/EVENTS.md.

Source weights (seed 000): when several sources speak about one asset, a wire/news item
counts 0.5, an analyst note 0.3 and a social post 0.2 (shares of one vote).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

from engine.config import ConfigError, load_section, non_finite_fields

log = logging.getLogger(__name__)

ENV_PREFIX = "SIGNALDESK_NEWS_"
CATEGORIES: tuple[str, ...] = ("earnings", "macro", "corporate", "regulatory", "market", "crypto", "other")
SOURCE_KINDS: tuple[str, ...] = ("news", "analyst", "social")
PROTOTYPE_MODES: tuple[str, ...] = ("off", "fallback", "always")


@dataclass(frozen=True)
class NewsConfig:
    # --- pipeline ---
    queue_capacity: int = 2048  # items accepted but not yet scored; sources block beyond this
    batch_size: int = 64  # fast-lane micro-batch
    batch_timeout_ms: float = 50.0  # a partial batch waits at most this long for company
    submit_chunk: int = 256  # items per inbox transaction (one acknowledgement)
    max_retries: int = 2  # a failing fast-lane batch is retried this often at once (0.2 s apart) ...
    # ... then its items wait for a later attempt, backing off from retry_backoff_s (doubling, up
    # to retry_max_backoff_s), while running and on the next start; after max_attempts such
    # attempts an item is dead-lettered (inbox state failed: `signaldesk ingest --failed`).
    max_attempts: int = 6
    retry_backoff_s: float = 1.0
    retry_max_backoff_s: float = 60.0

    # --- event classification ---
    event_prototypes: str = "fallback"  # off | fallback (when rules are unsure) | always
    prototype_min_similarity: float = 0.25  # below this the nearest prototype is not trusted
    # Load shedding: while this many items wait in the queue, batches skip the (optional, ~2 ms per
    # headline) embedding step and keep the rules' class; 0 = never skip. Counted as events_shed.
    prototype_shed_backlog: int = 1024

    # --- signal cache ---
    signal_ttl_hours: float = 24.0  # the latest signal of an asset expires after this
    history_per_asset: int = 256
    ewma_alpha: float = 0.2  # running sentiment: weight of the newest signal
    half_life_hours_earnings: float = 24.0
    half_life_hours_macro: float = 12.0
    half_life_hours_corporate: float = 48.0
    half_life_hours_regulatory: float = 72.0
    half_life_hours_market: float = 4.0
    half_life_hours_crypto: float = 2.0
    half_life_hours_other: float = 6.0
    weight_news: float = 0.5
    weight_analyst: float = 0.3
    weight_social: float = 0.2

    # --- sources ---
    feed_interval_s: float = 300.0  # default per-feed polling interval
    feed_timeout_s: float = 15.0  # each connect or read of a feed fetch
    feed_deadline_s: float = 60.0  # the whole fetch: a server dripping bytes is cut off here
    feed_max_backoff_s: float = 3600.0  # repeated failures stretch the interval up to this
    folder_interval_s: float = 2.0
    replay_rate: float = 20.0  # demo items per second

    def __post_init__(self) -> None:
        problems = _validate(self)
        if problems:
            raise ConfigError("news config: " + "; ".join(problems))

    def half_life_hours(self, category: str) -> float:
        return float(getattr(self, f"half_life_hours_{category}", self.half_life_hours_other))

    def source_weight(self, kind: str) -> float:
        return float(getattr(self, f"weight_{kind}", self.weight_news))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _validate(c: NewsConfig) -> list[str]:
    problems = non_finite_fields(c)
    if problems:
        return problems
    for name in ("queue_capacity", "batch_size", "submit_chunk", "history_per_asset"):
        if getattr(c, name) < 1:
            problems.append(f"{name} must be at least 1")
    if c.batch_size > c.queue_capacity:
        problems.append("batch_size must not exceed queue_capacity")
    if c.prototype_shed_backlog < 0:
        problems.append("prototype_shed_backlog must not be negative (0 = never shed)")
    if c.max_retries < 0:
        problems.append("max_retries must not be negative")
    if c.max_attempts < 1:
        problems.append("max_attempts must be at least 1")
    if not 0 < c.retry_backoff_s <= c.retry_max_backoff_s:
        problems.append("retry_backoff_s must be positive and at most retry_max_backoff_s")
    if c.batch_timeout_ms < 0:
        problems.append("batch_timeout_ms must not be negative")
    if c.event_prototypes not in PROTOTYPE_MODES:
        problems.append(f"event_prototypes must be one of {', '.join(PROTOTYPE_MODES)}")
    if not -1 <= c.prototype_min_similarity <= 1:
        problems.append("prototype_min_similarity must be in [-1, 1]")
    if c.signal_ttl_hours <= 0:
        problems.append("signal_ttl_hours must be positive")
    if not 0 < c.ewma_alpha <= 1:
        problems.append("ewma_alpha must be in (0, 1]")
    for category in CATEGORIES:
        if c.half_life_hours(category) <= 0:
            problems.append(f"half_life_hours_{category} must be positive")
    for kind in SOURCE_KINDS:
        if c.source_weight(kind) < 0:
            problems.append(f"weight_{kind} must not be negative")
    if sum(c.source_weight(k) for k in SOURCE_KINDS) <= 0:
        problems.append("source weights need a positive sum")
    for name in ("feed_interval_s", "feed_timeout_s", "feed_deadline_s", "feed_max_backoff_s", "folder_interval_s",
                 "replay_rate"):
        if getattr(c, name) <= 0:
            problems.append(f"{name} must be positive")
    return problems


def load_news_config(data_dir: Path | None = None, environ: Mapping[str, str] | None = None) -> NewsConfig:
    return load_section(NewsConfig(), data_dir, "news", ENV_PREFIX, environ)
