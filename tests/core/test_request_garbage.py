"""An operation leaves no reference cycles behind: once answered, everything it built (its
context, loaders, every row read, the executor) is freed by reference counting. One cycle
anywhere (a closure over the context kept on the context, graphql-core's helpers bound to its
executor, a nested function that calls itself) kept a tickets page's ~800 objects alive until
a collection of the older generations, which then walked them: a fifth of the page's CPU."""
from __future__ import annotations

import gc
import json
from collections import Counter

from app.core.ids import to_global_id
from tests.asgi_call import post_graphql
from tests.factories import make_customer

DOCUMENTS = {
    "tickets page": "{ tickets(first: 10) { edges { cursor node { id number title status priority createdAt "
                    "dealer { id code name } customer { id name } agent { id } } } pageInfo { hasNextPage } } }",
    "dealers page": "{ viewer { roles brand { id name } } dealers(first: 5) { edges { cursor node { id code name region } } "
                    "pageInfo { hasNextPage } } }",
    "customers page": "{ customers(first: 5) { nodes { id name dealer { code } } } }",
    "ticket counts": "{ ticketCounts { status dealerId count } }",
}


async def _call(app, token: str, query: str, variables: dict | None = None) -> dict:
    return json.loads(await post_graphql(app, token, json.dumps({"query": query, "variables": variables or {}}).encode()))


async def test_answered_operations_leave_no_reference_cycles(app, gql, brand_a):
    customer = await make_customer(brand_a, "d1")
    create = """mutation($i: TicketCreateInput!) { ticketCreate(input: $i) { ticket { id } errors { code } } }"""
    for title in ("车门异响", "保养超时"):
        r = await gql(brand_a.token(), create, {"i": {"customerId": to_global_id("Customer", customer.id), "source": "HOTLINE",
                                                      "title": title, "verbatim": "还是有问题"}})
        assert r["data"]["ticketCreate"]["errors"] == []
    token = brand_a.token()
    documents = {**DOCUMENTS, "node": ("query($id: ID!) { node(id: $id) { id ... on Customer { name } } }",
                                       {"id": to_global_id("Customer", customer.id)}),
                 "a mutation": (create, {"i": {"customerId": to_global_id("Customer", customer.id), "source": "HOTLINE",
                                               "title": "再次投诉", "verbatim": "还是有问题"}})}
    for _ in range(3):  # warm: plans, loaders' types, the pool's connections made
        for doc in documents.values():
            query, variables = doc if isinstance(doc, tuple) else (doc, None)
            answer = await _call(app, token, query, variables)
            assert "errors" not in answer and answer["data"], answer
    assert len((await _call(app, token, DOCUMENTS["tickets page"]))["data"]["tickets"]["edges"]) == 5  # 2 + 3 warming
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds goes to gc.garbage instead of being freed
    try:
        found = {}
        for name, doc in documents.items():
            query, variables = doc if isinstance(doc, tuple) else (doc, None)
            for _ in range(3):
                assert "errors" not in await _call(app, token, query, variables)
            gc.collect()
            found[name] = Counter(type(o).__qualname__ for o in gc.garbage)
            gc.garbage.clear()
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was_enabled:
            gc.enable()
    assert all(not kinds for kinds in found.values()), {name: kinds.most_common(8) for name, kinds in found.items() if kinds}
