"""The complaint module's enumerations: the one list of each set of values (stored as their
values, exposed to GraphQL by schema/complaint as they are)."""
from __future__ import annotations

from enum import StrEnum

from app.survey.enums import Dimension  # noqa: F401 - the dimensions surveys measure are what tickets are about


class TicketStatus(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    CONTACTED = "contacted"
    SOLUTION_PROPOSED = "solution_proposed"
    PENDING_CUSTOMER = "pending_customer"
    RESOLVED = "resolved"
    AWAITING_RESURVEY = "awaiting_resurvey"
    RECOVERED = "recovered"
    STILL_DISSATISFIED = "still_dissatisfied"
    ESCALATED = "escalated"
    CANCELLED = "cancelled"
    DUPLICATE = "duplicate"
    CLOSED = "closed"


OPEN_STATUSES = frozenset(TicketStatus) - {TicketStatus.RECOVERED, TicketStatus.CANCELLED, TicketStatus.DUPLICATE,
                                            TicketStatus.CLOSED}


class TicketAction(StrEnum):
    """What may be done to a ticket: each is its own mutation; app/complaint/workflow.py says
    from which states, into which, by whom and with what recorded."""

    ASSIGN = "assign"
    REASSIGN = "reassign"
    RECORD_CONTACT = "record_contact"
    PROPOSE_SOLUTION = "propose_solution"
    WAIT_FOR_CUSTOMER = "wait_for_customer"
    RESOLVE = "resolve"
    REQUEST_RESURVEY = "request_resurvey"
    CONFIRM_RECOVERED = "confirm_recovered"
    REPORT_STILL_DISSATISFIED = "report_still_dissatisfied"
    REOPEN = "reopen"
    ESCALATE = "escalate"
    CANCEL = "cancel"
    MARK_DUPLICATE = "mark_duplicate"
    CLOSE = "close"


class TicketSource(StrEnum):
    SURVEY = "survey"
    HOTLINE = "hotline"
    WEB_FORM = "web_form"
    DEALER = "dealer"
    PARTNER_API = "partner_api"
    SOCIAL_MEDIA = "social_media"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class ContactChannel(StrEnum):
    PHONE = "phone"
    VISIT = "visit"
    MESSAGE = "message"
    EMAIL = "email"


class CompensationKind(StrEnum):
    NONE = "none"
    REFUND = "refund"
    VOUCHER = "voucher"
    GIFT = "gift"
    FREE_SERVICE = "free_service"
    REPLACEMENT = "replacement"
    OTHER = "other"
