"""Platform regressions from the two code reviews: cursors, readiness, input size limits and
statement counts of list queries (moved from tests/test_review_fixes.py and tests/test_gaps.py;
each failed before its fix)."""
import base64
import uuid

from app.core import jobs
from app.core.ids import to_global_id
from tests.factories import make_app, make_customer
from tests.querycount import count_queries

# ---- the security review (was tests/test_review_fixes.py; each failed before its fix) ----------------

async def test_malformed_cursors_are_invalid_cursor_not_500(gql, brand_a):
    for cursor in ("WzEsMl0", base64.urlsafe_b64encode(b'[5,"00000000-0000-0000-0000-000000000000"]').decode().rstrip("="),
                   base64.urlsafe_b64encode(b'["a\\u0000","00000000-0000-0000-0000-000000000000"]').decode().rstrip("=")):
        for q in ("query($a: String) { customers(after: $a) { nodes { id } } }", "query($a: String) { dealers(after: $a) { nodes { id } } }",
                  "query($a: String) { partnerApps(after: $a) { nodes { id } } }"):
            body = await gql(brand_a.token(), q, {"a": cursor}, errors_ok=True)
            assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR", (q, cursor)
    body = await gql(brand_a.token(), 'query($a: String) { customers(after: $a, orderBy: CREATED_AT) { nodes { id } } }',
                     {"a": base64.urlsafe_b64encode(b'["2024-01-01T00:00:00","00000000-0000-0000-0000-000000000000"]').decode()}, errors_ok=True)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"



# ---- the second review: behaviour it found untested (was tests/test_gaps.py) ------------------------

async def test_readyz_reports_503_when_redis_is_down(client, monkeypatch):
    def broken():
        raise ConnectionError("down")

    monkeypatch.setattr(jobs, "pool", broken)
    r = await client.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["redis"].startswith("error") and r.json()["checks"]["database"] == "ok"


async def test_size_limits_on_ids_and_search(gql, brand_a):
    body = await gql(brand_a.token(), "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ["x"] * 101}, errors_ok=True)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ID"
    body = await gql(brand_a.token(), "query($s: String) { customers(filter: {search: $s}) { nodes { id } } }", {"s": "x" * 101}, errors_ok=True)
    assert body["errors"][0]["extensions"]["code"] == "INVALID"


async def test_list_queries_have_constant_statement_counts(gql, brand_a):
    q = "{ partnerApps(first: 50) { nodes { name dealer { code } } } customerImports(first: 10) { nodes { status } } auditEvents(first: 20) { nodes { action } } }"
    uq = "{ users(first: 50) { nodes { email memberships { role dealer { code } } } } }"
    await make_app(brand_a, dealer_id=brand_a.dealers["d1"].id)
    await gql(brand_a.token(), "{ viewer { roles } }")  # a brand's first request in a process also reads its document policy
    with count_queries() as small:
        await gql(brand_a.token(), q)
    with count_queries() as users_small:
        await gql(brand_a.token(), uq)
    for key in ("d1", "d2", "d3", "d1", "d2"):
        await make_app(brand_a, dealer_id=brand_a.dealers[key].id)
        await gql(brand_a.token(), 'mutation($i: UserCreateInput!) { userCreate(input: $i) { errors { code } } }',
                  {"i": {"email": f"qc-{key}-{uuid.uuid4().hex[:6]}@x.cn", "displayName": "qc",
                         "memberships": [{"role": "DEALER_AGENT", "dealerId": brand_a.gid("Dealer", key)}]}})
    with count_queries() as big:
        await gql(brand_a.token(), q)
    with count_queries() as users_big:
        await gql(brand_a.token(), uq)
    assert small.count == big.count
    assert users_small.count == users_big.count
    c = await make_customer(brand_a)
    tq = 'query($id: ID!) { customerTimeline(customerId: $id, first: 50) { nodes { kind } } }'
    with count_queries() as one:
        await gql(brand_a.token(), tq, {"id": to_global_id("Customer", c.id)})
    assert one.count <= 6

