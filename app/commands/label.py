"""``signaldesk label FILE``: import a labelled file as analyst labels; ``--export FILE`` writes them all.

The file is a CSV with ``text`` and ``label`` columns (labels: bullish/bearish/neutral,
positive/negative/neutral, or TFNS codes 0 bearish, 1 bullish, 2 neutral). Every usable row is
scored by the active model and stored as an analyst label with who (``--analyst``, default the
OS user), when and that model's version; a later label on the same text replaces the earlier
one. Bad rows are reported by line and skipped; nothing is stored unless the whole file was read.

The export holds every analyst label, from the desk's News and Live tabs too: text, label,
verdict (right / wrong / label), predicted, analyst, labelled_at (UTC), model_id,
model_version, signal_id, origin, note.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_OK = 0
EXIT_NOTHING_USABLE = 1
EXIT_USAGE = 2


def register(subparsers) -> None:
    p = subparsers.add_parser("label", help="import analyst labels from a CSV, or export them all",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", nargs="?", type=Path, help="CSV with 'text' and 'label' columns to import")
    p.add_argument("--export", type=Path, metavar="FILE", help="write every analyst label to FILE (CSV)")
    p.add_argument("--analyst", default=None, help="who labelled the file (default: the OS user)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    err = sys.stderr
    if (args.file is None) == (args.export is None):
        print("label: give a FILE to import or --export FILE (one of the two)", file=err)
        return EXIT_USAGE
    if args.file is not None and not args.file.is_file():
        print(f"label: no such file: {args.file}", file=err)
        return EXIT_USAGE

    from app.runtime import build_engine
    from engine.desklearn.errors import Cancelled
    from engine.desklearn.labels import LabelImportError

    engine = build_engine(args)
    try:
        if args.export is not None:
            count = engine.desk.export_labels(args.export)
            print(json.dumps({"exported": count, "path": str(args.export)}) if args.json
                  else f"exported {count} analyst label(s) to {args.export}")
            return EXIT_OK
        from tqdm import tqdm

        with tqdm(file=err, unit="row", desc="scoring", disable=bool(args.quiet)) as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            try:
                report = engine.desk.import_labels(args.file, args.analyst, progress=progress)
            except (LabelImportError, Cancelled) as exc:
                print(f"label: {exc}", file=err)
                return EXIT_NOTHING_USABLE
    finally:
        engine.close()
    for e in report.errors:
        print(f"label: {args.file.name}:{e.line}: skipped: {e.reason}", file=err)
    result = {"imported": report.imported, "replaced": report.replaced, "duplicates_in_file": report.duplicates,
              "skipped_rows": len(report.errors), "by_label": report.by_label, "analyst": report.analyst,
              "model": f"{report.model_id}@{report.model_version}"}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"imported {report.imported} label(s) by {report.analyst} ({', '.join(f'{v} {k}' for k, v in report.by_label.items())}), "
              f"scored by {result['model']}; {report.replaced} replaced earlier labels on the same text, "
              f"{report.duplicates} repeated in the file (the later row kept), {len(report.errors)} row(s) skipped")
    return EXIT_OK
