"""The desk's main settings in one place, read from and written to the data folder's config.toml.

What the Settings dialog edits (ui/widgets/settings_dialog.py) lives in several sections of
config.toml: idea and alert thresholds, auto-explain, threads, the model memory budget, Redis.
Each is validated by its own section's dataclass before anything is written, so a bad value is
refused with one line and the file is left as it was; other keys of each section stay untouched.
Values take effect at the next start (the engine reads them once); the dialog says so.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from engine.config import CONFIG_FILE_NAME, Config, ConfigError, apply_values, load_config, save_section

__all__ = ["DeskSettings", "read_desk_settings", "save_desk_settings"]


@dataclass(frozen=True)
class DeskSettings:
    idea_min_confidence: float = 0.70  # [risk]
    alerts_enabled: bool = True  # [alerts] enabled
    alert_min_confidence: float = 0.80  # [alerts] min_confidence
    auto_explain: bool = False  # [reasoning] auto_explain (0/1)
    auto_explain_min_confidence: float = 0.80  # [reasoning]
    intra_op_threads: int = 0  # top level: scoring threads, 0 = the runtime chooses
    llm_threads: int = 0  # top level: 0 = half the physical cores
    model_memory_limit_mb: int = 2048  # top level
    redis_url: str = ""  # [redis] url; empty = Redis off


# field -> (section, key); "" is the top level of config.toml.
_WHERE = {"idea_min_confidence": ("risk", "idea_min_confidence"), "alerts_enabled": ("alerts", "enabled"),
          "alert_min_confidence": ("alerts", "min_confidence"), "auto_explain": ("reasoning", "auto_explain"),
          "auto_explain_min_confidence": ("reasoning", "auto_explain_min_confidence"),
          "intra_op_threads": ("", "intra_op_threads"), "llm_threads": ("", "llm_threads"),
          "model_memory_limit_mb": ("", "model_memory_limit_mb"), "redis_url": ("redis", "url")}


def _file_tables(data_dir: Path) -> dict[str, Any]:
    path = Path(data_dir) / CONFIG_FILE_NAME
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix or remove it before changing settings") from None


def _sections():
    from engine.alerts import AlertConfig
    from engine.reasoning.settings import ReasoningSettings
    from engine.redisbus.config import RedisConfig
    from engine.risk.config import RiskConfig

    return {"risk": RiskConfig, "alerts": AlertConfig, "reasoning": ReasoningSettings, "redis": RedisConfig}


def read_desk_settings(data_dir: Path) -> DeskSettings:
    """What config.toml says (defaults where it says nothing; environment overrides not included)."""
    document = _file_tables(data_dir)
    sections = _sections()
    values: dict[str, Any] = {}
    for name, (section, key) in _WHERE.items():
        if section:
            current = apply_values(sections[section](), document.get(section, {}) or {}, CONFIG_FILE_NAME, section)
        else:
            current = load_config(data_dir, environ={})
        values[name] = getattr(current, key)
    values["auto_explain"] = bool(values["auto_explain"])
    return DeskSettings(**values)


def save_desk_settings(data_dir: Path, settings: DeskSettings) -> Path:
    """Validate every section with its new values, then write them; raises ConfigError (one line)
    without writing anything when a value is refused."""
    document = _file_tables(data_dir)
    sections = _sections()
    changes: dict[str, dict[str, Any]] = {}
    for f in fields(settings):
        section, key = _WHERE[f.name]
        value = getattr(settings, f.name)
        changes.setdefault(section, {})[key] = int(value) if f.name == "auto_explain" else value
    merged: dict[str, dict[str, Any]] = {}
    for section, values in changes.items():
        if not section:
            continue
        table = {**(document.get(section, {}) or {}), **values}
        try:  # the section's own checks (ranges, URL scheme, …) before anything is written
            apply_values(sections[section](), table, CONFIG_FILE_NAME, section)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"[{section}]: {exc}") from None
        merged[section] = table
    top = {k: v for k, v in document.items() if not isinstance(v, dict)}
    top.update(changes[""])
    try:
        apply_values(Config(), top, CONFIG_FILE_NAME)
        _check_top(changes[""])
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None
    path = Path(data_dir) / CONFIG_FILE_NAME
    for section, table in merged.items():
        path = save_section(data_dir, section, table)
    _save_top_level(data_dir, changes[""])
    return path


def _check_top(values: dict[str, Any]) -> None:
    for key in ("intra_op_threads", "llm_threads"):
        if not 0 <= int(values[key]) <= 256:
            raise ValueError(f"{key} must be between 0 and 256")
    if not 256 <= int(values["model_memory_limit_mb"]) <= 1_048_576:
        raise ValueError("model_memory_limit_mb must be between 256 and 1048576")


def _save_top_level(data_dir: Path, values: dict[str, Any]) -> None:
    """Top-level keys set in place: tomlkit keeps the rest of the file (comments included) and puts
    a new top-level key before the first [table]."""
    import os

    import tomlkit

    path = Path(data_dir) / CONFIG_FILE_NAME
    document = tomlkit.parse(path.read_text(encoding="utf-8")) if path.is_file() else tomlkit.document()
    for key, value in values.items():
        document[key] = value
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(tomlkit.dumps(document), encoding="utf-8")
    os.replace(temporary, path)
