"""Mutations of recovery SLAs (brand admins): calendars, holiday seeding and iCalendar import,
policies. Each says what happens to the clocks already running (`openClocks`, default
RECOMPUTE: re-resolved after the change commits, keeping the business time consumed)."""
from __future__ import annotations

from datetime import date

import strawberry

from app.core.permissions import Perm
from app.sla import errors as sla_errors
from app.sla import service
from schema.complaint.types import Dimension, Priority, TicketSource, TicketStatus
from schema.customer.types import Tier
from schema.errors import domain_errors, run_mutation
from schema.permissions import describe, needs
from schema.relay import decode, gid
from schema.sla.types import SlaCalendar, SlaCalendarChoice, SlaEscalationLevel, SlaMetric, SlaOpenClocks, SlaPolicy

ADMIN = needs(Perm.ADMIN)
SlaError = domain_errors("Sla", sla_errors, "SLA")
OPEN_CLOCKS = "What happens to the clocks already running (default RECOMPUTE)."


@strawberry.type
class SlaCalendarPayload:
    calendar: SlaCalendar | None
    errors: list[SlaError]


@strawberry.type
class SlaCalendarSourcePayload:
    calendar: SlaCalendar | None
    report: strawberry.scalars.JSON | None = strawberry.field(description="Holidays: the holidays and make-up days added, every "
                                                                          "provisional year and why. iCalendar: the events read, "
                                                                          "the closures made, what was skipped and why.")
    errors: list[SlaError]


@strawberry.type
class SlaDeletePayload:
    deleted_id: strawberry.ID | None
    errors: list[SlaError]


@strawberry.type
class SlaPolicyPayload:
    policy: SlaPolicy | None
    errors: list[SlaError]


@strawberry.input
class SlaCalendarInput:
    id: strawberry.ID | None = strawberry.field(default=None, description="Omit to create one.")
    name: str
    spec: strawberry.scalars.JSON | None = strawberry.field(default=None, description='{"timezone": "Asia/Shanghai", "weekly": '
                                                                                      '{"mon": [["09:00", "12:00"], ["13:30", '
                                                                                      '"18:00"]], ...}, "holidays": [...], '
                                                                                      '"overrides": {...}, "closures": [...]} '
                                                                                      '(README). Required to create; a change '
                                                                                      'without it only renames.')
    dealer_id: strawberry.ID | None = strawberry.field(default=None, description="Creating: a dealer's own hours, instead of the brand's.")
    open_clocks: SlaOpenClocks = strawberry.field(default=SlaOpenClocks.RECOMPUTE, description=OPEN_CLOCKS)


@strawberry.input
class SlaDeleteInput:
    id: strawberry.ID
    open_clocks: SlaOpenClocks = strawberry.field(default=SlaOpenClocks.RECOMPUTE, description=OPEN_CLOCKS)


@strawberry.input
class SlaHolidaySeedInput:
    id: strawberry.ID
    years: list[int] = strawberry.field(description="1 to 5 years.")
    country: str = strawberry.field(default="CN", description="A country the `holidays` package knows (ISO 3166-1 alpha-2).")
    subdiv: str | None = None
    replace: bool = strawberry.field(default=False, description="Drop the calendar's holidays and date overrides in these years "
                                                                "first (an official schedule replacing a provisional one).")
    open_clocks: SlaOpenClocks = strawberry.field(default=SlaOpenClocks.RECOMPUTE, description=OPEN_CLOCKS)


@strawberry.input
class SlaIcalImportInput:
    id: strawberry.ID
    ical: str = strawberry.field(description="An iCalendar feed (at most 512 KB).")
    start: date | None = strawberry.field(default=None, description="The first local date to take closures for (default: "
                                                                   "1 January this year).")
    end: date | None = strawberry.field(default=None, description="The day after the last (default: two years after start's).")
    open_clocks: SlaOpenClocks = strawberry.field(default=SlaOpenClocks.RECOMPUTE, description=OPEN_CLOCKS)


@strawberry.input(description="Every condition set must hold; leave one out to match every ticket.")
class SlaConditionsInput:
    priorities: list[Priority] | None = None
    category_ids: list[strawberry.ID] | None = None
    dimensions: list[Dimension] | None = None
    sources: list[TicketSource] | None = None
    tiers: list[Tier] | None = None
    regions: list[str] | None = None
    min_round: int | None = None
    max_round: int | None = None


@strawberry.input
class SlaTargetInput:
    metric: SlaMetric
    seconds: int = strawberry.field(description="Business seconds: 60 to one year.")


@strawberry.input
class SlaPauseInput:
    metric: SlaMetric
    statuses: list[TicketStatus]


@strawberry.input
class SlaEscalationStepInput:
    level: SlaEscalationLevel
    after_seconds: int = strawberry.field(description="Business seconds after the breach (0 to 90 days).")


@strawberry.input
class SlaPolicyInput:
    id: strawberry.ID | None = strawberry.field(default=None, description="Omit to create one (added last).")
    name: str
    position: int | None = None
    enabled: bool = True
    conditions: SlaConditionsInput | None = None
    targets: list[SlaTargetInput]
    pauses: list[SlaPauseInput] | None = strawberry.field(default=None, description="Per metric; a metric left out pauses in "
                                                                                   "PENDING_CUSTOMER.")
    warnings: list[float] | None = strawberry.field(default=None, description="Fractions of the target (default 0.75 and 0.9).")
    escalation: list[SlaEscalationStepInput] | None = strawberry.field(default=None, description="Up the chain; none when left out.")
    calendar: SlaCalendarChoice = SlaCalendarChoice.BUSINESS
    notification_calendar_id: strawberry.ID | None = strawberry.field(default=None, description="The calendar notifications wait "
                                                                                               "for (default: the business "
                                                                                               "calendar of the ticket's dealer).")
    open_clocks: SlaOpenClocks = strawberry.field(default=SlaOpenClocks.RECOMPUTE, description=OPEN_CLOCKS)


def _conditions(c: SlaConditionsInput | None) -> dict:
    if c is None:
        return {}
    return {"priorities": [p.value for p in c.priorities or ()], "dimensions": [d.value for d in c.dimensions or ()],
            "category_ids": [decode(i, "TicketCategory")[1] for i in c.category_ids or ()],
            "sources": [s.value for s in c.sources or ()], "tiers": [t.value for t in c.tiers or ()], "regions": list(c.regions or ()),
            "min_round": c.min_round, "max_round": c.max_round}


def _calendar_payload(info, op):
    return run_mutation(info, op, lambda row: SlaCalendarPayload(calendar=SlaCalendar.of(row), errors=[]),
                        lambda errors: SlaCalendarPayload(calendar=None, errors=errors), SlaError)


def _source_payload(info, op):
    return run_mutation(info, op, lambda got: SlaCalendarSourcePayload(calendar=SlaCalendar.of(got[0]), report=got[1], errors=[]),
                        lambda errors: SlaCalendarSourcePayload(calendar=None, report=None, errors=errors), SlaError)


def _deleted(info, op, type_name):
    return run_mutation(info, op, lambda pk: SlaDeletePayload(deleted_id=gid(type_name, pk), errors=[]),
                        lambda errors: SlaDeletePayload(deleted_id=None, errors=errors), SlaError)


@strawberry.type
class SlaMutation:
    @strawberry.mutation(description=describe(Perm.ADMIN, "Create a calendar (a dealer's own hours with `dealerId`) or change one "
                                              "(a new spec is a new version; the 24x7 calendar cannot change)."),
                         permission_classes=ADMIN)
    async def sla_calendar_save(self, info: strawberry.Info, input: SlaCalendarInput) -> SlaCalendarPayload:
        async def op():
            return await service.save_calendar(
                info.context.scope, calendar_id=decode(input.id, "SlaCalendar")[1] if input.id else None, name=input.name,
                spec=input.spec, dealer_id=decode(input.dealer_id, "Dealer")[1] if input.dealer_id else None,
                open_clocks=input.open_clocks.value)

        return await _calendar_payload(info, op)

    @strawberry.mutation(description=describe(Perm.ADMIN, "Delete a dealer's own hours (its tickets go back to the brand's) or "
                                              "another calendar no policy notifies by."), permission_classes=ADMIN)
    async def sla_calendar_delete(self, info: strawberry.Info, input: SlaDeleteInput) -> SlaDeletePayload:
        async def op():
            return await service.delete_calendar(info.context.scope, decode(input.id, "SlaCalendar")[1],
                                                 open_clocks=input.open_clocks.value)

        return await _deleted(info, op, "SlaCalendar")

    @strawberry.mutation(description=describe(Perm.ADMIN, "Add a country's public holidays and official make-up working days "
                                              "(China's 调休) for some years, from the `holidays` package; the report lists the "
                                              "provisional years (no official data yet)."), permission_classes=ADMIN)
    async def sla_calendar_seed_holidays(self, info: strawberry.Info, input: SlaHolidaySeedInput) -> SlaCalendarSourcePayload:
        async def op():
            return await service.seed_holidays(info.context.scope, decode(input.id, "SlaCalendar")[1], country=input.country,
                                               years=input.years, subdiv=input.subdiv, replace=input.replace,
                                               open_clocks=input.open_clocks.value)

        return await _source_payload(info, op)

    @strawberry.mutation(description=describe(Perm.ADMIN, "Add the closures of an iCalendar feed (all-day events close their "
                                              "dates, timed events their hours; free-time and cancelled events are skipped)."),
                         permission_classes=ADMIN)
    async def sla_calendar_import_ical(self, info: strawberry.Info, input: SlaIcalImportInput) -> SlaCalendarSourcePayload:
        async def op():
            return await service.import_ical(info.context.scope, decode(input.id, "SlaCalendar")[1], ical=input.ical,
                                             start=input.start, end=input.end, open_clocks=input.open_clocks.value)

        return await _source_payload(info, op)

    @strawberry.mutation(description=describe(Perm.ADMIN, "Create or replace an SLA policy."), permission_classes=ADMIN)
    async def sla_policy_save(self, info: strawberry.Info, input: SlaPolicyInput) -> SlaPolicyPayload:
        async def op():
            return await service.save_policy(
                info.context.scope, policy_id=decode(input.id, "SlaPolicy")[1] if input.id else None, name=input.name,
                position=input.position, enabled=input.enabled, conditions=_conditions(input.conditions),
                targets=[{"metric": t.metric.value, "seconds": t.seconds} for t in input.targets],
                pauses=[{"metric": p.metric.value, "statuses": [s.value for s in p.statuses]} for p in input.pauses]
                if input.pauses is not None else None,
                warnings=input.warnings,
                escalation=[{"level": s.level.value, "after_seconds": s.after_seconds} for s in input.escalation or ()],
                calendar=input.calendar.value,
                notification_calendar_id=decode(input.notification_calendar_id, "SlaCalendar")[1]
                if input.notification_calendar_id else None,
                open_clocks=input.open_clocks.value)

        return await run_mutation(info, op, lambda row: SlaPolicyPayload(policy=SlaPolicy.of(row), errors=[]),
                                  lambda errors: SlaPolicyPayload(policy=None, errors=errors), SlaError)

    @strawberry.mutation(description=describe(Perm.ADMIN, "Delete an SLA policy: its open clocks stop firing (with RECOMPUTE they "
                                              "move to the policy that applies now)."), permission_classes=ADMIN)
    async def sla_policy_delete(self, info: strawberry.Info, input: SlaDeleteInput) -> SlaDeletePayload:
        async def op():
            return await service.delete_policy(info.context.scope, decode(input.id, "SlaPolicy")[1],
                                               open_clocks=input.open_clocks.value)

        return await _deleted(info, op, "SlaPolicy")
