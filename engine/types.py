"""Plain frozen records that cross from the engine to the app and UI layers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from engine.sentiment.base import LABELS


@dataclass(frozen=True)
class EntityLink:
    """One linked asset and the text it came from (``start``/``end`` index the signal's text;
    -1 when the source declared the symbol rather than the text naming it)."""

    symbol: str
    start: int
    end: int
    text: str
    method: str  # cashtag | exchange | name | ticker | feed
    role: str = "subject"  # subject | analyst (signs a view on another company; not one of the entities)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "EntityLink":
        return cls(str(data["symbol"]), int(data["start"]), int(data["end"]), str(data.get("text", "")),
                   str(data.get("method", "")), str(data.get("role", "subject")))


@dataclass(frozen=True)
class ShownConfidence:
    """What a signal was first shown (and decided) with: kept as it was, whatever is refitted later."""

    label: str
    confidence: float
    calibrator: str  # "" when it was shown raw
    shown_at: float


@dataclass(frozen=True)
class Signal:
    """One analysed news item. Immutable so it can be handed across threads safely."""

    id: int | None
    received_at: float  # unix seconds, UTC
    source: str
    text: str
    entities: tuple[str, ...]  # the linked symbols (subjects), in order of first mention
    label: str
    probs: tuple[float, float, float]  # LABELS order
    confidence: float
    compound: float  # p_bullish - p_bearish, in [-1, 1]
    model_id: str
    model_version: str
    latency_ms: float
    truncated: bool = False
    # Calibrated view for display; the raw probabilities above are what is stored and kept.
    calibrated_probs: tuple[float, float, float] | None = None
    calibrated_confidence: float | None = None
    calibrator: str = ""  # which calibrator produced the view, e.g. "isotonic/top_label #3"
    links: tuple[EntityLink, ...] = ()  # where each entity (and each analyst named) was found in the text
    # What it was shown with when scored (None: stored before the desk kept that); never rewritten.
    # Not part of equality: the same stored signal read with or without it is the same signal.
    first_shown: ShownConfidence | None = field(default=None, compare=False)

    @property
    def probabilities(self) -> dict[str, float]:
        return dict(zip(LABELS, self.probs))

    @property
    def shown_confidence(self) -> float:
        """Calibrated when a calibrator exists for this model version, raw otherwise."""
        return self.calibrated_confidence if self.calibrated_confidence is not None else self.confidence

    @property
    def shown_label(self) -> str:
        """The label of the current view (a per-class calibrator may move the top label)."""
        if self.calibrated_probs is None:
            return self.label
        return LABELS[max(range(len(LABELS)), key=lambda k: self.calibrated_probs[k])]  # type: ignore[index]

    @property
    def recorded_confidence(self) -> float:
        """What the desk shows: the confidence first shown when kept, else the current view."""
        return self.first_shown.confidence if self.first_shown is not None else self.shown_confidence

    @property
    def view_changed(self) -> bool:
        """True when the current calibrated view differs from what was first shown."""
        first = self.first_shown
        return first is not None and (abs(first.confidence - self.shown_confidence) >= 0.0005
                                      or first.label != self.shown_label)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "received_at": self.received_at,
            "source": self.source,
            "text": self.text,
            "entities": list(self.entities),
            "label": self.label,
            "probabilities": self.probabilities,
            "confidence": self.confidence,
            "compound": self.compound,
            "model_id": self.model_id,
            "model_version": self.model_version,
            "latency_ms": self.latency_ms,
            "truncated": self.truncated,
            "calibrated_confidence": self.calibrated_confidence,
            "calibrator": self.calibrator,
            "links": [link.to_dict() for link in self.links],
            "first_shown": asdict(self.first_shown) if self.first_shown is not None else None,
        }


@dataclass(frozen=True)
class ModelStatus:
    """Which model serves a task right now, and whether that is a degraded fallback."""

    task: str
    model_id: str
    version: str
    backend: str
    degraded: bool = False
    reason: str = ""
