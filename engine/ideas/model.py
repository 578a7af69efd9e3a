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

    @property
    def calibrated(self) -> bool:
        return bool(self.calibrator)

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
class Skipped:
    signal_id: int | None
    symbol: str | None
    reason: str


@dataclass(frozen=True)
class ProposalResult:
    ideas: tuple[TradeIdea, ...]
    skipped: tuple[Skipped, ...]
