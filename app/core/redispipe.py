"""One pipelined Redis connection per process for the cost throttle's script (issue 12, "Speed").

Every GraphQL operation charges its caller's bucket (app.core.throttle): one EVALSHA before
anything else runs. Through redis-py's client that call costs this process about 120 µs of CPU
(a pool checkout under a condition and a timeout, its health check's zero-timeout read, the
command packed in Python, a retry wrapper, the release and its event), more than the script's
round trip itself. Here the same command goes down one connection that every waiting operation
shares: packed and parsed by hiredis (redis-py's own parser), written at once, and its reply
matched to its caller in the order Redis answers (Redis answers a connection's commands in the
order they came), so concurrent operations pipeline on it without a pool or a lock. About 45 µs.

It runs only short scripts (never a blocking command, which would hold every caller behind it).
What stays as before:
- **Redis down or unreachable**: a redis `ConnectionError`, which the throttle takes as "run
  unthrottled and say so"; the next call connects again.
- **No reply within `REDIS_POOL_TIMEOUT_SECONDS`**: the connection is taken for hung and closed
  (everything waiting on it fails the same way) and the next call opens another.
- **Overload**: at most `REDIS_POOL_MAX` commands wait on Redis at once per process; a caller
  that finds no room within `REDIS_POOL_TIMEOUT_SECONDS` gets `PoolExhausted`, which the
  throttle answers THROTTLED (an overload must not switch throttling off).
- A caller cancelled while waiting (a deadline) leaves its reply to be read and dropped; the
  connection stays in step.

`REDIS_URL` as redis-py reads it (`redis://`, `rediss://`, `unix://`; user, password, database)."""
from __future__ import annotations

import asyncio
import ssl
from collections import deque

import hiredis
from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection, parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

from app.core.redisconn import PoolExhausted


class _Connection(asyncio.Protocol):
    """One Redis connection: commands written in turn, each reply handed to the next waiter."""

    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.waiting: deque[asyncio.Future] = deque()
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        try:
            while (reply := self.reader.gets()) is not False:
                waiter = self.waiting.popleft()
                if not waiter.done():  # else its caller was cancelled: the reply is dropped
                    waiter.set_result(reply)
        except Exception as e:  # noqa: BLE001 - a protocol error or a reply nobody waits for: out of step
            self.close(RedisConnectionError(f"Redis connection out of step: {type(e).__name__}"))

    def connection_lost(self, exc) -> None:
        self.close(RedisConnectionError("Redis closed the connection" + (f": {exc}" if exc else "")))

    def close(self, error: Exception) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_exception(error)

    async def call(self, command: tuple, timeout: float):
        if self.closed:
            raise RedisConnectionError("Redis connection closed")
        waiter = asyncio.get_running_loop().create_future()
        self.waiting.append(waiter)
        self.transport.write(hiredis.pack_command(command))
        try:
            async with asyncio.timeout(timeout):
                reply = await waiter
        except TimeoutError:
            self.close(RedisConnectionError(f"no reply from Redis within {timeout:g} s"))
            raise RedisConnectionError(f"no reply from Redis within {timeout:g} s") from None
        if isinstance(reply, hiredis.ReplyError):
            message = str(reply)
            raise (NoScriptError if message.startswith("NOSCRIPT") else ResponseError)(message)
        return reply


class PipelinedScripts:
    """The process's pipelined connection to `url`, opened on first use (in the running event
    loop; a call from another loop opens its own)."""

    def __init__(self, url: str, *, max_waiting: int, timeout: float):
        self._options = parse_url(url)
        self.timeout = timeout
        self.max_waiting = max_waiting
        self._room = asyncio.Semaphore(max_waiting)
        self._room_loop: asyncio.AbstractEventLoop | None = None
        self._conn: _Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Future | None = None

    async def evalsha(self, sha: str, script: str, keys: list, args: list):
        """The script's reply (`EVALSHA`, or `EVAL` when Redis does not hold the script yet).
        Raises PoolExhausted, redis ConnectionError or ResponseError."""
        loop = asyncio.get_running_loop()
        if self._room_loop is not loop:  # an asyncio primitive serves one loop: another loop, another room
            if self._room_loop is not None:
                self._room = asyncio.Semaphore(self.max_waiting)
            self._room_loop = loop
        room = self._room
        if room.locked():
            try:
                async with asyncio.timeout(self.timeout):
                    await room.acquire()
            except TimeoutError:
                raise PoolExhausted(f"more than {self.max_waiting} Redis commands waiting for {self.timeout:g} s") from None
        else:
            await room.acquire()  # room: at once
        try:
            conn = self._conn
            if conn is None or conn.closed or self._loop is not asyncio.get_running_loop():
                conn = await self._connection()
            try:
                return await conn.call(("EVALSHA", sha, len(keys), *keys, *args), self.timeout)
            except NoScriptError:
                return await conn.call(("EVAL", script, len(keys), *keys, *args), self.timeout)
        finally:
            room.release()

    async def call(self, *command):
        """Any short command on the pipelined connection (tests, `CLIENT ID`)."""
        conn = self._conn
        if conn is None or conn.closed or self._loop is not asyncio.get_running_loop():
            conn = await self._connection()
        return await conn.call(command, self.timeout)

    async def _connection(self) -> _Connection:
        loop = asyncio.get_running_loop()
        if self._opening is not None and self._loop is loop and not self._opening.done():
            return await asyncio.shield(self._opening)  # another caller is connecting: the same connection
        self._loop = loop
        self._opening = loop.create_task(self._open())
        return await asyncio.shield(self._opening)

    async def _open(self) -> _Connection:
        o = self._options
        cls = o.get("connection_class")
        try:
            async with asyncio.timeout(self.timeout):
                if cls is UnixDomainSocketConnection:
                    _, conn = await asyncio.get_running_loop().create_unix_connection(_Connection, o["path"])
                else:
                    context = ssl.create_default_context() if cls is SSLConnection else None
                    _, conn = await asyncio.get_running_loop().create_connection(
                        _Connection, o.get("host", "localhost"), o.get("port", 6379), ssl=context)
        except (OSError, TimeoutError) as e:
            raise RedisConnectionError(f"cannot connect to Redis: {type(e).__name__}: {e}") from None
        try:
            if o.get("password") is not None:
                await conn.call(("AUTH", *([o["username"]] if o.get("username") else []), o["password"]), self.timeout)
            if o.get("db"):
                await conn.call(("SELECT", o["db"]), self.timeout)
        except BaseException:
            conn.close(RedisConnectionError("Redis connection setup failed"))
            raise
        self._conn = conn
        return conn

    async def aclose(self) -> None:
        if self._conn is not None:
            self._conn.close(RedisConnectionError("Redis connection closed"))
            self._conn = None
