"""The Redis connection pools of a process: bounded (REDIS_POOL_MAX), waiting for a free
connection up to REDIS_POOL_TIMEOUT_SECONDS instead of opening one per concurrent request.
A burst of requests (or a slow Redis) then queues here, with a known ceiling on the
connections each worker holds; redis-py's default pool has no ceiling."""
from __future__ import annotations

from redis.asyncio import BlockingConnectionPool

from app.settings import get_settings


def bounded_pool(redis_url: str) -> BlockingConnectionPool:
    s = get_settings()
    return BlockingConnectionPool.from_url(redis_url, max_connections=s.redis_pool_max,
                                           timeout=s.redis_pool_timeout_seconds)
