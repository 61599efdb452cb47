"""Per-request GraphQL context: the actor, its scope, fresh DataLoaders, the request id."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from strawberry.dataloader import DataLoader

from app.core.auth.tokens import AccessClaims
from app.core.tenancy import Actor, Scope


def _by_ids(fetch):
    async def load(ids: list[uuid.UUID]) -> list[Any]:
        found = await fetch(ids)
        return [found.get(i) for i in ids]

    return load


class Loaders:
    """Built for each request (a loader caches per request, never across tenants), each one
    lazily on first use: most operations need two or three of them."""

    FETCHERS: dict = {}  # name -> fetch(scope, ids); each domain's schema PART adds its own

    @classmethod
    def register(cls, fetchers: dict) -> None:
        for name, fetch in fetchers.items():
            if cls.FETCHERS.get(name, fetch) is not fetch:
                raise ValueError(f"two domains register the loader {name!r}")
            cls.FETCHERS[name] = fetch

    def __init__(self, scope: Scope):
        self._scope = scope

    def __getattr__(self, name: str) -> DataLoader:
        fetch = self.FETCHERS.get(name)
        if fetch is None:
            raise AttributeError(name)
        scope = self._scope
        loader = DataLoader(_by_ids(lambda ids: fetch(scope, ids)))
        setattr(self, name, loader)
        return loader


@dataclass
class Context:
    request: Request | None
    claims: AccessClaims | None
    request_id: str
    actor: Actor | None = None
    scope: Scope | None = None
    loaders: Loaders | None = None
    is_mutation: bool = False  # set before execution (schema.limits)
    pii_reads: set = field(default_factory=set)  # customers whose personal data an app read unmasked
    extra: dict = field(default_factory=dict)

    @property
    def client_ip(self) -> str | None:
        """The caller's address for audit records: the peer, or the forwarded client when the
        peer is one of TRUSTED_PROXIES (app/core/netaddr)."""
        from app.core.netaddr import client_ip

        return client_ip(self.request) if self.request is not None else None

    def bind(self, actor: Actor, scope: Scope) -> None:
        self.actor = actor
        self.scope = scope
        self.loaders = Loaders(scope)
