"""DataLoader fetchers of the complaint module (`info.context.loaders.<name>`)."""
from __future__ import annotations

from app.complaint import repository, service
from app.core import events

LOADERS = {
    "ticket": repository.tickets_by_ids,
    "ticket_category": repository.categories_by_ids,
    "ticket_events": events.events_of_subjects,
    "customer_tickets": repository.tickets_of_customers,
    "result_ticket": service.result_tickets,  # SurveyResult.ticket (schema/survey)
}
