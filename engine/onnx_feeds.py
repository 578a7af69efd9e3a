"""ONNX Runtime inputs for a batch of token-id rows, shared by every encoder the engine runs."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def padded_feeds(rows: Sequence[Sequence[int]]) -> dict[str, np.ndarray]:
    """``input_ids`` padded with 0 to the batch's longest row and an ``attention_mask`` of 1 on tokens."""
    width = max(len(r) for r in rows)
    input_ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        input_ids[i, :len(r)] = r
        mask[i, :len(r)] = 1
    return {"input_ids": input_ids, "attention_mask": mask}
