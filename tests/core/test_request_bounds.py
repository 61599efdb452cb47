"""What one caller can cost everyone else: concurrent work never outlives its request, one bad
id fails alone, costs count variables, every statement has a timeout, and no tenant holds the
whole pool (security review findings 1, 3, 4, 8)."""
import asyncio
import time
import uuid

import httpx
import pytest

from app.core.ids import to_global_id

NODES_Q = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"


def _flood_ids(brand):
    unknown = [to_global_id("Customer", uuid.uuid4()) for _ in range(20)]
    return unknown + ["not-a-valid-id!!", to_global_id("PartnerApp", uuid.uuid4())]


async def test_one_bad_id_fails_alone(gql, brand_a):
    ids = [brand_a.gid("Dealer", "d1"), "garbage", brand_a.gid("Dealer", "d2")]
    body = await gql(brand_a.token("d1_agent"), NODES_Q, {"ids": ids}, errors_ok=True)
    nodes = body["data"]["nodes"]
    assert nodes[0] == {"id": ids[0]} and nodes[1] is None and nodes[2] is None  # d2 is another dealer's
    assert [e["path"] for e in body["errors"]] == [["nodes", 1]]
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ID"
    # a node type the caller may not read fails alone too
    ids = [brand_a.gid("Dealer", "d1"), to_global_id("PartnerApp", uuid.uuid4())]
    body = await gql(brand_a.token("d1_agent"), NODES_Q, {"ids": ids}, errors_ok=True)
    assert body["data"]["nodes"][0] == {"id": ids[0]} and body["data"]["nodes"][1] is None
    assert body["errors"][0]["path"] == ["nodes", 1] and body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


async def test_flood_of_part_failing_nodes_does_not_starve_another_brand(live_server, brand_a, brand_b):
    """Four clients flood `nodes` with part-failing lookups from brand A while brand B polls
    `viewer`: no 5xx anywhere, B stays prompt, and the pool is healthy afterwards."""
    a_token, b_token = brand_a.token("d1_agent"), brand_b.token()
    stop = asyncio.Event()
    statuses: list[int] = []
    b_latencies: list[float] = []

    async def flood():
        async with httpx.AsyncClient(base_url=live_server, timeout=30) as c:
            while not stop.is_set():
                r = await c.post("/graphql", json={"query": NODES_Q, "variables": {"ids": _flood_ids(brand_a)}},
                                 headers={"Authorization": f"Bearer {a_token}"})
                statuses.append(r.status_code)
                if r.status_code == 200:
                    body = r.json()
                    assert body["data"]["nodes"] == [None] * 22, body

    async def poll_b():
        async with httpx.AsyncClient(base_url=live_server, timeout=30) as c:
            for _ in range(40):
                t = time.perf_counter()
                r = await c.post("/graphql", json={"query": "{ viewer { roles } brand { name } dealers(first: 5) { nodes { id } } }"},
                                 headers={"Authorization": f"Bearer {b_token}"})
                b_latencies.append(time.perf_counter() - t)
                assert r.status_code == 200 and "errors" not in r.json(), r.text
                await asyncio.sleep(0.02)
        stop.set()

    await asyncio.gather(poll_b(), *(flood() for _ in range(4)))
    assert len(statuses) > 50 and set(statuses) == {200}, sorted(set(statuses))
    assert max(b_latencies) < 5.0, max(b_latencies)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as c:  # the pool is still whole
        for token in (a_token, b_token):
            r = await c.post("/graphql", json={"query": "{ viewer { roles } }"}, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200 and "errors" not in r.json()


CREATE_OK = 'ok: dealerCreate(input: {code: "%s", name: "Kept %s", region: "north"}) { dealer { id code } errors { code } }'
CREATE_BAD = 'bad: dealerCreate(input: {code: "!!", name: "", region: ""}) { dealer { id } errors { code } }'


async def _dealer_codes(brand):
    from app.core import db
    from app.tenant.models import Dealer

    async with db.tenant_transaction(brand.tenant_id):
        return {d.code for d in await Dealer.filter(tenant_id=brand.tenant_id)}


async def test_each_root_mutation_rolls_back_alone_in_both_orders(gql, brand_a):
    """A failing mutation undoes only its own work: the others' payloads are true (their ids
    exist afterwards), whichever comes first."""
    for order, code in (("ok-first", "SP-1"), ("bad-first", "SP-2")):
        parts = [CREATE_OK % (code, code), CREATE_BAD]
        if order == "bad-first":
            parts.reverse()
        body = await gql(brand_a.token(), "mutation { " + " ".join(parts) + " }")
        assert body["data"]["ok"]["errors"] == [] and body["data"]["ok"]["dealer"]["code"] == code
        assert body["data"]["bad"]["dealer"] is None and body["data"]["bad"]["errors"]
        assert code in await _dealer_codes(brand_a), order
        node = await gql(brand_a.token(), "query($id: ID!) { node(id: $id) { id } }", {"id": body["data"]["ok"]["dealer"]["id"]})
        assert node["data"]["node"] is not None


async def test_an_unexpected_failure_rolls_back_its_mutation_only(gql, brand_a, monkeypatch):
    from app.tenant import repository

    real = repository.create_dealer

    async def explode_after_insert(scope, **values):
        dealer = await real(scope, **values)
        if values["code"] == "SP-BOOM":
            raise RuntimeError("after the insert")
        return dealer

    monkeypatch.setattr(repository, "create_dealer", explode_after_insert)
    body = await gql(brand_a.token(), "mutation { " + (CREATE_OK % ("SP-BOOM", "boom")).replace("ok:", "boom:") + " "
                     + CREATE_OK % ("SP-3", "SP-3") + " }", errors_ok=True)
    assert body["data"]["boom"] is None and body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert body["data"]["ok"]["dealer"]["code"] == "SP-3"
    codes = await _dealer_codes(brand_a)
    assert "SP-3" in codes and "SP-BOOM" not in codes


async def test_one_denied_root_field_leaves_the_rest_of_the_answer(gql, brand_a):
    body = await gql(brand_a.token("d1_agent"), "{ viewer { roles } customers(first: 2) { nodes { id } } partnerApps { nodes { id } } }",
                     errors_ok=True)
    assert body["data"]["viewer"]["roles"] == ["DEALER_AGENT"]
    assert len(body["data"]["customers"]["nodes"]) == 2
    assert body["data"]["partnerApps"] is None
    assert [e["path"] for e in body["errors"]] == [["partnerApps"]]


async def test_cost_counts_variable_id_lists_and_pages(gql, brand_a, monkeypatch):
    import schema.limits as limits

    monkeypatch.setattr(limits, "MAX_COST", 150)
    ids = [to_global_id("Customer", uuid.uuid4()) for _ in range(100)]
    q = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Customer { name tags } } }"
    body = await gql(brand_a.token(), q, {"ids": ids}, errors_ok=True)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY" and body["data"] is None
    body = await gql(brand_a.token(), q, {"ids": ids[:5]})  # the same document with a short list runs
    assert body["data"]["nodes"] == [None] * 5
    q = "query($n: Int) { dealers(first: $n) { nodes { id code name region city } } }"
    assert (await gql(brand_a.token(), q, {"n": 100}, errors_ok=True))["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert "errors" not in await gql(brand_a.token(), q, {"n": 3})


async def test_search_costs_what_it_does(gql, brand_a):
    from schema.limits import MAX_COST, SEARCH_COST

    n = MAX_COST // SEARCH_COST + 1
    doc = "{ " + " ".join(f'a{i}: customers(first: 1, filter: {{search: "cust{i}"}}) {{ nodes {{ id }} }}' for i in range(n)) + " }"
    body = await gql(brand_a.token(), doc, errors_ok=True)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"


async def test_nul_written_as_a_graphql_escape_is_refused(gql, brand_a):
    body = await gql(brand_a.token(), 'mutation { customerCreate(input: {name: "x\\u{0}y"}) { errors { code } } }', errors_ok=True)
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST" and body.get("data") is None


async def test_out_of_range_cursor_timestamps_are_invalid_cursor(gql, brand_a):
    import base64

    for ts in ("9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00"):
        cursor = base64.urlsafe_b64encode(f'["{ts}","00000000-0000-0000-0000-000000000000"]'.encode()).decode().rstrip("=")
        for q in ("query($a: String) { customers(orderBy: CREATED_AT, after: $a) { nodes { id } } }",
                  "query($a: String) { auditEvents(after: $a) { nodes { at } } }",
                  "query($a: String) { customerImports(after: $a) { nodes { id } } }"):
            body = await gql(brand_a.token(), q, {"a": cursor}, errors_ok=True)
            assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR", (ts, q, body)


async def test_every_statement_runs_under_a_timeout(brand_a, monkeypatch):
    from app.core import db
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "statement_timeout_ms", 200)
    async with db.tenant_transaction(brand_a.tenant_id):
        assert await db.fetch("SHOW statement_timeout", []) == [("200ms",)] or (await db.fetch("SHOW statement_timeout", []))[0][0] == "200ms"
    t = time.perf_counter()
    try:
        async with db.tenant_transaction(brand_a.tenant_id):
            await db.fetch("SELECT pg_sleep(5)", [])
        raise AssertionError("the statement was not stopped")
    except Exception as e:  # noqa: BLE001
        assert "statement timeout" in str(e)
    assert time.perf_counter() - t < 2


async def test_statement_timeout_is_a_clear_graphql_error(gql, brand_a, monkeypatch):
    from app.core import db
    from app.tenant import repository

    async def slow(scope):
        await db.fetch("SELECT pg_sleep(3)", [])

    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "statement_timeout_ms", 100)
    monkeypatch.setattr(repository, "get_brand", slow)
    body = await gql(brand_a.token(), "{ viewer { roles } brand { name } }", errors_ok=True)
    assert body["data"]["viewer"]["roles"] == ["BRAND_ADMIN"] and body["data"]["brand"] is None
    assert body["errors"][0]["extensions"]["code"] == "STATEMENT_TIMEOUT"


async def test_no_tenant_holds_the_whole_pool(brand_a, brand_b, monkeypatch):
    """Brand A holding its whole share waits (then TENANT_BUSY); brand B still gets a connection."""
    from app.core import db
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "tenant_wait_seconds", 0.3)
    share = get_settings().db_tenant_max_connections or max(1, get_settings().db_pool_max - 2)
    release = asyncio.Event()
    entered = 0

    async def hold():
        nonlocal entered
        async with db.tenant_transaction(brand_a.tenant_id):
            entered += 1
            await release.wait()

    holders = [asyncio.create_task(hold()) for _ in range(share)]
    while entered < share:
        await asyncio.sleep(0.01)
    try:
        try:
            async with db.tenant_transaction(brand_a.tenant_id):
                raise AssertionError("brand A got more than its share")
        except db.TenantBusy:
            pass
        async with db.tenant_transaction(brand_b.tenant_id):
            assert await db.fetch("SELECT 1", []) == [(1,)] or True
    finally:
        release.set()
        await asyncio.gather(*holders)


async def test_graphql_core_no_longer_cancels_the_siblings_of_a_failed_field():
    """graphql-core's executor cancels the siblings of a failed non-null field; here every
    sibling runs to its end (schema.plan_cache.gather_settled), then the first failure in the
    fields' order propagates: a statement is never cancelled mid-flight by a sibling's error."""
    from graphql.execution import executor

    from schema.plan_cache import gather_settled

    assert executor.gather_with_cancel is gather_settled
    finished = []

    async def slow(i):
        await asyncio.sleep(0.05)
        finished.append(i)
        return i

    async def fails(message):
        raise ValueError(message)

    with pytest.raises(ValueError, match="first"):
        await gather_settled(slow(1), fails("first"), slow(2), fails("second"))
    assert sorted(finished) == [1, 2]
    assert await gather_settled(slow(3), slow(4)) == [3, 4]


async def test_a_transaction_aborted_by_a_cancelled_statement_is_not_reported_committed(brand_a):
    """If a statement is cancelled anyway (a task of the transaction cancelled by someone),
    asyncpg cancels it in PostgreSQL and the transaction is aborted: its COMMIT answers
    ROLLBACK, and that is an error (db.RolledBack), never a quiet success."""
    from app.core import db

    with pytest.raises(db.RolledBack):
        async with db.tenant_transaction(brand_a.tenant_id):
            await db.fetch("INSERT INTO dealer (id, tenant_id, code, name, region, time_zone, customer_count, created_at, updated_at) "
                           "VALUES (gen_random_uuid(), $1, 'ROLLED-BACK', 'x', 'r', 'Asia/Shanghai', 0, now(), now())",
                           [brand_a.tenant_id])
            task = asyncio.ensure_future(db.fetch("SELECT pg_sleep(0.3)", []))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert not await db.healthy()
    assert "ROLLED-BACK" not in await _dealer_codes(brand_a)


async def test_a_failing_payload_field_beside_a_slow_one_keeps_the_mutation(gql, brand_a, monkeypatch):
    """The fuzzer's case: a created customer's payload asks for a slow list and an invalid one;
    the invalid one fails at once, graphql-core cancels the slow one mid-statement, and the
    operation must still commit (no NOT_COMMITTED), keeping the customer it reported."""
    from app.core import db
    from app.customer import repository

    real = repository.children_limited

    async def slow(scope, name, keys):
        await db.fetch("SELECT pg_sleep(0.3)", [])
        return await real(scope, name, keys)

    monkeypatch.setattr(repository, "children_limited", slow)
    body = await gql(brand_a.token(), """mutation { customerCreate(input: {name: "Cancelled sibling"}) {
        customer { id promises(first: 5) { createdAt } interactions(first: 100000) { occurredAt } } errors { code } } }""",
                     errors_ok=True)
    codes = [e["extensions"]["code"] for e in body["errors"]]
    assert codes == ["INVALID_PAGINATION"], body
    async with db.tenant_transaction(brand_a.tenant_id):
        assert (await db.fetch("SELECT count(*) FROM customer WHERE name = 'Cancelled sibling'", []))[0][0] == 1


async def test_a_response_over_the_size_bound_is_refused_whole(gql, brand_a, monkeypatch):
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "graphql_max_response_bytes", 300)
    body = await gql(brand_a.token(), "{ customers(first: 50) { nodes { id name createdAt } } }", errors_ok=True)
    assert body["data"] is None
    err = body["errors"][0]["extensions"]
    assert err["code"] == "RESPONSE_TOO_LARGE" and err["maxBytes"] == 300 and err["mutationsApplied"] is False

    # a mutation whose answer is too big was still kept, and the error says so
    big = " ".join(CREATE_OK.replace("ok:", f"m{i}:") % (f"RS-{i}", f"RS-{i}" * 5) for i in range(4))
    body = await gql(brand_a.token(), "mutation { " + big + " }", errors_ok=True)
    assert body["errors"][0]["extensions"]["code"] == "RESPONSE_TOO_LARGE"
    assert body["errors"][0]["extensions"]["mutationsApplied"] is True
    assert {f"RS-{i}" for i in range(4)} <= set(await _dealer_codes(brand_a))


def test_production_defaults_hide_the_schema():
    from app.settings import Settings

    prod = Settings(env="production")
    assert not prod.introspection_enabled and not prod.suggestions_enabled and not prod.graphiql_enabled
    dev = Settings(env="development")
    assert dev.introspection_enabled and dev.suggestions_enabled
    assert Settings(env="production", graphql_introspection=True).introspection_enabled


def test_without_introspection_and_suggestions_nothing_of_the_schema_leaks(brand_a):
    from tests.conftest import spawn_server, stop_server

    base, proc = spawn_server({"GRAPHQL_INTROSPECTION": "false", "GRAPHQL_SUGGESTIONS": "false"})
    try:
        headers = {"Authorization": f"Bearer {brand_a.token()}"}
        r = httpx.post(f"{base}/graphql", json={"query": "{ __schema { types { name } } }"}, headers=headers)
        assert r.status_code == 200 and r.json()["data"] is None
        assert r.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "introspection" in r.json()["errors"][0]["message"].lower()
        r = httpx.post(f"{base}/graphql", json={"query": "{ __type(name: \"Customer\") { fields { name } } }"}, headers=headers)
        assert r.json()["data"] is None
        r = httpx.post(f"{base}/graphql", json={"query": "{ customers(first: 1) { nodes { nam } } }"}, headers=headers)
        msg = r.json()["errors"][0]["message"]
        assert "nam" in msg and "Did you mean" not in msg and "'name'" not in msg
        # __typename is not introspection: clients (Apollo, Relay) need it
        r = httpx.post(f"{base}/graphql", json={"query": "{ viewer { __typename } }"}, headers=headers)
        assert r.json()["data"]["viewer"]["__typename"]
    finally:
        stop_server(proc)

    base, proc = spawn_server()  # the development defaults, for contrast
    try:
        r = httpx.post(f"{base}/graphql", json={"query": "{ customers(first: 1) { nodes { nam } } }"},
                       headers={"Authorization": f"Bearer {brand_a.token()}"})
        assert "Did you mean" in r.json()["errors"][0]["message"]
    finally:
        stop_server(proc)


async def test_each_redis_pool_is_bounded_and_a_burst_waits_for_a_connection(monkeypatch):
    """REDIS_POOL_MAX: 20 callers at once over 2 connections all get their answer (they queue),
    never more than 2 connections open; the service's own clients use that pool."""
    from redis.asyncio import BlockingConnectionPool, Redis

    from app.core import jobs, ratelimit
    from app.core.redisconn import bounded_pool
    from app.settings import get_settings

    for client in (ratelimit.redis(), jobs.pool()):
        pool = client.connection_pool
        assert isinstance(pool, BlockingConnectionPool) and pool.max_connections == get_settings().redis_pool_max
    monkeypatch.setattr(get_settings(), "redis_pool_max", 2)
    client = Redis(connection_pool=bounded_pool(get_settings().redis_url))
    most = 0

    async def one(i):
        nonlocal most
        # BLPOP holds its connection for 50 ms: 20 of them over 2 connections take >= 0.5 s
        answer = await client.blpop([f"huifang:test:empty:{uuid.uuid4()}"], timeout=0.05)
        pool = client.connection_pool
        most = max(most, len(pool._in_use_connections) + len(pool._available_connections))
        return answer

    started = time.perf_counter()
    try:
        assert await asyncio.gather(*(one(i) for i in range(20))) == [None] * 20
    finally:
        await client.aclose()
    assert most <= 2 and time.perf_counter() - started >= 0.45


async def test_a_redis_pool_that_stays_full_fails_after_its_timeout(monkeypatch):
    """PoolExhausted (a redis ConnectionError, told apart from Redis being down) after
    REDIS_POOL_TIMEOUT_SECONDS, not after the holder lets go."""
    from redis.asyncio import Redis

    from app.core.redisconn import PoolExhausted, bounded_pool
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "redis_pool_max", 1)
    monkeypatch.setattr(get_settings(), "redis_pool_timeout_seconds", 0.1)
    client = Redis(connection_pool=bounded_pool(get_settings().redis_url))
    try:
        holder = asyncio.ensure_future(client.blpop([f"huifang:test:empty:{uuid.uuid4()}"], timeout=1))
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        with pytest.raises(PoolExhausted):
            await client.get("huifang:test:anything")
        assert time.perf_counter() - started < 0.5  # the timeout, not the holder's second
        assert await holder is None
    finally:
        await client.aclose()
