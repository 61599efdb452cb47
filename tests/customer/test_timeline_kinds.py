"""Modules meet the customer archive through its published registries (app/customer/links):
timeline kinds and the tables that point at a customer. A kind the API does not know never
breaks customerTimeline; merge and erasure act on every registered table, and every table with
a customer_id column is registered (a new module cannot forget it silently)."""
from __future__ import annotations

import pytest

from app.core import clock, db
from app.core.ids import to_global_id
from app.core.tenancy import Actor, scope_for
from app.customer import links
from app.customer.models import CustomerEvent, Interaction
from tests.factories import make_customer

TIMELINE = """query($id: ID!, $kinds: [TimelineKind!]) { customerTimeline(customerId: $id, kinds: $kinds) {
  edges { node { kind kindName refId summary } } } }"""


async def _raw_event(brand, customer_id, kind: str) -> None:
    async with db.tenant_transaction(brand.tenant_id):
        await CustomerEvent.create(tenant_id=brand.tenant_id, customer_id=customer_id, kind=kind, occurred_at=clock.now(),
                                   summary={"by": "system"})


async def _interaction(brand, customer_id, notes: str) -> None:
    async with db.tenant_transaction(brand.tenant_id):
        await Interaction.create(tenant_id=brand.tenant_id, customer_id=customer_id, kind="call", outcome="reached",
                                 notes=notes, occurred_at=clock.now())


async def test_an_unknown_kind_is_other_and_the_timeline_survives(gql, brand_a):
    c = await make_customer(brand_a)
    await _raw_event(brand_a, c.id, "loyalty_points")  # written by a module this version lacks
    gid = to_global_id("Customer", c.id)
    body = await gql(brand_a.token(), TIMELINE, {"id": gid})
    nodes = [e["node"] for e in body["data"]["customerTimeline"]["edges"]]
    assert {"kind": "OTHER", "kindName": "loyalty_points", "refId": None, "summary": {}} in nodes
    assert {"kind": "CREATED", "kindName": "created"} in [{k: n[k] for k in ("kind", "kindName")} for n in nodes]

    only_other = await gql(brand_a.token(), TIMELINE, {"id": gid, "kinds": ["OTHER"]})
    assert [e["node"]["kindName"] for e in only_other["data"]["customerTimeline"]["edges"]] == ["loyalty_points"]
    both = await gql(brand_a.token(), TIMELINE, {"id": gid, "kinds": ["OTHER", "CREATED"]})
    assert sorted(e["node"]["kindName"] for e in both["data"]["customerTimeline"]["edges"]) == ["created", "loyalty_points"]


async def test_append_takes_registered_kinds_only(brand_a):
    c = await make_customer(brand_a)
    scope = scope_for(Actor.system(brand_a.tenant_id))
    with pytest.raises(ValueError, match="not registered"):
        async with db.tenant_transaction(brand_a.tenant_id):
            await links.append(scope, c.id, "no_such_kind", clock.now())
    async with db.tenant_transaction(brand_a.tenant_id):
        await links.append(scope, c.id, "survey", clock.now(), summary={"score": 3})
        rows = await db.fetch("SELECT kind, summary->>'by' FROM customer_event WHERE tenant_id = $1 AND customer_id = $2 AND kind = 'survey'",
                              [brand_a.tenant_id, c.id])
    assert [tuple(r) for r in rows] == [("survey", "system")]


def test_registrations_are_checked():
    with pytest.raises(ValueError):
        links.timeline_kind("Bad Kind")
    with pytest.raises(ValueError, match="twice"):
        links.timeline_kind("purchase", ref_type="order", ref_node="Order")  # taken, differently
    with pytest.raises(ValueError, match="twice"):
        links.customer_table("customer_contact", on_merge="keep")
    links.timeline_kind("purchase", ref_type="product", ref_node="OwnedProduct")  # the same again: fine


async def test_every_table_pointing_at_a_customer_is_registered(brand_a):
    async with db.tenant_transaction(brand_a.tenant_id):
        rows = await db.fetch("SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
                              "AND column_name = 'customer_id'", [])
    tables = {r[0] for r in rows}
    assert tables == set(links.CUSTOMER_TABLES), (
        f"register these with app.customer.links.customer_table: {sorted(tables - set(links.CUSTOMER_TABLES))}; "
        f"registered but missing: {sorted(set(links.CUSTOMER_TABLES) - tables)}")


async def test_merge_and_erase_follow_the_registry(gql, brand_a, monkeypatch):
    """Take a table out of the registry and the merge leaves its rows; put it back and they move."""
    tok = brand_a.token()
    survivor, dup = await make_customer(brand_a), await make_customer(brand_a)
    await _interaction(brand_a, dup.id, "n")
    without = {k: v for k, v in links.CUSTOMER_TABLES.items() if k != "customer_interaction"}
    monkeypatch.setattr(links, "CUSTOMER_TABLES", without)
    r = await gql(tok, 'mutation($a: ID!, $b: ID!) { customerMerge(survivorId: $a, duplicateId: $b) { errors { code } } }',
                  {"a": to_global_id("Customer", survivor.id), "b": to_global_id("Customer", dup.id)})
    assert r["data"]["customerMerge"]["errors"] == []
    async with db.tenant_transaction(brand_a.tenant_id):
        left = await db.fetch("SELECT customer_id FROM customer_interaction WHERE tenant_id = $1 AND customer_id = ANY($2::uuid[])",
                              [brand_a.tenant_id, [survivor.id, dup.id]])
        contacts = await db.fetch("SELECT count(*) FROM customer_contact WHERE tenant_id = $1 AND customer_id = $2", [brand_a.tenant_id, dup.id])
    assert {r[0] for r in left} == {dup.id}  # not registered: not moved
    assert contacts[0][0] == 0  # registered: moved

    # erasure runs each registered table's statements: the survivor's interaction notes stay (unregistered)
    await _interaction(brand_a, survivor.id, "private")
    r = await gql(tok, 'mutation($id: ID!) { customerErase(id: $id) { errors { code } } }', {"id": to_global_id("Customer", survivor.id)})
    assert r["data"]["customerErase"]["errors"] == [], r
    async with db.tenant_transaction(brand_a.tenant_id):
        notes = await db.fetch("SELECT notes FROM customer_interaction WHERE tenant_id = $1 AND customer_id = $2", [brand_a.tenant_id, survivor.id])
        contacts = await db.fetch("SELECT count(*) FROM customer_contact WHERE tenant_id = $1 AND customer_id = $2", [brand_a.tenant_id, survivor.id])
    assert [n[0] for n in notes] == ["private"] and contacts[0][0] == 0
