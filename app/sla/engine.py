"""The SLA engine: clocks from ticket events, firings from the deadline jobs and the sweep.

Everything that changes clocks goes through one `Work` unit inside a tenant transaction: it
loads the tickets' clocks (locked), the brand's calendars and policies, applies the changes in
memory (app/sla/clocks.py), then writes everything back with a constant number of statements,
whatever the number of tickets:

1. new firings, `INSERT ... ON CONFLICT DO NOTHING` on (ticket, metric, round, kind, level):
   only the rows actually inserted go on, so a firing happens once whoever computes it (a ticket
   change, a deadline job, the sweep, a retry after a crash);
2. one domain event per inserted firing (`sla.warned`, `sla.breached`, `sla.escalated`);
3. notifications waiting for their calendar to open (`sla.notice_due` when it does), or
   dropped when their clock stopped first;
4. the clocks themselves (`next_check_at`: the next threshold or waiting notification);
5. one `sla.ticket_clocks` event per ticket whose SLA picture changed (the complaint module
   keeps it on the ticket);
6. a deadline job (`sla.check`, deferred to the instant) for each new `next_check_at` within the
   next two minutes; the sweep arms the jobs of later ones when they come that close.

`process_due` (the job and the sweep) and `recompute` (after a policy or calendar change) run
batches of tickets, each in its own transaction, locking tickets and clocks in the order a
ticket change does (app/sla/repository.py), skipping what a ticket change holds right now.
"""
from __future__ import annotations

import logging
import math
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

import orjson

from app.core import clock, db, events, jobs
from app.core.ids import uuid7
from app.core.tenancy import Actor, Scope, scope_for
from app.sla import policies as pol
from app.sla import repository as repo
from app.sla.calendar import BusinessCalendar, CalendarNeverOpen, holiday_spec
from app.sla.clocks import Clock, Firing, flags, iso, us
from app.sla.enums import (
    ROUND_METRICS,
    CalendarChoice,
    CalendarKind,
    ClockState,
    FiringKind,
    Metric,
    Notice,
    OpenClocks,
)

log = logging.getLogger("huifang.sla")

CHECK_JOB = "sla.check"
RECOMPUTE_JOB = "sla.recompute"
TICKET_CLOCKS = "sla.ticket_clocks"
WARNED, BREACHED, ESCALATED, NOTICE_DUE = "sla.warned", "sla.breached", "sla.escalated", "sla.notice_due"
EVENT_OF_KIND = {FiringKind.WARNING.value: WARNED, FiringKind.BREACH.value: BREACHED, FiringKind.ESCALATION.value: ESCALATED}
BATCH = 500  # tickets per transaction for the sweep, the jobs and recomputes
HORIZON_SECONDS = 120  # deadline jobs are queued for the checks this close (the sweep, every minute, arms the rest)
BUCKET_SECONDS = 5  # one job per brand and 5 seconds of deadlines
MAX_BATCHES = 400  # per run; what is left is the next run's
_CACHE_SIZE = 512

# ---- calendars: one instance per spec (its months stay cached) --------------------------------

_calendars: OrderedDict[str, BusinessCalendar] = OrderedDict()


def calendar_for_spec(digest: str, spec: Any) -> BusinessCalendar:
    """The calendar of a spec, cached by its version's key (app/sla/repository.py `_VERSION_KEY`:
    versions are immutable, so equal keys are equal calendars)."""
    cal = _calendars.get(digest)
    if cal is None:
        cal = BusinessCalendar.from_spec(orjson.loads(spec) if isinstance(spec, (str, bytes)) else spec)
        _calendars[digest] = cal
        if len(_calendars) > _CACHE_SIZE:
            _calendars.popitem(last=False)
    else:
        _calendars.move_to_end(digest)
    return cal


def cached(digest: str | None) -> BusinessCalendar | None:
    cal = _calendars.get(digest) if digest else None
    if cal is not None:
        try:
            _calendars.move_to_end(digest)
        except KeyError:  # evicted meanwhile by another coroutine's insert: still a valid calendar
            pass
    return cal


async def calendars_of_rows(scope: Scope, rows: Iterable[dict]) -> dict[str, BusinessCalendar]:
    """key -> calendar for clock rows (their `calendar_digest`, the version's cache key), reading
    the specs not cached."""
    out: dict[str, BusinessCalendar] = {}
    missing: dict[tuple[uuid.UUID, int], str] = {}
    for r in rows:
        digest = r["calendar_digest"]
        if digest is None or digest in out:
            continue
        cal = cached(digest)
        if cal is not None:
            out[digest] = cal
        else:
            missing[(r["calendar_id"], r["calendar_version"])] = digest
    if missing:
        for key, spec in (await repo.calendar_specs(scope, missing)).items():
            out[missing[key]] = calendar_for_spec(missing[key], spec)
    return out


# ---- the brand's setup: calendars and policies --------------------------------------------------

DEFAULT_TIMEZONE = "Asia/Shanghai"
_OFFICE = [["09:00", "12:00"], ["13:30", "18:00"]]
DEFAULT_WEEKLY = {**{day: _OFFICE for day in ("mon", "tue", "wed", "thu", "fri")}, "sat": [["09:00", "12:00"]]}
BRAND_CALENDAR_NAME = "Business hours"
ALWAYS_CALENDAR_NAME = "24x7"


def default_calendar(year: int) -> tuple[dict, dict]:
    """The seeded brand calendar: Mon-Fri 09:00-12:00 and 13:30-18:00, Sat 09:00-12:00, in
    Asia/Shanghai, with China's public holidays and official make-up working days of `year` and
    the next (years without official data are provisional: see the report)."""
    return _default_calendar(year)


def _default_calendar(year: int, _cache: dict = {}) -> tuple[dict, dict]:  # noqa: B006 - a per-process memo
    if year not in _cache:
        _cache[year] = holiday_spec("CN", [year, year + 1], timezone=DEFAULT_TIMEZONE, weekly=DEFAULT_WEEKLY)
    spec, report = _cache[year]
    return orjson.loads(orjson.dumps(spec)), orjson.loads(orjson.dumps(report))


@dataclass(frozen=True)
class CalRef:
    id: uuid.UUID
    kind: str
    dealer_id: uuid.UUID | None
    version: int
    name: str
    calendar: BusinessCalendar


@dataclass
class Setup:
    brand: CalRef
    always: CalRef
    dealers: dict[uuid.UUID, CalRef]
    by_id: dict[uuid.UUID, CalRef]
    policies: list[pol.Policy]

    def business(self, dealer_id: uuid.UUID | None) -> CalRef:
        return self.dealers.get(dealer_id, self.brand) if dealer_id is not None else self.brand

    def for_mode(self, mode: str, dealer_id: uuid.UUID | None) -> CalRef:
        return self.always if mode == CalendarChoice.ALWAYS else self.business(dealer_id)

    def notifications(self, c: Clock) -> BusinessCalendar:
        """The calendar a clock's notifications wait for: its policy's, else the business calendar
        of its dealer (even for a 24x7 clock: nobody is paged at 3 a.m.)."""
        ref = self.by_id.get(c.notification_calendar_id) if c.notification_calendar_id else None
        return (ref or self.business(c.dealer_id)).calendar


async def ensure_defaults(sys: Scope) -> None:
    """Seed a brand's calendars and policies on first use (idempotent, safe when concurrent)."""
    await repo.lock_brand_setup(sys)
    if await repo.has_brand_calendar(sys):
        return
    spec, report = default_calendar(clock.now().year)
    await repo.insert_calendar(sys, name=BRAND_CALENDAR_NAME, kind=CalendarKind.BRAND.value, dealer_id=None, spec=spec,
                               seed_report=report)
    await repo.insert_calendar(sys, name=ALWAYS_CALENDAR_NAME, kind=CalendarKind.ALWAYS.value, dealer_id=None,
                               spec=BusinessCalendar.always().to_spec())
    if not await repo.policies(sys, include_deleted=True):
        await repo.insert_policies(sys, [{**p, "enabled": True, "notification_calendar_id": None,
                                          "open_clocks": OpenClocks.RECOMPUTE.value} for p in pol.default_rows()])


async def load_setup(sys: Scope, dealer_ids: Iterable[uuid.UUID | None]) -> Setup:
    dealers = sorted({d for d in dealer_ids if d is not None})
    rows = await repo.calendars(sys, dealer_ids=dealers)
    if not any(r["kind"] == CalendarKind.BRAND for r in rows):
        await ensure_defaults(sys)
        rows = await repo.calendars(sys, dealer_ids=dealers)
    refs = [CalRef(r["id"], r["kind"], r["dealer_id"], r["version"], r["name"],
                   calendar_for_spec(r["digest"], r["spec"]) if r["digest"] else BusinessCalendar.from_spec(r["spec"]))
            for r in rows]
    by_kind = {ref.kind: ref for ref in refs if ref.kind in (CalendarKind.BRAND, CalendarKind.ALWAYS)}
    policies = pol.ordered(pol.Policy.of(p) for p in await repo.policies(sys))
    return Setup(brand=by_kind[CalendarKind.BRAND], always=by_kind[CalendarKind.ALWAYS],
                 dealers={ref.dealer_id: ref for ref in refs if ref.kind == CalendarKind.DEALER},
                 by_id={ref.id: ref for ref in refs}, policies=policies)


def system(scope: Scope) -> Scope:
    return scope if scope.actor.kind == "system" else scope_for(Actor.system(scope.tenant_id))


# ---- clocks from rows ---------------------------------------------------------------------------


def clock_of_row(r: dict, cal: BusinessCalendar) -> Clock:
    return Clock(
        id=r["id"], ticket_id=r["ticket_id"], metric=r["metric"], round=r["round"], calendar=cal, calendar_id=r["calendar_id"],
        calendar_version=r["calendar_version"], target_us=r["target_us"], started_at=r["started_at"], policy_id=r["policy_id"],
        policy_version=r["policy_version"], dealer_id=r["dealer_id"], calendar_mode=r["calendar_mode"],
        consumed_us=r["consumed_us"], running_since=r["running_since"], due_at=r["due_at"], stopped_at=r["stopped_at"],
        state=r["state"], breached_at=r["breached_at"], warned_at=r["warned_at"], checked_us=r["checked_us"],
        next_check_at=r["next_check_at"], notice_at=r["notice_at"], pauses=tuple(r["pauses"] or ()),
        warnings=tuple(float(w) for w in r["warnings"] or ()),
        escalation=tuple((s["level"], int(s["after_seconds"])) for s in r["escalation"] or ()),
        notification_calendar_id=r["notification_calendar_id"], active=r.get("policy_active", True))


@dataclass
class Ticket:
    """The engine's picture of one ticket (an `sla_ticket` row) and its clocks."""

    row: dict
    clocks: list[Clock] = field(default_factory=list)
    before: dict | None = None  # its SLA picture when loaded (None: new to the engine)
    dirty: bool = False

    @property
    def id(self) -> uuid.UUID:
        return self.row["id"]

    def current(self) -> list[Clock]:
        return [c for c in self.clocks if c.round == self.row["round"]]

    def clock(self, metric: str, round_: int) -> Clock | None:
        return next((c for c in self.clocks if c.metric == metric and c.round == round_), None)


class Work:
    """One transaction's worth of clock changes for a set of tickets (see the module docstring)."""

    def __init__(self, sys: Scope, setup: Setup, now: datetime):
        self.sys, self.setup, self.now = sys, setup, now
        self.tickets: dict[uuid.UUID, Ticket] = {}
        self.firings: list[Firing] = []
        self.touched: dict[uuid.UUID, Clock] = {}
        self.cancelled: set[uuid.UUID] = set()
        self.met: set[uuid.UUID] = set()
        self._facts: dict[uuid.UUID, pol.Facts] = {}
        self.modes: dict[uuid.UUID, str] = {}  # clock id -> its policy's open-clock choice (rows loaded)

    # -- loading --------------------------------------------------------------------------------

    @classmethod
    async def load(cls, scope: Scope, ticket_ids: Iterable[uuid.UUID], *, now: datetime | None = None,
                   extra_dealers: Iterable[uuid.UUID | None] = (), lock: bool = True) -> "Work":
        """The tickets' projections and clocks. The caller holds, or has just taken, the tickets'
        own rows, which every writer of their clocks takes first (app/sla/repository.py): that
        lock serialises the work; `lock` also locks the engine's rows (a second line of defence,
        left out by the sweep, where it is a third of a batch's database time)."""
        sys = system(scope)
        ids = list(dict.fromkeys(ticket_ids))
        projections = await repo.projections(sys, ids, for_update=lock)
        rows = await repo.clock_rows(sys, ids, for_update=lock)
        dealer_ids = {p["dealer_id"] for p in projections.values()} | {r["dealer_id"] for r in rows} | set(extra_dealers)
        setup = await load_setup(sys, dealer_ids)
        cals = await calendars_of_rows(sys, rows)
        work = cls(sys, setup, now or clock.now())
        for tid, p in projections.items():
            work.tickets[tid] = Ticket(p)
        for r in rows:
            t = work.tickets.get(r["ticket_id"])
            cal = cals.get(r["calendar_digest"])
            if t is None or cal is None:  # no picture of the ticket, or a calendar version gone: left alone
                continue
            c = clock_of_row(r, cal)
            t.clocks.append(c)
            work.modes[c.id] = r.get("policy_mode") or OpenClocks.RECOMPUTE.value
        for t in work.tickets.values():
            t.before = flags(t.clocks, t.row["round"])
        return work

    async def facts(self, ticket_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, pol.Facts]:
        """What policies choose by, for these tickets (the customers' tiers and the dealers'
        regions looked up once for all of them)."""
        from app.customer import service as customer_service
        from app.tenant import service as tenant_service

        wanted = [tid for tid in dict.fromkeys(ticket_ids) if tid not in self._facts and tid in self.tickets]
        if wanted:
            rows = [self.tickets[tid].row for tid in wanted]
            tiers = await customer_service.tiers(self.sys, list({r["customer_id"] for r in rows}))
            dealer_ids = list({r["dealer_id"] for r in rows if r["dealer_id"] is not None})
            dealers = await tenant_service.dealers_by_ids(self.sys, dealer_ids) if dealer_ids else {}
            for r in rows:
                dealer = dealers.get(r["dealer_id"])
                self._facts[r["id"]] = pol.Facts(priority=r["priority"], category_id=r["category_id"], dimension=r["dimension"],
                                                 source=r["source"], tier=tiers.get(r["customer_id"]), round=r["round"],
                                                 region=dealer.region if dealer else None)
        return {tid: self._facts[tid] for tid in ticket_ids if tid in self._facts}

    def forget_facts(self, ticket_id: uuid.UUID) -> None:
        self._facts.pop(ticket_id, None)

    # -- changing -------------------------------------------------------------------------------

    def touch(self, c: Clock) -> Clock:
        self.touched[c.id] = c
        return c

    def advance(self, t: Ticket, now: datetime | None = None, *, due_only: bool = False) -> None:
        """Fire what every open clock of the ticket reached by `now` (`due_only`: the clocks whose
        next check has come; the others have nothing to fire yet)."""
        at = now or self.now
        for c in t.clocks:
            if c.is_open and (not due_only or (c.next_check_at is not None and c.next_check_at <= at)):
                fired = c.advance(at)
                if fired:
                    self.firings += fired
                    self.touch(c)

    def start(self, t: Ticket, metric: str, round_: int, facts: pol.Facts, at: datetime) -> Clock | None:
        """A new clock for the metric and round, from the policy the facts choose (none: no clock)."""
        if t.clock(metric, round_) is not None:
            return None
        p = pol.resolve(self.setup.policies, facts, metric)
        if p is None:
            return None
        ref = self.setup.for_mode(p.calendar, t.row["dealer_id"])
        c = Clock(id=uuid7(), ticket_id=t.id, metric=metric, round=round_, calendar=ref.calendar, calendar_id=ref.id,
                  calendar_version=ref.version, target_us=us(p.targets[metric]), started_at=at, policy_id=p.id,
                  policy_version=p.version, dealer_id=t.row["dealer_id"], calendar_mode=p.calendar, running_since=at,
                  state=ClockState.RUNNING.value, pauses=p.pauses_for(metric), warnings=p.warnings, escalation=p.escalation,
                  notification_calendar_id=p.notification_calendar_id, new=True)
        if t.row["status"] in c.pauses:
            c.pause(at)
        c.refresh()
        t.clocks.append(c)
        self.modes[c.id] = p.open_clocks
        return self.touch(c)

    def stop(self, c: Clock, at: datetime, *, met: bool) -> None:
        if c.is_open:
            c.stop(at, met=met)
            (self.met if met else self.cancelled).add(c.id)
            self.touch(c)

    def rebind(self, t: Ticket, c: Clock, facts: pol.Facts, at: datetime, *, swap: bool) -> None:
        """Put an open clock on the calendar its dealer now has and, when `swap`, on the policy
        the ticket's facts now choose (keeping the time consumed). A breached clock keeps its
        target; a clock no active policy gives a target any more is cancelled."""
        if not c.is_open:
            return
        if swap and c.breached_at is None:
            p = pol.resolve(self.setup.policies, facts, c.metric)
            if p is None:
                self.stop(c, at, met=False)
                return
            c.retarget(at, target_us=us(p.targets[c.metric]), policy_id=p.id, policy_version=p.version,
                       pauses=p.pauses_for(c.metric), warnings=p.warnings, escalation=p.escalation,
                       notification_calendar_id=p.notification_calendar_id, calendar_mode=p.calendar)
            self.modes[c.id] = p.open_clocks
        elif not c.active:
            self.stop(c, at, met=False)  # a disabled policy's breached clock escalates no further
            return
        ref = self.setup.for_mode(c.calendar_mode, t.row["dealer_id"])
        if (ref.id, ref.version) != (c.calendar_id, c.calendar_version) or c.dealer_id != t.row["dealer_id"]:
            c.move(at, calendar=ref.calendar, calendar_id=ref.id, calendar_version=ref.version, dealer_id=t.row["dealer_id"])
        self.pause_or_resume(c, t.row["status"], at)
        self.firings += c.advance(at)  # thresholds a lower target has already passed fire now
        self.touch(c)

    def pause_or_resume(self, c: Clock, status: str, at: datetime) -> None:
        if not c.is_open:
            return
        if status in c.pauses and c.state == ClockState.RUNNING:
            c.pause(at)
            self.touch(c)
        elif status not in c.pauses and c.state == ClockState.PAUSED:
            c.resume(at)
            self.touch(c)

    async def settle_inactive(self) -> None:
        """Clocks of a policy disabled or deleted since they started fire nothing more: with
        RECOMPUTE (the policy's last change asked for it) they move to the policy that now
        applies, else they stop."""
        stale = [(t, c) for t in self.tickets.values() for c in t.clocks if c.is_open and not c.active]
        if not stale:
            return
        facts = await self.facts([t.id for t, c in stale if self.modes.get(c.id) == OpenClocks.RECOMPUTE])
        for t, c in stale:
            if self.modes.get(c.id) == OpenClocks.RECOMPUTE and c.breached_at is None and t.id in facts:
                self.rebind(t, c, facts[t.id], self.now, swap=True)
            else:
                self.stop(c, self.now, met=False)

    # -- writing --------------------------------------------------------------------------------

    async def finish(self) -> None:
        """Write the unit's firings, notices, clocks, pictures, flags and jobs (see the module docstring)."""
        sys, now = self.sys, self.now
        for c in self.touched.values():
            c.refresh()
        # 1-2. firings, once each, and their events
        await self._fire()
        # 3. waiting notifications whose time has come (or whose clock stopped)
        await self._notices()
        # 4. clocks
        new = [c for c in self.touched.values() if c.new]
        old = [c for c in self.touched.values() if not c.new]
        for c in self.touched.values():
            c.schedule()
        await repo.save_projections(sys, [t.row for t in self.tickets.values() if t.dirty])
        await repo.insert_clocks(sys, new)
        await repo.update_clocks(sys, old)
        # 5. the tickets' SLA pictures that changed
        items = []
        for t in self.tickets.values():
            after = flags(t.clocks, t.row["round"])
            if after != t.before:
                items.append((t.id, {"ticket_id": str(t.id), **after}))
                t.before = after
        if items:
            await events.record_many(sys, TICKET_CLOCKS, subject_type="Ticket", items=items)
        # 6. a deadline job per brand and minute
        schedule_checks(sys.tenant_id, [c.next_check_at for c in self.touched.values()], now)

    async def _fire(self) -> None:
        sys, now = self.sys, self.now
        breached = {f.clock.id for f in self.firings if f.kind == FiringKind.BREACH}
        rows, meta = [], {}
        for f in self.firings:
            c = f.clock
            notify_at = _next_open(self.setup.notifications(c), now)
            if f.kind == FiringKind.WARNING and (c.id in breached or c.state != ClockState.RUNNING):
                notice = Notice.DROPPED  # overtaken by the breach, or the clock stopped or paused meanwhile
            else:
                notice = Notice.SENT if notify_at <= now else Notice.PENDING
            fid = uuid7()
            rows.append({"id": fid, "clock_id": c.id, "ticket_id": c.ticket_id, "metric": c.metric, "round": c.round,
                         "kind": f.kind, "level": f.level, "reached_at": f.reached_at, "notify_at": notify_at,
                         "notice": notice.value, "noticed_at": now if notice != Notice.PENDING else None})
            meta[fid] = (f, notice, notify_at)
        inserted = await repo.insert_firings(sys, rows)
        by_event: dict[str, list] = {}
        for fid in [r["id"] for r in rows if r["id"] in inserted]:
            f, notice, notify_at = meta[fid]
            c = f.clock
            if notice == Notice.PENDING and (c.notice_at is None or notify_at < c.notice_at):
                c.notice_at = notify_at
            by_event.setdefault(EVENT_OF_KIND[f.kind], []).append(
                (c.ticket_id, self._payload(f, fid, notify="now" if notice == Notice.SENT else
                                            "deferred" if notice == Notice.PENDING else "none", notify_at=notify_at)))
        for event_type, items in by_event.items():
            await events.record_many(sys, event_type, subject_type="Ticket", items=items)
        self.firings = []

    def _payload(self, f: Firing, firing_id: uuid.UUID, *, notify: str, notify_at: datetime | None) -> dict:
        c = f.clock
        t = self.tickets.get(c.ticket_id)
        row = t.row if t else {}
        return {"ticket_id": str(c.ticket_id), "number": row.get("number"), "firing_id": str(firing_id), "clock_id": str(c.id),
                "metric": c.metric, "round": c.round, "kind": f.kind, "level": f.escalation_level,
                "fraction": f.fraction, "reached_at": iso(f.reached_at), "due_at": iso(c.due_at), "policy_id": str(c.policy_id) if c.policy_id else None,
                "dealer_id": str(row["dealer_id"]) if row.get("dealer_id") else None,
                "agent_id": str(row["agent_id"]) if row.get("agent_id") else None,
                # the zone people read the times in: the dealer's business calendar's (a 24x7 clock's is UTC)
                "time_zone": self.setup.business(c.dealer_id).calendar.timezone.key, "notify": notify, "notify_at": iso(notify_at)}

    async def _notices(self) -> None:
        sys, now = self.sys, self.now
        clocks = {c.id: c for t in self.tickets.values() for c in t.clocks}
        waiting = [c for c in clocks.values() if c.notice_at is not None]
        due = [c.id for c in waiting if c.notice_at <= now]
        ended: list[tuple[uuid.UUID, str]] = []
        items = []
        for n in await repo.due_notices(sys, due, now):
            c = clocks[n["clock_id"]]
            if n["kind"] == FiringKind.WARNING:
                send = c.state == ClockState.RUNNING and c.breached_at is None
            else:
                send = c.state != ClockState.CANCELLED
            ended.append((n["id"], (Notice.SENT if send else Notice.DROPPED).value))
            if send:
                f = Firing(c, n["kind"], n["level"], n["reached_at"], fraction=n["level"] / 1000 if n["kind"] == FiringKind.WARNING else None,
                           escalation_level=_level_name(n["level"]) if n["kind"] == FiringKind.ESCALATION else None)
                items.append((c.ticket_id, {**self._payload(f, n["id"], notify="now", notify_at=n["notify_at"]),
                                            "fired_at": iso(n["fired_at"])}))
        await repo.set_notices(sys, ended)
        if items:
            await events.record_many(sys, NOTICE_DUE, subject_type="Ticket", items=items)
        if self.cancelled:
            await repo.drop_notices(sys, list(self.cancelled))
        if self.met:
            await repo.drop_notices(sys, list(self.met), warnings_only=True)
        recheck = {c.id for c in waiting} | self.cancelled | self.met
        if recheck:
            left = await repo.waiting_notices(sys, list(recheck))
            for cid in recheck:
                c = clocks.get(cid)
                if c is not None:
                    c.notice_at = left.get(cid)
                    self.touch(c)


def _level_name(rank: int) -> str | None:
    from app.sla.enums import LEVEL_RANK

    return next((name for name, r in LEVEL_RANK.items() if r == rank), None)


def _next_open(cal: BusinessCalendar, now: datetime) -> datetime:
    try:
        return cal.next_open(now)
    except (CalendarNeverOpen, ValueError):
        return now  # a notification calendar that never opens again would silence it forever


def schedule_checks(tenant_id: uuid.UUID, instants: Iterable[datetime | None], now: datetime) -> None:
    """A deadline job (`sla.check`) deferred to each next check that falls within the next
    HORIZON_SECONDS, rounded up to BUCKET_SECONDS (one job per brand and bucket: deduplicated by
    its id in the transaction's buffer and in the queue). A check further away gets its job
    from the sweep, which arms the next HORIZON_SECONDS every minute: the queue never holds a job
    deferred for days (nor the job outbox a row per clock), and every deadline still has a job
    due at its instant."""
    buffer = db.pending_jobs()
    if buffer is None:
        return
    queued = {j.job_id for j in buffer}
    limit = now + timedelta(seconds=HORIZON_SECONDS)
    buckets = {math.ceil(t.timestamp() / BUCKET_SECONDS) * BUCKET_SECONDS for t in instants if t is not None and t <= limit}
    for bucket in sorted(buckets):
        job_id = f"{CHECK_JOB}:{tenant_id}:{bucket}"
        if job_id in queued:
            continue
        queued.add(job_id)
        at = datetime.fromtimestamp(bucket, tz=timezone.utc)
        jobs.enqueue(CHECK_JOB, tenant_id, job_id=job_id, defer_by=max(0.0, (at - now).total_seconds()))


async def arm(tenant_id: uuid.UUID, now: datetime) -> int:
    """The sweep's second half: deadline jobs for the brand's checks in the next
    HORIZON_SECONDS (one range scan of the partial index). Returns how many instants it saw."""
    async with db.tenant_transaction(tenant_id):
        sys = scope_for(Actor.system(tenant_id))
        upcoming = await repo.upcoming_checks(sys, now, now + timedelta(seconds=HORIZON_SECONDS))
        schedule_checks(tenant_id, upcoming, now)
    return len(upcoming)


# ---- ticket events -----------------------------------------------------------------------------

_TERMINAL = {s.value for s in pol.TERMINAL}


def _projection(e: events.Event, *, previous: dict | None) -> dict:
    p = e.payload
    opened = e.type == "complaint.ticket_opened"

    def uid(key):
        return uuid.UUID(p[key]) if p.get(key) else None

    row = dict(previous or {})
    row.update(id=e.subject_id, number=(p.get("number") or row.get("number") or "")[:20],
               status=p["status"] if opened else p["to"], round=int(p.get("round") or row.get("round") or 1),
               customer_id=uid("customer_id") or row.get("customer_id"), dealer_id=uid("dealer_id"),
               agent_id=uid("agent_id") if not opened else None, priority=p.get("priority"), category_id=uid("category_id"),
               dimension=p.get("dimension"), source=p.get("source"), updated_at=e.occurred_at)
    row.setdefault("opened_at", e.occurred_at)
    return row


async def on_opened(scope: Scope, batch: list[events.Event]) -> None:
    """Tickets opened (one, or a survey intake's batch): their picture and their round's clocks."""
    sys = system(scope)
    fresh = [e for e in batch if e.subject_id is not None and e.payload.get("customer_id")]
    if not fresh:
        return
    work = Work(sys, await load_setup(sys, [uuid.UUID(e.payload["dealer_id"]) for e in fresh if e.payload.get("dealer_id")]),
                clock.now())
    for e in fresh:
        t = Ticket(_projection(e, previous=None), dirty=True)
        work.tickets[t.id] = t
    facts = await work.facts([e.subject_id for e in fresh])
    for e in fresh:
        t = work.tickets[e.subject_id]
        if t.row["status"] in _TERMINAL:
            continue
        for metric in ROUND_METRICS:
            work.start(t, metric, t.row["round"], facts[t.id], e.occurred_at)
    await work.finish()


async def on_changed(scope: Scope, batch: list[events.Event]) -> None:
    """A ticket changed: its clocks advance to the change, then stop, pause, resume, move to
    another dealer's calendar and targets, or start a new round."""
    sys = system(scope)
    changes = [e for e in batch if e.subject_id is not None]
    if not changes:
        return
    dealers = [uuid.UUID(e.payload["dealer_id"]) for e in changes if e.payload.get("dealer_id")]
    work = await Work.load(sys, [e.subject_id for e in changes], extra_dealers=dealers)
    await work.settle_inactive()
    for e in changes:
        await apply_change(work, e)
    await work.finish()


async def apply_change(work: Work, e: events.Event) -> None:
    at = e.occurred_at
    t = work.tickets.get(e.subject_id)
    adopted = t is None
    if adopted:  # a ticket opened before the engine saw it: counted from this change on
        t = work.tickets[e.subject_id] = Ticket(_projection(e, previous=None))
    old_dealer, old_round = t.row.get("dealer_id"), t.row.get("round") or 1
    t.row = _projection(e, previous=t.row)
    t.dirty = True
    work.forget_facts(t.id)
    work.advance(t, at)
    status, round_ = t.row["status"], t.row["round"]
    if status in _TERMINAL:
        for c in t.clocks:
            work.stop(c, at, met=False)
        return
    facts = (await work.facts([t.id]))[t.id]
    if round_ > old_round or adopted:
        for c in t.clocks:
            if c.round < round_:
                work.stop(c, at, met=False)  # a new round supersedes what the last one left open
        for metric in ROUND_METRICS:
            if not (adopted and status in pol.MEETS[metric]):
                work.start(t, metric, round_, facts, at)
    for c in t.current():
        if c.is_open and status in pol.MEETS[Metric(c.metric)]:
            work.stop(c, at, met=True)
    if status == "resolved":
        work.start(t, Metric.RESURVEY_SENT.value, round_, facts, at)
    if t.row["dealer_id"] != old_dealer and not adopted:
        for c in t.current():
            work.rebind(t, c, facts, at, swap=True)
    for c in t.clocks:
        work.pause_or_resume(c, status, at)


async def metric_reached(scope: Scope, ticket_id: uuid.UUID, metric: str, at: datetime | None = None) -> bool:
    """Stop the ticket's current-round clock of `metric` as met at `at` (default now); the
    re-survey module calls it with RESURVEY_SENT when the re-survey goes out. False when there
    is no such open clock."""
    sys = system(scope)
    locked = await repo.lock_tickets(sys, [ticket_id], skip_locked=False)
    if not locked:
        return False
    work = await Work.load(sys, [ticket_id])
    t = work.tickets.get(ticket_id)
    if t is None:
        return False
    when = min(at or work.now, work.now)
    work.advance(t, when)
    c = t.clock(metric, t.row["round"])
    if c is None or not c.is_open:
        return False
    work.stop(c, when, met=True)
    await work.finish()
    return True


# ---- the deadline jobs and the sweep -------------------------------------------------------------


async def process_due(tenant_id: uuid.UUID, now: datetime | None = None, *, batch: int | None = None,
                      max_batches: int = MAX_BATCHES) -> int:
    """Fire everything due by `now` for the brand: batches of tickets whose clocks are due, each
    in its own transaction (a crash loses the batch it was in, which the next run does again:
    nothing fires twice). Tickets a ticket change holds are skipped, the next run takes them.
    Returns how many tickets were processed."""
    at, batch = now or clock.now(), batch or BATCH
    seen: set[uuid.UUID] = set()
    for _ in range(max_batches):
        async with db.tenant_transaction(tenant_id):
            sys = scope_for(Actor.system(tenant_id))
            due = [tid for tid in await repo.due_ticket_ids(sys, at, batch) if tid not in seen]
            locked = await repo.lock_tickets(sys, due, skip_locked=True)
            if locked:
                work = await Work.load(sys, locked, now=at, lock=False)
                await work.settle_inactive()
                for t in work.tickets.values():
                    work.advance(t, due_only=True)
                    for c in t.clocks:  # due: a threshold (fired above), or a waiting notice
                        if c.next_check_at is not None and c.next_check_at <= at:
                            work.touch(c)
                await work.finish()
        # a ticket is processed once per run (what it has due next lies after `at`); one that
        # is still due (its calendar version unreadable) cannot hold the run in a loop
        seen.update(locked)
        if not due or not locked:
            break
    return len(seen)


async def recompute(tenant_id: uuid.UUID, mode: str, *, batch: int | None = None) -> int:
    """After a policy or calendar change: RECOMPUTE puts every open clock that has not breached
    on the policy and calendar that now apply (keeping the time consumed); KEEP only stops the
    clocks of policies disabled or deleted. Batches of tickets, each in its own transaction."""
    after, done, batch = None, 0, batch or BATCH
    while True:
        async with db.tenant_transaction(tenant_id):
            sys = scope_for(Actor.system(tenant_id))
            ids = await repo.open_clock_tickets(sys, after, batch)
            if ids:
                await repo.lock_tickets(sys, ids, skip_locked=False)
                work = await Work.load(sys, ids)
                await work.settle_inactive()
                if mode == OpenClocks.RECOMPUTE:
                    facts = await work.facts(ids)
                    for t in work.tickets.values():
                        work.advance(t)
                        for c in t.clocks:
                            if c.is_open and c.breached_at is None and t.id in facts:
                                work.rebind(t, c, facts[t.id], work.now, swap=True)
                await work.finish()
        if not ids:
            return done
        done += len(ids)
        after = ids[-1]


def enqueue_recompute(scope: Scope, mode: str) -> None:
    """Recompute the brand's open clocks after this transaction commits (a job per change)."""
    jobs.enqueue(RECOMPUTE_JOB, scope.tenant_id, mode, job_id=f"{RECOMPUTE_JOB}:{scope.tenant_id}:{uuid7()}")


def local_midnight(day, tz: str) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)


__all__ = ["Work", "process_due", "recompute", "on_opened", "on_changed", "metric_reached", "ensure_defaults", "load_setup",
           "default_calendar", "calendar_for_spec", "schedule_checks", "timedelta"]
