"""Complaint tickets: one complaint's journey through the workflow, its history and the
customer's timeline; isolation (another brand, another dealer) for every query and mutation;
refusals with stable codes; two concurrent resolutions; statement counts for `tickets`."""
from __future__ import annotations

import asyncio

import pytest

from app.complaint import service
from app.complaint.enums import TicketAction, TicketStatus
from app.core import db, events
from app.core.errors import AppError
from app.core.ids import from_global_id, to_global_id
from app.core.tenancy import Actor, scope_for
from tests.factories import make_customer
from tests.querycount import count_queries

CREATE = """mutation($i: TicketCreateInput!) { ticketCreate(input: $i) {
  ticket { id number status round version dealer { code } customerId availableActions } errors { field code message } } }"""
TICKET = """query($id: ID!) { ticket(id: $id) { id number status round brandFlagged solution
  events { action fromStatus toStatus round actor } } }"""


def _gid(kind, pk):
    return to_global_id(kind, pk)


async def _open(gql, brand, customer, token=None, **extra):
    body = await gql(token or brand.token(), CREATE, {"i": {"customerId": _gid("Customer", customer.id), "source": "HOTLINE",
                                                            "title": "车门异响", "verbatim": "修了三次还是响！", **extra}})
    payload = body["data"]["ticketCreate"]
    assert payload["errors"] == [], payload
    return payload["ticket"]


async def _do(gql, token, mutation: str, input_type: str, values: dict):
    body = await gql(token, f"mutation($i: {input_type}!) {{ {mutation}(input: $i) {{ ticket {{ status round version }} "
                            f"errors {{ field code message }} }} }}", {"i": values}, errors_ok=True)
    return body["data"][mutation] if body.get("data") else body


async def test_one_complaints_journey(gql, brand_a):
    customer = await make_customer(brand_a, "d1")
    t = await _open(gql, brand_a, customer, categoryCode="service_failure.broken_promise", priority="HIGH")
    assert t["status"] == "ASSIGNED" and t["dealer"]["code"] == "N-001" and t["number"].startswith("T-") and t["round"] == 1
    agent = brand_a.token("d1_agent")
    r = await _do(gql, agent, "ticketRecordContact", "TicketRecordContactInput",
                  {"id": t["id"], "channel": "PHONE", "notes": "道歉并倾听：客户第三次来店"})
    assert r["errors"] == [] and r["ticket"]["status"] == "CONTACTED"
    r = await _do(gql, agent, "ticketResolve", "TicketResolveInput",
                  {"id": t["id"], "solution": "更换门锁总成", "rootCause": "装配公差", "compensationKind": "VOUCHER",
                   "compensationValue": "200.00", "promises": [{"description": "两周内回访确认", "dueDate": "2099-01-15"}]})
    assert r["errors"] == [] and r["ticket"]["status"] == "RESOLVED"
    body = await gql(agent, "query($id: ID!) { customer(id: $id) { promises { description dueDate status } } }",
                     {"id": _gid("Customer", customer.id)})
    assert {"description": "两周内回访确认", "dueDate": "2099-01-15", "status": "OPEN"} in body["data"]["customer"]["promises"]
    admin = brand_a.token()
    for mutation in ("ticketRequestResurvey", "ticketReportStillDissatisfied", "ticketReopen"):
        r = await _do(gql, admin, mutation, "TicketStepInput", {"id": t["id"]})
        assert r["errors"] == [], (mutation, r)
    assert r["ticket"] == {"status": "ASSIGNED", "round": 2, "version": r["ticket"]["version"]}

    body = await gql(admin, TICKET, {"id": t["id"]})
    ticket = body["data"]["ticket"]
    assert ticket["brandFlagged"] is True and ticket["solution"] == "更换门锁总成"
    steps = [(e["action"], e["fromStatus"], e["toStatus"], e["round"]) for e in ticket["events"]]
    assert steps == [(None, None, "ASSIGNED", 1), ("RECORD_CONTACT", "ASSIGNED", "CONTACTED", 1),
                     ("RESOLVE", "CONTACTED", "RESOLVED", 1), ("REQUEST_RESURVEY", "RESOLVED", "AWAITING_RESURVEY", 1),
                     ("REPORT_STILL_DISSATISFIED", "AWAITING_RESURVEY", "STILL_DISSATISFIED", 1),
                     ("REOPEN", "STILL_DISSATISFIED", "ASSIGNED", 2)]
    assert ticket["events"][1]["actor"] == "d1_agent"

    # the customer's timeline has each step, and the archive counts the open ticket
    body = await gql(admin, """query($id: ID!) { customerTimeline(customerId: $id, kinds: [TICKET]) { edges { node { kind refId summary } } }
      customers(filter: {hasOpenTicket: true}, first: 50) { edges { node { id } } } }""", {"id": _gid("Customer", customer.id)})
    entries = [e["node"] for e in body["data"]["customerTimeline"]["edges"]]
    assert len(entries) == 6 and {e["refId"] for e in entries} == {t["id"]}
    assert {e["summary"]["action"] for e in entries} >= {"opened", "resolve", "reopen"}
    assert _gid("Customer", customer.id) in [e["node"]["id"] for e in body["data"]["customers"]["edges"]]


async def test_closing_clears_the_open_ticket_count(gql, brand_a):
    customer = await make_customer(brand_a, "d1")
    t = await _open(gql, brand_a, customer)
    r = await _do(gql, brand_a.token(), "ticketCancel", "TicketReasonInput", {"id": t["id"], "reason": "客户撤回"})
    assert r["ticket"]["status"] == "CANCELLED"
    body = await gql(brand_a.token(), "query($id: ID!) { customer(id: $id) { id } customers(filter: {hasOpenTicket: true}, first: 100) "
                                      "{ edges { node { id } } } }", {"id": _gid("Customer", customer.id)})
    assert _gid("Customer", customer.id) not in [e["node"]["id"] for e in body["data"]["customers"]["edges"]]


async def test_refusals_carry_stable_codes(gql, brand_a):
    customer = await make_customer(brand_a, "d1")
    t = await _open(gql, brand_a, customer)
    agent = brand_a.token("d1_agent")
    r = await _do(gql, agent, "ticketResolve", "TicketResolveInput", {"id": t["id"], "solution": "x"})
    assert r["errors"][0]["code"] == "TRANSITION_NOT_ALLOWED" and "ASSIGNED" in r["errors"][0]["message"]
    r = await _do(gql, agent, "ticketCancel", "TicketReasonInput", {"id": t["id"], "reason": "no"})
    assert r["errors"][0]["code"] == "ACTION_NOT_PERMITTED"
    r = await _do(gql, agent, "ticketEscalate", "TicketReasonInput", {"id": t["id"], "reason": "   "})
    assert r["errors"][0] == {"field": "reason", "code": "RECORD_REQUIRED", "message": r["errors"][0]["message"]}
    r = await _do(gql, agent, "ticketRecordContact", "TicketRecordContactInput",
                  {"id": t["id"], "channel": "PHONE", "notes": "n", "expectedVersion": 99})
    assert r["errors"][0]["code"] == "TICKET_CHANGED"
    big = await _do(gql, agent, "ticketRecordContact", "TicketRecordContactInput", {"id": t["id"], "channel": "PHONE", "notes": "x" * 5000})
    assert big["errors"][0]["code"] == "TOO_LONG"
    # compensation above the brand's threshold: dealer staff may not grant it
    await _do(gql, agent, "ticketRecordContact", "TicketRecordContactInput", {"id": t["id"], "channel": "PHONE", "notes": "n"})
    r = await _do(gql, agent, "ticketResolve", "TicketResolveInput", {"id": t["id"], "solution": "s", "compensationKind": "REFUND",
                                                                       "compensationValue": "5000"})
    assert r["errors"][0]["code"] == "APPROVAL_REQUIRED"
    body = await gql(brand_a.token(), CREATE, {"i": {"customerId": _gid("Customer", customer.id), "source": "HOTLINE", "title": "",
                                                     "categoryCode": "nope"}})
    assert {e["code"] for e in body["data"]["ticketCreate"]["errors"]} == {"RECORD_REQUIRED"}
    body = await gql(brand_a.token(), CREATE, {"i": {"customerId": _gid("Customer", customer.id), "source": "HOTLINE", "title": "t",
                                                     "categoryCode": "nope"}})
    assert body["data"]["ticketCreate"]["errors"][0]["code"] == "UNKNOWN_CATEGORY"


async def test_another_brand_and_another_dealer_see_nothing(gql, brand_a, brand_b):
    customer = await make_customer(brand_a, "d1")
    t = await _open(gql, brand_a, customer)
    other_dealer = brand_a.token("d3_agent")
    for token in (brand_b.token(), other_dealer):
        body = await gql(token, TICKET, {"id": t["id"]})
        assert body["data"]["ticket"] is None
        body = await gql(token, "{ tickets(first: 50) { edges { node { id } } } ticketCounts { status count } }")
        assert t["id"] not in [e["node"]["id"] for e in body["data"]["tickets"]["edges"]]
        body = await gql(token, "query($id: ID!) { node(id: $id) { id } }", {"id": t["id"]})
        assert body["data"]["node"] is None
        r = await _do(gql, token, "ticketEscalate", "TicketReasonInput", {"id": t["id"], "reason": "r"})
        assert r["errors"][0]["code"] == "NOT_FOUND"
        # nor open tickets for another brand's (or dealer's) customer
        body = await gql(token, CREATE, {"i": {"customerId": _gid("Customer", customer.id), "source": "HOTLINE", "title": "t"}})
        assert body["data"]["ticketCreate"]["errors"][0]["code"] == "NOT_FOUND"
    # by filter: another brand's or dealer's customer and dealer ids find nothing
    for token in (brand_b.token(), other_dealer):
        body = await gql(token, "query($f: TicketFilter) { tickets(first: 50, filter: $f) { edges { node { id } } } ticketCounts(filter: $f) { count } }",
                         {"f": {"customerId": _gid("Customer", customer.id), "dealerIds": [brand_a.gid("Dealer", "d1")]}})
        assert body["data"]["tickets"]["edges"] == [] and body["data"]["ticketCounts"] == []
    # every action mutation: another brand's or dealer's ticket is not found
    actions = [("ticketAssign", "TicketAssignInput", {}), ("ticketReassign", "TicketAssignInput", {"reason": "r"}),
               ("ticketRecordContact", "TicketRecordContactInput", {"channel": "PHONE", "notes": "n"}),
               ("ticketProposeSolution", "TicketSolutionInput", {"solution": "s"}),
               ("ticketWaitForCustomer", "TicketReasonInput", {"reason": "r"}), ("ticketResolve", "TicketResolveInput", {"solution": "s"}),
               ("ticketRequestResurvey", "TicketStepInput", {}), ("ticketConfirmRecovered", "TicketStepInput", {}),
               ("ticketReportStillDissatisfied", "TicketStepInput", {}), ("ticketReopen", "TicketStepInput", {}),
               ("ticketCancel", "TicketReasonInput", {"reason": "r"}), ("ticketMarkDuplicate", "TicketDuplicateInput", {"duplicateOf": t["id"]}),
               ("ticketClose", "TicketStepInput", {})]
    for token in (brand_b.token(), other_dealer):
        for mutation, input_type, extra in actions:
            r = await _do(gql, token, mutation, input_type, {"id": t["id"], **extra})
            assert r["errors"][0]["code"] == "NOT_FOUND", (mutation, r)
    counts = await gql(brand_b.token(), "{ ticketCounts { count } }")
    assert sum(c["count"] for c in counts["data"]["ticketCounts"]) == 0
    # the dealer's own staff do see it
    body = await gql(brand_a.token("d1_agent"), TICKET, {"id": t["id"]})
    assert body["data"]["ticket"]["id"] == t["id"]


async def test_permissions_for_partner_apps(gql, brand_a):
    from app.core.auth.tokens import mint_access_token

    customer = await make_customer(brand_a, "d1")
    t = await _open(gql, brand_a, customer)
    read_only = mint_access_token(tenant_id=brand_a.tenant_id, subject=str(brand_a.users["admin"].id), scope="tickets:read")
    body = await gql(read_only, TICKET, {"id": t["id"]})
    assert body["data"]["ticket"]["id"] == t["id"]
    body = await gql(read_only, 'mutation($i: TicketReasonInput!) { ticketEscalate(input: $i) { errors { code } } }',
                     {"i": {"id": t["id"], "reason": "r"}}, errors_ok=True)
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    write_only = mint_access_token(tenant_id=brand_a.tenant_id, subject=str(brand_a.users["admin"].id), scope="tickets:write")
    r = await _do(gql, write_only, "ticketEscalate", "TicketReasonInput", {"id": t["id"], "reason": "r"})
    assert r == {"ticket": None, "errors": []}  # done, and nothing read back


async def test_two_concurrent_resolutions_one_wins(brand_a):
    customer = await make_customer(brand_a, "d1")
    scope = scope_for(Actor.system(brand_a.tenant_id))
    async with db.tenant_transaction(brand_a.tenant_id):
        t = await service.create_ticket(scope, customer_id=customer.id, source="hotline", title="t")
        t = await service.act(scope, t.id, TicketAction.RECORD_CONTACT, contact_channel="phone", contact_notes="n")
    both = asyncio.Event()
    arrived = 0

    async def resolve(solution: str):
        nonlocal arrived
        async with db.tenant_transaction(brand_a.tenant_id):
            seen = (await service.get_ticket(scope, t.id)).version
            arrived += 1
            if arrived == 2:
                both.set()
            await both.wait()  # both have read the same version before either writes
            return await service.act(scope, t.id, TicketAction.RESOLVE, expected_version=seen, solution=solution)

    results = await asyncio.gather(resolve("a"), resolve("b"), return_exceptions=True)
    wins = [r for r in results if not isinstance(r, BaseException)]
    losses = [r for r in results if isinstance(r, BaseException)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert isinstance(losses[0], AppError) and losses[0].code == "TICKET_CHANGED"
    async with db.tenant_transaction(brand_a.tenant_id):
        final = await service.get_ticket(scope, t.id)
        events = await db.fetch("SELECT count(*) FROM domain_event WHERE tenant_id = $1 AND subject_id = $2 AND payload->>'action' = 'resolve'",
                                [brand_a.tenant_id, t.id])
    assert final.status == TicketStatus.RESOLVED and final.solution == wins[0].solution and events[0][0] == 1


async def test_statements_for_a_page_of_tickets_do_not_grow(gql, brand_a):
    customers = [await make_customer(brand_a, key) for key in ("d1", "d2", "d3")]
    query = """{ tickets(first: 50) { edges { node { number status customer { name } dealer { code } agent { displayName }
      category { code } events { action actor } } } } }"""
    counts = []
    for n in (3, 12):
        while True:
            body = await gql(brand_a.token(), "{ ticketCounts { count } }")
            if sum(c["count"] for c in body["data"]["ticketCounts"]) >= n:
                break
            await _open(gql, brand_a, customers[len(counts) % 3], categoryCode="misuse")
        with count_queries() as c:
            body = await gql(brand_a.token(), query)
        assert len(body["data"]["tickets"]["edges"]) >= n
        counts.append(c.count)
    assert counts[0] == counts[1], counts  # a constant number of statements, whatever the page holds
    assert counts[1] <= 12, counts


async def test_a_page_loads_only_the_related_rows_it_selects_and_may_read(gql, brand_a):
    # the page's resolver prefetches dealers and customers (one batch each) before its rows complete
    for key in ("d1", "d2", "d3"):
        await _open(gql, brand_a, await make_customer(brand_a, key))
    bare = "{ tickets(first: 50) { edges { node { number } } } }"
    full = "{ tickets(first: 50) { edges { node { number customer { name } dealer { code } } } } }"
    by_fragments = ("{ tickets(first: 50) { ...Page } } fragment Page on TicketConnection { edges { node { number ...Who } } } "
                    "fragment Who on Ticket { ... on Ticket { customer { name } } dealer { code } }")
    counts, answers = {}, {}
    for name, token, query in (("bare", brand_a.token(), bare), ("full", brand_a.token(), full),
                               ("fragments", brand_a.token(), by_fragments),
                               ("no customers:read", brand_a.token(scope="tickets:read"), full)):
        await gql(token, bare)  # the brand's policy read (once per process) is not counted
        with count_queries() as c:
            body = await gql(token, query)
        counts[name], answers[name] = c.count, body["data"]["tickets"]["edges"]
    assert counts["full"] == counts["bare"] + 2 == counts["fragments"], counts  # dealers once, customers once
    assert answers["full"] == answers["fragments"]
    assert all(e["node"]["customer"]["name"] and e["node"]["dealer"]["code"] for e in answers["full"])
    assert counts["no customers:read"] == counts["bare"] + 1, counts  # no customer rows read for a caller who may not see them
    assert all(e["node"]["customer"] is None and e["node"]["dealer"] for e in answers["no customers:read"])


@pytest.mark.parametrize("bad", [{"rounds": list(range(101))}, {"dealerIds": ["nope"]}])
async def test_bad_filters_are_input_errors(gql, brand_a, bad):
    body = await gql(brand_a.token(), "query($f: TicketFilter) { tickets(first: 5, filter: $f) { edges { node { id } } } }",
                     {"f": bad}, errors_ok=True)
    assert body["data"]["tickets"] is None
    assert body["errors"][0]["extensions"]["code"] in ("INVALID", "INVALID_ID")


async def test_the_demo_has_a_ticket_in_every_status():
    from app import demo
    from app.tenant.provision import provision_brand

    slug = f"demo-{__import__('uuid').uuid4().hex[:8]}"
    brand, _ = await provision_brand(slug, "Demo", f"admin@{slug}.test")
    await demo.seed_demo(brand.id, slug)
    assert await demo.seed_demo_tickets(brand.id) == len(demo.DEMO_TICKETS)
    assert await demo.seed_demo_tickets(brand.id) == 0  # once
    async with db.tenant_transaction(brand.id):
        rows = await db.fetch("SELECT status, max(round) FROM ticket WHERE tenant_id = $1 GROUP BY status", [brand.id])
    statuses = {r[0]: r[1] for r in rows}
    assert set(statuses) == {s.value for s in TicketStatus}
    assert statuses["assigned"] == 2  # the second round is there too


async def test_brands_add_their_own_causes(gql, brand_a, brand_b):
    add = """mutation($i: TicketCategoryCreateInput!) { ticketCategoryCreate(input: $i) { category { id code name parentId }
      errors { field code } } }"""
    body = await gql(brand_a.token(), add, {"i": {"code": "service_failure.parking", "name": "No parking", "nameZh": "停车难",
                                                  "parentCode": "service_failure"}})
    cat = body["data"]["ticketCategoryCreate"]["category"]
    assert cat["code"] == "service_failure.parking" and cat["parentId"]
    again = await gql(brand_a.token(), add, {"i": {"code": "service_failure.parking", "name": "x"}})
    assert again["data"]["ticketCategoryCreate"]["errors"] == [{"field": "code", "code": "CATEGORY_TAKEN"}]
    bad = await gql(brand_a.token(), add, {"i": {"code": "Bad Code!", "name": "x"}})
    assert bad["data"]["ticketCategoryCreate"]["errors"][0]["code"] == "INVALID"
    orphan = await gql(brand_a.token(), add, {"i": {"code": "x.y", "name": "x", "parentCode": "nope"}})
    assert orphan["data"]["ticketCategoryCreate"]["errors"][0]["code"] == "UNKNOWN_CATEGORY"
    denied = await gql(brand_a.token("d1_manager"), add, {"i": {"code": "mine", "name": "x"}}, errors_ok=True)
    assert denied["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    # usable on tickets of this brand, unknown to another
    customer = await make_customer(brand_a, "d1")
    t = await _open(gql, brand_a, customer, categoryCode="service_failure.parking")
    assert t["status"] == "ASSIGNED"
    codes_b = await gql(brand_b.token(), "{ ticketCategories { code } }")
    assert "service_failure.parking" not in [c["code"] for c in codes_b["data"]["ticketCategories"]]
    assert len(codes_b["data"]["ticketCategories"]) == 15  # the seeded tree of seed 003


async def test_the_brand_sets_its_round_limit_and_approval_threshold(gql, brand_a, brand_b):
    update = """mutation($r: Int, $a: Decimal) { ticketPolicyUpdate(maxRounds: $r, approvalThreshold: $a) {
      policy { maxRounds approvalThreshold } errors { field code } } }"""
    body = await gql(brand_a.token(), update, {"r": 1, "a": "100.00"})
    assert body["data"]["ticketPolicyUpdate"] == {"policy": {"maxRounds": 1, "approvalThreshold": "100.00"}, "errors": []}
    bad = await gql(brand_a.token(), update, {"r": 0, "a": "-1"})
    assert {e["field"] for e in bad["data"]["ticketPolicyUpdate"]["errors"]} == {"maxRounds", "approvalThreshold"}
    denied = await gql(brand_a.token("d1_manager"), update, {"r": 5}, errors_ok=True)
    assert denied["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    other = await gql(brand_b.token(), "{ ticketPolicy { maxRounds approvalThreshold } }")
    assert other["data"]["ticketPolicy"] == {"maxRounds": 2, "approvalThreshold": "1000"}  # another brand keeps the defaults

    customer = await make_customer(brand_a, "d1")
    t = await _open(gql, brand_a, customer)
    agent, admin = brand_a.token("d1_agent"), brand_a.token()
    await _do(gql, agent, "ticketRecordContact", "TicketRecordContactInput", {"id": t["id"], "channel": "PHONE", "notes": "n"})
    r = await _do(gql, agent, "ticketResolve", "TicketResolveInput", {"id": t["id"], "solution": "s", "compensationKind": "VOUCHER",
                                                                       "compensationValue": "200"})
    assert r["errors"][0]["code"] == "APPROVAL_REQUIRED"  # over this brand's 100
    r = await _do(gql, admin, "ticketResolve", "TicketResolveInput", {"id": t["id"], "solution": "s", "compensationKind": "VOUCHER",
                                                                       "compensationValue": "200"})
    assert r["errors"] == []
    for mutation in ("ticketRequestResurvey", "ticketReportStillDissatisfied", "ticketReopen"):
        r = await _do(gql, admin, mutation, "TicketStepInput", {"id": t["id"]})
    assert r["ticket"]["status"] == "ESCALATED" and r["ticket"]["round"] == 2  # past 1 round: the brand takes it over


async def test_customer_tickets_batch_and_respect_scopes(gql, brand_a):
    from app.core.auth.tokens import mint_access_token

    customers = [await make_customer(brand_a, "d1") for _ in range(3)]
    numbers = {c.id: (await _open(gql, brand_a, c))["number"] for c in customers}
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Customer { id tickets { number status } } } }"
    ids = [_gid("Customer", c.id) for c in customers]
    with count_queries() as one:
        body = await gql(brand_a.token(), query, {"ids": ids[:1]})
    with count_queries() as three:
        body = await gql(brand_a.token(), query, {"ids": ids})
    assert one.count == three.count  # one statement for every customer's tickets
    got = {n["id"]: [t["number"] for t in n["tickets"]] for n in body["data"]["nodes"]}
    assert got == {_gid("Customer", c.id): [numbers[c.id]] for c in customers}
    body = await gql(brand_a.token("d1_agent"), query, {"ids": ids[:1]})
    assert body["data"]["nodes"][0]["tickets"][0]["number"] == numbers[customers[0].id]
    no_tickets = mint_access_token(tenant_id=brand_a.tenant_id, subject=str(brand_a.users["admin"].id), scope="customers:read")
    body = await gql(no_tickets, query, {"ids": ids[:1]})
    assert body["data"]["nodes"][0]["tickets"] == []


async def test_erasing_the_customer_erases_their_words_on_tickets(gql, brand_a):
    customer = await make_customer(brand_a, "d1")
    t = await _open(gql, brand_a, customer)
    await _do(gql, brand_a.token(), "ticketEscalate", "TicketReasonInput", {"id": t["id"], "reason": "客户电话 13812345678"})
    r = await gql(brand_a.token(), 'mutation($id: ID!) { customerErase(id: $id) { errors { code } } }', {"id": _gid("Customer", customer.id)})
    assert r["data"]["customerErase"]["errors"] == []
    body = await gql(brand_a.token(), "query($id: ID!) { ticket(id: $id) { title verbatim statusReason contactNotes } }", {"id": t["id"]})
    assert body["data"]["ticket"] == {"title": "[erased]", "verbatim": None, "statusReason": None, "contactNotes": None}
    async with db.tenant_transaction(brand_a.tenant_id):
        rows = await db.fetch("SELECT count(*) FROM domain_event WHERE tenant_id = $1 AND payload::text LIKE '%13812345678%'", [brand_a.tenant_id])
    assert rows[0][0] == 0  # the events never held it


# --- the security review of the first slice (each failed before its fix) -------------------------

async def test_an_escalated_or_brand_owned_ticket_is_the_brands(gql, brand_a):
    customer = await make_customer(brand_a, "d1")
    t = await _open(gql, brand_a, customer)
    agent, manager, admin = brand_a.token("d1_agent"), brand_a.token("d1_manager"), brand_a.token()
    r = await _do(gql, agent, "ticketEscalate", "TicketReasonInput", {"id": t["id"], "reason": "客户要求品牌介入"})
    assert r["ticket"]["status"] == "ESCALATED"
    for mutation, input_type, extra in (("ticketAssign", "TicketAssignInput", {}),
                                        ("ticketMarkDuplicate", "TicketDuplicateInput", {"duplicateOf": t["id"]})):
        r = await _do(gql, manager, mutation, input_type, {"id": t["id"], **extra})
        assert r["errors"][0]["code"] == "ACTION_NOT_PERMITTED", (mutation, r)
    body = await gql(manager, "query($id: ID!) { ticket(id: $id) { availableActions } }", {"id": t["id"]})
    assert body["data"]["ticket"]["availableActions"] == []
    r = await _do(gql, admin, "ticketAssign", "TicketAssignInput", {"id": t["id"]})
    assert r["errors"] == [] and r["ticket"]["status"] == "ASSIGNED"


async def test_manager_rights_count_at_the_tickets_own_dealer_only(gql, brand_a):
    from app.core.auth.tokens import mint_access_token
    from app.core.permissions import Role
    from app.tenant.models import Membership, User

    async with db.tenant_transaction(brand_a.tenant_id):
        u = await User.create(tenant_id=brand_a.tenant_id, email=f"two-hats@{brand_a.slug}.test", display_name="two hats")
        await Membership.create(tenant_id=brand_a.tenant_id, user_id=u.id, role=Role.DEALER_MANAGER, dealer_id=brand_a.dealers["d3"].id)
        await Membership.create(tenant_id=brand_a.tenant_id, user_id=u.id, role=Role.DEALER_AGENT, dealer_id=brand_a.dealers["d1"].id)
    token = mint_access_token(tenant_id=brand_a.tenant_id, subject=str(u.id))
    d1_ticket = await _open(gql, brand_a, await make_customer(brand_a, "d1"))
    r = await _do(gql, token, "ticketReassign", "TicketAssignInput",
                  {"id": d1_ticket["id"], "dealerId": brand_a.gid("Dealer", "d3"), "reason": "mine now"})
    assert r["errors"][0]["code"] == "ACTION_NOT_PERMITTED"  # an agent at d1, whatever they manage elsewhere
    d3_ticket = await _open(gql, brand_a, await make_customer(brand_a, "d3"))
    r = await _do(gql, token, "ticketReassign", "TicketAssignInput", {"id": d3_ticket["id"], "reason": "another agent"})
    assert r["errors"] == []  # the manager of d3, on d3's ticket


async def test_compensation_in_another_currency_needs_brand_staff(gql, brand_a):
    t = await _open(gql, brand_a, await make_customer(brand_a, "d1"))
    agent = brand_a.token("d1_agent")
    await _do(gql, agent, "ticketRecordContact", "TicketRecordContactInput", {"id": t["id"], "channel": "PHONE", "notes": "n"})
    r = await _do(gql, agent, "ticketResolve", "TicketResolveInput", {"id": t["id"], "solution": "s", "compensationKind": "REFUND",
                                                                       "compensationValue": "999.99", "compensationCurrency": "XAU"})
    assert r["errors"][0]["code"] == "APPROVAL_REQUIRED"


async def test_erasure_reaches_every_free_text_column(gql, brand_a):
    customer = await make_customer(brand_a, "d1")
    t = await _open(gql, brand_a, customer)
    agent = brand_a.token("d1_agent")
    await _do(gql, agent, "ticketRecordContact", "TicketRecordContactInput", {"id": t["id"], "channel": "PHONE", "notes": "n"})
    await _do(gql, agent, "ticketProposeSolution", "TicketSolutionInput",
              {"id": t["id"], "solution": "给张三(13800138000)换车门", "rootCause": "张三自己撞的"})
    await gql(brand_a.token(), 'mutation($id: ID!) { customerErase(id: $id) { errors { code } } }', {"id": _gid("Customer", customer.id)})
    body = await gql(brand_a.token(), "query($id: ID!) { ticket(id: $id) { solution rootCause } }", {"id": t["id"]})
    assert "13800138000" not in str(body) and "张三" not in str(body)


async def test_write_only_and_read_only_tokens_learn_nothing_extra(gql, brand_a):
    from app.core.auth.tokens import mint_access_token

    t = await _open(gql, brand_a, await make_customer(brand_a, "d1"))
    admin = brand_a.users["admin"].id
    write_only = mint_access_token(tenant_id=brand_a.tenant_id, subject=str(admin), scope="tickets:write")
    r = await _do(gql, write_only, "ticketResolve", "TicketResolveInput", {"id": t["id"], "solution": "s"})
    assert r["errors"][0]["code"] == "TRANSITION_NOT_ALLOWED" and "ASSIGNED" not in r["errors"][0]["message"]
    r = await _do(gql, write_only, "ticketEscalate", "TicketReasonInput", {"id": t["id"], "reason": "r", "expectedVersion": 99})
    assert r["errors"][0]["code"] == "TICKET_CHANGED" and "version 1" not in r["errors"][0]["message"]
    tickets_only = mint_access_token(tenant_id=brand_a.tenant_id, subject=str(admin), scope="tickets:read")
    body = await gql(tickets_only, "query($id: ID!) { ticket(id: $id) { title verbatim } notifications(first: 5) { edges { node { id } } } }",
                     {"id": t["id"]})
    assert body["data"]["ticket"]["verbatim"] is None  # the customer's words need customers:read
    customers_only = mint_access_token(tenant_id=brand_a.tenant_id, subject=str(brand_a.users["d1_agent"].id), scope="customers:read")
    await events.deliver(brand_a.tenant_id, ["notification.tickets"])
    body = await gql(customers_only, "{ notifications(first: 5) { edges { node { id } } } unreadNotificationCount }")
    assert body["data"] == {"notifications": {"edges": []}, "unreadNotificationCount": 0}


async def test_bounds_and_races_of_input(gql, brand_a):
    body = await gql(brand_a.token(), CREATE, {"i": {"customerId": _gid("Customer", (await make_customer(brand_a, "d1")).id),
                                                     "source": "HOTLINE", "title": "t", "tags": ["x"] * 5000}})
    assert body["data"]["ticketCreate"]["errors"][0]["code"] == "TOO_LONG"
    body = await gql(brand_a.token(), "query($f: TicketFilter) { tickets(first: 1, filter: $f) { edges { node { id } } } }",
                     {"f": {"regions": ["r" * 5000]}}, errors_ok=True)
    assert body["errors"][0]["extensions"]["code"] == "INVALID"
    add = 'mutation { ticketCategoryCreate(input: {code: "race.same", name: "x"}) { category { id } errors { code } } }'
    results = await asyncio.gather(*(gql(brand_a.token(), add, errors_ok=True) for _ in range(4)))
    codes = sorted((r["data"]["ticketCategoryCreate"]["errors"] or [{"code": "OK"}])[0]["code"] for r in results)
    assert codes == ["CATEGORY_TAKEN"] * 3 + ["OK"], results


async def test_the_sla_picture_is_kept_on_the_ticket_and_filters_overdue(gql, brand_a, brand_b):
    from datetime import timedelta

    from app.core import clock

    customer = await make_customer(brand_a, "d1")
    late, fine, idle = [(await _open(gql, brand_a, customer, title=f"t{i}"))["id"] for i in range(3)]
    now = clock.now()

    def picture(gid, due, warned=False, breached=False):
        return (from_global_id(gid)[1], {"ticket_id": str(from_global_id(gid)[1]), "next_due_at": due.isoformat() if due else None,
                                         "warned": warned, "breached": breached})

    async with db.tenant_transaction(brand_a.tenant_id):  # what the SLA engine records after each change
        await events.record_many(scope_for(Actor.system(brand_a.tenant_id)), "sla.ticket_clocks", subject_type="Ticket", items=[
            picture(late, now + timedelta(hours=1)), picture(fine, now + timedelta(hours=5), warned=True),
            picture(idle, None, breached=True), picture(late, now - timedelta(minutes=1), warned=True, breached=True)])  # the last wins
    q = """query($f: TicketFilter) { tickets(first: 10, filter: $f) { edges { node { id overdue slaDueAt slaWarned slaBreached } } } }"""

    async def ids(token, f):
        body = await gql(token, q, {"f": f})
        return {e["node"]["id"]: e["node"] for e in body["data"]["tickets"]["edges"]}

    assert set(await ids(brand_a.token(), {"overdue": True})) == {late}
    assert set(await ids(brand_a.token(), {"overdue": False})) == {fine, idle}
    assert set(await ids(brand_a.token(), {"slaBreached": True})) == {late, idle}
    got = await ids(brand_a.token(), {})
    assert (got[late]["overdue"], got[late]["slaWarned"], got[fine]["overdue"], got[idle]["slaDueAt"]) == (True, True, False, None)
    with clock.freeze(now + timedelta(hours=6)):  # time passes: due instants go by without any new event
        assert set(await ids(brand_a.token(), {"overdue": True})) == {late, fine}
    assert set(await ids(brand_a.token("d3_agent"), {"overdue": True})) == set()  # another dealer's
    assert set(await ids(brand_b.token(), {"overdue": True})) == set()  # another brand's


async def test_ticket_counts_name_each_dealer_and_the_tickets_without_one(gql, brand_a):
    for dealer_key in ("d1", "d1", "d2", None):
        await _open(gql, brand_a, await make_customer(brand_a, dealer_key))
    body = await gql(brand_a.token(), "{ ticketCounts { status dealerId count } }")
    counts = {(c["status"], c["dealerId"]): c["count"] for c in body["data"]["ticketCounts"]}
    assert counts == {("ASSIGNED", brand_a.gid("Dealer", "d1")): 2, ("ASSIGNED", brand_a.gid("Dealer", "d2")): 1, ("NEW", None): 1}
