"""DataLoader fetchers of the SLA module (`info.context.loaders.<name>`)."""
from __future__ import annotations

from app.sla import service

LOADERS = {
    "sla_clocks": service.ticket_clocks,  # ticket id -> its clocks (Ticket.sla, schema/complaint)
    "sla_clock": service.clocks_by_ids,
    "sla_calendar": service.calendars_by_ids,  # brand admins only
    "sla_policy": service.policies_by_ids,  # brand admins only
}
