"""Wall one over GraphQL: another brand's actor, or another dealer's staff, gets nothing —
by id, by global node id, through `nodes`, through connections and filters, through mutations.
Another tenant's object and a missing object look the same."""
import uuid

import pytest

from app.core.ids import to_global_id

NODE_Q = "query($id: ID!) { node(id: $id) { id __typename } }"
NODES_Q = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
DEALERS_Q = "query($f: DealerFilter) { dealers(first: 100, filter: $f) { nodes { id code region } } }"
UPDATE_M = "mutation($id: ID!) { dealerUpdate(input: {id: $id, name: \"hijacked\"}) { dealer { id name } errors { field code message } } }"
RECOUNT_M = "mutation($id: ID!) { dealerRecountCustomers(input: {id: $id}) { dealer { id } errors { code message } } }"


def a_ids(a):
    return [a.gid("Dealer", "d1"), a.gid("User", "admin"), a.brand_gid]


async def test_other_brand_gets_nothing_by_node_id(gql, brand_a, brand_b):
    tok = brand_b.token("admin")
    for gid in a_ids(brand_a):
        body = await gql(tok, NODE_Q, {"id": gid})
        assert body["data"]["node"] is None
    body = await gql(tok, NODES_Q, {"ids": a_ids(brand_a)})
    assert body["data"]["nodes"] == [None, None, None]


def _same_answer(body: dict) -> dict:
    """The answer without the caller's bucket level, which moves with every request (the costs
    themselves must match: an actual cost must not tell a foreign object from a missing one)."""
    return {**body, "extensions": {"cost": {**body["extensions"]["cost"], "throttleStatus": None}}}


async def test_foreign_and_missing_look_the_same(gql, brand_a, brand_b):
    tok = brand_b.token("admin")
    foreign = await gql(tok, UPDATE_M, {"id": brand_a.gid("Dealer", "d1")})
    missing = await gql(tok, UPDATE_M, {"id": to_global_id("Dealer", uuid.uuid4())})
    assert _same_answer(foreign) == _same_answer(missing)
    assert foreign["data"]["dealerUpdate"]["errors"][0]["code"] == "NOT_FOUND"
    foreign = await gql(tok, NODE_Q, {"id": brand_a.gid("Dealer", "d1")})
    missing = await gql(tok, NODE_Q, {"id": to_global_id("Dealer", uuid.uuid4())})
    assert _same_answer(foreign) == _same_answer(missing)


async def test_other_brand_connection_and_filters(gql, brand_a, brand_b):
    tok = brand_b.token("admin")
    body = await gql(tok, DEALERS_Q)
    ids = {n["id"] for n in body["data"]["dealers"]["nodes"]}
    assert ids == {brand_b.gid("Dealer", k) for k in brand_b.dealers}
    for f in ({"regions": ["north"]}, {"search": brand_a.slug}, {"search": "N-001"}):
        body = await gql(tok, DEALERS_Q, {"f": f})
        assert not ({n["id"] for n in body["data"]["dealers"]["nodes"]} & {brand_a.gid("Dealer", k) for k in brand_a.dealers})


async def test_other_brand_mutations_touch_nothing(gql, brand_a, brand_b):
    tok = brand_b.token("admin")
    for m in (UPDATE_M, RECOUNT_M):
        body = await gql(tok, m, {"id": brand_a.gid("Dealer", "d1")})
        payload = next(iter(body["data"].values()))
        assert payload["dealer"] is None and payload["errors"][0]["code"] == "NOT_FOUND"
    body = await gql(brand_a.token("admin"), NODE_Q.replace("__typename", "... on Dealer { name }"), {"id": brand_a.gid("Dealer", "d1")})
    assert body["data"]["node"]["name"] != "hijacked"


async def test_viewer_and_brand_are_the_callers(gql, brand_a, brand_b):
    body = await gql(brand_b.token("admin"), "{ viewer { brand { id slug } user { email } } brand { id } }")
    assert body["data"]["viewer"]["brand"]["slug"] == brand_b.slug
    assert body["data"]["brand"]["id"] == brand_b.brand_gid
    assert body["data"]["viewer"]["user"]["email"].endswith(brand_b.slug + ".test")


async def test_a_token_cannot_claim_another_tenant(gql, client, brand_a, brand_b):
    """A token whose tenant claim names brand A but whose subject is B's user is refused."""
    from app.core.auth.tokens import mint_access_token

    tok = mint_access_token(tenant_id=brand_a.tenant_id, subject=str(brand_b.users["admin"].id))
    r = await gql.raw(tok, "{ viewer { roles } }")
    assert r.status_code == 401


@pytest.mark.parametrize("who,visible", [
    ("d1_agent", {"d1"}), ("d1_manager", {"d1"}), ("d3_agent", {"d3"}),
    ("regional", {"d1", "d2"}), ("analyst", {"d1", "d2", "d3"}), ("admin", {"d1", "d2", "d3"}),
])
async def test_dealer_visibility_by_role(gql, brand_a, who, visible):
    tok = brand_a.token(who)
    body = await gql(tok, DEALERS_Q)
    assert {n["id"] for n in body["data"]["dealers"]["nodes"]} == {brand_a.gid("Dealer", k) for k in visible}
    for key in brand_a.dealers:
        node = (await gql(tok, NODE_Q, {"id": brand_a.gid("Dealer", key)}))["data"]["node"]
        assert (node is not None) == (key in visible), (who, key)
    nodes = (await gql(tok, NODES_Q, {"ids": [brand_a.gid("Dealer", k) for k in ("d1", "d2", "d3")]}))["data"]["nodes"]
    assert [n is not None for n in nodes] == [k in visible for k in ("d1", "d2", "d3")]


async def test_dealer_agent_filters_cannot_widen(gql, brand_a):
    tok = brand_a.token("d1_agent")
    body = await gql(tok, DEALERS_Q, {"f": {"regions": ["east", "north"], "search": "0"}})
    assert {n["id"] for n in body["data"]["dealers"]["nodes"]} == {brand_a.gid("Dealer", "d1")}


async def test_dealer_staff_cannot_see_other_users_or_manage_dealers(gql, brand_a):
    tok = brand_a.token("d1_agent")
    assert (await gql(tok, NODE_Q, {"id": brand_a.gid("User", "admin")}))["data"]["node"] is None
    assert (await gql(tok, NODE_Q, {"id": brand_a.gid("User", "d1_agent")}))["data"]["node"] is not None
    for doc in (UPDATE_M, RECOUNT_M, 'mutation { dealerCreate(input: {code: "Z-1", name: "z", region: "north"}) { dealer { id } } }'):
        body = await gql(tok, doc, {"id": brand_a.gid("Dealer", "d1")} if "$id" in doc else None, errors_ok=True)
        assert list(body["data"].values()) == [None]  # the denied field alone is null
        assert body["errors"][0]["extensions"] == {"code": "PERMISSION_DENIED", "missingScope": "admin"}


async def test_membership_dealer_resolves_only_within_scope(gql, brand_a):
    body = await gql(brand_a.token("admin"), "{ viewer { user { memberships { role dealer { code } } } } }")
    assert body["data"]["viewer"]["user"]["memberships"] == [{"role": "BRAND_ADMIN", "dealer": None}]
    body = await gql(brand_a.token("d1_agent"), "{ viewer { roles user { memberships { role dealer { code } } } } }")
    assert body["data"]["viewer"]["user"]["memberships"] == [{"role": "DEALER_AGENT", "dealer": {"code": "N-001"}}]
