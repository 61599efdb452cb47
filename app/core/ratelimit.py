"""Redis-backed fixed-window rate limits (shared by every API replica)."""
from __future__ import annotations

from redis.asyncio import Redis

from app.core import clock
from app.core.redisconn import bounded_pool

_redis: Redis | None = None


async def init(redis_url: str) -> None:
    global _redis
    _redis = Redis(connection_pool=bounded_pool(redis_url))


async def close() -> None:
    global _redis
    if _redis is not None:
        await _redis.aclose()
        _redis = None


def redis() -> Redis:
    if _redis is None:
        raise RuntimeError("ratelimit.init() has not run")
    return _redis


async def hit(bucket: str, key: str, limit: int, window_seconds: int) -> tuple[bool, int]:
    """Count one attempt; returns (allowed, seconds until the window resets)."""
    now = int(clock.now().timestamp())
    window = now // window_seconds
    k = f"huifang:rl:{bucket}:{key}:{window}"
    pipe = redis().pipeline(transaction=False)
    pipe.incr(k)
    pipe.expire(k, window_seconds + 1)
    count, _ = await pipe.execute()
    retry_after = window_seconds - now % window_seconds
    return count <= limit, retry_after


async def exceeded(bucket: str, key: str, limit: int, window_seconds: int) -> int | None:
    """Seconds to wait if the window's count already reached `limit` (counts nothing)."""
    now = int(clock.now().timestamp())
    count = await redis().get(f"huifang:rl:{bucket}:{key}:{now // window_seconds}")
    if count is not None and int(count) >= limit:
        return window_seconds - now % window_seconds
    return None
