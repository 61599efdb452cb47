"""One pipelined Redis connection per process for the cost throttle's script (issue 12, "Speed").

Every GraphQL operation charges its caller's bucket (app.core.throttle): one EVALSHA before
anything else runs. Through redis-py's client that call costs this process about 120 µs of CPU
(a pool checkout under a condition and a timeout, its health check's zero-timeout read, the
command packed in Python, a retry wrapper, the release and its event), more than the script's
round trip itself. Here the same command goes down one connection that every waiting operation
shares: packed and parsed by hiredis (redis-py's own parser), written at once, and its reply
matched to its caller in the order Redis answers (Redis answers a connection's commands in the
order they came), so concurrent operations pipeline on it without a pool or a lock: about 65 µs
for the whole `throttle.take`, where redis-py's took 115–125.

redis-py opens the connection (`REDIS_URL` as it reads it: TLS and its options, a Unix socket,
credentials, the database; its handshake), then hands the socket's transport to this
connection's protocol; error replies become redis-py's exceptions (its parser's mapping). It runs
only short scripts, never a blocking command (that would hold every caller behind it).
What stays as before:
- **Redis down or unreachable**: a redis `ConnectionError`, which the throttle takes as "run
  unthrottled and say so"; the next call connects again.
- **No reply within `REDIS_POOL_TIMEOUT_SECONDS`**: the connection is taken for hung and closed
  (everything waiting on it fails the same way, and runs unthrottled, logged) and the next call
  opens another.
- **Overload**: at most `REDIS_POOL_MAX` commands wait on Redis at once per process; a caller
  that finds no room within `REDIS_POOL_TIMEOUT_SECONDS` gets `PoolExhausted`, which the
  throttle answers THROTTLED (an overload must not switch throttling off).
- A caller cancelled while waiting (a deadline) leaves its reply to be read and dropped; the
  connection stays in step.

One event loop at a time (as the server runs): called from another loop (a test's, a CLI's next
`asyncio.run`), it closes the connection of the previous one and opens its own."""

from __future__ import annotations

import asyncio
import socket
from collections import deque

import hiredis
from redis._parsers.base import BaseParser
from redis.asyncio import ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse, NoScriptError, RedisError

from app.core.redisconn import PoolExhausted


class _Connection(asyncio.Protocol):
    """One Redis connection: commands written in turn, each reply handed to the next waiter."""

    def __init__(self, transport, opened_by) -> None:
        # error replies as redis-py's exceptions (NoScriptError, BusyLoadingError, ...), as its parser makes them
        self.reader = hiredis.Reader(protocolError=InvalidResponse, replyError=BaseParser.parse_error)
        self.waiting: deque[asyncio.Future] = deque()
        self.transport = transport
        self.opened_by = opened_by  # redis-py's connection, which did the handshake (its streams closed with this)
        self.closed = False

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        try:
            while (reply := self.reader.gets()) is not False:
                waiter = self.waiting.popleft()
                if not waiter.done():  # else its caller was cancelled: the reply is dropped
                    waiter.set_result(reply)
        except Exception as e:  # noqa: BLE001 - a protocol error or a reply nobody waits for: out of step
            self.close(RedisConnectionError(f"Redis connection out of step: {type(e).__name__}"))

    def eof_received(self) -> bool:
        self.close(RedisConnectionError("Redis closed the connection"))
        return False

    def connection_lost(self, exc) -> None:
        self.close(RedisConnectionError("Redis closed the connection" + (f": {exc}" if exc else "")))

    def close(self, error: Exception) -> None:
        if not self.closed:
            self.closed = True
            try:
                self.transport.abort()
                self.opened_by._close()  # noqa: SLF001 - redis-py's own silent close of its streams
            except RuntimeError:  # its event loop is closed already: nothing left to run the close,
                try:  # so the connection is ended on the socket itself (Redis drops it at once)
                    self.transport.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
                except (OSError, AttributeError):
                    pass
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_exception(error)

    async def call(self, command: tuple, timeout: float):
        if self.closed:
            raise RedisConnectionError("Redis connection closed")
        data = hiredis.pack_command(command)  # before queueing: a command that cannot be packed is never waited for
        waiter = asyncio.get_running_loop().create_future()
        self.waiting.append(waiter)
        self.transport.write(data)
        try:
            async with asyncio.timeout(timeout):
                reply = await waiter
        except TimeoutError:
            self.close(RedisConnectionError(f"no reply from Redis within {timeout:g} s"))
            raise RedisConnectionError(f"no reply from Redis within {timeout:g} s") from None
        if isinstance(reply, RedisError):
            raise reply
        return reply


class PipelinedScripts:
    """The process's pipelined connection to `url`, opened on first use (in the running event
    loop; a call from another loop opens its own)."""

    def __init__(self, url: str, *, max_waiting: int, timeout: float):
        self._pool = ConnectionPool.from_url(url, socket_connect_timeout=timeout)  # only to make connections
        self.timeout = timeout
        self.max_waiting = max_waiting
        self._room = asyncio.Semaphore(max_waiting)
        self._conn: _Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Future | None = None

    async def evalsha(self, sha: str, script: str, keys: list, args: list):
        """The script's reply (`EVALSHA`, or `EVAL` when Redis does not hold the script yet).
        Raises PoolExhausted, redis ConnectionError or ResponseError."""
        if self._loop is not asyncio.get_running_loop():
            self._switch_loop()
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
            if conn is None or conn.closed:
                conn = await self._connection()
            try:
                return await conn.call(("EVALSHA", sha, len(keys), *keys, *args), self.timeout)
            except NoScriptError:
                return await conn.call(("EVAL", script, len(keys), *keys, *args), self.timeout)
        finally:
            room.release()

    async def call(self, *command):
        """Any short command on the pipelined connection (tests, `CLIENT ID`)."""
        if self._loop is not asyncio.get_running_loop():
            self._switch_loop()
        conn = self._conn
        if conn is None or conn.closed:
            conn = await self._connection()
        return await conn.call(command, self.timeout)

    def _switch_loop(self) -> None:
        """Called from another event loop than the last: the last one's connection closed (its
        waiters fail), a new waiting room (an asyncio primitive serves one loop)."""
        if self._conn is not None:
            self._conn.close(RedisConnectionError("Redis connection of another event loop"))
            self._conn = None
        if self._opening is not None and not self._opening.done():
            try:
                self._opening.cancel()
            except RuntimeError:  # its loop is closed: nothing will run it again
                pass
        self._opening = None
        if self._loop is not None:
            self._room = asyncio.Semaphore(self.max_waiting)
        self._loop = asyncio.get_running_loop()

    async def _connection(self) -> _Connection:
        if self._opening is None or self._opening.done():
            self._opening = asyncio.get_running_loop().create_task(self._open())
            self._opening.add_done_callback(_retrieved)
        return await asyncio.shield(self._opening)  # the callers waiting meanwhile share the same connection

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        opened_by = self._pool.make_connection()
        try:
            async with asyncio.timeout(self.timeout):
                await opened_by.connect()  # redis-py's: TCP, TLS or Unix socket, AUTH/HELLO, SELECT, ...
        except TimeoutError:
            opened_by._close()  # noqa: SLF001
            raise RedisConnectionError(f"no answer from Redis within {self.timeout:g} s while connecting") from None
        transport = opened_by._writer.transport  # noqa: SLF001 - the socket's transport, taken over from here on
        conn = _Connection(transport, opened_by)
        transport.set_protocol(conn)
        if self._loop is not loop:  # the loop changed while connecting: not this loop's connection any more
            conn.close(RedisConnectionError("Redis connection of another event loop"))
            raise RedisConnectionError("Redis connection of another event loop")
        self._conn = conn
        return conn

    async def aclose(self) -> None:
        if self._opening is not None and not self._opening.done():
            self._opening.cancel()
        if self._conn is not None:
            self._conn.close(RedisConnectionError("Redis connection closed"))
            self._conn = None
        await self._pool.disconnect()


def _retrieved(task: asyncio.Task) -> None:
    """A connection attempt that failed after every caller waiting on it gave up: its error is
    theirs (already raised to them), not an unretrieved task exception in the log."""
    if not task.cancelled():
        task.exception()
