"""Can this machine run a model within its budgets? Always with a reason a person can read."""

from __future__ import annotations

from dataclasses import dataclass

from engine.hardware import HardwareProfile
from engine.models.budget import RAM_HEADROOM
from engine.models.spec import ModelSpec

__all__ = ["RAM_HEADROOM", "Compatibility", "check", "expected_latency_ms"]


@dataclass(frozen=True)
class Compatibility:
    compatible: bool
    reason: str
    expected_latency_ms: float | None  # per item (classifiers) / per token (generators)


def expected_latency_ms(spec: ModelSpec, hw: HardwareProfile, measured_p95_ms: float | None) -> float | None:
    """A benchmark on this machine beats any estimate; otherwise scale the reference by cores."""
    if measured_p95_ms is not None:
        return measured_p95_ms
    if spec.reference_latency_ms is None:
        return None
    # References were measured on 2 cores; more cores help sub-linearly.
    return spec.reference_latency_ms * (2.0 / max(hw.physical_cores, 1)) ** 0.5


def check(spec: ModelSpec, hw: HardwareProfile, *, memory_budget_mb: float, latency_budget_ms: float,
          measured_p95_ms: float | None = None) -> Compatibility:
    if not spec.present:
        return Compatibility(False, spec.missing_reason, None)
    need = spec.estimated_ram_mb()
    available = hw.ram_available_gb * 1024
    latency = expected_latency_ms(spec, hw, measured_p95_ms)
    if spec.min_cores > hw.logical_cores:
        return Compatibility(False, f"needs {spec.min_cores} cores, this machine has {hw.logical_cores}", latency)
    if need > available * RAM_HEADROOM:
        return Compatibility(False, f"needs ~{need:,.0f} MB RAM, only {available:,.0f} MB available", latency)
    if need > memory_budget_mb:
        return Compatibility(False, f"needs ~{need:,.0f} MB, above the model memory budget of "
                                    f"{memory_budget_mb:,.0f} MB (MODEL_MEMORY_LIMIT)", latency)
    if latency is not None and latency > latency_budget_ms:
        unit = "per token" if spec.task == "generation" else "per item"
        return Compatibility(False, f"expected {latency:.1f} ms {unit}, above the {latency_budget_ms:.0f} ms budget", latency)
    parts = [f"~{need:,.0f} MB of {available:,.0f} MB available"]
    if latency is not None:
        parts.append(f"expected {latency:.1f} ms {'per token' if spec.task == 'generation' else 'per item'}")
    return Compatibility(True, "fits: " + ", ".join(parts), latency)
