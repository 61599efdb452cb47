"""Cost throttling (issue #12 item 3): a leaky bucket per partner app and per user of each
brand, in Redis, on the injected clock; THROTTLED (HTTP 429, Retry-After) before any database
work; `extensions.cost` in Shopify's shape, the actual cost given back."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from app.core import clock, throttle
from app.core.ids import to_global_id
from app.settings import get_settings
from tests.querycount import count_queries

# requested 503 (a search adds 500), actual 502: the page came back empty
SEARCH = "query($s: String) { customers(first: 1, filter: {search: $s}) { nodes { id } } }"
NO_MATCH = {"s": "no-such-customer"}


@pytest.fixture
def bucket(monkeypatch):
    """Shopify's bucket: 1000 points, restoring 50 a second, and the clock to move it with
    (`bucket.advance(0)` freezes it, in the test's own context)."""
    monkeypatch.setattr(get_settings(), "graphql_cost_bucket_size", 1000)
    monkeypatch.setattr(get_settings(), "graphql_cost_restore_rate", 50.0)

    class Clock:
        now = datetime(2031, 6, 1, tzinfo=timezone.utc) + timedelta(days=uuid.uuid4().int % 10_000)

        def advance(self, seconds: float) -> None:
            self.now += timedelta(seconds=seconds)
            clock._frozen.set(self.now)

    return Clock()


def cost(body: dict) -> dict:
    return body["extensions"]["cost"]


def test_the_defaults_fit_every_admitted_operation_in_a_full_bucket():
    from app.settings import Settings

    s = Settings(graphql_cost_bucket_size=Settings.model_fields["graphql_cost_bucket_size"].default)  # the tests' own is huge
    assert s.graphql_throttle and s.cost_bucket_size == s.graphql_max_cost == 5000 and s.graphql_cost_restore_rate == 250
    assert Settings(graphql_cost_bucket_size=1000).cost_bucket_size == 1000


async def test_bucket_fills_restores_and_says_how_long_to_wait(bucket):
    bucket.advance(0)
    key = throttle.bucket_key(uuid.uuid4(), "user:probe")
    st = await throttle.take(key, 600, 1000, 50)
    assert st.allowed and st.available == 400
    st = await throttle.take(key, 500, 1000, 50)
    assert not st.allowed and st.available == 400 and st.retry_after == 2.0  # 100 points at 50/s; nothing charged
    bucket.advance(1)
    st = await throttle.take(key, 500, 1000, 50)
    assert not st.allowed and st.available == 450 and st.retry_after == 1.0
    bucket.advance(1)
    st = await throttle.take(key, 500, 1000, 50)
    assert st.allowed and st.available == 0
    st = await throttle.give_back(key, 120, 1000, 50)
    assert st.available == 120
    bucket.advance(3600)
    st = await throttle.take(key, 0, 1000, 50)
    assert st.available == 1000  # never above capacity
    st = await throttle.give_back(key, 300, 1000, 50)
    assert st.available == 1000
    bucket.advance(-30)  # a replica whose clock is behind refills nothing, and still charges
    st = await throttle.take(key, 10, 1000, 50)
    assert st.allowed and st.available == 990


async def test_throttled_over_http_is_429_with_the_wait_and_no_database_work(gql, brand_a, bucket):
    bucket.advance(0)
    tok = brand_a.token()
    body = await gql(tok, SEARCH, NO_MATCH)
    assert cost(body) == {"requestedQueryCost": 503, "actualQueryCost": 502,
                          "throttleStatus": {"maximumAvailable": 1000, "currentlyAvailable": 498, "restoreRate": 50.0}}
    with count_queries() as refused:
        r = await gql.raw(tok, SEARCH, NO_MATCH)
    assert refused.count == 0, refused.statements
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    body = r.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "THROTTLED", "retryAfterSeconds": 0.1}
    assert cost(body) == {"requestedQueryCost": 503, "actualQueryCost": 0,
                          "throttleStatus": {"maximumAvailable": 1000, "currentlyAvailable": 498, "restoreRate": 50.0}}
    bucket.advance(0.05)
    r = await gql.raw(tok, SEARCH, NO_MATCH)
    assert r.status_code == 429 and r.json()["errors"][0]["extensions"]["retryAfterSeconds"] == 0.05
    bucket.advance(0.05)  # exactly the wait: the bucket holds 503 again
    body = await gql(tok, SEARCH, NO_MATCH)
    assert cost(body)["throttleStatus"]["currentlyAvailable"] == 1
    bucket.advance(20)  # restored in full
    body = await gql(tok, SEARCH, NO_MATCH)
    assert cost(body)["throttleStatus"]["currentlyAvailable"] == 498


async def test_each_app_and_each_user_has_its_own_bucket_in_each_brand(gql, brand_a, brand_b, bucket):
    bucket.advance(0)
    from app.core import ratelimit
    from app.core.auth.tokens import mint_access_token
    from tests.factories import make_app

    app, _ = await make_app(brand_a, scopes=["customers:read"])
    app_token = mint_access_token(tenant_id=brand_a.tenant_id, subject=app.client_id, client_id=app.client_id, scope="customers:read")
    # a user acting through the app has a budget of its own, apart from the app's and the user's
    via_app = mint_access_token(tenant_id=brand_a.tenant_id, subject=str(brand_a.users["admin"].id), client_id=app.client_id,
                                scope="customers:read")

    async def status(token) -> int:
        return (await gql.raw(token, SEARCH, NO_MATCH)).status_code

    assert [await status(brand_a.token()), await status(brand_a.token())] == [200, 429]
    assert [await status(brand_a.token("analyst")), await status(brand_a.token("analyst"))] == [200, 429]
    assert [await status(app_token), await status(app_token)] == [200, 429]
    assert [await status(via_app), await status(via_app)] == [200, 429]
    assert [await status(brand_b.token()), await status(brand_b.token())] == [200, 429]  # another brand's callers unaffected
    keys = {k.decode() async for k in ratelimit.redis().scan_iter(f"huifang:cost:{brand_a.tenant_id}:*")}
    assert keys == {f"huifang:cost:{brand_a.tenant_id}:user:{brand_a.users['admin'].id}",
                    f"huifang:cost:{brand_a.tenant_id}:user:{brand_a.users['analyst'].id}",
                    f"huifang:cost:{brand_a.tenant_id}:app:{app.client_id}",
                    f"huifang:cost:{brand_a.tenant_id}:app:{app.client_id}:user:{brand_a.users['admin'].id}"}


async def test_cost_extension_of_paged_queries_with_variables(gql, brand_a, bucket):
    """Requested: each field 1, pages times `first` (a variable's value); actual: times the items
    each page returned, nested pages by their own items; the rest goes back to the bucket."""
    bucket.advance(0)
    tok = brand_a.token()
    q = ("query($n: Int!, $after: String) { dealers(first: $n, after: $after) { edges { cursor node { id code } } "
         "pageInfo { hasNextPage endCursor } } }")
    first = await gql(tok, q, {"n": 2})
    assert cost(first)["requestedQueryCost"] == 1 + 2 * (5 + 3) and cost(first)["actualQueryCost"] == 17  # a full page
    after = first["data"]["dealers"]["pageInfo"]["endCursor"]
    last = await gql(tok, q, {"n": 2, "after": after})
    assert len(last["data"]["dealers"]["edges"]) == 1
    assert cost(last)["requestedQueryCost"] == 17 and cost(last)["actualQueryCost"] == 1 + 8
    wide = await gql(tok, q, {"n": 50})
    assert cost(wide)["requestedQueryCost"] == 1 + 50 * 8 and cost(wide)["actualQueryCost"] == 1 + 3 * 8
    nested = await gql(tok, "query($n: Int) { customers(first: $n) { nodes { name promises(first: 5) { createdAt } } } }", {"n": 2})
    assert cost(nested)["requestedQueryCost"] == 1 + 2 * (1 + 1 + (1 + 5)) and cost(nested)["actualQueryCost"] == 1 + 2 * 3
    ids = [brand_a.gid("Dealer", "d1"), brand_a.gid("Dealer", "d2"), to_global_id("Dealer", uuid.uuid4())]
    found = await gql(tok, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids})
    assert cost(found)["requestedQueryCost"] == 1 + 3 and cost(found)["actualQueryCost"] == 1 + 2
    made = await gql(tok, 'mutation { dealerCreate(input: {code: "COST-1", name: "c", region: "north"}) { dealer { id } errors { code } } }')
    assert cost(made)["requestedQueryCost"] == 10 + 2 + 2 and cost(made)["actualQueryCost"] == 10 + 2 + 1  # a mutation costs 10
    spent = sum(cost(b)["actualQueryCost"] for b in (first, last, wide, nested, found, made))
    assert cost(made)["throttleStatus"] == {"maximumAvailable": 1000, "currentlyAvailable": 1000 - spent, "restoreRate": 50.0}


async def test_a_failed_field_costs_what_it_requested(gql, brand_a, bucket, monkeypatch):
    bucket.advance(0)
    from app.tenant import repository

    async def boom(scope):
        raise RuntimeError("down")

    monkeypatch.setattr(repository, "get_brand", boom)
    body = await gql(brand_a.token(), "{ brand { name again: name } viewer { roles } }", errors_ok=True)
    assert body["data"]["brand"] is None and body["data"]["viewer"]["roles"] == ["BRAND_ADMIN"]
    assert cost(body)["requestedQueryCost"] == 5 and cost(body)["actualQueryCost"] == 5


async def test_an_operation_larger_than_the_bucket_is_too_costly_not_throttled(gql, brand_a, bucket, monkeypatch):
    bucket.advance(0)
    q = "{ dealers(first: 100) { nodes { id code name region city timeZone customerCount } } }"  # 1 + 100 * 8
    body = await gql(brand_a.token(), q)
    assert cost(body)["requestedQueryCost"] == 801 and cost(body)["actualQueryCost"] == 1 + 3 * 8
    monkeypatch.setattr(get_settings(), "graphql_cost_bucket_size", 500)  # it could never run: never THROTTLED
    with count_queries() as refused:
        r = await gql.raw(brand_a.token(), q)
    assert refused.count == 0 and r.status_code == 200
    body = r.json()
    assert body["data"] is None and body["errors"][0]["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 801, "maxCost": 500}
    assert cost(body)["requestedQueryCost"] == 801 and cost(body)["actualQueryCost"] == 0
    assert cost(body)["throttleStatus"]["maximumAvailable"] == 500


async def test_redis_down_runs_unthrottled_and_says_so(gql, brand_a, bucket, monkeypatch, caplog):
    bucket.advance(0)
    import redis.exceptions

    from schema import limits

    async def down(*_a, **_kw):
        raise redis.exceptions.ConnectionError("gone")

    monkeypatch.setattr(throttle, "take", down)
    monkeypatch.setattr(limits._Bucket, "_warned_at", float("-inf"))
    for _ in range(3):
        body = await gql(brand_a.token(), SEARCH, NO_MATCH)
        assert cost(body) == {"requestedQueryCost": 503, "actualQueryCost": 502, "throttleStatus": None}
    warnings = [r for r in caplog.records if "unthrottled" in r.getMessage()]
    assert len(warnings) == 1  # once a minute, not once a request


async def test_an_overloaded_redis_pool_throttles_instead_of_letting_operations_through(gql, brand_a, bucket, monkeypatch):
    """Redis down: the operation runs unthrottled (above). This process's commands to Redis at
    their limit (REDIS_POOL_MAX waiting on the throttle's pipelined connection) for the whole
    REDIS_POOL_TIMEOUT_SECONDS is another matter: Redis is up and the process overloaded (a
    flood), so the operation is refused, THROTTLED with a wait of a second, before any database
    work; once there is room again it is served and charged."""
    from app.core import ratelimit
    from app.core.redispipe import PipelinedScripts

    bucket.advance(0)
    await gql(brand_a.token(), "{ viewer { roles } }")  # the brand's document policy read (and cached) first
    tiny = PipelinedScripts(get_settings().redis_url, max_waiting=1, timeout=0.1)
    monkeypatch.setattr(ratelimit, "_scripts", tiny)
    await tiny.call("PING")
    await tiny._room.acquire()  # the one place taken, as by a command still waiting on Redis
    try:
        with count_queries() as refused:
            r = await gql.raw(brand_a.token(), SEARCH, NO_MATCH)
        assert refused.count == 0, refused.statements
        assert r.status_code == 429 and r.headers["retry-after"] == "1"
        body = r.json()
        assert body["data"] is None and body["errors"][0]["extensions"] == {"code": "THROTTLED", "retryAfterSeconds": 1.0}
        assert cost(body) == {"requestedQueryCost": 503, "actualQueryCost": 0, "throttleStatus": None}
    finally:
        tiny._room.release()
    try:
        body = await gql(brand_a.token(), SEARCH, NO_MATCH)  # room again: served, and charged
        assert cost(body)["throttleStatus"]["currentlyAvailable"] == 1000 - 2 - 502  # the warm-up cost 2
    finally:
        await tiny.aclose()


async def test_throttling_can_be_switched_off(gql, brand_a, bucket, monkeypatch):
    bucket.advance(0)
    monkeypatch.setattr(get_settings(), "graphql_throttle", False)
    for _ in range(3):
        body = await gql(brand_a.token(), SEARCH, NO_MATCH)
        assert cost(body)["throttleStatus"] is None
