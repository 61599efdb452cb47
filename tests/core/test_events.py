"""Domain events (app/core/events.py): recorded in the operation's transaction (and rolled back
with it), in-transaction handlers, after-commit consumers with their own cursor: idempotent when
the relay runs twice or twice at once, never skipping an event a long transaction commits late,
stopping at a failing event without losing the ones before, and one brand never sees another's."""
from __future__ import annotations

import asyncio
import uuid

import pytest

from app.core import db, events, jobs
from app.core.tenancy import Actor, scope_for

SEEN: list[tuple[str, uuid.UUID, str]] = []  # (consumer, tenant, marker)
FAIL_ON: set[str] = set()


@events.consumer("tests.seen", types={"customer.test_ping"})
async def _seen(scope, event) -> None:
    if event.payload.get("marker") in FAIL_ON:
        raise RuntimeError("consumer failure (test)")
    SEEN.append(("tests.seen", scope.tenant_id, event.payload["marker"]))


HANDLED: list[str] = []


@events.on("customer.test_ping")
async def _in_transaction(scope, event) -> None:
    HANDLED.append(event.payload["marker"])
    await db.fetch("SELECT 1", [])  # runs on the operation's connection, in its transaction


def _scope(brand):
    return scope_for(Actor.system(brand.tenant_id))


async def _ping(brand, marker: str) -> events.Event:
    async with db.tenant_transaction(brand.tenant_id):
        return await events.record(_scope(brand), "customer.test_ping", subject_type="Customer", payload={"marker": marker})


def _seen_by(brand) -> list[str]:
    return [m for (_, t, m) in SEEN if t == brand.tenant_id]


@pytest.fixture(autouse=True)
def _reset():
    SEEN.clear()
    HANDLED.clear()
    FAIL_ON.clear()


async def test_recorded_with_its_transaction_or_not_at_all(brand_a):
    e = await _ping(brand_a, "kept")
    assert HANDLED == ["kept"]
    with pytest.raises(RuntimeError):
        async with db.tenant_transaction(brand_a.tenant_id):
            await events.record(_scope(brand_a), "customer.test_ping", subject_type="Customer", payload={"marker": "lost"})
            raise RuntimeError("the operation fails")
    async with db.tenant_transaction(brand_a.tenant_id):
        rows = await db.fetch("SELECT payload->>'marker', actor, type FROM domain_event WHERE tenant_id = $1 AND type = 'customer.test_ping'",
                              [brand_a.tenant_id])
    assert [tuple(r) for r in rows] == [("kept", "system", "customer.test_ping")]
    assert e.actor == "system" and HANDLED == ["kept", "lost"]  # the handler ran, and rolled back with it


async def test_a_recording_transaction_enqueues_one_relay(brand_a):
    async with db.tenant_transaction(brand_a.tenant_id):
        for i in range(3):
            await events.record(_scope(brand_a), "customer.test_ping", subject_type="Customer", payload={"marker": f"r{i}"})
        buffered = [j.name for j in db.pending_jobs()]
    assert buffered.count(events.RELAY_JOB) == 1


async def test_consumers_get_each_event_once_in_order(brand_a, brand_b):
    for m in ("a1", "a2", "a3"):
        await _ping(brand_a, m)
    await _ping(brand_b, "b1")
    assert await events.deliver(brand_a.tenant_id, ["tests.seen"]) == 3
    assert _seen_by(brand_a) == ["a1", "a2", "a3"]
    assert _seen_by(brand_b) == []  # another brand's events wait for its own relay
    assert await events.deliver(brand_a.tenant_id, ["tests.seen"]) == 0  # the relay again: nothing twice
    await _ping(brand_a, "a4")
    await asyncio.gather(*(events.deliver(brand_a.tenant_id, ["tests.seen"]) for _ in range(4)))  # at once
    assert _seen_by(brand_a) == ["a1", "a2", "a3", "a4"]
    await events.deliver(brand_b.tenant_id, ["tests.seen"])
    assert _seen_by(brand_b) == ["b1"]


async def test_an_event_committed_late_is_not_skipped(brand_a):
    """A long transaction records first and commits last: consumers wait for it, then get both."""
    started, release = asyncio.Event(), asyncio.Event()

    async def long_one():
        async with db.tenant_transaction(brand_a.tenant_id):
            await events.record(_scope(brand_a), "customer.test_ping", subject_type="Customer", payload={"marker": "early-id"})
            started.set()
            await release.wait()

    task = asyncio.create_task(long_one())
    await started.wait()
    await _ping(brand_a, "late-id")  # committed first, while the long one is still open
    await events.deliver(brand_a.tenant_id, ["tests.seen"])
    assert _seen_by(brand_a) == []  # nothing past the open transaction yet
    release.set()
    await task
    await events.deliver(brand_a.tenant_id, ["tests.seen"])
    assert sorted(_seen_by(brand_a)) == ["early-id", "late-id"]


async def test_a_failing_consumer_keeps_what_it_did_and_retries_the_rest(brand_a):
    for m in ("f1", "f2", "f3"):
        await _ping(brand_a, m)
    FAIL_ON.add("f2")
    with pytest.raises(RuntimeError, match="consumer failure"):
        await events.deliver(brand_a.tenant_id, ["tests.seen"])
    assert _seen_by(brand_a) == ["f1"]
    FAIL_ON.clear()
    assert await events.deliver(brand_a.tenant_id, ["tests.seen"]) == 2
    assert _seen_by(brand_a) == ["f1", "f2", "f3"]


async def test_bad_records_are_refused(brand_a):
    scope = _scope(brand_a)
    with pytest.raises(RuntimeError, match="tenant_transaction"):
        await events.record(scope, "customer.test_ping", subject_type="Customer")
    async with db.tenant_transaction(brand_a.tenant_id):
        with pytest.raises(ValueError):
            await events.record(scope, "nosuchdomain.happened", subject_type="X")
        with pytest.raises(ValueError):
            await events.record(scope, "Customer.Bad Type", subject_type="X")
        with pytest.raises(ValueError, match="payload"):
            await events.record(scope, "customer.test_ping", subject_type="X", payload={"x": "y" * 9000})


async def test_events_are_append_only_for_the_service(brand_a):
    await _ping(brand_a, "fixed")
    for statement in ("UPDATE domain_event SET type = 'customer.other' WHERE tenant_id = $1",
                      "DELETE FROM domain_event WHERE tenant_id = $1"):
        with pytest.raises(Exception, match="permission denied"):
            async with db.tenant_transaction(brand_a.tenant_id):
                await db.fetch(statement, [brand_a.tenant_id])


async def test_the_sweep_and_the_relay_job_deliver(brand_a):
    await _ping(brand_a, "s1")
    assert events.RELAY_JOB in jobs.REGISTRY and events.SWEEP_JOB in jobs.CRONS
    monkey_consumers = {"tests.seen": events.CONSUMERS["tests.seen"]}
    saved = dict(events.CONSUMERS)
    events.CONSUMERS.clear()
    events.CONSUMERS.update(monkey_consumers)
    try:
        await events.sweep()
    finally:
        events.CONSUMERS.clear()
        events.CONSUMERS.update(saved)
    assert "s1" in _seen_by(brand_a)


async def test_the_relay_job_runs_the_consumers(brand_a):
    """What the worker runs after a recording transaction commits: `events.relay` for the brand."""
    await _ping(brand_a, "job1")
    run = jobs.REGISTRY[events.RELAY_JOB].coroutine
    await run({"job_id": "test-relay"}, str(brand_a.tenant_id))
    assert _seen_by(brand_a) == ["job1"]
    await run({"job_id": "test-relay-2"}, str(brand_a.tenant_id))
    assert _seen_by(brand_a) == ["job1"]
