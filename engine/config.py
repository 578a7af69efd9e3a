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
from typing import Any, Callable, Mapping, TypeVar

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
    intra_op_threads: int = 0  # 0 = engine.hardware.inference_threads(): physical cores, within the CPUs usable
    llm_threads: int = 0  # 0 = half the physical cores, so scoring keeps the rest
    llm_batch_threads: int = 0  # prompt evaluation; 0 = every core that is free at the time of the call
    embedding_threads: int = 1  # one thread: single-query RAG 2.3 ms vs 10 ms with two (bench)
    batch_size: int = 64
    max_item_chars: int = 2000  # longer items are cut, with a notice
    llm_max_inference_time_s: float = 30.0
    model_memory_limit_mb: int = 2048
    max_model_cache_size: int = 3
    monitor_interval_s: float = 1.0


class ConfigError(ValueError):
    """A config value could not be understood; the message names the key and the source."""


T = TypeVar("T")


def coerce_value(kind: str, raw: Any) -> Any:
    """Strict scalar coercion: a bool is not a number and 2.5 is not an int."""
    if kind == "str":
        return str(raw).strip()
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in ("true", "1", "yes", "on"):
            return True
        if word in ("false", "0", "no", "off"):
            return False
        raise ValueError(raw)
    if isinstance(raw, bool):
        raise ValueError(raw)
    if kind == "int":
        if isinstance(raw, float) and not raw.is_integer():
            raise ValueError(raw)
        return int(raw)
    return float(raw)


def apply_values(settings: T, values: Mapping[str, Any], source: str, section: str = "") -> T:
    """A copy of a frozen settings dataclass with ``values`` applied (unknown keys warned about)."""
    kinds = {f.name: f.type for f in fields(settings)}  # type: ignore[arg-type]
    label = f"{section}." if section else ""
    updates = {}
    for key, raw in values.items():
        if isinstance(raw, dict):
            continue  # a nested [section] belongs to another module
        if key not in kinds:
            log.warning("%s: unknown %sconfig key %r ignored", source, f"{section} " if section else "", key)
            continue
        try:
            updates[key] = coerce_value(str(kinds[key]), raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{source}: {label}{key}={raw!r} is not a valid {kinds[key]}") from None
    return replace(settings, **updates)  # type: ignore[type-var]


def non_finite_fields(section: Any) -> list[str]:
    """Problems for a section dataclass's float fields that are NaN or infinite (checked first:
    every later range check would silently pass or fail on them)."""
    import math
    from dataclasses import fields

    return [f"{f.name} must be finite" for f in fields(section)
            if isinstance(getattr(section, f.name), float) and not math.isfinite(getattr(section, f.name))]


def load_section(defaults: T, data_dir: Path | None, section: str, env_prefix: str,
                 environ: Mapping[str, str] | None = None,
                 normalise: Callable[[dict], dict] = lambda values: values) -> T:
    """Defaults < the ``[section]`` table of config.toml < ``<env_prefix><KEY>`` variables.

    Shared by the feature modules ([risk], [news], [reasoning]) so they read and validate
    their settings the same way; ``normalise`` adjusts raw values (e.g. lower-case names).
    """
    settings = defaults
    if data_dir is not None:
        path = Path(data_dir) / CONFIG_FILE_NAME
        if path.is_file():
            try:
                table = tomllib.loads(path.read_text(encoding="utf-8")).get(section, {})
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                log.error("%s is not valid TOML (%s); using default %s settings", path, exc, section)
                table = {}
            if not isinstance(table, dict):
                raise ConfigError(f"{path}: '{section}' must be a [{section}] table")
            settings = apply_values(settings, normalise(dict(table)), str(path), section)
    environ = os.environ if environ is None else environ
    env_values = {key[len(env_prefix):].lower(): value for key, value in environ.items()
                  if key.startswith(env_prefix)}
    return apply_values(settings, normalise(env_values), "environment", section)


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
            config = apply_values(config, file_values, str(path))
    environ = os.environ if environ is None else environ
    return apply_values(config, env_overrides(environ), "environment")


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def save_section(data_dir: Path, section: str, values: Mapping[str, Any]) -> Path:
    """Replace the ``[section]`` table of config.toml with ``values`` (scalars), leaving the rest of
    the file (other keys, other tables, the user's comments) as it was; written atomically.

    tomlkit edits in place: a hand-written config keeps its comments and layout. A file that is not
    valid TOML is refused (ConfigError) rather than overwritten, so nothing the user wrote is lost.
    """
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    path = Path(data_dir) / CONFIG_FILE_NAME
    try:
        document = tomlkit.parse(path.read_text(encoding="utf-8")) if path.is_file() else tomlkit.document()
    except (TOMLKitError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix or remove it before saving settings") from None
    table = tomlkit.table()
    for key, value in values.items():
        table.add(key, value)
    document[section] = table
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(tomlkit.dumps(document), encoding="utf-8")
    os.replace(temporary, path)  # readers see the old file or the new one, never half of it
    return path


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
