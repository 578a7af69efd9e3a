"""Model manifests: what a model directory claims to contain, and the check that it does.

A model directory holds its files, a ``manifest.json`` and a ``MODEL_CARD.md``. Every file
the manifest lists is verified by sha256 before any runtime is allowed to open it, so a
truncated download or a tampered file is refused instead of silently producing garbage.
"""

from __future__ import annotations

import hashlib
import json
import lzma
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


def inside(path: Path, directory: Path) -> bool:
    """True when ``path``, links resolved, is ``directory`` or below it."""
    try:
        return Path(path).resolve().is_relative_to(Path(directory).resolve())
    except (OSError, RuntimeError):  # a link loop
        return False


def verify_files(manifest: ModelManifest, *, complete: bool = False) -> None:
    """Raise ModelIntegrityError unless every listed file exists inside the model directory (no
    link leads out of it) with its recorded sha256. ``complete``: the directory may hold no other
    file either (a user's folder: a file that appeared after it was added could be loaded, e.g.
    as ONNX external data, without ever being hashed)."""
    if not manifest.files:
        raise ModelIntegrityError(f"{manifest.directory}: manifest lists no files")
    if complete:
        extra = sorted(p.relative_to(manifest.directory).as_posix() for p in manifest.directory.rglob("*")
                       if not p.is_dir() and p.relative_to(manifest.directory).as_posix() not in manifest.files
                       and p.name not in _NOT_HASHED)
        if extra:
            raise ModelIntegrityError(f"{manifest.id}: files not in its manifest appeared in {manifest.directory}: "
                                      f"{', '.join(extra[:5])} (remove them, or add the model again)")
    for name, info in manifest.files.items():
        path = manifest.directory / name
        if not inside(path, manifest.directory):
            raise ModelIntegrityError(f"{manifest.id}: {name} leads outside the model folder (a link or ..); "
                                      "links out of a model folder are not followed")
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


PACKED_SUFFIX = ".xz"
UNPACKED_KEY = "unpacked"  # manifest: {name: {"sha256", "size"}} of each file shipped as name + ".xz"
MAX_UNPACKED_BYTES = 512 << 20  # an xz bomb is refused, not unpacked into memory


def has_model_file(manifest: ModelManifest, name: str) -> bool:
    """The manifest lists ``name`` itself or its xz-packed form (``name.xz``)."""
    return name in manifest.files or (name + PACKED_SUFFIX) in manifest.files


def model_file(manifest: ModelManifest, name: str) -> str | bytes:
    """What a runtime should open for ``name``: its path, or the unpacked bytes of ``name.xz``.

    Large files may ship xz-packed to keep the installer small. The packed file is covered by
    verify_files like any other; the unpacked bytes must match the sha256 recorded under
    ``unpacked`` too, so what is loaded is always exactly what was measured.
    """
    if name in manifest.files:
        return str(manifest.directory / name)
    packed = name + PACKED_SUFFIX
    if packed not in manifest.files:
        raise ModelIntegrityError(f"{manifest.id}: manifest lists neither {name} nor {packed}")
    expected = (manifest.extra.get(UNPACKED_KEY) or {}).get(name) or {}
    if not expected.get("sha256"):
        raise ModelIntegrityError(f"{manifest.id}: no sha256 recorded for the unpacked {name}")
    try:
        with lzma.open(manifest.directory / packed) as fh:
            data = fh.read(MAX_UNPACKED_BYTES + 1)
    except (OSError, lzma.LZMAError) as exc:
        raise ModelIntegrityError(f"{manifest.id}: cannot unpack {packed} ({exc})") from exc
    if len(data) > MAX_UNPACKED_BYTES:
        raise ModelIntegrityError(f"{manifest.id}: {packed} unpacks to more than {MAX_UNPACKED_BYTES >> 20} MB")
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected["sha256"]:
        raise ModelIntegrityError(f"{manifest.id}: sha256 mismatch for the unpacked {name} "
                                  f"(expected {str(expected['sha256'])[:12]}…, found {actual[:12]}…)")
    return data


def pack_file(model_dir: Path, name: str) -> dict[str, Any]:
    """xz-pack ``name`` in place (``name.xz`` replaces it); returns its ``unpacked`` record."""
    path = Path(model_dir) / name
    data = path.read_bytes()
    record = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    with lzma.open(path.with_name(path.name + PACKED_SUFFIX), "wb", preset=6) as fh:
        fh.write(data)
    path.unlink()
    return record


def pack_artifact(model_dir: Path, names: list[str]) -> dict[str, Any]:
    """xz-pack ``names`` of a shipped model directory in place and rewrite its manifest: the same
    fields, ``unpacked`` holding the loaded bytes' sha256 (unchanged, so every measured figure still
    describes what is loaded), ``files`` re-hashed. The files are verified before anything is packed."""
    model_dir = Path(model_dir)
    manifest = load_verified(model_dir)
    data = json.loads((model_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    unpacked = dict(data.get(UNPACKED_KEY) or {})
    for name in names:
        if name not in manifest.files:
            raise ModelIntegrityError(f"{manifest.id}: {name} is not an unpacked file of this model")
        unpacked[name] = pack_file(model_dir, name)
    data[UNPACKED_KEY] = unpacked
    data.pop("files", None)
    data.pop("size_bytes", None)
    return write_manifest(model_dir, data)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m engine.manifest",
        description="xz-pack files of a shipped model in place (the installer carries fewer bytes; "
                    "the runtime unpacks and checks the sha256 of what it loads).")
    sub = parser.add_subparsers(dest="command", required=True)
    pack = sub.add_parser("pack", help="pack MODEL_DIR/NAME... and rewrite the manifest")
    pack.add_argument("model_dir", type=Path)
    pack.add_argument("names", nargs="+")
    args = parser.parse_args(argv)
    try:
        result = pack_artifact(args.model_dir, args.names)
    except (ModelIntegrityError, OSError) as exc:
        print(f"error: {exc}")
        return 1
    print(f"{result['id']}: {', '.join(args.names)} packed; {result['size_bytes']:,} bytes on disk")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
