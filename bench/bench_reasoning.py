"""Reasoning benchmarks: generation through the engine vs raw llama-cpp-python, RAG query latency,
and scoring throughput while a rationale generates (the lanes).

    python bench/bench_reasoning.py            # prints one JSON report
    python bench/bench_reasoning.py --quick    # fewer rounds (a smoke run)

Everything runs in one process with the shipped models (SmolLM2-135M through the model manager,
the int8 MiniLM embedder) in a temporary data folder. Machines here are shared and noisy, so
each comparison is measured side by side in the same run and reported as a ratio:

* ``generation``: the same chat messages and JSON-schema grammar (taken from the audit of an
  engine call), greedy, on the same llama.cpp instance, alternating engine / raw rounds.
  tokens/s counts from the first streamed token to the last; first-token latency is from the
  call to the first token (the engine's includes retrieval: sync + embed + search).
* ``rag``: synthetic unit vectors at 10k (exact flat index) and 100k (IVF, above the 20k
  threshold) with real headline queries: embed, search and embed + search p50/p95, plus the
  IVF's recall@5 against exact search.
* ``lanes``: headline scoring throughput (``Engine.analyze_batch``, the active sentiment model)
  in alternating one-second windows, with a chain-mode generation on the slow lane paused
  (idle) or running (busy); the ratio is the median of the per-pair busy/idle ratios, measured
  with the slow lane's default CPU share and without throttling (share 1.0) for comparison.
* ``prefix``: the first token of a chain explanation (``Engine.explain``: retrieval, prompt, grammar,
  prompt evaluation), uncached (no saved prefix, empty context: the whole ~1,100-token prompt is
  evaluated) against cached (the fixed prefix's saved state restored into an emptied context, so
  only the item is evaluated), alternating rounds on different headlines; each call stops at its
  first token. Reports both medians, the ratio, the prompt-evaluation thread count chosen and
  the load average (``--batch-threads N`` fixes the count instead of the free-cores rule).
* ``abort``: a ~1,100-token prompt (a chain prompt is about that long) evaluated with and without
  llama.cpp's abort callback armed, alternating rounds: the ratio is what making the prompt
  evaluation cancellable costs; then how long after a cancel request the call returns.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere in the checkout

COMMAND = "python bench/bench_reasoning.py"
QUERIES = ["Apple beats earnings estimates as iPhone sales hit a record", "Oil slides as OPEC raises output",
           "Fed holds rates steady and signals patience", "Tesla recalls cars over brake software",
           "Exxon to cut 2,000 jobs as oil prices slump", "Boeing falls as regulators ground jets",
           "Microsoft cloud revenue jumps 30%", "Banks slip as bond yields climb"]
SCORING_BATCH = (QUERIES * 8)[:64]
CONTEXT = ["Apple shares rise as iPhone demand stays strong", "Apple raises dividend after strong quarter",
           "Oil prices slump on OPEC output hike", "Exxon profit drops as oil prices fall"]


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(values), q)), 3)


# --- generation: engine vs raw llama-cpp-python ----------------------------------------------

def _stream_timing(run) -> dict:
    """``run(on_token)`` generates; returns first-token ms and decode tokens/s of the stream."""
    stamps: list[float] = []
    started = time.perf_counter()
    run(lambda piece: stamps.append(time.perf_counter()))
    n = len(stamps)
    rate = (n - 1) / (stamps[-1] - stamps[0]) if n > 1 and stamps[-1] > stamps[0] else 0.0
    return {"tokens": n, "first_token_ms": (stamps[0] - started) * 1000 if stamps else None, "tokens_per_s": rate}


def bench_generation(engine, rounds: int) -> dict:
    from engine.reasoning.audit import read_audit

    service = engine.reasoning
    headline = QUERIES[0]
    warm = service.explain(headline, persist=False)  # warms the prompt cache; its audit holds the prompt
    record = read_audit(engine.store, warm.audit_id)
    messages, schema = record.prompt, record.response_schema
    model, spec = engine.models.acquire("generation")
    llm = model._llm  # the same llama.cpp instance the engine uses: same weights, same threads

    def raw(on_token) -> None:
        for chunk in llm.create_chat_completion(messages=messages, max_tokens=service.settings.max_tokens,
                                                temperature=0.0, stream=True,
                                                response_format={"type": "json_object", "schema": schema}):
            if chunk["choices"][0].get("delta", {}).get("content"):
                on_token(chunk["choices"][0]["delta"]["content"])

    def through_engine(on_token) -> None:
        service.explain(headline, persist=False, on_token=on_token)

    engine_runs, raw_runs = [], []
    for _ in range(rounds):  # alternating, so drifts in machine load hit both sides alike
        engine_runs.append(_stream_timing(through_engine))
        raw_runs.append(_stream_timing(raw))

    def summary(runs: list[dict]) -> dict:
        return {"tokens_per_s_median": round(statistics.median(r["tokens_per_s"] for r in runs), 2),
                "first_token_ms_median": round(statistics.median(r["first_token_ms"] for r in runs), 1),
                "tokens": [r["tokens"] for r in runs],
                "tokens_per_s": [round(r["tokens_per_s"], 2) for r in runs]}

    eng, rw = summary(engine_runs), summary(raw_runs)
    pair_ratios = [e["tokens_per_s"] / r["tokens_per_s"] for e, r in zip(engine_runs, raw_runs) if r["tokens_per_s"]]
    return {"model": f"{spec.id}@{spec.version}", "threads": engine.config.llm_threads or "default (half the cores)",
            "max_tokens": service.settings.max_tokens, "rounds": rounds, "engine": eng, "raw_llama_cpp": rw,
            "tokens_per_s_ratio_engine_over_raw": round(statistics.median(pair_ratios), 3),
            "target_ratio": 0.95}


# --- RAG: embed + search at 10k / 100k ----------------------------------------------------------

def bench_rag(engine, rounds: int) -> dict:
    from engine.reasoning.rag.index import VectorIndex

    embedder, spec = engine.models.acquire("embedding")
    queries = [QUERIES[i % len(QUERIES)] + (f" ({i})" if i >= len(QUERIES) else "") for i in range(rounds)]
    for q in QUERIES:
        embedder.embed([q])  # warm-up
    embed_ms, qvecs = [], []
    for q in queries:
        t = time.perf_counter()
        qvecs.append(embedder.embed([q])[0])
        embed_ms.append((time.perf_counter() - t) * 1000)
    # The same model in a one-thread session, for comparison: the engine's embedder takes
    # intra_op_threads from the config (0 = all cores), which costs a single short query dearly
    # on a busy machine.
    from engine.embeddings.onnx_embedder import OnnxEmbedder

    single = OnnxEmbedder(spec.path, intra_op_threads=1)
    single.embed(QUERIES)
    single_ms = []
    for q in queries:
        t = time.perf_counter()
        single.embed([q])
        single_ms.append((time.perf_counter() - t) * 1000)
    out = {"embedder": f"{spec.id}@{spec.version}", "queries": rounds, "k": 5,
           "embed_ms": {"p50": _pct(embed_ms, 50), "p95": _pct(embed_ms, 95),
                        "intra_op_threads": engine.config.intra_op_threads},
           "embed_ms_one_thread_session": {"p50": _pct(single_ms, 50), "p95": _pct(single_ms, 95)},
           "sizes": {}}
    rng = np.random.default_rng(0)
    for n in (10_000, 100_000):
        centres = rng.normal(size=(256, embedder.dim))
        x = centres[rng.integers(0, 256, n)] + 0.5 * rng.normal(size=(n, embedder.dim))
        x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
        index = VectorIndex(embedder.dim, ivf_threshold=engine.reasoning.settings.ivf_threshold,
                            nprobe=engine.reasoning.settings.nprobe)
        t = time.perf_counter()
        for start in range(0, n, 10_000):  # incremental adds, as sync() does
            index.add(np.arange(start + 1, min(n, start + 10_000) + 1), x[start:start + 10_000])
        build_s = time.perf_counter() - t
        for q in qvecs[:5]:
            index.search(q, 5)
        search_ms, total_ms = [], []
        for q_text in queries:
            t = time.perf_counter()
            qv = embedder.embed([q_text])[0]
            t_mid = time.perf_counter()
            index.search(qv, 5, 0.0)
            t_end = time.perf_counter()
            search_ms.append((t_end - t_mid) * 1000)
            total_ms.append((t_end - t) * 1000)
        single_total = []
        for q_text in queries:
            t = time.perf_counter()
            index.search(single.embed([q_text])[0], 5, 0.0)
            single_total.append((time.perf_counter() - t) * 1000)
        recall = None
        if index.kind == "ivf":
            exact = VectorIndex(embedder.dim, ivf_threshold=10 ** 9)
            exact.add(np.arange(1, n + 1), x)
            probes = x[rng.choice(n, 100, replace=False)] + 0.05 * rng.normal(size=(100, embedder.dim)).astype(np.float32)
            hits = [len({i for i, _ in index.search(p, 5)} & {i for i, _ in exact.search(p, 5)}) / 5 for p in probes]
            recall = round(float(np.mean(hits)), 3)
        out["sizes"][str(n)] = {"index": index.kind, "nlist": index.nlist, "nprobe": index.nprobe if index.nlist else None,
                                "build_s": round(build_s, 2), "search_ms": {"p50": _pct(search_ms, 50), "p95": _pct(search_ms, 95)},
                                "embed_plus_search_ms": {"p50": _pct(total_ms, 50), "p95": _pct(total_ms, 95)},
                                "embed_plus_search_ms_one_thread_embedder": {"p50": _pct(single_total, 50),
                                                                             "p95": _pct(single_total, 95)},
                                "ivf_recall_at_5": recall}
    out["target_p50_ms"] = 5.0
    return out


# --- lanes: scoring throughput while a rationale generates --------------------------------------

def scoring_rate(engine, seconds: float) -> float:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        engine.analyze_batch(SCORING_BATCH, persist=False)
        n += len(SCORING_BATCH)
    return n / (time.perf_counter() - start)


def lanes_ratio(engine, pairs: int = 8, seconds: float = 1.0) -> dict:
    """Paired windows around one long chain-mode generation on the slow lane: paused (idle) /
    running (busy). Pausing happens in the token callback, so no token is computed while idle."""
    running, stop, first = threading.Event(), threading.Event(), threading.Event()
    count = [0]

    def on_token(piece: str) -> None:
        count[0] += 1
        first.set()
        running.wait()

    running.set()
    future = engine.reasoning.submit("Exxon to cut 2,000 jobs as oil prices slump", chain=True, persist=False,
                                     on_token=on_token, should_stop=stop.is_set)
    if not first.wait(300):
        raise RuntimeError("the slow lane produced no token")
    idle, busy, ratios, tokens = [], [], [], []
    try:
        for _ in range(pairs):
            running.clear()
            time.sleep(0.05)  # let the token in flight finish
            i = scoring_rate(engine, seconds)
            running.set()
            c0 = count[0]
            b = scoring_rate(engine, seconds)
            tokens.append((count[0] - c0) / seconds)
            idle.append(i)
            busy.append(b)
            ratios.append(b / i)
    finally:
        stop.set()
        running.set()
        result = future.result(300)
    return {"ratio": round(statistics.median(ratios), 3), "pair_ratios": [round(r, 2) for r in ratios],
            "idle_items_per_s": round(statistics.median(idle)), "busy_items_per_s": round(statistics.median(busy)),
            "slow_lane_tokens_per_s_while_busy": round(statistics.median(tokens), 1),
            "slow_share": engine.reasoning.gate.slow_share, "generation_status": result.status}


def bench_lanes(engine, pairs: int) -> dict:
    default_share = engine.reasoning.gate.slow_share
    with_gate = lanes_ratio(engine, pairs)
    engine.reasoning.gate.slow_share = 1.0  # no throttling: what separate threads alone give
    try:
        without = lanes_ratio(engine, pairs)
    finally:
        engine.reasoning.gate.slow_share = default_share
    status = engine.sentiment_status
    return {"scoring_model": f"{status.model_id}@{status.version}", "throttled": with_gate,
            "unthrottled": without, "target_ratio": 0.7}


def bench_abort(engine, rounds: int) -> dict:
    model, spec = engine.models.acquire("generation")
    messages = [{"role": "system", "content": "You are a careful analyst."},
                {"role": "user", "content": " ".join(f"Headline {i}: $ACME shares move after quarterly results."
                                                     for i in range(60)) + " Summarise."}]
    plain, armed = [], []
    for _ in range(rounds):
        for times, abort in ((plain, None), (armed, lambda: False)):
            model._llm.reset()  # no cached prefix: every round evaluates the whole prompt
            t0 = time.perf_counter()
            gen = model.chat(messages, max_tokens=1, should_abort=abort, reuse_prefix=False)
            times.append(time.perf_counter() - t0)
    latencies = []
    for delay in (0.25, 0.5, 1.0, 2.0):
        model._llm.reset()
        t0 = time.perf_counter()
        model.chat(messages, max_tokens=1, should_abort=lambda: time.perf_counter() - t0 > delay, reuse_prefix=False)
        latencies.append(round((time.perf_counter() - t0 - delay) * 1000, 1))
    return {"model": spec.id, "prompt_tokens": gen.prompt_tokens,
            "prompt_eval_s_median": {"no_callback": round(statistics.median(plain), 3),
                                     "callback_armed": round(statistics.median(armed), 3)},
            "armed_over_plain_ratio": round(statistics.median(armed) / statistics.median(plain), 3),
            "ms_from_cancel_request_to_return": latencies}


def bench_prefix(engine, rounds: int, batch_threads: int = 0) -> dict:
    import os

    import dataclasses

    model, spec = engine.models.acquire("generation")
    if batch_threads:
        model.fixed_batch_threads = batch_threads
    prefixes = model.prefixes
    # On a loaded machine the uncached ~1,100-token prompt can take longer than the desk's
    # per-call timeout; here the time itself is what is measured.
    engine.reasoning.settings = dataclasses.replace(engine.reasoning.settings, timeout_s=600.0)

    def first_token(headline: str) -> float:
        got = threading.Event()
        x = engine.explain(headline, chain=True, persist=False, on_token=lambda piece: got.set(),
                           should_stop=got.is_set)
        return x.first_token_ms

    first_token(QUERIES[-1])  # warm-up: loads the model, saves the chain prefix
    saved_tokens = max((prefixes.tokens(k) for k in list(prefixes._states)), default=0)
    states = dict(prefixes._states)
    cached, uncached = [], []
    for i in range(rounds):
        for times, keep in ((uncached, False), (cached, True)):
            prefixes._states.clear()
            if keep:
                prefixes._states.update(states)
            model._llm.reset()
            model._llm._ctx.kv_cache_clear()  # an empty context: only a saved state can help
            times.append(first_token(QUERIES[i % len(QUERIES)]))
    return {"model": f"{spec.id}@{spec.version}", "rounds": rounds, "prefix_tokens": saved_tokens,
            "first_token_ms_median": {"uncached": round(statistics.median(uncached), 1),
                                      "cached": round(statistics.median(cached), 1)},
            "uncached_over_cached_ratio": round(statistics.median(uncached) / statistics.median(cached), 2),
            "first_token_ms": {"uncached": [round(t) for t in uncached], "cached": [round(t) for t in cached]},
            "generation_threads": model.threads, "prompt_threads_last_call": model.batch_threads,
            "load_average_1min": round(os.getloadavg()[0], 2), "target_cached_ms_quiet_2_cores": 1500}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--only", choices=("generation", "rag", "lanes", "abort", "prefix"), action="append")
    parser.add_argument("--batch-threads", type=int, default=0,
                        help="prefix part: prompt-evaluation threads (0: the free cores, chosen per call)")
    args = parser.parse_args(argv)
    from engine.config import Config
    from engine.engine import Engine
    from engine.hardware import detect_hardware

    parts = args.only or ["generation", "rag", "lanes", "abort", "prefix"]
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(Config(), Path(tmp))
        try:
            engine.analyze_batch(CONTEXT)
            hw = detect_hardware(None)
            report = {"command": COMMAND + (" --quick" if args.quick else ""), "python": platform.python_version(),
                      "cpu": {"physical": hw.physical_cores, "logical": hw.logical_cores,
                              "load_percent_at_start": hw.cpu_load_percent},
                      "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
            if "generation" in parts:
                report["generation"] = bench_generation(engine, 3 if args.quick else 5)
            if "rag" in parts:
                report["rag"] = bench_rag(engine, 50 if args.quick else 200)
            if "lanes" in parts:
                report["lanes"] = bench_lanes(engine, 4 if args.quick else 8)
            if "prefix" in parts:
                report["prefix"] = bench_prefix(engine, 3 if args.quick else 6, args.batch_threads)
            if "abort" in parts:
                report["abort"] = bench_abort(engine, 2 if args.quick else 4)
        finally:
            engine.close()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
