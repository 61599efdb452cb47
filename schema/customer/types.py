from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.dataloader import DataLoader

from app.core import clock
from app.core.errors import InvalidPagination
from app.core.permissions import Perm
from app.core.rows import member
from app.customer import enums, links, models
from app.customer import repository as customer_repo
from app.customer.service import mask
from schema.context import load_as
from schema.imports import ImportRecord, import_node
from schema.relay import Node, gid, node_type
from schema.tenant.types import Dealer

if TYPE_CHECKING:
    from schema.complaint.types import Ticket

Channel = strawberry.enum(enums.Channel)
Gender = strawberry.enum(enums.Gender)
Tier = strawberry.enum(enums.Tier, description="ABC value tier (brand-configurable formula).")
ChurnStatus = strawberry.enum(enums.ChurnStatus)
LostType = strawberry.enum(enums.LostType, description="The six kinds of lost customers.")
InteractionKind = strawberry.enum(enums.InteractionKind)
InteractionOutcome = strawberry.enum(enums.InteractionOutcome)
PromiseStatus = strawberry.enum(enums.PromiseStatus)
WinbackActionKind = strawberry.enum(enums.WinbackActionKind)
WinbackOutcome = strawberry.enum(enums.WinbackOutcome)


def _timeline_kinds():
    """TimelineKind: every kind registered by any module (app/customer/links), plus OTHER for
    an entry whose kind this version does not know."""
    links.load()
    own = [k.value for k in enums.CustomerEventKind]  # the archive's own first, then the others by name: the same
    names = own + sorted(set(links.TIMELINE_KINDS) - set(own))  # SDL whichever module was imported first
    members = {name.upper(): name for name in names}
    members["OTHER"] = links.OTHER_KIND
    return strawberry.enum(Enum("TimelineKind", members), description="What a timeline entry records. OTHER: a kind this "
                           "version of the API does not know (`kindName` names it).")


TimelineKind = _timeline_kinds()


LIST_DEFAULT, LIST_MAX = 20, 100  # nested lists of a customer: `first` defaults to 20, at most 100


def _first(first: int | None) -> int:
    n = LIST_DEFAULT if first is None else first
    if not 0 <= n <= LIST_MAX:
        raise InvalidPagination(f"first must be between 0 and {LIST_MAX}.", field="first")
    return n


def _cached_loader(info: strawberry.Info, name: str, load) -> DataLoader:
    """A per-request DataLoader kept in the context (fresh for every request, like the others)."""
    key = f"customer:{name}"
    loader = info.context.extra.get(key)
    if loader is None:
        loader = info.context.extra[key] = DataLoader(load)
    return loader


def _capped(info: strawberry.Info, name: str) -> DataLoader:
    """Keys are (customer id, n[, filter]): different `first` values never share an entry; one
    statement per batch, limited per customer in SQL (repository.children_limited)."""
    scope = info.context.scope

    async def load(keys):
        found = await customer_repo.children_limited(scope, name, keys)
        return [found[k] for k in keys]

    return _cached_loader(info, f"capped:{name}", load)


def _first_purchases(info: strawberry.Info) -> DataLoader:
    scope = info.context.scope

    async def load(ids):
        found = await customer_repo.first_purchase_dates(scope, ids)
        return [found.get(i) for i in ids]

    return _cached_loader(info, "first_purchase", load)


@strawberry.type(description="A way to reach the customer. `value` is masked (138****5678) without `customers:pii`.")
class ContactPoint:
    channel: Channel
    value: str
    masked: bool
    label: str | None
    verified: bool
    consent: bool = strawberry.field(description="The customer agreed to be contacted on this channel.")
    do_not_contact: bool
    is_primary: bool


@strawberry.type
class ExternalRef:
    source: str
    external_id: str


@strawberry.type(description="A product the customer owns.")
class OwnedProduct(Node):
    id: strawberry.ID
    product_model: str
    serial: str | None = strawberry.field(description="Serial number or VIN.")
    purchase_date: date | None
    purchase_reason: str | None
    usage_notes: str | None
    warranty_end: date | None
    purchase_dealer_pk: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="Whole years since purchase.")
    def years_owned(self) -> int | None:
        if self.purchase_date is None:
            return None
        today = clock.today()
        return today.year - self.purchase_date.year - ((today.month, today.day) < (self.purchase_date.month, self.purchase_date.day))

    @strawberry.field
    async def purchase_dealer(self, info: strawberry.Info) -> Dealer | None:
        if self.purchase_dealer_pk is None:
            return None
        row = await info.context.loaders.dealer.load(self.purchase_dealer_pk)
        return Dealer.from_row(row) if row else None

    @classmethod
    def from_row(cls, p: models.OwnedProduct) -> "OwnedProduct":
        return cls(id=gid("OwnedProduct", p.id), product_model=p.product_model, serial=p.serial, purchase_date=p.purchase_date,
                   purchase_reason=p.purchase_reason, usage_notes=p.usage_notes, warranty_end=p.warranty_end,
                   purchase_dealer_pk=p.purchase_dealer_id)


@strawberry.type(description="What was promised to the customer; a broken promise is a complaint cause.")
class Promise(Node):
    id: strawberry.ID
    description: str
    promised_by: str
    due_date: date | None
    status: PromiseStatus
    resolved_at: datetime | None
    resolution_note: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, p: models.Promise) -> "Promise":
        return cls(id=gid("Promise", p.id), description=p.description, promised_by=p.promised_by, due_date=p.due_date,
                   status=PromiseStatus(p.status), resolved_at=p.resolved_at, resolution_note=p.resolution_note,
                   created_at=p.created_at)


@strawberry.type(description="A call, visit, message or e-mail with the customer.")
class Interaction:
    kind: InteractionKind
    outcome: InteractionOutcome
    notes: str | None
    occurred_at: datetime


@strawberry.type
class WinbackAction:
    action: WinbackActionKind
    notes: str | None
    outcome: WinbackOutcome
    occurred_at: datetime


@strawberry.type
class TierChange:
    from_tier: Tier | None
    to_tier: Tier
    score: float
    at: datetime


@strawberry.type(description="One entry of the customer's timeline.")
class TimelineEntry:
    kind: TimelineKind
    kind_name: str = strawberry.field(description="The kind as stored (the lower-case name of `kind`, or the unknown kind's name for OTHER).")
    occurred_at: datetime
    ref_id: strawberry.ID | None
    summary: strawberry.scalars.JSON = strawberry.field(description="What happened (who did it is `actor`; what it refers to is `refId`).")
    by: strawberry.Private[str | None]

    @strawberry.field(description="Who made the entry: a staff member's display name, a partner app's name (\"partner app\" "
                                  "for callers who may not administer apps), \"import\" or \"system\"; null when unknown or "
                                  "when the caller may not see that staff member.")
    async def actor(self, info: strawberry.Info) -> str | None:
        kind, _, ident = (self.by or "").partition(":")
        if kind == "user":
            try:
                pk = uuid.UUID(ident)
            except ValueError:
                return None
            user = await info.context.loaders.user.load(pk)
            return user.display_name if user else None
        if kind == "app":
            if not info.context.scope.can(Perm.ADMIN):  # the brand-wide admin rule (Scope.can)
                return "partner app"
            app = await info.context.loaders.app_by_client_id.load(ident)
            return app.name if app else "partner app"
        return self.by if self.by in ("import", "system") else None

    @classmethod
    def from_row(cls, e: models.CustomerEvent) -> "TimelineEntry":
        summary = dict(e.summary or {})
        by = summary.pop("by", None)
        summary.pop("merged", None)  # the raw id of the merged record: refId carries it as a global id
        known = e.kind in links.TIMELINE_KINDS
        nodes = links.ref_nodes()
        return cls(kind=TimelineKind(e.kind if known else links.OTHER_KIND), kind_name=e.kind, occurred_at=e.occurred_at,
                   ref_id=gid(nodes[e.ref_type], e.ref_id) if e.ref_id and e.ref_type in nodes else None,
                   summary=summary, by=by)


@strawberry.type(description="The brand's memory of one customer.")
class Customer(Node):
    id: strawberry.ID
    name: str
    gender: Gender | None
    birth_year: int | None
    preferred_language: str | None
    preferred_contact_hours: str | None
    household_notes: str | None
    hobby_notes: str | None
    tags: list[str]
    service_spend: float
    referrals: int
    tier: Tier | None
    tier_score: float | None
    churn_status: ChurnStatus
    lost_type: LostType | None
    last_survey_score: float | None
    last_survey_at: datetime | None
    open_ticket_count: int
    erased: bool
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[uuid.UUID]
    dealer_pk: strawberry.Private[uuid.UUID | None]
    merged_into_pk: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="Whole years since the first purchase.")
    async def tenure_years(self, info: strawberry.Info) -> int | None:
        first = await _first_purchases(info).load(self.pk)
        if first is None:
            return None
        today = clock.today()
        return today.year - first.year - ((today.month, today.day) < (first.month, first.day))

    @strawberry.field(description="Dealer of record (the servicing dealer).")
    def dealer(self, info: strawberry.Info) -> Dealer | None:
        if self.dealer_pk is None:
            return None
        return load_as(info.context.loaders.dealer, self.dealer_pk, Dealer.from_row)

    @strawberry.field(description="Set when this record was merged into another: follow it.")
    def merged_into_id(self) -> strawberry.ID | None:
        return gid("Customer", self.merged_into_pk) if self.merged_into_pk else None

    @strawberry.field(description="Masked unless the caller holds customers:pii; unmasked reads by partner apps are audited. "
                                  "At most 20 per customer (10 per channel).")
    async def contact_points(self, info: strawberry.Info) -> list[ContactPoint]:
        rows = await info.context.loaders.contacts.load(self.pk) or []
        pii = Perm.CUSTOMERS_PII in info.context.actor.perms
        actor = info.context.actor
        if pii and rows and (actor.kind == "app" or (actor.client_id or "").startswith("hfc_")):
            info.context.pii_reads.add(self.pk)
        return [ContactPoint(channel=Channel(r.channel), value=r.value if pii else mask(r.channel, r.value), masked=not pii,
                             label=r.label, verified=r.verified, consent=r.consent, do_not_contact=r.do_not_contact,
                             is_primary=r.is_primary) for r in rows]

    @strawberry.field(description="External references, by source and id: the first `first` (default 20, at most 100).")
    async def external_refs(self, info: strawberry.Info, first: int | None = LIST_DEFAULT) -> list[ExternalRef]:
        rows = await _capped(info, "external_refs").load((self.pk, _first(first)))
        return [ExternalRef(source=r.source, external_id=r.external_id) for r in rows]

    @strawberry.field(description="Products owned, oldest purchase first: the first `first` (default 20, at most 100).")
    async def products(self, info: strawberry.Info, first: int | None = LIST_DEFAULT) -> list[OwnedProduct]:
        return [OwnedProduct.from_row(p) for p in await _capped(info, "products").load((self.pk, _first(first)))]

    @strawberry.field(description="Promises, newest first, optionally of one status: the first `first` (default 20, at most 100).")
    async def promises(self, info: strawberry.Info, status: PromiseStatus | None = None,
                       first: int | None = LIST_DEFAULT) -> list[Promise]:
        rows = await _capped(info, "promises").load((self.pk, _first(first), status.value if status else None))
        return [Promise.from_row(p) for p in rows]

    @strawberry.field(description="The customer's complaint tickets, newest first (at most 20; `tickets(filter: {customerId})` "
                                  "pages through all). Empty for callers without tickets:read.")
    async def tickets(self, info: strawberry.Info) -> list[Annotated["Ticket", strawberry.lazy("schema.complaint.types")]]:
        # the complaint module's type and loader (schema/complaint): the graph's edge, not a code dependency
        if not info.context.scope.can(Perm.TICKETS_READ):
            return []
        from schema.complaint.types import Ticket

        return [Ticket.from_row(t) for t in await info.context.loaders.customer_tickets.load(self.pk)]

    @strawberry.field(description="Newest first: the first `first` (default 20, at most 100); older ones are on `customerTimeline`.")
    async def interactions(self, info: strawberry.Info, first: int | None = LIST_DEFAULT) -> list[Interaction]:
        return [Interaction(kind=InteractionKind(i.kind), outcome=InteractionOutcome(i.outcome), notes=i.notes, occurred_at=i.occurred_at)
                for i in await _capped(info, "interactions").load((self.pk, _first(first)))]

    @strawberry.field(description="Win-back actions, newest first: the first `first` (default 20, at most 100).")
    async def winback_actions(self, info: strawberry.Info, first: int | None = LIST_DEFAULT) -> list[WinbackAction]:
        return [WinbackAction(action=WinbackActionKind(w.action), notes=w.notes, outcome=WinbackOutcome(w.outcome), occurred_at=w.occurred_at)
                for w in await _capped(info, "winbacks").load((self.pk, _first(first)))]

    @strawberry.field(description="Tier changes, newest first: the first `first` (default 20, at most 100).")
    async def tier_history(self, info: strawberry.Info, first: int | None = LIST_DEFAULT) -> list[TierChange]:
        return [TierChange(from_tier=Tier(t.from_tier) if t.from_tier else None, to_tier=Tier(t.to_tier), score=t.score, at=t.at)
                for t in await _capped(info, "tier_history").load((self.pk, _first(first)))]

    @classmethod
    def from_row(cls, c: models.Customer) -> "Customer":
        return cls(
            id=gid("Customer", c.id), name=c.name, gender=member(Gender, c.gender) if c.gender else None, birth_year=c.birth_year,
            preferred_language=c.preferred_language, preferred_contact_hours=c.preferred_contact_hours,
            household_notes=c.household_notes, hobby_notes=c.hobby_notes, tags=list(c.tags or []),
            service_spend=float(c.service_spend or 0), referrals=c.referrals, tier=member(Tier, c.tier) if c.tier else None,
            tier_score=c.tier_score, churn_status=member(ChurnStatus, c.churn_status),
            lost_type=member(LostType, c.lost_type) if c.lost_type else None,
            last_survey_score=c.last_survey_score, last_survey_at=c.last_survey_at, open_ticket_count=c.open_ticket_count,
            erased=c.erased_at is not None, created_at=c.created_at, updated_at=c.updated_at, pk=c.id, dealer_pk=c.dealer_id,
            merged_into_pk=c.merged_into_id,
        )


@strawberry.type(description="A bulk import of customers (CSV or JSON Lines), processed by a worker.")
class CustomerImport(ImportRecord, Node):
    pass


import_node(CustomerImport, "customers", Perm.CUSTOMERS_WRITE)


@node_type("Customer", perm=Perm.CUSTOMERS_READ)
async def _customer_node(info: strawberry.Info, pk: uuid.UUID):
    row = await info.context.loaders.customer.load(pk)
    return Customer.from_row(row) if row else None


async def _child_node(info: strawberry.Info, model, pk: uuid.UUID):
    from app.customer import repository

    row = await repository.child_row(info.context.scope, model, pk)
    if row is None or await info.context.loaders.customer.load(row.customer_id) is None:
        return None  # another dealer's customer: as if it did not exist
    return row


@node_type("Promise", perm=Perm.CUSTOMERS_READ)
async def _promise_node(info: strawberry.Info, pk: uuid.UUID):
    row = await _child_node(info, models.Promise, pk)
    return Promise.from_row(row) if row else None


@node_type("OwnedProduct", perm=Perm.CUSTOMERS_READ)
async def _product_node(info: strawberry.Info, pk: uuid.UUID):
    row = await _child_node(info, models.OwnedProduct, pk)
    return OwnedProduct.from_row(row) if row else None
