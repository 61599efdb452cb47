"""Domain events: one record, two kinds of consumer (CLOSED-LOOP.md).

- `await record(scope, "ticket.resolved", subject_type="Ticket", subject_id=t.id, payload={...})`
  writes one row of `domain_event` in the operation's own transaction (append-only, tenant-scoped,
  with the actor and request id) and runs the **in-transaction handlers** of that type at once:
  effects that must never diverge from the change (they roll back with it).
- **After-commit consumers** (`@consumer("notifications", types={...})`) read the table later,
  through the `events.relay` job that every recording transaction enqueues (via the job outbox)
  and a sweep every minute. Each keeps its own cursor per brand; a consumer's work for an event
  and the cursor step past it commit together, so a crash replays and never loses an event, and
  two relays at once deliver each event once (the cursor row is locked). An event committed late
  by a long transaction is not skipped: consumers read only below the oldest running
  transaction (see migration 0017).

A module registers its handlers and consumers in `app/<domain>/events.py` (imported on first
use and by the worker: app.domains). The module that records an event never imports the module
that reacts to it. Event types are `<domain>.<what_happened>`; payloads hold ids and small
facts, never personal data (an erased customer leaves no trace here) and at most 8 KB."""
from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Awaitable, Callable, Iterable

import orjson

from app.core import clock, db, jobs
from app.core.ids import uuid7
from app.core.logging import request_id_var
from app.core.tenancy import Actor, Scope, scope_for

log = logging.getLogger("huifang.events")

RELAY_JOB = "events.relay"
SWEEP_JOB = "events.sweep"
MAX_PAYLOAD_BYTES = 8192
BATCH = 200
TYPE_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*$")

Handler = Callable[[Scope, "Event"], Awaitable[Any]]


@dataclass(frozen=True)
class Event:
    id: uuid.UUID
    tenant_id: uuid.UUID
    type: str
    subject_type: str
    subject_id: uuid.UUID | None
    actor: str
    payload: dict
    occurred_at: datetime
    request_id: str | None = None


@dataclass(frozen=True)
class Consumer:
    name: str
    fn: Handler
    types: frozenset[str] | None  # None: every type


HANDLERS: dict[str, list[Handler]] = {}
# handlers that take a whole batch (`fn(scope, [event, ...])`): what record_many() was built for
BATCH_HANDLERS: dict[str, list[Callable[[Scope, list["Event"]], Awaitable[Any]]]] = {}
CONSUMERS: dict[str, Consumer] = {}
_loaded = False


def _check_type(event_type: str) -> None:
    from app.domains import DOMAINS

    if len(event_type) > 80 or not TYPE_RE.match(event_type) or event_type.split(".", 1)[0] not in DOMAINS:
        raise ValueError(f"event type {event_type!r}: '<domain>.<what_happened>', lower case, a domain of app.domains")


def on(event_type: str) -> Callable[[Handler], Handler]:
    """Register an in-transaction handler: `fn(scope, event)` runs inside `record()`."""
    _check_type(event_type)

    def deco(fn: Handler) -> Handler:
        HANDLERS.setdefault(event_type, []).append(fn)
        return fn

    return deco


def on_many(event_type: str):
    """Register an in-transaction handler that takes the events of one record_many() call (or
    the one event of a record()) as a list: set-based work instead of a statement per event."""
    _check_type(event_type)

    def deco(fn):
        BATCH_HANDLERS.setdefault(event_type, []).append(fn)
        return fn

    return deco


def consumer(name: str, *, types: Iterable[str] | None = None) -> Callable[[Handler], Handler]:
    """Register an after-commit consumer: `fn(scope, event)` for each event of `types` (all when
    None), in order, each in the brand's transaction together with the cursor's step past it."""
    if not re.match(r"^[a-z][a-z0-9_.]{0,79}$", name):
        raise ValueError(f"consumer name {name!r}")
    wanted = frozenset(types) if types is not None else None
    for t in wanted or ():
        _check_type(t)

    def deco(fn: Handler) -> Handler:
        if name in CONSUMERS and CONSUMERS[name].fn is not fn:
            raise ValueError(f"consumer {name!r} registered twice")
        CONSUMERS[name] = Consumer(name, fn, wanted)
        return fn

    return deco


def load() -> None:
    """Import every module's events.py (where handlers and consumers register); once."""
    global _loaded
    if not _loaded:
        import importlib

        from app.domains import app_modules

        for name in app_modules("events"):
            importlib.import_module(name)
        _loaded = True


async def record(scope: Scope, event_type: str, *, subject_type: str, subject_id: uuid.UUID | None = None,
                 payload: dict | None = None) -> Event:
    """Record one event in the current tenant transaction and run its in-transaction handlers."""
    _check_type(event_type)
    if db.current_tenant() != scope.tenant_id:
        raise RuntimeError("events.record() must run inside the scope's tenant_transaction()")
    body = orjson.dumps(payload or {})
    if len(body) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"event payload over {MAX_PAYLOAD_BYTES} bytes")
    load()
    event = Event(id=uuid7(), tenant_id=scope.tenant_id, type=event_type, subject_type=subject_type[:40],
                  subject_id=subject_id, actor=scope.actor.label[:120], payload=orjson.loads(body),
                  occurred_at=clock.now(), request_id=request_id_var.get())
    await db.fetch(
        "INSERT INTO domain_event (id, tenant_id, type, subject_type, subject_id, actor, payload, occurred_at, request_id) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)",
        [event.id, event.tenant_id, event.type, event.subject_type, event.subject_id, event.actor, body.decode(),
         event.occurred_at, event.request_id])
    for handler in HANDLERS.get(event_type, ()):
        await handler(scope, event)
    for batch_handler in BATCH_HANDLERS.get(event_type, ()):
        await batch_handler(scope, [event])
    _wake_relay(scope.tenant_id)
    return event


async def record_many(scope: Scope, event_type: str, *, subject_type: str,
                      items: list[tuple[uuid.UUID | None, dict]]) -> list[Event]:
    """Record one event per (subject_id, payload) of the same type, in one statement, then run
    the type's handlers: batch handlers once with every event, single ones per event."""
    _check_type(event_type)
    if db.current_tenant() != scope.tenant_id:
        raise RuntimeError("events.record_many() must run inside the scope's tenant_transaction()")
    if not items:
        return []
    load()
    now, actor, rid = clock.now(), scope.actor.label[:120], request_id_var.get()
    out, bodies = [], []
    for subject_id, payload in items:
        body = orjson.dumps(payload or {})
        if len(body) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"event payload over {MAX_PAYLOAD_BYTES} bytes")
        bodies.append(body.decode())
        out.append(Event(id=uuid7(), tenant_id=scope.tenant_id, type=event_type, subject_type=subject_type[:40],
                         subject_id=subject_id, actor=actor, payload=orjson.loads(body), occurred_at=now, request_id=rid))
    await db.fetch(
        "INSERT INTO domain_event (id, tenant_id, type, subject_type, subject_id, actor, payload, occurred_at, request_id) "
        "SELECT e.id, $1, $2, $3, e.subject_id, $4, e.payload::jsonb, $5, $6 "
        "FROM unnest($7::uuid[], $8::uuid[], $9::text[]) AS e(id, subject_id, payload) ORDER BY e.id",
        [scope.tenant_id, event_type, subject_type[:40], actor, now, rid, [e.id for e in out], [e.subject_id for e in out], bodies])
    for handler in HANDLERS.get(event_type, ()):
        for event in out:
            await handler(scope, event)
    for batch_handler in BATCH_HANDLERS.get(event_type, ()):
        await batch_handler(scope, out)
    _wake_relay(scope.tenant_id)
    return out


def _wake_relay(tenant_id: uuid.UUID) -> None:
    """One relay job per recording transaction (written to the job outbox with the events)."""
    buffer = db.pending_jobs()
    if buffer is not None and not any(j.name == RELAY_JOB for j in buffer):
        jobs.enqueue(RELAY_JOB, tenant_id)


async def events_of(scope: Scope, subject_id: uuid.UUID, *, limit: int = 100) -> list[Event]:
    """A subject's events, oldest first (e.g. a ticket's history)."""
    rows = await db.fetch(
        "SELECT id, tenant_id, type, subject_type, subject_id, actor, payload, occurred_at, request_id FROM domain_event "
        "WHERE tenant_id = $1 AND subject_id = $2 ORDER BY id LIMIT $3", [scope.tenant_id, subject_id, limit])
    return [_event(r) for r in rows]


async def events_of_subjects(scope: Scope, subject_ids, *, limit: int = 100) -> dict[uuid.UUID, list[Event]]:
    """Each subject's events, oldest first, at most `limit` each: one statement for a batch."""
    rows = await db.fetch(
        "SELECT x.id, x.tenant_id, x.type, x.subject_type, x.subject_id, x.actor, x.payload, x.occurred_at, x.request_id "
        "FROM unnest($2::uuid[]) AS s(id) CROSS JOIN LATERAL (SELECT * FROM domain_event e WHERE e.tenant_id = $1 "
        "AND e.subject_id = s.id ORDER BY e.id LIMIT $3) x", [scope.tenant_id, list(subject_ids), limit])
    out: dict[uuid.UUID, list[Event]] = {i: [] for i in subject_ids}
    for r in rows:
        out[r[4]].append(_event(r))
    return out


def _event(r) -> Event:
    payload = r[6]
    if isinstance(payload, (str, bytes)):
        payload = orjson.loads(payload)
    return Event(id=r[0], tenant_id=r[1], type=r[2], subject_type=r[3], subject_id=r[4], actor=r[5], payload=payload,
                 occurred_at=r[7], request_id=r[8])


async def deliver(tenant_id: uuid.UUID, names: Iterable[str] | None = None, *, batch: int = BATCH) -> int:
    """The relay: hand every consumer (or those named) the brand's events it has not had yet.
    Returns how many deliveries were made. A consumer that raises stops at that event: what it
    did before is kept, the cursor rests before the failing event, and the error is raised after
    the other consumers had their turn (the job is retried)."""
    load()
    delivered, failures = 0, []
    for c in [CONSUMERS[n] for n in names] if names is not None else list(CONSUMERS.values()):
        while True:
            try:
                n, more = await _deliver_batch(tenant_id, c, batch)
            except Exception as e:  # noqa: BLE001 - one consumer's failure must not block the others
                log.error("event consumer failed", exc_info=True, extra={"consumer": c.name, "event_tenant": str(tenant_id)})
                failures.append(e)
                break
            delivered += n
            if not more:
                break
    if failures:
        raise failures[0]
    return delivered


async def _deliver_batch(tenant_id: uuid.UUID, c: Consumer, batch: int) -> tuple[int, bool]:
    scope = scope_for(Actor.system(tenant_id))
    async with db.tenant_transaction(tenant_id):
        await db.fetch("INSERT INTO event_cursor (id, tenant_id, consumer, delivered, updated_at) VALUES ($1, $2, $3, 0, $4) "
                       "ON CONFLICT (tenant_id, consumer) DO NOTHING", [uuid7(), tenant_id, c.name, clock.now()])
        # the lock serialises relays of one consumer and brand: each event is delivered once
        cur = await db.fetch("SELECT last_txid::text, last_event_id FROM event_cursor WHERE tenant_id = $1 AND consumer = $2 FOR UPDATE",
                             [tenant_id, c.name])
        last_txid, last_id = cur[0][0], cur[0][1] or uuid.UUID(int=0)
        params: list = [tenant_id, last_txid, last_id, batch + 1]
        only = ""
        if c.types is not None:
            params.append(sorted(c.types))
            only = " AND type = ANY($5::text[])"
        rows = await db.fetch(
            "SELECT id, tenant_id, type, subject_type, subject_id, actor, payload, occurred_at, request_id, txid::text "
            "FROM domain_event WHERE tenant_id = $1 AND (txid, id) > ($2::text::xid8, $3::uuid) "
            "AND txid < pg_snapshot_xmin(pg_current_snapshot())" + only + " ORDER BY txid, id LIMIT $4", params)
        more = len(rows) > batch
        rows = rows[:batch]
        done, failed = 0, None
        for r in rows:
            try:
                async with db.savepoint():
                    await c.fn(scope, _event(r))
            except Exception as e:  # noqa: BLE001 - kept for after the cursor moved past the good ones
                failed = e
                break
            last_txid, last_id, done = r[9], r[0], done + 1
        if done:
            await db.fetch("UPDATE event_cursor SET last_txid = $3::text::xid8, last_event_id = $4, delivered = delivered + $5, updated_at = $6 "
                           "WHERE tenant_id = $1 AND consumer = $2", [tenant_id, c.name, last_txid, last_id, done, clock.now()])
    if failed is not None:
        raise failed
    return done, more


@jobs.tenant_job(RELAY_JOB, transactional=False, max_tries=10)
async def relay(scope: Scope) -> int:
    return await deliver(scope.tenant_id)


@jobs.cron_task(SWEEP_JOB, second=45)  # every minute
async def sweep(since_seconds: float = 3600) -> int:
    """Whatever a relay job missed (a queue outage, a failed consumer's retry): every brand with
    events in the last hour (events_tenants(), migration 0017) gets a delivery round."""
    rows = await db.fetch("SELECT events_tenants(make_interval(secs => $1))", [float(since_seconds)])
    total = 0
    for (tenant_id,) in rows:
        try:
            total += await deliver(tenant_id)
        except Exception:  # noqa: BLE001 - logged by deliver(); the next brand still gets its round
            pass
    return total
