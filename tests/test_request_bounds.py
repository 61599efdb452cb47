"""What one caller can cost everyone else: concurrent work never outlives its request, one bad
id fails alone, costs count variables, every statement has a timeout, and no tenant holds the
whole pool (security review findings 1, 3, 4, 8)."""
import asyncio
import time
import uuid

import httpx

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
