"""The SLA module's enumerations: the one list of each set of values (stored as their values,
exposed to GraphQL by schema/sla as they are)."""
from __future__ import annotations

from enum import StrEnum


class Metric(StrEnum):
    """What a clock measures, from the moment it starts to the status that meets it."""

    FIRST_CONTACT = "first_contact"  # ticket opened (or round started) -> the customer is reached
    SOLUTION_PROPOSED = "solution_proposed"  # opened -> a solution is proposed (or the ticket resolved)
    RESOLUTION = "resolution"  # opened -> resolved
    RESURVEY_SENT = "resurvey_sent"  # resolved -> the brand's re-survey is sent (the brand's own metric)


# the metrics a ticket (or a new round) starts with; RESURVEY_SENT starts on resolution
ROUND_METRICS = (Metric.FIRST_CONTACT, Metric.SOLUTION_PROPOSED, Metric.RESOLUTION)
METRIC_ORDER = {m: i for i, m in enumerate(Metric)}


class ClockState(StrEnum):
    """Where a clock stands. Whether it breached is a fact of its own (`breached_at`): a RUNNING
    or PAUSED clock may be breached (still counting towards the escalations), a MET clock may
    have been met late."""

    RUNNING = "running"  # counting business time
    PAUSED = "paused"  # not counting (the ticket is in a status the policy pauses this metric in)
    MET = "met"  # stopped: the metric was reached
    CANCELLED = "cancelled"  # stopped without being reached (ticket cancelled/closed, new round, policy gone)


OPEN_STATES = frozenset({ClockState.RUNNING, ClockState.PAUSED})


class CalendarKind(StrEnum):
    BRAND = "brand"  # the brand's business hours: one per brand
    ALWAYS = "always"  # the 24x7 calendar: one per brand, not editable
    DEALER = "dealer"  # a dealer's own business hours instead of the brand's (one per dealer)
    CUSTOM = "custom"  # any other calendar, e.g. a policy's notification hours


class CalendarChoice(StrEnum):
    """The calendar a policy's clocks run on."""

    BUSINESS = "business"  # the ticket's dealer's calendar, else the brand's
    ALWAYS = "always"  # 24x7: business time is elapsed time


class EscalationLevel(StrEnum):
    """Who an escalation step tells, in the chain's order."""

    DEALER_AGENT = "dealer_agent"  # the ticket's agent (else the dealer's staff)
    DEALER_MANAGER = "dealer_manager"  # the managers of the ticket's dealer
    REGIONAL_MANAGER = "regional_manager"  # the regional managers of the dealer's region
    BRAND = "brand"  # the brand's administrators


LEVEL_RANK = {level: i + 1 for i, level in enumerate(EscalationLevel)}  # the firing key's level


class FiringKind(StrEnum):
    WARNING = "warning"  # level: the fraction of the target, in per mille (750 = 75%)
    BREACH = "breach"  # level 0
    ESCALATION = "escalation"  # level: LEVEL_RANK of the step


class Notice(StrEnum):
    """What became of a firing's notification."""

    SENT = "sent"  # its notification event was recorded
    PENDING = "pending"  # waiting for the notification calendar to open
    DROPPED = "dropped"  # not sent: the clock stopped (or a warning was overtaken by the breach) first


class OpenClocks(StrEnum):
    """What a change of a policy or calendar does to the clocks already running."""

    RECOMPUTE = "recompute"  # re-resolve their policy and calendar now, keeping the time consumed
    KEEP = "keep"  # they keep what they started with (a disabled policy's clocks still stop)


class ReportGroup(StrEnum):
    DEALER = "dealer"
    REGION = "region"


class ReportPeriod(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class Outcome(StrEnum):
    """A clock's outcome in reports."""

    MET = "met"  # stopped on time
    BREACHED = "breached"  # breached (met late, still open, or stopped)
    OPEN = "open"  # running or paused, not breached
    CANCELLED = "cancelled"  # stopped without being met, never breached
