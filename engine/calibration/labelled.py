"""Outcome source (a): a labelled CSV file, and evaluating the active model on it.

Any CSV with a ``text`` and a ``label`` column (header names case-insensitive; other columns
ignored). Labels may be names -- bullish/bearish/neutral or positive/negative/neutral, any
case -- or the TFNS codes 0 = bearish, 1 = bullish, 2 = neutral. Bad rows are reported with
their line number and reason, and skipped; good rows are kept.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from engine.csvrows import csv_records
from engine.calibration.metrics import (
    DEFAULT_BINS,
    CalibrationMetrics,
    ReliabilityDiagram,
    calibration_metrics,
    reliability_diagram,
)
from engine.sentiment.base import LABELS

_NAMES = {
    "bearish": 0, "negative": 0,
    "bullish": 1, "positive": 1,
    "neutral": 2,
}

ProgressFn = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class LabelledRow:
    line: int  # 1-based line in the file where the record starts
    text: str
    label: int  # index into LABELS


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class LabelledData:
    rows: tuple[LabelledRow, ...]
    errors: tuple[RowError, ...]
    source: str = ""

    @property
    def texts(self) -> list[str]:
        return [r.text for r in self.rows]

    @property
    def labels(self) -> np.ndarray:
        return np.array([r.label for r in self.rows], dtype=np.int64)


def parse_label(raw: str) -> int:
    """Label index in LABELS order; ValueError with a readable reason otherwise."""
    value = (raw or "").strip()
    if not value:
        raise ValueError("empty label")
    named = _NAMES.get(value.lower())
    if named is not None:
        return named
    try:
        number = float(value)  # tolerate "1.0" from spreadsheet/pandas exports
    except ValueError:
        raise ValueError(f"unknown label {value!r} (use bearish/bullish/neutral, "
                         "negative/positive/neutral, or 0/1/2)") from None
    if number in (0.0, 1.0, 2.0):
        return int(number)
    raise ValueError(f"label code {value!r} is not 0, 1 or 2")


def _undecodable(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def parse_labelled_csv(data: bytes, source: str = "") -> LabelledData:
    text = data.decode("utf-8", errors="surrogateescape")
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return LabelledData((), (RowError(1, "empty file"),), source)
    except csv.Error as exc:
        return LabelledData((), (RowError(1, f"malformed CSV header ({exc})"),), source)
    names = [h.strip().lower() for h in header]
    missing = [c for c in ("text", "label") if c not in names]
    if missing:
        return LabelledData((), (RowError(1, f"missing column(s) {', '.join(missing)} "
                                             f"(found: {', '.join(header) or 'none'})"),), source)
    ti, li = names.index("text"), names.index("label")
    rows: list[LabelledRow] = []
    errors: list[RowError] = []
    for start, record, error in csv_records(reader):
        if error:
            errors.append(RowError(start, error))
            continue
        if any(_undecodable(f) for f in record):
            errors.append(RowError(start, "undecodable bytes (not UTF-8)"))
            continue
        value = record[ti].strip() if ti < len(record) else ""
        if not value:
            errors.append(RowError(start, "empty text"))
            continue
        try:
            label = parse_label(record[li] if li < len(record) else "")
        except ValueError as exc:
            errors.append(RowError(start, str(exc)))
            continue
        rows.append(LabelledRow(start, value, label))
    return LabelledData(tuple(rows), tuple(errors), source)


def load_labelled_csv(path: Path) -> LabelledData:
    path = Path(path)
    return parse_labelled_csv(path.read_bytes(), str(path))


@dataclass(frozen=True)
class LabelledEvaluation:
    """The active model scored on labelled rows: raw probabilities and their calibration."""

    model_id: str
    model_version: str
    rows: tuple[LabelledRow, ...]  # the rows actually scored (all, unless cancelled)
    probs: np.ndarray  # (n, 3) raw, LABELS order
    metrics: CalibrationMetrics
    diagram: ReliabilityDiagram
    cancelled: bool = False

    @property
    def labels(self) -> np.ndarray:
        return np.array([r.label for r in self.rows], dtype=np.int64)


def evaluate_labelled(engine, rows: Sequence[LabelledRow], *, progress: ProgressFn | None = None,
                      cancel: Callable[[], bool] | None = None, batch_size: int = 64,
                      n_bins: int = DEFAULT_BINS) -> LabelledEvaluation:
    """Score ``rows`` with ``engine.analyze_batch`` (nothing persisted) in batches.

    ``progress(done, total)`` is called after every batch (and once with 0 at the start) so a
    UI can drive a progress bar; ``cancel()`` returning True stops after the current batch
    and the result covers the rows scored so far.
    """
    rows = list(rows)
    total = len(rows)
    batch = max(1, int(batch_size))
    chunks: list[np.ndarray] = []
    model_id = model_version = ""
    done = 0
    cancelled = False
    if progress:
        progress(0, total)
    for start in range(0, total, batch):
        if cancel is not None and cancel():
            cancelled = True
            break
        part = rows[start:start + batch]
        signals = engine.analyze_batch([r.text for r in part], source="labelled_file", persist=False)
        chunks.append(np.array([s.probs for s in signals], dtype=np.float64))
        model_id, model_version = signals[0].model_id, signals[0].model_version
        done += len(part)
        if progress:
            progress(done, total)
    scored = tuple(rows[:done])
    probs = np.vstack(chunks) if chunks else np.zeros((0, len(LABELS)))
    y = np.array([r.label for r in scored], dtype=np.int64)
    if not model_id:
        status = getattr(engine, "sentiment_status", None)
        model_id = getattr(status, "model_id", "")
        model_version = getattr(status, "version", "")
    return LabelledEvaluation(model_id, model_version, scored, probs, calibration_metrics(probs, y, n_bins),
                              reliability_diagram(probs, y, n_bins), cancelled)
