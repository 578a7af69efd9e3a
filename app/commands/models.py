"""``signaldesk models``: list, benchmark, switch, add and remove models."""

from __future__ import annotations

import argparse
import json
import sys
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
    remove = actions.add_parser("remove", help="forget a user-added model (its files are not touched)")
    remove.add_argument("model_id")
    parser.set_defaults(func=run)


def _table(infos) -> str:
    rows = [("TASK", "ID", "BACKEND", "STATUS", "SIZE MB", "BENCH p95 ms", "REASON")]
    for m in infos:
        bench = f"{m.benchmark['p95_ms']:.2f}" if m.benchmark else "-"
        rows.append((m.task, m.id + (" *" if m.active else ""), m.backend, m.status, f"{m.size_mb:.1f}", bench, m.reason))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:-1], widths)) + "  " + r[-1] for r in rows)


def run(args: argparse.Namespace) -> int:
    from app.runtime import build_engine
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
            return 0
        if action == "remove":
            models.remove_user_model(args.model_id)
            print(f"removed {args.model_id}")
            return 0
        infos = models.all_models()
        if args.json:
            print(json.dumps([m.to_dict() for m in infos], indent=2))
        else:
            print(_table(infos))
            print()
            for task in ("sentiment", "embedding", "generation"):
                print(f"why: {models.explain(task)}")
        return 0
    except (ModelRegistryError, ModelSwitchError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.close()
