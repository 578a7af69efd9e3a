"""The evidence on one asset: validated, deduplicated, decayed and ranked headlines.

Every stored signal is input and is checked before it counts (:func:`signal_problem`): a
label outside the label set, probabilities or a confidence that are not finite values in
[0, 1], or a confidence that is not its label's probability, and the signal is left out with
the reason (a forged confidence of 7.5 never reaches a size).

Duplicates count once. Two signals are one story when their headlines read the same once
case, spacing, punctuation, cashtags and exchange tags ("(NASDAQ: ACME)") are set aside, and
the later one arrived within ``dedupe_window_hours`` of the first: the same story from two
feeds, a re-post, or a replay run twice. The story keeps the first copy's signal, time, label
and confidence; every copy's id and source are listed with it.

Each story's weight is its source kind's weight (``[news] weight_news / _analyst / _social``)
times its decay (it halves every ``half_life_hours_<category>`` hours of its event class, as
in the signal cache). The net calibrated score is the weighted mean of +confidence for a
bullish story, -confidence for a bearish one and 0 for a neutral one, so it runs from -1
(every story bearish and sure) to +1; neutral stories pull it towards 0. Only stories from the
last ``max_evidence_age_hours`` count. The list is ranked by weight times confidence.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from typing import Sequence

from engine.news.cache import decay_factor
from engine.news.config import NewsConfig
from engine.news.items import normalise_text
from engine.risk.config import RiskConfig
from engine.types import Signal
from engine.validation import stored_signal_problem

DIRECTION_OF = {"bullish": 1, "bearish": -1, "neutral": 0}
MAX_LISTED = 50  # stories stored with a revision; the score counts them all

_EXCHANGE_TAG = re.compile(r"\(\s*[a-z]{2,10}\s*:\s*[a-z0-9.\-=^/_]{1,20}\s*\)")  # "(nasdaq: acme)"
_CASHTAG = re.compile(r"\$[a-z][a-z0-9.\-=^/_]*")
_NOT_WORD = re.compile(r"[^\w%]+")


def signal_problem(signal: Signal) -> str:
    """Why a stored signal cannot be evidence, in one line; "" when it can (engine/validation.py's
    rules for any classifier result, plus a finite arrival time)."""
    problem = stored_signal_problem(signal)
    if problem:
        return problem
    if isinstance(signal.received_at, bool) or not math.isfinite(float(signal.received_at)):
        return "its arrival time is not a finite number"
    return ""


def story_key(text: str) -> str:
    """Headlines with the same key are the same story (see the module docstring)."""
    words = _NOT_WORD.sub(" ", _CASHTAG.sub(" ", _EXCHANGE_TAG.sub(" ", normalise_text(text)))).strip()
    return hashlib.sha256(words.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Headline:
    """One stored signal naming the asset, with what the news pipeline knew about it."""

    signal: Signal  # with its model version's calibrated view attached, when there is one
    time: float  # when the story happened: its published time, else when it arrived (never later)
    category: str  # event class (J7), for the decay half-life
    source_kind: str  # news | analyst | social, for the source weight


@dataclass(frozen=True)
class EvidenceItem:
    """One story: the first copy's signal, and every copy's id and source."""

    signal_id: int
    headline: str
    sources: tuple[str, ...]
    copies: tuple[int, ...]  # every signal id carrying the story, the first one included
    time: float
    label: str
    confidence: float  # calibrated when the model version has a calibrator, else raw
    raw_confidence: float
    calibrator: str
    category: str
    source_kind: str
    weight: float  # source weight x decay at the decision time
    model: str  # model_id@model_version

    @property
    def direction(self) -> int:
        return DIRECTION_OF[self.label]

    @property
    def contribution(self) -> float:
        """Its share in the net score's numerator."""
        return self.weight * self.direction * self.confidence

    def to_dict(self) -> dict:
        return {"signal_id": self.signal_id, "headline": self.headline, "sources": list(self.sources),
                "copies": list(self.copies), "time": self.time, "label": self.label,
                "confidence": self.confidence, "raw_confidence": self.raw_confidence,
                "calibrator": self.calibrator, "category": self.category, "source_kind": self.source_kind,
                "weight": round(self.weight, 6), "model": self.model}


@dataclass(frozen=True)
class AssetEvidence:
    symbol: str
    as_of: float
    window_hours: float
    items: tuple[EvidenceItem, ...]  # ranked: largest weight x confidence first
    net_score: float  # -1 .. +1, see the module docstring
    invalid: tuple[tuple[int | None, str], ...]  # (signal id, why it was left out)
    representatives: tuple[Signal, ...]  # the first copy of each story, for the news risk component

    @property
    def label(self) -> str | None:
        """bullish or bearish by the sign of the net score; None when it is exactly 0."""
        if self.net_score > 0:
            return "bullish"
        return "bearish" if self.net_score < 0 else None

    def count(self, label: str) -> int:
        return sum(1 for item in self.items if item.label == label)

    @property
    def copies(self) -> int:
        """Signals folded into an earlier copy of their story."""
        return sum(len(item.copies) - 1 for item in self.items)

    def supporting(self, label: str) -> tuple[EvidenceItem, ...]:
        return tuple(item for item in self.items if item.label == label)

    def signal_ids(self) -> list[int]:
        return sorted(i for item in self.items for i in item.copies)

    def story_ids(self) -> list[int]:
        """The first copy of each story: what a revision's evidence key is built from."""
        return sorted(item.signal_id for item in self.items)

    def summary(self) -> dict:
        return {"net_score": round(self.net_score, 6), "stories": len(self.items),
                "bullish": self.count("bullish"), "bearish": self.count("bearish"),
                "neutral": self.count("neutral"), "copies": self.copies, "as_of": self.as_of,
                "window_hours": self.window_hours,
                "invalid": [{"signal_id": sid, "problem": why} for sid, why in self.invalid]}


def weighted_mean(items: Sequence[EvidenceItem], value: str) -> float:
    total = sum(item.weight for item in items)
    if total <= 0:
        return 0.0
    return sum(item.weight * getattr(item, value) for item in items) / total


def gather(symbol: str, headlines: Sequence[Headline], as_of: float, cfg: RiskConfig,
           news: NewsConfig) -> AssetEvidence:
    """The evidence on ``symbol`` as of ``as_of`` from the headlines naming it."""
    start = as_of - cfg.max_evidence_age_hours * 3600.0
    window = cfg.dedupe_window_hours * 3600.0
    invalid: list[tuple[int | None, str]] = []
    usable: list[Headline] = []
    for h in headlines:
        problem = signal_problem(h.signal)
        if problem:
            invalid.append((h.signal.id, problem))
        elif h.signal.id is not None and start <= h.time and h.signal.received_at <= as_of:
            usable.append(h)
    usable.sort(key=lambda h: (h.time, h.signal.id))
    stories: list[list[Headline]] = []
    latest: dict[str, list[Headline]] = {}  # story key -> its newest story (a re-post after the window is new)
    for h in usable:
        key = story_key(h.signal.text)
        story = latest.get(key)
        if story is not None and h.time - story[0].time <= window:
            story.append(h)
        else:
            latest[key] = [h]
            stories.append(latest[key])
    items = [_item(story, as_of, news) for story in stories]
    total = sum(item.weight for item in items)
    net = sum(item.contribution for item in items) / total if total > 0 else 0.0
    items.sort(key=lambda item: (-item.weight * item.confidence, -item.time, item.signal_id))
    representatives = tuple(story[0].signal for story in stories)
    return AssetEvidence(symbol, as_of, cfg.max_evidence_age_hours, tuple(items), net, tuple(invalid),
                         representatives)


def _item(story: list[Headline], as_of: float, news: NewsConfig) -> EvidenceItem:
    first = story[0]
    s = first.signal
    weight = news.source_weight(first.source_kind) * decay_factor(as_of - first.time,
                                                                    news.half_life_hours(first.category))
    return EvidenceItem(
        signal_id=int(s.id), headline=s.text, sources=tuple(sorted({h.signal.source for h in story})),
        copies=tuple(h.signal.id for h in story), time=first.time, label=s.label,
        confidence=float(s.shown_confidence), raw_confidence=float(s.confidence),
        calibrator=s.calibrator if s.calibrated_confidence is not None else "", category=first.category,
        source_kind=first.source_kind, weight=weight, model=f"{s.model_id}@{s.model_version}")
