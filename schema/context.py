"""Per-request GraphQL context: the actor, its scope, fresh DataLoaders, the request id."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from strawberry.dataloader import DataLoader

from app.core.auth.tokens import AccessClaims
from app.core.tenancy import Actor, Scope
from app.customer import repository as customer_repo
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
        self.customer = DataLoader(_by_ids(lambda ids: customer_repo.customers_by_ids(scope, ids)))
        self.contacts = DataLoader(_by_ids(lambda ids: customer_repo.contacts_of(scope, ids)))
        self.external_refs = DataLoader(_by_ids(lambda ids: customer_repo.external_refs_of(scope, ids)))
        self.products = DataLoader(_by_ids(lambda ids: customer_repo.products_of(scope, ids)))
        self.promises = DataLoader(_by_ids(lambda ids: customer_repo.promises_of(scope, ids)))
        self.winbacks = DataLoader(_by_ids(lambda ids: customer_repo.winbacks_of(scope, ids)))
        self.tier_history = DataLoader(_by_ids(lambda ids: customer_repo.tier_history_of(scope, ids)))


@dataclass
class Context:
    request: Request | None
    claims: AccessClaims | None
    request_id: str
    actor: Actor | None = None
    scope: Scope | None = None
    loaders: Loaders | None = None
    rollback: bool = False  # a mutation reported business errors: roll the transaction back
    pii_reads: set = field(default_factory=set)  # customers whose personal data an app read unmasked
    extra: dict = field(default_factory=dict)

    def bind(self, actor: Actor, scope: Scope) -> None:
        self.actor = actor
        self.scope = scope
        self.loaders = Loaders(scope)
