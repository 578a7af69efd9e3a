"""Analyst labels: the verdicts of the desk's analysts, read, imported from a file, exported.

They are the ``analyst`` rows of the calibration outcomes table (engine/calibration/outcomes.py):
who (``origin``), when (``created_at``), which model version scored the item and its raw
probabilities. A verdict on a stored signal (News and Live tabs) points at the signal; a label
imported from a file (``signaldesk label FILE``) carries its text, scored by the active model at
import time so calibration can use it too. One label per signal and one per imported text: a
later one replaces the earlier.
"""

from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from engine.calibration.labelled import LabelledRow, RowError, parse_labelled_csv
from engine.calibration.outcomes import Outcome
from engine.calibration.repository import CalibrationRepository
from engine.sentiment.base import LABELS
from engine.desklearn.errors import Cancelled
from engine.store import Store

# Bounds on an imported file: well above any desk's labelling, well below what would stall the desk.
MAX_LABEL_FILE_BYTES = 20_000_000
MAX_LABEL_ROWS = 100_000

EXPORT_COLUMNS = ("text", "label", "verdict", "predicted", "analyst", "labelled_at", "model_id", "model_version",
                  "signal_id", "origin", "note")

ProgressFn = Callable[[int, int], None]
CancelFn = Callable[[], bool]


class LabelImportError(ValueError):
    """A label file cannot be imported at all; the message says why in one line."""


@dataclass(frozen=True)
class AnalystLabel:
    outcome_id: int
    text: str
    label: str | None  # the right class, when the analyst gave or confirmed it
    verdict: str  # right | wrong | label (the analyst set another label)
    predicted: str  # what the model that scored it said
    analyst: str
    created_at: float
    model_id: str
    model_version: str
    signal_id: int | None
    origin: str  # "feedback" for a verdict on a signal, "file NAME line N" for an imported label
    note: str = ""


def _verdict(correct: bool, label: str | None) -> str:
    if label is None:
        return "wrong"
    return "right" if correct else "label"


def analyst_labels(store: Store) -> list[AnalystLabel]:
    """Every analyst label, oldest first, with the text it is about."""
    rows = store.query(
        "SELECT o.id, COALESCE(o.text, s.text), o.label, o.correct, o.probabilities, o.origin, o.detail, "
        "o.created_at, o.model_id, o.model_version, o.signal_id FROM outcomes o "
        "LEFT JOIN signals s ON s.id = o.signal_id WHERE o.source = 'analyst' ORDER BY o.id")
    out = []
    for oid, text, label, correct, probs, origin, detail, created, mid, ver, sid in rows:
        if not text:
            continue
        info = json.loads(detail or "{}")
        predicted = LABELS[int(np.argmax(json.loads(probs)))]
        where = "feedback" if sid is not None else f"file {info.get('file', '?')} line {info.get('line', '?')}"
        out.append(AnalystLabel(int(oid), text, label, _verdict(bool(correct), label), predicted,
                                str(info.get("analyst") or origin or ""), float(created), mid, ver,
                                sid, where, str(info.get("note", ""))))
    return out


@dataclass(frozen=True)
class ImportReport:
    path: str
    imported: int
    replaced: int  # earlier labels on the same texts that these replaced
    duplicates: int  # rows whose text appeared again later in the file (the later row counts)
    errors: tuple[RowError, ...]
    model_id: str
    model_version: str
    analyst: str
    by_label: dict[str, int]


def read_label_file(path: Path, max_item_chars: int) -> tuple[list[LabelledRow], list[RowError], int]:
    """Rows worth importing, the rows skipped (by line), and how many repeated a later row's text."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LabelImportError(f"cannot read {path}: {exc.strerror or exc}") from None
    if size > MAX_LABEL_FILE_BYTES:
        raise LabelImportError(f"{path.name} is {size / 1e6:.1f} MB; label files are limited to "
                               f"{MAX_LABEL_FILE_BYTES / 1e6:.0f} MB")
    data = parse_labelled_csv(path.read_bytes(), str(path))
    errors = list(data.errors)
    if data.rows and len(data.rows) > MAX_LABEL_ROWS:
        raise LabelImportError(f"{path.name} has {len(data.rows):,} rows; label files are limited to "
                               f"{MAX_LABEL_ROWS:,}")
    kept: dict[str, LabelledRow] = {}
    too_long = 0
    for row in data.rows:
        if len(row.text) > max_item_chars:
            # The desk scores at most max_item_chars; a label on a longer text would describe more than the model sees.
            errors.append(RowError(row.line, f"text longer than {max_item_chars:,} characters"))
            too_long += 1
            continue
        kept[row.text] = row  # a later row with the same text wins
    usable = [r for r in data.rows if kept.get(r.text) is r]
    duplicates = len(data.rows) - too_long - len(usable)
    return usable, sorted(errors, key=lambda e: e.line), duplicates


def import_label_file(engine, path: Path, analyst: str, *, progress: ProgressFn | None = None,
                      cancel: CancelFn | None = None, batch_size: int = 64) -> ImportReport:
    """Score every usable row with the active model, then store them all as analyst labels at once.

    All or nothing: a cancel (``Cancelled``) or an error before the final transaction stores nothing.
    """
    from engine.calibration.labelled import evaluate_labelled

    if engine.store is None or engine.calibration is None:
        raise LabelImportError("analyst labels need a data folder")
    rows, errors, duplicates = read_label_file(path, engine.config.max_item_chars)
    if not rows:
        reasons = "; ".join(str(e) for e in errors[:3])
        raise LabelImportError(f"no usable labelled rows in {Path(path).name}" + (f" ({reasons})" if reasons else ""))
    evaluation = evaluate_labelled(engine, rows, progress=progress, cancel=cancel, batch_size=batch_size)
    if evaluation.cancelled:
        raise Cancelled("label import cancelled: nothing was stored")
    now = time.time()
    outcomes = []
    for row, p in zip(evaluation.rows, evaluation.probs):
        probs = (float(p[0]), float(p[1]), float(p[2]))
        outcomes.append(Outcome("analyst", evaluation.model_id, evaluation.model_version, probs,
                                correct=int(np.argmax(p)) == row.label, label=LABELS[row.label], text=row.text,
                                origin=analyst, created_at=now,
                                detail={"analyst": analyst, "file": Path(path).name, "line": row.line}))
    repo: CalibrationRepository = engine.calibration.repo
    replaced = repo.analyst_text_labels([o.text for o in outcomes])
    engine.calibration.record(outcomes)
    by_label = {name: 0 for name in LABELS}
    for o in outcomes:
        by_label[o.label] += 1
    return ImportReport(str(path), len(outcomes), replaced, duplicates, tuple(errors), evaluation.model_id,
                        evaluation.model_version, analyst, by_label)


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def export_labels(store: Store, path: Path) -> int:
    """Write every analyst label to a CSV (written beside, then renamed: never half a file)."""
    labels = analyst_labels(store)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(EXPORT_COLUMNS)
            for lab in labels:
                writer.writerow([lab.text, lab.label or "", lab.verdict, lab.predicted, lab.analyst,
                                 _iso(lab.created_at), lab.model_id, lab.model_version,
                                 "" if lab.signal_id is None else lab.signal_id, lab.origin, lab.note])
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return len(labels)


def training_rows(labels: Sequence[AnalystLabel]) -> tuple[list[str], list[int], dict[str, int]]:
    """Texts and class indices a desk version can learn from, newest label per text.

    A bare "wrong" says only which class it is not, so it cannot teach a three-class head: counted
    and left out. Texts are matched after folding case and spaces so a re-pasted item counts once.
    """
    latest: dict[str, AnalystLabel] = {}
    skipped = {"wrong_without_label": 0, "same_text_relabelled": 0}
    for lab in labels:
        if lab.label is None:
            skipped["wrong_without_label"] += 1
            continue
        key = text_key(lab.text)
        if key in latest:
            skipped["same_text_relabelled"] += 1
        latest[key] = lab
    texts = [lab.text for lab in latest.values()]
    y = [LABELS.index(lab.label) for lab in latest.values()]  # type: ignore[arg-type]
    return texts, y, skipped


def text_key(text: str) -> str:
    """The form two texts are compared in: case-folded, runs of white space as one space."""
    return " ".join(text.casefold().split())
