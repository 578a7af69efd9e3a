"""Benchmarks measured on this machine: load time, latency, memory, quality, tokens/s.

Results are stored per machine (a fingerprint of host and hardware) and feed selection.
Progress and cancellation are callbacks so the worker can drive a progress bar.
"""

from __future__ import annotations

import csv
import hashlib
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import psutil

from engine.garbage import collect_if_main_thread
from engine.hardware import HardwareProfile
from engine.models.spec import ModelSpec
from engine.resources import resources_dir

SAMPLE_FILE = "tfns_dev_sample.csv"
GENERATION_PROMPT = [
    {"role": "system", "content": "You are a concise financial news analyst."},
    {"role": "user", "content": "In two sentences, what does a surprise interest-rate cut usually do to bank stocks?"},
]

ProgressFn = Callable[[int, int, str], None]
CancelFn = Callable[[], bool]


class BenchmarkCancelled(RuntimeError):
    pass


@dataclass(frozen=True)
class BenchmarkResult:
    model_id: str
    version: str
    task: str
    machine_id: str
    measured_at: float
    load_s: float
    p50_ms: float
    p95_ms: float
    rss_delta_mb: float
    n: int
    accuracy: float | None = None
    weighted_f1: float | None = None
    tokens_per_s: float | None = None
    first_token_ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def machine_id(hw: HardwareProfile) -> str:
    raw = f"{platform.node()}|{platform.processor()}|{hw.arch}|{hw.logical_cores}|{round(hw.ram_total_gb)}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def labelled_sample(path: Path | None = None) -> tuple[list[str], np.ndarray]:
    """The shipped labelled sample: rows of the TFNS train dev split (never the valid split)."""
    path = path or resources_dir() / "demo" / SAMPLE_FILE
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r["text"] for r in rows], np.array([int(r["label"]) for r in rows])


def _percentiles(samples_ms: list[float]) -> tuple[float, float]:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95


def run_benchmark(spec: ModelSpec, load: Callable[[ModelSpec], Any], hw: HardwareProfile,
                  progress: ProgressFn | None = None, cancelled: CancelFn | None = None,
                  latency_items: int = 100) -> BenchmarkResult:
    """Load a fresh instance (not the cached one, so load time and memory are real) and measure."""
    progress = progress or (lambda done, total, stage: None)
    cancelled = cancelled or (lambda: False)

    def check() -> None:
        if cancelled():
            raise BenchmarkCancelled(f"benchmark of {spec.id} cancelled")

    collect_if_main_thread()  # see engine/garbage.py
    rss0 = psutil.Process().memory_info().rss
    t0 = time.perf_counter()
    model = load(spec)
    load_s = time.perf_counter() - t0
    rss_delta = (psutil.Process().memory_info().rss - rss0) / 1e6
    extra: dict[str, Any] = {}
    try:
        if spec.task == "generation":
            total = 3
            progress(0, total, "generating")
            timings, tps, first = [], [], []
            for i in range(total):
                check()
                gen = model.chat(GENERATION_PROMPT, max_tokens=48, temperature=0.0)
                per_token = (gen.total_ms - gen.first_token_ms) / max(gen.completion_tokens - 1, 1)
                timings.append(per_token)
                tps.append(gen.tokens_per_s)
                first.append(gen.first_token_ms)
                progress(i + 1, total, "generating")
            extra = {"tokens_per_s": round(statistics.median(tps), 2),
                     "first_token_ms": round(statistics.median(first), 1)}
            n = total
        else:
            texts, labels = labelled_sample()
            run_one = model.embed if spec.task == "embedding" else model.predict_proba
            single = texts[:latency_items]
            total = len(single) + (len(texts) if spec.task == "sentiment" else 0)
            timings = []
            for i, text in enumerate(single):
                if i % 10 == 0:
                    check()
                    progress(i, total, "latency")
                t = time.perf_counter()
                run_one([text])
                timings.append((time.perf_counter() - t) * 1000)
            n = len(single)
            if spec.task == "sentiment":
                from sklearn.metrics import accuracy_score, f1_score

                preds = []
                for start in range(0, len(texts), 64):
                    check()
                    preds.append(model.predict_proba(texts[start:start + 64]).argmax(axis=1))
                    progress(len(single) + start, total, "accuracy")
                pred = np.concatenate(preds)
                extra = {"accuracy": round(float(accuracy_score(labels, pred)), 4),
                         "weighted_f1": round(float(f1_score(labels, pred, average="weighted")), 4)}
                n = len(texts)
            progress(total, total, "done")
        p50, p95 = _percentiles(timings)
    finally:
        close = getattr(model, "close", None)
        if callable(close):
            close()
        del model
        collect_if_main_thread()
    return BenchmarkResult(spec.id, spec.version, spec.task, machine_id(hw), time.time(),
                           round(load_s, 3), round(p50, 3), round(p95, 3), round(rss_delta, 1), n, **extra)
