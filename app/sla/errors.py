"""Business errors of the SLA engine (GraphQL: SlaErrorCode)."""
from __future__ import annotations

from app.core.errors import Conflict, ValidationFailed


class InvalidCalendar(ValidationFailed):
    """A calendar spec (or the holidays or iCalendar source it is built from) is invalid; the
    field names the culprit inside the spec (e.g. `spec.weekly.mon[0]`)."""

    code = "INVALID_CALENDAR"
    message = "The calendar is invalid."


class CalendarNeverOpen(ValidationFailed):
    code = "CALENDAR_NEVER_OPEN"
    message = "The calendar has no working time after this instant."


class CalendarNotEditable(ValidationFailed):
    code = "CALENDAR_NOT_EDITABLE"
    message = "This calendar cannot be changed or deleted (the 24x7 calendar; the brand's calendar cannot be deleted)."


class CalendarInUse(Conflict):
    code = "CALENDAR_IN_USE"
    message = "A policy notifies by this calendar: choose another one there first."


class DealerHasCalendar(Conflict):
    code = "DEALER_HAS_CALENDAR"
    message = "This dealer already has its own calendar: change that one."


class InvalidPolicy(ValidationFailed):
    code = "INVALID_POLICY"
    message = "The policy is invalid."


class TooManyPolicies(ValidationFailed):
    code = "TOO_MANY_POLICIES"
    message = "A brand has at most 100 SLA policies."


class NameTaken(Conflict):
    code = "NAME_TAKEN"
    message = "Another calendar of the brand has this name."
