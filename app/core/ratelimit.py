"""Redis-backed fixed-window rate limits (shared by every API replica)."""
from __future__ import annotations

from redis.asyncio import Redis

from app.core import clock
from app.core.redisconn import bounded_pool
from app.core.redispipe import PipelinedScripts
from app.settings import get_settings

_redis: Redis | None = None
_scripts: PipelinedScripts | None = None


async def init(redis_url: str) -> None:
    global _redis, _scripts
    _redis = Redis(connection_pool=bounded_pool(redis_url))
    s = get_settings()
    _scripts = PipelinedScripts(redis_url, max_waiting=s.redis_pool_max, timeout=s.redis_pool_timeout_seconds)


async def close() -> None:
    global _redis, _scripts
    if _redis is not None:
        await _redis.aclose()
        _redis = None
    if _scripts is not None:
        await _scripts.aclose()
        _scripts = None


def redis() -> Redis:
    if _redis is None:
        raise RuntimeError("ratelimit.init() has not run")
    return _redis


def scripts() -> PipelinedScripts:
    """The pipelined connection the cost throttle's script runs on (app.core.redispipe)."""
    if _scripts is None:
        raise RuntimeError("ratelimit.init() has not run")
    return _scripts


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
