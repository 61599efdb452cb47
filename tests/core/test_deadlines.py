"""Production defaults (issue #12 item 5): a deadline for the whole operation, a statement
timeout that answers STATEMENT_TIMEOUT, both giving the connection back at once; batches
refused; introspection and suggestions off in production mode."""
import asyncio
import time

import httpx
import pytest

from app.core import db
from app.settings import get_settings
from tests.querycount import count_queries

CREATE = 'mutation { dealerCreate(input: {code: "%s", name: "slow", region: "north"}) { dealer { id } errors { code } } }'


@pytest.fixture
def one_connection(brand_a, monkeypatch):
    """Brand A may hold a single connection: a request that kept it would stall the next one."""
    monkeypatch.setattr(get_settings(), "db_tenant_max_connections", 1)
    monkeypatch.setattr(get_settings(), "tenant_wait_seconds", 1.0)
    db._tenant_slots.pop(brand_a.tenant_id, None)
    yield
    db._tenant_slots.pop(brand_a.tenant_id, None)


async def _dealer_codes(brand) -> set[str]:
    async with db.tenant_transaction(brand.tenant_id):
        return {r[0] for r in await db.fetch("SELECT code FROM dealer WHERE tenant_id = $1", [brand.tenant_id])}


async def _running(admin_conn, text: str) -> int:
    return await admin_conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE $1 AND state <> 'idle' AND pid <> pg_backend_pid()", f"%{text}%")


async def _prompt(gql, brand) -> float:
    t = time.perf_counter()
    body = await gql(brand.token(), "{ viewer { roles } }")
    assert body["data"]["viewer"]["roles"] == ["BRAND_ADMIN"]
    return time.perf_counter() - t


async def test_a_slow_mutation_stops_at_its_deadline_rolled_back_with_its_connection_free(
        gql, brand_a, monkeypatch, one_connection, admin_conn):
    from app.tenant import repository

    real = repository.create_dealer

    async def slow(scope, **values):
        dealer = await real(scope, **values)
        await asyncio.sleep(0.9)
        # started 0.9 s into the operation, under a statement timeout of the whole deadline (1 s)
        await db.fetch("SELECT pg_sleep(10) /* deadline probe */", [])
        return dealer

    monkeypatch.setattr(repository, "create_dealer", slow)
    monkeypatch.setattr(get_settings(), "graphql_deadline_ms", 1000)
    t = time.perf_counter()
    body = await gql(brand_a.token(), CREATE % "LATE-1", errors_ok=True)
    elapsed = time.perf_counter() - t
    assert body["data"] is None and len(body["errors"]) == 1
    ext = body["errors"][0]["extensions"]
    assert ext["code"] == "DEADLINE_EXCEEDED" and ext["deadlineMs"] == 1000 and ext["requestId"]
    assert "nothing of it was kept" in body["errors"][0]["message"]
    # answered at the deadline: the running statement was cancelled in PostgreSQL, not left to
    # run into its own timeout (0.9 + 1 s)
    assert 0.95 < elapsed < 1.5, elapsed
    assert await _running(admin_conn, "deadline probe") == 0
    assert "LATE-1" not in await _dealer_codes(brand_a)  # rolled back
    assert await _prompt(gql, brand_a) < 0.9  # the brand's only connection is free at once
    assert body["extensions"]["cost"]["actualQueryCost"] == body["extensions"]["cost"]["requestedQueryCost"]


async def test_the_deadline_stops_slow_python_too(gql, brand_a, monkeypatch, one_connection):
    from app.tenant import repository

    async def stuck(scope):
        await asyncio.sleep(10)

    monkeypatch.setattr(repository, "get_brand", stuck)
    monkeypatch.setattr(get_settings(), "graphql_deadline_ms", 300)
    t = time.perf_counter()
    body = await gql(brand_a.token(), "{ viewer { roles } brand { name } }", errors_ok=True)
    assert time.perf_counter() - t < 2
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "DEADLINE_EXCEEDED"
    monkeypatch.undo()
    assert await _prompt(gql, brand_a) < 0.9


async def test_no_statement_outlives_the_deadline(gql, brand_a, monkeypatch):
    from app.tenant import repository

    seen = []
    real = repository.get_brand

    async def probe(scope):
        seen.append((await db.fetch("SHOW statement_timeout", []))[0][0])
        return await real(scope)

    monkeypatch.setattr(repository, "get_brand", probe)
    monkeypatch.setattr(get_settings(), "graphql_deadline_ms", 800)
    await gql(brand_a.token(), "{ brand { name } }")
    assert seen and seen[0].endswith("ms") and int(seen[0][:-2]) <= 800
    monkeypatch.setattr(get_settings(), "graphql_deadline_ms", 0)  # none: the statement timeout alone
    await gql(brand_a.token(), "{ brand { name } }")
    assert seen[1] == "5s"


async def test_a_runaway_statement_is_statement_timeout_and_gives_the_connection_back(
        gql, brand_a, monkeypatch, one_connection, admin_conn):
    from app.tenant import repository

    real = repository.create_dealer

    async def runaway(scope, **values):
        dealer = await real(scope, **values)
        await db.fetch("SELECT pg_sleep(5) /* runaway probe */", [])
        return dealer

    monkeypatch.setattr(get_settings(), "statement_timeout_ms", 200)
    monkeypatch.setattr(repository, "create_dealer", runaway)
    t = time.perf_counter()
    body = await gql(brand_a.token(), CREATE % "RUNAWAY-1", errors_ok=True)
    assert time.perf_counter() - t < 2
    assert body["data"] == {"dealerCreate": None}
    err = body["errors"][0]
    assert err["path"] == ["dealerCreate"] and err["extensions"]["code"] == "STATEMENT_TIMEOUT" and err["extensions"]["requestId"]
    assert "statement timeout" in err["message"]
    assert "RUNAWAY-1" not in await _dealer_codes(brand_a)  # its savepoint rolled back
    assert await _running(admin_conn, "runaway probe") == 0
    assert await admin_conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' "
                                     "AND application_name = 'huifang'") == 0
    assert await _prompt(gql, brand_a) < 0.9


async def test_batches_are_refused(client, brand_a):
    h = {"Authorization": f"Bearer {brand_a.token()}"}
    with count_queries() as c:
        r = await client.post("/graphql", json=[{"query": "{ viewer { roles } }"}, {"query": "{ brand { name } }"}], headers=h)
    assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "batching is not supported" in r.json()["errors"][0]["message"] and c.count == 0
    r = await client.get("/graphql", params={"query": "[{ viewer { roles } }]"}, headers=h)
    assert r.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_production_mode_publishes_nothing_of_the_schema(brand_a):
    """ENV=production, no override: no introspection, no suggestions, no GraphiQL; a deadline."""
    from app.settings import Settings
    from tests.conftest import spawn_server, stop_server

    prod = Settings(env="production")
    assert prod.graphql_deadline_ms == 15000 and prod.statement_timeout_ms == 5000 and prod.graphql_throttle
    base, proc = spawn_server({"ENV": "production", "PUBLIC_URL": "https://huifang.test"})
    try:
        h = {"Authorization": f"Bearer {brand_a.token()}"}
        r = httpx.post(f"{base}/graphql", json={"query": "{ __schema { queryType { name } } }"}, headers=h)
        assert r.json()["data"] is None and "introspection" in r.json()["errors"][0]["message"].lower()
        r = httpx.post(f"{base}/graphql", json={"query": "{ __type(name: \"Dealer\") { name } }"}, headers=h)
        assert r.json()["data"] is None
        r = httpx.post(f"{base}/graphql", json={"query": "{ dealers(first: 1) { nodes { cod } } }"}, headers=h)
        msg = r.json()["errors"][0]["message"]
        assert "cod" in msg and "Did you mean" not in msg and "'code'" not in msg
        r = httpx.post(f"{base}/graphql", json={"query": "{ dealers(first: 1) { nodes { code } } }"}, headers=h)
        assert r.json()["extensions"]["cost"]["requestedQueryCost"] == 3
        assert httpx.get(f"{base}/graphql", headers={**h, "accept": "text/html"}).status_code == 404
        r = httpx.post(f"{base}/graphql", json=[{"query": "{ viewer { roles } }"}], headers=h)
        assert r.status_code == 400
    finally:
        stop_server(proc)
