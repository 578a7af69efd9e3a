"""Faithfulness of explanations per model, on the team-written set (tests/data/faithfulness_set.jsonl).

    python -m engine.evaluation.faithfulness [--model ID ...] [--endpoint URL --endpoint-model NAME]
                                            [--mode chain|plain] [--limit N] [--json] [--out FILE]

For each model, in a fresh temporary data folder: the set's related items are stored (so retrieval
finds them), then every headline is explained (not stored). Reported per model:

* ``pass_share``: explanations written by the model that passed every check (first attempt or the
  one retry), i.e. shown without falling back; ``first_attempt_pass_share`` without the retry;
* ``fallback_share``: explanations replaced by the evidence-based one (and why, by status);
* ``invented_entity_rate`` / ``invented_number_rate``: the share of the model's schema-valid
  answers (every attempt) naming an entity / writing a number that is not among the facts the set
  lists for the headline and the items the answer cites (nor the desk's own figures: classifier
  confidence and score, linked assets, dates and similarities of cited items);
* ``shown_with_unlisted_facts``: explanations that reached the caller with such an entity or
  number, judged the same way. The aim is 0;
* latency: p50/p95 of the whole explanation and of the first token.

The set's facts are written by people, so this judges the checks too: a check that let an
invented fact through would show here. The set is frozen (its sha256 is pinned in
tests/engine/test_faithfulness_set.py) and was written before the checks and prompts were tuned.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

from engine.reasoning.checks import _numbers_in, _values, common_words, named_tokens

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SET = ROOT / "tests" / "data" / "faithfulness_set.jsonl"
DEFAULT_MODELS = ("smollm2-135m-instruct", "gemma3-270m")
EVAL_TIMEOUT_S = 120.0  # per generation: the set measures faithfulness, not a loaded machine's speed


def load_set(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        if not isinstance(row.get("headline"), str) or not isinstance(row.get("entities"), list):
            raise ValueError(f"{path}: row {row.get('id')!r} lacks a headline or its entities")
    return rows


def _fold(text: str) -> str:
    return text.casefold().lstrip("$").strip(" .,'")


@dataclasses.dataclass
class Facts:
    """What an explanation of one headline may state, from the set and from the desk itself."""

    names: set[str]
    values: set[float]
    texts: list[str]  # the headline and the cited items' texts

    def knows_name(self, name: str) -> bool:
        """Listed, or part of a listed name; or an ordinary English word that the headline or a
        cited item capitalises ("Gold climbs…", "Oil slides…"), which names no one."""
        folded = _fold(name)
        if any(folded == n or folded in n.split() or n in folded.split() for n in self.names):
            return True
        return folded in common_words() and any(re.search(rf"\b{re.escape(folded)}\b", t.casefold())
                                                for t in self.texts)

    def knows_number(self, values: set[float]) -> bool:
        return any(abs(v - a) <= 1e-9 * max(1.0, abs(v)) for v in values for a in self.values)


def facts_for(row: dict, related: dict[str, dict], x: Any, cited: Iterable[str]) -> Facts:
    from engine.reasoning.prompts import source_line

    # Numbers the set lists can look like names to the name finder ("Q3", "F-150"): listed all the same.
    names = {_fold(e) for e in row["entities"] + row["numbers"]} | {_fold(a) for a in x.source.entities}
    texts = [row["headline"]]
    values: set[float] = set()
    for number in row["numbers"]:
        values |= _values(number)
    shown = {r.id: r for r in x.retrieved}
    for cid in cited:
        r = shown.get(cid)
        if r is None:
            continue
        fact = related.get(r.text)
        texts.append(r.text)
        if fact is not None:
            names |= {_fold(e) for e in fact["entities"] + fact["numbers"]}
            for number in fact["numbers"]:
                values |= _values(number)
        line = source_line(r)
        values |= _values(line[: line.index(")") + 1])  # its date and similarity, as the prompt showed them
    confidence = float(getattr(x.source, "shown_confidence", x.source.confidence))
    for figure in (confidence, abs(float(x.source.compound))):
        values |= {round(figure, 2), round(figure, 4), round(figure * 100, 1), float(int(figure * 100)),
                   float(int(figure * 100) + 1)}
    values |= {float(n) for n in range(len(x.retrieved) + 1)}
    return Facts(names, values, texts)


def unlisted(answer: dict, steps: list[dict], facts: Facts) -> tuple[list[str], list[str]]:
    """(entities, numbers) in an answer that the facts do not list."""
    texts = [answer.get("rationale", ""), *answer.get("events", []), *(s.get("text", "") for s in steps)]
    names = [str(e) for e in answer.get("entities", [])] + [n for t in texts for n in named_tokens(str(t))]
    bad_names = sorted({n for n in names if not facts.knows_name(n)})
    bad_numbers = sorted({w for t in texts for w, v in _numbers_in(str(t)) if not facts.knows_number(v)})
    return bad_names, bad_numbers


def _attempt_answers(record: Any, ids: list[str], chain: bool) -> list[tuple[dict, list[dict]]]:
    from engine.reasoning.schema import InvalidOutput, parse_output

    answers = []
    for attempt in record.raw_output:
        try:
            answers.append(parse_output(attempt.get("text", ""), ids, chain=chain))
        except InvalidOutput:
            continue
    return answers


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))], 1)


def evaluate_model(model_id: str, rows: list[dict], *, chain: bool, endpoint: dict | None = None,
                   progress=None, timeout_s: float = EVAL_TIMEOUT_S) -> dict:
    from engine.config import Config
    from engine.engine import Engine
    from engine.reasoning.audit import read_audit

    related = {r["text"]: r for row in rows for r in row["related"]}
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(dataclasses.replace(Config(), llm_max_inference_time_s=timeout_s), Path(tmp))
        try:
            if endpoint is not None:
                info = engine.models.add_endpoint(endpoint["url"], endpoint["model"],
                                                  api_key_env=endpoint.get("api_key_env", ""))
                model_id = info.id
            engine.models.switch("generation", model_id, remember=False)
            if related:
                engine.analyze_batch(list(related))
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
            results = []
            for i, row in enumerate(rows, 1):
                x = engine.explain(row["headline"], chain=chain, persist=False)
                record = read_audit(engine.store, x.audit_id)
                ids = [r.id for r in x.retrieved]
                attempts = []
                for answer, steps in _attempt_answers(record, ids, chain):
                    names, numbers = unlisted(answer, steps, facts_for(row, related, x, answer["cited"]))
                    attempts.append({"entities": names, "numbers": numbers})
                shown_names, shown_numbers = unlisted(x.signal, list(x.chain), facts_for(row, related, x, x.cited))
                results.append({"id": row["id"], "status": x.status, "fallback": x.fallback_used,
                                "attempts": x.attempts, "parsed_attempts": attempts,
                                "shown_unlisted": {"entities": shown_names, "numbers": shown_numbers},
                                "failed_checks": [e for e in x.errors if e.startswith("attempt")],
                                "sentiment_disagreement": x.sentiment_disagreement,
                                "latency_ms": round(x.latency_ms, 1), "first_token_ms": x.first_token_ms})
                if progress is not None:
                    progress(i, len(rows), results[-1])
            spec = engine.models.spec(model_id)
            source = engine.models.info(model_id).source
        finally:
            engine.close()
    n = len(results)
    parsed = [a for r in results for a in r["parsed_attempts"]]
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    latencies = [r["latency_ms"] for r in results]
    first = [r["first_token_ms"] for r in results if r["first_token_ms"] is not None]
    return {
        "model": f"{spec.id}@{spec.version}", "source": source, "mode": "chain" if chain else "plain",
        "timeout_s": timeout_s,
        "headlines": n, "load_average_at_start": round(load, 2) if load is not None else None,
        "pass_share": round(sum(r["status"] in ("ok", "ok_after_retry") for r in results) / n, 3),
        "first_attempt_pass_share": round(sum(r["status"] == "ok" for r in results) / n, 3),
        "fallback_share": round(sum(r["fallback"] for r in results) / n, 3),
        "statuses": statuses,
        "model_answers_schema_valid": len(parsed),
        "model_attempts": sum(r["attempts"] for r in results),
        "invented_entity_rate": round(sum(bool(a["entities"]) for a in parsed) / len(parsed), 3) if parsed else None,
        "invented_number_rate": round(sum(bool(a["numbers"]) for a in parsed) / len(parsed), 3) if parsed else None,
        "shown_with_unlisted_facts": sum(bool(r["shown_unlisted"]["entities"] or r["shown_unlisted"]["numbers"])
                                         for r in results),
        "sentiment_disagreements_shown": sum(r["sentiment_disagreement"] for r in results),
        "latency_ms": {"p50": _pct(latencies, 50), "p95": _pct(latencies, 95)},
        "first_token_ms": {"p50": _pct(first, 50), "p95": _pct(first, 95)},
        "per_headline": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", type=Path, default=DEFAULT_SET, help="the faithfulness set (JSONL)")
    parser.add_argument("--model", action="append", default=[], help="generation model id; may repeat")
    parser.add_argument("--endpoint", default="", help="also evaluate an OpenAI-compatible endpoint (base URL)")
    parser.add_argument("--endpoint-model", default="", help="the model name the endpoint serves")
    parser.add_argument("--api-key-env", default="", help="environment variable holding the endpoint's key")
    parser.add_argument("--mode", choices=("chain", "plain"), default="chain")
    parser.add_argument("--limit", type=int, default=0, help="only the first N headlines")
    parser.add_argument("--stride", type=int, default=1,
                        help="every Nth headline (a spread over all kinds when time is short)")
    parser.add_argument("--timeout", type=float, default=EVAL_TIMEOUT_S, help="seconds per generation call")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.add_argument("--out", type=Path, default=None, help="also write the full JSON report here")
    args = parser.parse_args(argv)
    if bool(args.endpoint) != bool(args.endpoint_model):
        parser.error("--endpoint and --endpoint-model go together")
    rows = load_set(args.set)[:: max(1, args.stride)][: args.limit or None]
    runs: list[tuple[str, dict | None]] = [(m, None) for m in (args.model or ([] if args.endpoint else DEFAULT_MODELS))]
    if args.endpoint:
        runs.append(("", {"url": args.endpoint, "model": args.endpoint_model, "api_key_env": args.api_key_env}))

    def progress(i: int, n: int, r: dict) -> None:
        print(f"\r{i}/{n} {r['id']} {r['status']:<16} {r['latency_ms'] / 1000:5.1f} s", end="", file=sys.stderr,
              flush=True)

    started = time.time()
    reports = []
    for model_id, endpoint in runs:
        reports.append(evaluate_model(model_id, rows, chain=args.mode == "chain", endpoint=endpoint,
                                      progress=progress, timeout_s=args.timeout))
        print(file=sys.stderr)
    out = {"command": "python -m engine.evaluation.faithfulness " + " ".join(argv if argv is not None else sys.argv[1:]),
           "set": str(args.set), "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
           "wall_s": round(time.time() - started, 1), "models": reports}
    if args.out is not None:
        args.out.write_text(json.dumps(out, indent=2, ensure_ascii=False), encoding="utf-8")
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        for r in reports:
            print(f"{r['model']} ({r['source']}, {r['mode']}, {r['headlines']} headlines, load {r['load_average_at_start']}): "
                  f"pass {r['pass_share']:.0%} (first attempt {r['first_attempt_pass_share']:.0%}), "
                  f"fallback {r['fallback_share']:.0%} {r['statuses']}, invented entity "
                  f"{r['invented_entity_rate']}, invented number {r['invented_number_rate']} "
                  f"(of {r['model_answers_schema_valid']} schema-valid answers), shown with unlisted facts "
                  f"{r['shown_with_unlisted_facts']}, latency p50 {r['latency_ms']['p50']} ms p95 "
                  f"{r['latency_ms']['p95']} ms, first token p50 {r['first_token_ms']['p50']} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
