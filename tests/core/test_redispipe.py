"""The throttle's pipelined Redis connection (app.core.redispipe): concurrent callers share one
connection and each gets its own reply; a script Redis does not hold is sent whole; a cancelled
caller leaves the connection in step; a connection Redis closed is opened again; Redis
unreachable or silent is a redis ConnectionError (the throttle then runs unthrottled), a full
waiting room PoolExhausted (the throttle then refuses); credentials and database from the URL."""
from __future__ import annotations

import asyncio
import socket
import time
import uuid

import hiredis
import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from app.core import throttle
from app.core.redisconn import PoolExhausted
from app.core.redispipe import PipelinedScripts
from app.settings import get_settings

CAPACITY, RATE = 1000, 0.000001  # restores nothing to speak of while a test runs


@pytest.fixture
async def pipe():
    p = PipelinedScripts(get_settings().redis_url, max_waiting=64, timeout=2.0)
    yield p
    await p.aclose()


async def _take(p: PipelinedScripts, key: str, cost: float):
    ok, level = await p.evalsha(throttle._TAKE_SHA, throttle._TAKE, [key], [CAPACITY, repr(RATE), repr(time.time()), repr(float(cost))])
    return ok, float(level)


def _key() -> str:
    return f"huifang:test:pipe:{uuid.uuid4()}"


async def test_concurrent_callers_share_one_connection_and_each_gets_its_own_reply(pipe):
    key = _key()
    await _take(pipe, key, 0)
    conn = pipe._conn
    replies = await asyncio.gather(*(_take(pipe, key, 1) for _ in range(200)))
    assert all(ok == 1 for ok, _ in replies)
    # each caller saw the bucket just after its own charge: 200 different levels, in Redis' order
    assert sorted(level for _, level in replies) == [float(CAPACITY - n) for n in range(200, 0, -1)]
    assert pipe._conn is conn and not conn.waiting


async def test_a_script_redis_does_not_hold_is_sent_whole(pipe):
    client = Redis.from_url(get_settings().redis_url)
    try:
        await client.script_flush()
        key = _key()
        assert await _take(pipe, key, 5) == (1, 995.0)  # NOSCRIPT, then EVAL
        assert await client.script_exists(throttle._TAKE_SHA) == [True]
        assert await _take(pipe, key, 5) == (1, 990.0)  # EVALSHA again
    finally:
        await client.aclose()


async def test_a_cancelled_caller_leaves_the_connection_in_step(pipe):
    key = _key()
    await _take(pipe, key, 0)
    waiting = asyncio.ensure_future(_take(pipe, key, 1))
    await asyncio.sleep(0)  # written, not yet answered
    waiting.cancel()
    ok, level = await _take(pipe, key, 10)
    # the cancelled command still ran in Redis; its reply was read and dropped, not handed to this caller
    assert (ok, level) == (1, 989.0)
    assert not pipe._conn.waiting


async def test_a_connection_redis_closed_is_opened_again(pipe):
    key = _key()
    await _take(pipe, key, 1)
    old = pipe._conn
    client_id = await pipe.call("CLIENT", "ID")
    admin = Redis.from_url(get_settings().redis_url)
    try:
        assert await admin.client_kill_filter(_id=client_id) == 1
    finally:
        await admin.aclose()
    for _ in range(50):
        if old.closed:
            break
        await asyncio.sleep(0.01)
    assert old.closed
    assert await _take(pipe, key, 1) == (1, 998.0)
    assert pipe._conn is not old


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_redis_unreachable_is_a_connection_error():
    p = PipelinedScripts(f"redis://127.0.0.1:{_free_port()}/0", max_waiting=4, timeout=1.0)
    started = time.perf_counter()
    with pytest.raises(RedisConnectionError):
        await _take(p, _key(), 1)
    assert time.perf_counter() - started < 1.0


class FakeRedis:
    """Records the commands it reads; answers +OK to each (redis-py's handshake included), except
    scripts, which it never answers."""

    def __init__(self):
        self.commands, self.server = [], None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader, writer):
        parser = hiredis.Reader()
        while data := await reader.read(65536):
            parser.feed(data)
            while (command := parser.gets()) is not False:
                self.commands.append([c.decode() for c in command])
                if command[0].upper() not in (b"EVALSHA", b"EVAL"):
                    writer.write(b"+OK\r\n")
        writer.close()

    async def stop(self):
        self.server.close()


async def test_credentials_and_database_come_from_the_url():
    """redis-py's own handshake (its connection opens the socket, then hands it over)."""
    fake = FakeRedis()
    port = await fake.start()
    p = PipelinedScripts(f"redis://bench:s3cret@127.0.0.1:{port}/7", max_waiting=4, timeout=1.0)
    try:
        assert await p.call("PING") == b"OK"
        names = [c[0] for c in fake.commands]
        assert fake.commands[names.index("AUTH")] == ["AUTH", "bench", "s3cret"]
        assert fake.commands[names.index("SELECT")] == ["SELECT", "7"]
        assert names.index("AUTH") < names.index("SELECT") and fake.commands[-1] == ["PING"]
    finally:
        await p.aclose()
        await fake.stop()


async def test_redis_silent_past_the_timeout_closes_the_connection():
    fake = FakeRedis()
    port = await fake.start()
    p = PipelinedScripts(f"redis://127.0.0.1:{port}/0", max_waiting=4, timeout=0.2)
    try:
        await p.call("PING")
        conn = p._conn
        started = time.perf_counter()
        results = await asyncio.gather(_take(p, _key(), 1), _take(p, _key(), 1), return_exceptions=True)
        assert all(isinstance(r, RedisConnectionError) for r in results), results
        assert 0.15 < time.perf_counter() - started < 1.0
        assert conn.closed and not conn.waiting
        assert await p.call("PING") == b"OK" and p._conn is not conn  # the next call: another connection
    finally:
        await p.aclose()
        await fake.stop()


async def test_a_command_that_cannot_be_sent_leaves_the_connection_in_step(pipe):
    """A key that cannot be encoded fails its own caller, before anything is queued: the callers
    after it still get their own replies."""
    await pipe.call("PING")
    with pytest.raises(UnicodeEncodeError):
        await _take(pipe, "huifang:test:pipe:\ud800", 1)
    replies = await asyncio.gather(*(pipe.call("ECHO", f"caller{i}") for i in range(4)))
    assert replies == [f"caller{i}".encode() for i in range(4)]


async def test_another_event_loop_gets_its_own_connection_and_the_last_one_is_closed():
    """As a CLI's second `asyncio.run` would: the first loop's connection is closed, not left open."""
    import threading

    url = get_settings().redis_url
    p = PipelinedScripts(url, max_waiting=4, timeout=2.0)
    ids = []

    def run():
        async def one():
            ids.append(await p.call("CLIENT", "ID"))
            await asyncio.sleep(0)

        asyncio.run(one())

    for _ in range(3):
        t = threading.Thread(target=run)
        t.start()
        t.join()
    assert len(set(ids)) == 3
    ids.append(await p.call("CLIENT", "ID"))
    admin = Redis.from_url(url)
    try:
        for _ in range(100):  # Redis drops a closed connection as it reads the end of it
            listed = {int(line.split(" ")[0].split("=")[1])
                      for line in (await admin.execute_command("CLIENT", "LIST")).decode().splitlines()}
            if not listed & set(ids[:3]):
                break
            await asyncio.sleep(0.01)
        assert ids[-1] in listed and not listed & set(ids[:3])  # the earlier loops' connections: closed
    finally:
        await admin.aclose()
        await p.aclose()


async def test_a_full_waiting_room_is_pool_exhausted_after_the_timeout():
    p = PipelinedScripts(get_settings().redis_url, max_waiting=1, timeout=0.2)
    await p._room.acquire()  # the one place taken, as by a command still waiting on Redis
    try:
        started = time.perf_counter()
        with pytest.raises(PoolExhausted):
            await _take(p, _key(), 1)
        assert 0.15 < time.perf_counter() - started < 1.0
    finally:
        p._room.release()
    try:
        assert (await _take(p, _key(), 1))[0] == 1  # room again
    finally:
        await p.aclose()
