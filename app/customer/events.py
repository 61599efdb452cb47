"""How the customer archive reacts to other modules' domain events (app/core/events.py): a
ticket's opening and each of its changes land on the customer's timeline, and the customer's
open-ticket count (the `hasOpenTicket` filter) follows, in the same transaction."""
from __future__ import annotations

import uuid

from app.core import events
from app.core.tenancy import Scope
from app.customer import links, service
from app.customer import repository as repo

# statuses after which a ticket no longer counts as open (the complaint module's own names)
_DONE = frozenset({"recovered", "cancelled", "duplicate", "closed"})


@events.on_many("complaint.ticket_opened")
async def tickets_opened(scope: Scope, batch: list[events.Event]) -> None:
    """One ticket (ticketCreate) or a batch of care tickets (survey intake): two statements either way."""
    await service.on_tickets_opened(scope, [
        (uuid.UUID(e.payload["customer_id"]), e.occurred_at, e.subject_id,
         {"number": e.payload["number"], "action": "opened", "status": e.payload["status"], "by": e.actor}) for e in batch])


@events.on("complaint.ticket_changed")
async def ticket_changed(scope: Scope, event: events.Event) -> None:
    p = event.payload
    customer_id = uuid.UUID(p["customer_id"])
    await links.append(scope, customer_id, "ticket", event.occurred_at, ref_type="ticket", ref_id=event.subject_id,
                       summary={"number": p["number"], "action": p["action"], "status": p["to"], "round": p["round"],
                                "by": event.actor})
    was_open, is_open = p["from"] not in _DONE, p["to"] not in _DONE
    if was_open != is_open:
        await repo.adjust_open_tickets(scope, customer_id, 1 if is_open else -1)
