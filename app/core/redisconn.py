"""The Redis connection pools of a process: bounded (REDIS_POOL_MAX), waiting for a free
connection up to REDIS_POOL_TIMEOUT_SECONDS instead of opening one per concurrent request.
A burst of requests (or a slow Redis) then queues here, with a known ceiling on the
connections each worker holds; redis-py's default pool has no ceiling."""
from __future__ import annotations

import asyncio

from redis.asyncio import BlockingConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError

from app.settings import get_settings


class PoolExhausted(RedisConnectionError):
    """Every connection of this process's pool (or every place of the throttle's pipelined
    connection, app.core.redispipe) stayed busy for REDIS_POOL_TIMEOUT_SECONDS: the process is
    overloaded, Redis is not down. Callers that fail open when Redis is unavailable
    (the cost throttle) refuse instead: an overload must not switch throttling off."""


class _BoundedPool(BlockingConnectionPool):
    async def get_connection(self, *args, **kwargs):
        try:
            return await super().get_connection(*args, **kwargs)
        except RedisConnectionError as e:
            if isinstance(e.__cause__, asyncio.TimeoutError):  # redis-py's "No connection available."
                raise PoolExhausted("no Redis connection became free in time") from e
            raise


def bounded_pool(redis_url: str) -> BlockingConnectionPool:
    s = get_settings()
    return _BoundedPool.from_url(redis_url, max_connections=s.redis_pool_max, timeout=s.redis_pool_timeout_seconds)
