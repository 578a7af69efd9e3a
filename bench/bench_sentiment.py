"""Sentiment latency/throughput: Hugging Face pipeline (fp32 torch) vs our int8 ONNX engine path.

    python bench/bench_sentiment.py --json                    # print the JSON report
    python bench/bench_sentiment.py --json --update-artifact  # also store it in the manifest + card
    python bench/bench_sentiment.py --artifact resources/models/finsent-minilm-l6-news \
        --checkpoint build/finsent-ms/fp32 --baseline resources/models/finsent-minilm-l6 --json

With ``--baseline`` the baseline model's backend and engine paths are timed in the same run and
reported as ratios (new vs baseline). A bare onnxruntime session (default session options, same
model bytes, same tokenizer, no length sorting) is always timed beside the engine's backend.

Everything runs in one process on the same fine-tuned weights (the fp32 checkpoint in
build/finsent/fp32, and the int8 artifact exported from it), with the same thread count, on
the same headlines (the 200 dev-split texts shipped in fp32_reference.json). Machines here are
noisy, so the ratios measured side by side are the figures to trust, not the absolute times.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import datetime as dt
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere in the checkout

DEFAULT_ARTIFACT = ROOT / "resources" / "models" / "finsent-minilm-l6"
DEFAULT_CHECKPOINT = ROOT / "build" / "finsent" / "fp32"
REBUILD = "python -m engine.training.finetune --out build/finsent"
COMMAND = "python bench/bench_sentiment.py --json"
COMMAND_VERSIONS = ("python bench/bench_sentiment.py --artifact resources/models/finsent-minilm-l6-news "
                    "--baseline resources/models/finsent-minilm-l6 --json")


def _latency(fn, texts, warmup: int, rounds: int) -> dict:
    for t in texts[:warmup]:
        fn(t)
    times = []
    for i in range(rounds):
        t = texts[i % len(texts)]
        start = time.perf_counter()
        fn(t)
        times.append((time.perf_counter() - start) * 1000.0)
    arr = np.array(times)
    return {"p50_ms": round(float(np.percentile(arr, 50)), 3), "p95_ms": round(float(np.percentile(arr, 95)), 3),
            "mean_ms": round(float(arr.mean()), 3), "n": rounds}


def _throughput(fn, texts, repeats: int) -> float:
    fn(texts[:64])  # warm-up at the batch shape
    best = 0.0
    for _ in range(repeats):  # best of a few: the least disturbed by other tenants
        start = time.perf_counter()
        fn(texts)
        best = max(best, len(texts) / (time.perf_counter() - start))
    return round(best, 1)


class _BareSession:
    """A plain onnxruntime session on the backend's own model bytes: tokenizer, pad, run, softmax."""

    def __init__(self, backend, threads: int, batch_size: int) -> None:
        import onnxruntime as ort

        from engine.manifest import model_file

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(model_file(backend.manifest, "model.onnx"), opts,
                                            providers=["CPUExecutionProvider"])
        self.tok = backend._tokenizer
        self.batch_size = batch_size

    def predict_proba(self, texts):
        out = []
        for start in range(0, len(texts), self.batch_size):
            ids = [e.ids for e in self.tok.encode_batch(texts[start : start + self.batch_size])]
            width = max(len(r) for r in ids)
            input_ids = np.zeros((len(ids), width), dtype=np.int64)
            for i, r in enumerate(ids):
                input_ids[i, : len(r)] = r
            (logits,) = self.session.run(["logits"], {"input_ids": input_ids,
                                                      "attention_mask": (input_ids != 0).astype(np.int64)})
            z = np.exp(logits - logits.max(axis=1, keepdims=True))
            out.append(z / z.sum(axis=1, keepdims=True))
        return np.vstack(out)


def _paths(artifact: Path, threads: int, batch_size: int, texts, batch_texts, warm: int, rounds: int) -> dict:
    """Backend, engine and bare-session timings for one shipped model directory."""
    from engine.config import Config
    from engine.engine import Engine
    from engine.sentiment.onnx_backend import OnnxSentimentBackend

    backend = OnnxSentimentBackend(artifact, intra_op_threads=threads, batch_size=batch_size)
    bare = _BareSession(backend, threads, batch_size)
    os.environ["SIGNALDESK_RESOURCES"] = str(artifact.parent.parent)
    engine = Engine(Config(sentiment_model=artifact.name, intra_op_threads=threads), None)
    if engine.sentiment_status.degraded:
        raise SystemExit(f"engine fell back to the lexicon: {engine.sentiment_status.reason}")
    out = {}
    for name, single, batched in (
            ("bare_session", lambda t: bare.predict_proba([t]), bare.predict_proba),
            ("backend", lambda t: backend.predict_proba([t]), backend.predict_proba),
            ("engine", lambda t: engine.analyze(t, source="bench", persist=False),
             lambda ts: engine.analyze_batch(ts, source="bench", persist=False))):
        out[name] = {**_latency(single, texts, warm, rounds), "batch_throughput_per_s": _throughput(batched, batch_texts, 3)}
    engine.close()
    return out


def run_versions(artifact: Path, baseline: Path, threads: int, rounds: int, batch_items: int, batch_size: int) -> dict:
    """New model vs baseline, interleaved in one process: backend, engine and bare-session paths."""
    reference = baseline / "fp32_reference.json"
    texts = [r["text"] for r in json.loads(reference.read_text(encoding="utf-8"))["rows"]]
    batch_texts = (texts * (batch_items // len(texts) + 1))[:batch_items]
    warm = min(30, len(texts))
    load_before = os.getloadavg()[0]
    new = _paths(artifact, threads, batch_size, texts, batch_texts, warm, rounds)
    old = _paths(baseline, threads, batch_size, texts, batch_texts, warm, rounds)
    ratio = lambda a, b: round(a / b, 3)  # noqa: E731
    return {
        "command": COMMAND_VERSIONS, "date": dt.date.today().isoformat(), "threads": threads,
        "machine": f"{platform.machine()} {os.cpu_count()} logical cores",
        "load_avg_1min": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        "headlines": f"200 TFNS dev-split texts from {reference.parent.name}/fp32_reference.json, cycled",
        "new": {"model": artifact.name, **new}, "baseline": {"model": baseline.name, **old},
        "ratios": {
            # > 1: the new model is faster.
            "engine_p50_baseline_over_new": ratio(old["engine"]["p50_ms"], new["engine"]["p50_ms"]),
            "engine_batched_new_over_baseline": ratio(new["engine"]["batch_throughput_per_s"],
                                                      old["engine"]["batch_throughput_per_s"]),
            "backend_p50_baseline_over_new": ratio(old["backend"]["p50_ms"], new["backend"]["p50_ms"]),
            "backend_batched_new_over_baseline": ratio(new["backend"]["batch_throughput_per_s"],
                                                       old["backend"]["batch_throughput_per_s"]),
            # <= 1.1 means the engine's backend is within 10 % of a bare session on the same model.
            "new_bare_over_backend_batched": ratio(new["bare_session"]["batch_throughput_per_s"],
                                                   new["backend"]["batch_throughput_per_s"]),
            "new_backend_over_bare_p50": ratio(new["backend"]["p50_ms"], new["bare_session"]["p50_ms"]),
            "new_bare_over_engine_batched": ratio(new["bare_session"]["batch_throughput_per_s"],
                                                  new["engine"]["batch_throughput_per_s"]),
        },
    }


def run(artifact: Path, checkpoint: Path, threads: int, rounds: int, batch_items: int, batch_size: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    from transformers import PreTrainedTokenizerFast, pipeline

    from engine.config import Config
    from engine.engine import Engine
    from engine.sentiment.onnx_backend import OnnxSentimentBackend
    from engine.training.modeling import load_finetuned

    # 1.1.0 ships no reference file: the same 200 TFNS dev texts as 1.0.0's, from its folder.
    source = artifact if (artifact / "fp32_reference.json").is_file() else artifact.parent / "finsent-minilm-l6"
    reference = json.loads((source / "fp32_reference.json").read_text(encoding="utf-8"))
    texts = [r["text"] for r in reference["rows"]]
    batch_texts = (texts * (batch_items // len(texts) + 1))[:batch_items]
    max_length = json.loads((artifact / "manifest.json").read_text())["max_length"]

    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # the pipeline lists "supported models" for a custom head; noise
    hf_logging.disable_progress_bar()
    model = load_finetuned(str(checkpoint)).eval()
    # Built from tokenizer.json explicitly so HF tokenizes exactly as training and our backend do.
    tok = PreTrainedTokenizerFast(tokenizer_file=str(checkpoint / "tokenizer.json"), model_max_length=max_length,
                                  unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]", cls_token="[CLS]",
                                  mask_token="[MASK]")
    pipe = pipeline("text-classification", model=model, tokenizer=tok, device=-1, top_k=None)
    hf_kw = {"truncation": True, "max_length": max_length}

    backend = OnnxSentimentBackend(artifact, intra_op_threads=threads, batch_size=batch_size)
    # The engine finds models under $SIGNALDESK_RESOURCES/models/<id>.
    os.environ["SIGNALDESK_RESOURCES"] = str(artifact.parent.parent)
    engine = Engine(Config(sentiment_model=artifact.name, intra_op_threads=threads), None)
    if engine.sentiment_status.degraded:
        raise SystemExit(f"engine fell back to the lexicon: {engine.sentiment_status.reason}")

    # Sanity: both paths must agree on labels, or the timing comparison means nothing.
    hf_out = pipe(texts[:50], batch_size=batch_size, **hf_kw)
    hf_labels = [max(o, key=lambda d: d["score"])["label"] for o in hf_out]
    ours = [backend.labels[i] for i in backend.predict_proba(texts[:50]).argmax(1)]
    agreement = float(np.mean([a == b for a, b in zip(hf_labels, ours)]))

    load_before = os.getloadavg()[0]
    warm = min(30, len(texts))
    with torch.inference_mode():
        hf_single = _latency(lambda t: pipe(t, **hf_kw), texts, warm, rounds)
        hf_tp = _throughput(lambda ts: pipe(ts, batch_size=batch_size, **hf_kw), batch_texts, 2)
    be_single = _latency(lambda t: backend.predict_proba([t]), texts, warm, rounds)
    be_tp = _throughput(backend.predict_proba, batch_texts, 3)
    en_single = _latency(lambda t: engine.analyze(t, source="bench", persist=False), texts, warm, rounds)
    en_tp = _throughput(lambda ts: engine.analyze_batch(ts, source="bench", persist=False), batch_texts, 3)

    hf = {**hf_single, "batch_throughput_per_s": hf_tp}
    be = {**be_single, "batch_throughput_per_s": be_tp}
    en = {**en_single, "batch_throughput_per_s": en_tp}
    ratios = {
        "p50_speedup_backend": round(hf["p50_ms"] / be["p50_ms"], 2),
        "p50_speedup_engine": round(hf["p50_ms"] / en["p50_ms"], 2),
        "p95_speedup_engine": round(hf["p95_ms"] / en["p95_ms"], 2),
        "throughput_ratio_engine": round(en["batch_throughput_per_s"] / hf["batch_throughput_per_s"], 2),
    }
    return {
        "command": COMMAND,
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()} {os.cpu_count()} logical cores, {platform.python_implementation()} {platform.python_version()}",
        "threads": threads,
        # Other tenants' load while measuring: above ~2 on 2 cores the absolute times are inflated.
        "load_avg_1min": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        "batch_items": batch_items,
        "batch_size": batch_size,
        "headlines": "200 dev-split texts from fp32_reference.json, cycled",
        "label_agreement_hf_vs_int8": round(agreement, 3),
        "hf_pipeline": hf,
        "engine": {"backend": be, "engine": en},
        "ratios": ratios,
        "targets": {
            "engine_p50_le_2.5ms": en["p50_ms"] <= 2.5,
            "engine_ge_3x_faster_p50": ratios["p50_speedup_engine"] >= 3.0,
            "batched_ge_800_per_s": en["batch_throughput_per_s"] >= 800,
        },
    }


def update_artifact(artifact: Path, report: dict) -> None:
    """Store the figures in manifest.json and re-render MODEL_CARD.md (neither is hashed)."""
    from engine.training.card import update_artifact_section

    update_artifact_section(artifact, "benchmark", report)


def update_artifact_versions(artifact: Path, report: dict) -> None:
    from engine.training.ms_card import update_section

    update_section(artifact, "benchmark", report)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print the report as JSON (default: a short summary)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=300, help="single-headline calls per path")
    p.add_argument("--batch-items", type=int, default=2000, help="headlines per throughput pass")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--artifact", type=Path, default=DEFAULT_ARTIFACT, help="int8 model directory")
    p.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="fine-tuned fp32 checkpoint")
    p.add_argument("--baseline", type=Path, default=None,
                   help="a second model directory timed in the same run (ratios new vs baseline; no HF pipeline)")
    p.add_argument("--update-artifact", action="store_true",
                   help="write the figures into the artifact's manifest and model card")
    args = p.parse_args(argv)
    artifact, checkpoint = args.artifact.resolve(), args.checkpoint.resolve()
    if args.baseline is not None:
        import torch

        torch.set_num_threads(args.threads)
        report = run_versions(artifact, args.baseline.resolve(), args.threads, args.rounds, args.batch_items,
                              args.batch_size)
        if args.update_artifact:
            update_artifact_versions(artifact, report)
        print(json.dumps(report, indent=2) if args.json else json.dumps(report["ratios"]))
        return 0

    if not (checkpoint / "config.json").is_file():
        print(f"bench: no fine-tuned fp32 weights in {checkpoint}; rebuild them with:\n"
              f"    {REBUILD}", file=sys.stderr)
        return 2
    if not (artifact / "manifest.json").is_file():
        print(f"bench: no artifact in {artifact}; rebuild it with:\n    {REBUILD}", file=sys.stderr)
        return 2

    report = run(artifact, checkpoint, args.threads, args.rounds, args.batch_items, args.batch_size)
    if args.update_artifact:
        update_artifact(artifact, report)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        e, h = report["engine"]["engine"], report["hf_pipeline"]
        print(f"engine p50 {e['p50_ms']} ms p95 {e['p95_ms']} ms, {e['batch_throughput_per_s']}/s batched; "
              f"HF p50 {h['p50_ms']} ms, {h['batch_throughput_per_s']}/s; ratios {report['ratios']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
