"""GraphQL types of complaint tickets."""
from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from app.complaint import enums, service
from app.complaint import models as m
from app.core import events
from app.core.permissions import Perm
from app.core.rows import member
from schema.context import load_as
from schema.customer.types import Customer
from schema.relay import Node, gid, node_type
from schema.tenant.types import Dealer, User

TicketStatus = strawberry.enum(enums.TicketStatus, description="Where a ticket stands (app/complaint/workflow.py).")
TicketAction = strawberry.enum(enums.TicketAction, description="What can be done to a ticket; each is its own mutation.")
TicketSource = strawberry.enum(enums.TicketSource)
Severity = strawberry.enum(enums.Severity)
Priority = strawberry.enum(enums.Priority)
Dimension = strawberry.enum(enums.Dimension, description="The five service-quality dimensions (SERVQUAL).")
ContactChannel = strawberry.enum(enums.ContactChannel)
CompensationKind = strawberry.enum(enums.CompensationKind)


@strawberry.type(description="A node of the brand's complaint-cause tree.")
class TicketCategory(Node):
    id: strawberry.ID
    code: str
    name: str
    name_zh: str | None
    parent_id: strawberry.ID | None

    @classmethod
    def from_row(cls, c: m.TicketCategory) -> "TicketCategory":
        return cls(id=gid("TicketCategory", c.id), code=c.code, name=c.name, name_zh=c.name_zh,
                   parent_id=gid("TicketCategory", c.parent_id) if c.parent_id else None)


@strawberry.type(description="Compensation given with a resolution.")
class Compensation:
    kind: CompensationKind
    value: Decimal | None
    currency: str | None
    approved_by_id: strawberry.ID | None


@strawberry.type(description="One change of a ticket (its history is append-only).")
class TicketEvent:
    at: datetime
    action: TicketAction | None = strawberry.field(description="null for the opening.")
    from_status: TicketStatus | None
    to_status: TicketStatus
    round: int
    by: strawberry.Private[str]

    @strawberry.field(description="Who did it: a staff member's display name, \"partner app\" or \"system\".")
    async def actor(self, info: strawberry.Info) -> str | None:
        kind, _, ident = self.by.partition(":")
        if kind == "user":
            user = await info.context.loaders.user.load(uuid.UUID(ident))
            return user.display_name if user else None
        return "partner app" if kind == "app" else self.by

    @classmethod
    def from_event(cls, e: events.Event) -> "TicketEvent":
        p = e.payload
        opened = e.type == service.OPENED
        return cls(at=e.occurred_at, action=None if opened else TicketAction(p["action"]),
                   from_status=None if opened else TicketStatus(p["from"]),
                   to_status=TicketStatus(p["status"] if opened else p["to"]), round=p.get("round", 1), by=e.actor)


@strawberry.type(description="A complaint ticket: one unhappy customer's recovery, round after round.")
class Ticket(Node):
    id: strawberry.ID
    number: str = strawberry.field(description="Human-readable, per brand: T-<year>-<six digits>.")
    status: TicketStatus
    round: int = strawberry.field(description="1 for the first round of care; a re-survey that finds the customer still "
                                              "dissatisfied reopens the same ticket as round 2.")
    version: int = strawberry.field(description="Changes with every change: pass it as expectedVersion to act only on what you saw.")
    source: TicketSource
    channel: str | None
    external_ref: str | None = strawberry.field(description="The source's own reference (for survey tickets: the response id).")
    product_line: str | None
    episode: str | None = strawberry.field(description="Survey tickets: the visit or order the results are about.")
    title: str
    severity: Severity
    priority: Priority
    dimension: Dimension | None
    tags: list[str]
    brand_flagged: bool
    sla_due_at: datetime | None = strawberry.field(description="The earliest due instant of the ticket's running SLA clocks "
                                                               "(null: none running); `sla` has each clock.")
    sla_warned: bool = strawberry.field(description="A running clock of this round passed a warning.")
    sla_breached: bool = strawberry.field(description="A clock of this round breached.")
    brand_owned: bool = strawberry.field(description="Past the brand's round limit the brand works the ticket itself.")
    contact_channel: ContactChannel | None
    root_cause: str | None
    solution: str | None
    follow_up: str | None
    status_reason: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    row: strawberry.Private[m.Ticket]

    @classmethod
    def from_row(cls, t: m.Ticket) -> "Ticket":
        return cls(id=gid("Ticket", t.id), number=t.number, status=member(TicketStatus, t.status), round=t.round, version=t.version,
                   source=member(TicketSource, t.source), channel=t.channel, external_ref=t.external_ref, product_line=t.product_line,
                   episode=t.episode or None, title=t.title,
                   severity=member(Severity, t.severity), priority=member(Priority, t.priority),
                   dimension=member(Dimension, t.dimension) if t.dimension else None,
                   tags=list(t.tags or []), brand_flagged=t.brand_flagged, brand_owned=t.brand_owned,
                   sla_due_at=t.sla_due_at, sla_warned=t.sla_warned, sla_breached=t.sla_breached,
                   contact_channel=member(ContactChannel, t.contact_channel) if t.contact_channel else None,
                   root_cause=t.root_cause, solution=t.solution, follow_up=t.follow_up, status_reason=t.status_reason,
                   created_at=t.created_at, updated_at=t.updated_at, resolved_at=t.resolved_at, closed_at=t.closed_at, row=t)

    @strawberry.field(description="The customer (null for callers without customers:read).")
    def customer(self, info: strawberry.Info) -> Customer | None:
        if not info.context.scope.can(Perm.CUSTOMERS_READ):
            return None
        return load_as(info.context.loaders.customer, self.row.customer_id, Customer.from_row)

    @strawberry.field
    def customer_id(self) -> strawberry.ID:
        return gid("Customer", self.row.customer_id)

    @strawberry.field
    def dealer(self, info: strawberry.Info) -> Dealer | None:
        if self.row.dealer_id is None:
            return None
        return load_as(info.context.loaders.dealer, self.row.dealer_id, Dealer.from_row)

    @strawberry.field(description="The agent working it (null when none, or when the caller may not see that user).")
    def agent(self, info: strawberry.Info) -> User | None:
        if self.row.agent_id is None:
            return None
        return load_as(info.context.loaders.user, self.row.agent_id, User.from_row)

    @strawberry.field
    async def category(self, info: strawberry.Info) -> TicketCategory | None:
        if self.row.category_id is None:
            return None
        row = await info.context.loaders.ticket_category.load(self.row.category_id)
        return TicketCategory.from_row(row) if row else None

    @strawberry.field
    def compensation(self) -> Compensation | None:
        t = self.row
        if not t.compensation_kind:
            return None
        return Compensation(kind=CompensationKind(t.compensation_kind), value=t.compensation_value, currency=t.compensation_currency,
                            approved_by_id=gid("User", t.compensation_approved_by) if t.compensation_approved_by else None)

    @strawberry.field
    def duplicate_of_id(self) -> strawberry.ID | None:
        return gid("Ticket", self.row.duplicate_of_id) if self.row.duplicate_of_id else None

    @strawberry.field(description="What the caller may do next, from the workflow's transition table.")
    async def available_actions(self, info: strawberry.Info) -> list[TicketAction]:
        region = None
        if self.row.dealer_id is not None:
            dealer = await info.context.loaders.dealer.load(self.row.dealer_id)
            region = dealer.region if dealer else None
        return [TicketAction(a) for a in service.available_actions(info.context.scope, self.row, region)]

    @strawberry.field(description="A running SLA clock is past its due instant now.")
    def overdue(self) -> bool:
        from app.core import clock

        return self.row.sla_due_at is not None and self.row.sla_due_at < clock.now()

    @strawberry.field(description="The complainant's own words, as given (null for callers without customers:read: they "
                                  "are the customer's personal data).")
    def verbatim(self, info: strawberry.Info) -> str | None:
        return self.row.verbatim if info.context.scope.can(Perm.CUSTOMERS_READ) else None

    @strawberry.field(description="What was said when the customer was reached (null without customers:read).")
    def contact_notes(self, info: strawberry.Info) -> str | None:
        return self.row.contact_notes if info.context.scope.can(Perm.CUSTOMERS_READ) else None

    @strawberry.field(description="Every change, oldest first (at most 100).")
    async def events(self, info: strawberry.Info) -> list[TicketEvent]:
        found = await info.context.loaders.ticket_events.load(self.row.id)
        return [TicketEvent.from_event(e) for e in found if e.type in (service.OPENED, service.CHANGED)]

    @strawberry.field(description="Its SLA clocks, one per metric and round, current round first (the SLA module's; one "
                                  "statement for a page of tickets).")
    async def sla(self, info: strawberry.Info) -> list[Annotated["SlaClock", strawberry.lazy("schema.sla.types")]]:  # noqa: F821
        from schema.sla.types import SlaClock

        return [SlaClock.of(v) for v in await info.context.loaders.sla_clocks.load(self.row.id)]


@strawberry.type(description="The brand's rules for its tickets.")
class TicketPolicy:
    max_rounds: int = strawberry.field(description="Past this many rounds of care the brand takes a ticket over from the dealer.")
    approval_threshold: Decimal = strawberry.field(description="Compensation above this needs brand staff (recorded as approver).")


@strawberry.type(description="How many tickets are in one status at one dealer.")
class TicketCount:
    status: TicketStatus
    dealer_id: strawberry.ID | None
    count: int


@strawberry.type(description="A routing rule: a new ticket matching every condition it sets goes to its dealer instead of "
                             "the customer's own. The first enabled rule by position wins; a ticket opened with a dealer named "
                             "is not routed.")
class AssignmentRule(Node):
    id: strawberry.ID
    name: str
    position: int
    enabled: bool
    region: str | None = strawberry.field(description="The region of the customer's (or the serving) dealer.")
    product_line: str | None
    source: TicketSource | None
    row: strawberry.Private[m.AssignmentRule]

    @classmethod
    def from_row(cls, r: m.AssignmentRule) -> "AssignmentRule":
        return cls(id=gid("AssignmentRule", r.id), name=r.name, position=r.position, enabled=r.enabled, region=r.region,
                   product_line=r.product_line, source=TicketSource(r.source) if r.source else None, row=r)

    @strawberry.field
    async def dealer(self, info: strawberry.Info) -> Dealer | None:
        row = await info.context.loaders.dealer.load(self.row.dealer_id)
        return Dealer.from_row(row) if row else None


@node_type("TicketCategory", perm=Perm.TICKETS_READ)
async def _category_node(info: strawberry.Info, pk: uuid.UUID):
    row = await info.context.loaders.ticket_category.load(pk)
    return TicketCategory.from_row(row) if row else None


@node_type("Ticket", perm=Perm.TICKETS_READ)
async def _ticket_node(info: strawberry.Info, pk: uuid.UUID):
    row = await info.context.loaders.ticket.load(pk)
    return Ticket.from_row(row) if row else None


@node_type("AssignmentRule", perm=Perm.TICKETS_READ)
async def _assignment_rule_node(info: strawberry.Info, pk: uuid.UUID):
    if not info.context.scope.all_dealers:
        return None
    row = next((r for r in await service.list_assignment_rules(info.context.scope) if r.id == pk), None)
    return AssignmentRule.from_row(row) if row else None
