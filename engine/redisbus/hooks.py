"""How the engine and the desk start Redis parts: only when a Redis URL is configured.

(Here, not in the package's ``__init__``, which the parts themselves import.)
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def start_publisher_if_configured(store: Any, data_dir: Path | None):
    """The engine's hook: a running SignalPublisher when a Redis URL is configured, else None.

    redis-py is imported only then. A bad [redis] setting is logged and the desk runs on SQLite alone.
    """
    from engine.config import ConfigError
    from engine.redisbus.config import load_redis_config

    try:
        config = load_redis_config(data_dir)
    except ConfigError as exc:
        log.error("Redis publishing is off: %s", exc)
        return None
    if not config.enabled:
        return None
    from engine.redisbus.publisher import SignalPublisher

    publisher = SignalPublisher(store, config)
    publisher.start()
    return publisher


def start_results_subscriber(engine: Any):
    """The desk's hook: workers' results stored and published to ``engine.on_scored`` as origin "redis".

    Returns the running ResultsSubscriber, or None when no Redis URL is configured; raises
    ConfigError for a bad [redis] section and Redis errors when the subscriber cannot start.
    """
    from engine.redisbus.config import load_redis_config
    from engine.scored import ScoredBatch

    config = load_redis_config(engine.data_dir)
    if not config.enabled:
        return None
    from engine.redisbus.subscriber import ResultsSubscriber

    subscriber = ResultsSubscriber(engine.store, config=config,
                                   on_signals=lambda items: engine.scored.publish(ScoredBatch("redis", tuple(items))))
    subscriber.start()
    return subscriber
