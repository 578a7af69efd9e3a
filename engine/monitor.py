"""Process resource sampling (RSS, CPU) for the status bar and Monitor panel."""

from __future__ import annotations

import time
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class ProcessSample:
    at: float
    rss_mb: float
    cpu_percent: float  # of one core; can exceed 100 on several cores
    threads: int


class ProcessSampler:
    def __init__(self) -> None:
        self._proc = psutil.Process()
        self._proc.cpu_percent(interval=None)  # first call primes the counter

    def sample(self) -> ProcessSample:
        with self._proc.oneshot():
            return ProcessSample(
                at=time.time(),
                rss_mb=self._proc.memory_info().rss / (1024 * 1024),
                cpu_percent=self._proc.cpu_percent(interval=None),
                threads=self._proc.num_threads(),
            )
