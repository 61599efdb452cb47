"""Warnings, breaches and escalation steps on the injected clock: the deadline job and the sweep
are the same idempotent function, so whatever runs, however often, and even when a worker dies
in the middle of a sweep, each fires once. Each firing is an event, a notification to its
people when the notification calendar is open, and the ticket's SLA picture."""
from __future__ import annotations

from datetime import timedelta

from app.core import clock, db, events, jobs
from app.notification.models import Notification
from app.sla import engine, tasks
from app.sla.enums import CalendarKind
from tests.sla.conftest import local, policy


def _job(sla):
    fn = jobs.REGISTRY[engine.CHECK_JOB].coroutine

    async def run(at):
        with clock.freeze(at):
            return await fn({"job_id": "t"}, str(sla.tenant_id))

    return run


async def _sweep(at):
    with clock.freeze(at):
        return await tasks.sweep()


async def _fired(sla, tickets):
    return {t: sorted((f["kind"], f["level"]) for f in await sla.firings(t)) for t in tickets}


async def _firing_events(sla, tickets):
    return {t: sorted(e.type for e in await sla.events(t, engine.WARNED, engine.BREACHED, engine.ESCALATED)) for t in tickets}


async def test_warnings_and_breaches_fire_once_when_the_job_and_the_sweep_both_run(sla):
    await sla.setup(policies=[policy("p", {"first_contact": 2}, warnings=[0.5, 0.75])])
    tickets = [await sla.open(local(1, 9)) for _ in range(3)]
    job = _job(sla)
    assert await job(local(1, 10)) == 3
    assert await _sweep(local(1, 10)) >= 0  # nothing left for it in this brand
    assert await _fired(sla, tickets) == {t: [("warning", 500)] for t in tickets}
    await _sweep(local(1, 11))
    assert await job(local(1, 11)) == 0
    assert await _fired(sla, tickets) == {t: [("breach", 0), ("warning", 500), ("warning", 750)] for t in tickets}
    assert await _firing_events(sla, tickets) == {t: ["sla.breached", "sla.warned", "sla.warned"] for t in tickets}


async def test_either_running_twice_fires_nothing_more(sla):
    await sla.setup(policies=[policy("p", {"first_contact": 2}, warnings=[0.5])])
    tickets = [await sla.open(local(1, 9)) for _ in range(2)]
    job = _job(sla)
    await job(local(1, 10, 30))
    await job(local(1, 10, 30))
    await _sweep(local(1, 11, 30))
    await _sweep(local(1, 11, 30))
    await job(local(1, 11, 31))
    assert await _fired(sla, tickets) == {t: [("breach", 0), ("warning", 500)] for t in tickets}
    assert await _firing_events(sla, tickets) == {t: ["sla.breached", "sla.warned"] for t in tickets}


async def test_a_worker_killed_mid_sweep_and_restarted_fires_the_rest_once(sla, monkeypatch):
    await sla.setup(policies=[policy("p", {"first_contact": 1}, warnings=[])])
    tickets = [await sla.open(local(1, 9)) for _ in range(5)]
    monkeypatch.setattr(engine, "BATCH", 2)
    real, calls = engine.repo.update_clocks, []

    async def dies_in_the_second_batch(scope, clocks):
        calls.append(len(clocks))
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return await real(scope, clocks)

    monkeypatch.setattr(engine.repo, "update_clocks", dies_in_the_second_batch)
    await _sweep(local(1, 10, 30))  # the sweep logs the brand's failure and goes on
    fired = await _fired(sla, tickets)
    assert sorted(len(f) for f in fired.values()) == [0, 0, 0, 1, 1]  # the first batch committed, the second rolled back
    monkeypatch.setattr(engine.repo, "update_clocks", real)
    await _sweep(local(1, 10, 31))  # restarted
    await _job(sla)(local(1, 10, 32))
    assert await _fired(sla, tickets) == {t: [("breach", 0)] for t in tickets}
    assert await _firing_events(sla, tickets) == {t: ["sla.breached"] for t in tickets}
    for t in tickets:
        [row] = await sla.rows(t)
        assert row["breached_at"] == local(1, 10) and row["next_check_at"] is None


async def _notifications(brand, sla, ticket):
    """The notification module's consumer fed the ticket's events, as the relay would (each at
    most once per person: feeding them again adds nothing). Fed directly: the relay waits for
    the oldest transaction on the whole cluster, which another suite's bulk load may hold."""
    consumer = events.CONSUMERS["notification.sla"]
    for e in await sla.events(ticket, *consumer.types):
        async with sla.tx():
            await consumer.fn(sla.scope, e)
    async with sla.tx():
        rows = await Notification.filter(tenant_id=brand.tenant_id, subject_id=ticket).order_by("created_at", "id")
    names = {u.id: key for key, u in brand.users.items()}
    return sorted((names.get(n.user_id, str(n.user_id)), n.kind) for n in rows), rows


async def test_nobody_is_paged_at_night_the_notification_waits_for_the_calendar(sla, brand_a):
    await sla.setup(policies=[policy("night", {"first_contact": 2}, warnings=[], calendar="always",
                                     escalation=[("dealer_manager", 0)])])
    t = await sla.open(local(1, 22))  # Monday 22:00, a 24x7 clock: due at midnight
    await sla.process(local(2, 0, 5))
    fired = await sla.firings(t)
    assert {(f["kind"], f["notice"]) for f in fired} == {("breach", "pending"), ("escalation", "pending")}
    assert all(f["reached_at"] == local(2, 0) and f["notify_at"] == local(2, 9) for f in fired)  # the business calendar opens at 9
    [breached] = await sla.events(t, engine.BREACHED)
    assert breached.payload["notify"] == "deferred" and breached.payload["notify_at"] == "2021-03-02T01:00:00Z"
    assert (await _notifications(brand_a, sla, t))[0] == []
    [row] = await sla.rows(t)
    assert row["next_check_at"] == local(2, 9)  # the sweep comes back for the notices
    await sla.process(local(2, 8, 59))
    assert await sla.events(t, engine.NOTICE_DUE) == []
    await sla.process(local(2, 9))
    assert len(await sla.events(t, engine.NOTICE_DUE)) == 2
    got, rows = await _notifications(brand_a, sla, t)
    assert got == [("d1_agent", "sla_breach"), ("d1_manager", "sla_breach"), ("d1_manager", "sla_escalation")]
    assert all(n.created_at >= local(2, 9) for n in rows) and "03-02 00:00" in rows[0].title
    assert {f["notice"] for f in await sla.firings(t)} == {"sent"}
    await sla.process(local(2, 10))
    assert len(await sla.events(t, engine.NOTICE_DUE)) == 2  # once
    assert (await _notifications(brand_a, sla, t))[0] == got


async def test_a_notification_calendar_open_around_the_clock_notifies_at_once(sla, brand_a):
    calendars = await sla.setup(policies=[])
    await sla.setup(policies=[policy("night", {"first_contact": 2}, warnings=[], calendar="always",
                                     notification_calendar_id=calendars[CalendarKind.ALWAYS]["id"])])
    t = await sla.open(local(1, 22))
    await sla.process(local(2, 0, 5))
    [breach] = await sla.firings(t)
    assert breach["notice"] == "sent" and breach["notify_at"] == local(2, 0, 5)
    got, _ = await _notifications(brand_a, sla, t)
    assert got == [("d1_agent", "sla_breach"), ("d1_manager", "sla_breach")]


async def test_a_waiting_warning_is_dropped_when_its_clock_stops_first(sla, brand_a):
    await sla.setup(policies=[policy("night", {"first_contact": 4}, warnings=[0.5], calendar="always")])
    t = await sla.open(local(1, 20))
    await sla.process(local(1, 22))  # 50% at 22:00: waits for 09:00
    assert [(f["kind"], f["notice"]) for f in await sla.firings(t)] == [("warning", "pending")]
    await sla.act(t, "record_contact", local(1, 23))  # met before anyone was to be told
    await sla.process(local(2, 9))
    assert [(f["kind"], f["notice"]) for f in await sla.firings(t)] == [("warning", "dropped")]
    assert await sla.events(t, engine.NOTICE_DUE) == [] and (await _notifications(brand_a, sla, t))[0] == []
    assert all(r["next_check_at"] is None for r in await sla.rows(t))


async def test_escalation_steps_tell_their_level_once_each(sla, brand_a, brand_b):
    await sla.setup(policies=[policy("p", {"first_contact": 1}, warnings=[],
                                     escalation=[("dealer_manager", 0), ("regional_manager", 1), ("brand", 2)])])
    t = await sla.open(local(1, 9), dealer_key="d1")
    await sla.act(t, "reassign", local(1, 9, 5), dealer_id=brand_a.dealers["d1"].id, agent_id=brand_a.users["d1_agent"].id)
    await sla.process(local(1, 10, 30))
    assert sorted((f["kind"], f["level"]) for f in await sla.firings(t)) == [("breach", 0), ("escalation", 2)]
    await sla.process(local(1, 12))
    await sla.process(local(1, 12, 1))
    fired = sorted(await sla.firings(t), key=lambda f: (f["reached_at"], f["level"]))
    assert [(f["kind"], f["level"], f["reached_at"]) for f in fired] == [
        ("breach", 0, local(1, 10)), ("escalation", 2, local(1, 10)), ("escalation", 3, local(1, 11)), ("escalation", 4, local(1, 12))]
    got, _ = await _notifications(brand_a, sla, t)
    # the agent for the breach; then the dealer's manager, the north's regional manager, the brand's admin
    assert got == [("admin", "sla_escalation"), ("d1_agent", "sla_breach"), ("d1_manager", "sla_escalation"),
                   ("regional", "sla_escalation")]
    escalated = [e.payload["level"] for e in sorted(await sla.events(t, engine.ESCALATED), key=lambda e: e.payload["reached_at"])]
    assert escalated == ["dealer_manager", "regional_manager", "brand"]
    async with db.tenant_transaction(brand_b.tenant_id):
        assert await Notification.filter(tenant_id=brand_b.tenant_id).count() == 0


async def test_a_deadline_job_is_queued_for_a_check_minutes_away_and_the_sweep_arms_later_ones(sla):
    from app.complaint import service as complaint_service
    from app.settings import get_settings

    await sla.setup(policies=[policy("p", {"first_contact": 4 / 60}, warnings=[0.25], calendar="always")])  # 4 minutes
    customer = await sla.customer("d1")
    with clock.freeze(local(1, 9)):
        async with sla.tx():
            t = (await complaint_service.create_ticket(sla.scope, customer_id=customer.id, source="hotline", title="t")).id
            [check] = [j for j in db.pending_jobs() if j.name == engine.CHECK_JOB]
    second = int(local(1, 9, 1).timestamp())  # the 25% warning, a minute on
    assert check.job_id == f"{engine.CHECK_JOB}:{sla.tenant_id}:{second}" and check.defer_by == 60
    pool, queue = jobs.pool(), get_settings().queue_name
    assert await pool.zscore(queue, check.job_id) is not None  # relayed after the commit
    # the breach, 4 minutes on, is beyond the horizon: its job comes from the sweep when it is near
    breach = f"{engine.CHECK_JOB}:{sla.tenant_id}:{int(local(1, 9, 4).timestamp())}"
    assert await pool.zscore(queue, breach) is None
    await _sweep(local(1, 9, 2) + timedelta(seconds=30))  # fires the warning ...
    assert [f["kind"] for f in await sla.firings(t)] == ["warning"]
    assert await pool.zscore(queue, breach) is not None  # ... and arms the breach's job, 90 seconds on


async def test_the_sweep_visits_only_brands_with_a_check_coming(sla, sla_b):
    await sla.setup(policies=[policy("p", {"first_contact": 2}, warnings=[0.5])])
    await sla_b.setup(policies=[policy("p", {"first_contact": 2}, warnings=[0.5])])
    a, b = await sla.open(local(1, 9)), await sla_b.open(local(1, 9, 30))
    await _sweep(local(1, 10))  # a's warning is due; b's is at 10:30
    assert len(await sla.firings(a)) == 1 and await sla_b.firings(b) == []
    async with db.tenant_transaction(sla.tenant_id):
        due = await db.fetch("SELECT sla_due_tenants($1)", [local(1, 10)])
    assert sla.tenant_id not in {r[0] for r in due} and sla_b.tenant_id not in {r[0] for r in due}
    async with db.tenant_transaction(sla.tenant_id):
        due = await db.fetch("SELECT sla_due_tenants($1)", [local(1, 10, 30)])
    assert sla_b.tenant_id in {r[0] for r in due}  # the function sees every brand (ids only), whatever the caller's tenant
