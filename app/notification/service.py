"""Notifications of the person calling: read them, mark them read. Only people have them (a
partner app acting for itself sees none). Also what SLA firings say (`sla_notice`)."""
from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from app.core import events
from app.core.errors import ValidationFailed
from app.core.pagination import Page, PageArgs
from app.core.permissions import Perm
from app.core.tenancy import Scope
from app.notification import repository as repo

MAX_MARK = 100


def _mine(scope: Scope) -> bool:
    """Only people have notifications, and today they are all about tickets: a token without
    tickets:read (an app acting for the user with narrower scopes) sees none."""
    return scope.actor.user_id is not None and scope.can(Perm.TICKETS_READ)


async def my_notifications(scope: Scope, page: PageArgs, *, unread_only: bool = False, max_size: int = 100) -> Page | None:
    if not _mine(scope):
        return None
    return await repo.list_for(scope, scope.actor.user_id, page, unread_only=unread_only, max_size=max_size)


async def my_unread_count(scope: Scope) -> int:
    return await repo.unread_count(scope, scope.actor.user_id) if _mine(scope) else 0


async def mark_read(scope: Scope, ids: list[uuid.UUID] | None) -> int:
    if ids is not None and len(ids) > MAX_MARK:
        raise ValidationFailed(f"At most {MAX_MARK} ids per call (or none, for all).", field="ids")
    if not _mine(scope):
        return 0
    return await repo.mark_read(scope, scope.actor.user_id, ids)


async def my_notification(scope: Scope, notification_id: uuid.UUID):
    """One of the caller's own notifications, else None (another person's is not found)."""
    if not _mine(scope):
        return None
    return await repo.by_id(scope, scope.actor.user_id, notification_id)


# ---- SLA firings -------------------------------------------------------------------------------

SLA_METRIC = {"first_contact": "first contact", "solution_proposed": "solution", "resolution": "resolution",
              "resurvey_sent": "re-survey"}
SLA_TEXT = {
    "warning": "Complaint {number}: {metric} due {due} ({percent}% of the SLA used)",
    "breach": "Complaint {number}: {metric} SLA breached (was due {due})",
    "escalation": "Complaint {number}: {metric} SLA breached (was due {due}), escalated to you",
}


def _local(iso: str | None, zone: str | None) -> str:
    """An instant of a payload on the SLA calendar's wall clock (the zone the dealer works in)."""
    if not iso:
        return "?"
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(ZoneInfo(zone or "UTC")).strftime("%m-%d %H:%M")
    except (ValueError, KeyError):
        return iso


async def sla_notice(scope: Scope, event: events.Event) -> None:
    """An SLA firing tells its people (app.sla.service.recipients: the agent, the dealer's
    managers, the regional managers, the brand's admins, by kind and escalation level) when its
    notification calendar is open: at once (`notify: now` on the firing's own event) or later,
    through the `sla.notice_due` event the SLA engine records when that calendar opens.
    Idempotent on (person, event) like every notification."""
    from app.sla import service as sla_service

    p = event.payload
    if event.type != "sla.notice_due" and p.get("notify") != "now":
        return
    kind = p.get("kind")
    if kind not in SLA_TEXT:
        return
    people = await sla_service.recipients(scope, p)
    title = SLA_TEXT[kind].format(number=p.get("number") or "?", metric=SLA_METRIC.get(p.get("metric"), p.get("metric")),
                                  due=_local(p.get("due_at"), p.get("time_zone")),
                                  percent=round(100 * (p.get("fraction") or 0)))
    await repo.add_many(scope, people, event_id=event.id, kind=f"sla_{kind}", subject_type="Ticket", subject_id=event.subject_id,
                        title=title)
