"""The tenant module's published events: how other modules act on what happens to a brand's
users without the tenant module importing them (and without editing its files).

- `on_user_deactivated(handler)`: `await handler(scope, user_id, at)` runs when a user is
  deactivated, in the same transaction (a failing handler undoes the deactivation). The oauth
  module revokes the user's refresh tokens there (app/oauth/events.py).

A module registers its handlers in its own `events.py` (app.domains); `load()` imports every
one of them before an event is delivered, so no process misses a handler."""
from __future__ import annotations

import importlib
import uuid
from datetime import datetime
from typing import Awaitable, Callable

from app.core.tenancy import Scope

UserDeactivated = Callable[[Scope, uuid.UUID, datetime], Awaitable[None]]
USER_DEACTIVATED: list[UserDeactivated] = []


def on_user_deactivated(handler: UserDeactivated) -> UserDeactivated:
    if handler not in USER_DEACTIVATED:
        USER_DEACTIVATED.append(handler)
    return handler


def load() -> None:
    """Import every domain's events module (where handlers register); idempotent."""
    from app.domains import app_modules

    for name in app_modules("events"):
        importlib.import_module(name)


async def user_deactivated(scope: Scope, user_id: uuid.UUID, at: datetime) -> None:
    load()
    for handler in list(USER_DEACTIVATED):
        await handler(scope, user_id, at)
