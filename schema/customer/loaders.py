"""DataLoader fetchers of the customer module (`info.context.loaders.<name>`)."""
from __future__ import annotations

from app.customer import repository

LOADERS = {
    "customer": repository.customers_by_ids,
    "contacts": repository.contacts_of,
    "external_refs": repository.external_refs_of,
    "products": repository.products_of,
    "promises": repository.promises_of,
    "winbacks": repository.winbacks_of,
    "interactions": repository.interactions_of,
    "tier_history": repository.tier_history_of,
}
