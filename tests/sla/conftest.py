"""Fixtures of the SLA engine's tests: a brand with a known calendar and known policies, tickets
opened and moved through the workflow at frozen instants, and what their clocks show.

Times are in March 2021 (Asia/Shanghai): far enough in the past that no other test's clock is
due then, so the sweep (which visits every brand with something due) sees only these."""
from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from app.complaint import service as complaint_service
from app.core import clock, db, events
from app.core.tenancy import Actor, scope_for
from app.sla import engine, service
from app.sla import policies as pol
from app.sla import repository as repo
from app.sla.enums import CalendarKind, OpenClocks

SH = ZoneInfo("Asia/Shanghai")
WORKDAYS = ("mon", "tue", "wed", "thu", "fri")
NINE_TO_SIX = {"timezone": "Asia/Shanghai", "weekly": {d: [["09:00", "18:00"]] for d in WORKDAYS}}
HOUR = 3600


def local(day: int, hour: int = 0, minute: int = 0, month: int = 3, year: int = 2021) -> datetime:
    """An instant of March 2021 on Shanghai's wall clock (1 March 2021 is a Monday)."""
    return datetime(year, month, day, hour, minute, tzinfo=SH)


def policy(name: str, targets: dict[str, float], *, conditions=None, pauses=None, warnings=None, escalation=(),
           calendar: str = "business", notification_calendar_id=None, position: int = 0) -> dict:
    """A policy in its stored form; targets and escalation delays in hours."""
    stored = pol.validate(name=name, conditions=conditions, targets=[{"metric": m, "seconds": int(h * HOUR)} for m, h in targets.items()],
                          pauses=pauses, warnings=warnings,
                          escalation=[{"level": level, "after_seconds": int(h * HOUR)} for level, h in escalation],
                          calendar=calendar)
    return {**stored, "position": position, "enabled": True, "notification_calendar_id": notification_calendar_id,
            "open_clocks": OpenClocks.RECOMPUTE.value}


class Sla:
    def __init__(self, brand):
        self.brand = brand
        self.tenant_id = brand.tenant_id
        self.scope = scope_for(Actor.system(brand.tenant_id))

    def tx(self):
        return db.tenant_transaction(self.tenant_id)

    async def setup(self, *, calendar: dict | None = None, policies: list[dict]) -> dict:
        """The brand's calendar and exactly these policies (what was there is deleted)."""
        async with self.tx():
            await engine.ensure_defaults(self.scope)
            brand_cal = next(c for c in await repo.calendars(self.scope) if c["kind"] == CalendarKind.BRAND)
            await repo.update_calendar(self.scope, brand_cal["id"], name=brand_cal["name"], spec=calendar or NINE_TO_SIX,
                                       seed_report=None, new_version=True)
            for p in await repo.policies(self.scope):
                await repo.delete_policy(self.scope, p["id"], OpenClocks.KEEP.value)
            await repo.insert_policies(self.scope, policies)
            return {c["kind"]: c for c in await repo.calendars(self.scope) if c["kind"] != CalendarKind.DEALER}

    async def customer(self, dealer_key: str | None = "d1", **kw):
        from tests.factories import make_customer

        return await make_customer(self.brand, dealer_key, **kw)

    async def open(self, at: datetime, *, dealer_key: str | None = "d1", customer=None, **kw) -> uuid.UUID:
        customer = customer or await self.customer(dealer_key)
        with clock.freeze(at):
            async with self.tx():
                t = await complaint_service.create_ticket(self.scope, customer_id=customer.id, source=kw.pop("source", "hotline"),
                                                          title="车门异响", **kw)
        return t.id

    async def act(self, ticket_id: uuid.UUID, action: str, at: datetime, **record):
        defaults = {"record_contact": {"contact_channel": "phone", "contact_notes": "道歉并倾听"},
                    "propose_solution": {"solution": "更换门饰板"}, "resolve": {"solution": "更换门饰板"},
                    "wait_for_customer": {"reason": "等客户回复"}, "reassign": {"reason": "换店"},
                    "cancel": {"reason": "撤回"}, "escalate": {"reason": "升级"}}
        with clock.freeze(at):
            async with self.tx():
                return await complaint_service.act(self.scope, ticket_id, action, **{**defaults.get(action, {}), **record})

    async def clocks(self, ticket_id: uuid.UUID, at: datetime | None = None, *, round_: int | None = None) -> dict:
        """metric -> ClockView of the ticket's current (or given) round, as seen at `at`."""
        with clock.freeze(at or clock.now()):
            async with self.tx():
                views = (await service.ticket_clocks(self.scope, [ticket_id]))[ticket_id]
        wanted = round_ or max((v.round for v in views), default=1)
        return {v.metric: v for v in views if v.round == wanted}

    async def rows(self, ticket_id: uuid.UUID) -> list[dict]:
        async with self.tx():
            return await repo.clock_rows(self.scope, [ticket_id])

    async def firings(self, ticket_id: uuid.UUID) -> list[dict]:
        async with self.tx():
            return await service.firings_of_ticket(self.scope, ticket_id)

    async def events(self, ticket_id: uuid.UUID, *types: str) -> list[events.Event]:
        async with self.tx():
            found = await events.events_of(self.scope, ticket_id, limit=500)
        return [e for e in found if not types or e.type in types]

    async def process(self, at: datetime, **kw) -> int:
        with clock.freeze(at):
            return await engine.process_due(self.tenant_id, at, **kw)

    async def recompute(self, at: datetime, mode: str = OpenClocks.RECOMPUTE.value) -> int:
        with clock.freeze(at):
            return await engine.recompute(self.tenant_id, mode)


@pytest.fixture(autouse=True)
async def _no_sla_jobs_left():
    """The deadline and recompute jobs these tests queue (relayed after commit) leave the shared
    queue with the test: a burst worker of another test would wait for a deferred one."""
    yield
    from app.core import jobs
    from app.settings import get_settings

    pool, queue = jobs.pool(), get_settings().queue_name
    ours = [j for j in await pool.zrange(queue, 0, -1) if j.startswith(b"sla.")]
    if ours:
        await pool.zrem(queue, *ours)
        await pool.delete(*(b"arq:job:" + j for j in ours))


@pytest.fixture
async def sla(brand_a) -> Sla:
    return Sla(brand_a)


@pytest.fixture
async def sla_b(brand_b) -> Sla:
    return Sla(brand_b)
