"""The [alerts] writer (engine.alerts.save_alert_config on engine.config.save_section): the table is
replaced, everything else in config.toml stays as the user wrote it, and a broken file is refused
rather than overwritten."""

from __future__ import annotations

import pytest

from engine.alerts import AlertConfig, load_alert_config, save_alert_config
from engine.config import ConfigError, load_config

HAND_WRITTEN = """# my desk
batch_size = 16  # two cores

[risk]
tick_size = 0.05

[alerts]
enabled = true  # replaced by the writer
"""


def test_writes_the_alerts_table_and_keeps_the_rest(data_dir):
    path = data_dir / "config.toml"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    wanted = AlertConfig(enabled=False, min_confidence=0.9, min_impact="medium", labels="bearish",
                         rate_limit_s=60.0, max_age_hours=2.0)
    save_alert_config(data_dir, wanted)
    assert load_alert_config(data_dir, environ={}) == wanted
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# my desk\nbatch_size = 16  # two cores\n") and "tick_size = 0.05" in text
    assert load_config(data_dir, environ={}).batch_size == 16
    assert not list(data_dir.glob("*.tmp"))  # written through a temporary file, replaced whole


def test_a_file_that_is_not_toml_is_refused_and_left_alone(data_dir):
    path = data_dir / "config.toml"
    path.write_text("batch_size = = 16\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        save_alert_config(data_dir, AlertConfig(enabled=False))
    assert path.read_text(encoding="utf-8") == "batch_size = = 16\n"
