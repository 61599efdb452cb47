"""The transition table is the only source of truth: random sequences of actions, by callers of
different levels, against real tickets, never reach a status the table does not allow; every
success is exactly the table's transition and every refusal carries a stable code."""
from __future__ import annotations

import asyncio
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.complaint import service, workflow
from app.complaint.enums import TicketAction, TicketStatus
from app.core import db
from app.core.errors import AppError
from app.core.permissions import Role
from app.core.tenancy import Actor, Membership, scope_for
from tests.factories import make_customer

REFUSALS = {"TRANSITION_NOT_ALLOWED", "ACTION_NOT_PERMITTED"}
RECORD = {"reason": "因为", "contact_channel": "phone", "contact_notes": "道歉", "solution": "更换"}


def test_the_table_is_consistent():
    reachable = workflow.reachable()
    assert reachable == set(TicketStatus), set(TicketStatus) - reachable  # every status can happen
    assert {t.action for t in workflow.TRANSITIONS} == set(TicketAction)  # every action has its row
    closed = [t for t in workflow.allowed(TicketStatus.CLOSED)]
    assert closed == []  # nothing happens after CLOSED
    for t in workflow.TRANSITIONS:  # the only self-loops: another contact, another assignee
        assert t.target not in t.sources or t.action in (TicketAction.RECORD_CONTACT, TicketAction.REASSIGN), t


async def test_random_action_sequences_follow_the_table(brand_a):
    loop = asyncio.get_running_loop()
    customer = await make_customer(brand_a, "d1")
    levels = {
        "brand": scope_for(Actor.system(brand_a.tenant_id)),
        "agent": scope_for(Actor.user(brand_a.tenant_id, brand_a.users["d1_agent"].id,
                                      [Membership(Role.DEALER_AGENT, brand_a.dealers["d1"].id)])),
        "manager": scope_for(Actor.user(brand_a.tenant_id, brand_a.users["d1_manager"].id,
                                        [Membership(Role.DEALER_MANAGER, brand_a.dealers["d1"].id)])),
    }
    level_of = {"brand": workflow.Who.BRAND, "manager": workflow.Who.MANAGER, "agent": workflow.Who.AGENT}

    async def new_ticket():
        async with db.tenant_transaction(brand_a.tenant_id):
            return await service.create_ticket(levels["brand"], customer_id=customer.id, source="hotline", title="t")

    async def step(ticket_id, action, who, dup_of):
        async with db.tenant_transaction(brand_a.tenant_id):
            extra = {"duplicate_of": dup_of} if action is TicketAction.MARK_DUPLICATE else {}
            return await service.act(levels[who], ticket_id, action, **RECORD, **extra)

    def run(coro):
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=30)

    other = await new_ticket()
    seen = {"ok": 0, "refused": 0, "statuses": set()}

    @settings(max_examples=int(os.environ.get("WORKFLOW_EXAMPLES", 40)), deadline=None, derandomize=bool(os.environ.get("CI")),
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def walk(data):
        t = run(new_ticket())
        status, round_ = TicketStatus(t.status), 1
        for _ in range(data.draw(st.integers(0, 16), label="steps")):
            # mostly an action the table allows now (so walks go deep), sometimes any action
            now = [tr.action for tr in workflow.allowed(status)] or list(TicketAction)
            action = data.draw(st.sampled_from(now) if data.draw(st.integers(0, 4)) else st.sampled_from(list(TicketAction)), label="action")
            who = data.draw(st.sampled_from(sorted(levels)), label="who")
            tr = workflow.BY_ACTION[action]
            # the table's row, and an escalated or brand-owned ticket is the brand's (service.needed)
            expect_ok = status in tr.sources and level_of[who] >= service.needed(t, tr)
            try:
                t = run(step(t.id, action, who, other.id))
            except AppError as e:
                assert not expect_ok, (status, action, who, e.code, e.message)
                assert e.code in REFUSALS, (e.code, e.message)
                if e.code == "TRANSITION_NOT_ALLOWED":
                    assert e.extensions["status"] == status.name
                seen["refused"] += 1
                continue
            seen["ok"] += 1
            assert expect_ok, (status, action, who)
            new = TicketStatus(t.status)
            if action is TicketAction.REOPEN:
                round_ += 1
                assert t.round == round_ and t.brand_flagged
                assert new == (TicketStatus.ESCALATED if round_ > service.MAX_ROUNDS else TicketStatus.ASSIGNED)  # the default policy
            else:
                assert new == tr.target
            assert new in workflow.reachable()
            status = new
            seen["statuses"].add(new)

    await asyncio.to_thread(walk)
    assert seen["ok"] > 20 and seen["refused"] > 20 and len(seen["statuses"]) >= 6, seen
