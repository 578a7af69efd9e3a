"""Redis settings: a frozen dataclass, defaults < ``[redis]`` in config.toml < environment.

::

    [redis]
    url = "redis://10.0.0.5:6379/0"
    group = "scorers"
    batch_size = 64

Environment variables ``SIGNALDESK_REDIS_<FIELD>`` override the file; the global ``--redis URL``
flag of ``signaldesk`` sets ``SIGNALDESK_REDIS_URL`` for the process (and the GUI's engine thread).
An empty ``url`` means Redis is off and the desk runs on SQLite alone.

Every key and stream is ``<key_prefix>:<name>``; README "Operators: scaling out with Redis" has
the table of keys. The J8 defaults mirror the ``[news]`` signal cache (24 h latest TTL, 256 items
of history, EWMA alpha 0.2), so the Redis view of an asset agrees with the desk's own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from engine.config import ConfigError, load_section, non_finite_fields

ENV_PREFIX = "SIGNALDESK_REDIS_"
NEWS_TRIM_MODES = ("acked", "off")


@dataclass(frozen=True)
class RedisConfig:
    url: str = ""  # redis://[user:password@]host:port/db or rediss://...; empty = Redis off
    # --- who we are to Redis, and how we check it is Redis (README "Operators") ---
    # ACL user and password; here (SIGNALDESK_REDIS_PASSWORD) rather than in a URL on a command
    # line, which every local user can read in the process list. They win over the URL's.
    username: str = ""
    password: str = field(default="", repr=False)
    tls_ca_file: str = ""  # rediss://: CA bundle that signed the server's certificate (default: system CAs)
    tls_cert_file: str = ""  # rediss:// with client certificates (tls-auth-clients yes)
    tls_key_file: str = ""
    # The desk key results are signed with (engine/redisbus/signing.py); hex. Empty: the key file
    # in the data folder.
    hmac_key: str = field(default="", repr=False)
    key_prefix: str = "signaldesk"
    # Stream names, below the prefix.
    news_stream: str = "news"  # headlines waiting to be scored (fed by `ingest --redis`)
    results_stream: str = "results"  # worker results, one per news entry (the desk subscribes)
    signals_stream: str = "signals"  # every published signal, desk and workers alike
    dead_letter_stream: str = "deadletter"  # news entries that could not be scored, with the reason
    group: str = "scorers"  # consumer group of the workers on the news stream

    # --- workers ---
    batch_size: int = 64  # entries per XREADGROUP, scored as one batch
    block_ms: int = 1000  # XREADGROUP/XREAD BLOCK; also how quickly SIGTERM is noticed
    claim_min_idle_ms: int = 30_000  # pending this long without an ack: its consumer is presumed dead
    claim_interval_s: float = 5.0  # how often a worker looks for such entries (XAUTOCLAIM)
    max_deliveries: int = 5  # an entry delivered this often without an ack is dead-lettered (a poison pill)
    news_trim: str = "acked"  # acked: workers XTRIM news entries every group has acknowledged | off
    consumer_forget_ms: int = 3_600_000  # consumers with nothing pending, idle this long, are deleted

    # --- J8 keys and stream caps ---
    latest_ttl_s: int = 86_400  # latest:<ASSET> expires after this (the [news] signal_ttl_hours)
    history_length: int = 256  # history:<ASSET> keeps this many newest signals (LPUSH + LTRIM)
    history_ttl_s: int = 604_800  # history and running sentiment of an asset silent this long expire
    ewma_alpha: float = 0.2  # running:<ASSET>: weight of the newest signal
    stream_maxlen: int = 100_000  # approximate cap (MAXLEN ~) of the signals, results and dead-letter streams
    news_dedupe_ttl_s: int = 86_400  # `ingest --redis` skips an item seen this recently (0 = no dedupe)

    # --- the desk's publisher and subscriber ---
    publish_interval_ms: int = 200  # how often the publisher looks for new stored signals
    publish_batch: int = 256  # signals per round trip
    connect_timeout_s: float = 2.0
    max_backoff_s: float = 30.0  # reconnect attempts back off exponentially up to this
    feed_chunk: int = 500  # `ingest --redis`: entries per pipelined round trip

    def __post_init__(self) -> None:
        problems = _validate(self)
        if problems:
            raise ConfigError("redis config: " + "; ".join(problems))

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def key(self, name: str) -> str:
        return f"{self.key_prefix}:{name}"

    @property
    def news_key(self) -> str:
        return self.key(self.news_stream)

    @property
    def results_key(self) -> str:
        return self.key(self.results_stream)

    @property
    def signals_key(self) -> str:
        return self.key(self.signals_stream)

    @property
    def dead_letter_key(self) -> str:
        return self.key(self.dead_letter_stream)

    @property
    def origins_key(self) -> str:
        """Hash: desk origin -> highest signal id it has published (the catch-up guard)."""
        return self.key("origins")

    def asset_keys(self, asset: str) -> tuple[str, str, str]:
        """(latest, history, running) keys of one asset."""
        return self.key(f"latest:{asset}"), self.key(f"history:{asset}"), self.key(f"running:{asset}")

    def seen_key(self, content_key: str) -> str:
        return self.key(f"seen:{content_key}")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["url"] = redact_url(self.url)
        for secret in ("password", "hmac_key"):
            out[secret] = "***" if out[secret] else ""
        return out


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable url>"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return parts._replace(netloc=user + host).geturl()


def _validate(c: RedisConfig) -> list[str]:
    problems = non_finite_fields(c)
    if problems:
        return problems
    scheme = urlsplit(c.url).scheme if c.url else ""
    if c.url and scheme not in ("redis", "rediss", "unix"):
        problems.append(f"url must start with redis://, rediss:// or unix:// (got {redact_url(c.url)!r})")
    tls_files = {name: getattr(c, name) for name in ("tls_ca_file", "tls_cert_file", "tls_key_file")}
    if any(tls_files.values()) and c.url and scheme != "rediss":
        problems.append("tls_* settings need a rediss:// url")
    for name, value in tls_files.items():
        if value and not Path(value).expanduser().is_file():
            problems.append(f"{name}: no such file {value!r}")
    if bool(c.tls_cert_file) != bool(c.tls_key_file):
        problems.append("tls_cert_file and tls_key_file go together")
    for name in ("key_prefix", "news_stream", "results_stream", "signals_stream", "dead_letter_stream", "group"):
        if not getattr(c, name):
            problems.append(f"{name} must not be empty")
    for name in ("batch_size", "block_ms", "max_deliveries", "latest_ttl_s", "history_length", "history_ttl_s",
                 "stream_maxlen", "publish_interval_ms", "publish_batch", "feed_chunk"):
        if getattr(c, name) < 1:
            problems.append(f"{name} must be at least 1")
    for name in ("claim_min_idle_ms", "consumer_forget_ms", "news_dedupe_ttl_s"):
        if getattr(c, name) < 0:
            problems.append(f"{name} must not be negative")
    for name in ("claim_interval_s", "connect_timeout_s", "max_backoff_s"):
        if getattr(c, name) <= 0:
            problems.append(f"{name} must be positive")
    if not 0 < c.ewma_alpha <= 1:
        problems.append("ewma_alpha must be in (0, 1]")
    if c.news_trim not in NEWS_TRIM_MODES:
        problems.append(f"news_trim must be one of {', '.join(NEWS_TRIM_MODES)}")
    return problems


def load_redis_config(data_dir: Path | None = None, environ: Mapping[str, str] | None = None,
                      **overrides: Any) -> RedisConfig:
    """The [redis] settings; ``overrides`` (e.g. from CLI flags, None values ignored) win over everything."""
    from dataclasses import replace

    config = load_section(RedisConfig(), data_dir, "redis", ENV_PREFIX, environ)
    given = {k: v for k, v in overrides.items() if v is not None}
    return replace(config, **given) if given else config
