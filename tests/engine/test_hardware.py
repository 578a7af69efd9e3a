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
