"""DataLoader fetchers of the tenant module (`info.context.loaders.<name>`)."""
from __future__ import annotations

from app.tenant import repository

LOADERS = {
    "dealer": repository.dealers_by_ids,
    "user": repository.users_by_ids,
    "user_memberships": repository.memberships_of_users,
}
