from pathlib import Path

from engine.hardware import classify_tier, detect_hardware


def test_profile_reads_this_machine(tmp_path: Path) -> None:
    hw = detect_hardware(tmp_path)
    assert hw.logical_cores >= 1 and hw.physical_cores >= 1
    assert hw.physical_cores <= hw.logical_cores
    assert 0 < hw.ram_available_gb <= hw.ram_total_gb
    assert hw.disk_free_gb > 0
    assert hw.tier in {"low", "mid", "high"}
    assert hw.tier_reason
    assert hw.to_dict()["accelerators"] == list(hw.accelerators)


def test_tier_rules_state_their_reason() -> None:
    assert classify_tier(2, 24, ())[0] == "low"
    assert "2 logical cores" in classify_tier(2, 24, ())[1]
    assert classify_tier(4, 8, ())[0] == "mid"
    assert classify_tier(16, 64, ())[0] == "high"
    tier, reason = classify_tier(4, 32, ("CUDAExecutionProvider",))
    assert tier == "high" and "CUDA" in reason
    tier, reason = classify_tier(8, 4, ())
    assert tier == "low" and "RAM" in reason


def test_container_cpu_quota_is_read_from_cgroup_files(tmp_path) -> None:
    from engine.hardware import cgroup_cpu_quota, usable_cpus

    (tmp_path / "cpu.max").write_text("200000 100000\n")  # docker --cpus=2, cgroup v2
    assert cgroup_cpu_quota(tmp_path) == 2.0
    assert usable_cpus(tmp_path) <= 2
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_quota(tmp_path) is None
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("150000\n")  # cgroup v1, 1.5 CPUs
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_quota(tmp_path) == 1.5 and usable_cpus(tmp_path) <= 2
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_quota(tmp_path) is None
    assert cgroup_cpu_quota(tmp_path / "missing") is None


def test_scoring_threads_fit_the_cpus_the_process_may_use() -> None:
    from engine.hardware import inference_threads

    assert inference_threads(3, physical=1, usable=2) == 3  # the config's number wins
    assert inference_threads(0, physical=1, usable=2) == 2  # 2-vCPU VM, one core's hyperthreads
    assert inference_threads(0, physical=64, usable=2) == 2  # a 2-CPU container on a 64-core host
    assert inference_threads(0, physical=6, usable=12) == 6  # a desktop with SMT: one per core
    assert inference_threads(0, physical=2, usable=2) == 2
