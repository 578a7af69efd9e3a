"""Plain frozen records for trade ideas and their review audit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

STATES = ("proposed", "approved", "rejected")
DECISIONS = ("approve", "reject", "edit")
# decision -> states it may be taken from; rejected is final
ALLOWED_FROM = {"approve": ("proposed",), "reject": ("proposed", "approved"),
                "edit": ("proposed", "approved")}
NOTE_REQUIRED = ("reject", "edit")


@dataclass(frozen=True)
class TradeIdea:
    """An immutable snapshot (what the idea was built from) plus its review state."""

    id: int
    created_at: float
    signal_id: int
    symbol: str
    direction: str
    strategy: str
    regime: str
    confidence: float  # blended, for ranking, from the classifier's calibrated confidence
    risk_level: str
    risk_score: float
    proposed_size: float  # fraction of equity the engine proposed
    size_limit: float  # the most an edit may set
    entry: float
    stop_loss: float
    take_profit: float
    snapshot_json: str  # canonical JSON; its sha256 is stored beside it
    snapshot_sha256: str
    state: str
    size: float  # current size: proposed, or as last edited
    updated_at: float
    # The same blend from the classifier's raw confidence, kept beside the calibrated one
    # (equal to ``confidence`` when no calibrator existed for the model version).
    raw_confidence: float
    calibrator: str  # which calibrator produced the classifier's confidence; "" = uncalibrated
    # The per-asset idea this row is a revision of (None: proposed per headline, before m0020).
    idea_no: int | None = None
    revision: int = 1
    horizon: str = ""  # hours | days | weeks | months: the bars it is sized on
    change: str = ""  # what changed since the previous revision, and why
    status: str = "legacy"  # the idea's: open | closed | legacy (outside the per-asset book)
    current: bool = True  # the idea's newest revision

    @property
    def calibrated(self) -> bool:
        return bool(self.calibrator)

    @property
    def title(self) -> str:
        """"idea 3 r2" for a revision of a per-asset idea, "#17" for an older per-headline one."""
        return f"idea {self.idea_no} r{self.revision}" if self.idea_no is not None else f"#{self.id}"

    @property
    def reviewable(self) -> bool:
        """A decision can approve or edit it: the newest revision of an open idea (or a legacy row)."""
        return self.status == "legacy" or (self.status == "open" and self.current)

    @property
    def stale(self) -> bool:
        """Proposed on market data older than stale_after_days (flagged, see engine/ideas/view.py)."""
        return bool((self.snapshot.get("market_data") or {}).get("stale"))

    @property
    def evidence(self) -> list[dict[str, Any]]:
        """The ranked evidence stored with the revision (signal id, headline, sources, time, label,
        calibrated and raw confidence, weight, ...); empty for per-headline ideas."""
        return list(self.snapshot.get("evidence") or [])

    @property
    def confidence_text(self) -> str:
        """e.g. "81% (raw 86%, platt/top_label #3)"; "86% (uncalibrated)" without a calibrator."""
        if not self.calibrated:
            return f"{self.confidence:.0%} (uncalibrated)"
        return f"{self.confidence:.0%} (raw {self.raw_confidence:.0%}, {self.calibrator})"

    @property
    def snapshot(self) -> dict[str, Any]:
        return json.loads(self.snapshot_json)

    @property
    def rationale(self) -> str:
        return str(self.snapshot.get("rationale", ""))

    def to_dict(self, *, with_snapshot: bool = True) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "snapshot_json"}
        data["rationale"] = self.rationale
        if with_snapshot:
            data["snapshot"] = self.snapshot
        return data


@dataclass(frozen=True)
class AuditEntry:
    id: int
    idea_id: int
    at: float
    action: str  # propose | approve | reject | edit_size
    from_state: str | None
    to_state: str
    size_before: float | None
    size_after: float
    note: str
    actor: str

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class AssetIdea:
    """One idea on an asset and horizon: open until its evidence fades or reverses."""

    id: int
    symbol: str
    horizon: str
    direction: str
    opened_at: float
    status: str  # open | closed
    closed_at: float | None
    close_reason: str
    flipped_from: int | None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class IdeaEvent:
    """The idea's history: opened, revised (with what changed) or closed (with why)."""

    id: int
    idea_no: int
    at: float
    kind: str  # opened | revised | closed
    revision_id: int | None
    reason: str
    detail_json: str

    @property
    def detail(self) -> dict[str, Any]:
        return json.loads(self.detail_json)

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "detail_json"}
        data["detail"] = self.detail
        return data


@dataclass(frozen=True)
class Skipped:
    signal_id: int | None  # None when the reason is about the asset, not one headline
    symbol: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"signal_id": self.signal_id, "symbol": self.symbol, "reason": self.reason}


ACTIONS = ("created", "updated", "closed")


@dataclass(frozen=True)
class IdeaChange:
    """What proposing did to one idea: created (revision 1), updated (a new revision) or closed."""

    action: str  # created | updated | closed
    idea_no: int
    symbol: str
    reason: str
    revision: TradeIdea | None = None  # the new revision; None when closed

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"action": self.action, "idea": self.idea_no, "symbol": self.symbol,
                                "reason": self.reason}
        if self.revision is not None:
            r = self.revision
            data.update(revision=r.revision, revision_id=r.id, direction=r.direction, size=r.size,
                        strategy=r.strategy, regime=r.regime, horizon=r.horizon, stale=r.stale)
        return data


@dataclass(frozen=True)
class ProposalResult:
    ideas: tuple[TradeIdea, ...]  # new revisions to review (created and updated ideas), for the queue
    skipped: tuple[Skipped, ...]  # why nothing changed for the other assets and headlines
    changes: tuple[IdeaChange, ...] = ()
    superseded: tuple[int, ...] = ()  # revision ids that stopped being an open idea's newest one

    def of(self, action: str) -> tuple[IdeaChange, ...]:
        return tuple(c for c in self.changes if c.action == action)

    def to_dict(self) -> dict[str, Any]:
        counts = {action: len(self.of(action)) for action in ACTIONS}
        return {**counts, "skipped": len(self.skipped), "changes": [c.to_dict() for c in self.changes],
                "skips": [s.to_dict() for s in self.skipped]}
