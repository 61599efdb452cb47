"""Business errors of complaint tickets (GraphQL: ComplaintErrorCode)."""
from __future__ import annotations

from app.core.errors import Conflict, PermissionDenied, ValidationFailed


class TransitionNotAllowed(ValidationFailed):
    """The action is not allowed from the ticket's current status (named in the message and in
    `extensions.status`)."""

    code = "TRANSITION_NOT_ALLOWED"
    message = "This action is not allowed in the ticket's current status."


class ActionNotPermitted(PermissionDenied):
    code = "ACTION_NOT_PERMITTED"
    message = "Your role may not take this action on a ticket."


class TicketChanged(Conflict):
    code = "TICKET_CHANGED"
    message = "The ticket changed while you were acting on it; reload it and try again."


class RecordRequired(ValidationFailed):
    code = "RECORD_REQUIRED"
    message = "This action must record more (see field)."


class TooLong(ValidationFailed):
    code = "TOO_LONG"
    message = "The value is too long."


class InvalidAmount(ValidationFailed):
    code = "INVALID_AMOUNT"
    message = "The amount is invalid."


class ApprovalRequired(ValidationFailed):
    code = "APPROVAL_REQUIRED"
    message = "Compensation above the brand's threshold needs a brand approver."


class UnknownCategory(ValidationFailed):
    code = "UNKNOWN_CATEGORY"
    message = "No such category."


class AgentNotAtDealer(ValidationFailed):
    code = "AGENT_NOT_AT_DEALER"
    message = "The agent does not work at the ticket's dealer."


class CategoryTaken(Conflict):
    code = "CATEGORY_TAKEN"
    message = "A category with this code exists."
