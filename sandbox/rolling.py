"""A truly rolling rate-limit window for the fake Fatture's short-term limit (300 requests in any
5 minutes, docs/providers/fatture-in-cloud.md §10.3): every admitted request's time is kept, and a
request is refused while ``limit`` requests fall in the ``window`` seconds before it. Fixed
buckets would let up to twice the limit through across a bucket edge; this does not.

On Redis (the shared cache of every web process) the log is a sorted set checked and written by
one Lua script, so two processes never both take the last place. Without Redis (the embedded
default) it is a list in the cache, good enough for one process.
"""

from __future__ import annotations

import math
import uuid

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

# Drops the times older than the window, then admits (nil) or answers the seconds until the oldest
# time leaves the window (a string: Redis would truncate a Lua number to an integer).
_SCRIPT = """
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('EXPIRE', key, math.ceil(window) + 60)
return false
"""


def rolling_hit(key: str, *, limit: int, window: float, now: float) -> float | None:
    """Admit one request at ``now`` (None), or refuse it: seconds until a place frees up."""
    if limit <= 0:
        return window
    if _redis() is not None:
        return _redis_hit(key, limit=limit, window=window, now=now)
    return _cache_hit(key, limit=limit, window=window, now=now)


def _redis() -> RedisCache | None:
    backend = caches["default"]
    return backend if isinstance(backend, RedisCache) else None


def _redis_hit(key: str, *, limit: int, window: float, now: float) -> float | None:
    backend = _redis()
    assert backend is not None
    full_key = backend.make_and_validate_key(key)
    client = backend._cache.get_client(full_key, write=True)
    answer = client.eval(_SCRIPT, 1, full_key, repr(now), repr(float(window)), limit, f"{now!r}:{uuid.uuid4().hex}")
    return None if answer is None else max(0.0, float(answer))


def _cache_hit(key: str, *, limit: int, window: float, now: float) -> float | None:
    times = [t for t in cache.get(key) or [] if t > now - window]
    if len(times) >= limit:
        return max(0.0, min(times) + window - now)
    times.append(now)
    cache.set(key, times, timeout=math.ceil(window) + 60)
    return None


def rolling_count(key: str, *, window: float, now: float) -> int:
    """How many admitted requests fall in the window before ``now`` (for tests and benchmarks)."""
    backend = _redis()
    if backend is not None:
        full_key = backend.make_and_validate_key(key)
        client = backend._cache.get_client(full_key)
        return int(client.zcount(full_key, f"({now - window!r}", repr(now)))
    return sum(1 for t in cache.get(key) or [] if now - window < t <= now)
