"""OAuth housekeeping, daily per tenant."""
from __future__ import annotations

from app.core import clock
from app.core.jobs import periodic
from app.core.tenancy import Scope
from app.oauth import repository


@periodic("oauth.purge_expired", hour=3, minute=17)
async def purge_expired(scope: Scope) -> dict:
    """Idempotent: deletes only what has expired; a second run deletes nothing more."""
    return await repository.purge_expired(scope, clock.now())
