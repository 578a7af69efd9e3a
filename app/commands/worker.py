"""``signaldesk worker --redis URL``: a headless scorer on the shared news stream.

Joins the consumer group (created on first use, from the start of the stream), reads batches
with XREADGROUP, scores them with this machine's sentiment model and event classifier (the same
Engine as the desk), and publishes each result (results stream, J8 keys, signals stream)
atomically with its XACK. Entries left pending by a dead worker are taken over after
``claim_min_idle_ms`` (XAUTOCLAIM); entries that cannot be scored (no text, not UTF-8, bad
field, or delivered ``max_deliveries`` times) go to the dead-letter stream with the reason.
Run as many workers as you like, on any machines, against one Redis; each needs a distinct
``--consumer`` name (the default, host-pid, is).

SIGTERM or Ctrl+C: the batch in hand is finished and published, then the worker exits 0 and
prints its counts as JSON on stdout. Settings: the ``[redis]`` table of config.toml or
``SIGNALDESK_REDIS_<KEY>``; the flags below override them. README: "Operators: scaling out
with Redis".

Results are signed with the desk key: ``SIGNALDESK_REDIS_HMAC_KEY`` (hex), else the
``redis-hmac.key`` file in this worker's data folder (copy the desk's, mode 0600). Without a
key the worker refuses to start. Redis credentials: ``user:password@`` in the URL, or (kept out
of the process list) ``SIGNALDESK_REDIS_USERNAME`` / ``SIGNALDESK_REDIS_PASSWORD``; TLS with
``rediss://`` and ``SIGNALDESK_REDIS_TLS_CA_FILE``.

Exit codes: 0 stopped cleanly; 1 Redis unreachable at start (after ``--wait`` seconds) or the
engine failed; 2 usage or configuration error (including no desk key).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import time

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser("worker", help="score the shared Redis news stream (headless, scale-out)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--redis", dest="worker_redis", metavar="URL", default=None,
                   help="redis[s]://[user:password@]host:port/db (default: [redis] url or SIGNALDESK_REDIS_URL)")
    p.add_argument("--group", default=None, metavar="G", help="consumer group (default [redis] group, 'scorers')")
    p.add_argument("--consumer", default=None, metavar="NAME",
                   help="this worker's name in the group, unique per live worker (default host-pid)")
    p.add_argument("--batch", type=int, default=None, metavar="N", help="entries per read and scoring batch")
    p.add_argument("--claim-idle-ms", type=int, default=None, metavar="MS",
                   help="take over entries pending this long in a dead worker (default [redis] claim_min_idle_ms)")
    p.add_argument("--wait", type=float, default=30.0, metavar="S",
                   help="at start, wait this long for Redis to answer before giving up (default 30)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.runtime import data_dir_from_args
    from engine.config import ConfigError, load_config
    from engine.engine import Engine
    from engine.news.config import load_news_config
    from engine.redisbus.client import RedisUnavailable, connect, ping
    from engine.redisbus.config import load_redis_config, redact_url
    from engine.redisbus.signing import desk_key
    from engine.redisbus.worker import StreamWorker

    err = sys.stderr
    if args.batch is not None and args.batch < 1:
        print("worker: --batch must be at least 1", file=err)
        return EXIT_USAGE
    data_dir = data_dir_from_args(args)
    url = args.worker_redis or getattr(args, "redis_url", None)
    try:
        config = load_redis_config(data_dir, url=url, group=args.group, batch_size=args.batch,
                                   claim_min_idle_ms=args.claim_idle_ms)
        news_config = load_news_config(data_dir)
        engine_config = load_config(data_dir)
        key = desk_key(config.hmac_key, data_dir, create=False)  # results are signed with it
    except ConfigError as exc:
        print(f"worker: {exc}", file=err)
        return EXIT_USAGE
    if not config.enabled:
        print("worker: give --redis URL (or set [redis] url / SIGNALDESK_REDIS_URL)", file=err)
        return EXIT_USAGE
    consumer = args.consumer or f"{socket.gethostname()}-{os.getpid()}"

    client = connect(config, decode_responses=False, block_ms=config.block_ms)
    deadline = time.monotonic() + max(0.0, args.wait)
    while True:
        try:
            ping(client, config)
            break
        except RedisUnavailable as exc:
            if time.monotonic() >= deadline:
                print(f"worker: {exc}; is redis-server running there? (waited {args.wait:g}s)", file=err)
                return EXIT_FAILED
            time.sleep(0.5)

    try:
        # The worker stores nothing locally: its results live in Redis.
        engine = Engine(engine_config, data_dir, publish_to_redis=False)
    except Exception as exc:
        print(f"worker: the engine failed to start: {exc}", file=err)
        return EXIT_FAILED
    worker = StreamWorker(engine, config, consumer, news_config=news_config, client=client, key=key)

    def on_signal(signum, _frame) -> None:
        log.info("worker %s: %s received, finishing the batch in hand", consumer, signal.Signals(signum).name)
        worker.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    status = engine.sentiment_status
    print(f"worker {consumer}: consuming {config.news_key} (group {config.group}) at {redact_url(config.url)}, "
          f"model {status.model_id}{' (degraded: ' + status.reason + ')' if status.degraded else ''}",
          file=err, flush=True)
    try:
        stats = worker.run()
    except Exception as exc:  # e.g. a key of the wrong type under the prefix: say what, unacked entries stay pending
        log.exception("worker %s failed", consumer)
        print(f"worker: failed: {type(exc).__name__}: {exc}; unacknowledged entries stay pending for the other "
              "workers", file=err)
        print(json.dumps(worker.stats.to_dict()), flush=True)
        return EXIT_FAILED
    finally:
        engine.close()
        client.close()
    print(json.dumps(stats.to_dict()), flush=True)
    return EXIT_OK
