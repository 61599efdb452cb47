"""Clocks through the ticket workflow, on the real database: what starts them, what stops,
pauses, resumes, moves and recomputes them, and the bugs other SLA engines shipped (each test
is named after the report). The calendar is Mon-Fri 09:00-18:00 in Asia/Shanghai unless a test
says otherwise; times are local (1 March 2021 is a Monday)."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from app.core import clock, db, jobs
from app.customer.models import Customer
from app.sla import engine, service
from app.sla.calendar import BusinessCalendar
from app.sla.enums import CalendarKind, ClockState
from tests.querycount import count_queries
from tests.sla.conftest import HOUR, NINE_TO_SIX, local, policy

STANDARD = policy("standard", {"first_contact": 2, "solution_proposed": 16, "resolution": 8})
CAL = BusinessCalendar.from_spec(NINE_TO_SIX)


async def test_a_new_brand_is_seeded_with_the_china_calendar_and_the_default_policies(sla):
    tier_a = await sla.customer("d1")
    async with sla.tx():
        await Customer.filter(tenant_id=sla.tenant_id, id=tier_a.id).update(tier="A")
    a = await sla.open(local(1, 9), customer=tier_a)
    other = await sla.open(local(1, 9))
    clocks_a, clocks_other = await sla.clocks(a, local(1, 9)), await sla.clocks(other, local(1, 9))
    assert clocks_a["first_contact"].target_seconds == 4 * HOUR and clocks_other["first_contact"].target_seconds == 24 * HOUR
    for clocks in (clocks_a, clocks_other):
        assert clocks["solution_proposed"].target_seconds == 48 * HOUR and clocks["resolution"].target_seconds == 72 * HOUR
        assert "resurvey_sent" not in clocks  # it starts on resolution
    async with sla.tx():
        calendars = {c["kind"]: c for c in await service.list_calendars(sla.scope)}
        policies = await service.list_policies(sla.scope)
    brand = calendars[CalendarKind.BRAND]
    assert brand["spec"]["timezone"] == "Asia/Shanghai" and brand["spec"]["weekly"] == {
        **{d: [["09:00", "12:00"], ["13:30", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        "sat": [["09:00", "12:00"]], "sun": []}
    report = brand["seed_report"]
    assert report["years"] == [2021, 2022] and "2021-10-01" in brand["spec"]["holidays"]
    assert report["makeup_days"] and all(d in brand["spec"]["overrides"] for d in report["makeup_days"])  # 调休
    assert isinstance(report["provisional_years"], list)
    assert calendars[CalendarKind.ALWAYS]["spec"] == BusinessCalendar.always().to_spec()
    assert [p["name"] for p in policies] == ["Tier A customers: first contact within 4 business hours", "Standard recovery"]
    # 09:00 Monday + 4 business hours, lunch 12:00-13:30 excluded: 14:30
    assert clocks_a["first_contact"].due_at == local(1, 14, 30)


async def test_frappe_helpdesk_1554_1675_paused_stops_counting_and_resuming_moves_the_due_time_by_the_paused_time(sla):
    await sla.setup(policies=[STANDARD])
    t = await sla.open(local(1, 9))
    await sla.act(t, "record_contact", local(1, 10))
    before = (await sla.clocks(t, local(1, 11, 59)))["resolution"]
    assert before.due_at == local(1, 17) and before.running
    await sla.act(t, "wait_for_customer", local(1, 12))
    paused = (await sla.clocks(t, local(1, 17)))["resolution"]
    assert paused.paused and paused.state == ClockState.PAUSED and paused.due_at is None
    assert paused.elapsed_seconds == 3 * HOUR and paused.remaining_seconds == 5 * HOUR  # nothing counted while paused
    assert (await sla.clocks(t, local(2, 9, 30)))["resolution"].elapsed_seconds == 3 * HOUR
    await sla.act(t, "propose_solution", local(2, 10))  # the customer answered: the pause ends
    after = (await sla.clocks(t, local(2, 11)))["resolution"]
    assert after.running and after.elapsed_seconds == 4 * HOUR
    assert after.due_at == local(2, 15)
    # the due time moved by exactly the business time the clock was paused
    assert CAL.between(before.due_at, after.due_at) == CAL.between(local(1, 12), local(2, 10)) == timedelta(hours=7)


async def test_frappe_helpdesk_3776_pause_end_and_stop_in_one_transition_keeps_the_paused_time(sla):
    await sla.setup(policies=[STANDARD])
    t = await sla.open(local(1, 9))
    await sla.act(t, "record_contact", local(1, 10))
    await sla.act(t, "wait_for_customer", local(1, 12))  # solution_proposed pauses at 3 business hours
    await sla.act(t, "propose_solution", local(3, 10))  # two days later: ends the pause and meets the metric at once
    proposed = (await sla.clocks(t, local(3, 11)))["solution_proposed"]
    assert proposed.met and proposed.state == ClockState.MET and proposed.stopped_at == local(3, 10)
    assert proposed.elapsed_seconds == 3 * HOUR and proposed.met_by_seconds == 13 * HOUR and not proposed.breached
    assert (await sla.clocks(t, local(3, 11)))["resolution"].elapsed_seconds == 4 * HOUR  # resumed at 10:00, still running


async def test_zammad_534_editing_a_calendar_recomputes_open_clocks_only(sla):
    calendars = await sla.setup(policies=[policy("p", {"resolution": 8})])
    brand_cal = calendars[CalendarKind.BRAND]
    done = await sla.open(local(1, 9))
    await sla.act(done, "record_contact", local(1, 10))
    await sla.act(done, "resolve", local(1, 11))
    open_ = await sla.open(local(1, 9))
    with clock.freeze(local(1, 12)):
        async with sla.tx():
            edited = await service.save_calendar(sla.scope, calendar_id=brand_cal["id"], name=brand_cal["name"],
                                                 spec={"timezone": "Asia/Shanghai", "weekly": {d: [["09:00", "13:00"]] for d in
                                                                                               ("mon", "tue", "wed", "thu", "fri")}})
            assert any(j.name == engine.RECOMPUTE_JOB for j in db.pending_jobs())  # after commit
    assert edited["version"] == brand_cal["version"] + 1
    await sla.recompute(local(1, 12))
    met = (await sla.clocks(done, local(1, 12)))["resolution"]
    assert met.met and met.calendar_version == brand_cal["version"] and met.elapsed_seconds == 2 * HOUR  # kept what it used
    recomputed = (await sla.clocks(open_, local(1, 12)))["resolution"]
    assert recomputed.calendar_version == edited["version"] and recomputed.elapsed_seconds == 3 * HOUR
    # 3 hours consumed by 12:00 on the old hours; the 5 left on the new ones: 12-13 today, 9-13 tomorrow
    assert recomputed.due_at == local(2, 13)

    # KEEP: the open clock keeps its version; a ticket opened afterwards counts on the new one
    with clock.freeze(local(1, 12, 30)):
        async with sla.tx():
            kept = await service.save_calendar(sla.scope, calendar_id=brand_cal["id"], name=brand_cal["name"], spec=NINE_TO_SIX,
                                               open_clocks="keep")
            assert not any(j.name == engine.RECOMPUTE_JOB for j in db.pending_jobs())
    assert (await sla.clocks(open_, local(1, 12, 30)))["resolution"].calendar_version == edited["version"]
    later = await sla.open(local(1, 13))
    fresh = (await sla.clocks(later, local(1, 13)))["resolution"]
    assert fresh.calendar_version == kept["version"] and fresh.due_at == local(2, 12)


async def test_zammad_5624_reassignment_swaps_all_targets(sla, brand_a):
    north = policy("north", {"first_contact": 2, "solution_proposed": 4, "resolution": 8}, conditions={"regions": ["north"]})
    east = policy("east", {"first_contact": 3, "solution_proposed": 5, "resolution": 9}, conditions={"regions": ["east"]}, position=1)
    await sla.setup(policies=[north, east])
    t = await sla.open(local(1, 9), dealer_key="d1")
    first = await sla.clocks(t, local(1, 9))
    assert {m: c.target_seconds // HOUR for m, c in first.items()} == {"first_contact": 2, "solution_proposed": 4, "resolution": 8}
    await sla.act(t, "reassign", local(1, 10), dealer_id=brand_a.dealers["d3"].id)
    swapped = await sla.clocks(t, local(1, 10))
    assert {m: c.target_seconds // HOUR for m, c in swapped.items()} == {"first_contact": 3, "solution_proposed": 5, "resolution": 9}
    assert len({c.policy_id for c in swapped.values()}) == 1 and {c.policy_id for c in swapped.values()} != {c.policy_id for c in first.values()}
    assert all(c.elapsed_seconds == HOUR and c.dealer_id == brand_a.dealers["d3"].id for c in swapped.values())
    assert swapped["first_contact"].due_at == local(1, 12)  # 1 hour used of the new 3


async def test_glpi_15605_reassignment_keeps_consumed_and_paused_time(sla, brand_a):
    await sla.setup(policies=[policy("p", {"first_contact": 2, "resolution": 8})])
    async with sla.tx():  # the dealer the ticket moves to keeps its own hours
        own = await service.save_calendar(sla.scope, name="E-001 hours", dealer_id=brand_a.dealers["d3"].id,
                                          spec={"timezone": "Asia/Shanghai", "weekly": {d: [["10:00", "16:00"]] for d in
                                                                                        ("mon", "tue", "wed", "thu", "fri")}})
    t = await sla.open(local(1, 9), dealer_key="d1")
    await sla.act(t, "record_contact", local(1, 10))
    await sla.act(t, "wait_for_customer", local(1, 11))  # 2 business hours used, then paused
    contact_before = (await sla.clocks(t, local(2, 9)))["first_contact"]
    await sla.act(t, "reassign", local(2, 10), dealer_id=brand_a.dealers["d3"].id)  # back to ASSIGNED: counting again
    after = await sla.clocks(t, local(2, 11))
    res = after["resolution"]
    assert res.running and res.calendar_id == own["id"] and res.dealer_id == brand_a.dealers["d3"].id
    assert res.elapsed_seconds == 3 * HOUR  # 2 before the pause, none during it, 1 since the reassignment
    assert res.due_at == local(2, 16)  # the 6 hours left, on the new dealer's 10:00-16:00
    kept = ("state", "elapsed_seconds", "stopped_at", "calendar_id", "dealer_id", "policy_version")
    assert [getattr(after["first_contact"], k) for k in kept] == [getattr(contact_before, k) for k in kept]  # a met clock keeps what it used
    assert contact_before.met and contact_before.dealer_id == brand_a.dealers["d1"].id


async def test_zammad_4353_a_disabled_policy_stops_warnings(sla):
    await sla.setup(policies=[policy("p", {"first_contact": 2}, warnings=[0.5])])
    tickets = [await sla.open(local(1, 9)), await sla.open(local(1, 9))]
    async with sla.tx():
        [p] = await service.list_policies(sla.scope)
    with clock.freeze(local(1, 9, 30)):
        async with sla.tx():
            saved = await service.save_policy(sla.scope, policy_id=p["id"], name=p["name"], enabled=False,
                                              targets=[{"metric": "first_contact", "seconds": 2 * HOUR}], warnings=[0.5],
                                              open_clocks="keep")
            assert saved["enabled"] is False and saved["version"] == p["version"] + 1
    # the recompute job (KEEP: only the disabled policy's clocks stop) runs after the change ...
    await sla.recompute(local(1, 9, 45), "keep")
    # ... and past the warning and the breach, nothing fires
    await sla.process(local(1, 12))
    for t in tickets:
        fc = (await sla.clocks(t, local(1, 12)))["first_contact"]
        assert fc.state == ClockState.CANCELLED and not fc.warned and not fc.breached
        assert await sla.firings(t) == []
        assert not await sla.events(t, "sla.warned", "sla.breached", "sla.escalated")


async def test_zammad_4353_a_disabled_policy_seen_first_by_the_sweep_fires_nothing(sla):
    await sla.setup(policies=[policy("p", {"first_contact": 2}, warnings=[0.5])])
    t = await sla.open(local(1, 9))
    async with sla.tx():
        [p] = await service.list_policies(sla.scope)
        await service.save_policy(sla.scope, policy_id=p["id"], name=p["name"], enabled=False,
                                  targets=[{"metric": "first_contact", "seconds": 2 * HOUR}], open_clocks="keep")
    await sla.process(local(1, 12))  # no recompute ran
    assert await sla.firings(t) == [] and (await sla.clocks(t, local(1, 12)))["first_contact"].state == ClockState.CANCELLED


async def test_disabling_a_policy_with_recompute_moves_its_clocks_to_the_next_policy(sla):
    await sla.setup(policies=[policy("fast", {"first_contact": 2}), policy("slow", {"first_contact": 4}, position=1)])
    t = await sla.open(local(1, 9))
    async with sla.tx():
        fast = next(p for p in await service.list_policies(sla.scope) if p["name"] == "fast")
        await service.save_policy(sla.scope, policy_id=fast["id"], name="fast", enabled=False,
                                  targets=[{"metric": "first_contact", "seconds": 2 * HOUR}])
    await sla.recompute(local(1, 10))
    fc = (await sla.clocks(t, local(1, 10)))["first_contact"]
    assert fc.running and fc.target_seconds == 4 * HOUR and fc.elapsed_seconds == HOUR and fc.due_at == local(1, 13)


async def test_glpi_1996_exactly_one_breach_per_clock_across_retries_and_restarts(sla, monkeypatch):
    await sla.setup(policies=[policy("p", {"first_contact": 1}, warnings=[])])
    t = await sla.open(local(1, 9))
    # a run that dies after writing the firing, before its commit: nothing of it stays
    from app.sla import repository as repo

    real = repo.update_clocks

    async def crash(*args, **kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(repo, "update_clocks", crash)
    try:
        await sla.process(local(1, 10, 30))
    except RuntimeError:
        pass
    monkeypatch.setattr(repo, "update_clocks", real)
    assert await sla.firings(t) == []
    # the restarted worker and a deadline job at once, then a retried job and another run: one breach
    check = jobs.REGISTRY[engine.CHECK_JOB].coroutine

    async def job(at):
        with clock.freeze(at):
            return await check({"job_id": "retry"}, str(sla.tenant_id))

    await asyncio.gather(sla.process(local(1, 10, 30)), job(local(1, 10, 30)), sla.process(local(1, 10, 30)))
    await job(local(1, 10, 31))
    await sla.process(local(1, 10, 32))
    breaches = [f for f in await sla.firings(t) if f["kind"] == "breach"]
    assert len(breaches) == 1 and breaches[0]["reached_at"] == local(1, 10)
    assert len(await sla.events(t, "sla.breached")) == 1
    assert (await sla.clocks(t, local(1, 11)))["first_contact"].breached_at == local(1, 10)


async def test_glpi_22678_warning_offsets_are_business_time_not_wall_time(sla):
    await sla.setup(policies=[policy("p", {"resolution": 8}, warnings=[0.75])])
    t = await sla.open(local(5, 15))  # Friday 15:00
    [row] = await sla.rows(t)
    # 75% of 8 business hours is 6: Friday 15-18 and Monday 9-12, not Saturday night
    assert row["next_check_at"] == local(8, 12)
    await sla.process(local(8, 11, 59))
    assert await sla.firings(t) == []
    await sla.process(local(8, 12))
    [warning] = await sla.firings(t)
    assert (warning["kind"], warning["level"], warning["reached_at"]) == ("warning", 750, local(8, 12))
    [row] = await sla.rows(t)
    assert row["next_check_at"] == local(8, 14)  # the breach, two business hours on


async def test_a_ticket_raised_on_a_closed_day_starts_counting_at_the_next_opening(sla):
    await sla.setup(policies=[policy("p", {"first_contact": 1})])
    t = await sla.open(local(6, 10))  # Saturday
    fc = (await sla.clocks(t, local(7, 20)))["first_contact"]
    assert fc.elapsed_seconds == 0 and fc.due_at == local(8, 10)  # frappe/helpdesk#2075, with the engine


async def test_cancel_stops_every_clock_and_new_rounds_start_new_ones(sla):
    await sla.setup(policies=[policy("p", {"first_contact": 2, "resolution": 8, "resurvey_sent": 4})])
    t = await sla.open(local(1, 9))
    await sla.act(t, "record_contact", local(1, 10))
    await sla.act(t, "resolve", local(1, 11))
    one = await sla.clocks(t, local(1, 12))
    assert one["resolution"].met and one["resurvey_sent"].running and one["resurvey_sent"].started_at == local(1, 11)
    await sla.act(t, "request_resurvey", local(1, 12))
    assert (await sla.clocks(t, local(1, 13)))["resurvey_sent"].running  # awaiting the re-survey: still running
    await sla.act(t, "report_still_dissatisfied", local(2, 9))
    await sla.act(t, "reopen", local(2, 10))
    two = await sla.clocks(t, local(2, 11))
    assert {m: c.round for m, c in two.items()} == {"first_contact": 2, "resolution": 2}
    assert all(c.running and c.started_at == local(2, 10) and c.elapsed_seconds == HOUR for c in two.values())
    old = await sla.clocks(t, local(2, 11), round_=1)
    # the outcome came back (a re-survey had gone out) the next morning: 4 business hours were 7
    assert old["resurvey_sent"].met and old["resurvey_sent"].stopped_at == local(2, 9) and old["resurvey_sent"].breached
    assert old["resurvey_sent"].overdue_seconds == 3 * HOUR and old["first_contact"].met and not old["first_contact"].breached
    assert {(f["round"], f["kind"]) for f in await sla.firings(t)} == {(1, "warning"), (1, "breach")}  # fired by the change itself
    await sla.act(t, "cancel", local(2, 11))
    assert all(c.state == ClockState.CANCELLED and c.stopped_at == local(2, 11) for c in (await sla.clocks(t, local(2, 13))).values())
    assert all(r["next_check_at"] is None for r in await sla.rows(t))
    fired = len(await sla.firings(t))
    assert await sla.process(local(9, 12)) == 0 and len(await sla.firings(t)) == fired


async def test_the_resurvey_module_stops_the_resurvey_clock(sla):
    await sla.setup(policies=[policy("p", {"first_contact": 2, "resurvey_sent": 4})])
    t = await sla.open(local(1, 9))
    await sla.act(t, "record_contact", local(1, 10))
    await sla.act(t, "resolve", local(1, 11))
    with clock.freeze(local(1, 14)):
        async with sla.tx():
            assert await service.metric_reached(sla.scope, t, "resurvey_sent", local(1, 13)) is True
            assert await service.metric_reached(sla.scope, t, "resurvey_sent") is False  # once
    sent = (await sla.clocks(t, local(1, 15)))["resurvey_sent"]
    assert sent.met and sent.elapsed_seconds == 2 * HOUR and sent.met_by_seconds == 2 * HOUR


async def test_the_ticket_clocks_event_carries_the_tickets_sla_picture(sla):
    await sla.setup(policies=[policy("p", {"first_contact": 2, "resolution": 8}, warnings=[0.5])])
    t = await sla.open(local(1, 9))
    await sla.process(local(1, 10, 30))  # first contact at 50%
    await sla.process(local(1, 11, 30))  # ... and breached
    await sla.act(t, "record_contact", local(1, 12))
    pictures = [e.payload for e in sorted(await sla.events(t, engine.TICKET_CLOCKS), key=lambda e: e.occurred_at)]
    assert pictures == [
        {"ticket_id": str(t), "next_due_at": "2021-03-01T03:00:00Z", "warned": False, "breached": False},
        {"ticket_id": str(t), "next_due_at": "2021-03-01T03:00:00Z", "warned": True, "breached": False},
        {"ticket_id": str(t), "next_due_at": "2021-03-01T03:00:00Z", "warned": True, "breached": True},
        # first contact met (late): the resolution clock is the one due next; it has not warned
        {"ticket_id": str(t), "next_due_at": "2021-03-01T09:00:00Z", "warned": False, "breached": True},
    ]
    assert all(e.subject_type == "Ticket" and e.subject_id == t for e in await sla.events(t, engine.TICKET_CLOCKS))


async def test_keep_leaves_open_clocks_and_new_tickets_take_the_change(sla):
    await sla.setup(policies=[policy("p", {"first_contact": 2})])
    before = await sla.open(local(1, 9))
    async with sla.tx():
        [p] = await service.list_policies(sla.scope)
        await service.save_policy(sla.scope, policy_id=p["id"], name="p", targets=[{"metric": "first_contact", "seconds": 5 * HOUR}],
                                  open_clocks="keep")
    await sla.recompute(local(1, 10), "keep")
    after = await sla.open(local(1, 10))
    old, new = (await sla.clocks(before, local(1, 10)))["first_contact"], (await sla.clocks(after, local(1, 10)))["first_contact"]
    assert old.target_seconds == 2 * HOUR and old.policy_version == p["version"]
    assert new.target_seconds == 5 * HOUR and new.policy_version == p["version"] + 1


async def test_opening_a_batch_of_tickets_costs_a_constant_number_of_statements(sla):
    from app.core import events as ev

    await sla.setup(policies=[STANDARD])
    tickets = [await sla.open(local(1, 9)) for _ in range(12)]
    async with sla.tx():
        found = {e.subject_id: e for tid in tickets for e in await ev.events_of(sla.scope, tid) if e.type == "complaint.ticket_opened"}
    counts = []
    for n in (2, 12):
        with clock.freeze(local(1, 9)):
            async with sla.tx():
                with count_queries() as q:
                    await engine.on_opened(sla.scope, [found[tid] for tid in tickets[:n]])
                counts.append(q.count)
    assert counts[0] == counts[1], counts


async def test_the_demo_gets_a_breached_and_a_warned_ticket(sla):
    await sla.setup(policies=[policy("p", {"first_contact": 4, "resolution": 8}, warnings=[0.75, 0.9],
                                     escalation=[("dealer_manager", 0)])])
    breached, warned = await sla.open(local(1, 9)), await sla.open(local(1, 9))
    with clock.freeze(local(1, 9, 30)):
        async with sla.tx():
            done = await service.seed_demo(sla.scope, breached_ticket_id=breached, warned_ticket_id=warned)
    assert done == {str(breached): "first_contact", str(warned): "first_contact"}
    b, w = (await sla.clocks(breached, local(1, 9, 30)))["first_contact"], (await sla.clocks(warned, local(1, 9, 30)))["first_contact"]
    assert b.breached and b.running and b.overdue_seconds == int(0.05 * 4 * HOUR)
    assert w.warned and not w.breached and w.elapsed_seconds == int(0.8 * 4 * HOUR)
    assert sorted(f["kind"] for f in await sla.firings(breached)) == ["breach", "escalation", "warning", "warning"]
    assert [(f["kind"], f["level"]) for f in await sla.firings(warned)] == [("warning", 750)]
    pictures = {t: max(await sla.events(t, engine.TICKET_CLOCKS), key=lambda e: e.occurred_at).payload for t in (breached, warned)}
    assert pictures[breached]["breached"] and pictures[warned]["warned"] and not pictures[warned]["breached"]
    with clock.freeze(local(1, 9, 31)):  # again: nothing more
        async with sla.tx():
            await service.seed_demo(sla.scope, breached_ticket_id=breached, warned_ticket_id=warned)
    assert len(await sla.firings(breached)) == 4 and len(await sla.firings(warned)) == 1
