"""The multi-source training settings, shared by the train step and the build step (which records
the rebuild command) without either importing the other."""

from __future__ import annotations

from dataclasses import dataclass

from engine.training.finetune import TrainConfig


@dataclass
class MultiConfig(TrainConfig):
    """1.0.0's recipe (engine.training.finetune.TrainConfig) over three sources."""
    epochs: int = 3
    news_repeat: int = 2  # the smallest source, and the text analysts paste: seen this often an epoch
