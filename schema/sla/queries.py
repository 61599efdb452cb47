"""Queries of recovery SLAs: calendars and policies (brand admins), deadline previews, reports."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry

from app.core.pagination import PageArgs
from app.core.permissions import Perm
from app.settings import get_settings
from app.sla import service
from schema.permissions import describe, needs
from schema.relay import Connection, decode
from schema.sla.types import (
    SlaCalendar,
    SlaClock,
    SlaDeadlinePreview,
    SlaMetric,
    SlaOutcome,
    SlaPolicy,
    SlaReportGroup,
    SlaReportPeriod,
    SlaReportRow,
)

ADMIN = needs(Perm.ADMIN)
READ = needs(Perm.TICKETS_READ)
From = Annotated[date | None, strawberry.argument(name="from", description="The first local date (brand calendar's zone); "
                                                                           "default: the first of this month.")]
To = Annotated[date | None, strawberry.argument(description="The day after the last local date; default: a month after `from`'s "
                                                            "first.")]


@strawberry.input(description="Which clocks of a report to list (the cells to drill into).")
class SlaReportClockFilter:
    metrics: list[SlaMetric] | None = None
    dealer_ids: list[strawberry.ID] | None = None
    regions: list[str] | None = None
    outcome: SlaOutcome | None = None
    brand_only: bool = strawberry.field(default=False, description="Only the brand's own tickets (no dealer).")


@strawberry.type
class SlaQuery:
    @strawberry.field(description=describe(Perm.ADMIN, "The brand's business calendars: its hours, 24x7, dealers' own hours and "
                                           "the others (seeded on first use with China's hours, holidays and make-up days)."),
                      permission_classes=ADMIN)
    async def sla_calendars(self, info: strawberry.Info) -> list[SlaCalendar]:
        return [SlaCalendar.of(r) for r in await service.list_calendars(info.context.scope)]

    @strawberry.field(description=describe(Perm.ADMIN, "The brand's SLA policies, in the order they are tried."),
                      permission_classes=ADMIN)
    async def sla_policies(self, info: strawberry.Info) -> list[SlaPolicy]:
        return [SlaPolicy.of(r) for r in await service.list_policies(info.context.scope)]

    @strawberry.field(description=describe(Perm.ADMIN, "When would `targetSeconds` of business time from `start` (default now) be "
                                           "due, on a stored calendar (`calendarId`) or on a spec being edited (`spec`)?"),
                      permission_classes=ADMIN)
    async def sla_deadline_preview(self, info: strawberry.Info, target_seconds: int, start: datetime | None = None,
                                   calendar_id: strawberry.ID | None = None,
                                   spec: strawberry.scalars.JSON | None = None) -> SlaDeadlinePreview:
        pk = decode(calendar_id, "SlaCalendar")[1] if calendar_id is not None else None
        p = await service.deadline_preview(info.context.scope, calendar_id=pk, spec=spec, start=start, target_seconds=target_seconds)
        return SlaDeadlinePreview(due_at=p.due_at, opens_at=p.opens_at, time_zone=p.time_zone, due_local=p.due_local)

    @strawberry.field(description=describe(Perm.TICKETS_READ, "SLA met percentage per period, dealer (or region) and metric, over "
                                           "the clocks the caller may see that started in [from, to): one GROUP BY. The CSV is "
                                           "GET /exports/sla-report."), permission_classes=READ)
    async def sla_report(self, info: strawberry.Info, from_: From = None, to: To = None, group_by: SlaReportGroup = SlaReportGroup.DEALER,
                         period: SlaReportPeriod = SlaReportPeriod.MONTH, metrics: list[SlaMetric] | None = None) -> list[SlaReportRow]:
        rows = await service.report(info.context.scope, start=from_, end=to, group=group_by.value, period=period.value,
                                    metrics=[m.value for m in metrics] if metrics else None)
        return [SlaReportRow.of(r) for r in rows]

    @strawberry.field(description=describe(Perm.TICKETS_READ, "The clocks behind `slaReport` (drill-down to the tickets), newest "
                                           "start first, keyset-paginated."), permission_classes=READ)
    async def sla_report_clocks(self, info: strawberry.Info, from_: From = None, to: To = None, filter: SlaReportClockFilter | None = None,
                                first: int | None = None, after: str | None = None) -> Connection[SlaClock]:
        f = filter or SlaReportClockFilter()
        page = await service.report_clocks(
            info.context.scope, start=from_, end=to, metrics=[m.value for m in f.metrics] if f.metrics else None,
            dealer_ids=[decode(i, "Dealer")[1] for i in f.dealer_ids or ()], regions=f.regions,
            outcome=f.outcome.value if f.outcome else None, brand_only=f.brand_only, page=PageArgs(first, after),
            max_size=get_settings().graphql_page_max)
        return Connection.of(page, SlaClock.of)
