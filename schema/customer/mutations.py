from __future__ import annotations

from datetime import date, datetime
from typing import Awaitable, Callable

import strawberry

from app.core.permissions import Perm
from app.customer import errors as customer_errors
from app.customer import service
from schema.customer.queries import TierPolicy
from schema.customer.types import (
    Channel,
    ChurnStatus,
    Customer,
    Gender,
    InteractionKind,
    InteractionOutcome,
    LostType,
    OwnedProduct,
    Promise,
    WinbackActionKind,
    WinbackOutcome,
)
from schema.errors import domain_errors, run_mutation
from schema.permissions import describe, needs, requires
from schema.relay import decode

WRITE = needs(Perm.CUSTOMERS_WRITE)
ADMIN = needs(Perm.ADMIN)

CustomerError = domain_errors("Customer", customer_errors, "customer")


@strawberry.input(description="Flags left out keep their stored value (on create: unverified, consent given, contactable).")
class ContactPointInput:
    channel: Channel
    value: str
    label: str | None = None
    verified: bool | None = None
    consent: bool | None = None
    do_not_contact: bool | None = None


@strawberry.input
class ExternalRefInput:
    source: str
    external_id: str


@strawberry.input
class CustomerCreateInput:
    name: str
    dealer_id: strawberry.ID | None = strawberry.field(default=None, description="Dealer of record; dealer staff default to theirs.")
    gender: Gender | None = None
    birth_year: int | None = None
    preferred_language: str | None = None
    preferred_contact_hours: str | None = None
    household_notes: str | None = None
    hobby_notes: str | None = None
    tags: list[str] | None = None
    service_spend: float | None = None
    referrals: int | None = None
    contact_points: list[ContactPointInput] | None = None
    external_refs: list[ExternalRefInput] | None = None


@strawberry.input
class CustomerUpdateInput:
    id: strawberry.ID
    name: str | None = None
    dealer_id: strawberry.ID | None = None
    gender: Gender | None = None
    birth_year: int | None = None
    preferred_language: str | None = None
    preferred_contact_hours: str | None = None
    household_notes: str | None = None
    hobby_notes: str | None = None
    tags: list[str] | None = None
    service_spend: float | None = None
    referrals: int | None = None
    contact_points: list[ContactPointInput] | None = strawberry.field(default=None, description="Replaces the whole set.")
    external_refs: list[ExternalRefInput] | None = strawberry.field(default=None, description="Replaces the whole set.")


@strawberry.type
class CustomerPayload:
    customer: Customer | None
    errors: list[CustomerError]


@strawberry.type
class PromisePayload:
    promise: Promise | None
    errors: list[CustomerError]


@strawberry.type
class ProductPayload:
    product: OwnedProduct | None
    errors: list[CustomerError]


@strawberry.type
class CustomerExportPayload:
    data: strawberry.scalars.JSON | None
    errors: list[CustomerError]


@strawberry.type
class TierPolicyPayload:
    policy: TierPolicy | None
    errors: list[CustomerError]


def _contacts(items):
    return None if items is None else [{"channel": c.channel.value, "value": c.value, "label": c.label, "verified": c.verified,
                                         "consent": c.consent, "do_not_contact": c.do_not_contact} for c in items]


def _refs(items):
    return None if items is None else [{"source": r.source, "external_id": r.external_id} for r in items]


def _run(info, op: Callable[[], Awaitable], payload, wrap, read: Perm | None = Perm.CUSTOMERS_READ):
    """Every customer mutation's payload: the object only for callers who may read it (`read`,
    customers:read by default): a write-only token changes data but reads nothing back through
    the payload; errors are reported either way."""
    def ok(result):
        if read is not None and read not in info.context.actor.perms:
            return payload(None, [])
        return payload(wrap(result), [])

    return run_mutation(info, op, ok, lambda errors: payload(None, errors), CustomerError)




def _customer(info, op):
    return _run(info, op, lambda c, e: CustomerPayload(customer=c, errors=e), Customer.from_row)


@strawberry.type
class CustomerMutation:
    @strawberry.mutation(description=describe(Perm.CUSTOMERS_WRITE, "Create a customer archive."), permission_classes=WRITE)
    async def customer_create(self, info: strawberry.Info, input: CustomerCreateInput) -> CustomerPayload:
        async def op():
            return await service.create_customer(
                info.context.scope, name=input.name, dealer_id=decode(input.dealer_id, "Dealer")[1] if input.dealer_id else None,
                contact_points=_contacts(input.contact_points), external_refs=_refs(input.external_refs),
                gender=input.gender.value if input.gender else None, birth_year=input.birth_year,
                preferred_language=input.preferred_language, preferred_contact_hours=input.preferred_contact_hours,
                household_notes=input.household_notes, hobby_notes=input.hobby_notes, tags=input.tags or [],
                service_spend=service.parse_decimal(input.service_spend) if input.service_spend is not None else 0,
                referrals=input.referrals or 0)

        return await _customer(info, op)

    @strawberry.mutation(description=describe(Perm.CUSTOMERS_WRITE, "Update a customer; omitted fields stay."), permission_classes=WRITE)
    async def customer_update(self, info: strawberry.Info, input: CustomerUpdateInput) -> CustomerPayload:
        async def op():
            return await service.update_customer(
                info.context.scope, decode(input.id, "Customer")[1],
                dealer_id=decode(input.dealer_id, "Dealer")[1] if input.dealer_id else None,
                contact_points=_contacts(input.contact_points), external_refs=_refs(input.external_refs), name=input.name,
                gender=input.gender.value if input.gender else None, birth_year=input.birth_year,
                preferred_language=input.preferred_language, preferred_contact_hours=input.preferred_contact_hours,
                household_notes=input.household_notes, hobby_notes=input.hobby_notes, tags=input.tags,
                service_spend=service.parse_decimal(input.service_spend) if input.service_spend is not None else None,
                referrals=input.referrals)

        return await _customer(info, op)

    @strawberry.mutation(description=describe(Perm.CUSTOMERS_WRITE, "Merge a duplicate into a survivor, keeping every timeline entry "
                                              "(the duplicate's tier history stays with it). Also requires scope `customers:pii`: "
                                              "the merge compares contact details.")
                         , permission_classes=[requires(Perm.CUSTOMERS_WRITE), requires(Perm.CUSTOMERS_PII)])
    async def customer_merge(self, info: strawberry.Info, survivor_id: strawberry.ID, duplicate_id: strawberry.ID) -> CustomerPayload:
        async def op():
            return await service.merge_customers(info.context.scope, decode(survivor_id, "Customer")[1], decode(duplicate_id, "Customer")[1])

        return await _customer(info, op)

    @strawberry.mutation(description=describe(Perm.CUSTOMERS_WRITE, "Record a call, visit, message or e-mail with its outcome."), permission_classes=WRITE)
    async def customer_interaction_add(self, info: strawberry.Info, customer_id: strawberry.ID, kind: InteractionKind,
                                       outcome: InteractionOutcome, notes: str | None = None,
                                       occurred_at: datetime | None = None) -> CustomerPayload:
        async def op():
            pk = decode(customer_id, "Customer")[1]
            await service.add_interaction(info.context.scope, pk, kind=kind.value, outcome=outcome.value, notes=notes, occurred_at=occurred_at)
            return await service.customer_after_write(info.context.scope, pk)

        return await _customer(info, op)

    @strawberry.mutation(description=describe(Perm.CUSTOMERS_WRITE, "Record a promise made to the customer."), permission_classes=WRITE)
    async def customer_promise_add(self, info: strawberry.Info, customer_id: strawberry.ID, description: str,
                                   due_date: date | None = None, promised_by: str | None = None) -> PromisePayload:
        async def op():
            return await service.add_promise(info.context.scope, decode(customer_id, "Customer")[1], description=description,
                                             due_date=due_date, promised_by=promised_by)

        return await _run(info, op, lambda p, e: PromisePayload(promise=p, errors=e), Promise.from_row)

    @strawberry.mutation(description=describe(Perm.CUSTOMERS_WRITE, "Mark a promise kept or broken."), permission_classes=WRITE)
    async def customer_promise_resolve(self, info: strawberry.Info, id: strawberry.ID, kept: bool, note: str | None = None) -> PromisePayload:
        async def op():
            return await service.resolve_promise(info.context.scope, decode(id, "Promise")[1], status="kept" if kept else "broken", note=note)

        return await _run(info, op, lambda p, e: PromisePayload(promise=p, errors=e), Promise.from_row)

    @strawberry.mutation(description=describe(Perm.CUSTOMERS_WRITE, "Add a product the customer owns."), permission_classes=WRITE)
    async def customer_product_add(self, info: strawberry.Info, customer_id: strawberry.ID, product_model: str,
                                   serial: str | None = None, purchase_date: date | None = None,
                                   purchase_dealer_id: strawberry.ID | None = None, purchase_reason: str | None = None,
                                   usage_notes: str | None = None, warranty_end: date | None = None) -> ProductPayload:
        async def op():
            return await service.add_product(
                info.context.scope, decode(customer_id, "Customer")[1], product_model=product_model, serial=serial,
                purchase_date=purchase_date, purchase_dealer_id=decode(purchase_dealer_id, "Dealer")[1] if purchase_dealer_id else None,
                purchase_reason=purchase_reason, usage_notes=usage_notes, warranty_end=warranty_end)

        return await _run(info, op, lambda p, e: ProductPayload(product=p, errors=e), OwnedProduct.from_row)

    @strawberry.mutation(description=describe(Perm.CUSTOMERS_WRITE, "Set active / at risk / lost (lost needs one of the six types)."), permission_classes=WRITE)
    async def customer_churn_set(self, info: strawberry.Info, customer_id: strawberry.ID, status: ChurnStatus,
                                 lost_type: LostType | None = None) -> CustomerPayload:
        async def op():
            return await service.set_churn(info.context.scope, decode(customer_id, "Customer")[1], status=status.value,
                                           lost_type=lost_type.value if lost_type else None)

        return await _customer(info, op)

    @strawberry.mutation(description=describe(Perm.CUSTOMERS_WRITE, "Record a win-back action for an at-risk or lost customer."), permission_classes=WRITE)
    async def customer_winback_add(self, info: strawberry.Info, customer_id: strawberry.ID, action: WinbackActionKind,
                                   outcome: WinbackOutcome = WinbackOutcome.PENDING, notes: str | None = None) -> CustomerPayload:
        async def op():
            pk = decode(customer_id, "Customer")[1]
            await service.add_winback(info.context.scope, pk, action=action.value, notes=notes, outcome=outcome.value)
            return await service.customer_after_write(info.context.scope, pk)

        return await _customer(info, op)

    @strawberry.mutation(description=describe(Perm.SURVEYS_WRITE, "Record a survey score (0-10) for the customer: latest score and timeline."),
                         permission_classes=needs(Perm.SURVEYS_WRITE))
    async def customer_survey_score_record(self, info: strawberry.Info, customer_id: strawberry.ID, score: float, survey: str,
                                           answered_at: datetime | None = None) -> CustomerPayload:
        async def op():
            scope = info.context.scope
            if len(survey) > 80 or not survey.strip():
                from app.core.errors import ValidationFailed
                from app.customer.errors import TooLong

                raise (TooLong if survey.strip() else ValidationFailed)("Name the survey (1-80 characters).", field="survey")
            return await service.record_survey_score(scope, decode(customer_id, "Customer")[1], score, survey=survey.strip(), at=answered_at)

        return await _customer(info, op)  # a survey-intake app writes scores; it does not read profiles

    @strawberry.mutation(description=describe(Perm.ADMIN, "Erase a person: anonymise, keep anonymous history for aggregates."), permission_classes=ADMIN)
    async def customer_erase(self, info: strawberry.Info, id: strawberry.ID) -> CustomerPayload:
        async def op():
            return await service.erase_customer(info.context.scope, decode(id, "Customer")[1], ip=info.context.client_ip)

        return await _customer(info, op)

    @strawberry.mutation(description=describe(Perm.ADMIN, "Everything stored about one customer, as JSON (access request)."), permission_classes=ADMIN)
    async def customer_export(self, info: strawberry.Info, id: strawberry.ID) -> CustomerExportPayload:
        async def op():
            return await service.export_customer(info.context.scope, decode(id, "Customer")[1], ip=info.context.client_ip)

        return await _run(info, op, lambda d, e: CustomerExportPayload(data=d, errors=e), lambda d: d)

    @strawberry.mutation(description=describe(Perm.ADMIN, "Change the value formula; every customer's tier is recomputed by a job."), permission_classes=ADMIN)
    async def tier_policy_update(self, info: strawberry.Info, w_purchases: float | None = None, w_spend: float | None = None,
                                 w_tenure: float | None = None, w_referrals: float | None = None, a_min: float | None = None,
                                 b_min: float | None = None) -> TierPolicyPayload:
        async def op():
            return await service.update_tier_policy(info.context.scope, w_purchases=w_purchases, w_spend=w_spend, w_tenure=w_tenure,
                                                    w_referrals=w_referrals, a_min=a_min, b_min=b_min)

        return await _run(info, op, lambda p, e: TierPolicyPayload(policy=p, errors=e), lambda p: TierPolicy(**p))
