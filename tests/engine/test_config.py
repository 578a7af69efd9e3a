from pathlib import Path

import pytest

from engine.config import Config, ConfigError, load_config, save_config_file


def test_defaults_when_no_file_and_no_env(tmp_path: Path) -> None:
    assert load_config(tmp_path, environ={}) == Config()


def test_file_overrides_defaults_and_env_overrides_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('batch_size = 16\nsentiment_model = "lexicon"\n')
    cfg = load_config(tmp_path, environ={})
    assert cfg.batch_size == 16 and cfg.sentiment_model == "lexicon"
    cfg = load_config(tmp_path, environ={"SIGNALDESK_BATCH_SIZE": "8"})
    assert cfg.batch_size == 8 and cfg.sentiment_model == "lexicon"


def test_seed_environment_names_are_honoured(tmp_path: Path) -> None:
    cfg = load_config(tmp_path, environ={"LLM_MAX_INFERENCE_TIME": "12.5", "MODEL_MEMORY_LIMIT": "512"})
    assert cfg.llm_max_inference_time_s == 12.5
    assert cfg.model_memory_limit_mb == 512


def test_bad_value_names_key_and_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="batch_size"):
        load_config(tmp_path, environ={"SIGNALDESK_BATCH_SIZE": "many"})


def test_broken_toml_falls_back_to_defaults(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("batch_size = = 3\n")
    assert load_config(tmp_path, environ={}) == Config()


def test_config_is_frozen() -> None:
    with pytest.raises(AttributeError):
        Config().batch_size = 3  # type: ignore[misc]


def test_save_round_trip(tmp_path: Path) -> None:
    wanted = Config(batch_size=32, sentiment_model="lexicon", llm_max_inference_time_s=9.0)
    save_config_file(tmp_path, wanted)
    assert load_config(tmp_path, environ={}) == wanted


def test_sections_of_other_modules_are_ignored_on_load_and_kept_on_save(tmp_path: Path, caplog) -> None:
    (tmp_path / "config.toml").write_text('batch_size = 16\n\n[risk]\nmax_leverage = 0.5\nname = "desk \\"A\\""\n')
    cfg = load_config(tmp_path, environ={})
    assert cfg.batch_size == 16
    assert "unknown config key" not in caplog.text
    save_config_file(tmp_path, Config(batch_size=8))
    import tomllib

    saved = tomllib.loads((tmp_path / "config.toml").read_text())
    assert saved["batch_size"] == 8
    assert saved["risk"] == {"max_leverage": 0.5, "name": 'desk "A"'}
