"""How the OAuth module reacts to other modules' domain events (app/core/events.py)."""
from __future__ import annotations

from app.core import events
from app.core.tenancy import Scope
from app.oauth import service


@events.on("tenant.user_deactivated")
async def end_refresh_tokens(scope: Scope, event: events.Event) -> None:
    """In the same transaction as the deactivation: the user's refresh tokens end with it."""
    await service.revoke_user_refresh_tokens(scope, event.subject_id)
