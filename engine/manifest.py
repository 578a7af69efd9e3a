"""Model manifests: what a model directory claims to contain, and the check that it does.

A model directory holds its files, a ``manifest.json`` and a ``MODEL_CARD.md``. Every file
the manifest lists is verified by sha256 before any runtime is allowed to open it, so a
truncated download or a tampered file is refused instead of silently producing garbage.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"
CARD_NAME = "MODEL_CARD.md"
# Files that describe the model rather than being part of it.
_NOT_HASHED = {MANIFEST_NAME, CARD_NAME}


class ModelIntegrityError(RuntimeError):
    """A model directory is missing a file, or a file does not match its recorded sha256."""


@dataclass(frozen=True)
class ModelManifest:
    id: str
    version: str
    task: str
    backend: str
    files: dict[str, dict[str, Any]]
    directory: Path
    licence: str = ""
    labels: tuple[str, ...] = ()
    size_bytes: int = 0
    min_ram_mb: int = 0
    min_cores: int = 1
    metrics: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        return self.directory / name


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _from_dict(data: dict[str, Any], directory: Path) -> ModelManifest:
    known = {"id", "version", "task", "backend", "files", "licence", "labels",
             "size_bytes", "min_ram_mb", "min_cores", "metrics"}
    missing = [k for k in ("id", "version", "task", "backend", "files") if k not in data]
    if missing:
        raise ModelIntegrityError(f"{directory / MANIFEST_NAME}: missing fields {missing}")
    return ModelManifest(
        id=str(data["id"]),
        version=str(data["version"]),
        task=str(data["task"]),
        backend=str(data["backend"]),
        files=dict(data["files"]),
        directory=directory,
        licence=str(data.get("licence", "")),
        labels=tuple(data.get("labels", ())),
        size_bytes=int(data.get("size_bytes", 0)),
        min_ram_mb=int(data.get("min_ram_mb", 0)),
        min_cores=int(data.get("min_cores", 1)),
        metrics=dict(data.get("metrics", {})),
        extra={k: v for k, v in data.items() if k not in known},
    )


def load_manifest(model_dir: Path) -> ModelManifest:
    """Read a manifest without checking the files (cheap; for listings)."""
    model_dir = Path(model_dir)
    manifest_path = model_dir / MANIFEST_NAME
    if not manifest_path.is_file():
        raise ModelIntegrityError(f"{model_dir}: no {MANIFEST_NAME}")
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelIntegrityError(f"{manifest_path}: unreadable manifest ({exc})") from exc
    if not isinstance(data, dict):
        raise ModelIntegrityError(f"{manifest_path}: manifest is not a JSON object")
    return _from_dict(data, model_dir)


def verify_files(manifest: ModelManifest) -> None:
    """Raise ModelIntegrityError unless every listed file exists with its recorded sha256."""
    if not manifest.files:
        raise ModelIntegrityError(f"{manifest.directory}: manifest lists no files")
    for name, info in manifest.files.items():
        path = manifest.directory / name
        if not path.is_file():
            raise ModelIntegrityError(f"{manifest.id}: missing file {name}")
        expected = str(info.get("sha256", ""))
        actual = sha256_file(path)
        if actual != expected:
            raise ModelIntegrityError(
                f"{manifest.id}: sha256 mismatch for {name} "
                f"(expected {expected[:12]}…, found {actual[:12]}…)"
            )


def load_verified(model_dir: Path) -> ModelManifest:
    """Load a manifest and verify every file it lists; the only way runtimes should open models."""
    manifest = load_manifest(Path(model_dir))
    verify_files(manifest)
    return manifest


def write_manifest(model_dir: Path, manifest_fields: dict[str, Any]) -> dict[str, Any]:
    """Write manifest.json for a model directory, hashing every file in it.

    ``manifest_fields`` supplies everything except ``files`` and ``size_bytes``, which are
    computed here so they can never drift from the bytes on disk.
    """
    model_dir = Path(model_dir)
    files: dict[str, dict[str, Any]] = {}
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(model_dir).as_posix()
        if rel in _NOT_HASHED:
            continue
        files[rel] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    data = dict(manifest_fields)
    data["files"] = files
    data["size_bytes"] = sum(f["size"] for f in files.values())
    (model_dir / MANIFEST_NAME).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return data
