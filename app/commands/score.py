"""``signaldesk score --input FILE --output FILE``: batch-score a file of headlines.

Input by extension: ``.csv`` (a ``text`` column; every other column is carried through),
``.jsonl`` (one object with ``text`` per line; other keys carried), ``.txt`` (one item per
line). Output ``.csv`` or ``.jsonl`` with the carried columns plus ``label``, ``p_bearish``,
``p_bullish``, ``p_neutral``, ``confidence`` and ``model``. Bad rows (no or empty text, a line
that is not a JSON object, undecodable bytes) are reported on stderr with their line numbers
and skipped; the exit code is non-zero only when nothing at all could be scored.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.csvrows import csv_records

INPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".txt": "txt"}
OUTPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
SCORE_COLUMNS = ("label", "p_bearish", "p_bullish", "p_neutral", "confidence", "model")

EXIT_OK = 0
EXIT_NOTHING_SCORED = 1
EXIT_USAGE = 2


@dataclass
class Row:
    line: int  # 1-based line in the input file where the item starts
    text: str
    carried: dict[str, Any]


@dataclass
class ParsedInput:
    rows: list[Row] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    columns: list[str] = field(default_factory=list)  # carried columns, first-seen order


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "score", help="score a CSV/JSONL/TXT file of headlines into CSV/JSONL",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", "-i", required=True, type=Path, metavar="FILE",
                   help="a .csv (column 'text'), .jsonl (objects with 'text') or .txt (one item per line)")
    p.add_argument("--output", "-o", required=True, type=Path, metavar="FILE",
                   help="a .csv or .jsonl file to write")
    p.add_argument("--batch-size", type=int, default=64, help="items per model call (default 64)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _has_undecodable(value: str) -> bool:
    # surrogateescape maps each undecodable byte to U+DC80..U+DCFF.
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _decode_lines(data: bytes) -> list[str]:
    text = data.decode("utf-8", errors="surrogateescape")
    if text.startswith("\ufeff"):
        text = text[1:]
    # Split on newlines only, so line numbers match what an editor shows.
    return text.split("\n")


def _parse_csv(data: bytes) -> ParsedInput:
    parsed = ParsedInput()
    text = data.decode("utf-8", errors="surrogateescape").lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return parsed
    if _has_undecodable("".join(header)):
        parsed.bad.append((1, "header is not valid UTF-8"))
        return parsed
    header = [h.strip() for h in header]
    if "text" not in header:
        parsed.bad.append((1, f"no 'text' column (columns: {', '.join(header) or 'none'})"))
        return parsed
    parsed.columns = list(header)
    text_idx = header.index("text")
    for start, record, error in csv_records(reader):
        if error:
            parsed.bad.append((start, error))
            continue
        if any(_has_undecodable(f) for f in record):
            parsed.bad.append((start, "undecodable bytes (not UTF-8)"))
            continue
        value = record[text_idx].strip() if text_idx < len(record) else ""
        if not value:
            parsed.bad.append((start, "empty text"))
            continue
        carried = {h: (record[i] if i < len(record) else "") for i, h in enumerate(header)}
        parsed.rows.append(Row(start, value, carried))
    return parsed


def _parse_jsonl(data: bytes) -> ParsedInput:
    parsed = ParsedInput()
    seen: dict[str, None] = {}
    for n, line in enumerate(_decode_lines(data), start=1):
        if not line.strip():
            continue
        if _has_undecodable(line):
            parsed.bad.append((n, "undecodable bytes (not UTF-8)"))
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            parsed.bad.append((n, f"invalid JSON ({exc.msg})"))
            continue
        if not isinstance(obj, dict):
            parsed.bad.append((n, "not a JSON object"))
            continue
        value = obj.get("text")
        if not isinstance(value, str) or not value.strip():
            parsed.bad.append((n, "missing or empty 'text'"))
            continue
        for key in obj:
            seen.setdefault(key, None)
        parsed.rows.append(Row(n, value.strip(), obj))
    parsed.columns = list(seen)
    return parsed


def _parse_txt(data: bytes) -> ParsedInput:
    parsed = ParsedInput(columns=["line", "text"])
    lines = _decode_lines(data)
    if lines and lines[-1] == "":
        lines.pop()  # the final newline does not start another item
    for n, line in enumerate(lines, start=1):
        if _has_undecodable(line):
            parsed.bad.append((n, "undecodable bytes (not UTF-8)"))
            continue
        value = line.strip()
        if not value:
            parsed.bad.append((n, "empty line"))
            continue
        parsed.rows.append(Row(n, value, {"line": n, "text": value}))
    return parsed


def parse_input(path: Path) -> ParsedInput:
    fmt = INPUT_FORMATS[path.suffix.lower()]
    data = path.read_bytes()
    return {"csv": _parse_csv, "jsonl": _parse_jsonl, "txt": _parse_txt}[fmt](data)


def _output_columns(carried: list[str]) -> list[str]:
    # Input columns that share a name with a score column (e.g. TFNS's own 'label') keep
    # their values under an 'input_' prefix instead of being overwritten.
    return [f"input_{c}" if c in SCORE_COLUMNS else c for c in carried] + list(SCORE_COLUMNS)


def _record(row: Row, signal, carried_cols: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in carried_cols:
        key = f"input_{col}" if col in SCORE_COLUMNS else col
        out[key] = row.carried.get(col, "")
    p = signal.probs
    out.update({
        "label": signal.label,
        "p_bearish": round(float(p[0]), 6),
        "p_bullish": round(float(p[1]), 6),
        "p_neutral": round(float(p[2]), 6),
        "confidence": round(float(signal.confidence), 6),
        "model": f"{signal.model_id}@{signal.model_version}",
    })
    return out


class _Writer:
    def __init__(self, fh, fmt: str, columns: list[str]):
        self.fmt = fmt
        self.fh = fh
        if fmt == "csv":
            self.csv = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
            self.csv.writeheader()

    def write(self, record: dict[str, Any]) -> None:
        if self.fmt == "csv":
            self.csv.writerow({k: (json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v)
                               for k, v in record.items()})
        else:
            self.fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def run(args: argparse.Namespace) -> int:
    in_path, out_path = Path(args.input), Path(args.output)
    err = sys.stderr
    if in_path.suffix.lower() not in INPUT_FORMATS:
        print(f"score: unsupported input type {in_path.suffix!r} (use .csv, .jsonl or .txt)", file=err)
        return EXIT_USAGE
    if out_path.suffix.lower() not in OUTPUT_FORMATS:
        print(f"score: unsupported output type {out_path.suffix!r} (use .csv or .jsonl)", file=err)
        return EXIT_USAGE
    if not in_path.is_file():
        print(f"score: no such file: {in_path}", file=err)
        return EXIT_USAGE

    parsed = parse_input(in_path)
    for line, reason in parsed.bad:
        print(f"score: {in_path.name}:{line}: skipped: {reason}", file=err)
    if not parsed.rows:
        print(f"score: nothing to score in {in_path} ({len(parsed.bad)} bad row(s))", file=err)
        return EXIT_NOTHING_SCORED

    from tqdm import tqdm

    from app.runtime import build_engine

    engine = build_engine(args)
    status = engine.sentiment_status
    if status.degraded:
        print(f"score: warning: using fallback model {status.model_id}: {status.reason}", file=err)

    fmt = OUTPUT_FORMATS[out_path.suffix.lower()]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = out_path.with_name(out_path.name + ".part")
    batch = max(1, int(args.batch_size))
    try:
        # Written to a side file and renamed, so a crash never leaves a half-written output.
        with open(tmp_path, "w", encoding="utf-8", newline="") as fh:
            writer = _Writer(fh, fmt, _output_columns(parsed.columns))
            with tqdm(total=len(parsed.rows), file=err, unit="item", desc="scoring",
                      disable=bool(args.quiet)) as bar:
                for start in range(0, len(parsed.rows), batch):
                    chunk = parsed.rows[start : start + batch]
                    signals = engine.analyze_batch([r.text for r in chunk], source="cli", persist=False)
                    for row, sig in zip(chunk, signals):
                        writer.write(_record(row, sig, parsed.columns))
                    bar.update(len(chunk))
        os.replace(tmp_path, out_path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
        engine.close()
    print(f"score: {len(parsed.rows)} scored, {len(parsed.bad)} skipped -> {out_path} "
          f"(model {status.model_id} {status.version})", file=err)
    return EXIT_OK
