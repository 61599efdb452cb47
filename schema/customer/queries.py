from __future__ import annotations

from enum import Enum

import strawberry

from app.core import imports
from app.core.pagination import PageArgs
from app.core.permissions import Perm
from app.customer import repository, service
from app.customer.repository import CustomerFilter as Filter
from app.settings import get_settings
from schema.context import prefetch
from schema.customer.types import ChurnStatus, Customer, CustomerImport, Tier, TimelineEntry, TimelineKind
from schema.permissions import describe, needs
from schema.relay import Connection, decode, node_fields


@strawberry.enum(description="Sort order of customers (keyset: the key, then id).")
class CustomerOrderField(Enum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    LAST_SURVEY_SCORE = "LAST_SURVEY_SCORE"


@strawberry.input
class CustomerFilter:
    tiers: list[Tier] | None = None
    dealer_ids: list[strawberry.ID] | None = None
    regions: list[str] | None = None
    tags: list[str] | None = strawberry.field(default=None, description="Customers carrying all of these tags.")
    churn_statuses: list[ChurnStatus] | None = None
    has_open_ticket: bool | None = None
    last_survey_score_below: float | None = None
    search: str | None = strawberry.field(default=None, description="Name, phone (any formatting), e-mail, IM id or external id.")


@strawberry.type
class TierPolicy:
    w_purchases: float
    w_spend: float = strawberry.field(description="Per 1000 of service spend.")
    w_tenure: float = strawberry.field(description="Per year since the first purchase.")
    w_referrals: float
    a_min: float
    b_min: float


READ = needs(Perm.CUSTOMERS_READ)


@strawberry.type
class CustomerQuery:
    @strawberry.field(description=describe(Perm.CUSTOMERS_READ, "One customer by id (dealer staff: their dealer's only)."), permission_classes=READ)
    async def customer(self, info: strawberry.Info, id: strawberry.ID) -> Customer | None:
        _, pk = decode(id, "Customer")
        row = await info.context.loaders.customer.load(pk)
        return Customer.from_row(row) if row else None

    @strawberry.field(description=describe(Perm.CUSTOMERS_READ, "Customers visible to the caller, filtered and keyset-paginated."), permission_classes=READ)
    async def customers(self, info: strawberry.Info, first: int | None = None, after: str | None = None, last: int | None = None,
                        before: str | None = None, filter: CustomerFilter | None = None,
                        order_by: CustomerOrderField = CustomerOrderField.NAME) -> Connection[Customer]:
        f = filter or CustomerFilter()
        flt = Filter(
            tiers=[t.value for t in f.tiers] if f.tiers else None,
            dealer_ids=[decode(d, "Dealer")[1] for d in f.dealer_ids] if f.dealer_ids is not None else None,
            regions=f.regions, tags=[t.strip().lower() for t in f.tags] if f.tags else None,
            churn_statuses=[c.value for c in f.churn_statuses] if f.churn_statuses else None,
            has_open_ticket=f.has_open_ticket, last_survey_score_below=f.last_survey_score_below,
            search=f.search.strip() if f.search and f.search.strip() else None,
        )
        if flt.search and len(flt.search) > 100:
            from app.core.errors import ValidationFailed

            raise ValidationFailed("Search terms are limited to 100 characters.", field="search")
        page = await repository.list_customers(info.context.scope, PageArgs(first, after, last, before), flt,
                                               order=order_by.value, max_size=get_settings().graphql_page_max)
        if "dealer" in node_fields(info):  # each row's dealer then completes without an await
            await prefetch({info.context.loaders.dealer: [c.dealer_id for c in page.items]})
        return Connection.of(page, Customer.from_row)

    @strawberry.field(description=describe(Perm.CUSTOMERS_READ, "A customer's timeline, newest first: interactions, promises, purchases, surveys, tickets, tier and churn changes."), permission_classes=READ)
    async def customer_timeline(self, info: strawberry.Info, customer_id: strawberry.ID, first: int | None = None,
                                after: str | None = None, kinds: list[TimelineKind] | None = None) -> Connection[TimelineEntry]:
        _, pk = decode(customer_id, "Customer")
        await service.get_customer(info.context.scope, pk)  # visibility (NOT_FOUND otherwise)
        page = await repository.timeline(info.context.scope, pk, PageArgs(first, after),
                                         [k.value for k in kinds] if kinds else None, max_size=get_settings().graphql_page_max)
        return Connection.of(page, TimelineEntry.from_row)

    @strawberry.field(description=describe(Perm.CUSTOMERS_WRITE, "Bulk imports, newest first (brand-wide callers)."), permission_classes=needs(Perm.CUSTOMERS_WRITE))
    async def customer_imports(self, info: strawberry.Info, first: int | None = None, after: str | None = None) -> Connection[CustomerImport]:
        page = await imports.list_imports(info.context.scope, "customers", PageArgs(first, after), max_size=get_settings().graphql_page_max)
        return Connection.of(page, CustomerImport.from_row)

    @strawberry.field(description=describe(Perm.CUSTOMERS_READ, "The brand's value-tier formula and thresholds."), permission_classes=READ)
    async def tier_policy(self, info: strawberry.Info) -> TierPolicy:
        return TierPolicy(**await service.get_tier_policy(info.context.scope))
