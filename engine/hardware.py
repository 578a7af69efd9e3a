"""What machine are we on? Used to pick models and to tell operators why."""

from __future__ import annotations

import math
import os
import platform
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

GIB = 1024 ** 3


@dataclass(frozen=True)
class HardwareProfile:
    physical_cores: int
    logical_cores: int
    ram_total_gb: float
    ram_available_gb: float
    cpu_load_percent: float  # 1-minute load average as a share of all cores (cpu_load_percent())
    arch: str
    os: str
    disk_free_gb: float
    accelerators: tuple[str, ...]
    tier: str  # low | mid | high
    tier_reason: str

    def to_dict(self) -> dict:
        data = asdict(self)
        data["accelerators"] = list(self.accelerators)
        return data


def detect_accelerators() -> tuple[str, ...]:
    found: list[str] = []
    if shutil.which("nvidia-smi") or Path("/proc/driver/nvidia").exists():
        found.append("nvidia-gpu")
    try:  # onnxruntime is optional at this layer; it knows about more providers than we do
        import onnxruntime

        for provider in onnxruntime.get_available_providers():
            if provider not in ("CPUExecutionProvider", "AzureExecutionProvider"):
                found.append(provider)
    except ImportError:
        pass
    return tuple(dict.fromkeys(found))


def cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The CPU quota of this process's container in CPUs (``docker --cpus=2`` gives 2.0), or None."""
    try:  # cgroup v2: "max 100000" (no limit) or "200000 100000"
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:  # cgroup v1: a quota of -1 means no limit
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return quota_us / period_us if quota_us > 0 and period_us > 0 else None
    except (OSError, ValueError):
        return None


def usable_cpus(cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    """CPUs this process may really use: its affinity set, cut to a container's CPU quota."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    quota = cgroup_cpu_quota(cgroup_root)
    if quota:
        n = min(n, math.ceil(quota))
    return max(1, n)


def inference_threads(configured: int = 0, physical: int | None = None, usable: int | None = None) -> int:
    """Intra-op threads for the scoring models when the config leaves it at 0.

    onnxruntime's own choice is one thread per *physical* core of the host, which goes wrong on
    the two machine kinds analysts' desks often are: a 2-vCPU virtual machine whose vCPUs are one
    core's two hyperthreads (the runtime picks 1 thread: half the throughput), and a container
    limited to 2 CPUs on a large server (it picks the host's core count: dozens of threads
    time-sliced on 2 CPUs). bench/bench_sentiment_ops.py measures both effects.
    """
    if configured > 0:
        return configured
    usable = usable or usable_cpus()
    physical = physical or psutil.cpu_count(logical=False) or usable
    if physical >= 2:
        return min(physical, usable)  # as the runtime, but never more than the process may use
    return usable  # one physical core: its hyperthreads are all there is


def classify_tier(logical_cores: int, ram_total_gb: float, accelerators: tuple[str, ...]) -> tuple[str, str]:
    """Tier rules are deliberately simple so the reason can be stated in one sentence."""
    if accelerators and ram_total_gb >= 16:
        return "high", f"accelerator present ({', '.join(accelerators)}) and {ram_total_gb:.0f} GB RAM"
    if logical_cores >= 8 and ram_total_gb >= 16:
        return "high", f"{logical_cores} logical cores and {ram_total_gb:.0f} GB RAM"
    if logical_cores >= 4 and ram_total_gb >= 8:
        return "mid", f"{logical_cores} logical cores and {ram_total_gb:.0f} GB RAM (high needs 8 cores, 16 GB)"
    limits = []
    if logical_cores < 4:
        limits.append(f"only {logical_cores} logical cores (mid needs 4)")
    if ram_total_gb < 8:
        limits.append(f"only {ram_total_gb:.1f} GB RAM (mid needs 8)")
    return "low", "; ".join(limits)


def cpu_load_percent(logical_cores: int | None = None) -> float:
    """The machine's CPU load now, as a share of all cores (100 = every core busy; above 100 when
    work queues). The 1-minute load average where the OS has one: a first psutil.cpu_percent()
    call has nothing to compare with and says 0 % (it did, with a load average of 5 on 2 cores).
    Elsewhere a 0.2 s psutil sample."""
    cores = logical_cores or psutil.cpu_count(logical=True) or os.cpu_count() or 1
    if hasattr(os, "getloadavg"):
        try:
            return round(os.getloadavg()[0] / cores * 100, 1)
        except OSError:
            pass
    return float(psutil.cpu_percent(interval=0.2))


def detect_hardware(data_dir: Path | None = None) -> HardwareProfile:
    vm = psutil.virtual_memory()
    logical = psutil.cpu_count(logical=True) or os.cpu_count() or 1
    physical = psutil.cpu_count(logical=False) or logical
    probe = Path(data_dir) if data_dir else Path.home()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    accelerators = detect_accelerators()
    ram_total = vm.total / GIB
    tier, reason = classify_tier(logical, ram_total, accelerators)
    return HardwareProfile(
        physical_cores=physical,
        logical_cores=logical,
        ram_total_gb=round(ram_total, 2),
        ram_available_gb=round(vm.available / GIB, 2),
        cpu_load_percent=cpu_load_percent(logical),
        arch=platform.machine(),
        os=f"{platform.system()} {platform.release()}",
        disk_free_gb=round(shutil.disk_usage(probe).free / GIB, 2),
        accelerators=accelerators,
        tier=tier,
        tier_reason=reason,
    )
