"""How the SLA engine reacts to ticket events (app/core/events.py), in the ticket change's own
transaction: a ticket opened (one, or a survey intake's batch) starts its round's clocks; a
change advances them to the change and then stops, pauses, resumes, moves or restarts them
(app/sla/engine.py). Set-based: a constant number of statements per batch."""
from __future__ import annotations

from app.core import events
from app.core.tenancy import Scope
from app.sla import engine


@events.on_many("complaint.ticket_opened")
async def tickets_opened(scope: Scope, batch: list[events.Event]) -> None:
    await engine.on_opened(scope, batch)


@events.on_many("complaint.ticket_changed")
async def tickets_changed(scope: Scope, batch: list[events.Event]) -> None:
    await engine.on_changed(scope, batch)
