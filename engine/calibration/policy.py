"""When to refit a model version's calibrator: every N new outcomes, once there are enough."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RefitPolicy:
    every_n: int = 200  # new outcomes since the last fit that trigger a refit
    min_samples: int = 300  # below this a calibrator would mostly fit noise

    def __post_init__(self) -> None:
        if self.every_n < 1 or self.min_samples < 1:
            raise ValueError("every_n and min_samples must be at least 1")

    def due(self, outcomes: int, outcomes_at_last_fit: int | None) -> bool:
        """True when a (re)fit should run now.

        ``outcomes`` is the current count for the model version; ``outcomes_at_last_fit`` the
        count when its active calibrator was fitted (None: never fitted).
        """
        if outcomes < self.min_samples:
            return False
        if outcomes_at_last_fit is None:
            return True
        return outcomes - outcomes_at_last_fit >= self.every_n

    def next_at(self, outcomes: int, outcomes_at_last_fit: int | None) -> int:
        """The outcome count at which the next fit will be due (for a status line)."""
        if outcomes_at_last_fit is None:
            return max(self.min_samples, outcomes)
        return max(self.min_samples, outcomes_at_last_fit + self.every_n)

    def explain(self, outcomes: int, outcomes_at_last_fit: int | None) -> str:
        if self.due(outcomes, outcomes_at_last_fit):
            return "refit due" if outcomes_at_last_fit is not None else "first fit due"
        if outcomes < self.min_samples:
            return f"{outcomes} of {self.min_samples} outcomes needed before the first fit"
        return f"next refit at {self.next_at(outcomes, outcomes_at_last_fit)} outcomes (now {outcomes})"
