"""Connecting to Redis: one place that sets timeouts, retries and what counts as "Redis is away".

redis-py's own retry is switched off (``retries=0``): every caller here has its own loop with
tenacity backoff and knows whether a command may be repeated. A silent library retry of a
non-idempotent XADD could add an entry twice; our scripts are written so a repeat is harmless,
and the loops make that explicit.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from engine.redisbus.config import RedisConfig, redact_url

# Raised while Redis is unreachable, restarting, or still loading its append-only file.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (redis.ConnectionError, redis.TimeoutError, socket.timeout,
                                                      ConnectionError, OSError)


class RedisUnavailable(RuntimeError):
    """Redis could not be reached; the message names the (password-less) URL and the cause."""


def connect(config: RedisConfig, *, decode_responses: bool = False, block_ms: int = 0) -> redis.Redis:
    """A client for ``config.url``; connects lazily (the first command), so it never raises here.

    ``block_ms`` is the longest BLOCK the caller will ask for: the socket timeout must outlast it.
    """
    if not config.url:
        raise RedisUnavailable("no Redis URL configured (use --redis URL or [redis] url)")
    return redis.Redis.from_url(
        config.url,
        decode_responses=decode_responses,
        socket_connect_timeout=config.connect_timeout_s,
        socket_timeout=config.connect_timeout_s + 5.0 + block_ms / 1000.0,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=30,
        client_name=f"signaldesk-{socket.gethostname()}-{os.getpid()}",
        **credentials(config),
    )


def credentials(config: RedisConfig) -> dict:
    """ACL user, password and TLS files from the settings; redis-py takes the rest from the URL."""
    extra: dict = {}
    if config.username:
        extra["username"] = config.username
    if config.password:
        extra["password"] = config.password
    if config.url.startswith("rediss://"):
        # Certificates are always verified (redis-py's default); these only say which CA and
        # which client certificate to use.
        if config.tls_ca_file:
            extra["ssl_ca_certs"] = str(Path(config.tls_ca_file).expanduser())
        if config.tls_cert_file:
            extra["ssl_certfile"] = str(Path(config.tls_cert_file).expanduser())
            extra["ssl_keyfile"] = str(Path(config.tls_key_file).expanduser())
    return extra


def describe_error(config: RedisConfig, exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"Redis at {redact_url(config.url)} unavailable: {text}"


def ping(client: redis.Redis, config: RedisConfig) -> None:
    """Raise RedisUnavailable with a clear message when Redis does not answer."""
    try:
        client.ping()
    except TRANSIENT_ERRORS as exc:
        raise RedisUnavailable(describe_error(config, exc)) from exc
    except redis.RedisError as exc:  # e.g. a wrong password: not transient, but still "unavailable"
        raise RedisUnavailable(describe_error(config, exc)) from exc
