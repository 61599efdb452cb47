"""GraphQL types of recovery SLAs. Instants are UTC (ISO 8601): show them in the viewer's own
zone; `timeZone` says which zone the clock's calendar (the dealer's) works in."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

import strawberry

from app.core.permissions import Perm
from app.sla import enums, service
from schema.complaint.types import Dimension, Priority, TicketSource, TicketStatus
from schema.customer.types import Tier
from schema.relay import Node, gid, node_type
from schema.tenant.types import Dealer

SlaMetric = strawberry.enum(enums.Metric, name="SlaMetric", description="What an SLA clock measures: from the ticket's opening (or a new "
                                                      "round) to the first contact, to a solution proposed, to resolution; "
                                                      "and, the brand's own, from resolution to the re-survey sent.")
SlaClockState = strawberry.enum(enums.ClockState, name="SlaClockState", description="RUNNING counts business time, PAUSED does not (the ticket is in "
                                                              "a status the policy pauses it in), MET and CANCELLED have stopped. "
                                                              "Whether it breached is `breached`.")
SlaCalendarKind = strawberry.enum(enums.CalendarKind, name="SlaCalendarKind", description="BRAND: the brand's business hours; ALWAYS: 24x7; DEALER: a "
                                                                  "dealer's own hours instead of the brand's; CUSTOM: any other "
                                                                  "(e.g. a policy's notification hours).")
SlaCalendarChoice = strawberry.enum(enums.CalendarChoice, name="SlaCalendarChoice", description="The calendar a policy's clocks run on: BUSINESS (the "
                                                                      "ticket's dealer's hours, else the brand's) or ALWAYS (24x7).")
SlaEscalationLevel = strawberry.enum(enums.EscalationLevel, name="SlaEscalationLevel", description="Who an escalation step tells, up the chain.")
SlaOpenClocks = strawberry.enum(enums.OpenClocks, name="SlaOpenClocks", description="What a policy or calendar change does to clocks already "
                                                              "running: RECOMPUTE them (keeping the business time consumed) or "
                                                              "KEEP what they started with. Met and breached clocks always keep "
                                                              "theirs; a disabled policy's clocks stop either way.")
SlaReportGroup = strawberry.enum(enums.ReportGroup, name="SlaReportGroup")
SlaReportPeriod = strawberry.enum(enums.ReportPeriod, name="SlaReportPeriod", description="Days, weeks and months start on local dates of the brand calendar's zone (weeks on Mondays).")
SlaOutcome = strawberry.enum(enums.Outcome, name="SlaOutcome", description="MET on time, BREACHED (late, or still open past its target), OPEN "
                                                        "(not breached yet), CANCELLED (stopped unmet, never breached).")


@strawberry.type(description="One SLA clock of a ticket: one metric of one round. Business times are in seconds of the "
                             "calendar the clock runs on.")
class SlaClock(Node):
    id: strawberry.ID
    metric: SlaMetric
    round: int
    state: SlaClockState
    target_seconds: int = strawberry.field(description="The target, in business seconds.")
    due_at: datetime | None = strawberry.field(description="When the target is used up: derived from the calendar and the "
                                                           "business time left. Null while paused (it depends on when counting "
                                                           "resumes); once breached, when it breached.")
    business_elapsed_seconds: int = strawberry.field(description="Business time consumed so far (a stopped clock: what it used).")
    business_remaining_seconds: int = strawberry.field(description="Business time left before the target (0 once used up).")
    running: bool
    paused: bool
    warned: bool = strawberry.field(description="It passed one of its policy's warning fractions.")
    warned_at: datetime | None
    breached: bool
    breached_at: datetime | None
    met: bool
    met_by_seconds: int | None = strawberry.field(description="Met on time: the business time that was left.")
    overdue_seconds: int | None = strawberry.field(description="Breached: business time past the target (so far, while open).")
    started_at: datetime
    stopped_at: datetime | None
    time_zone: str = strawberry.field(description="The zone of the calendar the clock runs on (UTC for 24x7).")
    policy_version: int
    calendar_version: int
    view: strawberry.Private[service.ClockView]

    @classmethod
    def of(cls, v: service.ClockView) -> "SlaClock":
        return cls(id=gid("SlaClock", v.id), metric=SlaMetric(v.metric), round=v.round, state=SlaClockState(v.state),
                   target_seconds=v.target_seconds, due_at=v.due_at, business_elapsed_seconds=v.elapsed_seconds,
                   business_remaining_seconds=v.remaining_seconds, running=v.running, paused=v.paused, warned=v.warned,
                   warned_at=v.warned_at, breached=v.breached, breached_at=v.breached_at, met=v.met, met_by_seconds=v.met_by_seconds,
                   overdue_seconds=v.overdue_seconds, started_at=v.started_at, stopped_at=v.stopped_at, time_zone=v.time_zone,
                   policy_version=v.policy_version, calendar_version=v.calendar_version, view=v)

    @strawberry.field
    def ticket_id(self) -> strawberry.ID:
        return gid("Ticket", self.view.ticket_id)

    @strawberry.field(description="The ticket (null when the caller may not see it).")
    async def ticket(self, info: strawberry.Info) -> Annotated["Ticket", strawberry.lazy("schema.complaint.types")] | None:  # noqa: F821
        from schema.complaint.types import Ticket

        row = await info.context.loaders.ticket.load(self.view.ticket_id)
        return Ticket.from_row(row) if row else None

    @strawberry.field(description="The dealer whose calendar the clock runs on (null: the brand's).")
    async def dealer(self, info: strawberry.Info) -> Dealer | None:
        if self.view.dealer_id is None:
            return None
        row = await info.context.loaders.dealer.load(self.view.dealer_id)
        return Dealer.from_row(row) if row else None

    @strawberry.field(description="The policy that gave it its target (null for callers who are not brand admins).")
    async def policy(self, info: strawberry.Info) -> SlaPolicy | None:
        if self.view.policy_id is None:
            return None
        row = await info.context.loaders.sla_policy.load(self.view.policy_id)
        return SlaPolicy.of(row) if row else None

    @strawberry.field(description="The calendar it runs on, as it is now (null for callers who are not brand admins; a "
                                  "dealer calendar since deleted is null too).")
    async def calendar(self, info: strawberry.Info) -> SlaCalendar | None:
        row = await info.context.loaders.sla_calendar.load(self.view.calendar_id)
        return SlaCalendar.of(row) if row else None


@strawberry.type(description="A business calendar (spec: time zone, weekly periods, holidays, date overrides, closures; "
                             "see the README).")
class SlaCalendar(Node):
    id: strawberry.ID
    name: str
    kind: SlaCalendarKind
    spec: strawberry.scalars.JSON = strawberry.field(description='{"timezone", "weekly": {"mon": [["09:00", "12:00"], ...]}, '
                                                                 '"holidays": [dates], "overrides": {date: periods}, "closures": '
                                                                 '[[local start, local end]]}, normalised.')
    version: int = strawberry.field(description="Bumped by every change of the spec; clocks name the version they count on.")
    seed_report: strawberry.scalars.JSON | None = strawberry.field(description="The last holiday seeding's or iCalendar "
                                                                               "import's report (provisional years, skipped "
                                                                               "events).")
    updated_at: datetime
    row: strawberry.Private[dict]

    @classmethod
    def of(cls, r: dict) -> "SlaCalendar":
        return cls(id=gid("SlaCalendar", r["id"]), name=r["name"], kind=SlaCalendarKind(r["kind"]), spec=r["spec"],
                   version=r["version"], seed_report=r["seed_report"], updated_at=r["updated_at"], row=r)

    @strawberry.field(description="Kind DEALER: whose hours these are.")
    async def dealer(self, info: strawberry.Info) -> Dealer | None:
        if self.row["dealer_id"] is None:
            return None
        row = await info.context.loaders.dealer.load(self.row["dealer_id"])
        return Dealer.from_row(row) if row else None


@strawberry.type(description="What a policy applies to: every condition set must hold (an empty one holds for every ticket).")
class SlaConditions:
    priorities: list[Priority]
    category_ids: list[strawberry.ID]
    dimensions: list[Dimension]
    sources: list[TicketSource]
    tiers: list[Tier]
    regions: list[str] = strawberry.field(description="The region of the ticket's dealer.")
    min_round: int | None
    max_round: int | None


@strawberry.type
class SlaTarget:
    metric: SlaMetric
    seconds: int = strawberry.field(description="Business seconds.")


@strawberry.type(description="The ticket statuses in which a metric's clock pauses.")
class SlaPause:
    metric: SlaMetric
    statuses: list[TicketStatus]


@strawberry.type(description="An escalation step: who is told, a business-time delay after the breach.")
class SlaEscalationStep:
    level: SlaEscalationLevel
    after_seconds: int


@strawberry.type(description="An SLA policy: for each metric it has a target for, a ticket's clock takes it from the first "
                             "enabled policy (by position) whose conditions hold, with that policy's pauses, warnings, "
                             "escalation chain and calendars.")
class SlaPolicy(Node):
    id: strawberry.ID
    name: str
    position: int
    enabled: bool
    version: int
    conditions: SlaConditions
    targets: list[SlaTarget]
    pauses: list[SlaPause]
    warnings: list[float] = strawberry.field(description="Fractions of the target at which the people responsible are warned.")
    escalation: list[SlaEscalationStep]
    calendar: SlaCalendarChoice
    open_clocks: SlaOpenClocks = strawberry.field(description="What its last change asked for the clocks already running.")
    updated_at: datetime
    row: strawberry.Private[dict]

    @classmethod
    def of(cls, r: dict) -> "SlaPolicy":
        c = r["conditions"] or {}
        return cls(
            id=gid("SlaPolicy", r["id"]), name=r["name"], position=r["position"], enabled=r["enabled"], version=r["version"],
            conditions=SlaConditions(priorities=[Priority(v) for v in c.get("priorities", [])],
                                     category_ids=[gid("TicketCategory", uuid.UUID(v)) for v in c.get("category_ids", [])],
                                     dimensions=[Dimension(v) for v in c.get("dimensions", [])],
                                     sources=[TicketSource(v) for v in c.get("sources", [])], tiers=[Tier(v) for v in c.get("tiers", [])],
                                     regions=list(c.get("regions", [])), min_round=c.get("min_round"), max_round=c.get("max_round")),
            targets=[SlaTarget(metric=SlaMetric(m), seconds=s) for m, s in sorted((r["targets"] or {}).items(),
                                                                                  key=lambda x: enums.METRIC_ORDER[enums.Metric(x[0])])],
            pauses=[SlaPause(metric=SlaMetric(m), statuses=[TicketStatus(s) for s in st]) for m, st in sorted(
                (r["pauses"] or {}).items(), key=lambda x: enums.METRIC_ORDER[enums.Metric(x[0])])],
            warnings=list(r["warnings"] or []),
            escalation=[SlaEscalationStep(level=SlaEscalationLevel(s["level"]), after_seconds=s["after_seconds"]) for s in r["escalation"] or []],
            calendar=SlaCalendarChoice(r["calendar"]), open_clocks=SlaOpenClocks(r["open_clocks"]), updated_at=r["updated_at"], row=r)

    @strawberry.field(description="The calendar its notifications wait for (null: the business calendar of the ticket's dealer).")
    async def notification_calendar(self, info: strawberry.Info) -> SlaCalendar | None:
        if self.row["notification_calendar_id"] is None:
            return None
        row = await info.context.loaders.sla_calendar.load(self.row["notification_calendar_id"])
        return SlaCalendar.of(row) if row else None


@strawberry.type(description="When a target would be due.")
class SlaDeadlinePreview:
    due_at: datetime
    opens_at: datetime | None = strawberry.field(description="When counting starts: the first working instant at or after the start.")
    time_zone: str
    due_local: str = strawberry.field(description="The due instant on the calendar's wall clock (YYYY-MM-DD HH:MM).")


@strawberry.type(description="SLA outcomes of the clocks that started in one period, at one dealer (or region), for one metric.")
class SlaReportRow:
    period: date = strawberry.field(description="The first day of the period (in the brand calendar's zone).")
    metric: SlaMetric
    dealer_id: strawberry.ID | None = strawberry.field(description="Grouped by dealer; null for the brand's own tickets.")
    dealer_code: str | None
    dealer_name: str | None
    region: str | None
    total: int
    met: int = strawberry.field(description="Met on time.")
    breached: int
    open: int = strawberry.field(description="Still running or paused, not breached.")
    cancelled: int
    met_percent: float | None = strawberry.field(description="met / (met + breached) x 100; null when none is decided yet.")

    @classmethod
    def of(cls, r: service.ReportRow) -> "SlaReportRow":
        return cls(period=r.period, metric=SlaMetric(r.metric), dealer_id=gid("Dealer", r.dealer_id) if r.dealer_id else None,
                   dealer_code=r.dealer_code, dealer_name=r.dealer_name, region=r.region, total=r.total, met=r.met,
                   breached=r.breached, open=r.open, cancelled=r.cancelled, met_percent=r.met_percent)


@node_type("SlaClock", perm=Perm.TICKETS_READ)
async def _clock_node(info: strawberry.Info, pk: uuid.UUID):
    view = await info.context.loaders.sla_clock.load(pk)
    return SlaClock.of(view) if view else None


@node_type("SlaCalendar", perm=Perm.ADMIN)
async def _calendar_node(info: strawberry.Info, pk: uuid.UUID):
    row = await info.context.loaders.sla_calendar.load(pk)
    return SlaCalendar.of(row) if row else None


@node_type("SlaPolicy", perm=Perm.ADMIN)
async def _policy_node(info: strawberry.Info, pk: uuid.UUID):
    row = await info.context.loaders.sla_policy.load(pk)
    return SlaPolicy.of(row) if row and row["deleted_at"] is None else None
