"""``signaldesk models``: list, benchmark, switch, add and remove models; train, promote and roll back
desk versions (sentiment versions adapted to this desk's analyst labels, engine/desklearn)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser("models", help="list models and what this machine can run",
                                   description="Without an action: list every model per task.")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    actions = parser.add_subparsers(dest="models_action", metavar="ACTION")
    bench = actions.add_parser("benchmark", help="measure a model on this machine")
    bench.add_argument("model_id")
    bench.add_argument("--json", action="store_true", dest="json_out")
    switch = actions.add_parser("switch", help="make a model the active one for its task")
    switch.add_argument("task", choices=["sentiment", "embedding", "generation"])
    switch.add_argument("model_id")
    add = actions.add_parser("add", help="register an ONNX classifier folder, a Hugging Face folder or a .gguf file")
    add.add_argument("path", type=Path)
    add.add_argument("--id", dest="new_id", default=None, help="id to register it under")
    add.add_argument("--task", default=None, choices=["sentiment", "generation"])
    add.add_argument("--labels", default=None,
                     help="comma-separated class names in the model's output order, e.g. negative,neutral,positive")
    endpoint = actions.add_parser(
        "add-endpoint", help="register an OpenAI-compatible endpoint (llama.cpp server, Ollama, LM Studio, vLLM) "
                             "as a generation model",
        description="Checks that URL answers and serves NAME, then registers it. The API key is read from the "
                    "environment variable named by --api-key-env at each call; only that name is stored.")
    endpoint.add_argument("url", help="base URL, e.g. http://127.0.0.1:8080/v1 (/v1 is added when missing)")
    endpoint.add_argument("--model", required=True, dest="endpoint_model", help="the model name the endpoint serves")
    endpoint.add_argument("--api-key-env", default="", help="environment variable holding the API key (not the key)")
    endpoint.add_argument("--id", dest="new_id", default=None, help="id to register it under")
    remove = actions.add_parser("remove", help="forget a user-added model (its files are not touched)")
    remove.add_argument("model_id")
    train = actions.add_parser("train", help="train a desk version on the analyst labels and evaluate it "
                                             "(Ctrl+C cancels: nothing is written)")
    train.add_argument("--base", default=None, help="shipped sentiment model to adapt (default: the active one's)")
    train.add_argument("--json", action="store_true", dest="json_out")
    train.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    evaluate = actions.add_parser("evaluate", help="evaluate a desk version again against the active model")
    evaluate.add_argument("model_id")
    evaluate.add_argument("--json", action="store_true", dest="json_out")
    promote = actions.add_parser("promote", help="make a desk version active, if its figures allow it (audited)")
    promote.add_argument("model_id")
    actions.add_parser("rollback", help="undo the last promotion: the model active before it serves again (audited)")
    parser.set_defaults(func=run)


def _table(infos) -> str:
    rows = [("TASK", "ID", "BACKEND", "STATUS", "SIZE MB", "BENCH p95 ms", "REASON")]
    for m in infos:
        bench = f"{m.benchmark['p95_ms']:.2f}" if m.benchmark else "-"
        rows.append((m.task, m.id + (" *" if m.active else ""), m.backend, m.status, f"{m.size_mb:.1f}", bench, m.reason))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:-1], widths)) + "  " + r[-1] for r in rows)


def _desk_table(overview) -> str:
    rows = [("DESK VERSION", "BASE", "LABELS", "DESK wF1 (vs)", "TFNS VALID (vs)", "NEWS TEST (vs)", "STATE",
             "TRAINED")]
    for v in overview.versions:
        ev = v.evaluation

        def pair(block: dict) -> str:
            return f"{block['candidate']['weighted_f1']:.3f} ({block['active']['weighted_f1']:.3f})" if block else "-"

        guard = ev.get("guard", {})
        state = v.state + (f", {v.last_action}" if v.last_action else "") + (f": {v.missing_reason}" if v.missing_reason else "")
        rows.append((v.id + (" *" if v.state == "active" else ""), f"{v.base[0]} {v.base[1]}", str(v.labels),
                     pair(ev.get("desk", {})), pair(guard.get("tfns_valid", {})), pair(guard.get("news_test", {})),
                     state, f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(v.created_at))} by {v.created_by}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _progress_printer(quiet: bool):
    last = {"stage": ""}

    def show(p) -> None:
        if quiet:
            return
        if p.stage != last["stage"] and last["stage"]:
            print(file=sys.stderr)
        last["stage"] = p.stage
        print(f"\r{p.stage:17s} {p.done}/{p.total}", end="", file=sys.stderr, flush=True)
    return show


def _desk_action(engine, args: argparse.Namespace, action: str) -> int:
    """train / evaluate / promote / rollback; Ctrl+C cancels a running one (nothing is written)."""
    cancelled = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: cancelled.set())
    progress = _progress_printer(bool(getattr(args, "quiet", False)))
    try:
        if action == "train":
            result = engine.desk.train(base=args.base, progress=progress, cancel=cancelled.is_set)
            print(file=sys.stderr)
            if args.json_out or args.json:
                print(json.dumps({"version": result.version.id, "model_version": result.version.version,
                                  "evaluation": result.evaluation, "seconds": result.seconds,
                                  "skipped": result.skipped}, indent=2))
            else:
                print(f"trained {result.version.id} ({result.version.version}) on {result.version.labels} labels "
                      f"in {sum(result.seconds.values()):.1f} s: {result.version.summary}")
                for reason in result.evaluation["reasons"]:
                    print(f"  {reason}")
                if result.evaluation["offered"]:
                    print(f"promote it with: signaldesk models promote {result.version.id}")
            return 0
        if action == "evaluate":
            evaluation = engine.desk.evaluate(args.model_id, progress=progress, cancel=cancelled.is_set)
            print(file=sys.stderr)
            if args.json_out or args.json:
                print(json.dumps(evaluation, indent=2))
            else:
                for reason in evaluation["reasons"]:
                    print(reason)
            return 0
        if action == "promote":
            view = engine.desk.promote(args.model_id, progress=progress, cancel=cancelled.is_set)
            print(f"{view.id} ({view.version}) is now the active sentiment model: {view.summary}")
            if engine.config.sentiment_model not in ("", "auto"):
                print(f"note: sentiment_model = {engine.config.sentiment_model} in the settings overrides this "
                      "choice when the desk starts next", file=sys.stderr)
            return 0
        model_id, version = engine.desk.rollback()
        print(f"rolled back: {model_id} ({version}) is the active sentiment model again")
        return 0
    finally:
        signal.signal(signal.SIGINT, previous)


def _desk_dict(view) -> dict:
    return {"state": view.state, "number": view.number, "base": {"id": view.base[0], "version": view.base[1]},
            "labels": view.labels, "trained_at": view.created_at, "trained_by": view.created_by,
            "summary": view.summary, "evaluation": view.evaluation, "calibrator": view.calibrator,
            "last_action": view.last_action, "missing_reason": view.missing_reason}


def run(args: argparse.Namespace) -> int:
    from app.runtime import build_engine
    from engine.desklearn.errors import Cancelled, DeskLearningError
    from engine.models.registry import ModelRegistryError
    from engine.models.manager import ModelSwitchError

    engine = build_engine(args)
    models = engine.models
    action = getattr(args, "models_action", None)
    try:
        if action == "benchmark":
            def progress(done: int, total: int, stage: str) -> None:
                print(f"\r{stage:10s} {done}/{total}", end="", file=sys.stderr, flush=True)

            result = models.benchmark(args.model_id, progress=progress)
            print(file=sys.stderr)
            if args.json_out or args.json:
                print(json.dumps(result.to_dict(), indent=2))
            else:
                for key, value in result.to_dict().items():
                    if value is not None:
                        print(f"{key:16s} {value}")
            return 0
        if action == "switch":
            info = models.switch(args.task, args.model_id)
            print(f"{args.task}: {info.id} is now active ({info.reason})")
            return 0
        if action == "add":
            labels = [x.strip() for x in args.labels.split(",")] if args.labels else None
            info = models.add_user_model(args.path, args.task, labels, args.new_id)
            print(f"added {info.id} ({info.task}, {info.backend}): {info.reason}")
            if info.memory_estimate:
                print(f"memory: {info.memory_estimate['text']}")
            return 0
        if action == "add-endpoint":
            info = models.add_endpoint(args.url, args.endpoint_model, api_key_env=args.api_key_env,
                                       model_id=args.new_id)
            print(f"added {info.id} (generation, {info.source}); use it with: "
                  f"signaldesk models switch generation {info.id}")
            return 0
        if action == "remove":
            models.remove_user_model(args.model_id)
            print(f"removed {args.model_id}")
            return 0
        if action in ("train", "evaluate", "promote", "rollback"):
            return _desk_action(engine, args, action)
        infos = models.all_models()
        overview = engine.desk.overview()
        if args.json:
            desk = {v.id: v for v in overview.versions}
            print(json.dumps([{**m.to_dict(), **({"desk": _desk_dict(desk[m.id])} if m.id in desk else {})}
                              for m in infos], indent=2))
        else:
            print(_table(infos))
            print()
            for task in ("sentiment", "embedding", "generation"):
                print(f"why: {models.explain(task)}")
            if overview.versions:
                print()
                print(_desk_table(overview))
            lab = overview.labels
            print()
            print(f"analyst labels: {lab.total} ({lab.usable} usable to train: "
                  + ", ".join(f"{n} {k}" for k, n in lab.by_label.items())
                  + f"; {lab.wrong_without_label} 'wrong' without the right label)")
            print(f"active sentiment model: {overview.active[0]} {overview.active[1]}: {overview.why}")
        return 0
    except Cancelled:
        print("\ncancelled: nothing was written", file=sys.stderr)
        return 1
    except (ModelRegistryError, ModelSwitchError, DeskLearningError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.close()
