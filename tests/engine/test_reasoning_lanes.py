"""Lanes: headline scoring keeps its throughput while a rationale generates on the slow lane.

Measured, not assumed: the same paired-window measurement as bench/bench_reasoning.py (one
long chain-mode generation with the real SmolLM2, paused in its token callback for the idle
windows, running for the busy ones; scoring with the engine's active sentiment model). The
ratio is printed (run with -s to see it); no absolute time is asserted.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from engine.config import Config
from engine.engine import Engine
from tests.conftest import REPO_ROOT


def _bench():
    spec = importlib.util.spec_from_file_location("bench_reasoning", REPO_ROOT / "bench" / "bench_reasoning.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_scoring_keeps_most_of_its_throughput_while_a_rationale_generates(data_dir) -> None:
    bench = _bench()
    engine = Engine(Config(), data_dir)
    try:
        result = bench.lanes_ratio(engine, pairs=8, seconds=1.0)
    finally:
        engine.close()
    print("lanes:", json.dumps(result))
    assert result["slow_lane_tokens_per_s_while_busy"] > 0  # the rationale really was generating
    assert result["generation_status"] == "fallback_cancelled"  # stopped by us, after the windows
    assert result["ratio"] >= 0.7, result
