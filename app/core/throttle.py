"""Cost throttling: a leaky bucket per caller in Redis (shared by every API replica), as
Shopify's API does. A bucket holds `capacity` points and refills at `rate` points a second; an
operation takes its cost up front and gives back what it did not use.

One Lua script reads, refills and charges the bucket atomically. The time is an argument of
the script, taken from `app.core.clock` (never Redis' own clock), so tests move it; a clock
that goes back (another replica a little behind) refills nothing and charges as usual."""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from app.core import clock, ratelimit

# KEYS[1] the bucket; ARGV: capacity, rate (points/s), now (s), cost (negative: a refund).
# The bucket is a hash {level, at}: the points available at time `at`. A missing bucket is full.
# Returns {1 if charged else 0, level after}; level as a string (Lua numbers would be truncated).
_TAKE = """
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local s = redis.call('HMGET', KEYS[1], 'level', 'at')
local level = tonumber(s[1])
local at = tonumber(s[2])
if level == nil or at == nil then
  level = cap
  at = now
end
if now > at then
  -- kept to a thousandth of a point: float noise in the times must not decide a request
  level = math.floor((level + (now - at) * rate) * 1000 + 0.5) / 1000
  at = now
end
if level > cap then level = cap end
local ok = 0
if cost <= level then
  level = math.min(cap, level - cost)
  ok = 1
end
redis.call('HSET', KEYS[1], 'level', tostring(level), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], math.ceil((cap - level) / rate * 1000) + 60000)
return {ok, tostring(level)}
"""

_TAKE_SHA = hashlib.sha1(_TAKE.encode()).hexdigest()  # noqa: S324 - Redis names scripts by their SHA-1


@dataclass(frozen=True, slots=True)
class Status:
    allowed: bool
    available: float  # points left after this call
    capacity: int
    rate: float
    cost: float

    @property
    def retry_after(self) -> float:
        """Seconds until the bucket holds `cost` points again (0 when it does)."""
        missing = self.cost - self.available
        return 0.0 if missing <= 0 else math.ceil(missing / self.rate * 1000) / 1000


def bucket_key(tenant_id, caller: str) -> str:
    """`caller` is `app:<client_id>` or `user:<id>`: each brand's callers have their own buckets."""
    return f"huifang:cost:{tenant_id}:{caller}"


async def take(key: str, cost: float, capacity: int, rate: float) -> Status:
    """Charge `cost` if the bucket holds it (else charge nothing); a negative cost gives points
    back (never above capacity). Runs on the pipelined connection (app.core.redispipe); raises
    its errors, redis-py's (the caller decides)."""
    now = clock.now().timestamp()
    ok, level = await ratelimit.scripts().evalsha(_TAKE_SHA, _TAKE, [key], [capacity, repr(float(rate)), repr(now), repr(float(cost))])
    return Status(bool(ok), float(level), capacity, rate, float(cost))


async def give_back(key: str, points: float, capacity: int, rate: float) -> Status:
    return await take(key, -points, capacity, rate)
