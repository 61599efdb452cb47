"""The service behind PgBouncer in transaction-pooling mode (DB_PGBOUNCER=true).

The test starts Debian's `pgbouncer` in front of the suite's PostgreSQL (the machine's or the
embedded one) with two server connections per pool, far fewer than the service's client
connections, so that transactions of different brands take turns on the same server
connections. The GraphQL path (the real `python -m app serve`, two workers, through PgBouncer,
switching to the unprivileged service role through it too) then keeps every brand to its own
rows: the tenant is `set_config(..., true)`, transaction-local, and leaves nothing behind on a
server connection. Without pgbouncer the tests skip, naming the package; under CI they fail
(`.ci/run` installs it)."""
from __future__ import annotations

import asyncio
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from app.core.db import PgTarget
from app.core.ids import to_global_id
from app.settings import get_settings
from tests.serve_helpers import free_port, start_serve

POOL_SIZE = 2  # server connections per (database, user): far fewer than the service's clients


def _pgbouncer() -> str:
    found = shutil.which("pgbouncer") or next((p for p in ("/usr/sbin/pgbouncer",) if os.access(p, os.X_OK)), None)
    if found:
        return found
    reason = "Debian pgbouncer not installed: apt-get install pgbouncer"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: the PgBouncer tests must run, .ci/run installs it)")
    pytest.skip(reason)


@dataclass
class Bouncer:
    port: int
    log: Path
    database: str
    superuser: str

    def target(self, user: str) -> PgTarget:
        return PgTarget(user=user, password=None, host="127.0.0.1", port=self.port, database=self.database)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def _run_as(pg: PgTarget) -> str | None:
    """PgBouncer refuses to run as root: then it runs as the owner of PostgreSQL's socket
    directory (the embedded server), else as `postgres`, else `nobody`."""
    if os.geteuid() != 0:
        return None
    if pg.host.startswith("/"):
        return pwd.getpwuid(os.stat(pg.host).st_uid).pw_name
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name).pw_name
        except KeyError:
            continue
    pytest.fail("running as root, and there is no user to run pgbouncer as")


@pytest.fixture
def bouncer():
    binary = _pgbouncer()
    s = get_settings()
    pg = PgTarget.parse(s.admin_url)  # the suite's test database, as its superuser
    run_dir = Path(tempfile.mkdtemp(prefix="huifang-pgbouncer-"))
    port = free_port()
    (run_dir / "users.txt").write_text(f'"{pg.user}" ""\n"{s.app_db_role}" ""\n')
    (run_dir / "pgbouncer.ini").write_text(f"""[databases]
* = host={pg.host} port={pg.port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {run_dir}/users.txt
pool_mode = transaction
default_pool_size = {POOL_SIZE}
max_client_conn = 500
log_connections = 1
log_disconnections = 0
stats_period = 3600
logfile = {run_dir}/pgbouncer.log
pidfile = {run_dir}/pgbouncer.pid
""")
    cmd = [binary, str(run_dir / "pgbouncer.ini")]
    user = _run_as(pg)
    if user:
        shutil.chown(run_dir, user)
        for f in run_dir.iterdir():
            shutil.chown(f, user)
        cmd[1:1] = ["-u", user]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {proc.stdout.read().decode(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield Bouncer(port, run_dir / "pgbouncer.log", pg.database, pg.user)
    finally:
        proc.send_signal(signal.SIGTERM)  # immediate shutdown
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture
def pgbouncer_setting(monkeypatch):
    monkeypatch.setenv("DB_PGBOUNCER", "true")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("DB_PGBOUNCER")
    get_settings.cache_clear()


async def _cached_statement_after_a_server_change(bouncer: Bouncer) -> None:
    """One client runs a statement, another client's transaction then holds that server
    connection, and the first client runs the statement again: PgBouncer gives it the other
    server connection, where asyncpg's cached (named) prepared statement does not exist."""
    role = get_settings().app_db_role
    a, b = await bouncer.target(role).connect(), await bouncer.target(role).connect()
    try:
        assert await a.fetchval("SELECT 1 + $1::int", 1) == 2
        async with b.transaction():
            await b.fetchval("SELECT 1")
            assert await a.fetchval("SELECT 1 + $1::int", 1) == 2
    finally:
        await a.close()
        await b.close()


async def test_this_pgbouncer_pools_transactions_and_the_setting_makes_asyncpg_fit(bouncer, pgbouncer_setting, monkeypatch):
    await _cached_statement_after_a_server_change(bouncer)  # DB_PGBOUNCER=true: no statement cache
    monkeypatch.setenv("DB_PGBOUNCER", "false")
    get_settings.cache_clear()
    # the control: with asyncpg's statement cache, the same steps break (so this PgBouncer
    # really hands transactions to different server connections)
    with pytest.raises(asyncpg.InvalidSQLStatementNameError):
        await _cached_statement_after_a_server_change(bouncer)


VIEW = """query($other: ID!) { viewer { brand { name } } other: node(id: $other) { id }
  dealers(first: 20) { nodes { name } } customers(first: 100) { nodes { name } } }"""
CREATE = """mutation($i: CustomerCreateInput!) { customerCreate(input: $i) { customer { id name dealer { name } }
  errors { field code message } } }"""


async def test_graphql_through_pgbouncer_keeps_every_brand_to_its_own_rows(tmp_path, bouncer, pgbouncer_setting, brand_a, brand_b):
    served = start_serve(tmp_path, workers=2, env={
        # a superuser URL through PgBouncer: the service switches to the service role, through it too
        "DATABASE_URL": bouncer.target(bouncer.superuser).url(), "DB_PGBOUNCER": "true"})
    try:
        brands = {brand_a.slug: (brand_a, brand_b), brand_b.slug: (brand_b, brand_a)}
        rounds = 12

        async def create(c, me, i):
            r = await c.post("/graphql", headers={"Authorization": f"Bearer {me.token()}"}, json={
                "query": CREATE, "variables": {"i": {"name": f"{me.slug}-pgb-{i}", "dealerId": me.gid("Dealer", "d1")}}})
            assert r.status_code == 200, r.text
            body = r.json()
            assert "errors" not in body, body
            payload = body["data"]["customerCreate"]
            assert payload["errors"] == [] and payload["customer"]["dealer"]["name"].startswith(me.slug), payload

        async def view(c, me, other):
            r = await c.post("/graphql", headers={"Authorization": f"Bearer {me.token()}"}, json={
                "query": VIEW, "variables": {"other": to_global_id("Customer", other.customers[0].id)}})
            assert r.status_code == 200, r.text
            body = r.json()
            assert "errors" not in body, body
            data = body["data"]
            assert data["viewer"]["brand"]["name"] == f"Brand {me.slug}"
            assert data["other"] is None  # another brand's customer does not exist for me
            assert data["dealers"]["nodes"] and all(d["name"].startswith(me.slug) for d in data["dealers"]["nodes"])
            names = [n["name"] for n in data["customers"]["nodes"]]
            assert not [n for n in names if other.slug in n], names
            return names

        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(base_url=served.base, limits=limits, timeout=30) as c:
            work = []
            for i in range(rounds):
                for me, other in brands.values():
                    work += [create(c, me, i), view(c, me, other)]
            await asyncio.gather(*work)
            for me, other in brands.values():  # everything each brand wrote, and only that
                names = await view(c, me, other)
                assert sorted(n for n in names if "-pgb-" in n) == sorted(f"{me.slug}-pgb-{i}" for i in range(rounds))
    finally:
        code = served.stop()
    assert code == 0, served.log_text()[-3000:]

    # the service's connections shared the few server connections (transaction pooling at work)
    log = bouncer.log_text()
    role = get_settings().app_db_role
    clients = len(re.findall(rf"login attempt: db={re.escape(bouncer.database)} user={re.escape(role)} ", log))
    servers = len(re.findall(rf"S-\w+: {re.escape(bouncer.database)}/{re.escape(role)}@\S+ new connection to server", log))
    assert 1 <= servers <= POOL_SIZE < clients, (servers, clients)

    # and no server connection kept a tenant: outside the tenant transaction nothing is visible
    conns = [await bouncer.target(role).connect() for _ in range(POOL_SIZE)]
    try:
        async def probe(conn):
            async with conn.transaction():  # both held at once: every server connection of the pool
                row = await conn.fetchrow("SELECT current_setting('app.tenant_id', true) AS tenant, "
                                          "(SELECT count(*) FROM customer) AS customers, pg_backend_pid() AS pid")
                await asyncio.sleep(0.2)
                return row

        rows = await asyncio.gather(*(probe(conn) for conn in conns))
        assert len({r["pid"] for r in rows}) == POOL_SIZE
        assert all(not r["tenant"] and r["customers"] == 0 for r in rows), rows
    finally:
        for conn in conns:
            await conn.close()
