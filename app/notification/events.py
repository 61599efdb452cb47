"""Notifications come from domain events, after commit (app/core/events.py consumers): a
ticket that reaches a dealer tells that dealer's managers and agents; a second round tells them
too; an SLA warning, breach or escalation step tells its people when the policy's notification
calendar is open (app/notification/service.py `sla_notice`). Idempotent on (person, event), so
a replayed relay adds nothing."""
from __future__ import annotations

import uuid

from app.core import events
from app.core.tenancy import Scope
from app.notification import repository as repo
from app.notification import service
from app.tenant import service as tenant_service

TICKET_TEXT = {
    "opened": "New complaint {number} for your dealer",
    "assign": "Complaint {number} assigned to your dealer",
    "reassign": "Complaint {number} reassigned to your dealer",
    "reopen": "Complaint {number} reopened: round {round}",
}


@events.consumer("notification.tickets", types={"complaint.ticket_opened", "complaint.ticket_changed"})
async def tickets(scope: Scope, event: events.Event) -> None:
    p = event.payload
    action = "opened" if event.type == "complaint.ticket_opened" else p.get("action")
    if action not in TICKET_TEXT or not p.get("dealer_id"):
        return
    staff = await tenant_service.dealer_staff(scope, uuid.UUID(p["dealer_id"]))
    await repo.add_many(scope, staff, event_id=event.id, kind=f"ticket_{action}", subject_type="Ticket",
                        subject_id=event.subject_id, title=TICKET_TEXT[action].format(number=p["number"], round=p.get("round", 1)))


@events.consumer("notification.sla", types={"sla.warned", "sla.breached", "sla.escalated", "sla.notice_due"})
async def sla_firings(scope: Scope, event: events.Event) -> None:
    await service.sla_notice(scope, event)
