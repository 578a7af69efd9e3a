"""Where the sentiment model's CPU time goes: operator mix, thread count, quantization format.

    python bench/bench_sentiment_ops.py                      # shipped default model, summary
    python bench/bench_sentiment_ops.py --artifact resources/models/finsent-minilm-l6 --json

Three measurements, all in one process on the same headlines (the dev texts in the 1.0.0
artifact's fp32_reference.json), so only ratios are compared:

1. **Operator mix**: onnxruntime's own profiler on batched scoring; time per operator type after
   graph optimization, as a share of all node time. It shows whether the int8 matrix products
   (``MatMulInteger``/``QLinearMatMul``/``MatMulIntegerToFloat``) dominate, or the float parts that
   int8 does not speed up (attention softmax, LayerNorm, GELU, the (de)quantize steps).
2. **Threads**: batched throughput at 1 thread, at the thread count onnxruntime picks by itself
   (``intra_op_num_threads=0``: one per *physical* core of the host) and at 16 threads, against 2.
   On a 2-vCPU virtual machine whose vCPUs are one core's hyperthreads the runtime's own choice is
   1 thread; in a container limited to 2 CPUs on a 16-core host it is 16 threads on 2 CPUs. The
   engine picks ``engine.hardware.inference_threads()`` instead.
3. **CPU features** the int8 kernels can use (AVX2, AVX-512 VNNI, AVX-VNNI), from /proc/cpuinfo.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_ARTIFACT = ROOT / "resources" / "models" / "finsent-minilm-l6-news"
TEXTS_FILE = ROOT / "resources" / "models" / "finsent-minilm-l6" / "fp32_reference.json"
INT8_OPS = {"MatMulInteger", "QLinearMatMul", "MatMulIntegerToFloat", "DynamicQuantizeMatMul",
            "QAttention", "QGemm", "QLinearAdd", "QLinearMul"}
OVERSUBSCRIBED = 16  # what the runtime's own choice gives in a 2-CPU container on a 16-core host
QUANT_STEP_OPS = {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"}


def headlines() -> list[str]:
    data = json.loads(TEXTS_FILE.read_text(encoding="utf-8"))
    return [row["text"] for row in data["rows"]]


def cpu_flags() -> dict:
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    return {name: name in flags for name in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")}


def _session(model_bytes: bytes, threads: int, profile_dir: str | None = None):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    if profile_dir:
        opts.enable_profiling = True
        opts.profile_file_prefix = str(Path(profile_dir) / "ops")
    return ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])


def _batches(backend, texts: list[str], batch_size: int):
    """The engine backend's own tokenization and padding, so the feeds match what it runs."""
    rows = [e.ids for e in backend._tokenizer.encode_batch(texts)]
    for start in range(0, len(rows), batch_size):
        yield backend.feeds(rows[start:start + batch_size])


def operator_mix(model_bytes: bytes, feeds: list[dict], threads: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        sess = _session(model_bytes, threads, tmp)
        for f in feeds:
            sess.run(None, f)
        trace = json.loads(Path(sess.end_profiling()).read_text())
    per_op: dict[str, float] = collections.defaultdict(float)
    for event in trace:
        if event.get("cat") == "Node" and event.get("name", "").endswith("_kernel_time"):
            per_op[event["args"]["op_name"]] += event["dur"]
    total = sum(per_op.values()) or 1.0
    share = {op: round(us / total, 4) for op, us in sorted(per_op.items(), key=lambda kv: -kv[1])}
    return {"share_by_op": share,
            "int8_matmul_share": round(sum(v for k, v in share.items() if k in INT8_OPS), 4),
            "quantize_step_share": round(sum(v for k, v in share.items() if k in QUANT_STEP_OPS), 4),
            "float_share": round(sum(v for k, v in share.items() if k not in INT8_OPS | QUANT_STEP_OPS), 4)}


def throughput(model_bytes: bytes, feeds: list[dict], rows: int, threads: int, repeats: int) -> float:
    sess = _session(model_bytes, threads)
    for f in feeds[:2]:
        sess.run(None, f)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for f in feeds:
            sess.run(None, f)
        best = min(best, time.perf_counter() - t0)
    return rows / best


def run(artifact: Path, batch_size: int, repeats: int) -> dict:
    from engine.hardware import inference_threads, usable_cpus
    from engine.manifest import load_manifest, model_file
    from engine.sentiment.onnx_backend import MODEL_FILE, OnnxSentimentBackend

    backend = OnnxSentimentBackend(artifact, intra_op_threads=1)
    model_bytes = model_file(load_manifest(artifact), MODEL_FILE)
    texts = headlines()
    feeds = list(_batches(backend, texts, batch_size))
    usable = usable_cpus()
    engine_threads = inference_threads(0)
    counts = {t: throughput(model_bytes, feeds, len(texts), t, repeats) for t in (1, 2, 0, OVERSUBSCRIBED)}
    return {"artifact": artifact.name, "rows": len(texts), "batch_size": batch_size,
            "usable_cpus": usable, "engine_threads": engine_threads, "cpu_flags": cpu_flags(),
            "load_average": os.getloadavg()[0],
            "operator_mix": operator_mix(model_bytes, feeds, engine_threads),
            "throughput_per_s": {"1 thread": round(counts[1], 1), "2 threads": round(counts[2], 1),
                                 "runtime's choice (0)": round(counts[0], 1),
                                 f"{OVERSUBSCRIBED} threads": round(counts[OVERSUBSCRIBED], 1)},
            "ratio_1_vs_2_threads": round(counts[1] / counts[2], 3),
            "ratio_default_vs_2_threads": round(counts[0] / counts[2], 3),
            f"ratio_{OVERSUBSCRIBED}_vs_2_threads": round(counts[OVERSUBSCRIBED] / counts[2], 3)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifact", type=Path, default=DEFAULT_ARTIFACT)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    report = run(args.artifact, args.batch_size, args.repeats)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        mix = report["operator_mix"]
        top = ", ".join(f"{op} {share:.0%}" for op, share in list(mix["share_by_op"].items())[:8])
        print(f"{report['artifact']}: {report['rows']} headlines, batches of {report['batch_size']}, "
              f"load {report['load_average']:.1f}, cpu {report['cpu_flags']}")
        print(f"operator mix: int8 matmul {mix['int8_matmul_share']:.0%}, (de)quantize "
              f"{mix['quantize_step_share']:.0%}, float ops {mix['float_share']:.0%}; top: {top}")
        print(f"throughput /s: {report['throughput_per_s']}; vs 2 threads: 1 thread {report['ratio_1_vs_2_threads']}, "
              f"runtime's choice {report['ratio_default_vs_2_threads']}, {OVERSUBSCRIBED} threads "
              f"{report[f'ratio_{OVERSUBSCRIBED}_vs_2_threads']}; engine picks {report['engine_threads']} "
              f"of {report['usable_cpus']} usable CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
