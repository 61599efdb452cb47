"""Complaint tickets: the ticket (with its recovery record), the brand's category tree and the
per-brand, per-year ticket number counter. A ticket's history is its domain events
(app/core/events.py, subject = the ticket)."""
from __future__ import annotations

from tortoise import fields

from app.customer import links
from app.tenant.models import TenantModel


class Ticket(TenantModel):
    number = fields.CharField(max_length=20)  # T-2026-000123, per brand
    customer_id = fields.UUIDField()
    dealer_id = fields.UUIDField(null=True)
    agent_id = fields.UUIDField(null=True)
    status = fields.CharField(max_length=24, default="new")
    round = fields.IntField(default=1)
    version = fields.IntField(default=1)  # optimistic lock: every change checks and bumps it
    source = fields.CharField(max_length=16)
    channel = fields.CharField(max_length=40, null=True)
    external_ref = fields.CharField(max_length=120, null=True)
    category_id = fields.UUIDField(null=True)
    dimension = fields.CharField(max_length=16, null=True)
    severity = fields.CharField(max_length=12, default="medium")
    priority = fields.CharField(max_length=12, default="normal")
    tags = fields.JSONField(default=list)
    title = fields.CharField(max_length=200)
    verbatim = fields.TextField(null=True)  # the complainant's own words, kept as given
    product_id = fields.UUIDField(null=True)
    product_line = fields.CharField(max_length=60, null=True)
    episode = fields.CharField(max_length=120, default="")  # survey tickets: one open per customer and episode
    # the SLA picture, kept by this module from the SLA engine's `sla.ticket_clocks` events
    sla_due_at = fields.DatetimeField(null=True)  # the earliest due instant of its running clocks (none: null)
    sla_warned = fields.BooleanField(default=False)  # a running clock of this round passed a warning
    sla_breached = fields.BooleanField(default=False)  # a clock of this round breached
    brand_flagged = fields.BooleanField(default=False)  # a later round: the brand is told
    brand_owned = fields.BooleanField(default=False)  # past the round limit the brand works it
    # the recovery record (seed 004)
    contact_channel = fields.CharField(max_length=16, null=True)
    contact_notes = fields.TextField(null=True)  # apology, acknowledgement, what was heard
    root_cause = fields.TextField(null=True)
    solution = fields.TextField(null=True)
    compensation_kind = fields.CharField(max_length=16, null=True)
    compensation_value = fields.DecimalField(max_digits=12, decimal_places=2, null=True)
    compensation_currency = fields.CharField(max_length=3, null=True)
    compensation_approved_by = fields.UUIDField(null=True)
    follow_up = fields.TextField(null=True)
    status_reason = fields.TextField(null=True)  # why it was reassigned, escalated, cancelled, ...
    duplicate_of_id = fields.UUIDField(null=True)
    created_by = fields.CharField(max_length=120)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    resolved_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "ticket"
        unique_together = (("tenant_id", "number"),)
        indexes = (("tenant_id", "created_at", "id"), ("tenant_id", "status", "created_at", "id"),
                   ("tenant_id", "dealer_id", "status", "created_at", "id"), ("tenant_id", "customer_id", "created_at"))
        # (tenant_id, updated_at, id) for orderBy UPDATED_AT: migration 0019


class TicketSurveyResult(TenantModel):
    """The survey results a care ticket holds: the one that opened it, and later ones of the
    same customer and episode that a rule selected while it was open (each result at most once)."""

    ticket_id = fields.UUIDField()
    result_id = fields.UUIDField()
    opened = fields.BooleanField(default=False)  # this result opened the ticket
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "ticket_survey_result"
        unique_together = (("tenant_id", "result_id"),)
        indexes = (("tenant_id", "ticket_id"),)


class AssignmentRule(TenantModel):
    """The brand's routing: a new ticket matching every condition set here (region of the
    customer's dealer, product line, source) goes to `dealer_id` instead of the customer's dealer.
    The first matching rule by position wins; a ticket created with a dealer named is not routed."""

    name = fields.CharField(max_length=120)
    position = fields.IntField(default=0)
    enabled = fields.BooleanField(default=True)
    region = fields.CharField(max_length=64, null=True)
    product_line = fields.CharField(max_length=60, null=True)
    source = fields.CharField(max_length=16, null=True)
    dealer_id = fields.UUIDField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "ticket_assignment_rule"
        indexes = (("tenant_id", "position"),)


class TicketCategory(TenantModel):
    """The brand's category tree, seeded with the causes of seed 003 (brands add their own)."""

    parent_id = fields.UUIDField(null=True)
    code = fields.CharField(max_length=64)
    name = fields.CharField(max_length=120)
    name_zh = fields.CharField(max_length=120, null=True)
    position = fields.IntField(default=0)

    class Meta:
        table = "ticket_category"
        unique_together = (("tenant_id", "code"),)


class TicketCounter(TenantModel):
    year = fields.IntField()
    last_number = fields.IntField(default=0)

    class Meta:
        table = "ticket_counter"
        unique_together = (("tenant_id", "year"),)


links.timeline_kind("ticket", ref_type="ticket", ref_node="Ticket",
                    description="A complaint ticket was opened or changed status (summary: number, status, action).")

# a merge moves the duplicate's tickets to the survivor; erasure drops the person's own words
_WHO = "WHERE tenant_id = $1 AND customer_id = $2"
links.customer_table("ticket", erase=(
    # every free-text column: staff write names and numbers into solutions and causes too
    "UPDATE ticket SET verbatim = NULL, contact_notes = NULL, title = '[erased]', follow_up = NULL, status_reason = NULL, "
    f"solution = CASE WHEN solution IS NULL THEN NULL ELSE '[erased]' END, root_cause = NULL, channel = NULL, tags = '[]' {_WHO}",))


class TicketPolicy(TenantModel):
    """The brand's rules for its tickets (one row per brand; defaults until it sets them)."""

    max_rounds = fields.IntField(default=2)  # past this many rounds the brand takes a ticket over
    approval_threshold = fields.DecimalField(max_digits=12, decimal_places=2, default=1000)  # compensation above: brand staff only
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "ticket_policy"
        unique_together = (("tenant_id",),)
