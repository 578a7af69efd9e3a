"""``signaldesk explain TEXT [--chain] [--json]``: a grounded, schema-valid rationale for a headline.

The headline is scored by the sentiment model and stored like a pasted one (``--no-store`` to
keep it out of the database), related stored signals and analyst notes are retrieved, and the
local LLM writes a J6 structured signal (direction, confidence, sentiment, entities, events,
timeframe, magnitude, rationale, cited ids) under a JSON-schema grammar. Every answer is checked
against its inputs (names and numbers must be in the headline or a cited source; conclusion,
direction and fields must agree; a sentiment against the classifier's is marked). An answer that
fails is retried once, then replaced by a deterministic evidence-based explanation; either way
the output passed the checks and says which it was. Advice only: nothing is proposed, sized or
executed. Faithfulness per model: ``python -m engine.evaluation.faithfulness``.

``--json`` prints ``{"signal": {...}, "chain": [...], "cited": [...], ...}``.
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_OK, EXIT_USAGE = 0, 2


def register(subparsers) -> None:
    p = subparsers.add_parser("explain", help="LLM rationale for a headline: J6 signal, optional 5-step chain, cited ids",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("text", metavar="TEXT", nargs="+", help="the headline (quote it, or pass several words)")
    p.add_argument("--chain", action="store_true", help="reason in five visible steps first")
    p.add_argument("--json", action="store_true", help="print JSON: signal, chain, cited, and details")
    p.add_argument("--no-store", action="store_true", help="do not store the headline as a signal")
    p.add_argument("--stream", action="store_true", help="show the rationale on stderr as it is written")
    p.add_argument("--note", action="append", default=[], metavar="NOTE",
                   help="store an analyst note first (retrievable and citable); may repeat")
    p.set_defaults(func=run)


def _print_text(x) -> None:
    s = x.signal
    print(f"Direction: {s['direction']}  confidence {s['confidence']:.2f}  sentiment {s['sentiment']}  "
          f"timeframe {s['timeframe']}  magnitude {s['magnitude']}")
    print(f"Entities: {', '.join(s['entities']) or '-'}")
    print(f"Events: {', '.join(s['events']) or '-'}")
    print(f"Rationale: {s['rationale']}")
    print(f"Cited: {', '.join(x.cited) or '-'}")
    for r in x.retrieved:
        mark = "*" if r.id in x.cited else " "
        print(f"  {mark} [{r.id}] {r.score:.2f}  {r.text[:100]}")
    if x.chain:
        print("Chain:")
        for i, step in enumerate(x.chain, 1):
            print(f"  {i}. {step['title']}: {step['text']}")
    for check in x.checks:
        mark = "ok" if check.passed else ("DISAGREES" if not check.blocking else "FAILED")
        print(f"Check {check.name}: {mark} ({check.detail})")
    source = "evidence-based explanation (language model answer not used)" if x.fallback_used else x.model_id
    if x.model_source:
        source += f"; model {x.model_id} {x.model_version}, {x.model_source}"
    print(f"Written by: {source}; status {x.status}; audit #{x.audit_id}; "
          f"{x.prompt_tokens} prompt + {x.completion_tokens} completion tokens; {x.latency_ms / 1000:.1f} s")
    print("Advice only: nothing was proposed, sized or executed.")


def run(args: argparse.Namespace) -> int:
    text = " ".join(args.text).strip()
    if not text:
        print("explain: nothing to explain: the text is empty", file=sys.stderr)
        return EXIT_USAGE
    from app.runtime import build_engine

    engine = build_engine(args)
    try:
        for note in args.note:
            engine.reasoning.add_note(note, author="cli")
        on_text = None
        if args.stream:
            last = [""]

            def on_text(field: str, delta: str) -> None:
                if field != last[0]:
                    sys.stderr.write(f"\n[{field}] ")
                    last[0] = field
                sys.stderr.write(delta)
                sys.stderr.flush()

        x = engine.explain(text, chain=args.chain, on_text=on_text, persist=not args.no_store)
        if args.stream:
            sys.stderr.write("\n")
        if args.json:
            print(json.dumps(x.to_dict(), indent=2, ensure_ascii=False, allow_nan=False))
        else:
            _print_text(x)
        if x.fallback_used:
            print(f"explain: the evidence-based explanation was used ({x.status}): {'; '.join(x.errors)[:300]}",
                  file=sys.stderr)
        return EXIT_OK
    except ValueError as exc:
        print(f"explain: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        engine.close()
