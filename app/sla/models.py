"""Recovery SLAs: the brand's calendars (and their immutable versions), its policies, the SLA
engine's own picture of each ticket, one clock per ticket, metric and round, and one row per
firing (warning, breach, escalation step), unique per (ticket, metric, round, kind, level).

Clocks are written by the engine only (app/sla/service.py), from the ticket events of the
complaint module, the per-deadline jobs and the sweep; app/sla/clocks.py is the model."""
from __future__ import annotations

from tortoise import fields

from app.customer import links
from app.tenant.models import TenantModel


class SlaCalendar(TenantModel):
    """A business calendar (spec: app/sla/calendar.py). Every change bumps `version` and writes
    an `SlaCalendarVersion`, which clocks reference: a clock keeps counting on the version it
    uses until it is recomputed."""

    name = fields.CharField(max_length=120)
    kind = fields.CharField(max_length=12)  # enums.CalendarKind
    dealer_id = fields.UUIDField(null=True)  # kind dealer: whose business hours these are
    spec = fields.JSONField()
    version = fields.IntField(default=1)
    seed_report = fields.JSONField(null=True)  # the last holiday seeding or iCalendar import's report
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "sla_calendar"
        unique_together = (("tenant_id", "name"),)
        # one brand and one 24x7 calendar per brand, one calendar per dealer: migration 0024


class SlaCalendarVersion(TenantModel):
    """What a calendar was at one version (never changed, never deleted: clocks count on it)."""

    calendar_id = fields.UUIDField()
    version = fields.IntField()
    spec = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "sla_calendar_version"
        unique_together = (("tenant_id", "calendar_id", "version"),)


class SlaPolicy(TenantModel):
    """One of the brand's SLA policies (app/sla/policies.py: conditions, targets, pauses,
    warnings, escalation chain, calendars). Deleting one keeps the row (`deleted_at`): clocks
    name the policy and version they used."""

    name = fields.CharField(max_length=120)
    position = fields.IntField(default=0)
    enabled = fields.BooleanField(default=True)
    version = fields.IntField(default=1)
    conditions = fields.JSONField(default=dict)
    targets = fields.JSONField(default=dict)
    pauses = fields.JSONField(default=dict)
    warnings = fields.JSONField(default=list)
    escalation = fields.JSONField(default=list)
    calendar = fields.CharField(max_length=12, default="business")  # enums.CalendarChoice
    notification_calendar_id = fields.UUIDField(null=True)  # None: the clock's business calendar
    open_clocks = fields.CharField(max_length=12, default="recompute")  # enums.OpenClocks of its last change
    deleted_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "sla_policy"
        indexes = (("tenant_id", "position"),)


class SlaTicket(TenantModel):
    """What the SLA engine knows of a ticket, from its events (`id` is the ticket's id): the
    facts policies choose by and where the ticket stands."""

    number = fields.CharField(max_length=20)
    status = fields.CharField(max_length=24)
    round = fields.IntField(default=1)
    customer_id = fields.UUIDField()
    dealer_id = fields.UUIDField(null=True)
    agent_id = fields.UUIDField(null=True)
    priority = fields.CharField(max_length=12, null=True)
    category_id = fields.UUIDField(null=True)
    dimension = fields.CharField(max_length=16, null=True)
    source = fields.CharField(max_length=16, null=True)
    opened_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "sla_ticket"


class SlaClock(TenantModel):
    """One metric of one round of one ticket (app/sla/clocks.py). Business times in µs."""

    ticket_id = fields.UUIDField()
    metric = fields.CharField(max_length=24)  # enums.Metric
    round = fields.IntField()
    policy_id = fields.UUIDField(null=True)
    policy_version = fields.IntField()
    dealer_id = fields.UUIDField(null=True)  # whose calendar it runs on (None: the brand's)
    calendar_id = fields.UUIDField()
    calendar_version = fields.IntField()
    calendar_mode = fields.CharField(max_length=12)  # enums.CalendarChoice
    target_us = fields.BigIntField()
    consumed_us = fields.BigIntField(default=0)  # business time consumed before running_since
    running_since = fields.DatetimeField(null=True)  # None while paused or stopped
    started_at = fields.DatetimeField()
    due_at = fields.DatetimeField(null=True)
    stopped_at = fields.DatetimeField(null=True)
    state = fields.CharField(max_length=12)  # enums.ClockState
    breached_at = fields.DatetimeField(null=True)
    warned_at = fields.DatetimeField(null=True)
    checked_us = fields.BigIntField(default=0)  # thresholds up to here are fired
    next_check_at = fields.DatetimeField(null=True)  # the sweep's column (partial indexes: migration 0024)
    notice_at = fields.DatetimeField(null=True)  # the earliest waiting notification of this clock
    pauses = fields.JSONField(default=list)
    warnings = fields.JSONField(default=list)
    escalation = fields.JSONField(default=list)
    notification_calendar_id = fields.UUIDField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "sla_clock"
        unique_together = (("tenant_id", "ticket_id", "metric", "round"),)
        indexes = (("tenant_id", "started_at"),)


class SlaFiring(TenantModel):
    """A warning, breach or escalation step that happened: at most one per (ticket, metric,
    round, kind, level), whoever gets there first (INSERT ... ON CONFLICT DO NOTHING)."""

    clock_id = fields.UUIDField()
    ticket_id = fields.UUIDField()
    metric = fields.CharField(max_length=24)
    round = fields.IntField()
    kind = fields.CharField(max_length=12)  # enums.FiringKind
    level = fields.IntField()  # warnings: per mille of the target; breach 0; escalation: LEVEL_RANK
    reached_at = fields.DatetimeField()
    fired_at = fields.DatetimeField()
    notify_at = fields.DatetimeField(null=True)  # when its notification goes out (the notification calendar)
    notice = fields.CharField(max_length=12)  # enums.Notice
    noticed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "sla_firing"
        unique_together = (("tenant_id", "ticket_id", "metric", "round", "kind", "level"),)
        indexes = (("tenant_id", "clock_id"),)


# a merge moves the duplicate's tickets to the survivor, and the engine's picture of them too
links.customer_table("sla_ticket")
