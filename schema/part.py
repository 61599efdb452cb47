"""What one domain's schema package gives the schema (`schema/<domain>/__init__.py` defines
`PART`); `schema/__init__.py` merges the parts of `app.domains.DOMAINS` in order."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable


@dataclass(frozen=True)
class SchemaPart:
    queries: tuple[type, ...] = ()  # strawberry types whose fields become root Query fields
    mutations: tuple[type, ...] = ()  # ... root Mutation fields
    types: tuple[type, ...] = ()  # node and other types reachable only through interfaces
    # DataLoader fetchers: name -> async (scope, ids) -> {id: value}; `info.context.loaders.<name>`
    loaders: dict[str, Callable[[Any, list], Awaitable[dict]]] = field(default_factory=dict)
