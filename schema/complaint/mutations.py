"""Mutations of complaint tickets: opening one, and one mutation per workflow action, each with
its own input (what app/complaint/workflow.py says the action must record)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry

from app.complaint import errors as complaint_errors
from app.complaint import service
from app.complaint.enums import TicketAction as A
from app.core.permissions import Perm
from schema.complaint.types import (
    AssignmentRule,
    CompensationKind,
    ContactChannel,
    Dimension,
    Priority,
    Severity,
    Ticket,
    TicketCategory,
    TicketPolicy,
    TicketSource,
)
from schema.errors import domain_errors, run_mutation
from schema.permissions import describe, needs
from schema.relay import decode

WRITE = needs(Perm.TICKETS_WRITE)
ComplaintError = domain_errors("Complaint", complaint_errors, "ticket")


@strawberry.type
class TicketPayload:
    ticket: Ticket | None
    errors: list[ComplaintError]


@strawberry.input
class TicketCreateInput:
    customer_id: strawberry.ID
    source: TicketSource
    title: str
    verbatim: str | None = strawberry.field(default=None, description="The complainant's own words, kept as given.")
    channel: str | None = None
    dealer_id: strawberry.ID | None = strawberry.field(default=None, description="Default: the customer's dealer.")
    category_code: str | None = None
    dimension: Dimension | None = None
    severity: Severity = Severity.MEDIUM
    priority: Priority = Priority.NORMAL
    tags: list[str] | None = None
    external_ref: str | None = None
    product_line: str | None = strawberry.field(default=None, description="What the complaint is about; assignment rules may route by it.")


@strawberry.input
class TicketAssignInput:
    id: strawberry.ID
    dealer_id: strawberry.ID | None = None
    agent_id: strawberry.ID | None = None
    reason: str | None = strawberry.field(default=None, description="Required to reassign.")
    expected_version: int | None = None


@strawberry.input
class TicketRecordContactInput:
    id: strawberry.ID
    channel: ContactChannel
    notes: str = strawberry.field(description="Apology and acknowledgement, what the customer said (listening notes).")
    expected_version: int | None = None


@strawberry.input
class TicketSolutionInput:
    id: strawberry.ID
    solution: str
    root_cause: str | None = None
    follow_up: str | None = None
    expected_version: int | None = None


@strawberry.input
class TicketPromiseInput:
    description: str
    due_date: date | None = None


@strawberry.input
class TicketResolveInput:
    id: strawberry.ID
    solution: str
    root_cause: str | None = None
    follow_up: str | None = None
    compensation_kind: CompensationKind | None = None
    compensation_value: Decimal | None = None
    compensation_currency: str | None = strawberry.field(default=None, description="ISO 4217; default CNY.")
    promises: list[TicketPromiseInput] | None = strawberry.field(default=None, description="What was promised (at most 10): "
                                                                 "they become the customer's promises, kept or broken there.")
    expected_version: int | None = None


@strawberry.input
class TicketReasonInput:
    id: strawberry.ID
    reason: str
    expected_version: int | None = None


@strawberry.input
class TicketStepInput:
    id: strawberry.ID
    expected_version: int | None = None


@strawberry.input
class TicketDuplicateInput:
    id: strawberry.ID
    duplicate_of: strawberry.ID
    expected_version: int | None = None


def _done(info, op):
    def ok(row):
        if not info.context.scope.can(Perm.TICKETS_READ):  # a write-only caller reads nothing back
            return TicketPayload(ticket=None, errors=[])
        return TicketPayload(ticket=Ticket.from_row(row), errors=[])

    return run_mutation(info, op, ok, lambda errors: TicketPayload(ticket=None, errors=errors), ComplaintError)


def _act(info, input, action: A, **record):
    async def op():
        _, pk = decode(input.id, "Ticket")
        return await service.act(info.context.scope, pk, action, expected_version=input.expected_version, **record)

    return _done(info, op)


def _doc(action: A, text: str) -> str:
    from app.complaint.workflow import BY_ACTION

    tr = BY_ACTION[action]
    sources = ", ".join(sorted(s.name for s in tr.sources))
    return describe(Perm.TICKETS_WRITE, f"{text} From {sources} to {tr.target.name}; by a {tr.who.name.lower()}-level caller.")


@strawberry.type
class TicketCategoryPayload:
    category: TicketCategory | None
    errors: list[ComplaintError]


@strawberry.input
class TicketCategoryCreateInput:
    code: str = strawberry.field(description="Dotted, lower case: e.g. service_failure.parking (unique in the brand).")
    name: str
    name_zh: str | None = None
    parent_code: str | None = None


@strawberry.type
class TicketPolicyPayload:
    policy: TicketPolicy | None
    errors: list[ComplaintError]


@strawberry.input
class AssignmentRuleInput:
    name: str
    dealer_id: strawberry.ID = strawberry.field(description="Where matching tickets go.")
    region: str | None = None
    product_line: str | None = None
    source: TicketSource | None = None
    position: int | None = strawberry.field(default=None, description="0 is tried first; default: last (kept when updating).")
    enabled: bool = True


@strawberry.type
class AssignmentRulePayload:
    rule: AssignmentRule | None
    errors: list[ComplaintError]


@strawberry.type
class AssignmentRuleDeletePayload:
    deleted_id: strawberry.ID | None
    errors: list[ComplaintError]


@strawberry.type
class ComplaintMutation:
    @strawberry.mutation(description=describe(Perm.ADMIN, "Create an assignment rule, or replace the one with this id."),
                         permission_classes=needs(Perm.ADMIN))
    async def assignment_rule_save(self, info: strawberry.Info, input: AssignmentRuleInput,
                                   id: strawberry.ID | None = None) -> AssignmentRulePayload:
        async def op():
            return await service.save_assignment_rule(
                info.context.scope, rule_id=decode(id, "AssignmentRule")[1] if id else None, name=input.name,
                dealer_id=decode(input.dealer_id, "Dealer")[1], region=input.region, product_line=input.product_line,
                source=input.source.value if input.source else None, position=input.position, enabled=input.enabled)

        return await run_mutation(info, op, lambda r: AssignmentRulePayload(rule=AssignmentRule.from_row(r), errors=[]),
                                  lambda errors: AssignmentRulePayload(rule=None, errors=errors), ComplaintError)

    @strawberry.mutation(description=describe(Perm.ADMIN, "Delete an assignment rule."), permission_classes=needs(Perm.ADMIN))
    async def assignment_rule_delete(self, info: strawberry.Info, id: strawberry.ID) -> AssignmentRuleDeletePayload:
        from schema.relay import gid

        return await run_mutation(
            info, lambda: service.delete_assignment_rule(info.context.scope, decode(id, "AssignmentRule")[1]),
            lambda pk: AssignmentRuleDeletePayload(deleted_id=gid("AssignmentRule", pk), errors=[]),
            lambda errors: AssignmentRuleDeletePayload(deleted_id=None, errors=errors), ComplaintError)

    @strawberry.mutation(description=describe(Perm.ADMIN, "Set the brand's round limit and compensation approval threshold."),
                         permission_classes=needs(Perm.ADMIN))
    async def ticket_policy_update(self, info: strawberry.Info, max_rounds: int | None = None,
                                   approval_threshold: Decimal | None = None) -> TicketPolicyPayload:
        return await run_mutation(
            info, lambda: service.update_policy(info.context.scope, max_rounds=max_rounds, approval_threshold=approval_threshold),
            lambda p: TicketPolicyPayload(policy=TicketPolicy(**p), errors=[]),
            lambda errors: TicketPolicyPayload(policy=None, errors=errors), ComplaintError)

    @strawberry.mutation(description=describe(Perm.ADMIN, "Add one of the brand's own complaint causes to its tree."),
                         permission_classes=needs(Perm.ADMIN))
    async def ticket_category_create(self, info: strawberry.Info, input: TicketCategoryCreateInput) -> TicketCategoryPayload:
        async def op():
            return await service.create_category(info.context.scope, code=input.code, name=input.name, name_zh=input.name_zh,
                                                 parent_code=input.parent_code)

        return await run_mutation(info, op, lambda c: TicketCategoryPayload(category=TicketCategory.from_row(c), errors=[]),
                                  lambda errors: TicketCategoryPayload(category=None, errors=errors), ComplaintError)

    @strawberry.mutation(description=describe(Perm.TICKETS_WRITE, "Open a ticket for a complaint from any source; it goes to the "
                                              "customer's dealer unless another is named."), permission_classes=WRITE)
    async def ticket_create(self, info: strawberry.Info, input: TicketCreateInput) -> TicketPayload:
        async def op():
            return await service.create_ticket(
                info.context.scope, customer_id=decode(input.customer_id, "Customer")[1], source=input.source.value, title=input.title,
                verbatim=input.verbatim, channel=input.channel, dealer_id=decode(input.dealer_id, "Dealer")[1] if input.dealer_id else None,
                category_code=input.category_code, dimension=input.dimension.value if input.dimension else None,
                severity=input.severity.value, priority=input.priority.value, tags=input.tags, external_ref=input.external_ref,
                product_line=input.product_line)

        return await _done(info, op)

    @strawberry.mutation(description=_doc(A.ASSIGN, "Assign a ticket to a dealer and optionally an agent."), permission_classes=WRITE)
    async def ticket_assign(self, info: strawberry.Info, input: TicketAssignInput) -> TicketPayload:
        return await _assign(info, input, A.ASSIGN)

    @strawberry.mutation(description=_doc(A.REASSIGN, "Move a ticket to another dealer or agent, with the reason."), permission_classes=WRITE)
    async def ticket_reassign(self, info: strawberry.Info, input: TicketAssignInput) -> TicketPayload:
        return await _assign(info, input, A.REASSIGN)

    @strawberry.mutation(description=_doc(A.RECORD_CONTACT, "Record that the customer was reached."), permission_classes=WRITE)
    async def ticket_record_contact(self, info: strawberry.Info, input: TicketRecordContactInput) -> TicketPayload:
        return await _act(info, input, A.RECORD_CONTACT, contact_channel=input.channel.value, contact_notes=input.notes)

    @strawberry.mutation(description=_doc(A.PROPOSE_SOLUTION, "Propose a solution to the customer."), permission_classes=WRITE)
    async def ticket_propose_solution(self, info: strawberry.Info, input: TicketSolutionInput) -> TicketPayload:
        return await _act(info, input, A.PROPOSE_SOLUTION, solution=input.solution, root_cause=input.root_cause, follow_up=input.follow_up)

    @strawberry.mutation(description=_doc(A.WAIT_FOR_CUSTOMER, "Wait for the customer."), permission_classes=WRITE)
    async def ticket_wait_for_customer(self, info: strawberry.Info, input: TicketReasonInput) -> TicketPayload:
        return await _act(info, input, A.WAIT_FOR_CUSTOMER, reason=input.reason)

    @strawberry.mutation(description=_doc(A.RESOLVE, "Resolve: the solution delivered, with any compensation (above the brand's "
                                          "threshold only brand staff may grant it)."), permission_classes=WRITE)
    async def ticket_resolve(self, info: strawberry.Info, input: TicketResolveInput) -> TicketPayload:
        return await _act(info, input, A.RESOLVE, solution=input.solution, root_cause=input.root_cause, follow_up=input.follow_up,
                          compensation_kind=input.compensation_kind.value if input.compensation_kind else None,
                          compensation_value=input.compensation_value, compensation_currency=input.compensation_currency,
                          promises=[{"description": p.description, "due_date": p.due_date} for p in input.promises or []])

    @strawberry.mutation(description=_doc(A.REQUEST_RESURVEY, "Hand the ticket to the re-survey."), permission_classes=WRITE)
    async def ticket_request_resurvey(self, info: strawberry.Info, input: TicketStepInput) -> TicketPayload:
        return await _act(info, input, A.REQUEST_RESURVEY)

    @strawberry.mutation(description=_doc(A.CONFIRM_RECOVERED, "The re-survey found the customer satisfied."), permission_classes=WRITE)
    async def ticket_confirm_recovered(self, info: strawberry.Info, input: TicketStepInput) -> TicketPayload:
        return await _act(info, input, A.CONFIRM_RECOVERED)

    @strawberry.mutation(description=_doc(A.REPORT_STILL_DISSATISFIED, "The re-survey found the customer still dissatisfied."),
                         permission_classes=WRITE)
    async def ticket_report_still_dissatisfied(self, info: strawberry.Info, input: TicketStepInput) -> TicketPayload:
        return await _act(info, input, A.REPORT_STILL_DISSATISFIED)

    @strawberry.mutation(description=_doc(A.REOPEN, "A second round of care for the same ticket (round + 1, flagged to the brand; "
                                          "past the round limit the brand takes it over)."), permission_classes=WRITE)
    async def ticket_reopen(self, info: strawberry.Info, input: TicketStepInput) -> TicketPayload:
        return await _act(info, input, A.REOPEN)

    @strawberry.mutation(description=_doc(A.ESCALATE, "Hand the ticket to the brand, with the reason."), permission_classes=WRITE)
    async def ticket_escalate(self, info: strawberry.Info, input: TicketReasonInput) -> TicketPayload:
        return await _act(info, input, A.ESCALATE, reason=input.reason)

    @strawberry.mutation(description=_doc(A.CANCEL, "Cancel: not a complaint after all, with the reason."), permission_classes=WRITE)
    async def ticket_cancel(self, info: strawberry.Info, input: TicketReasonInput) -> TicketPayload:
        return await _act(info, input, A.CANCEL, reason=input.reason)

    @strawberry.mutation(description=_doc(A.MARK_DUPLICATE, "Another ticket covers this one."), permission_classes=WRITE)
    async def ticket_mark_duplicate(self, info: strawberry.Info, input: TicketDuplicateInput) -> TicketPayload:
        return await _act(info, input, A.MARK_DUPLICATE, duplicate_of=decode(input.duplicate_of, "Ticket")[1])

    @strawberry.mutation(description=_doc(A.CLOSE, "Close the ticket."), permission_classes=WRITE)
    async def ticket_close(self, info: strawberry.Info, input: TicketStepInput) -> TicketPayload:
        return await _act(info, input, A.CLOSE)


async def _assign(info, input: TicketAssignInput, action: A):
    async def op():
        _, pk = decode(input.id, "Ticket")
        return await service.act(info.context.scope, pk, action, expected_version=input.expected_version, reason=input.reason,
                                 dealer_id=decode(input.dealer_id, "Dealer")[1] if input.dealer_id else None,
                                 agent_id=decode(input.agent_id, "User")[1] if input.agent_id else None)

    return await _done(info, op)
