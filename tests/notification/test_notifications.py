"""Notifications come from domain events after commit: a ticket reaching a dealer tells that
dealer's staff, nobody else; a replayed relay adds nothing; each person sees and marks only
their own."""
from __future__ import annotations

from app.core import db, events
from app.core.ids import from_global_id, to_global_id
from tests.factories import make_customer

LIST = "{ notifications(first: 20) { edges { node { id kind title subjectId readAt } } } unreadNotificationCount }"
CREATE = """mutation($i: TicketCreateInput!) { ticketCreate(input: $i) { ticket { id number } errors { code } } }"""


async def _ticket(gql, brand, dealer_key="d1"):
    customer = await make_customer(brand, dealer_key)
    body = await gql(brand.token(), CREATE, {"i": {"customerId": to_global_id("Customer", customer.id), "source": "HOTLINE",
                                                   "title": "噪音"}})
    return body["data"]["ticketCreate"]["ticket"]


async def test_a_ticket_tells_its_dealers_staff_once(gql, brand_a, brand_b):
    t = await _ticket(gql, brand_a)
    await events.deliver(brand_a.tenant_id, ["notification.tickets"])
    await events.deliver(brand_a.tenant_id, ["notification.tickets"])  # the relay again: nothing twice
    for who in ("d1_agent", "d1_manager"):
        body = await gql(brand_a.token(who), LIST)
        mine = [e["node"] for e in body["data"]["notifications"]["edges"] if e["node"]["subjectId"] == t["id"]]
        assert [(n["kind"], n["readAt"]) for n in mine] == [("ticket_opened", None)], (who, mine)
        assert t["number"] in mine[0]["title"]
    for token in (brand_a.token("d3_agent"), brand_a.token(), brand_b.token("d1_agent")):
        body = await gql(token, LIST)
        assert t["id"] not in [e["node"]["subjectId"] for e in body["data"]["notifications"]["edges"]]


async def test_reading_and_marking_is_per_person(gql, brand_a):
    t = await _ticket(gql, brand_a)
    await events.deliver(brand_a.tenant_id, ["notification.tickets"])
    agent, manager = brand_a.token("d1_agent"), brand_a.token("d1_manager")
    mine = [e["node"] for e in (await gql(agent, LIST))["data"]["notifications"]["edges"] if e["node"]["subjectId"] == t["id"]]
    theirs = [e["node"] for e in (await gql(manager, LIST))["data"]["notifications"]["edges"] if e["node"]["subjectId"] == t["id"]]
    # another person's notification can be neither read by id nor marked
    body = await gql(agent, "query($id: ID!) { node(id: $id) { id } }", {"id": theirs[0]["id"]})
    assert body["data"]["node"] is None
    body = await gql(agent, "mutation($ids: [ID!]) { notificationsMarkRead(ids: $ids) { marked errors { code } } }", {"ids": [theirs[0]["id"]]})
    assert body["data"]["notificationsMarkRead"] == {"marked": 0, "errors": []}
    body = await gql(agent, "mutation($ids: [ID!]) { notificationsMarkRead(ids: $ids) { marked errors { code } } }", {"ids": [mine[0]["id"]]})
    assert body["data"]["notificationsMarkRead"]["marked"] == 1
    unread = await gql(agent, "{ notifications(first: 20, unreadOnly: true) { edges { node { id } } } }")
    assert mine[0]["id"] not in [e["node"]["id"] for e in unread["data"]["notifications"]["edges"]]
    still = await gql(manager, LIST)
    assert [n["readAt"] for n in (e["node"] for e in still["data"]["notifications"]["edges"]) if n["id"] == theirs[0]["id"]] == [None]
    body = await gql(manager, "mutation { notificationsMarkRead { marked } }")
    assert body["data"]["notificationsMarkRead"]["marked"] >= 1
    assert (await gql(manager, LIST))["data"]["unreadNotificationCount"] == 0


async def test_reassignment_tells_the_new_dealer(gql, brand_a):
    t = await _ticket(gql, brand_a)
    r = await gql(brand_a.token(), 'mutation($i: TicketAssignInput!) { ticketReassign(input: $i) { ticket { status } errors { code } } }',
                  {"i": {"id": t["id"], "dealerId": brand_a.gid("Dealer", "d3"), "reason": "客户搬家"}})
    assert r["data"]["ticketReassign"]["errors"] == []
    await events.deliver(brand_a.tenant_id, ["notification.tickets"])
    body = await gql(brand_a.token("d3_agent"), LIST)
    kinds = [e["node"]["kind"] for e in body["data"]["notifications"]["edges"] if e["node"]["subjectId"] == t["id"]]
    assert kinds == ["ticket_reassign"]
    async with db.tenant_transaction(brand_a.tenant_id):
        rows = await db.fetch("SELECT count(*) FROM notification WHERE tenant_id = $1 AND subject_id = $2",
                              [brand_a.tenant_id, from_global_id(t["id"])[1]])
    assert rows[0][0] == 3  # d1's manager and agent (opened), d3's agent (reassigned)


async def test_another_brand_cannot_mark_or_read_them(gql, brand_a, brand_b):
    t = await _ticket(gql, brand_a)
    await events.deliver(brand_a.tenant_id, ["notification.tickets"])
    agent = brand_a.token("d1_agent")
    mine = [e["node"] for e in (await gql(agent, LIST))["data"]["notifications"]["edges"] if e["node"]["subjectId"] == t["id"]]
    other = brand_b.token("d1_agent")
    body = await gql(other, "mutation($ids: [ID!]) { notificationsMarkRead(ids: $ids) { marked } }", {"ids": [mine[0]["id"]]})
    assert body["data"]["notificationsMarkRead"]["marked"] == 0
    body = await gql(other, "query($id: ID!) { node(id: $id) { id } }", {"id": mine[0]["id"]})
    assert body["data"]["node"] is None
    assert (await gql(agent, LIST))["data"]["unreadNotificationCount"] >= 1  # untouched
