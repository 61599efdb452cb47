"""How the complaint module reacts to other modules' domain events (app/core/events.py): a
survey result a selection rule chose opens a care ticket (or joins the customer's open one), in
the intake's own transaction; the SLA engine's picture of a ticket (its next due instant,
warned, breached) is kept on the ticket for the `overdue` filter and the dashboards."""
from __future__ import annotations

from app.complaint import service
from app.core import events
from app.core.tenancy import Scope


@events.on_many("survey.result_selected")
async def results_selected(scope: Scope, batch: list[events.Event]) -> None:
    await service.open_care_tickets(scope, batch)


@events.on_many("sla.ticket_clocks")
async def sla_pictures(scope: Scope, batch: list[events.Event]) -> None:
    await service.keep_sla_flags(scope, batch)
