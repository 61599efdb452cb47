"""The ticket workflow: one table of transitions, the only source of truth. Every mutation and
job that changes a ticket's status goes through `step()`; the GraphQL docs, the tests (a
property-based walk over random actions) and `Ticket.availableActions` read the same table.

Who may act, weakest last:
- BRAND: a caller who sees every dealer of the brand (brand staff, unrestricted partner apps,
  the system: the re-survey module reports outcomes as the system);
- MANAGER: also a regional manager or a manager of the ticket's dealer;
- AGENT: anyone with tickets:write who can see the ticket (dealer agents included).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from app.complaint.enums import TicketAction as A
from app.complaint.enums import TicketStatus as S


class Who(IntEnum):
    AGENT = 1
    MANAGER = 2
    BRAND = 3


@dataclass(frozen=True)
class Transition:
    action: A
    sources: frozenset[S]
    target: S
    who: Who
    requires: tuple[str, ...] = ()  # what the action's input must record (service field names)
    description: str = ""


WORKING = frozenset({S.ASSIGNED, S.CONTACTED, S.SOLUTION_PROPOSED, S.PENDING_CUSTOMER})

TRANSITIONS: tuple[Transition, ...] = (
    Transition(A.ASSIGN, frozenset({S.NEW, S.ESCALATED}), S.ASSIGNED, Who.MANAGER, (),
               "Give the ticket to a dealer (and optionally an agent) to work on."),
    Transition(A.REASSIGN, WORKING, S.ASSIGNED, Who.MANAGER, ("reason",),
               "Move the ticket to another dealer or agent, with the reason."),
    Transition(A.RECORD_CONTACT, frozenset({S.ASSIGNED, S.CONTACTED, S.PENDING_CUSTOMER, S.SOLUTION_PROPOSED}), S.CONTACTED,
               Who.AGENT, ("contact_channel", "contact_notes"),
               "The customer was reached: apologise and acknowledge, listen (the contact record)."),
    Transition(A.PROPOSE_SOLUTION, frozenset({S.CONTACTED, S.PENDING_CUSTOMER}), S.SOLUTION_PROPOSED, Who.AGENT,
               ("solution",), "Propose a fair solution to the customer."),
    Transition(A.WAIT_FOR_CUSTOMER, frozenset({S.CONTACTED, S.SOLUTION_PROPOSED}), S.PENDING_CUSTOMER, Who.AGENT,
               ("reason",), "Waiting for the customer (the recovery clock may pause)."),
    Transition(A.RESOLVE, frozenset({S.CONTACTED, S.SOLUTION_PROPOSED}), S.RESOLVED, Who.AGENT, ("solution",),
               "The solution was delivered (with any compensation and promises)."),
    Transition(A.REQUEST_RESURVEY, frozenset({S.RESOLVED}), S.AWAITING_RESURVEY, Who.BRAND, (),
               "The brand re-surveys the customer."),
    Transition(A.CONFIRM_RECOVERED, frozenset({S.AWAITING_RESURVEY}), S.RECOVERED, Who.BRAND, (),
               "The re-survey says the customer is satisfied again."),
    Transition(A.REPORT_STILL_DISSATISFIED, frozenset({S.AWAITING_RESURVEY}), S.STILL_DISSATISFIED, Who.BRAND, (),
               "The re-survey says the customer is still dissatisfied."),
    Transition(A.REOPEN, frozenset({S.STILL_DISSATISFIED}), S.ASSIGNED, Who.BRAND, (),
               "A second round of care: the same ticket, round + 1 (escalated to the brand past its round limit)."),
    Transition(A.ESCALATE, WORKING | {S.NEW}, S.ESCALATED, Who.AGENT, ("reason",),
               "Hand the ticket to the brand."),
    Transition(A.CANCEL, frozenset({S.NEW, S.ASSIGNED, S.CONTACTED, S.PENDING_CUSTOMER, S.ESCALATED}), S.CANCELLED,
               Who.BRAND, ("reason",), "Not a complaint after all."),
    Transition(A.MARK_DUPLICATE, frozenset({S.NEW, S.ASSIGNED, S.ESCALATED}), S.DUPLICATE, Who.MANAGER,
               ("duplicate_of",), "Another ticket covers it."),
    Transition(A.CLOSE, frozenset({S.RESOLVED, S.RECOVERED, S.STILL_DISSATISFIED, S.CANCELLED, S.DUPLICATE}), S.CLOSED,
               Who.BRAND, (), "Nothing more will happen."),
)

BY_ACTION: dict[A, Transition] = {t.action: t for t in TRANSITIONS}
assert len(BY_ACTION) == len(TRANSITIONS), "one row per action"


def allowed(status: S) -> list[Transition]:
    return [t for t in TRANSITIONS if status in t.sources]


def reachable() -> set[S]:
    """Every status a ticket can be in: NEW and whatever the table leads to."""
    seen, todo = {S.NEW}, [S.NEW]
    while todo:
        s = todo.pop()
        for t in allowed(s):
            if t.target not in seen:
                seen.add(t.target)
                todo.append(t.target)
    return seen
