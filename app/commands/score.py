"""``signaldesk score --input FILE --output FILE``: batch-score a file of headlines.

Input by extension: ``.csv`` (a ``text`` column; every other column is carried through),
``.jsonl`` (one object with ``text`` per line; other keys carried), ``.txt`` (one item per
line). Output ``.csv`` or ``.jsonl`` with the carried columns plus ``label``, ``p_bearish``,
``p_bullish``, ``p_neutral``, ``confidence``, ``model``, ``tickers`` (the linked companies: cashtags,
exchange symbols and company names, as canonical symbols; a list, JSON-encoded in CSV), ``event``
(the event class, ``category/subcategory``, as the live pipeline classifies it) and ``impact``. Bad rows (no or empty text, a line
that is not a JSON object, undecodable bytes) are reported on stderr with their line numbers
and skipped; the exit code is non-zero only when nothing at all could be scored.

The file is streamed: read line by line, scored and written one batch at a time, so memory
stays flat for any number of rows, with a progress bar and an ETA by bytes read. Any line size
gets one message: a CSV or JSONL line over 1 MB is skipped, a TXT line that long is scored from
its beginning, and every item is cut to ``max_item_chars`` before the model sees it (counted in
the summary).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from engine.csvrows import csv_records
from engine.textinput import MAX_LINE_BYTES, Line, iter_lines
from engine.validation import strip_control
from engine.wording import plural

INPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".txt": "txt"}
OUTPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
SCORE_COLUMNS = ("label", "p_bearish", "p_bullish", "p_neutral", "confidence", "model", "tickers", "event", "impact")

EXIT_OK = 0
EXIT_NOTHING_SCORED = 1
EXIT_USAGE = 2


@dataclass
class Row:
    line: int  # 1-based line in the input file where the item starts
    text: str
    carried: dict[str, Any]


@dataclass(frozen=True)
class Bad:
    line: int
    reason: str
    scored: bool = False  # a note about a row that was still scored (a line cut at the size limit)

    def message(self, name: str) -> str:
        return f"score: {name}:{self.line}: {'' if self.scored else 'skipped: '}{self.reason}"


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


def _too_long(line: Line) -> Bad:
    return Bad(line.number, f"line is {line.describe_size()}, over the {MAX_LINE_BYTES // (1 << 20)} MB limit "
                            "for one row")


def _rows_csv(lines: Iterator[Line], columns: list[str]) -> Iterator[Row | Bad]:
    """CSV rows; ``columns`` receives the header (carried through) once it is read."""
    pending: list[Bad] = []

    def texts() -> Iterator[str]:
        for line in lines:
            if line.cut or line.text is None:
                pending.append(_too_long(line) if line.cut else Bad(line.number, "undecodable bytes (not UTF-8)"))
                yield "\n"  # keeps the reader's line count
            else:
                yield line.text + "\n"

    reader = csv.reader(texts())
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return
    except csv.Error as exc:
        yield Bad(1, f"malformed CSV header ({exc})")
        return
    if pending:
        yield Bad(1, "header is not valid UTF-8" if "UTF-8" in pending[0].reason else pending[0].reason)
        return
    if "text" not in header:
        yield Bad(1, f"no 'text' column (columns: {', '.join(header)[:200] or 'none'})")
        return
    columns.extend(header)
    text_idx = header.index("text")
    for start, record, error in csv_records(reader):
        yield from pending
        pending.clear()
        if error:
            yield Bad(start, error)
            continue
        value = strip_control(record[text_idx]).strip() if text_idx < len(record) else ""
        if not value:
            yield Bad(start, "empty text")
            continue
        yield Row(start, value, {h: (record[i] if i < len(record) else "") for i, h in enumerate(header)})
    yield from pending


def _json_object(line: Line) -> dict | Bad | None:
    """The line's object, a Bad with the reason, or None for a blank line."""
    if line.cut:
        return _too_long(line)
    if line.text is None:
        return Bad(line.number, "undecodable bytes (not UTF-8)")
    if not line.text.strip():
        return None
    try:
        obj = json.loads(line.text)
    except json.JSONDecodeError as exc:
        return Bad(line.number, f"invalid JSON ({exc.msg})")
    except RecursionError:
        return Bad(line.number, "JSON nested too deeply")
    return obj if isinstance(obj, dict) else Bad(line.number, "not a JSON object")


def _rows_jsonl(lines: Iterator[Line], columns: list[str]) -> Iterator[Row | Bad]:
    for line in lines:
        obj = _json_object(line)
        if obj is None:
            continue
        if isinstance(obj, Bad):
            yield obj
            continue
        value = obj.get("text")
        value = strip_control(value).strip() if isinstance(value, str) else ""
        if not value:
            yield Bad(line.number, "missing or empty 'text'")
            continue
        yield Row(line.number, value, obj)


def _rows_txt(lines: Iterator[Line], columns: list[str]) -> Iterator[Row | Bad]:
    columns.extend(["line", "text"])
    previous: Line | None = None
    for line in lines:
        if previous is not None:
            yield from _txt_row(previous)
        previous = line
    if previous is not None and (previous.text or previous.cut):
        yield from _txt_row(previous)  # the final newline does not start another item


def _txt_row(line: Line) -> Iterator[Row | Bad]:
    if line.text is None:
        yield Bad(line.number, "undecodable bytes (not UTF-8)")
        return
    value = strip_control(line.text).strip()  # a line of NUL bytes is empty, not a headline
    if not value:
        yield Bad(line.number, "empty line")
        return
    if line.cut:
        yield Bad(line.number, f"line is {line.describe_size()}; scored from its beginning (cut)", scored=True)
    yield Row(line.number, value, {"line": line.number, "text": value})


READERS = {"csv": _rows_csv, "jsonl": _rows_jsonl, "txt": _rows_txt}
MAX_JSONL_COLUMNS = 1000  # CSV output of a JSONL file: keys beyond this many are left out (and said so)


def jsonl_columns(path: Path) -> tuple[list[str], bool]:
    """Keys of every object in a JSONL file in first-seen order (a first pass, for CSV output);
    True when there were more than MAX_JSONL_COLUMNS."""
    seen: dict[str, None] = {}
    with open(path, "rb") as fh:
        for line in iter_lines(fh):
            obj = _json_object(line)
            if isinstance(obj, dict):
                for key in obj:
                    if len(seen) >= MAX_JSONL_COLUMNS and key not in seen:
                        return list(seen), True
                    seen.setdefault(key, None)
    return list(seen), False


def _output_columns(carried: list[str]) -> list[str]:
    # Input columns that share a name with a score column (e.g. TFNS's own 'label') keep
    # their values under an 'input_' prefix instead of being overwritten.
    return [f"input_{c}" if c in SCORE_COLUMNS else c for c in carried] + list(SCORE_COLUMNS)


def _record(row: Row, signal, event, carried_cols: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in carried_cols or list(row.carried):  # JSONL output: each row's own keys
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
        "tickers": list(signal.entities),
        "event": f"{event.category}/{event.subcategory}",
        "impact": event.impact,
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
    from tqdm import tqdm

    from app.runtime import build_engine, data_dir_from_args
    from engine.config import ConfigError, load_config
    from engine.news.config import load_news_config
    from engine.news.events import EventClassifier

    in_fmt, out_fmt = INPUT_FORMATS[in_path.suffix.lower()], OUTPUT_FORMATS[out_path.suffix.lower()]
    data_dir = data_dir_from_args(args)
    max_chars = load_config(data_dir).max_item_chars
    try:
        news_config = load_news_config(data_dir)
    except ConfigError as exc:
        print(f"score: {exc}", file=err)
        return EXIT_USAGE
    counts = {"scored": 0, "bad": 0, "cut": 0}
    columns, more_columns = jsonl_columns(in_path) if (in_fmt, out_fmt) == ("jsonl", "csv") else ([], False)
    with open(in_path, "rb") as fh, tqdm(total=os.fstat(fh.fileno()).st_size, file=err, unit="B", unit_scale=True,
                                         desc="scoring", disable=bool(args.quiet), mininterval=0.5) as bar:

        def say(bad: Bad) -> None:
            counts["bad"] += not bad.scored
            bar.write(bad.message(in_path.name), file=err)

        def progress() -> None:
            bar.set_postfix(rows=counts["scored"], refresh=False)
            bar.update(fh.tell() - bar.n)

        rows = READERS[in_fmt](iter_lines(fh), [] if columns else columns)
        first = _first_row(rows, say)  # the model loads only once there is something to score
        if first is None:
            print(f"score: nothing to score in {in_path} ({counts['bad']} bad row(s))", file=err)
            return EXIT_NOTHING_SCORED
        if more_columns:
            bar.write(f"score: more than {MAX_JSONL_COLUMNS} distinct keys in {in_path.name}; the CSV keeps the "
                      f"first {MAX_JSONL_COLUMNS} (a .jsonl output keeps every key)", file=err)
        engine = build_engine(args)
        status = engine.sentiment_status
        if status.degraded:
            bar.write(f"score: warning: using fallback model {status.model_id}: {status.reason}", file=err)
        try:
            # The live pipeline's classifier and settings, so a file scores to the same event classes.
            classifier = EventClassifier(lambda: engine.models.acquire("embedding")[0],
                                         mode=news_config.event_prototypes,
                                         min_similarity=news_config.prototype_min_similarity)
            _score_stream(engine, classifier, itertools.chain([first], rows), out_path, out_fmt, columns,
                          max(1, args.batch_size), counts, say, progress)
        finally:
            engine.close()
    if counts["cut"]:
        print(f"score: {plural(counts['cut'], 'item')} longer than {max_chars:,} characters "
              f"{'was' if counts['cut'] == 1 else 'were'} cut before scoring",
              file=err)
    print(f"score: {counts['scored']} scored, {counts['bad']} skipped -> {out_path} "
          f"(model {status.model_id} {status.version})", file=err)
    return EXIT_OK


def _first_row(rows: Iterator[Row | Bad], say) -> Row | None:
    for entry in rows:
        if isinstance(entry, Bad):
            say(entry)
            continue
        return entry
    return None


def _score_stream(engine, classifier, rows: Iterator[Row | Bad], out_path: Path, fmt: str, columns: list[str],
                  batch: int, counts: dict, say, progress) -> None:
    """Score and write one batch at a time: memory holds a batch, whatever the file's size.
    The engine cuts each text to max_item_chars before its tokenizer sees it."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = out_path.with_name(out_path.name + ".part")
    try:
        # Written to a side file and renamed, so a crash never leaves a half-written output.
        with open(tmp_path, "w", encoding="utf-8", newline="") as out:
            writer = _Writer(out, fmt, _output_columns(columns))
            chunk: list[Row] = []
            for entry in itertools.chain(rows, [None]):
                if isinstance(entry, Bad):
                    say(entry)
                    continue
                if entry is not None:
                    chunk.append(entry)
                if chunk and (entry is None or len(chunk) >= batch):
                    texts = [r.text for r in chunk]
                    signals = engine.analyze_batch(texts, source="cli", persist=False)
                    for row, sig, event in zip(chunk, signals, classifier.classify(texts)):
                        writer.write(_record(row, sig, event, columns))
                    counts["cut"] += sum(sig.truncated for sig in signals)
                    counts["scored"] += len(chunk)
                    chunk = []
                    progress()
        os.replace(tmp_path, out_path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
