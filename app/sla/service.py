"""Recovery SLAs: the brand's calendars and policies (brand admins), what a ticket's clocks
show, deadline previews, reports, and the functions other modules call.

The clock model is app/sla/clocks.py, the policy model app/sla/policies.py, the engine that
runs them from ticket events, deadline jobs and the sweep app/sla/engine.py. A change of a
policy or of a brand or dealer calendar says what happens to the clocks already running
(`open_clocks`): RECOMPUTE (the default) re-resolves every open clock that has not breached
after the change commits (a job), keeping the business time consumed; KEEP leaves them as they
are (new tickets, new rounds and reassignments use the change). Met and breached clocks keep
the policy and calendar versions they used either way. Disabling or deleting a policy always
stops its clocks firing (under RECOMPUTE they move to the policy that applies now, if any).

Published for other modules: `ticket_clocks` (the `Ticket.sla` loader), `metric_reached` (the
re-survey module: the re-survey went out), `recipients` (the notification module: who an SLA
firing tells), `seed_demo`."""
from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from app.core import clock
from app.core.errors import InputErrors, NotFound, ValidationFailed
from app.core.ids import to_global_id
from app.core.pagination import Page, PageArgs
from app.core.permissions import Perm, Role
from app.core.tenancy import Scope
from app.sla import engine
from app.sla import errors as err
from app.sla import policies as pol
from app.sla import repository as repo
from app.sla.calendar import (
    BusinessCalendar,
    CalendarSpecError,
    closures_from_ical,
    holiday_spec,
)
from app.sla.calendar import CalendarNeverOpen as NeverOpen
from app.sla.clocks import Clock
from app.sla.enums import (
    METRIC_ORDER,
    CalendarKind,
    ClockState,
    EscalationLevel,
    Metric,
    OpenClocks,
    Outcome,
    ReportGroup,
    ReportPeriod,
)

NAME_MAX = 120
MAX_POLICIES = 100
MAX_SEED_YEARS = 5
SEED_YEARS = (2000, 2100)
MAX_ICAL_BYTES = 512 * 1024
MAX_REPORT_DAYS = 1100  # about three years per report
CSV_MAX_ROWS = 100_000
PREVIEW_YEARS = REPORT_YEARS = (2000, 2100)
MAX_RECIPIENTS = 200


def _admin(scope: Scope) -> Scope:
    scope.require(Perm.ADMIN)
    return engine.system(scope)


def _mode(value: str | None) -> str:
    value = value or OpenClocks.RECOMPUTE.value
    if value not in set(OpenClocks):
        raise ValidationFailed("RECOMPUTE or KEEP.", field="openClocks")
    return value


def _name(value: Any) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not 1 <= len(name) <= NAME_MAX:
        raise ValidationFailed(f"A name of 1 to {NAME_MAX} characters.", field="name")
    return name


def _spec(value: Any, field: str = "spec", *, clocks: bool = False) -> dict:
    """A valid, normalised calendar spec (InvalidCalendar naming the bad part otherwise). A
    calendar clocks run on (`clocks`: the brand's or a dealer's) needs weekly hours: with dated
    openings only, a deadline past the last of them could never be computed."""
    try:
        spec = BusinessCalendar.from_spec(value).to_spec()
    except CalendarSpecError as e:
        raise err.InvalidCalendar(e.message, field=f"{field}.{e.field}") from None
    if clocks and "always" not in spec and not any(spec["weekly"].values()):
        raise err.InvalidCalendar("Clocks run on this calendar: it needs working hours on at least one weekday.",
                                  field=f"{field}.weekly")
    return spec


# ---- calendars ---------------------------------------------------------------------------------

async def list_calendars(scope: Scope) -> list[dict]:
    """The brand's calendars (seeded on first use): its business hours, the 24x7 calendar,
    dealers' own hours and other calendars (e.g. a policy's notification hours)."""
    sys = _admin(scope)
    await engine.load_setup(sys, [])
    return await repo.calendars(sys)


async def calendars_by_ids(scope: Scope, ids) -> dict[uuid.UUID, dict]:
    """For loaders: the brand's calendars among `ids` (brand admins only: {} otherwise)."""
    if not scope.can(Perm.ADMIN):
        return {}
    return await repo.calendars_by_ids(scope, list(ids))


async def _recompute_after(sys: Scope, kind: str, mode: str) -> None:
    if kind in (CalendarKind.BRAND, CalendarKind.DEALER) and mode == OpenClocks.RECOMPUTE:
        engine.enqueue_recompute(sys, mode)


async def save_calendar(scope: Scope, *, calendar_id: uuid.UUID | None = None, name: str, spec: Any = None,
                        dealer_id: uuid.UUID | None = None, open_clocks: str | None = None) -> dict:
    """Create a calendar (a dealer's own hours when `dealer_id` is given, else a named one, e.g.
    for a policy's notifications) or change one (a new spec is a new version; without a spec,
    a change renames it)."""
    sys = _admin(scope)
    mode = _mode(open_clocks)
    errors = []
    name_ = spec_ = None
    try:
        name_ = _name(name)
    except ValidationFailed as e:
        errors.append(e)
    if spec is not None:
        try:
            spec_ = _spec(spec)
        except ValidationFailed as e:
            errors.append(e)
    elif calendar_id is None:
        errors.append(err.InvalidCalendar("A new calendar needs its spec.", field="spec"))
    current = await repo.calendar(sys, calendar_id) if calendar_id is not None else None
    clocks_run_on_it = dealer_id is not None or (current is not None and current["kind"] in (CalendarKind.BRAND, CalendarKind.DEALER))
    if spec_ is not None and clocks_run_on_it:
        try:
            _spec(spec_, clocks=True)
        except ValidationFailed as e:
            errors.append(e)
    if errors:
        raise InputErrors(errors)
    await engine.load_setup(sys, [])
    if calendar_id is None:
        if dealer_id is not None:
            from app.tenant import service as tenant_service

            if not await tenant_service.dealers_by_ids(scope, [dealer_id]):
                raise NotFound("No such dealer.", field="dealerId")
        kind = CalendarKind.DEALER if dealer_id is not None else CalendarKind.CUSTOM
        row = await repo.insert_calendar(sys, name=name_, kind=kind.value, dealer_id=dealer_id, spec=spec_)
        if row is None:
            if dealer_id is not None and any(c["dealer_id"] == dealer_id for c in await repo.calendars(sys, dealer_ids=[dealer_id])):
                raise err.DealerHasCalendar(field="dealerId")
            raise err.NameTaken(field="name")
        await _recompute_after(sys, row["kind"], mode)
        return row
    row = await repo.calendar(sys, calendar_id, for_update=True)
    if row is None:
        raise NotFound("No such calendar.", field="id")
    if row["kind"] == CalendarKind.ALWAYS:
        raise err.CalendarNotEditable("The 24x7 calendar is always open; it cannot be changed.", field="id")
    if dealer_id is not None and dealer_id != row["dealer_id"]:
        raise ValidationFailed("A calendar cannot move to another dealer: create the dealer's own.", field="dealerId")
    spec_ = row["spec"] if spec_ is None else spec_
    changed = spec_ != row["spec"]
    updated = await repo.update_calendar(sys, calendar_id, name=name_, spec=spec_, seed_report=None, new_version=changed)
    if updated is None:
        raise err.NameTaken(field="name")
    if changed:
        await _recompute_after(sys, row["kind"], mode)
    return updated


async def delete_calendar(scope: Scope, calendar_id: uuid.UUID, *, open_clocks: str | None = None) -> uuid.UUID:
    """A dealer's own hours (its tickets go back to the brand's) or another named calendar."""
    sys = _admin(scope)
    mode = _mode(open_clocks)
    row = await repo.calendar(sys, calendar_id, for_update=True)
    if row is None:
        raise NotFound("No such calendar.", field="id")
    if row["kind"] in (CalendarKind.BRAND, CalendarKind.ALWAYS):
        raise err.CalendarNotEditable("The brand's calendar and the 24x7 calendar cannot be deleted.", field="id")
    if await repo.calendar_in_use(sys, calendar_id):
        raise err.CalendarInUse(field="id")
    await repo.delete_calendar(sys, calendar_id)
    await _recompute_after(sys, row["kind"], mode)
    return calendar_id


def _years(years: Iterable[int]) -> list[int]:
    years = sorted(set(years or ()))
    if not 1 <= len(years) <= MAX_SEED_YEARS or not all(SEED_YEARS[0] <= y <= SEED_YEARS[1] for y in years):
        raise ValidationFailed(f"1 to {MAX_SEED_YEARS} years between {SEED_YEARS[0]} and {SEED_YEARS[1]}.", field="years")
    return years


async def seed_holidays(scope: Scope, calendar_id: uuid.UUID, *, country: str = "CN", years: Iterable[int],
                        subdiv: str | None = None, replace: bool = False, open_clocks: str | None = None) -> tuple[dict, dict]:
    """Add a country's public holidays (closed) and official make-up working days (opened with
    the calendar's weekday hours) for `years` from the `holidays` package. `replace` first drops
    the calendar's holidays and date overrides in those years (an official schedule replacing a
    provisional one); otherwise existing entries win. Returns the calendar and the report, which
    lists every provisional year (the package has no official data for it) and why."""
    sys = _admin(scope)
    mode = _mode(open_clocks)
    years_ = _years(years)
    if not isinstance(country, str) or not 2 <= len(country) <= 3:
        raise ValidationFailed("A country code such as CN.", field="country")
    if subdiv is not None and (not isinstance(subdiv, str) or len(subdiv) > 10):
        raise ValidationFailed("A subdivision code.", field="subdiv")
    row = await repo.calendar(sys, calendar_id, for_update=True)
    if row is None:
        raise NotFound("No such calendar.", field="id")
    if row["kind"] == CalendarKind.ALWAYS:
        raise err.CalendarNotEditable("The 24x7 calendar has no holidays.", field="id")
    spec = row["spec"]
    try:
        seeded, report = holiday_spec(country.upper(), years_, timezone=spec["timezone"], weekly=spec["weekly"], subdiv=subdiv)
    except CalendarSpecError as e:
        raise err.InvalidCalendar(e.message, field=e.field) from None
    wanted = {str(y) for y in years_}
    holidays = [d for d in spec.get("holidays", []) if not (replace and d[:4] in wanted)]
    overrides = {d: p for d, p in spec.get("overrides", {}).items() if not (replace and d[:4] in wanted)}
    for d, periods in seeded["overrides"].items():
        overrides.setdefault(d, periods)
    merged = _spec({**spec, "holidays": sorted(set(holidays) | set(seeded["holidays"])), "overrides": overrides})
    report = {"source": "holidays", **report}
    updated = await repo.update_calendar(sys, calendar_id, name=row["name"], spec=merged, seed_report=report,
                                         new_version=merged != spec)
    if merged != spec:
        await _recompute_after(sys, row["kind"], mode)
    return updated, report


async def import_ical(scope: Scope, calendar_id: uuid.UUID, *, ical: str, start: date | None = None, end: date | None = None,
                      open_clocks: str | None = None) -> tuple[dict, dict]:
    """Closures from an iCalendar feed for the local dates [start, end) (default: this year and
    the next): all-day events close their dates, timed events their hours; free-time events
    (observances) and cancelled ones are skipped and reported. Returns the calendar and the report."""
    sys = _admin(scope)
    mode = _mode(open_clocks)
    year = clock.today().year
    start = start or date(year, 1, 1)
    end = end or date(start.year + 2, 1, 1)
    if not isinstance(ical, str) or not ical.strip() or len(ical.encode()) > MAX_ICAL_BYTES:
        raise ValidationFailed(f"An iCalendar feed of at most {MAX_ICAL_BYTES // 1024} KB.", field="ical")
    row = await repo.calendar(sys, calendar_id, for_update=True)
    if row is None:
        raise NotFound("No such calendar.", field="id")
    if row["kind"] == CalendarKind.ALWAYS:
        raise err.CalendarNotEditable("The 24x7 calendar has no closures.", field="id")
    spec = row["spec"]
    try:
        fragment, report = closures_from_ical(ical, start, end, spec["timezone"])
    except CalendarSpecError as e:
        raise err.InvalidCalendar(e.message, field=e.field) from None
    merged = _spec({**spec, "holidays": sorted(set(spec.get("holidays", [])) | set(fragment["holidays"])),
                    "closures": [*spec.get("closures", []), *fragment["closures"]]})
    report = {"source": "ical", "start": start.isoformat(), "end": end.isoformat(), **report}
    updated = await repo.update_calendar(sys, calendar_id, name=row["name"], spec=merged, seed_report=report,
                                         new_version=merged != spec)
    if merged != spec:
        await _recompute_after(sys, row["kind"], mode)
    return updated, report


@dataclass(frozen=True)
class Preview:
    due_at: datetime
    opens_at: datetime | None  # when counting starts (the first working instant at or after start)
    time_zone: str
    due_local: str  # the due instant on the calendar's wall clock


async def deadline_preview(scope: Scope, *, calendar_id: uuid.UUID | None = None, spec: Any = None,
                           start: datetime | None = None, target_seconds: int) -> Preview:
    """When would a target of `target_seconds` business seconds from `start` (default now) be
    due on this calendar (a stored one, or a spec being edited)? Errors are INVALID with the
    field at fault."""
    sys = _admin(scope)
    start = start or clock.now()
    if (calendar_id is None) == (spec is None):
        raise ValidationFailed("Give a calendar id or a spec, not both.", field="calendar")
    if calendar_id is not None:
        row = await repo.calendar(sys, calendar_id)
        if row is None:
            raise NotFound("No such calendar.", field="calendarId")
        spec = row["spec"]
    try:
        cal = BusinessCalendar.from_spec(spec)
    except CalendarSpecError as e:
        raise ValidationFailed(e.message, field=f"spec.{e.field}") from None
    if start.utcoffset() is None:
        raise ValidationFailed("The start needs a time zone offset (e.g. 2026-10-09T16:30:00+08:00).", field="start")
    if not PREVIEW_YEARS[0] <= start.astimezone(timezone.utc).year <= PREVIEW_YEARS[1]:
        raise ValidationFailed(f"A start between {PREVIEW_YEARS[0]} and {PREVIEW_YEARS[1]}.", field="start")
    if isinstance(target_seconds, bool) or not 0 <= target_seconds <= pol.MAX_TARGET_SECONDS:
        raise ValidationFailed(f"Between 0 and {pol.MAX_TARGET_SECONDS} seconds.", field="targetSeconds")
    try:
        due = cal.add(start, timedelta(seconds=target_seconds))
        opens = cal.next_open(start)
    except NeverOpen as e:
        raise ValidationFailed(str(e), field="calendar") from None
    except ValueError as e:
        raise ValidationFailed(str(e), field="targetSeconds") from None
    return Preview(due_at=due, opens_at=opens, time_zone=cal.timezone.key,
                   due_local=due.astimezone(cal.timezone).strftime("%Y-%m-%d %H:%M"))


# ---- policies ----------------------------------------------------------------------------------

async def list_policies(scope: Scope) -> list[dict]:
    sys = _admin(scope)
    await engine.load_setup(sys, [])
    return await repo.policies(sys)


async def policies_by_ids(scope: Scope, ids) -> dict[uuid.UUID, dict]:
    if not scope.can(Perm.ADMIN):
        return {}
    return await repo.policies_by_ids(scope, list(ids))


async def save_policy(scope: Scope, *, policy_id: uuid.UUID | None = None, name: str, position: int | None = None,
                      enabled: bool = True, conditions: Mapping[str, Any] | None = None, targets: Any = None, pauses: Any = None,
                      warnings: Any = None, escalation: Any = None, calendar: str = "business",
                      notification_calendar_id: uuid.UUID | None = None, open_clocks: str | None = None) -> dict:
    """Create or replace a policy (brand admins). See app/sla/policies.py for what each part
    means; `open_clocks` says what happens to the clocks already running (module docstring)."""
    from app.complaint import service as complaint_service

    sys = _admin(scope)
    mode = _mode(open_clocks)
    await engine.load_setup(sys, [])
    category_ids = [c.id for c in await complaint_service.list_categories(sys)] if (conditions or {}).get("category_ids") else None
    errors = []
    try:
        stored = pol.validate(name=name, conditions=conditions, targets=targets, pauses=pauses, warnings=warnings,
                              escalation=escalation, calendar=calendar, category_ids=category_ids)
    except InputErrors as e:
        errors += e.errors
        stored = None
    if position is not None and (isinstance(position, bool) or not 0 <= position <= 10_000):
        errors.append(err.InvalidPolicy("A position from 0 to 10000.", field="position"))
    if notification_calendar_id is not None and not await repo.calendars_by_ids(sys, [notification_calendar_id]):
        errors.append(NotFound("No such calendar.", field="notificationCalendarId"))
    if errors:
        raise InputErrors(errors)
    values = {**stored, "enabled": bool(enabled), "notification_calendar_id": notification_calendar_id, "open_clocks": mode}
    if policy_id is None:
        existing = await repo.policies(sys)
        if len(existing) >= MAX_POLICIES:
            raise err.TooManyPolicies(field="name")
        values["position"] = position if position is not None else max((p["position"] for p in existing), default=-1) + 1
        [row] = await repo.insert_policies(sys, [values])
        was_enabled = False
    else:
        current = await repo.policy_for_update(sys, policy_id)
        if current is None:
            raise NotFound("No such policy.", field="id")
        values["position"] = current["position"] if position is None else position
        row = await repo.update_policy(sys, policy_id, values)
        was_enabled = current["enabled"]
    if mode == OpenClocks.RECOMPUTE:
        engine.enqueue_recompute(sys, mode)
    elif was_enabled and not row["enabled"]:
        engine.enqueue_recompute(sys, mode)  # KEEP: only its clocks stop
    return row


async def delete_policy(scope: Scope, policy_id: uuid.UUID, *, open_clocks: str | None = None) -> uuid.UUID:
    """Its open clocks stop firing: under RECOMPUTE they move to the policy that applies now."""
    sys = _admin(scope)
    mode = _mode(open_clocks)
    if not await repo.delete_policy(sys, policy_id, mode):
        raise NotFound("No such policy.", field="id")
    engine.enqueue_recompute(sys, mode)
    return policy_id


# ---- what a ticket's clocks show ---------------------------------------------------------------

@dataclass(frozen=True)
class ClockView:
    """A clock as GraphQL shows it, computed at one instant (business times in seconds)."""

    id: uuid.UUID
    ticket_id: uuid.UUID
    number: str | None
    metric: str
    round: int
    state: str
    target_seconds: int
    due_at: datetime | None
    elapsed_seconds: int
    remaining_seconds: int
    running: bool
    paused: bool
    warned: bool
    warned_at: datetime | None
    breached: bool
    breached_at: datetime | None
    met: bool
    met_by_seconds: int | None  # met on time: the business time left
    overdue_seconds: int | None  # breached: business time past the target (so far, while open)
    started_at: datetime
    stopped_at: datetime | None
    policy_id: uuid.UUID | None
    policy_version: int
    calendar_id: uuid.UUID
    calendar_version: int
    dealer_id: uuid.UUID | None
    time_zone: str
    row: dict | None = None

    @classmethod
    def of(cls, c: Clock, now: datetime, row: dict | None = None) -> "ClockView":
        elapsed = c.elapsed_at(now)
        target = c.target_us
        breached = c.breached_at is not None
        met = c.state == ClockState.MET
        return cls(
            id=c.id, ticket_id=c.ticket_id, number=(row or {}).get("number"), metric=c.metric, round=c.round, state=c.state,
            target_seconds=target // 1_000_000, due_at=c.due_at, elapsed_seconds=elapsed // 1_000_000,
            remaining_seconds=max(0, target - elapsed) // 1_000_000, running=c.state == ClockState.RUNNING,
            paused=c.state == ClockState.PAUSED, warned=c.warned_at is not None, warned_at=c.warned_at, breached=breached,
            breached_at=c.breached_at, met=met, met_by_seconds=(target - elapsed) // 1_000_000 if met and not breached else None,
            overdue_seconds=max(0, elapsed - target) // 1_000_000 if breached else None, started_at=c.started_at,
            stopped_at=c.stopped_at, policy_id=c.policy_id, policy_version=c.policy_version, calendar_id=c.calendar_id,
            calendar_version=c.calendar_version, dealer_id=c.dealer_id, time_zone=c.calendar.timezone.key, row=row)


async def _views(scope: Scope, rows: list[dict], now: datetime | None = None) -> list[ClockView]:
    now = now or clock.now()
    cals = await engine.calendars_of_rows(scope, rows)
    return [ClockView.of(engine.clock_of_row(r, cals[r["calendar_digest"]]), now, r) for r in rows if r["calendar_digest"] in cals]


async def ticket_clocks(scope: Scope, ticket_ids) -> dict[uuid.UUID, list[ClockView]]:
    """Each ticket's clocks (current round first, then by metric), for tickets the caller may
    see; empty without tickets:read. One statement for a page of tickets (the Ticket.sla loader)."""
    ids = list(ticket_ids)
    out: dict[uuid.UUID, list[ClockView]] = {i: [] for i in ids}
    if not scope.can(Perm.TICKETS_READ) or not ids:
        return out
    views = await _views(scope, await repo.visible_clocks(scope, ids))
    for v in sorted(views, key=lambda v: (-v.round, METRIC_ORDER[Metric(v.metric)])):
        out[v.ticket_id].append(v)
    return out


async def clocks_by_ids(scope: Scope, ids) -> dict[uuid.UUID, ClockView]:
    if not scope.can(Perm.TICKETS_READ):
        return {}
    rows = list((await repo.clocks_by_ids(scope, list(ids))).values())
    return {v.id: v for v in await _views(scope, rows)}


async def firings_of_ticket(scope: Scope, ticket_id: uuid.UUID) -> list[dict]:
    """What fired for a ticket (tests and operators): warnings, breaches, escalations."""
    return await repo.firings_of_tickets(engine.system(scope), [ticket_id])


# ---- reports -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReportRow:
    period: date
    metric: str
    dealer_id: uuid.UUID | None
    dealer_code: str | None
    dealer_name: str | None
    region: str | None
    total: int
    met: int
    breached: int
    open: int
    cancelled: int

    @property
    def met_percent(self) -> float | None:
        """Met on time among those decided (met or breached); None when none is decided yet."""
        decided = self.met + self.breached
        return round(100.0 * self.met / decided, 1) if decided else None


async def _range(sys: Scope, start: date | None, end: date | None) -> tuple[datetime, datetime, str]:
    """[start, end) as instants of the brand calendar's zone; default: this month there."""
    setup = await engine.load_setup(sys, [])
    tz = setup.brand.calendar.timezone.key
    if start is None:
        start = clock.today(setup.brand.calendar.timezone).replace(day=1)
    if end is None:
        end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    if not isinstance(start, date) or not isinstance(end, date) or not start < end:
        raise ValidationFailed("`from` must come before `to`.", field="from")
    if (end - start).days > MAX_REPORT_DAYS or start.year < REPORT_YEARS[0] or end.year > REPORT_YEARS[1]:
        raise ValidationFailed(f"At most {MAX_REPORT_DAYS} days per report, between {REPORT_YEARS[0]} and {REPORT_YEARS[1]}.",
                               field="to")
    return engine.local_midnight(start, tz), engine.local_midnight(end, tz), tz


def _metrics(metrics) -> list[str] | None:
    if not metrics:
        return None
    if not all(m in set(Metric) for m in metrics):
        raise ValidationFailed("Unknown metric.", field="metrics")
    return sorted(set(metrics))


async def report(scope: Scope, *, start: date | None = None, end: date | None = None, group: str = ReportGroup.DEALER.value,
                 period: str = ReportPeriod.MONTH.value, metrics: Iterable[str] | None = None) -> list[ReportRow]:
    """SLA outcomes per period (the local date, in the brand calendar's zone, that each clock
    started), dealer or region, and metric, over the clocks the caller may see that started in
    [start, end): how many, met on time, breached, still open, cancelled; met % = met / (met +
    breached). One GROUP BY in SQL."""
    scope.require(Perm.TICKETS_READ)
    if group not in set(ReportGroup):
        raise ValidationFailed("DEALER or REGION.", field="groupBy")
    if period not in set(ReportPeriod):
        raise ValidationFailed("DAY, WEEK or MONTH.", field="period")
    lo, hi, tz = await _range(engine.system(scope), start, end)
    rows = await repo.report(scope, start=lo, end=hi, tz=tz, period=period, group=group, metrics=_metrics(metrics))
    return [ReportRow(period=r["period"], metric=r["metric"], dealer_id=r.get("dealer_id"), dealer_code=r.get("code"),
                      dealer_name=r.get("name"), region=r["region"], total=r["total"], met=r["met"], breached=r["breached"],
                      open=r["open"], cancelled=r["cancelled"]) for r in rows]


async def report_clocks(scope: Scope, *, start: date | None = None, end: date | None = None, metrics: Iterable[str] | None = None,
                        dealer_ids: Iterable[uuid.UUID] | None = None, regions: Iterable[str] | None = None,
                        outcome: str | None = None, brand_only: bool = False, page: PageArgs = PageArgs(),
                        max_size: int = 100) -> Page:
    """The clocks behind report cells (drill-down to the tickets), newest first: `items` are
    ClockViews (with the ticket number)."""
    scope.require(Perm.TICKETS_READ)
    if outcome is not None and outcome not in set(Outcome):
        raise ValidationFailed("MET, BREACHED, OPEN or CANCELLED.", field="outcome")
    regions = list(regions or ())
    if len(regions) > 100 or any(not isinstance(r, str) or len(r) > 64 for r in regions):
        raise ValidationFailed("At most 100 regions of at most 64 characters.", field="regions")
    dealer_ids = list(dealer_ids or ())
    if len(dealer_ids) > 100:
        raise ValidationFailed("At most 100 dealers.", field="dealerIds")
    lo, hi, _ = await _range(engine.system(scope), start, end)
    page_ = await repo.report_clocks(scope, start=lo, end=hi, metrics=_metrics(metrics), dealer_ids=dealer_ids, regions=regions,
                                     outcome=outcome, brand_only=brand_only, page=page, max_size=max_size)
    views = {v.id: v for v in await _views(scope, page_.items)}
    kept = [(views[r["id"]], c) for r, c in zip(page_.items, page_.cursors) if r["id"] in views]
    return Page([v for v, _ in kept], page_.has_next, page_.has_previous, [c for _, c in kept])


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP: CSV injection)."""
    text = "" if value is None else value.isoformat() if isinstance(value, (date, datetime)) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def report_csv(scope: Scope, *, start: date, end: date, group: str = ReportGroup.DEALER.value,
                     period: str = ReportPeriod.MONTH.value, metrics: Iterable[str] | None = None,
                     rows: str = "summary") -> str:
    """The report as CSV (UTF-8 with a byte-order mark, so spreadsheets read Chinese names):
    `rows=summary` one line per cell of `report`, `rows=clocks` one line per clock (the
    drill-down, at most CSV_MAX_ROWS)."""
    out = io.StringIO()
    out.write("\ufeff")
    w = csv.writer(out, lineterminator="\r\n")
    if rows == "summary":
        w.writerow(["period", "metric", "dealer_code", "dealer_name", "region", "total", "met", "breached", "open", "cancelled",
                    "met_percent"])
        for r in await report(scope, start=start, end=end, group=group, period=period, metrics=metrics):
            w.writerow([_cell(v) for v in (r.period, r.metric, r.dealer_code, r.dealer_name, r.region, r.total, r.met, r.breached,
                                           r.open, r.cancelled, r.met_percent)])
        return out.getvalue()
    if rows != "clocks":
        raise ValidationFailed("rows is summary or clocks.", field="rows")
    w.writerow(["ticket_id", "ticket_number", "metric", "round", "state", "dealer_code", "region", "started_at", "due_at",
                "stopped_at", "breached_at", "target_seconds", "elapsed_seconds", "met_by_seconds", "overdue_seconds"])
    after, written = None, 0
    while written < CSV_MAX_ROWS:
        page = await report_clocks(scope, start=start, end=end, metrics=metrics, page=PageArgs(first=100, after=after))
        for v in page.items:
            w.writerow([_cell(x) for x in (to_global_id("Ticket", v.ticket_id), v.number, v.metric, v.round, v.state,
                                           v.row.get("dealer_code"), v.row.get("region"), v.started_at, v.due_at, v.stopped_at,
                                           v.breached_at, v.target_seconds, v.elapsed_seconds, v.met_by_seconds, v.overdue_seconds)])
        written += len(page.items)
        if not page.has_next or not page.cursors:
            break
        after = page.cursors[-1]
    return out.getvalue()


# ---- published for other modules ----------------------------------------------------------------

async def metric_reached(scope: Scope, ticket_id: uuid.UUID, metric: str, at: datetime | None = None) -> bool:
    """The ticket's current-round `metric` was reached (the re-survey module: RESURVEY_SENT when
    the re-survey goes out): its clock stops as met. False when it has no open such clock."""
    if metric not in set(Metric):
        raise ValueError(f"unknown metric {metric!r}")
    return await engine.metric_reached(scope, ticket_id, metric, at)


async def recipients(scope: Scope, payload: Mapping[str, Any]) -> list[uuid.UUID]:
    """Who an SLA firing's notification goes to (the payload of `sla.warned`, `sla.breached`,
    `sla.escalated` or `sla.notice_due`): for a warning or a breach, the ticket's agent, else its
    dealer's managers and agents; for an escalation step, the people of its level (the dealer's
    managers, the regional managers of the dealer's region, the brand's admins). A ticket
    without a dealer is the brand's: its admins are told. Active staff only, at most 200."""
    from app.tenant import service as tenant_service

    sys = engine.system(scope)

    def uid(key):
        return uuid.UUID(payload[key]) if payload.get(key) else None

    dealer_id, agent_id = uid("dealer_id"), uid("agent_id")
    level = payload.get("level") if payload.get("kind") == "escalation" else EscalationLevel.DEALER_AGENT.value
    staff = await repo.staff(sys, [dealer_id] if dealer_id else [], [agent_id] if agent_id else [])
    region = None
    if dealer_id is not None and level == EscalationLevel.REGIONAL_MANAGER:
        dealer = (await tenant_service.dealers_by_ids(sys, [dealer_id])).get(dealer_id)
        region = dealer.region if dealer else None

    def having(*roles: str, dealer: uuid.UUID | None = None) -> list[uuid.UUID]:
        return sorted({u for u, role, d, _ in staff if role in roles and (dealer is None or d == dealer)})

    if dealer_id is None or level == EscalationLevel.BRAND:
        people = having(Role.BRAND_ADMIN.value)
    elif level == EscalationLevel.DEALER_AGENT:
        agent = [u for u, role, d, _ in staff if u == agent_id and d == dealer_id and role == Role.DEALER_AGENT.value]
        people = agent or having(Role.DEALER_MANAGER.value, Role.DEALER_AGENT.value, dealer=dealer_id)
    elif level == EscalationLevel.DEALER_MANAGER:
        people = having(Role.DEALER_MANAGER.value, dealer=dealer_id)
    else:
        people = sorted({u for u, role, _, regions in staff if role == Role.REGIONAL_MANAGER.value and region in regions})
    return people[:MAX_RECIPIENTS]


async def seed_demo(scope: Scope, *, breached_ticket_id: uuid.UUID, warned_ticket_id: uuid.UUID) -> dict:
    """For the demo brand (app/demo.py): credit the first contact clock of one open ticket with
    more business time than its target (a breach, and the escalation steps due at once) and of
    another with 80% of it (the 75% warning), then fire what that reaches, as the engine does.
    Both tickets must be open with a running first-contact clock (ASSIGNED, say). Idempotent:
    a clock already past the credit is left as it is."""
    sys = engine.system(scope)
    ids = [breached_ticket_id, warned_ticket_id]
    await repo.lock_tickets(sys, ids, skip_locked=False)
    work = await engine.Work.load(sys, ids)
    done = {}
    for tid, share in ((breached_ticket_id, 1.05), (warned_ticket_id, 0.8)):
        t = work.tickets.get(tid)
        c = t.clock(Metric.FIRST_CONTACT.value, t.row["round"]) if t else None
        if c is None or c.state != ClockState.RUNNING:
            done[str(tid)] = None
            continue
        wanted = int(c.target_us * share)
        if c.consumed_at(work.now) < wanted:
            c.checkpoint(work.now)
            c.consumed_us = wanted
            c.refresh()
            work.touch(c)
        work.advance(t)
        done[str(tid)] = c.metric
    await work.finish()
    return done
