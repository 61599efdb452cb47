"""Test session: real PostgreSQL and a real Redis-compatible server, never mocks.

Without DATABASE_URL / REDIS_URL, embedded PostgreSQL 18 and Valkey are started under
.data/test-*; with them, those servers are used (a `<db>_test` database is recreated, never the
named database itself). The schema is built by the real migrations and the service connects as
the unprivileged role, exactly as in production."""
from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_servers: list = []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pytest_configure(config):
    if os.environ.get("HUIFANG_TEST_CONFIGURED"):
        return
    os.environ["HUIFANG_TEST_CONFIGURED"] = "1"
    from app.core.db import PgTarget

    data = ROOT / ".data"
    data.mkdir(exist_ok=True)
    base_url = os.environ.get("DATABASE_URL")
    if base_url:
        target = PgTarget.parse(base_url)
        admin = PgTarget.parse(os.environ.get("DATABASE_ADMIN_URL") or base_url)
        test_db = f"{target.database}_test"
        os.environ["DATABASE_URL"] = target.with_(database=test_db).url()
        os.environ["DATABASE_ADMIN_URL"] = admin.with_(database=test_db).url()
    else:
        from app.core.embedded import start_postgres

        pg, url = start_postgres(data / "test-pg", "huifang_test")
        _servers.append(pg)
        os.environ["DATABASE_URL"] = url
        os.environ["DATABASE_ADMIN_URL"] = url  # explicit: a .env file must not point the tests elsewhere
    if not os.environ.get("REDIS_URL"):
        from app.core.embedded import start_valkey

        vk, rurl = start_valkey(data / "test-valkey", port=_free_port())
        _servers.append(vk)
        os.environ["REDIS_URL"] = rurl
    from app.core.auth.keys import generate_key

    os.environ["JWT_KEYS"] = json.dumps({"keys": [generate_key()]})
    os.environ["QUEUE_NAME"] = f"huifang:test:{uuid.uuid4().hex[:8]}"
    os.environ["ENV"] = "test"
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # the test OAuth client talks plain http to loopback
    os.environ["JWT_ISSUER"] = "https://huifang.test"
    os.environ["LOG_JSON"] = "false"
    # per-IP limits would couple unrelated tests (everything comes from 127.0.0.1); the limits
    # themselves are tested with small values set by the test
    os.environ["RATE_LIMIT_TOKEN_PER_IP"] = "100000"
    os.environ["RATE_LIMIT_LOGIN_PER_IP"] = "100000"
    # so would each test user's cost bucket (a frozen clock never refills it); the throttle is
    # tested with the production bucket by tests/core/test_throttle.py
    os.environ["GRAPHQL_COST_BUCKET_SIZE"] = "1000000000"
    os.environ["LOG_LEVEL"] = "WARNING"
    from app.settings import get_settings

    get_settings.cache_clear()
    s = get_settings()

    async def prepare():
        from app.core.setup import drop_database, setup

        target = PgTarget.parse(s.admin_url)
        if not target.database.endswith("_test") or PgTarget.parse(s.database_url).database != target.database:
            raise RuntimeError(f"refusing to drop {target.database!r}: the test database's name must end in _test")
        await drop_database(target)
        await setup(s.admin_url, s.database_url, s.app_db_role)

    asyncio.run(prepare())


def pytest_unconfigure(config):
    for server in reversed(_servers):
        stop = getattr(server, "stop", None)
        if stop:
            stop()


@pytest.fixture(scope="session", autouse=True)
async def orm():
    from app.core import db, jobs, ratelimit
    from app.settings import get_settings

    s = get_settings()
    target = await db.service_target(s.database_url, s.app_db_role)
    await db.init_orm(target, minsize=1, maxsize=10)
    await jobs.init(s.redis_url, s.queue_name)
    await ratelimit.init(s.redis_url)
    jobs.load_task_modules()
    yield target
    await jobs.close()
    await ratelimit.close()
    await db.close_orm()


@pytest.fixture(scope="session")
def app():
    from app.main import create_app

    return create_app()


@pytest.fixture
async def client(app):
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


@pytest.fixture
def gql(client):
    from tests.factories import GQL

    return GQL(client)


@pytest.fixture
async def brand_a():
    from tests.factories import make_brand

    return await make_brand("a")


@pytest.fixture
async def brand_b():
    from tests.factories import make_brand

    return await make_brand("b")


def spawn_server(extra_env: dict | None = None):
    """The real service in its own process, over real HTTP. Returns (base_url, process)."""
    import httpx

    port = _free_port()
    env = {**os.environ, "PORT": str(port), "LOG_LEVEL": "WARNING", "PUBLIC_URL": f"http://127.0.0.1:{port}", **(extra_env or {})}
    log = open(ROOT / ".data" / f"live-server-{port}.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return base, proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError((ROOT / ".data" / f"live-server-{port}.log").read_text())
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("live server did not become ready")


def stop_server(proc) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def live_server():
    base, proc = spawn_server()
    yield base
    stop_server(proc)
