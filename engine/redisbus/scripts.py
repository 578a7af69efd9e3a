"""The Lua scripts that make publishing safe to repeat.

A script runs atomically in Redis and reaches the append-only file as one unit, so its
writes are kept or lost together. Each script first checks a guard and does nothing when it
has run before for the same item:

- ``publish_signal`` (the desk's publisher): the ``origins`` hash holds, per desk, the highest
  signal id already published. Signals are published in id order, so an id at or below it is a
  repeat (a catch-up after a crash between publishing and saving the cursor) and is skipped:
  the running sentiment is never counted twice.
- ``ack_and_publish`` (workers): XACK first; only the call whose XACK removed the entry from
  the group's pending list publishes its result (with the worker's HMAC signature). A slow
  worker whose entry was reclaimed and published by another finds XACK returning 0 and publishes nothing.
- ``dead_letter``: the same XACK guard, then one dead-letter entry with the reason.
- ``feed_news`` (``ingest --redis``): a ``seen:<content key>`` marker (SET NX with a TTL) keeps a
  re-run of the same file from feeding its items again.

J8 keys per asset (shared by the first two): ``latest:<A>`` (the payload, EX latest TTL),
``history:<A>`` (LPUSH + LTRIM to the history length, EXPIRE), ``running:<A>`` (hash: EWMA
``value``, ``count``, ``updated_at``, ``last_uid``), then one entry on the signals stream.
Keys are passed in KEYS (three per asset), as Redis asks of scripts.
"""

from __future__ import annotations

from typing import Sequence

from engine.redisbus.config import RedisConfig

# KEYS[first], KEYS[first+1], KEYS[first+2]: latest, history, running of each asset.
_J8 = """
local function publish_j8(first, payload, compound, now, uid, signals_stream, ttl, hlen, httl, alpha, maxlen)
  for k = first, #KEYS, 3 do
    redis.call('SET', KEYS[k], payload, 'EX', ttl)
    redis.call('LPUSH', KEYS[k + 1], payload)
    redis.call('LTRIM', KEYS[k + 1], 0, hlen - 1)
    redis.call('EXPIRE', KEYS[k + 1], httl)
    local old = redis.call('HGET', KEYS[k + 2], 'value')
    local value = compound
    if old then value = alpha * compound + (1 - alpha) * tonumber(old) end
    redis.call('HSET', KEYS[k + 2], 'value', string.format('%.6f', value), 'updated_at', now, 'last_uid', uid)
    redis.call('HINCRBY', KEYS[k + 2], 'count', 1)
    redis.call('EXPIRE', KEYS[k + 2], httl)
  end
  redis.call('XADD', signals_stream, 'MAXLEN', '~', maxlen, '*', 'uid', uid, 'payload', payload)
end
"""

# KEYS: origins hash, signals stream, then latest/history/running per asset.
# ARGV: origin, signal id, uid, payload, compound, now, ttl, history length, history ttl, alpha, maxlen
PUBLISH_SIGNAL = _J8 + """
local last = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) <= last then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
publish_j8(3, ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[3], KEYS[2], ARGV[7], tonumber(ARGV[8]), ARGV[9],
           tonumber(ARGV[10]), ARGV[11])
return 1
"""

# KEYS: news stream, results stream, signals stream, then latest/history/running per asset.
# ARGV: group, news id, uid, payload, compound, now, ttl, history length, history ttl, alpha, maxlen, worker,
#       signature, key id (engine/redisbus/signing.py)
ACK_AND_PUBLISH = _J8 + """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[11], '*', 'news_id', ARGV[2], 'worker', ARGV[12], 'payload', ARGV[4],
           'sig', ARGV[13], 'kid', ARGV[14])
publish_j8(4, ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[3], KEYS[3], ARGV[7], tonumber(ARGV[8]), ARGV[9],
           tonumber(ARGV[10]), ARGV[11])
return 1
"""

# KEYS: news stream, dead-letter stream. ARGV: group, news id, reason, worker, fields (JSON), maxlen
DEAD_LETTER = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'news_id', ARGV[2], 'reason', ARGV[3],
           'worker', ARGV[4], 'fields', ARGV[5])
return 1
"""

# KEYS: news stream, seen marker. ARGV: dedupe ttl (0 = none), then field, value, field, value...
FEED_NEWS = """
if tonumber(ARGV[1]) > 0 then
  if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return false end
end
return redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
"""


def j8_args(config: RedisConfig) -> list:
    """ARGV 7..11 of the publishing scripts."""
    return [config.latest_ttl_s, config.history_length, config.history_ttl_s, config.ewma_alpha, config.stream_maxlen]


def asset_keys(config: RedisConfig, assets: Sequence[str]) -> list[str]:
    keys: list[str] = []
    for asset in assets:
        keys.extend(config.asset_keys(asset))
    return keys


class Scripts:
    """The scripts registered on one client; redis-py loads them again after a Redis restart (NOSCRIPT)."""

    def __init__(self, client) -> None:
        self.publish_signal = client.register_script(PUBLISH_SIGNAL)
        self.ack_and_publish = client.register_script(ACK_AND_PUBLISH)
        self.dead_letter = client.register_script(DEAD_LETTER)
        self.feed_news = client.register_script(FEED_NEWS)
