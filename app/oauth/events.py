"""How the OAuth module reacts to other modules' events."""
from __future__ import annotations

import uuid
from datetime import datetime

from app.core.tenancy import Scope
from app.oauth import service
from app.tenant import links


@links.on_user_deactivated
async def end_refresh_tokens(scope: Scope, user_id: uuid.UUID, at: datetime) -> None:
    """In the same transaction as the deactivation: the user's refresh tokens end with it."""
    await service.revoke_user_refresh_tokens(scope, user_id)
