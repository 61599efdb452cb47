"""Per-request GraphQL context: the actor, its scope, fresh DataLoaders, the request id."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from strawberry.dataloader import DataLoader

from app.core.auth.tokens import AccessClaims
from app.core.tenancy import Actor, Scope
from app.tenant import repository as tenant_repo


def _by_ids(fetch):
    async def load(ids: list[uuid.UUID]) -> list[Any]:
        found = await fetch(ids)
        return [found.get(i) for i in ids]

    return load


class Loaders:
    """Built fresh for every request (a loader caches per request, never across tenants)."""

    def __init__(self, scope: Scope):
        self.dealer = DataLoader(_by_ids(lambda ids: tenant_repo.dealers_by_ids(scope, ids)))
        self.user = DataLoader(_by_ids(lambda ids: tenant_repo.users_by_ids(scope, ids)))
        self.user_memberships = DataLoader(_by_ids(lambda ids: tenant_repo.memberships_of_users(scope, ids)))


@dataclass
class Context:
    request: Request | None
    claims: AccessClaims | None
    request_id: str
    actor: Actor | None = None
    scope: Scope | None = None
    loaders: Loaders | None = None
    rollback: bool = False  # a mutation reported business errors: roll the transaction back
    extra: dict = field(default_factory=dict)

    def bind(self, actor: Actor, scope: Scope) -> None:
        self.actor = actor
        self.scope = scope
        self.loaders = Loaders(scope)
