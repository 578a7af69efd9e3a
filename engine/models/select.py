"""Choosing a model per task, with an explanation an operator can check."""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.hardware import HardwareProfile
from engine.models.compat import Compatibility
from engine.models.spec import ModelSpec

PRIORITIES = ("speed", "balanced", "accuracy")

# Default quality where a model reports none (generators, user models): neutral middle.
_UNKNOWN_QUALITY = 0.5


@dataclass(frozen=True)
class Candidate:
    spec: ModelSpec
    compat: Compatibility
    measured_quality: float | None = None  # F1 from a benchmark on this machine


@dataclass(frozen=True)
class Selection:
    spec: ModelSpec | None
    explanation: str


def _quality(c: Candidate) -> float:
    if c.measured_quality is not None:
        return c.measured_quality
    return c.spec.quality if c.spec.quality is not None else _UNKNOWN_QUALITY


def _score(c: Candidate, priority: str, tier: str) -> float:
    latency = c.compat.expected_latency_ms or 1.0
    quality = _quality(c)
    size_penalty = c.spec.size_bytes / 1e9  # prefer the smaller of otherwise equal models
    if priority == "speed":
        return -math.log10(max(latency, 1e-3)) + 0.1 * quality - size_penalty
    if priority == "accuracy":
        return quality - 0.001 * math.log10(max(latency, 1e-3)) - 0.01 * size_penalty
    # balanced: quality matters most, a 10x slower model must earn ~0.05 F1; low tiers weigh cost more.
    weight = 0.08 if tier == "low" else 0.05
    return quality - weight * math.log10(max(latency, 1e-3)) - (0.2 if tier == "low" else 0.1) * size_penalty


def select(task: str, candidates: list[Candidate], hw: HardwareProfile, priority: str,
           preferred: str | None = None) -> Selection:
    usable = [c for c in candidates if c.compat.compatible]
    if not usable:
        reasons = "; ".join(f"{c.spec.id}: {c.compat.reason}" for c in candidates) or "no models registered"
        return Selection(None, f"no compatible {task} model ({reasons})")
    if preferred:
        for c in usable:
            if c.spec.id == preferred:
                return Selection(c.spec, f"{c.spec.id} chosen for {task}: operator preference; {c.compat.reason}")
        # Say why the preference could not be honoured instead of silently ignoring it.
        blocked = next((c for c in candidates if c.spec.id == preferred), None)
        note = f"preferred {preferred} not usable ({blocked.compat.reason if blocked else 'not registered'}); "
    else:
        note = ""
    # Models the operator added are candidates only when chosen by name (switch, settings): adding
    # a file never makes it active by itself (a 24-byte fake GGUF outranked SmolLM2 on size).
    # A shipped version marked ``"automatic": false`` (not proven better than the version it
    # follows) serves only when chosen by name.
    automatic = [c for c in usable if c.spec.origin != "user" and c.spec.manifest.get("automatic", True)]
    # A shipped version that names an earlier one in ``supersedes`` (it was better on the dev
    # splits) replaces it in automatic choice; the earlier one stays selectable by name.
    superseded = {str(c.spec.manifest.get("supersedes")) for c in automatic if c.spec.manifest.get("supersedes")}
    automatic = [c for c in automatic if c.spec.id not in superseded] or automatic
    if not automatic:
        added = ", ".join(c.spec.id for c in usable)
        return Selection(None, f"{note}no {task} model to choose automatically; added models ({added}) "
                               "become active only when switched to")
    ranked = sorted(automatic, key=lambda c: _score(c, priority, hw.tier), reverse=True)
    best = ranked[0]
    quality = _quality(best)
    details = [f"priority {priority}", f"tier {hw.tier} ({hw.tier_reason})"]
    if best.spec.quality is not None or best.measured_quality is not None:
        source = "measured here" if best.measured_quality is not None else "model card"
        details.append(f"weighted F1 {quality:.3f} ({source})")
    details.append(best.compat.reason)
    if len(ranked) > 1:
        runner = ranked[1]
        details.append(f"next best {runner.spec.id}")
    return Selection(best.spec, f"{note}{best.spec.id} chosen for {task}: " + "; ".join(details))
