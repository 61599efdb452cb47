"""DataLoader fetchers of the OAuth module (`info.context.loaders.<name>`)."""
from __future__ import annotations

from app.oauth import repository

LOADERS = {
    "app_by_client_id": repository.apps_by_client_ids,
}
