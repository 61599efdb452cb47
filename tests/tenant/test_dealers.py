"""Dealer management and the keyset-paginated `dealers` connection."""
import pytest

from app.core import db
from app.tenant.models import Dealer

CREATE = """mutation($i: DealerCreateInput!) { dealerCreate(input: $i) {
  dealer { id code name region timeZone city customerCount } errors { field code message } } }"""
UPDATE = """mutation($i: DealerUpdateInput!) { dealerUpdate(input: $i) {
  dealer { id code name region timeZone } errors { field code message } } }"""
PAGE = """query($first: Int, $after: String, $last: Int, $before: String, $order: DealerOrderField!) {
  dealers(first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
    edges { cursor node { code name } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


async def count_dealers(brand):
    async with db.tenant_transaction(brand.tenant_id):
        return await Dealer.filter(tenant_id=brand.tenant_id).count()


async def test_create_and_update(gql, brand_a):
    tok = brand_a.token("admin")
    body = await gql(tok, CREATE, {"i": {"code": "W-009", "name": " 西安雁塔 ", "region": "west", "timeZone": "Asia/Urumqi", "city": "Xi'an"}})
    d = body["data"]["dealerCreate"]
    assert d["errors"] == [] and d["dealer"]["name"] == "西安雁塔" and d["dealer"]["timeZone"] == "Asia/Urumqi"
    body = await gql(tok, UPDATE, {"i": {"id": d["dealer"]["id"], "region": "northwest"}})
    u = body["data"]["dealerUpdate"]
    assert u["errors"] == [] and u["dealer"]["region"] == "northwest" and u["dealer"]["code"] == "W-009"


async def test_invalid_input_reports_every_field_and_writes_nothing(gql, brand_a):
    before = await count_dealers(brand_a)
    body = await gql(brand_a.token("admin"), CREATE, {"i": {"code": "bad code!", "name": "", "region": "x" * 65, "timeZone": "Mars/Olympus"}})
    errs = body["data"]["dealerCreate"]["errors"]
    assert {(e["field"], e["code"]) for e in errs} == {("code", "INVALID"), ("name", "INVALID"), ("region", "INVALID"), ("timeZone", "INVALID_TIME_ZONE")}
    assert body["data"]["dealerCreate"]["dealer"] is None
    assert await count_dealers(brand_a) == before


async def test_duplicate_code_is_a_stable_error(gql, brand_a, brand_b):
    tok = brand_a.token("admin")
    body = await gql(tok, CREATE, {"i": {"code": "N-001", "name": "dup", "region": "north"}})
    assert body["data"]["dealerCreate"]["errors"] == [{"field": "code", "code": "CODE_TAKEN", "message": "A dealer with this code already exists."}]
    # the same code in another brand is fine: uniqueness is per tenant
    body = await gql(brand_b.token("admin"), CREATE, {"i": {"code": "NEW-1", "name": "n", "region": "north"}})
    body = await gql(tok, CREATE, {"i": {"code": "NEW-1", "name": "n", "region": "north"}})
    assert body["data"]["dealerCreate"]["errors"] == []
    body = await gql(tok, UPDATE, {"i": {"id": brand_a.gid("Dealer", "d2"), "code": "N-001"}})
    assert body["data"]["dealerUpdate"]["errors"][0]["code"] == "CODE_TAKEN"


async def test_bad_ids(gql, brand_a):
    tok = brand_a.token("admin")
    for bad in ("not-an-id", "", "RGVhbGVyOm5vdC1hLXV1aWQ", brand_a.gid("User", "admin")):
        body = await gql(tok, UPDATE, {"i": {"id": bad, "name": "x"}})
        assert body["data"]["dealerUpdate"]["errors"][0]["code"] == "INVALID_ID", bad
    body = await gql(tok, "{ node(id: \"%%%\") { id } }", errors_ok=True)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ID" and body["data"]["node"] is None
    body = await gql(tok, "{ nodes(ids: [\"x\"]) { id } }", errors_ok=True)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ID"


async def test_wrong_types_are_graphql_errors(gql, brand_a):
    body = await gql(brand_a.token("admin"), CREATE, {"i": {"code": 5, "name": ["x"], "region": None}}, errors_ok=True)
    assert body["errors"] and body["errors"][0]["extensions"]["code"] in ("GRAPHQL_VALIDATION_FAILED", "BAD_REQUEST")
    assert "data" not in body or body["data"] is None


@pytest.mark.parametrize("order", ["NAME", "CODE"])
async def test_keyset_pagination_forward_and_back(gql, brand_a, order):
    tok = brand_a.token("admin")
    for i in range(7):
        await gql(tok, CREATE, {"i": {"code": f"P-{i:02d}", "name": f"page dealer {6 - i}", "region": "south"}})
    seen, after = [], None
    while True:
        body = await gql(tok, PAGE, {"first": 3, "after": after, "order": order})
        conn = body["data"]["dealers"]
        seen += [e["node"]["code"] for e in conn["edges"]]
        assert conn["pageInfo"]["hasPreviousPage"] == (after is not None)
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    key = "name" if order == "NAME" else "code"
    body = await gql(tok, "query($o: DealerOrderField!) { dealers(first: 100, orderBy: $o) { nodes { code name } } }", {"o": order})
    expected = [n["code"] for n in sorted(body["data"]["dealers"]["nodes"], key=lambda n: n[key])]
    assert seen == expected and len(seen) == 10
    # backwards from the end gives the last page in the same order
    body = await gql(tok, PAGE, {"last": 4, "order": order})
    assert [e["node"]["code"] for e in body["data"]["dealers"]["edges"]] == expected[-4:]
    assert body["data"]["dealers"]["pageInfo"]["hasPreviousPage"] is True
    before = body["data"]["dealers"]["pageInfo"]["startCursor"]
    body = await gql(tok, PAGE, {"last": 4, "before": before, "order": order})
    assert [e["node"]["code"] for e in body["data"]["dealers"]["edges"]] == expected[-8:-4]


async def test_pagination_errors(gql, brand_a):
    tok = brand_a.token("admin")
    for variables, code in (({"first": 101}, "INVALID_PAGINATION"), ({"first": -1}, "INVALID_PAGINATION"),
                            ({"first": 1, "last": 1}, "INVALID_PAGINATION"), ({"after": "garbage!"}, "INVALID_CURSOR"),
                            ({"after": "WzEsMiwzXQ"}, "INVALID_CURSOR")):
        body = await gql(tok, PAGE, {"order": "NAME", **variables}, errors_ok=True)
        assert body["errors"][0]["extensions"]["code"] == code, variables


async def test_dealers_query_count_is_constant(gql, brand_a):
    """Listing dealers with their fields costs the same statements for 3 or 30 dealers."""
    from tests.querycount import count_queries

    tok = brand_a.token("admin")
    q = "{ viewer { roles user { email memberships { role dealer { code } } } brand { name } } dealers(first: 50) { nodes { id code name customerCount } } }"
    await gql(tok, "{ viewer { roles } }")  # a brand's first request in a process also reads its document policy
    with count_queries() as small:
        await gql(tok, q)
    for i in range(27):
        await gql(tok, CREATE, {"i": {"code": f"QC-{i}", "name": f"qc {i}", "region": "north"}})
    with count_queries() as big:
        await gql(tok, q)
    assert small.count == big.count
    assert big.count <= 8, big.statements
