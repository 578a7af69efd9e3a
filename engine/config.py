"""Engine configuration: defaults < config file < environment variables.

The config file is ``config.toml`` in the data directory (flat ``key = value`` pairs). The
settings dialog writes it through :func:`save_config_file`. Environment variables use the
``SIGNALDESK_`` prefix plus the names the original seeds used (``LLM_MAX_INFERENCE_TIME``,
``MODEL_MEMORY_LIMIT``, ``MAX_MODEL_CACHE_SIZE``) so existing deployment scripts keep working.
"""

from __future__ import annotations

import logging
import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Mapping

log = logging.getLogger(__name__)

CONFIG_FILE_NAME = "config.toml"

# Seed-era variable names, honoured alongside SIGNALDESK_<FIELD>.
LEGACY_ENV = {
    "LLM_MAX_INFERENCE_TIME": "llm_max_inference_time_s",
    "MODEL_MEMORY_LIMIT": "model_memory_limit_mb",
    "MAX_MODEL_CACHE_SIZE": "max_model_cache_size",
    "LLM_TIMEOUT_S": "llm_max_inference_time_s",
}


@dataclass(frozen=True)
class Config:
    log_level: str = "INFO"
    sentiment_model: str = "auto"  # "auto", a model id, or "lexicon"
    embedding_model: str = "auto"
    generation_model: str = "auto"
    model_priority: str = "balanced"  # speed | balanced | accuracy
    sentiment_latency_budget_ms: float = 50.0  # p95 per headline
    embedding_latency_budget_ms: float = 100.0
    generation_latency_budget_ms: float = 150.0  # per token
    fallback_after_calls: int = 20  # p95 over budget for this many calls -> lighter model
    model_idle_unload_s: float = 900.0
    intra_op_threads: int = 0  # 0 = let the runtime choose (physical cores)
    llm_threads: int = 0  # 0 = half the physical cores, so scoring keeps the rest
    embedding_threads: int = 1  # one thread: single-query RAG 2.3 ms vs 10 ms with two (bench)
    batch_size: int = 64
    max_item_chars: int = 2000  # longer items are cut, with a notice
    llm_max_inference_time_s: float = 30.0
    model_memory_limit_mb: int = 2048
    max_model_cache_size: int = 3
    monitor_interval_s: float = 1.0


class ConfigError(ValueError):
    """A config value could not be understood; the message names the key and the source."""


def _coerce(name: str, raw: Any, source: str) -> Any:
    target = {f.name: f.type for f in fields(Config)}[name]
    try:
        if target == "int":
            return int(raw)
        if target == "float":
            return float(raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {name}={raw!r} is not a valid {target}") from exc


def _apply(config: Config, values: Mapping[str, Any], source: str) -> Config:
    known = {f.name for f in fields(Config)}
    updates = {}
    for key, raw in values.items():
        if isinstance(raw, dict):
            continue  # a [section] belongs to a feature module (e.g. [risk]), not to Config
        if key not in known:
            log.warning("%s: unknown config key %r ignored", source, key)
            continue
        updates[key] = _coerce(key, raw, source)
    return replace(config, **updates)


def env_overrides(environ: Mapping[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for legacy, name in LEGACY_ENV.items():
        if legacy in environ:
            values[name] = environ[legacy]
    for f in fields(Config):
        key = f"SIGNALDESK_{f.name.upper()}"
        if key in environ:
            values[f.name] = environ[key]
    return values


def load_config(data_dir: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    config = Config()
    if data_dir is not None:
        path = Path(data_dir) / CONFIG_FILE_NAME
        if path.is_file():
            try:
                file_values = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                # A broken config file must not stop the app; say so and use the defaults.
                log.error("%s is not valid TOML (%s); using defaults", path, exc)
                file_values = {}
            config = _apply(config, file_values, str(path))
    environ = os.environ if environ is None else environ
    return _apply(config, env_overrides(environ), "environment")


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def save_config_file(data_dir: Path, config: Config) -> Path:
    """Write every non-default value, keeping other modules' [sections] as they were.

    tomllib has no writer; our values are flat scalars and sections hold scalars too.
    """
    path = Path(data_dir) / CONFIG_FILE_NAME
    sections: dict[str, dict] = {}
    if path.is_file():
        try:
            existing = tomllib.loads(path.read_text(encoding="utf-8"))
            sections = {k: v for k, v in existing.items() if isinstance(v, dict)}
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            log.warning("%s was not valid TOML; its sections are not carried over", path)
    defaults = Config()
    lines = ["# SignalDesk settings (written by the app; environment variables override these)"]
    for f in fields(Config):
        value = getattr(config, f.name)
        if value != getattr(defaults, f.name):
            lines.append(f"{f.name} = {_render(value)}")
    for name, table in sections.items():
        lines.append(f"\n[{name}]")
        lines.extend(f"{key} = {_render(value)}" for key, value in table.items()
                     if not isinstance(value, dict))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
