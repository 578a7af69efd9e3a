"""Event classification (seed J7): category, subcategory, urgency and impact for each headline.

Two methods and their combination:

- ``rules``: weighted regex keyword rules (engine/news/event_rules.py). Fast (microseconds),
  precise when a strong cue is present, silent when none is.
- ``prototype``: nearest class on MiniLM sentence embeddings, a cosine similarity to the
  prototype sentences of each class (engine/news/event_prototypes.py).
- ``combined`` (the default): rules decide when they are sure (a strong cue and a clear
  margin); otherwise the headline is embedded and the prototype similarities are fused with
  the rule scores. Only the unsure share of headlines pays for an embedding, which keeps the
  fast lane fast.

Figures on the hand-labelled set are in engine/news/EVENTS.md (``python -m engine.news.evaluate``).
Confidence values order the methods' certainty; they are not calibrated probabilities.
"""

from __future__ import annotations

import collections
import logging
import threading
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import numpy as np

from engine.news.config import CATEGORIES
from engine.news.event_prototypes import PROTOTYPES
from engine.news.event_rules import (BASE_IMPACT, BIG_MOVE, EXCHANGE_TAG, PERCENT, RULES, SCHEDULED, SMALL_MOVE,
                                     URGENT)

log = logging.getLogger(__name__)

METHODS = ("rules", "prototype", "combined")
LEVELS = ("low", "medium", "high")
CRYPTO_DOMINANT_SCORE = 4.0  # one strong crypto term decides the class (labelling guide)
SURE_SCORE = 2.5  # rules alone decide at or above this best score ...
SURE_MARGIN = 1.0  # ... when the runner-up is at least this much lower
RULE_WEIGHT_IN_FUSION = 0.06  # cosine units per rule-score point when fusing (fitted on the dev split)
SOFTMAX_TEMPERATURE = 0.05
EMBED_CACHE_SIZE = 4096


@dataclass(frozen=True)
class EventInfo:
    category: str
    subcategory: str
    urgency: str  # low | medium | high
    impact: str  # low | medium | high
    method: str  # rules | prototype | combined | none (rules found nothing and no embeddings)
    confidence: float

    def to_dict(self) -> dict:
        return asdict(self)


OTHER = EventInfo("other", "general", "low", "low", "none", 0.0)


@dataclass(frozen=True)
class RuleResult:
    scores: dict[str, float]
    subcategories: dict[str, str]  # category -> subcategory of its heaviest matching rule
    category: str | None  # None when no rule matched
    sure: bool


@dataclass(frozen=True)
class ClassifierStats:
    classified: int
    embedded: int  # headlines that needed an embedding
    embedding_available: bool
    embedding_error: str


def rule_result(text: str) -> RuleResult:
    text = EXCHANGE_TAG.sub(" ", text)  # "(NASDAQ: ACME)" names a listing, not a market event
    scores: dict[str, float] = collections.defaultdict(float)
    heaviest: dict[str, tuple[float, str]] = {}
    for rule in RULES:
        if rule.pattern.search(text):
            scores[rule.category] += rule.weight
            if rule.weight > heaviest.get(rule.category, (0.0, ""))[0]:
                heaviest[rule.category] = (rule.weight, rule.subcategory)
    subs = {c: s for c, (_w, s) in heaviest.items()}
    if not scores:
        return RuleResult({}, {}, None, False)
    if scores.get("crypto", 0.0) >= CRYPTO_DOMINANT_SCORE:
        return RuleResult(dict(scores), subs, "crypto", True)
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], CATEGORIES.index(kv[0])))
    best, best_score = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    sure = best_score >= SURE_SCORE and best_score - second >= SURE_MARGIN
    return RuleResult(dict(scores), subs, best, sure)


def _softmax(values: np.ndarray) -> np.ndarray:
    z = (values - values.max()) / SOFTMAX_TEMPERATURE
    e = np.exp(z)
    return e / e.sum()


def _shift(level: str, step: int) -> str:
    return LEVELS[max(0, min(len(LEVELS) - 1, LEVELS.index(level) + step))]


def describe(text: str, category: str, subcategory: str, method: str, confidence: float) -> EventInfo:
    """Urgency and impact from cue words, given the class."""
    if category == "other":
        return EventInfo("other", subcategory, "low", "low", method, confidence)
    if URGENT.search(text):
        urgency = "high"
    elif SCHEDULED.search(text):
        urgency = "low"
    else:
        urgency = "medium"
    impact = BASE_IMPACT.get((category, subcategory), "medium")
    percents = [float(p) for p in PERCENT.findall(text)]
    if BIG_MOVE.search(text) or any(p >= 10 for p in percents):
        impact = _shift(impact, +1)
    elif SMALL_MOVE.search(text) or urgency == "low":
        impact = _shift(impact, -1)
    return EventInfo(category, subcategory, urgency, impact, method, round(float(confidence), 4))


def classify_by_rules(text: str) -> EventInfo:
    """Event class without embeddings: for stored signals that never went through the pipeline."""
    r = rule_result(text)
    if r.category is None:
        return OTHER
    return describe(text, r.category, r.subcategories.get(r.category, "general"), "rules", 0.0)


class EventClassifier:
    """Thread-safe. ``embedder`` returns an object with ``embed(texts) -> (n, d)`` unit rows and a
    ``model_id``, or raises / returns None when no embedding model is available (rules only then)."""

    def __init__(self, embedder: Callable[[], Any] | None = None, mode: str = "fallback",
                 min_similarity: float = 0.25) -> None:
        if mode not in ("off", "fallback", "always"):
            raise ValueError("mode must be off, fallback or always")
        self._embedder = embedder
        self.mode = mode
        self.min_similarity = min_similarity
        self._lock = threading.Lock()  # held across an embedding call: prototypes and cache only
        self._counts_lock = threading.Lock()  # stats() must never wait for an embedding (a UI reads it)
        self._prototype_model: str | None = None
        self._centroids: np.ndarray | None = None  # (classes, d)
        self._prototype_rows: list[np.ndarray] = []  # per class (k, d)
        self._cache: collections.OrderedDict[str, np.ndarray] = collections.OrderedDict()
        self._classified = 0
        self._embedded = 0
        self._embedding_error = ""

    # --- embeddings ------------------------------------------------------------------------
    def _get_embedder(self) -> Any | None:
        if self._embedder is None:
            return None
        try:
            embedder = self._embedder()
        except Exception as exc:  # a missing or broken model degrades to rules, it never stops scoring
            if not self._embedding_error:
                log.warning("event prototypes unavailable, using rules only: %s", exc)
            self._embedding_error = str(exc) or type(exc).__name__
            return None
        self._embedding_error = ""
        return embedder

    def _ensure_prototypes(self, embedder: Any) -> None:
        model_id = getattr(embedder, "model_id", "embedder")
        if self._prototype_model == model_id:
            return
        rows = []
        for category in CATEGORIES:
            vectors = np.asarray(embedder.embed(list(PROTOTYPES[category])), dtype=np.float32)
            rows.append(vectors)
        centroids = np.stack([r.mean(axis=0) for r in rows])
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
        self._prototype_rows, self._centroids, self._prototype_model = rows, centroids, model_id
        self._cache.clear()

    def _embed(self, embedder: Any, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vectors = np.asarray(embedder.embed(missing), dtype=np.float32)
            for text, vector in zip(missing, vectors):
                self._cache[text] = vector
                if len(self._cache) > EMBED_CACHE_SIZE:
                    self._cache.popitem(last=False)
            with self._counts_lock:
                self._embedded += len(missing)
        for text in texts:
            self._cache.move_to_end(text)
        return np.stack([self._cache[t] for t in texts])

    def prototype_similarities(self, texts: Sequence[str]) -> np.ndarray | None:
        """(n, classes) similarity per class in CATEGORIES order, or None without an embedder."""
        with self._lock:
            embedder = self._get_embedder()
            if embedder is None or not texts:
                return None
            self._ensure_prototypes(embedder)
            vectors = self._embed(embedder, texts)
            centroid_sim = vectors @ self._centroids.T
            nearest = np.stack([(vectors @ rows.T).max(axis=1) for rows in self._prototype_rows], axis=1)
            return 0.5 * centroid_sim + 0.5 * nearest

    # --- classification --------------------------------------------------------------------
    def classify(self, texts: Sequence[str], method: str = "combined") -> list[EventInfo]:
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}")
        rules = [rule_result(t) for t in texts]
        if method == "rules" or self.mode == "off" and method == "combined":
            out = [self._from_rules(t, r) for t, r in zip(texts, rules)]
        elif method == "prototype":
            sims = self.prototype_similarities(texts)
            if sims is None:
                out = [self._from_rules(t, r) for t, r in zip(texts, rules)]
            else:
                out = [self._from_prototype(t, r, sims[i], "prototype") for i, (t, r) in enumerate(zip(texts, rules))]
        else:
            unsure = [i for i, r in enumerate(rules) if self.mode == "always" or not r.sure]
            sims = self.prototype_similarities([texts[i] for i in unsure]) if unsure else None
            out = [self._from_rules(t, r) for t, r in zip(texts, rules)]
            if sims is not None:
                for row, i in enumerate(unsure):
                    out[i] = self._fused(texts[i], rules[i], sims[row])
        with self._counts_lock:
            self._classified += len(texts)
        return out

    def _from_rules(self, text: str, r: RuleResult) -> EventInfo:
        if r.category is None:
            return OTHER
        total = sum(r.scores.values())
        return describe(text, r.category, r.subcategories.get(r.category, "general"), "rules",
                        r.scores[r.category] / total if total else 0.0)

    def _from_prototype(self, text: str, r: RuleResult, sims: np.ndarray, method: str) -> EventInfo:
        best = int(np.argmax(sims))
        category = CATEGORIES[best]
        if sims[best] < self.min_similarity:
            category = "other"
        sub = r.subcategories.get(category, "general")
        return describe(text, category, sub, method, float(_softmax(sims)[best]))

    def _fused(self, text: str, r: RuleResult, sims: np.ndarray) -> EventInfo:
        if r.category is None:
            return self._from_prototype(text, r, sims, "prototype")
        fused = sims + RULE_WEIGHT_IN_FUSION * np.array([r.scores.get(c, 0.0) for c in CATEGORIES])
        best = int(np.argmax(fused))
        category = CATEGORIES[best]
        return describe(text, category, r.subcategories.get(category, "general"), "combined",
                        float(_softmax(fused)[best]))

    def stats(self) -> ClassifierStats:
        with self._counts_lock:
            return ClassifierStats(self._classified, self._embedded, self._embedder is not None and not self._embedding_error,
                                   self._embedding_error)
