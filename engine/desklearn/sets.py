"""The fixed text sets shipped with the desk, verified by sha256 before use.

- The guard set (resources/guard/): TFNS valid and the team's news test set. A desk version is
  offered only if it loses at most 0.01 weighted F1 against the active version on each part and
  on the whole (engine/desklearn/evaluate.py). Nothing is ever fitted or chosen on it.
- The reference texts (resources/desklearn/): TFNS train rows, the shipped model's own ground,
  from which a desk version's gate learns what is *not* the desk's kind of text.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.calibration.labelled import parse_labelled_csv
from engine.desklearn.errors import DeskLearningError
from engine.manifest import sha256_file
from engine.resources import resources_dir


@dataclass(frozen=True)
class GuardPart:
    name: str
    texts: tuple[str, ...]
    labels: np.ndarray  # class indices in LABELS order


@dataclass(frozen=True)
class GuardSet:
    parts: tuple[GuardPart, ...]

    @property
    def texts(self) -> list[str]:
        return [t for part in self.parts for t in part.texts]

    @property
    def labels(self) -> np.ndarray:
        return np.concatenate([part.labels for part in self.parts])

    def slices(self) -> dict[str, slice]:
        """Each part's rows within ``texts``."""
        out, start = {}, 0
        for part in self.parts:
            out[part.name] = slice(start, start + len(part.texts))
            start += len(part.texts)
        return out


def fingerprint(texts) -> str:
    """sha256 of a list of texts, so cached features can never belong to other texts."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8", "surrogateescape") + b"\x00")
    return digest.hexdigest()


def _verified_bytes(root: Path, name: str, sha256: str) -> bytes:
    path = root / name
    try:
        if sha256_file(path) != sha256:
            raise DeskLearningError(f"{path} does not match its recorded sha256; reinstall SignalDesk")
        return path.read_bytes()
    except OSError as exc:
        raise DeskLearningError(f"{path} cannot be read ({exc.strerror or exc}); reinstall SignalDesk") from None


def _manifest(root: Path) -> dict:
    try:
        data = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DeskLearningError(f"{root / 'manifest.json'} cannot be read ({exc}); reinstall SignalDesk") from None
    if not isinstance(data, dict):
        raise DeskLearningError(f"{root / 'manifest.json'} is not a JSON object; reinstall SignalDesk")
    return data


def load_guard(root: Path | None = None) -> GuardSet:
    root = Path(root) if root else resources_dir() / "guard"
    parts = []
    for name, info in _manifest(root).get("parts", {}).items():
        data = parse_labelled_csv(_verified_bytes(root, info["file"], info["sha256"]), info["file"])
        if data.errors or len(data.rows) != int(info["rows"]):
            raise DeskLearningError(f"guard set file {info['file']} holds {len(data.rows)} good rows, "
                                    f"expected {info['rows']}")
        parts.append(GuardPart(name, tuple(data.texts), data.labels))
    if not parts:
        raise DeskLearningError(f"{root / 'manifest.json'} lists no guard set parts; reinstall SignalDesk")
    return GuardSet(tuple(parts))


def load_reference(root: Path | None = None) -> tuple[str, ...]:
    root = Path(root) if root else resources_dir() / "desklearn"
    info = _manifest(root)
    data = _verified_bytes(root, info["file"], info["sha256"]).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(data, newline="")))
    texts = tuple(r["text"] for r in rows if r.get("text"))
    if len(texts) != int(info["rows"]):
        raise DeskLearningError(f"{info['file']} holds {len(texts)} texts, expected {info['rows']}")
    return texts
