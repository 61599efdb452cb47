"""Queries of complaint tickets."""
from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from app.complaint import repository, service
from app.core.pagination import PageArgs
from app.core.permissions import Perm
from app.core.rows import member
from app.settings import get_settings
from schema.complaint.types import (
    AssignmentRule,
    Dimension,
    Priority,
    Ticket,
    TicketCategory,
    TicketCount,
    TicketPolicy,
    TicketSource,
    TicketStatus,
)
from schema.context import prefetch, prime
from schema.permissions import describe, needs
from schema.relay import Connection, decode, gid, node_fields

READ = needs(Perm.TICKETS_READ)
MAX_FILTER_VALUES = 100


@strawberry.enum
class TicketOrderField(Enum):
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"


@strawberry.input
class TicketFilter:
    statuses: list[TicketStatus] | None = None
    dealer_ids: list[strawberry.ID] | None = None
    regions: list[str] | None = None
    category_ids: list[strawberry.ID] | None = None
    dimensions: list[Dimension] | None = None
    priorities: list[Priority] | None = None
    sources: list[TicketSource] | None = None
    rounds: list[int] | None = None
    agent_id: strawberry.ID | None = None
    customer_id: strawberry.ID | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    overdue: bool | None = strawberry.field(default=None, description="true: a running SLA clock is past due now; false: none is.")
    sla_breached: bool | None = strawberry.field(default=None, description="A clock of the ticket's current round breached.")


def _filter(f: TicketFilter | None) -> repository.TicketFilter:
    from app.core.errors import ValidationFailed

    if f is None:
        return repository.TicketFilter()
    for name in ("statuses", "dealer_ids", "regions", "category_ids", "dimensions", "priorities", "sources", "rounds"):
        if len(getattr(f, name) or ()) > MAX_FILTER_VALUES:
            raise ValidationFailed(f"At most {MAX_FILTER_VALUES} values per filter.", field=name)
    if any(len(r) > 64 for r in f.regions or ()):
        raise ValidationFailed("A region is at most 64 characters.", field="regions")
    return repository.TicketFilter(
        statuses=[s.value for s in f.statuses] if f.statuses else None,
        dealer_ids=[decode(i, "Dealer")[1] for i in f.dealer_ids] if f.dealer_ids else None,
        regions=f.regions, category_ids=[decode(i, "TicketCategory")[1] for i in f.category_ids] if f.category_ids else None,
        dimensions=[d.value for d in f.dimensions] if f.dimensions else None,
        priorities=[p.value for p in f.priorities] if f.priorities else None,
        sources=[s.value for s in f.sources] if f.sources else None, rounds=f.rounds,
        agent_id=decode(f.agent_id, "User")[1] if f.agent_id else None,
        customer_id=decode(f.customer_id, "Customer")[1] if f.customer_id else None,
        created_after=f.created_after, created_before=f.created_before, updated_after=f.updated_after, updated_before=f.updated_before,
        overdue=f.overdue, sla_breached=f.sla_breached)


@strawberry.type
class ComplaintQuery:
    @strawberry.field(description=describe(Perm.TICKETS_READ, "The brand's assignment rules, in the order they are tried "
                                           "(empty for dealer staff)."), permission_classes=READ)
    async def assignment_rules(self, info: strawberry.Info) -> list[AssignmentRule]:
        if not info.context.scope.all_dealers:
            return []
        return [AssignmentRule.from_row(r) for r in await service.list_assignment_rules(info.context.scope)]

    @strawberry.field(description=describe(Perm.TICKETS_READ, "One ticket by id (dealer staff: their dealer's only)."), permission_classes=READ)
    async def ticket(self, info: strawberry.Info, id: strawberry.ID) -> Ticket | None:
        _, pk = decode(id, "Ticket")
        row = await info.context.loaders.ticket.load(pk)
        return Ticket.from_row(row) if row else None

    @strawberry.field(description=describe(Perm.TICKETS_READ, "Tickets visible to the caller, newest first, filtered and keyset-paginated."),
                      permission_classes=READ)
    async def tickets(self, info: strawberry.Info, first: int | None = None, after: str | None = None, last: int | None = None,
                      before: str | None = None, filter: TicketFilter | None = None,
                      order_by: TicketOrderField = TicketOrderField.CREATED_AT) -> Connection[Ticket]:
        page = await repository.list_tickets(info.context.scope, _filter(filter), PageArgs(first, after, last, before),
                                             order=order_by.value, max_size=get_settings().graphql_page_max)
        loaders = info.context.loaders
        prime(loaders.ticket, {t.id: t for t in page.items})  # the nested fields' loaders start warm
        selected = node_fields(info)
        wanted = {}
        if "dealer" in selected:
            wanted[loaders.dealer] = [t.dealer_id for t in page.items]
        if "customer" in selected and info.context.scope.can(Perm.CUSTOMERS_READ):
            wanted[loaders.customer] = [t.customer_id for t in page.items]
        if "agent" in selected:
            wanted[loaders.user] = [t.agent_id for t in page.items]
        await prefetch(wanted)  # each row's dealer/customer/agent then completes without an await
        return Connection.of(page, Ticket.from_row)

    @strawberry.field(description=describe(Perm.TICKETS_READ, "Ticket counts by status and dealer (the same filters), for dashboards."),
                      permission_classes=READ)
    async def ticket_counts(self, info: strawberry.Info, filter: TicketFilter | None = None) -> list[TicketCount]:
        rows = await repository.count_tickets(info.context.scope, _filter(filter))
        gids = {d: gid("Dealer", d) for d in {d for _, d, _ in rows if d}}  # a dealer has a row per status: its id once
        return [TicketCount(status=member(TicketStatus, s), dealer_id=gids.get(d), count=n) for s, d, n in rows]

    @strawberry.field(description=describe(Perm.TICKETS_READ, "The brand's rules for its tickets."), permission_classes=READ)
    async def ticket_policy(self, info: strawberry.Info) -> TicketPolicy:
        return TicketPolicy(**await service.get_policy(info.context.scope))

    @strawberry.field(description=describe(Perm.TICKETS_READ, "The brand's complaint-cause tree (seeded with the causes of seed 003)."),
                      permission_classes=READ)
    async def ticket_categories(self, info: strawberry.Info) -> list[TicketCategory]:
        return [TicketCategory.from_row(c) for c in await service.list_categories(info.context.scope)]
