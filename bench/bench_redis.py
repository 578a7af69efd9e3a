"""Scale-out bench: `signaldesk worker` processes against one Redis news stream.

    python bench/bench_redis.py --json
    python bench/bench_redis.py --items 2000 --workers 1,2 --latency-items 100

On a temporary redis-server (append-only file, ``appendfsync everysec``, the usual production
setting) and fresh worker data folders:

1. baseline: in this process, ``Engine.analyze_batch(persist=False)`` on the same headlines in
   batches of ``--batch`` with ``--threads`` ONNX threads: the model alone, no Redis;
2. throughput, for each worker count in ``--workers`` (default 1,2,4): start the workers (each
   with ``--threads`` ONNX threads), wait until all have joined the group, feed ``--items``
   distinct synthetic headlines in pipelined chunks, and time from the first news entry to the
   last result. Times come from the stream entry ids, i.e. the Redis server's clock, for both
   ends. Reported: items/s, the ratio to 1 worker (the scaling), the ratio to the in-process
   baseline (what Redis, event classification and publishing cost), each worker's share;
3. latency: ``--latency-workers`` workers, ``--latency-items`` headlines fed one XADD at a time at
   ``--rate`` per second; per item, result entry id time minus news entry id time (XADD -> published
   result, server clock, 1 ms resolution): p50, p95, max.

Not part of pytest; nothing is asserted. The machine is shared: the load average before and
after is printed, and on 2 cores more than 2 single-threaded workers cannot scale.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import redis  # noqa: E402

from engine.config import Config  # noqa: E402
from engine.engine import Engine  # noqa: E402
from engine.news.demo import synthetic_headlines  # noqa: E402
from engine.news.items import NewsItem  # noqa: E402
from engine.redisbus import scripts as lua  # noqa: E402
from engine.redisbus.config import RedisConfig  # noqa: E402
from engine.redisbus.feed import FeedReport, feed_items  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def id_ms(entry_id) -> int:
    text = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    return int(text.split("-")[0])


class Server:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.client = redis.Redis(host="127.0.0.1", port=self.port)
        for _ in range(200):
            try:
                self.client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def close(self) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait(10)


def headlines(n: int, seed: int) -> list[str]:
    out = list(dict.fromkeys(synthetic_headlines(n * 2, seed=seed)))[:n]
    if len(out) < n:
        raise SystemExit(f"only {len(out)} distinct headlines; ask for fewer")
    return out


def baseline(texts: list[str], batch: int, threads: int) -> float:
    engine = Engine(Config(intra_op_threads=threads), None)
    try:
        engine.analyze_batch(texts[:batch], persist=False)  # warm-up
        started = time.perf_counter()
        for i in range(0, len(texts), batch):
            engine.analyze_batch(texts[i:i + batch], persist=False)
        return len(texts) / (time.perf_counter() - started)
    finally:
        engine.close()


def start_workers(server: Server, prefix: str, count: int, batch: int, threads: int, workdir: Path) -> list:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SIGNALDESK_INTRA_OP_THREADS=str(threads),
               SIGNALDESK_REDIS_KEY_PREFIX=prefix, SIGNALDESK_REDIS_BLOCK_MS="200")
    env.pop("SIGNALDESK_REDIS_URL", None)
    procs = []
    for i in range(count):
        data = workdir / f"{prefix}-w{i}"
        data.mkdir(parents=True, exist_ok=True)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "app", "--data-dir", str(data), "worker", "--redis", server.url, "--consumer",
             f"w{i}", "--batch", str(batch)], cwd=REPO, env=env, stdout=subprocess.PIPE,
            stderr=open(workdir / f"{prefix}-w{i}.log", "wb")))
    config = RedisConfig(url=server.url, key_prefix=prefix)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            joined = len(server.client.xinfo_consumers(config.news_key, config.group))
        except redis.ResponseError:
            joined = 0
        if joined >= count:
            return procs
        if any(p.poll() is not None for p in procs):
            raise RuntimeError(f"a worker exited early; see {workdir}")
        time.sleep(0.05)
    raise RuntimeError("workers did not join the group in 120 s")


def stop_workers(procs: list) -> list[dict]:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    stats = []
    for p in procs:
        out, _ = p.communicate(timeout=60)
        lines = out.decode().strip().splitlines()
        stats.append(json.loads(lines[-1]) if lines else {"exit": p.returncode})
    return stats


def wait_results(server: Server, config: RedisConfig, n: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while server.client.xlen(config.results_key) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {server.client.xlen(config.results_key)} of {n} results after {timeout}s")
        time.sleep(0.02)


def warm_up(server: Server, config: RedisConfig, warmup: list[str]) -> None:
    """Every worker loads its lazily loaded parts (the event prototypes' embedder) before the clock starts."""
    # Small trickled chunks: each blocked worker wakes for some of them, not just the first one.
    for i in range(0, len(warmup), 4):
        feed(server, config, warmup[i:i + 4])
        time.sleep(0.05)
    wait_results(server, config, len(warmup))


def feed(server: Server, config: RedisConfig, texts: list[str]) -> FeedReport:
    scripts = lua.Scripts(server.client)
    report = FeedReport("-", "bench", config.news_key)
    items = [NewsItem(text=t, source="bench") for t in texts]
    for i in range(0, len(items), config.feed_chunk):
        feed_items(items[i:i + config.feed_chunk], config, server.client, scripts, report)
    return report


def throughput_run(server: Server, texts: list[str], workers: int, args, workdir: Path, warmup: list[str]) -> dict:
    prefix = f"bench{workers}"
    config = RedisConfig(url=server.url, key_prefix=prefix, news_dedupe_ttl_s=0, feed_chunk=500)
    server.client.xgroup_create(config.news_key, config.group, id="0", mkstream=True)
    procs = start_workers(server, prefix, workers, args.batch, args.threads, workdir)
    try:
        warm_up(server, config, warmup)
        report = feed(server, config, texts)
        wait_results(server, config, len(warmup) + len(texts))
    finally:
        stats = stop_workers(procs)
    first_news = id_ms(report.first_id)
    last_result = id_ms(server.client.xrevrange(config.results_key, count=1)[0][0])
    elapsed_s = max(1e-3, (last_result - first_news) / 1000.0)
    return {"workers": workers, "items": len(texts), "elapsed_s": round(elapsed_s, 3),
            "items_per_s": round(len(texts) / elapsed_s, 1),
            "shares_incl_warmup": {s.get("consumer", "?"): s.get("published") for s in stats},
            "duplicates_skipped": sum(s.get("duplicates_skipped", 0) for s in stats),
            "results": server.client.xlen(config.results_key) - len(warmup)}


def latency_run(server: Server, texts: list[str], args, workdir: Path, warmup: list[str]) -> dict:
    prefix = "benchlat"
    config = RedisConfig(url=server.url, key_prefix=prefix, news_dedupe_ttl_s=0)
    server.client.xgroup_create(config.news_key, config.group, id="0", mkstream=True)
    procs = start_workers(server, prefix, args.latency_workers, args.batch, args.threads, workdir)
    sent: dict[str, int] = {}
    try:
        warm_up(server, config, warmup)
        interval = 1.0 / args.rate
        next_at = time.perf_counter()
        for text in texts:
            now = time.perf_counter()
            if now < next_at:
                time.sleep(next_at - now)
            next_at += interval
            entry = server.client.xadd(config.news_key, {"text": text, "source": "bench"})
            sent[entry.decode()] = id_ms(entry)
        wait_results(server, config, len(warmup) + len(texts))
    finally:
        stats = stop_workers(procs)
    latencies = []
    for _rid, fields in server.client.xrange(config.results_key):
        news_id = fields[b"news_id"].decode()
        if news_id in sent:  # not a warm-up item
            latencies.append(id_ms(_rid) - sent[news_id])
    arr = np.asarray(latencies, dtype=float)
    return {"workers": args.latency_workers, "items": len(texts), "rate_per_s": args.rate,
            "p50_ms": float(np.percentile(arr, 50)), "p95_ms": float(np.percentile(arr, 95)),
            "max_ms": float(arr.max()), "worker_batches": sum(s.get("batches", 0) for s in stats)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="ONNX intra-op threads per worker (and the baseline)")
    parser.add_argument("--latency-items", type=int, default=200)
    parser.add_argument("--latency-workers", type=int, default=1)
    parser.add_argument("--rate", type=float, default=50.0, help="latency run: headlines per second")
    parser.add_argument("--warmup", type=int, default=128, help="untimed headlines fed first in each run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        print("redis-server not found (apt-get install redis-server)", file=sys.stderr)
        return 2
    counts = [int(c) for c in args.workers.split(",") if c.strip()]
    load_before = os.getloadavg()
    texts = headlines(args.items + args.latency_items + args.warmup, seed=21)
    throughput_texts = texts[:args.items]
    latency_texts = texts[args.items:args.items + args.latency_items]
    warmup = texts[args.items + args.latency_items:]
    report: dict = {"cpu_count": os.cpu_count(), "load_before": [round(x, 2) for x in load_before],
                    "batch": args.batch, "threads_per_worker": args.threads}
    report["baseline_analyze_batch_per_s"] = round(baseline(throughput_texts, args.batch, args.threads), 1)
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as tmp:
        workdir = Path(tmp)
        server = Server(workdir)
        try:
            runs = [throughput_run(server, throughput_texts, k, args, workdir, warmup) for k in counts]
            one = next((r["items_per_s"] for r in runs if r["workers"] == 1), runs[0]["items_per_s"])
            for r in runs:
                r["scaling_vs_1_worker"] = round(r["items_per_s"] / one, 2)
                r["ratio_to_baseline"] = round(r["items_per_s"] / report["baseline_analyze_batch_per_s"], 2)
            report["throughput"] = runs
            report["latency"] = latency_run(server, latency_texts, args, workdir, warmup) if args.latency_items else None
        finally:
            server.close()
    report["load_after"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"baseline (in-process analyze_batch, {args.threads} thread(s)): "
              f"{report['baseline_analyze_batch_per_s']:.0f} items/s")
        for r in report["throughput"]:
            print(f"{r['workers']} worker(s): {r['items_per_s']:.0f} items/s, x{r['scaling_vs_1_worker']:.2f} vs 1 worker, "
                  f"{r['ratio_to_baseline']:.2f} of baseline; shares {r['shares_incl_warmup']}")
        lat = report["latency"]
        if lat:
            print(f"latency XADD -> result at {lat['rate_per_s']:.0f}/s, {lat['workers']} worker(s): "
                  f"p50 {lat['p50_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms, max {lat['max_ms']:.0f} ms")
        print(f"load average before {report['load_before']}, after {report['load_after']} on {report['cpu_count']} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
